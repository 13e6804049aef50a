// 16-bit prefill attention picks the target's tensor-core kernel: on sm_90
// the wgmma one (S = Q K^T from shared-memory descriptors, P V with P in
// registers and V transposed, mbarrier-tracked copies, warpgroups taking
// turns on named barriers), on sm_80 the mma.sync one; ptxas accepts both.
// RUN: kopt %s --target=sm_90 -o %t.90.ptx
// RUN: FileCheck %s --check-prefix=HOPPER < %t.90.ptx
// RUN: FileCheck %s --check-prefix=PLAN < %t.90.plan.json
// RUN: kopt %s --target=sm_80 -o %t.80.ptx
// RUN: FileCheck %s --check-prefix=AMPERE < %t.80.ptx
// RUN: %if ptxas %{ ptxas -arch=sm_90a %t.90.ptx -o /dev/null %}
// RUN: %if ptxas %{ ptxas -arch=sm_80 %t.80.ptx -o /dev/null %}

// HOPPER: .target sm_90a
// HOPPER-LABEL: .entry wgmma_attention
// HOPPER: mbarrier.init.shared
// HOPPER-DAG: cp.async.mbarrier.arrive.noinc.shared
// HOPPER-DAG: mbarrier.try_wait.parity
// HOPPER-DAG: mbarrier.arrive.shared
// HOPPER-DAG: bar.sync
// HOPPER-DAG: bar.arrive
// HOPPER: wgmma.mma_async.sync.aligned.m64n128k16.f32.bf16.bf16 {{.*}}, %rd{{[0-9]+}}, %rd{{[0-9]+}}, p, 1, 1, 0, 0;
// HOPPER: wgmma.mma_async.sync.aligned.m64n128k16.f32.bf16.bf16 {{.*}}}, {%r{{[0-9]+}}, %r{{[0-9]+}}, %r{{[0-9]+}}, %r{{[0-9]+}}}, %rd{{[0-9]+}}, p, 1, 1, 1;
// The Sq guard sends prefill (16 queries or more) to it, with 5 tiles of
// 128 x 128 16-bit values in dynamic shared memory.
// PLAN: "kernel": "attention_decode
// PLAN: "min": 16,
// PLAN: "kernel": "wgmma_attention
// PLAN: "shared_bytes": 163840
// AMPERE: .target sm_80
// AMPERE-NOT: wgmma
// AMPERE: .entry flash_attention
// AMPERE: mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32
func.func @f(%q: tensor<1x?x8x128xbf16>, %k: tensor<1x?x2x128xbf16>, %v: tensor<1x?x2x128xbf16>) -> tensor<1x?x8x128xbf16> {
  %o = kopt.attention %q, %k, %v {causal = true} : (tensor<1x?x8x128xbf16>, tensor<1x?x2x128xbf16>, tensor<1x?x2x128xbf16>) -> tensor<1x?x8x128xbf16>
  return %o : tensor<1x?x8x128xbf16>
}
