// --quantize=fp8 on sm_90: w8a8. Each fake_quant is one kernel writing the
// e4m3 codes (cvt.rn.satfinite, two at a time) and per-token scales; the
// linears after it run, up to 8 rows, a GEMV turning codes into f16 pairs
// (cvt) with f32 sums, then the e4m3 wgmma GEMM (m64nNk32) over both
// operands' codes; no weight is dequantized, and the sums go to f32 every 256 of K
// (at most 128 wide). kopt.fp8_promote_every = 0 keeps the tensor cores'
// own accumulation (up to 256 wide). On sm_80 (no fp8 tensor cores) the
// rounded activations and the dequantized weight feed the bf16 GEMM.
// RUN: kopt %s --quantize=fp8 -o %t.ptx
// RUN: FileCheck %s < %t.ptx
// RUN: FileCheck %s --check-prefix=PLAN < %t.plan.json
// RUN: %if ptxas %{ ptxas -arch=sm_90a %t.ptx -o /dev/null %}
// (Kernels kept apart to name them: the fake_quant and the dequantize run
// merged by default, see merge-launches.mlir.)
// RUN: kopt %s --quantize=fp8 --target=sm_80 --merge-launches=false -o %t.80.ptx
// RUN: FileCheck %s --check-prefix=AMPERE < %t.80.plan.json
// RUN: %if ptxas %{ ptxas -arch=sm_80 %t.80.ptx -o /dev/null %}

// CHECK-LABEL: .entry fake_quant
// CHECK: max.NaN.f32
// CHECK: div.rn.f32
// CHECK: cvt.rn.satfinite.e4m3x2.f32
// CHECK: st.global.{{(v2.b32|b64|u64)}}
// CHECK-LABEL: .entry gemv_f8
// CHECK: ld.global.v4.b32
// CHECK: cvt.rn.f16x2.e4m3x2
// CHECK: fma.rn.f32
// CHECK: shfl.sync.bfly
// CHECK-LABEL: .entry wgmma_gemm_f8
// CHECK: cp.async.cg.shared.global [{{.*}}], 16
// CHECK: wgmma.mma_async.sync.aligned.m64n128k32.f32.e4m3.e4m3
// CHECK: wgmma.wait_group.sync.aligned 0;
// CHECK: add.rn.f32
// CHECK-NOT: .entry dequantize
// CHECK-LABEL: .entry wgmma_gemm_f8_fast
// CHECK: wgmma.mma_async.sync.aligned.m64n256k32.f32.e4m3.e4m3

// PLAN: "kernel": "fake_quant_0"
// PLAN: "max": 8,
// PLAN: "kernel": "gemv_f8
// PLAN: "min": 9,
// PLAN: "kernel": "wgmma_gemm_f8_
// PLAN: "kernel": "elementwise
// PLAN: "kernel": "fake_quant_0"
// PLAN: "kernel": "gemv_f8
// PLAN: "kernel": "wgmma_gemm_f8_fast
// PLAN-NOT: "kernel": "dequantize

// AMPERE-NOT: wgmma_gemm_f8
// AMPERE: "kernel": "fake_quant_0"
// AMPERE: "kernel": "dequantize
// AMPERE-NOT: wgmma_gemm_f8

func.func @mlp(%x: tensor<?x1024xbf16>) -> tensor<?x1024xbf16> {
  %w1 = kopt.weight "up.weight" : tensor<4096x1024xbf16>
  %b1 = kopt.weight "up.bias" : tensor<4096xbf16>
  %w2 = kopt.weight "down.weight" : tensor<1024x4096xbf16>
  %h = kopt.linear %x, %w1, %b1 : (tensor<?x1024xbf16>, tensor<4096x1024xbf16>, tensor<4096xbf16>) -> tensor<?x4096xbf16>
  %a = kopt.silu %h : tensor<?x4096xbf16>
  %y = kopt.linear %a, %w2 {kopt.fp8_promote_every = 0} : (tensor<?x4096xbf16>, tensor<1024x4096xbf16>) -> tensor<?x1024xbf16>
  return %y : tensor<?x1024xbf16>
}
