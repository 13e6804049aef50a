// On sm_90 the packed int4 kernels prefetch their codes and scales into L2
// at entry, before griddepcontrol.wait; the bf16 GEMV (whose 16-bit weight
// streams at the bandwidth already), the GEMM kernels (which re-read the
// weight per token tile) and other kernels do not. --prefetch-weights=false
// and sm_80 kernels have no prefetch.
// RUN: kopt %s --target=sm_90 -o %t.90.ptx
// RUN: FileCheck %s --check-prefix=NONE < %t.90.ptx
// RUN: %if ptxas %{ ptxas -arch=sm_90a %t.90.ptx -o /dev/null %}
// RUN: kopt %s --target=sm_90 --quantize=int4 -o %t.int4.ptx
// RUN: FileCheck %s --check-prefix=INT4 < %t.int4.ptx
// RUN: %if ptxas %{ ptxas -arch=sm_90a %t.int4.ptx -o /dev/null %}
// RUN: kopt %s --target=sm_90 --quantize=int4 --prefetch-weights=false -o %t.off.ptx
// RUN: FileCheck %s --check-prefix=NONE < %t.off.ptx
// RUN: kopt %s --target=sm_80 --quantize=int4 -o %t.80.ptx
// RUN: FileCheck %s --check-prefix=NONE < %t.80.ptx

// INT4-LABEL: .entry qlinear
// INT4-NOT: {{ld|st}}.global
// INT4: cp.async.bulk.prefetch.L2.global
// INT4: cp.async.bulk.prefetch.L2.global
// INT4-NOT: {{ld|st}}.global
// INT4: griddepcontrol.wait;

// NONE-NOT: cp.async.bulk.prefetch

module {
  func.func @f(%x: tensor<?x2048xbf16>) -> tensor<?x1024xbf16> {
    %g = kopt.weight "g" : tensor<2048xbf16>
    %w = kopt.weight "w" : tensor<1024x2048xbf16>
    %n = kopt.rmsnorm %x, %g {epsilon = 1.0e-05 : f32} : (tensor<?x2048xbf16>, tensor<2048xbf16>) -> tensor<?x2048xbf16>
    %y = kopt.linear %n, %w : (tensor<?x2048xbf16>, tensor<1024x2048xbf16>) -> tensor<?x1024xbf16>
    return %y : tensor<?x1024xbf16>
  }
}
