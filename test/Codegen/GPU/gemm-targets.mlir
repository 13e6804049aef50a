// The 16-bit GEMM picks the target's tensor-core instructions: wgmma on
// sm_90 (PTX for sm_90a, with its dynamic shared memory as the extern
// array), mma.sync on sm_80; either way ptxas accepts the PTX.
// RUN: kopt %s --target=sm_90 -o %t.90.ptx
// RUN: FileCheck %s --check-prefix=HOPPER < %t.90.ptx
// RUN: FileCheck %s --check-prefix=PLAN < %t.90.plan.json
// RUN: kopt %s --target=sm_80 -o %t.80.ptx
// RUN: FileCheck %s --check-prefix=AMPERE < %t.80.ptx
// RUN: %if ptxas %{ ptxas -arch=sm_90a %t.90.ptx -o /dev/null %}
// RUN: %if ptxas %{ ptxas -arch=sm_80 %t.80.ptx -o /dev/null %}

// HOPPER: .target sm_90a
// HOPPER: .extern .shared .align 1024 .b8 __dynamic_shmem__0[];
// Tile widths by row band, each the widest whose grid at the band's fewest
// rows fills the 132 SMs: N = 8192 takes 64-wide tiles up to 256 rows,
// 128-wide up to 512, then 256-wide; guards on M pick the launch. Up to
// 128 rows (one row tile) the weight stream is latency-bound: 8 stages of
// 24 KB instead of 4.
// HOPPER-LABEL: .entry wgmma_gemm
// HOPPER-LABEL: .entry wgmma_gemm
// HOPPER: fence.proxy.async.shared::cta
// HOPPER: wgmma.mma_async.sync.aligned.m64n64k16.f32.bf16.bf16
// HOPPER: wgmma.commit_group.sync.aligned
// HOPPER-LABEL: .entry wgmma_gemm
// HOPPER: wgmma.mma_async.sync.aligned.m64n128k16.f32.bf16.bf16
// HOPPER-LABEL: .entry wgmma_gemm
// HOPPER: wgmma.mma_async.sync.aligned.m64n256k16.f32.bf16.bf16
// PLAN: "(s0 ceildiv 128) * 128"
// PLAN: "max": 128,
// PLAN-NEXT: "min": 9,
// PLAN: "kernel": "wgmma_gemm
// PLAN: "shared_bytes": 196608
// PLAN: "(s0 ceildiv 128) * 128"
// PLAN: "max": 256,
// PLAN-NEXT: "min": 129,
// PLAN: "kernel": "wgmma_gemm
// PLAN: "shared_bytes": 98304
// PLAN: "(s0 ceildiv 128) * 64"
// PLAN: "max": 512,
// PLAN-NEXT: "min": 257,
// PLAN: "kernel": "wgmma_gemm
// PLAN: "shared_bytes": 131072
// PLAN: "(s0 ceildiv 128) * 32"
// PLAN: "min": 513,
// PLAN: "kernel": "wgmma_gemm
// PLAN: "shared_bytes": 196608
// AMPERE: .target sm_80
// AMPERE-NOT: wgmma
// AMPERE: mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32
func.func @f(%x: tensor<?x512xbf16>, %w: tensor<8192x512xbf16>) -> tensor<?x8192xbf16> {
  %y = kopt.linear %x, %w : (tensor<?x512xbf16>, tensor<8192x512xbf16>) -> tensor<?x8192xbf16>
  return %y : tensor<?x8192xbf16>
}
