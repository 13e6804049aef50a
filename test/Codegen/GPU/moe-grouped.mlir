// kopt.moe with 16-bit weights: the GEMV-style kernels for one token, and
// from two tokens the grouped path (moe_group, two grouped mma.sync GEMMs
// with gathered rows, moe_combine), chosen by launch guards on the token
// count. ptxas accepts the kernels.
// RUN: kopt %s --target=sm_90 -o %t.ptx
// RUN: FileCheck %s < %t.ptx
// RUN: FileCheck %s --check-prefix=PLAN < %t.plan.json
// RUN: %if ptxas %{ ptxas -arch=sm_90a %t.ptx -o /dev/null %}

// CHECK-LABEL: .entry moe_group
// CHECK: atom.shared.add.u32
// CHECK-LABEL: .entry moe_gate_up
// CHECK: cp.async.cg.shared.global
// CHECK: mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32
// CHECK: ex2.approx
// CHECK-LABEL: .entry moe_down
// CHECK: mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32
// PLAN: "kernel": "moe_route
// PLAN: "max": 1,
// PLAN: "kernel": "moe_up
// PLAN: "max": 1,
// PLAN: "kernel": "moe_down_
// PLAN: "min": 2,
// PLAN: "kernel": "moe_group
// Row tiles: (2 T + 8 x 63) / 64 rounded up; 14336 / 64 FFN column blocks.
// PLAN: "(s0 + 252) ceildiv 32",
// PLAN-NEXT: 224,
// PLAN: "min": 2,
// PLAN: "kernel": "moe_gate_up
func.func @f(%x: tensor<?x4096xbf16>, %r: tensor<8x4096xbf16>, %g: tensor<8x14336x4096xbf16>, %u: tensor<8x14336x4096xbf16>, %d: tensor<8x4096x14336xbf16>) -> tensor<?x4096xbf16> {
  %y = kopt.moe %x, %r, %g, %u, %d {top_k = 2 : i64, normalize_topk = true} : (tensor<?x4096xbf16>, tensor<8x4096xbf16>, tensor<8x14336x4096xbf16>, tensor<8x14336x4096xbf16>, tensor<8x4096x14336xbf16>) -> tensor<?x4096xbf16>
  return %y : tensor<?x4096xbf16>
}
