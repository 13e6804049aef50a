// RUN: kopt-opt %s --split-input-file --verify-diagnostics

func.func @bad_kind(%a: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @below {{kind must be "elementwise" or "linear_epilogue", got "attention"}}
  %r = kopt.fused "attention" -> tensor<4xf32> {
    %0 = kopt.neg %a : tensor<4xf32>
    kopt.yield %0 : tensor<4xf32>
  }
  return %r : tensor<4xf32>
}

// -----

func.func @bad_yield(%a: tensor<4xf32>) -> tensor<4xf32> {
  %r = kopt.fused "elementwise" -> tensor<4xf32> {
    %0 = kopt.cast %a : (tensor<4xf32>) -> tensor<4xf16>
    // expected-error @below {{yields 'tensor<4xf16>' but the kopt.fused returns 'tensor<4xf32>'}}
    kopt.yield %0 : tensor<4xf16>
  }
  return %r : tensor<4xf32>
}

// -----

func.func @empty(%a: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @below {{body holds no op}}
  %r = kopt.fused "elementwise" -> tensor<4xf32> {
    kopt.yield %a : tensor<4xf32>
  }
  return %r : tensor<4xf32>
}

// -----

func.func @yield_outside(%a: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @below {{expects parent op 'kopt.fused'}}
  kopt.yield %a : tensor<4xf32>
}
