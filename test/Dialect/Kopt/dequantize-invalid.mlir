// RUN: kopt-opt %s --split-input-file --verify-diagnostics

func.func @wrong_codes_shape(%q: tensor<4x512xi8>, %s: tensor<64x4xbf16>) -> tensor<64x128xbf16> {
  // expected-error @+1 {{codes must be 'tensor<4x1024xi8>'}}
  %a = kopt.dequantize %q, %s {encoding = !kopt.quantized<64x128xi4, group_size = 32, scale = bf16, layout = mma>} : (tensor<4x512xi8>, tensor<64x4xbf16>) -> tensor<64x128xbf16>
  return %a : tensor<64x128xbf16>
}

// -----

func.func @missing_zeros(%q: tensor<8x32xi8>, %s: tensor<8x1xf16>) -> tensor<8x64xf16> {
  // expected-error @+1 {{an asymmetric encoding is stored as 3 tensors, got 2}}
  %a = kopt.dequantize %q, %s {encoding = !kopt.quantized<8x64xi4, group_size = 64, scale = f16, zero_point = i4>} : (tensor<8x32xi8>, tensor<8x1xf16>) -> tensor<8x64xf16>
  return %a : tensor<8x64xf16>
}

// -----

func.func @wrong_scale_dtype(%q: tensor<8x32xi8>, %s: tensor<8x1xbf16>) -> tensor<8x64xf16> {
  // expected-error @+1 {{scales must be 'tensor<8x1xf16>'}}
  %a = kopt.dequantize %q, %s {encoding = !kopt.quantized<8x64xi4, group_size = 64, scale = f16>} : (tensor<8x32xi8>, tensor<8x1xbf16>) -> tensor<8x64xf16>
  return %a : tensor<8x64xf16>
}

// -----

func.func @wrong_result(%q: tensor<8x32xi8>, %s: tensor<8x1xf16>) -> tensor<8x64xf32> {
  // expected-error @+1 {{result must be 'tensor<8x64xf16>'}}
  %a = kopt.dequantize %q, %s {encoding = !kopt.quantized<8x64xi4, group_size = 64, scale = f16>} : (tensor<8x32xi8>, tensor<8x1xf16>) -> tensor<8x64xf32>
  return %a : tensor<8x64xf32>
}

// -----

func.func @float_zero_points(%q: tensor<8x32xi8>, %s: tensor<8x1xf16>, %z: tensor<8x1xi8>) -> tensor<8x64xf16> {
  // expected-error @+1 {{zero points of type 'f16' cannot be unpacked}}
  %a = kopt.dequantize %q, %s, %z {encoding = !kopt.quantized<8x64xi4, group_size = 64, scale = f16, zero_point = f16>} : (tensor<8x32xi8>, tensor<8x1xf16>, tensor<8x1xi8>) -> tensor<8x64xf16>
  return %a : tensor<8x64xf16>
}

// -----

func.func @unsupported_storage_type(%q: tensor<8x32xi8>, %s: tensor<8x1xf16>) -> tensor<8x64xf16> {
  // expected-error @+1 {{quantized storage must be i4, i8 or f8E4M3FN, got 'i2'}}
  %a = kopt.dequantize %q, %s {encoding = !kopt.quantized<8x64xi2, group_size = 64, scale = f16>} : (tensor<8x32xi8>, tensor<8x1xf16>) -> tensor<8x64xf16>
  return %a : tensor<8x64xf16>
}
