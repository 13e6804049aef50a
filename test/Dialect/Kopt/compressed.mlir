// Compressed-weight types print everything a kernel receives, feed
// kopt.linear / kopt.moe, and decompress to their logical shape.
// RUN: kopt-opt %s | kopt-opt | FileCheck %s

// CHECK-LABEL: func.func @quantized_linear
func.func @quantized_linear(%x: tensor<1x?x512xf16>) -> (tensor<1x?x256xf16>, tensor<1x?x256xf16>) {
  // CHECK: kopt.weight "q.weight" : !kopt.quantized<256x512xi4, group_size = 128, scale = f16>
  %wq = kopt.weight "q.weight" : !kopt.quantized<256x512xi4, group_size = 128, scale = f16>
  // CHECK: kopt.linear %{{.+}}, %{{.+}} : (tensor<1x?x512xf16>, !kopt.quantized<256x512xi4, group_size = 128, scale = f16>) -> tensor<1x?x256xf16>
  %y = kopt.linear %x, %wq : (tensor<1x?x512xf16>, !kopt.quantized<256x512xi4, group_size = 128, scale = f16>) -> tensor<1x?x256xf16>
  // Asymmetric GPTQ-style int4 with zero points, in the kernel layout.
  // CHECK: !kopt.quantized<256x512xi4, group_size = 64, scale = f16, zero_point = i4, layout = mma>
  %wa = kopt.weight "a.weight" : !kopt.quantized<256x512xi4, group_size = 64, scale = f16, zero_point = i4, layout = mma>
  %z = kopt.linear %x, %wa : (tensor<1x?x512xf16>, !kopt.quantized<256x512xi4, group_size = 64, scale = f16, zero_point = i4, layout = mma>) -> tensor<1x?x256xf16>
  return %y, %z : tensor<1x?x256xf16>, tensor<1x?x256xf16>
}

// CHECK-LABEL: func.func @other_encodings
func.func @other_encodings() -> (tensor<256x512xbf16>, tensor<256x512xf32>, tensor<256x512xf16>, tensor<256x512xf16>) {
  // Per-channel int8 (group_size = K), bf16 scales.
  // CHECK: !kopt.quantized<256x512xi8, group_size = 512, scale = bf16>
  %a = kopt.weight "a" : !kopt.quantized<256x512xi8, group_size = 512, scale = bf16>
  // Per-tensor fp8.
  // CHECK: !kopt.quantized<256x512xf8E4M3FN, group_size = 0, scale = f32>
  %b = kopt.weight "b" : !kopt.quantized<256x512xf8E4M3FN, group_size = 0, scale = f32>
  // CHECK: !kopt.sparse<256x512xf16, "2:4">
  %c = kopt.weight "c" : !kopt.sparse<256x512xf16, "2:4">
  // CHECK: !kopt.sparse<256x512xf16, "block:16x16:0.25">
  %d = kopt.weight "d" : !kopt.sparse<256x512xf16, "block:16x16:0.25">
  // CHECK: kopt.decompress %{{.+}} : (!kopt.quantized<256x512xi8, group_size = 512, scale = bf16>) -> tensor<256x512xbf16>
  %da = kopt.decompress %a : (!kopt.quantized<256x512xi8, group_size = 512, scale = bf16>) -> tensor<256x512xbf16>
  %db = kopt.decompress %b : (!kopt.quantized<256x512xf8E4M3FN, group_size = 0, scale = f32>) -> tensor<256x512xf32>
  %dc = kopt.decompress %c : (!kopt.sparse<256x512xf16, "2:4">) -> tensor<256x512xf16>
  %dd = kopt.decompress %d : (!kopt.sparse<256x512xf16, "block:16x16:0.25">) -> tensor<256x512xf16>
  return %da, %db, %dc, %dd : tensor<256x512xbf16>, tensor<256x512xf32>, tensor<256x512xf16>, tensor<256x512xf16>
}

// CHECK-LABEL: func.func @quantized_experts
func.func @quantized_experts(%x: tensor<?x64xf16>, %r: tensor<4x64xf16>) -> tensor<?x64xf16> {
  %wg = kopt.weight "experts.gate" : !kopt.quantized<4x128x64xi4, group_size = 32, scale = f16>
  %wu = kopt.weight "experts.up" : !kopt.quantized<4x128x64xi4, group_size = 32, scale = f16>
  %wd = kopt.weight "experts.down" : !kopt.quantized<4x64x128xi4, group_size = 32, scale = f16>
  // CHECK: kopt.moe {{.+}} {top_k = 2 : i64} : (tensor<?x64xf16>, tensor<4x64xf16>, !kopt.quantized<4x128x64xi4, group_size = 32, scale = f16>, !kopt.quantized<4x128x64xi4, group_size = 32, scale = f16>, !kopt.quantized<4x64x128xi4, group_size = 32, scale = f16>) -> tensor<?x64xf16>
  %y = kopt.moe %x, %r, %wg, %wu, %wd {top_k = 2 : i64} : (tensor<?x64xf16>, tensor<4x64xf16>, !kopt.quantized<4x128x64xi4, group_size = 32, scale = f16>, !kopt.quantized<4x128x64xi4, group_size = 32, scale = f16>, !kopt.quantized<4x64x128xi4, group_size = 32, scale = f16>) -> tensor<?x64xf16>
  return %y : tensor<?x64xf16>
}
