// Every verifier rule of the kopt dialect rejects bad IR with its message.
// RUN: kopt-opt %s --split-input-file --verify-diagnostics

// Weight names are not empty.
func.func @weight_empty_name() {
  // expected-error @+1 {{weight name must not be empty}}
  %w = kopt.weight "" : tensor<4x4xf32>
  return
}

// -----

// Model dimensions (weights) are static.
func.func @weight_dynamic() {
  // expected-error @+1 {{weight 'w' must have a static shape}}
  %w = kopt.weight "w" : tensor<?x4xf32>
  return
}

// -----

// One weight name binds one tensor, whichever function reads it.
func.func @weight_first(%x: tensor<4xf32>) {
  // expected-note @+1 {{first read here}}
  %w = kopt.weight "shared.weight" : tensor<4x4xf32>
  return
}
func.func @weight_again(%x: tensor<4xf32>) {
  // expected-error @+1 {{weight 'shared.weight' has type 'tensor<4x4xf16>' here but 'tensor<4x4xf32>' where it is first read}}
  %w = kopt.weight "shared.weight" : tensor<4x4xf16>
  return
}

// -----

// A compressed weight type is verified where it is written.
func.func @weight_bad_group() {
  // expected-error @+1 {{group_size 48 does not divide K = 64}}
  %w = kopt.weight "w" : !kopt.quantized<32x64xi4, group_size = 48, scale = f16>
  return
}

// -----

// Unknown ops are reported, not ignored.
func.func @unknown_op(%x: tensor<4xf32>) {
  // expected-error @+1 {{custom op 'kopt.bogus' is unknown}}
  %y = kopt.bogus %x : (tensor<4xf32>) -> tensor<4xf32>
  return
}

// -----

// Element types are constrained by ODS: ids are integers.
func.func @embedding_float_ids(%t: tensor<10x4xf32>, %ids: tensor<3xf32>) {
  // expected-error @+1 {{operand #1 must be ranked tensor of 32-bit signless integer or 64-bit signless integer values}}
  %x = kopt.embedding %t, %ids : (tensor<10x4xf32>, tensor<3xf32>) -> tensor<3x4xf32>
  return
}

// -----

func.func @embedding_table_rank(%t: tensor<10xf32>, %ids: tensor<3xi32>) {
  // expected-error @+1 {{table must have rank 2 ([V, D]), got rank 1}}
  %x = kopt.embedding %t, %ids : (tensor<10xf32>, tensor<3xi32>) -> tensor<3x4xf32>
  return
}

// -----

// Written result types must agree with the inferred ones.
func.func @embedding_result(%t: tensor<10x4xf32>, %ids: tensor<3xi32>) {
  // expected-error @+1 {{result type(s) 'tensor<3x5xf32>' do not match the inferred 'tensor<3x4xf32>'}}
  %x = kopt.embedding %t, %ids : (tensor<10x4xf32>, tensor<3xi32>) -> tensor<3x5xf32>
  return
}

// -----

func.func @linear_scalar_input(%x: tensor<f32>, %w: tensor<4x4xf32>) {
  // expected-error @+1 {{input must have rank >= 1 ([..., K])}}
  %y = kopt.linear %x, %w : (tensor<f32>, tensor<4x4xf32>) -> tensor<4xf32>
  return
}

// -----

func.func @linear_weight_rank(%x: tensor<2x4xf32>, %w: tensor<2x4x4xf32>) {
  // expected-error @+1 {{weight must have shape [N, K], got rank 3}}
  %y = kopt.linear %x, %w : (tensor<2x4xf32>, tensor<2x4x4xf32>) -> tensor<2x4xf32>
  return
}

// -----

func.func @linear_k_mismatch(%x: tensor<2x64xf32>, %w: tensor<32x48xf32>) {
  // expected-error @+1 {{input K (64) does not match weight K (48)}}
  %y = kopt.linear %x, %w : (tensor<2x64xf32>, tensor<32x48xf32>) -> tensor<2x32xf32>
  return
}

// -----

func.func @linear_weight_dtype(%x: tensor<2x64xf16>, %w: tensor<32x64xf32>) {
  // expected-error @+1 {{weight element type 'f32' does not match input element type 'f16'}}
  %y = kopt.linear %x, %w : (tensor<2x64xf16>, tensor<32x64xf32>) -> tensor<2x32xf16>
  return
}

// -----

func.func @linear_bias_shape(%x: tensor<2x64xf32>, %w: tensor<32x64xf32>, %b: tensor<64xf32>) {
  // expected-error @+1 {{bias must have shape [N] = [32], got 'tensor<64xf32>'}}
  %y = kopt.linear %x, %w, %b : (tensor<2x64xf32>, tensor<32x64xf32>, tensor<64xf32>) -> tensor<2x32xf32>
  return
}

// -----

func.func @linear_bias_dtype(%x: tensor<2x64xf32>, %w: tensor<32x64xf32>, %b: tensor<32xf16>) {
  // expected-error @+1 {{bias element type 'f16' does not match input element type 'f32'}}
  %y = kopt.linear %x, %w, %b : (tensor<2x64xf32>, tensor<32x64xf32>, tensor<32xf16>) -> tensor<2x32xf32>
  return
}

