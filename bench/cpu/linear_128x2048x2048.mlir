// CPU benchmark: kopt.linear, M=128, N=K=2048, f32 (issue #3 target: within
// 2x of a BLAS library on the same machine).
func.func @linear(%x: tensor<128x2048xf32>, %w: tensor<2048x2048xf32>) -> tensor<128x2048xf32> {
  %y = kopt.linear %x, %w : (tensor<128x2048xf32>, tensor<2048x2048xf32>) -> tensor<128x2048xf32>
  return %y : tensor<128x2048xf32>
}
