// The fused quantized linear picks warps per block by grid size and token
// band (chooseWarpsAndUnroll): int8 with N = 8192 (512 tiles) runs 8 warps
// up to 32 tokens, then 16 warps on 4 row tiles (128 blocks) up to 128;
// from 129 tokens the weight is dequantized for the dense GEMM.
// RUN: kopt %s --quantize=int8 -o %t.ptx
// RUN: FileCheck %s < %t.plan.json
// RUN: %if ptxas %{ ptxas -arch=sm_90a %t.ptx -o /dev/null %}

// CHECK: "block": 256,
// CHECK: "max": 8,
// CHECK: "kernel": "qlinear_0"
// CHECK: "block": 256,
// CHECK: "max": 16,
// CHECK: "kernel": "qlinear_1"
// CHECK: "block": 256,
// CHECK: "max": 32,
// CHECK: "kernel": "qlinear_2"
// CHECK: "block": 512,
// CHECK-NEXT: "grid": [
// CHECK-NEXT: 128,
// CHECK: "max": 128,
// CHECK-NEXT: "min": 33,
// CHECK: "kernel": "qlinear_3"
// CHECK: "min": 129,
// CHECK: "kernel": "qdequantize_4"
// CHECK: "max": 256,
// CHECK-NEXT: "min": 129,
// CHECK: "kernel": "wgmma_gemm_5"
// CHECK: "min": 257,
// CHECK: "kernel": "wgmma_gemm_6"
// CHECK: "min": 513,
// CHECK: "kernel": "wgmma_gemm_7"
// CHECK-NOT: "kernel"

func.func @f(%x: tensor<?x1024xbf16>) -> tensor<?x8192xbf16> {
  %w = kopt.weight "w" : tensor<8192x1024xbf16>
  %y = kopt.linear %x, %w : (tensor<?x1024xbf16>, tensor<8192x1024xbf16>) -> tensor<?x8192xbf16>
  return %y : tensor<?x8192xbf16>
}