// -----

func.func @linear_quantized_k(%x: tensor<2x32xf16>) {
  %w = kopt.weight "w" : !kopt.quantized<16x64xi4, group_size = 32, scale = f16>
  // expected-error @+1 {{input K (32) does not match weight K (64)}}
  %y = kopt.linear %x, %w : (tensor<2x32xf16>, !kopt.quantized<16x64xi4, group_size = 32, scale = f16>) -> tensor<2x16xf16>
  return
}

// -----

func.func @matmul_rank(%a: tensor<4xf32>, %b: tensor<4x4xf32>) {
  // expected-error @+1 {{operands must have rank >= 2, got 1 and 2}}
  %c = kopt.matmul %a, %b : (tensor<4xf32>, tensor<4x4xf32>) -> tensor<4xf32>
  return
}

// -----

func.func @matmul_k(%a: tensor<3x4xf32>, %b: tensor<5x6xf32>) {
  // expected-error @+1 {{contraction dims disagree: lhs K = 4, rhs K = 5}}
  %c = kopt.matmul %a, %b : (tensor<3x4xf32>, tensor<5x6xf32>) -> tensor<3x6xf32>
  return
}

// -----

func.func @matmul_k_transposed(%a: tensor<3x4xf32>, %b: tensor<6x5xf32>) {
  // expected-error @+1 {{contraction dims disagree: lhs K = 4, rhs K = 5}}
  %c = kopt.matmul %a, %b {transpose_b = true} : (tensor<3x4xf32>, tensor<6x5xf32>) -> tensor<3x6xf32>
  return
}

// -----

func.func @matmul_batch(%a: tensor<2x3x4xf32>, %b: tensor<3x4x5xf32>) {
  // expected-error @+1 {{batch dims are not broadcastable}}
  %c = kopt.matmul %a, %b : (tensor<2x3x4xf32>, tensor<3x4x5xf32>) -> tensor<2x3x5xf32>
  return
}

// -----

func.func @add_not_broadcastable(%a: tensor<2x3xf32>, %b: tensor<4x3xf32>) {
  // expected-error @+1 {{operands are not broadcastable: 'tensor<2x3xf32>' and 'tensor<4x3xf32>'}}
  %c = kopt.add %a, %b : (tensor<2x3xf32>, tensor<4x3xf32>) -> tensor<2x3xf32>
  return
}

// -----

func.func @mul_dtypes(%a: tensor<3xf32>, %b: tensor<3xf16>) {
  // expected-error @+1 {{requires the same element type for all operands and results}}
  %c = kopt.mul %a, %b : (tensor<3xf32>, tensor<3xf16>) -> tensor<3xf32>
  return
}

// -----

// The functional type lists every operand.
func.func @add_type_count(%a: tensor<3xf32>) {
  // expected-error @+1 {{expected 2 operand types, got 1}}
  %c = kopt.add %a, %a : (tensor<3xf32>) -> tensor<3xf32>
  return
}

// -----

// The short form gives all operands and the result one type.
func.func @add_short_form_mismatch(%a: tensor<3xf32>, %b: tensor<3xf16>) {
  // expected-note @-1 {{prior use here}}
  // expected-error @+1 {{use of value '%b' expects different type than prior uses: 'tensor<3xf32>' vs 'tensor<3xf16>'}}
  %c = kopt.add %a, %b : tensor<3xf32>
  return
}

// -----

func.func @silu_int(%a: tensor<3xi32>) {
  // expected-error @+1 {{operand #0 must be ranked tensor of 32-bit float or 16-bit float or bfloat16 type values}}
  %c = kopt.silu %a : (tensor<3xi32>) -> tensor<3xi32>
  return
}

// -----

func.func @silu_result(%a: tensor<3xf32>) {
  // expected-error @+1 {{requires the same type for all operands and results}}
  %c = kopt.silu %a : (tensor<3xf32>) -> tensor<3xf16>
  return
}

// -----

func.func @gelu_mode(%a: tensor<3xf32>) {
  // expected-error @+1 {{approximate must be "none" or "tanh", got "fast"}}
  %c = kopt.gelu %a {approximate = "fast"} : (tensor<3xf32>) -> tensor<3xf32>
  return
}

// -----

func.func @clamp_no_bounds(%a: tensor<3xf32>) {
  // expected-error @+1 {{needs at least one of 'min' and 'max'}}
  %c = kopt.clamp %a : (tensor<3xf32>) -> tensor<3xf32>
  return
}

// -----

func.func @clamp_order(%a: tensor<3xf32>) {
  // expected-error @+1 {{min (3.000000e+00) must be <= max (-3.000000e+00)}}
  %c = kopt.clamp %a {min = 3.0 : f32, max = -3.0 : f32} : (tensor<3xf32>) -> tensor<3xf32>
  return
}

// -----

