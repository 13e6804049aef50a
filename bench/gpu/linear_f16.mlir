func.func @f(%x: tensor<?x4096xf16>, %w: tensor<14336x4096xf16>) -> tensor<?x14336xf16> {
  %y = kopt.linear %x, %w : (tensor<?x4096xf16>, tensor<14336x4096xf16>) -> tensor<?x14336xf16>
  return %y : tensor<?x14336xf16>
}
