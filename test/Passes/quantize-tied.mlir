// A tied LM head (the embedding table also read by a linear) stays dense.
// RUN: kopt-opt %s --kopt-quantize | FileCheck %s
// CHECK-LABEL: func.func @tied
// CHECK: kopt.weight "embed" : tensor<64x128xf16>
// CHECK-NOT: quantized
func.func @tied(%ids: tensor<1x?xi32>) -> tensor<1x?x64xf16> {
  %table = kopt.weight "embed" : tensor<64x128xf16>
  %x = kopt.embedding %table, %ids : (tensor<64x128xf16>, tensor<1x?xi32>) -> tensor<1x?x128xf16>
  %head = kopt.weight "embed" : tensor<64x128xf16>
  %y = kopt.linear %x, %head : (tensor<1x?x128xf16>, tensor<64x128xf16>) -> tensor<1x?x64xf16>
  return %y : tensor<1x?x64xf16>
}