func.func @clamp_nan(%a: tensor<3xf32>) {
  // expected-error @+1 {{clamp bounds must not be NaN}}
  %c = kopt.clamp %a {min = 0x7FC00000 : f32} : (tensor<3xf32>) -> tensor<3xf32>
  return
}

// -----

func.func @clamp_attr_kind(%a: tensor<3xf32>) {
  // expected-error @+1 {{attribute 'min' failed to satisfy constraint: floating-point attribute}}
  %c = kopt.clamp %a {min = 1 : i64} : (tensor<3xf32>) -> tensor<3xf32>
  return
}

// -----

func.func @cast_shape(%a: tensor<3xf32>) {
  // expected-error @+1 {{result shape must match input shape, got 'tensor<3xf32>' -> 'tensor<4xf16>'}}
  %c = kopt.cast %a : (tensor<3xf32>) -> tensor<4xf16>
  return
}

// -----

func.func @rmsnorm_weight(%x: tensor<2x8xf32>, %w: tensor<4xf32>) {
  // expected-error @+1 {{parameters must have shape [D] = [8], got 'tensor<4xf32>'}}
  %y = kopt.rmsnorm %x, %w : (tensor<2x8xf32>, tensor<4xf32>) -> tensor<2x8xf32>
  return
}

// -----

func.func @rmsnorm_scalar(%x: tensor<f32>, %w: tensor<1xf32>) {
  // expected-error @+1 {{input must have rank >= 1 ([..., D])}}
  %y = kopt.rmsnorm %x, %w : (tensor<f32>, tensor<1xf32>) -> tensor<f32>
  return
}

// -----

func.func @rmsnorm_epsilon(%x: tensor<2x8xf32>, %w: tensor<8xf32>) {
  // expected-error @+1 {{epsilon must be finite and >= 0, got -1.000000e+00}}
  %y = kopt.rmsnorm %x, %w {epsilon = -1.0 : f32} : (tensor<2x8xf32>, tensor<8xf32>) -> tensor<2x8xf32>
  return
}

// -----

func.func @layernorm_bias(%x: tensor<2x8xf32>, %w: tensor<8xf32>, %b: tensor<2x8xf32>) {
  // expected-error @+1 {{parameters must have shape [D] = [8], got 'tensor<2x8xf32>'}}
  %y = kopt.layernorm %x, %w, %b : (tensor<2x8xf32>, tensor<8xf32>, tensor<2x8xf32>) -> tensor<2x8xf32>
  return
}

// -----

func.func @layernorm_dtype(%x: tensor<2x8xf32>, %w: tensor<8xf16>, %b: tensor<8xf32>) {
  // expected-error @+1 {{requires the same element type for all operands and results}}
  %y = kopt.layernorm %x, %w, %b : (tensor<2x8xf32>, tensor<8xf16>, tensor<8xf32>) -> tensor<2x8xf32>
  return
}

// -----

func.func @l2norm_axis(%x: tensor<2x8xf32>) {
  // expected-error @+1 {{axis 2 is out of range for rank 2}}
  %y = kopt.l2norm %x {axis = 2 : i64} : (tensor<2x8xf32>) -> tensor<2x8xf32>
  return
}

// -----

func.func @softmax_axis(%x: tensor<2x8xf32>) {
  // expected-error @+1 {{axis -3 is out of range for rank 2}}
  %y = kopt.softmax %x {axis = -3 : i64} : (tensor<2x8xf32>) -> tensor<2x8xf32>
  return
}

// -----

func.func @reduce_no_axes(%x: tensor<2x8xf32>) {
  // expected-error @+1 {{axes must not be empty}}
  %y = kopt.reduce_sum %x {axes = array<i64>} : (tensor<2x8xf32>) -> tensor<2x8xf32>
  return
}

// -----

func.func @reduce_repeated_axis(%x: tensor<2x8xf32>) {
  // expected-error @+1 {{axis -1 appears more than once in axes}}
  %y = kopt.reduce_mean %x {axes = array<i64: 1, -1>} : (tensor<2x8xf32>) -> tensor<2xf32>
  return
}

// -----

func.func @reduce_axis_range(%x: tensor<2x8xf32>) {
  // expected-error @+1 {{axis 5 is out of range for rank 2}}
  %y = kopt.reduce_max %x {axes = array<i64: 5>} : (tensor<2x8xf32>) -> tensor<2xf32>
  return
}

// -----

func.func @argmax_result(%x: tensor<2x8xf32>) {
  // expected-error @+1 {{result #0 must be ranked tensor of 32-bit signless integer values}}
  %y = kopt.argmax %x : (tensor<2x8xf32>) -> tensor<2xi64>
  return
}

// -----

func.func @topk_k(%x: tensor<2x8xf32>) {
  // expected-error @+1 {{k must be in [1, 8], got 9}}
  %v, %i = kopt.topk %x {k = 9 : i64} : (tensor<2x8xf32>) -> (tensor<2x9xf32>, tensor<2x9xi32>)
  return
}

// -----

