// An id outside the table: a reported error, never an out-of-bounds read.
func.func @f(%t: tensor<10x8xf32>, %ids: tensor<1x?xi32>) -> tensor<1x?x8xf32> {
  %x = kopt.embedding %t, %ids : (tensor<10x8xf32>, tensor<1x?xi32>) -> tensor<1x?x8xf32>
  return %x : tensor<1x?x8xf32>
}
