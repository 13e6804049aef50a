// A weight name that no linear reads is an error at the module.
// RUN: kopt-opt %s --kopt-scale-linear-inputs="weights=up.wieght" --verify-diagnostics

// expected-error@+1 {{kopt-scale-linear-inputs: no kopt.linear reads a weight named 'up.wieght'}}
module {
  func.func @f(%x: tensor<?x8xf32>) -> tensor<?x4xf32> {
    %w = kopt.weight "up.weight" : tensor<4x8xf32>
    %y = kopt.linear %x, %w : (tensor<?x8xf32>, tensor<4x8xf32>) -> tensor<?x4xf32>
    return %y : tensor<?x4xf32>
  }
}