func.func @topk_k_zero(%x: tensor<2x?xf32>) {
  // expected-error @+1 {{k must be in [1, ?], got 0}}
  %v, %i = kopt.topk %x {k = 0 : i64} : (tensor<2x?xf32>) -> (tensor<2x0xf32>, tensor<2x0xi32>)
  return
}

// -----

func.func @gather_rank(%x: tensor<2x8x4xf32>, %i: tensor<2xi32>) {
  // expected-error @+1 {{indices must have rank in [2, 3], got 1}}
  %y = kopt.gather %x, %i {axis = 1 : i64} : (tensor<2x8x4xf32>, tensor<2xi32>) -> tensor<2x8x4xf32>
  return
}

// -----

func.func @gather_leading_dims(%x: tensor<2x8x4xf32>, %i: tensor<3x5xi32>) {
  // expected-error @+1 {{indices dim 0 (3) must match the input's (2)}}
  %y = kopt.gather %x, %i {axis = 1 : i64} : (tensor<2x8x4xf32>, tensor<3x5xi32>) -> tensor<2x5x4xf32>
  return
}

// -----

func.func @gather_trailing_dims(%x: tensor<2x8x4xf32>, %i: tensor<2x5x3xi32>) {
  // expected-error @+1 {{indices dim 2 (3) must match the input's (4) or be 1}}
  %y = kopt.gather %x, %i {axis = 1 : i64} : (tensor<2x8x4xf32>, tensor<2x5x3xi32>) -> tensor<2x5x4xf32>
  return
}

// -----

func.func @reshape_dtype(%x: tensor<2x8xf32>) {
  // expected-error @+1 {{element type must not change, got 'f32' -> 'f16'}}
  %y = kopt.reshape %x : (tensor<2x8xf32>) -> tensor<16xf16>
  return
}

// -----

func.func @reshape_count(%x: tensor<2x8xf32>) {
  // expected-error @+1 {{element count must not change, got 16 -> 15}}
  %y = kopt.reshape %x : (tensor<2x8xf32>) -> tensor<3x5xf32>
  return
}

// -----

func.func @reshape_two_dynamic(%x: tensor<?x8xf32>) {
  // expected-error @+1 {{result may have at most one dynamic dim, got 'tensor<?x?x4xf32>'}}
  %y = kopt.reshape %x : (tensor<?x8xf32>) -> tensor<?x?x4xf32>
  return
}

// -----

func.func @reshape_not_divisible(%x: tensor<2x9xf32>) {
  // expected-error @+1 {{cannot infer the dynamic dim of 'tensor<?x4xf32>' from 18 elements}}
  %y = kopt.reshape %x : (tensor<2x9xf32>) -> tensor<?x4xf32>
  return
}

// -----

func.func @transpose_perm(%x: tensor<2x3x4xf32>) {
  // expected-error @+1 {{permutation must be a permutation of [0, 3), got [0, 0, 1]}}
  %y = kopt.transpose %x {permutation = array<i64: 0, 0, 1>} : (tensor<2x3x4xf32>) -> tensor<2x2x3xf32>
  return
}

// -----

func.func @transpose_perm_size(%x: tensor<2x3x4xf32>) {
  // expected-error @+1 {{permutation must be a permutation of [0, 3), got [1, 0]}}
  %y = kopt.transpose %x {permutation = array<i64: 1, 0>} : (tensor<2x3x4xf32>) -> tensor<3x2x4xf32>
  return
}

// -----

func.func @concat_empty() {
  // expected-error @+1 {{expected 1 or more operands, but found 0}}
  %y = kopt.concat {axis = 0 : i64} : () -> tensor<2xf32>
  return
}

// -----

func.func @concat_rank(%a: tensor<2x3xf32>, %b: tensor<3xf32>) {
  // expected-error @+1 {{inputs must have equal rank, got 'tensor<2x3xf32>' and 'tensor<3xf32>'}}
  %y = kopt.concat %a, %b {axis = 0 : i64} : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<5x3xf32>
  return
}

// -----

func.func @concat_other_dims(%a: tensor<2x3xf32>, %b: tensor<2x4xf32>) {
  // expected-error @+1 {{inputs must agree in dim 1 (not the axis)}}
  %y = kopt.concat %a, %b {axis = 0 : i64} : (tensor<2x3xf32>, tensor<2x4xf32>) -> tensor<4x3xf32>
  return
}

// -----

func.func @concat_axis(%a: tensor<2x3xf32>) {
  // expected-error @+1 {{axis 2 is out of range for rank 2}}
  %y = kopt.concat %a {axis = 2 : i64} : (tensor<2x3xf32>) -> tensor<2x3xf32>
  return
}

// -----

func.func @slice_start(%x: tensor<8xf32>) {
  // expected-error @+1 {{start must be >= 0, got -1}}
  %y = kopt.slice %x {axis = 0 : i64, start = -1 : i64, size = 2 : i64} : (tensor<8xf32>) -> tensor<2xf32>
  return
}

// -----

func.func @slice_size(%x: tensor<8xf32>) {
  // expected-error @+1 {{size must be >= 1, got 0}}
  %y = kopt.slice %x {axis = 0 : i64, start = 0 : i64, size = 0 : i64} : (tensor<8xf32>) -> tensor<0xf32>
  return
}

