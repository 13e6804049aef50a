// The GPU layout needs whole 16-element lane slices per group.
// RUN: kopt-opt %s --kopt-quantize=group-size=40 --verify-diagnostics

func.func @group_splits_lane_slices(%x: tensor<?x80xf16>) -> tensor<?x8xf16> {
  // expected-error @+1 {{kopt-quantize: layout 'mma' needs group_size to be a multiple of 16, K or 0, got 40}}
  %w = kopt.weight "w" : tensor<8x80xf16>
  %y = kopt.linear %x, %w : (tensor<?x80xf16>, tensor<8x80xf16>) -> tensor<?x8xf16>
  return %y : tensor<?x8xf16>
}
