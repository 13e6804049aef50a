// Large i4 weights (N * K >= 2^27) stream by default up to 16 tokens: 8
// warps with factored scales up to 8 tokens, 16 with scaled weights to 16,
// each block taking an even share of the 1792 row tiles (264 blocks, two
// per SM of the 132: 6 or 7 tiles each); the packed kernel from 17
// tokens. A smaller weight, an i8 weight or a kopt.qlinear_tile keeps the
// packed kernel in every band.
// RUN: kopt %s -o %t.ptx
// RUN: FileCheck %s < %t.ptx
// RUN: FileCheck %s --check-prefix=PLAN < %t.plan.json
// RUN: %if ptxas %{ ptxas -arch=sm_90a %t.ptx -o /dev/null %}

// CHECK-LABEL: .entry qgemv_0
// CHECK-NOT: mul.rn.bf16x2
// CHECK-DAG: cp.async.cg.shared.global
// CHECK-DAG: mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32
// CHECK-DAG: fma.rn.f32
// CHECK-NOT: mul.rn.bf16x2
// CHECK-LABEL: .entry qgemv_1
// CHECK: mul.rn.bf16x2
// CHECK: mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32
// CHECK-LABEL: .entry qlinear_2

// PLAN: "block": 256,
// PLAN-NEXT: "grid": [
// PLAN-NEXT: 264,
// PLAN: "max": 8,
// PLAN: "kernel": "qgemv_0",
// PLAN-NEXT: "node": 1,
// PLAN-NEXT: "shared_bytes": 32768
// PLAN: "block": 512,
// PLAN-NEXT: "grid": [
// PLAN-NEXT: 264,
// PLAN: "max": 16,
// PLAN: "kernel": "qgemv_1",
// PLAN: "min": 17,
// PLAN: "kernel": "qlinear_2",
// PLAN: "name": "large",
// PLAN-NOT: "kernel": "qgemv
// PLAN: "kernel": "qlinear_6",
// PLAN-NOT: "kernel": "qgemv
// PLAN: "name": "small",
func.func @large(%x: tensor<?x8192xbf16>, %q: tensor<1792x65536xi8>, %s: tensor<28672x64xbf16>) -> tensor<?x28672xbf16> {
  %w = kopt.dequantize %q, %s {encoding = !kopt.quantized<28672x8192xi4, group_size = 128, scale = bf16, layout = mma>} : (tensor<1792x65536xi8>, tensor<28672x64xbf16>) -> tensor<28672x8192xbf16>
  %y = kopt.linear %x, %w : (tensor<?x8192xbf16>, tensor<28672x8192xbf16>) -> tensor<?x28672xbf16>
  return %y : tensor<?x28672xbf16>
}

func.func @small(%x: tensor<?x8192xbf16>, %q: tensor<512x65536xi8>, %s: tensor<8192x64xbf16>) -> tensor<?x8192xbf16> {
  %w = kopt.dequantize %q, %s {encoding = !kopt.quantized<8192x8192xi4, group_size = 128, scale = bf16, layout = mma>} : (tensor<512x65536xi8>, tensor<8192x64xbf16>) -> tensor<8192x8192xbf16>
  %y = kopt.linear %x, %w : (tensor<?x8192xbf16>, tensor<8192x8192xbf16>) -> tensor<?x8192xbf16>
  return %y : tensor<?x8192xbf16>
}