// -----

func.func @slice_bounds(%x: tensor<8xf32>) {
  // expected-error @+1 {{slice [6, 10) is out of bounds for dim of size 8}}
  %y = kopt.slice %x {axis = 0 : i64, start = 6 : i64, size = 4 : i64} : (tensor<8xf32>) -> tensor<4xf32>
  return
}

// -----

func.func @rope_rank(%x: tensor<1x4x64xf32>, %p: tensor<1x4xi32>) {
  // expected-error @+1 {{input must have rank 4 ([B, S, H, D]), got rank 3}}
  %y = kopt.rope %x, %p : (tensor<1x4x64xf32>, tensor<1x4xi32>) -> tensor<1x4x64xf32>
  return
}

// -----

func.func @rope_positions(%x: tensor<1x4x2x64xf32>, %p: tensor<1x5xi32>) {
  // expected-error @+1 {{positions must have shape [B, S] matching the input, got 'tensor<1x5xi32>'}}
  %y = kopt.rope %x, %p : (tensor<1x4x2x64xf32>, tensor<1x5xi32>) -> tensor<1x4x2x64xf32>
  return
}

// -----

func.func @rope_rotary_dim(%x: tensor<1x4x2x64xf32>, %p: tensor<1x4xi32>) {
  // expected-error @+1 {{rotary_dim must be even and in [2, D = 64], got 33}}
  %y = kopt.rope %x, %p {rotary_dim = 33 : i64} : (tensor<1x4x2x64xf32>, tensor<1x4xi32>) -> tensor<1x4x2x64xf32>
  return
}

// -----

func.func @rope_rotary_dim_large(%x: tensor<1x4x2x64xf32>, %p: tensor<1x4xi32>) {
  // expected-error @+1 {{rotary_dim must be even and in [2, D = 64], got 128}}
  %y = kopt.rope %x, %p {rotary_dim = 128 : i64} : (tensor<1x4x2x64xf32>, tensor<1x4xi32>) -> tensor<1x4x2x64xf32>
  return
}

// -----

func.func @rope_theta(%x: tensor<1x4x2x64xf32>, %p: tensor<1x4xi32>) {
  // expected-error @+1 {{theta must be finite and > 0, got 0.000000e+00}}
  %y = kopt.rope %x, %p {theta = 0.0 : f32} : (tensor<1x4x2x64xf32>, tensor<1x4xi32>) -> tensor<1x4x2x64xf32>
  return
}

// -----

func.func @attention_rank(%q: tensor<1x4x64xf32>, %k: tensor<1x4x2x64xf32>) {
  // expected-error @+1 {{query, key and value must have rank 4 ([B, S, H, D])}}
  %o = kopt.attention %q, %k, %k : (tensor<1x4x64xf32>, tensor<1x4x2x64xf32>, tensor<1x4x2x64xf32>) -> tensor<1x4x64xf32>
  return
}

// -----

func.func @attention_gqa(%q: tensor<1x4x6x64xf32>, %k: tensor<1x4x4x64xf32>) {
  // expected-error @+1 {{query heads (6) must be a multiple of kv heads (4)}}
  %o = kopt.attention %q, %k, %k : (tensor<1x4x6x64xf32>, tensor<1x4x4x64xf32>, tensor<1x4x4x64xf32>) -> tensor<1x4x6x64xf32>
  return
}

// -----

func.func @attention_head_dim(%q: tensor<1x4x8x64xf32>, %k: tensor<1x4x2x32xf32>) {
  // expected-error @+1 {{head dims differ: query 64, key 32}}
  %o = kopt.attention %q, %k, %k : (tensor<1x4x8x64xf32>, tensor<1x4x2x32xf32>, tensor<1x4x2x32xf32>) -> tensor<1x4x8x64xf32>
  return
}

// -----

func.func @attention_batch(%q: tensor<2x4x8x64xf32>, %k: tensor<3x4x2x64xf32>) {
  // expected-error @+1 {{batch sizes differ: query 2, key 3}}
  %o = kopt.attention %q, %k, %k : (tensor<2x4x8x64xf32>, tensor<3x4x2x64xf32>, tensor<3x4x2x64xf32>) -> tensor<2x4x8x64xf32>
  return
}

// -----

func.func @attention_dtype(%q: tensor<1x4x8x64xf16>, %k: tensor<1x4x2x64xf32>) {
  // expected-error @+1 {{query and key/value element types differ: 'f16' vs 'f32'}}
  %o = kopt.attention %q, %k, %k : (tensor<1x4x8x64xf16>, tensor<1x4x2x64xf32>, tensor<1x4x2x64xf32>) -> tensor<1x4x8x64xf16>
  return
}

// -----

func.func @attention_kv_mismatch(%q: tensor<1x4x8x64xf32>, %k: tensor<1x4x2x64xf32>, %v: tensor<1x5x2x64xf32>) {
  // expected-error @+1 {{failed to verify that all of {key, value} have same type}}
  %o = kopt.attention %q, %k, %v : (tensor<1x4x8x64xf32>, tensor<1x4x2x64xf32>, tensor<1x5x2x64xf32>) -> tensor<1x4x8x64xf32>
  return
}

