func.func @f(%q: tensor<4x?x32x128xbf16>, %k: tensor<4x?x32x128xbf16>, %v: tensor<4x?x32x128xbf16>) -> tensor<4x?x32x128xbf16> {
  %o = kopt.attention %q, %k, %v {causal = true, window = 1024 : i64} : (tensor<4x?x32x128xbf16>, tensor<4x?x32x128xbf16>, tensor<4x?x32x128xbf16>) -> tensor<4x?x32x128xbf16>
  return %o : tensor<4x?x32x128xbf16>
}
