// --quantize=int4 on the GPU: linear weights bind as packed parts (the plan
// says how to pack them from the float checkpoint), the dequantize fuses
// into one tensor-core kernel per token-count band up to 128 tokens; wider
// bands dequantize the weight once into a scratch buffer for the dense
// GEMM. ptxas accepts the kernels.
// RUN: kopt %s --quantize=int4 -o %t.ptx
// RUN: FileCheck %s < %t.ptx
// RUN: FileCheck %s --check-prefix=PLAN < %t.plan.json
// RUN: %if ptxas %{ ptxas -arch=sm_90a %t.ptx -o /dev/null %}
// Weight-only fp8 (and any layout the fused kernels do not read)
// dequantizes first.
// RUN: kopt %s --quantize=fp8 --quantize-activations=none -o %t.fp8.ptx
// RUN: FileCheck %s --check-prefix=FP8 < %t.fp8.plan.json
// RUN: %if ptxas %{ ptxas -arch=sm_90a %t.fp8.ptx -o /dev/null %}

// CHECK-LABEL: .entry qlinear
// CHECK: ld.global.v4.b32
// CHECK: lop3.b32 {{%r[0-9]+}}, {{%r[0-9]+}}, 983055, 1124090624, 0xEA
// CHECK: mul.rn.bf16x2
// CHECK: mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32
// CHECK-NOT: .entry dequantize
// CHECK-LABEL: .entry qdequantize
// CHECK: ld.global.v4.b32
// CHECK: mul.rn.bf16x2
// CHECK: st.global.v4.b32
// CHECK-NOT: mma.sync
// CHECK-LABEL: .entry wgmma_gemm

// Four packed launches, by token count, the last tiling tokens 64 at a
// time up to 128; with N = 4096 (256 tiles) every band runs 16 warps. From
// 129 tokens: the dequantization into the shared scratch, then the GEMM.
// PLAN: "block": 512,
// PLAN: "max": 8,
// PLAN: "kernel": "qlinear_0"
// PLAN: "max": 16,
// PLAN: "kernel": "qlinear_1"
// PLAN: "max": 32,
// PLAN: "kernel": "qlinear_2"
// PLAN: "s0 ceildiv 64"
// PLAN: "max": 128,
// PLAN: "min": 33,
// PLAN: "kernel": "qlinear_3"
// PLAN: "min": 129,
// PLAN: "kernel": "qdequantize_4"
// PLAN: "min": 129,
// PLAN: "kernel": "wgmma_gemm_5"
// The packed parts, and how to pack them from "w".
// PLAN: "name": "w.qweight",
// PLAN-NEXT: "quantized": {
// PLAN-NEXT: "asymmetric": false,
// PLAN-NEXT: "group_size": 128,
// PLAN-NEXT: "layout": "mma",
// PLAN-NEXT: "part": "qweight",
// PLAN-NEXT: "scale": "bf16",
// PLAN: "source": "w",
// PLAN-NEXT: "storage": "i4"
// PLAN: "shape": [
// PLAN-NEXT: 256,
// PLAN-NEXT: 32768
// PLAN: "name": "w.scales",
// PLAN: "storage": "i4"
// PLAN: "shape": [
// PLAN-NEXT: 4096,
// PLAN-NEXT: 32

// FP8: "kernel": "dequantize
// FP8: "kernel": "gemv
// FP8: "storage": "f8E4M3FN"

func.func @f(%x: tensor<?x4096xbf16>) -> tensor<?x4096xbf16> {
  %w = kopt.weight "w" : tensor<4096x4096xbf16>
  %y = kopt.linear %x, %w : (tensor<?x4096xbf16>, tensor<4096x4096xbf16>) -> tensor<?x4096xbf16>
  return %y : tensor<?x4096xbf16>
}