// -----

func.func @attention_kv_len(%q: tensor<2x1x8x64xf32>, %k: tensor<2x16x2x64xf32>, %l: tensor<3xi32>) {
  // expected-error @+1 {{kv_len must have shape [B], got 'tensor<3xi32>'}}
  %o = kopt.attention %q, %k, %k, %l : (tensor<2x1x8x64xf32>, tensor<2x16x2x64xf32>, tensor<2x16x2x64xf32>, tensor<3xi32>) -> tensor<2x1x8x64xf32>
  return
}

// -----

func.func @attention_window(%q: tensor<1x4x8x64xf32>, %k: tensor<1x4x2x64xf32>) {
  // expected-error @+1 {{window must be >= 0 (0 = no window), got -5}}
  %o = kopt.attention %q, %k, %k {window = -5 : i64} : (tensor<1x4x8x64xf32>, tensor<1x4x2x64xf32>, tensor<1x4x2x64xf32>) -> tensor<1x4x8x64xf32>
  return
}

// -----

func.func @attention_scale(%q: tensor<1x4x8x64xf32>, %k: tensor<1x4x2x64xf32>) {
  // expected-error @+1 {{scale must be finite and > 0, got -1.000000e+00}}
  %o = kopt.attention %q, %k, %k {scale = -1.0 : f32} : (tensor<1x4x8x64xf32>, tensor<1x4x2x64xf32>, tensor<1x4x2x64xf32>) -> tensor<1x4x8x64xf32>
  return
}

// -----

func.func @cache_rank(%c: tensor<1x16x2xf32>, %n: tensor<1x1x2xf32>, %o: tensor<1xi32>) {
  // expected-error @+1 {{cache and update must have rank 4 ([B, S, H, D])}}
  %r = kopt.cache_update %c, %n, %o : (tensor<1x16x2xf32>, tensor<1x1x2xf32>, tensor<1xi32>) -> tensor<1x16x2xf32>
  return
}

// -----

func.func @cache_heads(%c: tensor<1x16x2x8xf32>, %n: tensor<1x1x4x8xf32>, %o: tensor<1xi32>) {
  // expected-error @+1 {{must match cache 'tensor<1x16x2x8xf32>' in B, H and D}}
  %r = kopt.cache_update %c, %n, %o : (tensor<1x16x2x8xf32>, tensor<1x1x4x8xf32>, tensor<1xi32>) -> tensor<1x16x2x8xf32>
  return
}

// -----

func.func @cache_dtype(%c: tensor<1x16x2x8xf32>, %n: tensor<1x1x2x8xf16>, %o: tensor<1xi32>) {
  // expected-error @+1 {{cache and update element types differ}}
  %r = kopt.cache_update %c, %n, %o : (tensor<1x16x2x8xf32>, tensor<1x1x2x8xf16>, tensor<1xi32>) -> tensor<1x16x2x8xf32>
  return
}

// -----

func.func @cache_overflow(%c: tensor<1x16x2x8xf32>, %n: tensor<1x17x2x8xf32>, %o: tensor<1xi32>) {
  // expected-error @+1 {{update length 17 exceeds cache length 16}}
  %r = kopt.cache_update %c, %n, %o : (tensor<1x16x2x8xf32>, tensor<1x17x2x8xf32>, tensor<1xi32>) -> tensor<1x16x2x8xf32>
  return
}

// -----

func.func @cache_offset(%c: tensor<2x16x2x8xf32>, %n: tensor<2x1x2x8xf32>, %o: tensor<2x1xi32>) {
  // expected-error @+1 {{offset must have shape [B], got 'tensor<2x1xi32>'}}
  %r = kopt.cache_update %c, %n, %o : (tensor<2x16x2x8xf32>, tensor<2x1x2x8xf32>, tensor<2x1xi32>) -> tensor<2x16x2x8xf32>
  return
}

// -----

func.func @linattn_rank(%q: tensor<1x4x8xf32>) {
  // expected-error @+1 {{query must have rank 4 ([B, S, H, D]), got rank 3}}
  %o, %s = kopt.linear_attention %q, %q, %q : (tensor<1x4x8xf32>, tensor<1x4x8xf32>, tensor<1x4x8xf32>) -> (tensor<1x4x8xf32>, tensor<1x8x8x8xf32>)
  return
}

// -----

func.func @linattn_kv(%q: tensor<1x4x2x8xf32>, %k: tensor<1x5x2x8xf32>) {
  // expected-error @+1 {{key and value must match query 'tensor<1x4x2x8xf32>', got 'tensor<1x5x2x8xf32>'}}
  %o, %s = kopt.linear_attention %q, %k, %q : (tensor<1x4x2x8xf32>, tensor<1x5x2x8xf32>, tensor<1x4x2x8xf32>) -> (tensor<1x4x2x8xf32>, tensor<1x2x8x8xf32>)
  return
}

