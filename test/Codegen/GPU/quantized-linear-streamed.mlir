// kopt.gemv_tile asks for the streamed quantized GEMV up to 16 tokens:
// every lane cp.asyncs its 16-byte slices of the packed codes through its
// warp's ring of stages (here 4 warps x 3 stages x 2 chunks x 512 bytes of
// dynamic shared memory), dequantizes them as kopt.dequantize rounds them
// (scaled bf16 weights) and feeds mma.sync; wider bands keep the
// register-pipelined kernel. ptxas accepts every variant.
// RUN: kopt %s -o %t.ptx
// RUN: FileCheck %s < %t.ptx
// RUN: FileCheck %s --check-prefix=PLAN < %t.plan.json
// RUN: %if ptxas %{ ptxas -arch=sm_90a %t.ptx -o /dev/null %}
// Factored scales: exact code - zero integers into the mma, one f32 scale
// per group of chunks; bf16-side i8 goes through f32 when scaled.

// CHECK-LABEL: .entry qgemv_0
// CHECK: cp.async.cg.shared.global [{{.*}}], [{{.*}}], 16;
// CHECK: cp.async.commit_group;
// CHECK: cp.async.wait_group 2;
// CHECK: ld.shared.v4.b32
// CHECK: mul.rn.bf16x2
// CHECK: mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32
// CHECK-LABEL: .entry qgemv_1
// CHECK-LABEL: .entry qlinear_2
// @factored shares the wide-band kernels (packed 17-128 tokens, dense
// path above): its own are qgemv_6 and 7.
// CHECK-LABEL: .entry qgemv_6
// CHECK-NOT: mul.rn.bf16x2
// CHECK: mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32
// CHECK: fma.rn.f32
// CHECK-LABEL: .entry qgemv_8
// CHECK: mul.rn.f32
// CHECK: cvt.rn.bf16x2.f32
// CHECK: mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32

// PLAN: "block": 128,
// PLAN: "max": 8,
// PLAN: "kernel": "qgemv_0",
// PLAN: "shared_bytes": 12288
// PLAN: "block": 128,
// PLAN: "max": 16,
// PLAN: "kernel": "qgemv_1",
// PLAN: "shared_bytes": 12288
// PLAN: "min": 17,
// PLAN: "kernel": "qlinear_2",
// PLAN: "shared_bytes": 0

func.func @f(%x: tensor<?x1024xbf16>, %q: tensor<13x8192xi8>, %s: tensor<200x8xbf16>) -> tensor<?x200xbf16> {
  %w = kopt.dequantize %q, %s {encoding = !kopt.quantized<200x1024xi4, group_size = 128, scale = bf16, layout = mma>} : (tensor<13x8192xi8>, tensor<200x8xbf16>) -> tensor<200x1024xbf16>
  %y = kopt.linear %x, %w {kopt.gemv_tile = array<i64: 4, 3, 2>} : (tensor<?x1024xbf16>, tensor<200x1024xbf16>) -> tensor<?x200xbf16>
  return %y : tensor<?x200xbf16>
}

// Factored scales (flags 4): the exact integers code - zero go into the
// mma and each group's f32 partial sum is scaled once, so no 16-bit
// multiply; bf16-side i8 splits bytes into nibbles (two products).
func.func @factored(%x: tensor<?x1024xbf16>, %q: tensor<13x8192xi8>, %s: tensor<200x8xbf16>) -> tensor<?x200xbf16> {
  %w = kopt.dequantize %q, %s {encoding = !kopt.quantized<200x1024xi4, group_size = 128, scale = bf16, layout = mma>} : (tensor<13x8192xi8>, tensor<200x8xbf16>) -> tensor<200x1024xbf16>
  %y = kopt.linear %x, %w {kopt.gemv_tile = array<i64: 8, 4, 4, 4>} : (tensor<?x1024xbf16>, tensor<200x1024xbf16>) -> tensor<?x200xbf16>
  return %y : tensor<?x200xbf16>
}

// Scaled bf16-side i8 converts through f32 (cvt.rn.bf16x2.f32), as
// kopt.dequantize rounds.
func.func @int8(%x: tensor<?x1024xbf16>, %q: tensor<13x16384xi8>, %s: tensor<200x1xbf16>) -> tensor<?x200xbf16> {
  %w = kopt.dequantize %q, %s {encoding = !kopt.quantized<200x1024xi8, group_size = 1024, scale = bf16, layout = mma>} : (tensor<13x16384xi8>, tensor<200x1xbf16>) -> tensor<200x1024xbf16>
  %y = kopt.linear %x, %w {kopt.gemv_tile = array<i64: 4, 4, 4>} : (tensor<?x1024xbf16>, tensor<200x1024xbf16>) -> tensor<?x200xbf16>
  return %y : tensor<?x200xbf16>
}
