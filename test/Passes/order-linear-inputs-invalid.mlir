// A weight name that no linear reads is an error at the module; a weight
// already compressed has no float [N, K] to reorder.
// RUN: kopt-opt %s --kopt-order-linear-inputs="weights=up.wieght" --verify-diagnostics --split-input-file

// expected-error@+1 {{kopt-order-linear-inputs: no kopt.linear reads a weight named 'up.wieght'}}
module {
  func.func @f(%x: tensor<?x8xf32>) -> tensor<?x4xf32> {
    %w = kopt.weight "up.weight" : tensor<4x8xf32>
    %y = kopt.linear %x, %w : (tensor<?x8xf32>, tensor<4x8xf32>) -> tensor<?x4xf32>
    return %y : tensor<?x4xf32>
  }
}

// -----

module {
  func.func @f(%x: tensor<?x128xbf16>) -> tensor<?x64xbf16> {
    // expected-error@+1 {{kopt-order-linear-inputs: weight 'up.wieght' must be a float [N, K] tensor, not '!kopt.quantized<64x128xi4, group_size = 64, scale = bf16, layout = mma>'}}
    %w = kopt.weight "up.wieght" : !kopt.quantized<64x128xi4, group_size = 64, scale = bf16, layout = mma>
    %y = kopt.linear %x, %w : (tensor<?x128xbf16>, !kopt.quantized<64x128xi4, group_size = 64, scale = bf16, layout = mma>) -> tensor<?x64xbf16>
    return %y : tensor<?x64xbf16>
  }
}
