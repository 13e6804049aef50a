func.func @f(%q: tensor<8x1x32x128xbf16>, %k: tensor<8x16384x32x128xbf16>, %v: tensor<8x16384x32x128xbf16>, %len: tensor<8xi32>) -> tensor<8x1x32x128xbf16> {
  %o = kopt.attention %q, %k, %v, %len {causal = true} : (tensor<8x1x32x128xbf16>, tensor<8x16384x32x128xbf16>, tensor<8x16384x32x128xbf16>, tensor<8xi32>) -> tensor<8x1x32x128xbf16>
  return %o : tensor<8x1x32x128xbf16>
}
