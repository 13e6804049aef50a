// bind-weights.mlir's weights with "proj" transposed and "bias" left out.
func.func @f() -> tensor<4x3xf32> {
  %w = kopt.weight "proj" : tensor<4x3xf32>
  return %w : tensor<4x3xf32>
}
