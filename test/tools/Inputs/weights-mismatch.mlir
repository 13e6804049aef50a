// The weights of kopt-weights.mlir with a transposed shape, a different
// dtype and one weight left out (for kopt-weights --check).
func.func @f(%x: tensor<?x64xf32>) -> (tensor<64x32xf16>, tensor<64xf32>, tensor<100x64xbf16>) {
  %w = kopt.weight "proj" : tensor<64x32xf16>
  %n = kopt.weight "norm" : tensor<64xf32>
  %t = kopt.weight "embed" : tensor<100x64xbf16>
  return %w, %n, %t : tensor<64x32xf16>, tensor<64xf32>, tensor<100x64xbf16>
}
