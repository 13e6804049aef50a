// Keep and int8 patterns that match no weight are errors at the module
// (almost certainly a typo that would silently quantize the layer).
// RUN: kopt-opt %s --kopt-quantize="keep=up.wieght int8=down.*,lm_head" --verify-diagnostics

// expected-error@+3 {{kopt-quantize: keep pattern 'up.wieght' matches no kopt.weight}}
// expected-error@+2 {{kopt-quantize: int8 pattern 'down.*' matches no kopt.weight}}
// expected-error@+1 {{kopt-quantize: int8 pattern 'lm_head' matches no kopt.weight}}
module {
  func.func @f(%x: tensor<?x128xbf16>) -> tensor<?x64xbf16> {
    %w = kopt.weight "up.weight" : tensor<64x128xbf16>
    %y = kopt.linear %x, %w : (tensor<?x128xbf16>, tensor<64x128xbf16>) -> tensor<?x64xbf16>
    return %y : tensor<?x64xbf16>
  }
}
