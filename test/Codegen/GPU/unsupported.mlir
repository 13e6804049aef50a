// Ops without a GPU kernel are diagnosed at the op, not crashed on.
// RUN: kopt %s -o %t.ptx --verify-diagnostics --split-input-file

func.func @f(%x: tensor<3x?xf32>) -> tensor<3x2xf32> {
  // expected-error @+1 {{'kopt.topk' has no GPU kernel yet}}
  %v, %i = kopt.topk %x {k = 2 : i64} : (tensor<3x?xf32>) -> (tensor<3x2xf32>, tensor<3x2xi32>)
  return %v : tensor<3x2xf32>
}

// -----

func.func @g(%x: tensor<2x?x8xf32>) -> tensor<2x?x4xf32> {
  // expected-error @+1 {{compressed weights are not in the host plan yet}}
  %w = kopt.weight "w" : !kopt.quantized<4x8xi4, group_size = 8, scale = f16>
  %y = kopt.linear %x, %w : (tensor<2x?x8xf32>, !kopt.quantized<4x8xi4, group_size = 8, scale = f16>) -> tensor<2x?x4xf32>
  return %y : tensor<2x?x4xf32>
}
