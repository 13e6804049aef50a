// CPU code generation refuses what it cannot compile, naming the op.
// RUN: kopt-opt %s --split-input-file --kopt-prepare-cpu-abi --convert-kopt-to-linalg --verify-diagnostics

func.func @quantized_weight(%x: tensor<2x64xf16>) -> tensor<2x16xf16> {
  // expected-error @+1 {{compressed weight 'w' has no CPU calling convention yet}}
  %w = kopt.weight "w" : !kopt.quantized<16x64xi4, group_size = 32, scale = f16>
  %y = kopt.linear %x, %w : (tensor<2x64xf16>, !kopt.quantized<16x64xi4, group_size = 32, scale = f16>) -> tensor<2x16xf16>
  return %y : tensor<2x16xf16>
}

// -----

func.func @quantized_argument(%x: tensor<2x64xf16>, %w: !kopt.quantized<16x64xi4, group_size = 32, scale = f16>) -> tensor<2x16xf16> {
  // expected-error @+1 {{no CPU lowering for 'kopt.linear' (compressed weights have no CPU lowering yet)}}
  %y = kopt.linear %x, %w : (tensor<2x64xf16>, !kopt.quantized<16x64xi4, group_size = 32, scale = f16>) -> tensor<2x16xf16>
  return %y : tensor<2x16xf16>
}