// -----

func.func @linattn_state(%q: tensor<1x4x2x8xf32>, %s0: tensor<1x2x8x4xf32>) {
  // expected-error @+1 {{state must have shape [B, H, D, D] = 'tensor<1x2x8x8xf32>', got 'tensor<1x2x8x4xf32>'}}
  %o, %s = kopt.linear_attention %q, %q, %q, %s0 : (tensor<1x4x2x8xf32>, tensor<1x4x2x8xf32>, tensor<1x4x2x8xf32>, tensor<1x2x8x4xf32>) -> (tensor<1x4x2x8xf32>, tensor<1x2x8x8xf32>)
  return
}

// -----

func.func @linattn_state_dtype(%q: tensor<1x4x2x8xf16>, %s0: tensor<1x2x8x8xf32>) {
  // expected-error @+1 {{final state element type must match the state's}}
  %o, %s = kopt.linear_attention %q, %q, %q, %s0 : (tensor<1x4x2x8xf16>, tensor<1x4x2x8xf16>, tensor<1x4x2x8xf16>, tensor<1x2x8x8xf32>) -> (tensor<1x4x2x8xf16>, tensor<1x2x8x8xf16>)
  return
}

// -----

func.func @linattn_output(%q: tensor<1x4x2x8xf32>) {
  // expected-error @+1 {{output type must match query 'tensor<1x4x2x8xf32>', got 'tensor<1x4x2x8xf16>'}}
  %o, %s = kopt.linear_attention %q, %q, %q : (tensor<1x4x2x8xf32>, tensor<1x4x2x8xf32>, tensor<1x4x2x8xf32>) -> (tensor<1x4x2x8xf16>, tensor<1x2x8x8xf32>)
  return
}

// -----

func.func @linattn_final_state(%q: tensor<1x4x2x8xf32>) {
  // expected-error @+1 {{final state must have shape [B, H, D, D] = 'tensor<1x2x8x8xf32>', got 'tensor<1x8x8x8xf32>'}}
  %o, %s = kopt.linear_attention %q, %q, %q : (tensor<1x4x2x8xf32>, tensor<1x4x2x8xf32>, tensor<1x4x2x8xf32>) -> (tensor<1x4x2x8xf32>, tensor<1x8x8x8xf32>)
  return
}

// -----

func.func @linattn_decay_count(%q: tensor<1x4x2x8xf32>) {
  // expected-error @+1 {{decay must have one value per head (2), got 3}}
  %o, %s = kopt.linear_attention %q, %q, %q {decay = array<f32: 0.5, 0.5, 0.5>} : (tensor<1x4x2x8xf32>, tensor<1x4x2x8xf32>, tensor<1x4x2x8xf32>) -> (tensor<1x4x2x8xf32>, tensor<1x2x8x8xf32>)
  return
}

// -----

func.func @linattn_decay_range(%q: tensor<1x4x2x8xf32>) {
  // expected-error @+1 {{decay values must be in [0, 1], got 1.5}}
  %o, %s = kopt.linear_attention %q, %q, %q {decay = array<f32: 0.5, 1.5>} : (tensor<1x4x2x8xf32>, tensor<1x4x2x8xf32>, tensor<1x4x2x8xf32>) -> (tensor<1x4x2x8xf32>, tensor<1x2x8x8xf32>)
  return
}

// -----

func.func @moe_input_rank(%x: tensor<1x4x8xf32>, %r: tensor<4x8xf32>, %g: tensor<4x16x8xf32>, %d: tensor<4x8x16xf32>) {
  // expected-error @+1 {{input must have rank 2 ([T, Hd]), got rank 3}}
  %y = kopt.moe %x, %r, %g, %g, %d {top_k = 2 : i64} : (tensor<1x4x8xf32>, tensor<4x8xf32>, tensor<4x16x8xf32>, tensor<4x16x8xf32>, tensor<4x8x16xf32>) -> tensor<1x4x8xf32>
  return
}

// -----

func.func @moe_router(%x: tensor<?x8xf32>, %r: tensor<4x9xf32>, %g: tensor<4x16x8xf32>, %d: tensor<4x8x16xf32>) {
  // expected-error @+1 {{router must have shape [E, Hd = 8], got 'tensor<4x9xf32>'}}
  %y = kopt.moe %x, %r, %g, %g, %d {top_k = 2 : i64} : (tensor<?x8xf32>, tensor<4x9xf32>, tensor<4x16x8xf32>, tensor<4x16x8xf32>, tensor<4x8x16xf32>) -> tensor<?x8xf32>
  return
}

// -----

func.func @moe_router_dtype(%x: tensor<?x8xf32>, %r: tensor<4x8xf16>, %g: tensor<4x16x8xf32>, %d: tensor<4x8x16xf32>) {
  // expected-error @+1 {{router element type must match the input's}}
  %y = kopt.moe %x, %r, %g, %g, %d {top_k = 2 : i64} : (tensor<?x8xf32>, tensor<4x8xf16>, tensor<4x16x8xf32>, tensor<4x16x8xf32>, tensor<4x8x16xf32>) -> tensor<?x8xf32>
  return
}

