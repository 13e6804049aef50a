// Kernels with math functions link CUDA's libdevice from $CUDA_HOME (else
// the toolkit found at build time). Without one kopt fails with a clear
// error instead of writing PTX that calls undefined functions.
// RUN: rm -rf %t.cuda && mkdir -p %t.cuda
// RUN: env CUDA_HOME=%t.cuda not kopt %s -o %t.ptx 2>&1 | FileCheck %s
// RUN: kopt %s -o %t.ok.ptx
// RUN: FileCheck %s --check-prefix=LINKED < %t.ok.ptx

// CHECK: error: the kernels call '__nv_{{[a-z0-9_]+}}', which no library defined: kopt found no CUDA libdevice (set CUDA_HOME to a CUDA toolkit)
// LINKED-NOT: .extern .func
// LINKED: .entry
func.func @f(%x: tensor<?x8xf32>) -> tensor<?x8xf32> {
  %y = kopt.softmax %x : (tensor<?x8xf32>) -> tensor<?x8xf32>
  return %y : tensor<?x8xf32>
}
