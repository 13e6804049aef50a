// 16-bit linear attention with D = 64 / 128 runs the chunked tensor-core
// kernel: a block per 64 state columns of a (batch, head), two cp.async
// stages in dynamic shared memory, mma.sync products; f32 q/k/v keep the
// recurrent kernel. ptxas accepts both targets.
// RUN: kopt %s --target=sm_90 -o %t.90.ptx
// RUN: FileCheck %s < %t.90.ptx
// RUN: FileCheck %s --check-prefix=PLAN < %t.90.plan.json
// RUN: kopt %s --target=sm_80 -o %t.80.ptx
// RUN: %if ptxas %{ ptxas -arch=sm_90a %t.90.ptx -o /dev/null %}
// RUN: %if ptxas %{ ptxas -arch=sm_80 %t.80.ptx -o /dev/null %}

// CHECK-LABEL: .entry linear_attention_chunked
// CHECK-DAG: cp.async.cg.shared.global
// CHECK-DAG: ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16
// CHECK-DAG: mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32
// CHECK-LABEL: .entry linear_attention_1
// CHECK-NOT: mma.sync
// Grid (D / 64, H, B) with two stages of Q, K, V and the 16-bit state.
// PLAN: "grid": [
// PLAN-NEXT: 2,
// PLAN-NEXT: 3,
// PLAN-NEXT: 2
// PLAN: "kernel": "linear_attention_chunked
// PLAN: "shared_bytes": 98304
func.func @f(%q: tensor<2x?x3x128xbf16>, %k: tensor<2x?x3x128xbf16>, %v: tensor<2x?x3x128xbf16>, %s: tensor<2x3x128x128xf32>) -> (tensor<2x?x3x128xbf16>, tensor<2x3x128x128xf32>) {
  %o, %t = kopt.linear_attention %q, %k, %v, %s {decay = array<f32: 1.0, 0.9, 0.0>} : (tensor<2x?x3x128xbf16>, tensor<2x?x3x128xbf16>, tensor<2x?x3x128xbf16>, tensor<2x3x128x128xf32>) -> (tensor<2x?x3x128xbf16>, tensor<2x3x128x128xf32>)
  return %o, %t : tensor<2x?x3x128xbf16>, tensor<2x3x128x128xf32>
}

func.func @g(%q: tensor<1x?x2x64xf32>) -> (tensor<1x?x2x64xf32>, tensor<1x2x64x64xf32>) {
  %o, %t = kopt.linear_attention %q, %q, %q : (tensor<1x?x2x64xf32>, tensor<1x?x2x64xf32>, tensor<1x?x2x64xf32>) -> (tensor<1x?x2x64xf32>, tensor<1x2x64x64xf32>)
  return %o, %t : tensor<1x?x2x64xf32>, tensor<1x2x64x64xf32>
}
