// bf16 values LLVM holds as f32 (loaded, compared, stored back) are
// truncated through __truncsfbf2 on CPUs without bf16 conversions; the
// shared object defines it itself (hidden), since Debian 12's libgcc does
// not, so it loads on any x86-64 CPU; arith.truncf is expanded to integer
// rounding before that (no call at all).
// RUN: kopt %s --cpu=x86-64 -o %t.so
// RUN: nm %t.so | FileCheck %s
// RUN: kopt-opt %s --kopt-cpu-lowering-pipeline | FileCheck %s --check-prefix=IR

// CHECK-NOT: U __truncsfbf2
// CHECK: t __truncsfbf2
// CHECK-NOT: U __truncsfbf2
// IR-LABEL: llvm.func @half
// IR-NOT: llvm.fptrunc
// IR: llvm.lshr
// IR-NOT: llvm.fptrunc
// IR: llvm.return

func.func @f(%x: tensor<2x?xbf16>) -> (tensor<2x5xbf16>, tensor<2x5xi32>) {
  %v, %i = kopt.topk %x {k = 5 : i64, axis = 1 : i64} : (tensor<2x?xbf16>) -> (tensor<2x5xbf16>, tensor<2x5xi32>)
  return %v, %i : tensor<2x5xbf16>, tensor<2x5xi32>
}

func.func @half(%x: tensor<?x8xf32>) -> tensor<?x8xbf16> {
  %y = kopt.cast %x : (tensor<?x8xf32>) -> tensor<?x8xbf16>
  return %y : tensor<?x8xbf16>
}