// -----

func.func @moe_gate(%x: tensor<?x8xf32>, %r: tensor<4x8xf32>, %g: tensor<3x16x8xf32>, %d: tensor<4x8x16xf32>) {
  // expected-error @+1 {{w_gate must have shape [E = 4, F, Hd = 8]}}
  %y = kopt.moe %x, %r, %g, %g, %d {top_k = 2 : i64} : (tensor<?x8xf32>, tensor<4x8xf32>, tensor<3x16x8xf32>, tensor<3x16x8xf32>, tensor<4x8x16xf32>) -> tensor<?x8xf32>
  return
}

// -----

func.func @moe_up(%x: tensor<?x8xf32>, %r: tensor<4x8xf32>, %g: tensor<4x16x8xf32>, %u: tensor<4x32x8xf32>, %d: tensor<4x8x16xf32>) {
  // expected-error @+1 {{w_up must have the shape of w_gate [4, 16, 8]}}
  %y = kopt.moe %x, %r, %g, %u, %d {top_k = 2 : i64} : (tensor<?x8xf32>, tensor<4x8xf32>, tensor<4x16x8xf32>, tensor<4x32x8xf32>, tensor<4x8x16xf32>) -> tensor<?x8xf32>
  return
}

// -----

func.func @moe_down(%x: tensor<?x8xf32>, %r: tensor<4x8xf32>, %g: tensor<4x16x8xf32>, %d: tensor<4x16x8xf32>) {
  // expected-error @+1 {{w_down must have shape [E = 4, Hd = 8, F = 16]}}
  %y = kopt.moe %x, %r, %g, %g, %d {top_k = 2 : i64} : (tensor<?x8xf32>, tensor<4x8xf32>, tensor<4x16x8xf32>, tensor<4x16x8xf32>, tensor<4x16x8xf32>) -> tensor<?x8xf32>
  return
}

// -----

func.func @moe_expert_dtype(%x: tensor<?x8xf32>, %r: tensor<4x8xf32>, %g: tensor<4x16x8xf16>, %d: tensor<4x8x16xf16>) {
  // expected-error @+1 {{expert weight element types must match the input's}}
  %y = kopt.moe %x, %r, %g, %g, %d {top_k = 2 : i64} : (tensor<?x8xf32>, tensor<4x8xf32>, tensor<4x16x8xf16>, tensor<4x16x8xf16>, tensor<4x8x16xf16>) -> tensor<?x8xf32>
  return
}

// -----

func.func @moe_top_k(%x: tensor<?x8xf32>, %r: tensor<4x8xf32>, %g: tensor<4x16x8xf32>, %d: tensor<4x8x16xf32>) {
  // expected-error @+1 {{top_k must be in [1, E = 4], got 5}}
  %y = kopt.moe %x, %r, %g, %g, %d {top_k = 5 : i64} : (tensor<?x8xf32>, tensor<4x8xf32>, tensor<4x16x8xf32>, tensor<4x16x8xf32>, tensor<4x8x16xf32>) -> tensor<?x8xf32>
  return
}

// -----

func.func @decompress_shape() {
  %w = kopt.weight "w" : !kopt.quantized<16x64xi4, group_size = 32, scale = f16>
  // expected-error @+1 {{result shape must be the weight's logical shape, got 'tensor<64x16xf16>'}}
  %d = kopt.decompress %w : (!kopt.quantized<16x64xi4, group_size = 32, scale = f16>) -> tensor<64x16xf16>
  return
}

// -----

func.func @decompress_sparse_dtype() {
  %w = kopt.weight "w" : !kopt.sparse<16x64xf16, "2:4">
  // expected-error @+1 {{result element type must be 'f16'}}
  %d = kopt.decompress %w : (!kopt.sparse<16x64xf16, "2:4">) -> tensor<16x64xf32>
  return
}

// -----

func.func @fake_quant_granularity(%a: tensor<3x8xbf16>) {
  // expected-error @+1 {{granularity must be "token" or "tensor", got "channel"}}
  %c = kopt.fake_quant %a {dtype = f8E4M3FN, granularity = "channel"} : tensor<3x8xbf16>
  return
}

// -----

func.func @fake_quant_dtype(%a: tensor<3x8xbf16>) {
  // expected-error @+1 {{attribute 'dtype' failed to satisfy constraint}}
  %c = kopt.fake_quant %a {dtype = f8E5M2} : tensor<3x8xbf16>
  return
}

// -----

func.func @fake_quant_rank0(%a: tensor<bf16>) {
  // expected-error @+1 {{per-token scales need a rank >= 1 input}}
  %c = kopt.fake_quant %a {dtype = f8E4M3FN} : tensor<bf16>
  return
}

// -----

func.func @fake_quant_shape(%a: tensor<3x8xbf16>) {
  // expected-error @+1 {{requires the same type for all operands and results}}
  %c = kopt.fake_quant %a {dtype = f8E4M3FN} : (tensor<3x8xbf16>) -> tensor<3x8xf16>
  return
}
