// k larger than the (dynamic) dim: a reported error.
func.func @f(%x: tensor<2x?xf32>) -> (tensor<2x5xf32>, tensor<2x5xi32>) {
  %v, %i = kopt.topk %x {k = 5 : i64} : (tensor<2x?xf32>) -> (tensor<2x5xf32>, tensor<2x5xi32>)
  return %v, %i : tensor<2x5xf32>, tensor<2x5xi32>
}
