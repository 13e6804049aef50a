// kopt accepts --split-input-file with --verify-diagnostics, like kopt-opt.
// RUN: kopt %s --split-input-file --verify-diagnostics -o /dev/null

func.func @ok(%x: tensor<4xf32>) -> tensor<4xf32> {
  %y = kopt.relu %x : (tensor<4xf32>) -> tensor<4xf32>
  return %y : tensor<4xf32>
}

// -----

func.func @bad(%x: tensor<4xf32>) {
  // expected-error @+1 {{'kopt.softmax' op axis 1 is out of range for rank 1}}
  %y = kopt.softmax %x {axis = 1 : i64} : (tensor<4xf32>) -> tensor<4xf32>
  return
}
