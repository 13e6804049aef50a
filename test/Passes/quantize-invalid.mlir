// RUN: kopt-opt %s --kopt-quantize=strict-group-size=true --split-input-file --verify-diagnostics

func.func @group_does_not_divide_k(%x: tensor<?x100xf16>) -> tensor<?x8xf16> {
  // expected-error @+1 {{kopt-quantize: group size 128 does not divide K = 100 of weight 'w'}}
  %w = kopt.weight "w" : tensor<8x100xf16>
  %y = kopt.linear %x, %w : (tensor<?x100xf16>, tensor<8x100xf16>) -> tensor<?x8xf16>
  return %y : tensor<?x8xf16>
}
