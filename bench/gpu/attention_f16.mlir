func.func @f(%q: tensor<1x?x32x128xf16>, %k: tensor<1x?x8x128xf16>, %v: tensor<1x?x8x128xf16>) -> tensor<1x?x32x128xf16> {
  %o = kopt.attention %q, %k, %v {causal = true} : (tensor<1x?x32x128xf16>, tensor<1x?x8x128xf16>, tensor<1x?x8x128xf16>) -> tensor<1x?x32x128xf16>
  return %o : tensor<1x?x32x128xf16>
}
