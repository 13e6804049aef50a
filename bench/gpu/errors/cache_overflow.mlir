// A cache write past Smax: a reported error.
func.func @f(%c: tensor<1x8x1x4xf32>, %u: tensor<1x?x1x4xf32>, %o: tensor<1xi32>) -> tensor<1x8x1x4xf32> {
  %r = kopt.cache_update %c, %u, %o : (tensor<1x8x1x4xf32>, tensor<1x?x1x4xf32>, tensor<1xi32>) -> tensor<1x8x1x4xf32>
  return %r : tensor<1x8x1x4xf32>
}
