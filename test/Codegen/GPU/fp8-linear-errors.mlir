// A kopt.fp8_promote_every the fp8 GEMM cannot honour is diagnosed at the
// linear.
// RUN: kopt %s -o %t.ptx --verify-diagnostics --split-input-file

func.func @interval(%x: tensor<?x256xbf16>, %q: tensor<64x256xf8E4M3FN>, %s: tensor<64x1xbf16>) -> tensor<?x64xbf16> {
  %w = kopt.dequantize %q, %s {encoding = !kopt.quantized<64x256xf8E4M3FN, group_size = 256, scale = bf16>} : (tensor<64x256xf8E4M3FN>, tensor<64x1xbf16>) -> tensor<64x256xbf16>
  %xq = kopt.fake_quant %x {dtype = f8E4M3FN} : tensor<?x256xbf16>
  // expected-error @+1 {{kopt.fp8_promote_every must be a non-negative multiple of 128 (K elements), got 100 : i64}}
  %y = kopt.linear %xq, %w {kopt.fp8_promote_every = 100} : (tensor<?x256xbf16>, tensor<64x256xbf16>) -> tensor<?x64xbf16>
  return %y : tensor<?x64xbf16>
}

// -----

func.func @kind(%x: tensor<?x256xbf16>, %q: tensor<64x256xf8E4M3FN>, %s: tensor<64x1xbf16>) -> tensor<?x64xbf16> {
  %w = kopt.dequantize %q, %s {encoding = !kopt.quantized<64x256xf8E4M3FN, group_size = 256, scale = bf16>} : (tensor<64x256xf8E4M3FN>, tensor<64x1xbf16>) -> tensor<64x256xbf16>
  %xq = kopt.fake_quant %x {dtype = f8E4M3FN} : tensor<?x256xbf16>
  // expected-error @+1 {{kopt.fp8_promote_every must be a non-negative multiple of 128 (K elements), got "fast"}}
  %y = kopt.linear %xq, %w {kopt.fp8_promote_every = "fast"} : (tensor<?x256xbf16>, tensor<64x256xbf16>) -> tensor<?x64xbf16>
  return %y : tensor<?x64xbf16>
}
