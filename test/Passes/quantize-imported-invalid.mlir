// kopt-quantize's `imported` weights (GPTQ/AWQ parts) must be dense weights
// read only as a linear's weight; anything else is an error at the weight.
// RUN: kopt-opt %s --split-input-file --kopt-quantize="mode=none imported=embed:64,q.weight:64" --verify-diagnostics

func.func @table(%ids: tensor<1x?xi32>) -> tensor<1x?x128xbf16> {
  // expected-error@+1 {{kopt-quantize: imported weight 'embed' must be read only as a kopt.linear weight}}
  %table = kopt.weight "embed" : tensor<64x128xbf16>
  %x = kopt.embedding %table, %ids : (tensor<64x128xbf16>, tensor<1x?xi32>) -> tensor<1x?x128xbf16>
  return %x : tensor<1x?x128xbf16>
}

// -----

func.func @already(%x: tensor<?x128xbf16>) -> tensor<?x64xbf16> {
  // expected-error@+1 {{kopt-quantize: imported weight 'q.weight' is not a dense tensor}}
  %w = kopt.weight "q.weight" : !kopt.quantized<64x128xi4, group_size = 64, scale = bf16, layout = mma>
  %y = kopt.linear %x, %w : (tensor<?x128xbf16>, !kopt.quantized<64x128xi4, group_size = 64, scale = bf16, layout = mma>) -> tensor<?x64xbf16>
  return %y : tensor<?x64xbf16>
}
