func.func @f(%q: tensor<4x1x32x128xbf16>, %k: tensor<4x8192x8x128xbf16>, %v: tensor<4x8192x8x128xbf16>, %len: tensor<4xi32>) -> tensor<4x1x32x128xbf16> {
  %o = kopt.attention %q, %k, %v, %len {causal = true} : (tensor<4x1x32x128xbf16>, tensor<4x8192x8x128xbf16>, tensor<4x8192x8x128xbf16>, tensor<4xi32>) -> tensor<4x1x32x128xbf16>
  return %o : tensor<4x1x32x128xbf16>
}
