// kopt.qlinear_tile fixes the packed kernel's tiling for every band: 3 row
// tiles of 16 per block (N = 200: 13 tiles, 5 blocks, the last one 2 tiles
// past N) times 2 warps splitting K; kopt.dense_from_rows = 20 moves the
// dense path (dequantize once, then the GEMM) down to 20 tokens, cutting
// the 17-32 band at 19. ptxas accepts the kernels.
// RUN: kopt %s -o %t.ptx
// RUN: FileCheck %s < %t.plan.json
// RUN: %if ptxas %{ ptxas -arch=sm_90a %t.ptx -o /dev/null %}

// CHECK: "block": 192,
// CHECK-NEXT: "grid": [
// CHECK-NEXT: 5,
// CHECK: "kernel": "qlinear_0"
// CHECK: "block": 192,
// CHECK: "kernel": "qlinear_1"
// CHECK: "block": 192,
// CHECK: "max": 19,
// CHECK-NEXT: "min": 17,
// CHECK: "kernel": "qlinear_2"
// CHECK-NOT: "qlinear_3"
// CHECK: "min": 20,
// CHECK: "kernel": "qdequantize_3"
// CHECK: "min": 20,
// CHECK: "kernel": "wgmma_gemm_4"

func.func @f(%x: tensor<?x1024xbf16>, %q: tensor<13x8192xi8>, %s: tensor<200x8xbf16>) -> tensor<?x200xbf16> {
  %w = kopt.dequantize %q, %s {encoding = !kopt.quantized<200x1024xi4, group_size = 128, scale = bf16, layout = mma>} : (tensor<13x8192xi8>, tensor<200x8xbf16>) -> tensor<200x1024xbf16>
  %y = kopt.linear %x, %w {kopt.qlinear_tile = array<i64: 3, 2, 2>, kopt.dense_from_rows = 20 : i64} : (tensor<?x1024xbf16>, tensor<200x1024xbf16>) -> tensor<?x200xbf16>
  return %y : tensor<?x200xbf16>
}
