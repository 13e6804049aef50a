// Every kopt op parses, verifies, prints and re-parses, in custom and
// generic form.
// RUN: kopt-opt %s | kopt-opt | FileCheck %s
// RUN: kopt-opt %s --mlir-print-op-generic | kopt-opt | FileCheck %s

// CHECK-LABEL: func.func @weight_and_embedding
// CHECK-SAME: (%[[IDS:.+]]: tensor<1x?xi32>)
func.func @weight_and_embedding(%ids: tensor<1x?xi32>) -> tensor<1x?x512xf16> {
  // CHECK: %[[T:.+]] = kopt.weight "embed_tokens.weight" : tensor<32000x512xf16>
  %table = kopt.weight "embed_tokens.weight" : tensor<32000x512xf16>
  // CHECK: kopt.embedding %[[T]], %[[IDS]] : (tensor<32000x512xf16>, tensor<1x?xi32>) -> tensor<1x?x512xf16>
  %x = kopt.embedding %table, %ids : (tensor<32000x512xf16>, tensor<1x?xi32>) -> tensor<1x?x512xf16>
  return %x : tensor<1x?x512xf16>
}

// CHECK-LABEL: func.func @embedding_i64_ids
func.func @embedding_i64_ids(%table: tensor<10x4xbf16>, %ids: tensor<?x?xi64>) -> tensor<?x?x4xbf16> {
  // CHECK: kopt.embedding %{{.+}}, %{{.+}} : (tensor<10x4xbf16>, tensor<?x?xi64>) -> tensor<?x?x4xbf16>
  %x = kopt.embedding %table, %ids : (tensor<10x4xbf16>, tensor<?x?xi64>) -> tensor<?x?x4xbf16>
  return %x : tensor<?x?x4xbf16>
}

// CHECK-LABEL: func.func @linear
// CHECK-SAME: (%[[X:.+]]: tensor<?x64xf32>, %[[W:.+]]: tensor<32x64xf32>, %[[B:.+]]: tensor<32xf32>)
func.func @linear(%x: tensor<?x64xf32>, %w: tensor<32x64xf32>, %b: tensor<32xf32>) -> (tensor<?x32xf32>, tensor<?x32xf32>) {
  // CHECK: kopt.linear %[[X]], %[[W]] : (tensor<?x64xf32>, tensor<32x64xf32>) -> tensor<?x32xf32>
  %y = kopt.linear %x, %w : (tensor<?x64xf32>, tensor<32x64xf32>) -> tensor<?x32xf32>
  // CHECK: kopt.linear %[[X]], %[[W]], %[[B]] : (tensor<?x64xf32>, tensor<32x64xf32>, tensor<32xf32>) -> tensor<?x32xf32>
  %z = kopt.linear %x, %w, %b : (tensor<?x64xf32>, tensor<32x64xf32>, tensor<32xf32>) -> tensor<?x32xf32>
  return %y, %z : tensor<?x32xf32>, tensor<?x32xf32>
}

// CHECK-LABEL: func.func @linear_refines_dynamic_result
func.func @linear_refines_dynamic_result(%x: tensor<1x?x8xf16>, %w: tensor<4x8xf16>) -> tensor<1x3x4xf16> {
  // CHECK: kopt.linear {{.+}} -> tensor<1x3x4xf16>
  %y = kopt.linear %x, %w : (tensor<1x?x8xf16>, tensor<4x8xf16>) -> tensor<1x3x4xf16>
  return %y : tensor<1x3x4xf16>
}

// CHECK-LABEL: func.func @matmul
func.func @matmul(%q: tensor<1x8x?x64xf32>, %k: tensor<1x8x?x64xf32>, %v: tensor<8x?x64xf32>) -> (tensor<1x8x?x?xf32>, tensor<1x8x?x64xf32>) {
  // CHECK: kopt.matmul %{{.+}}, %{{.+}} {transpose_b = true} : (tensor<1x8x?x64xf32>, tensor<1x8x?x64xf32>) -> tensor<1x8x?x?xf32>
  %s = kopt.matmul %q, %k {transpose_b = true} : (tensor<1x8x?x64xf32>, tensor<1x8x?x64xf32>) -> tensor<1x8x?x?xf32>
  // Batch dims broadcast: [1, 8] with [8].
  // CHECK: kopt.matmul %{{.+}}, %{{.+}} : (tensor<1x8x?x?xf32>, tensor<8x?x64xf32>) -> tensor<1x8x?x64xf32>
  %o = kopt.matmul %s, %v : (tensor<1x8x?x?xf32>, tensor<8x?x64xf32>) -> tensor<1x8x?x64xf32>
  return %s, %o : tensor<1x8x?x?xf32>, tensor<1x8x?x64xf32>
}

// CHECK-LABEL: func.func @binary
func.func @binary(%a: tensor<1x?x64xf16>, %b: tensor<64xf16>, %i: tensor<1x?xi32>) -> tensor<1x?x64xf16> {
  %half = arith.constant dense<5.000000e-01> : tensor<f16>
  // CHECK: kopt.add %{{.+}}, %{{.+}} : (tensor<1x?x64xf16>, tensor<64xf16>) -> tensor<1x?x64xf16>
  %0 = kopt.add %a, %b : (tensor<1x?x64xf16>, tensor<64xf16>) -> tensor<1x?x64xf16>
  // CHECK: kopt.sub %{{.+}}, %{{.+}} : (tensor<1x?x64xf16>, tensor<f16>) -> tensor<1x?x64xf16>
  %1 = kopt.sub %0, %half : (tensor<1x?x64xf16>, tensor<f16>) -> tensor<1x?x64xf16>
  // CHECK: kopt.mul %{{.+}}, %{{.+}} : (tensor<f16>, tensor<1x?x64xf16>) -> tensor<1x?x64xf16>
  %2 = kopt.mul %half, %1 : (tensor<f16>, tensor<1x?x64xf16>) -> tensor<1x?x64xf16>
  // CHECK: kopt.div %{{.+}}, %{{.+}} : (tensor<1x?x64xf16>, tensor<1x1x64xf16>) -> tensor<1x?x64xf16>
  %c = arith.constant dense<2.0> : tensor<1x1x64xf16>
  %3 = kopt.div %2, %c : (tensor<1x?x64xf16>, tensor<1x1x64xf16>) -> tensor<1x?x64xf16>
  // Integer positions: offset by a scalar.
  %one = arith.constant dense<1> : tensor<i32>
  // CHECK: kopt.add %{{.+}}, %{{.+}} : (tensor<1x?xi32>, tensor<i32>) -> tensor<1x?xi32>
  %4 = kopt.add %i, %one : (tensor<1x?xi32>, tensor<i32>) -> tensor<1x?xi32>
  return %3 : tensor<1x?x64xf16>
}

// CHECK-LABEL: func.func @unary
func.func @unary(%x: tensor<?x16xbf16>) -> tensor<?x16xbf16> {
  // CHECK: kopt.silu %{{.+}} : (tensor<?x16xbf16>) -> tensor<?x16xbf16>
  %0 = kopt.silu %x : (tensor<?x16xbf16>) -> tensor<?x16xbf16>
  // CHECK: kopt.relu
  %1 = kopt.relu %0 : (tensor<?x16xbf16>) -> tensor<?x16xbf16>
  // CHECK: kopt.sigmoid
  %2 = kopt.sigmoid %1 : (tensor<?x16xbf16>) -> tensor<?x16xbf16>
  // CHECK: kopt.tanh
  %3 = kopt.tanh %2 : (tensor<?x16xbf16>) -> tensor<?x16xbf16>
  // CHECK: kopt.exp
  %4 = kopt.exp %3 : (tensor<?x16xbf16>) -> tensor<?x16xbf16>
  // CHECK: kopt.rsqrt
  %5 = kopt.rsqrt %4 : (tensor<?x16xbf16>) -> tensor<?x16xbf16>
  // CHECK: kopt.neg
  %6 = kopt.neg %5 : (tensor<?x16xbf16>) -> tensor<?x16xbf16>
  // CHECK: kopt.gelu %{{.+}} : (tensor<?x16xbf16>) -> tensor<?x16xbf16>
  %7 = kopt.gelu %6 : (tensor<?x16xbf16>) -> tensor<?x16xbf16>
  // CHECK: kopt.gelu %{{.+}} {approximate = "tanh"}
  %8 = kopt.gelu %7 {approximate = "tanh"} : (tensor<?x16xbf16>) -> tensor<?x16xbf16>
  // CHECK: kopt.clamp %{{.+}} {max = 3.000000e+00 : f32, min = -3.000000e+00 : f32}
  %9 = kopt.clamp %8 {min = -3.0 : f32, max = 3.0 : f32} : (tensor<?x16xbf16>) -> tensor<?x16xbf16>
  // CHECK: kopt.clamp %{{.+}} {min = 0.000000e+00 : f32}
  %10 = kopt.clamp %9 {min = 0.0 : f32} : (tensor<?x16xbf16>) -> tensor<?x16xbf16>
  return %10 : tensor<?x16xbf16>
}

// CHECK-LABEL: func.func @cast
func.func @cast(%x: tensor<1x?x8xf16>, %i: tensor<4xi32>) -> (tensor<1x?x8xf32>, tensor<4xf32>, tensor<1x?x8xf8E4M3FN>) {
  // CHECK: kopt.cast %{{.+}} : (tensor<1x?x8xf16>) -> tensor<1x?x8xf32>
  %0 = kopt.cast %x : (tensor<1x?x8xf16>) -> tensor<1x?x8xf32>
  // CHECK: kopt.cast %{{.+}} : (tensor<4xi32>) -> tensor<4xf32>
  %1 = kopt.cast %i : (tensor<4xi32>) -> tensor<4xf32>
  // CHECK: kopt.cast %{{.+}} : (tensor<1x?x8xf16>) -> tensor<1x?x8xf8E4M3FN>
  %2 = kopt.cast %x : (tensor<1x?x8xf16>) -> tensor<1x?x8xf8E4M3FN>
  return %0, %1, %2 : tensor<1x?x8xf32>, tensor<4xf32>, tensor<1x?x8xf8E4M3FN>
}

// CHECK-LABEL: func.func @norms
func.func @norms(%x: tensor<1x?x512xf16>, %w: tensor<512xf16>, %b: tensor<512xf16>) -> tensor<1x?x512xf16> {
  // CHECK: kopt.rmsnorm %{{.+}}, %{{.+}} {epsilon = 9.99999974E-6 : f32} : (tensor<1x?x512xf16>, tensor<512xf16>) -> tensor<1x?x512xf16>
  %0 = kopt.rmsnorm %x, %w {epsilon = 1.0e-05 : f32} : (tensor<1x?x512xf16>, tensor<512xf16>) -> tensor<1x?x512xf16>
  // CHECK: kopt.rmsnorm %{{.+}}, %{{.+}} : (tensor<1x?x512xf16>, tensor<512xf16>) -> tensor<1x?x512xf16>
  %1 = kopt.rmsnorm %0, %w : (tensor<1x?x512xf16>, tensor<512xf16>) -> tensor<1x?x512xf16>
  // CHECK: kopt.layernorm %{{.+}}, %{{.+}}, %{{.+}} : (tensor<1x?x512xf16>, tensor<512xf16>, tensor<512xf16>) -> tensor<1x?x512xf16>
  %2 = kopt.layernorm %1, %w, %b : (tensor<1x?x512xf16>, tensor<512xf16>, tensor<512xf16>) -> tensor<1x?x512xf16>
  // Default attribute values are elided when printed.
  // CHECK: kopt.l2norm %{{.+}} {axis = 1 : i64} : (tensor<1x?x512xf16>) -> tensor<1x?x512xf16>
  %3 = kopt.l2norm %2 {axis = 1 : i64, epsilon = 1.0e-12 : f32} : (tensor<1x?x512xf16>) -> tensor<1x?x512xf16>
  // CHECK: kopt.softmax %{{.+}} : (tensor<1x?x512xf16>) -> tensor<1x?x512xf16>
  %4 = kopt.softmax %3 {axis = -1 : i64} : (tensor<1x?x512xf16>) -> tensor<1x?x512xf16>
  return %4 : tensor<1x?x512xf16>
}

// CHECK-LABEL: func.func @reductions
func.func @reductions(%x: tensor<2x?x64xf32>) -> (tensor<2x64xf32>, tensor<2x1x64xf32>, tensor<2xf32>, tensor<2x?xi32>, tensor<2x?x1xi32>) {
  // CHECK: kopt.reduce_mean %{{.+}} {axes = array<i64: 1>} : (tensor<2x?x64xf32>) -> tensor<2x64xf32>
  %0 = kopt.reduce_mean %x {axes = array<i64: 1>} : (tensor<2x?x64xf32>) -> tensor<2x64xf32>
  // CHECK: kopt.reduce_sum %{{.+}} {axes = array<i64: -2>, keepdim = true} : (tensor<2x?x64xf32>) -> tensor<2x1x64xf32>
  %1 = kopt.reduce_sum %x {axes = array<i64: -2>, keepdim = true} : (tensor<2x?x64xf32>) -> tensor<2x1x64xf32>
  // CHECK: kopt.reduce_max %{{.+}} {axes = array<i64: 1, 2>} : (tensor<2x?x64xf32>) -> tensor<2xf32>
  %2 = kopt.reduce_max %x {axes = array<i64: 1, 2>} : (tensor<2x?x64xf32>) -> tensor<2xf32>
  // CHECK: kopt.argmax %{{.+}} : (tensor<2x?x64xf32>) -> tensor<2x?xi32>
  %3 = kopt.argmax %x : (tensor<2x?x64xf32>) -> tensor<2x?xi32>
  // CHECK: kopt.argmax %{{.+}} {axis = 2 : i64, keepdim = true} : (tensor<2x?x64xf32>) -> tensor<2x?x1xi32>
  %4 = kopt.argmax %x {axis = 2 : i64, keepdim = true} : (tensor<2x?x64xf32>) -> tensor<2x?x1xi32>
  return %0, %1, %2, %3, %4 : tensor<2x64xf32>, tensor<2x1x64xf32>, tensor<2xf32>, tensor<2x?xi32>, tensor<2x?x1xi32>
}

// CHECK-LABEL: func.func @selection
func.func @selection(%x: tensor<2x?x64xf16>, %scores: tensor<2x?xf32>) -> tensor<2x16x64xf16> {
  // CHECK: %[[V:.+]], %[[I:.+]] = kopt.topk %{{.+}} {k = 16 : i64} : (tensor<2x?xf32>) -> (tensor<2x16xf32>, tensor<2x16xi32>)
  %values, %idx = kopt.topk %scores {k = 16 : i64} : (tensor<2x?xf32>) -> (tensor<2x16xf32>, tensor<2x16xi32>)
  // CHECK: kopt.gather %{{.+}}, %[[I]] {axis = 1 : i64} : (tensor<2x?x64xf16>, tensor<2x16xi32>) -> tensor<2x16x64xf16>
  %sel = kopt.gather %x, %idx {axis = 1 : i64} : (tensor<2x?x64xf16>, tensor<2x16xi32>) -> tensor<2x16x64xf16>
  return %sel : tensor<2x16x64xf16>
}

// CHECK-LABEL: func.func @shapes
func.func @shapes(%x: tensor<1x?x512xf16>, %y: tensor<1x?x8x32xf16>) -> (tensor<1x8x?x64xf16>, tensor<1x?x8x96xf16>, tensor<1x?x8x32xf16>) {
  // CHECK: kopt.reshape %{{.+}} : (tensor<1x?x512xf16>) -> tensor<1x?x8x64xf16>
  %0 = kopt.reshape %x : (tensor<1x?x512xf16>) -> tensor<1x?x8x64xf16>
  // CHECK: kopt.transpose %{{.+}} {permutation = array<i64: 0, 2, 1, 3>} : (tensor<1x?x8x64xf16>) -> tensor<1x8x?x64xf16>
  %1 = kopt.transpose %0 {permutation = array<i64: 0, 2, 1, 3>} : (tensor<1x?x8x64xf16>) -> tensor<1x8x?x64xf16>
  // CHECK: kopt.concat %{{.+}}, %{{.+}} {axis = -1 : i64} : (tensor<1x?x8x64xf16>, tensor<1x?x8x32xf16>) -> tensor<1x?x8x96xf16>
  %2 = kopt.concat %0, %y {axis = -1 : i64} : (tensor<1x?x8x64xf16>, tensor<1x?x8x32xf16>) -> tensor<1x?x8x96xf16>
  // CHECK: kopt.slice %{{.+}} {axis = 3 : i64, size = 32 : i64, start = 32 : i64} : (tensor<1x?x8x64xf16>) -> tensor<1x?x8x32xf16>
  %3 = kopt.slice %0 {axis = 3 : i64, start = 32 : i64, size = 32 : i64} : (tensor<1x?x8x64xf16>) -> tensor<1x?x8x32xf16>
  return %1, %2, %3 : tensor<1x8x?x64xf16>, tensor<1x?x8x96xf16>, tensor<1x?x8x32xf16>
}

// CHECK-LABEL: func.func @concat_dynamic_axis
func.func @concat_dynamic_axis(%a: tensor<?x4xf32>, %b: tensor<3x4xf32>) -> tensor<?x4xf32> {
  // CHECK: kopt.concat {{.+}} -> tensor<?x4xf32>
  %0 = kopt.concat %a, %b {axis = 0 : i64} : (tensor<?x4xf32>, tensor<3x4xf32>) -> tensor<?x4xf32>
  return %0 : tensor<?x4xf32>
}

// CHECK-LABEL: func.func @rope
func.func @rope(%q: tensor<1x?x8x64xf16>, %pos: tensor<1x?xi32>) -> tensor<1x?x8x64xf16> {
  // CHECK: kopt.rope %{{.+}}, %{{.+}} : (tensor<1x?x8x64xf16>, tensor<1x?xi32>) -> tensor<1x?x8x64xf16>
  %0 = kopt.rope %q, %pos : (tensor<1x?x8x64xf16>, tensor<1x?xi32>) -> tensor<1x?x8x64xf16>
  // CHECK: kopt.rope %{{.+}}, %{{.+}} {rotary_dim = 32 : i64, theta = 5.000000e+05 : f32}
  %1 = kopt.rope %0, %pos {theta = 500000.0 : f32, rotary_dim = 32 : i64} : (tensor<1x?x8x64xf16>, tensor<1x?xi32>) -> tensor<1x?x8x64xf16>
  return %1 : tensor<1x?x8x64xf16>
}

// CHECK-LABEL: func.func @attention
// CHECK-SAME: (%[[Q:.+]]: tensor<1x?x8x64xf16>, %[[K:.+]]: tensor<1x?x2x64xf16>, %[[V:.+]]: tensor<1x?x2x64xf16>, %[[L:.+]]: tensor<1xi32>)
func.func @attention(%q: tensor<1x?x8x64xf16>, %k: tensor<1x?x2x64xf16>, %v: tensor<1x?x2x64xf16>, %len: tensor<1xi32>) -> (tensor<1x?x8x64xf16>, tensor<1x?x8x64xf16>) {
  // CHECK: kopt.attention %[[Q]], %[[K]], %[[V]] {causal = true} : (tensor<1x?x8x64xf16>, tensor<1x?x2x64xf16>, tensor<1x?x2x64xf16>) -> tensor<1x?x8x64xf16>
  %0 = kopt.attention %q, %k, %v {causal = true} : (tensor<1x?x8x64xf16>, tensor<1x?x2x64xf16>, tensor<1x?x2x64xf16>) -> tensor<1x?x8x64xf16>
  // CHECK: kopt.attention %[[Q]], %[[K]], %[[V]], %[[L]] {causal = true, scale = 1.250000e-01 : f32, window = 1024 : i64} : (tensor<1x?x8x64xf16>, tensor<1x?x2x64xf16>, tensor<1x?x2x64xf16>, tensor<1xi32>) -> tensor<1x?x8x64xf16>
  %1 = kopt.attention %q, %k, %v, %len {causal = true, window = 1024 : i64, scale = 0.125 : f32} : (tensor<1x?x8x64xf16>, tensor<1x?x2x64xf16>, tensor<1x?x2x64xf16>, tensor<1xi32>) -> tensor<1x?x8x64xf16>
  return %0, %1 : tensor<1x?x8x64xf16>, tensor<1x?x8x64xf16>
}

// CHECK-LABEL: func.func @kv_cache
func.func @kv_cache(%cache: tensor<2x128x2x64xbf16>, %new: tensor<2x?x2x64xbf16>, %off: tensor<2xi32>) -> tensor<2x128x2x64xbf16> {
  // CHECK: kopt.cache_update %{{.+}}, %{{.+}}, %{{.+}} : (tensor<2x128x2x64xbf16>, tensor<2x?x2x64xbf16>, tensor<2xi32>) -> tensor<2x128x2x64xbf16>
  %0 = kopt.cache_update %cache, %new, %off : (tensor<2x128x2x64xbf16>, tensor<2x?x2x64xbf16>, tensor<2xi32>) -> tensor<2x128x2x64xbf16>
  return %0 : tensor<2x128x2x64xbf16>
}

// CHECK-LABEL: func.func @linear_attention
func.func @linear_attention(%q: tensor<1x?x2x16xf16>, %s0: tensor<1x2x16x16xf32>) -> (tensor<1x?x2x16xf16>, tensor<1x2x16x16xf32>, tensor<1x?x2x16xf16>, tensor<1x2x16x16xf16>) {
  // CHECK: kopt.linear_attention %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}} {decay = array<f32: {{[^>]+}}>} : (tensor<1x?x2x16xf16>, tensor<1x?x2x16xf16>, tensor<1x?x2x16xf16>, tensor<1x2x16x16xf32>) -> (tensor<1x?x2x16xf16>, tensor<1x2x16x16xf32>)
  %o, %s = kopt.linear_attention %q, %q, %q, %s0 {decay = array<f32: 0.9, 0.99>} : (tensor<1x?x2x16xf16>, tensor<1x?x2x16xf16>, tensor<1x?x2x16xf16>, tensor<1x2x16x16xf32>) -> (tensor<1x?x2x16xf16>, tensor<1x2x16x16xf32>)
  // Without a state, it starts from zeros.
  // CHECK: kopt.linear_attention %{{.+}}, %{{.+}}, %{{.+}} : (tensor<1x?x2x16xf16>, tensor<1x?x2x16xf16>, tensor<1x?x2x16xf16>) -> (tensor<1x?x2x16xf16>, tensor<1x2x16x16xf16>)
  %o2, %s2 = kopt.linear_attention %q, %q, %q : (tensor<1x?x2x16xf16>, tensor<1x?x2x16xf16>, tensor<1x?x2x16xf16>) -> (tensor<1x?x2x16xf16>, tensor<1x2x16x16xf16>)
  return %o, %s, %o2, %s2 : tensor<1x?x2x16xf16>, tensor<1x2x16x16xf32>, tensor<1x?x2x16xf16>, tensor<1x2x16x16xf16>
}

// CHECK-LABEL: func.func @moe
func.func @moe(%x: tensor<?x64xf16>, %r: tensor<8x64xf16>, %wg: tensor<8x128x64xf16>, %wu: tensor<8x128x64xf16>, %wd: tensor<8x64x128xf16>) -> tensor<?x64xf16> {
  // CHECK: kopt.moe %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}} {normalize_topk = true, top_k = 2 : i64} : (tensor<?x64xf16>, tensor<8x64xf16>, tensor<8x128x64xf16>, tensor<8x128x64xf16>, tensor<8x64x128xf16>) -> tensor<?x64xf16>
  %0 = kopt.moe %x, %r, %wg, %wu, %wd {top_k = 2 : i64, normalize_topk = true} : (tensor<?x64xf16>, tensor<8x64xf16>, tensor<8x128x64xf16>, tensor<8x128x64xf16>, tensor<8x64x128xf16>) -> tensor<?x64xf16>
  return %0 : tensor<?x64xf16>
}

// Ops whose operands and result share one type also parse the short form;
// they print the functional form.
// CHECK-LABEL: func.func @short_form
func.func @short_form(%x: tensor<?x8xf16>) -> tensor<?x8xf16> {
  // CHECK: kopt.silu %{{.+}} : (tensor<?x8xf16>) -> tensor<?x8xf16>
  %0 = kopt.silu %x : tensor<?x8xf16>
  // CHECK: kopt.add %{{.+}}, %{{.+}} : (tensor<?x8xf16>, tensor<?x8xf16>) -> tensor<?x8xf16>
  %1 = kopt.add %0, %x : tensor<?x8xf16>
  // CHECK: kopt.gelu %{{.+}} {approximate = "tanh"} : (tensor<?x8xf16>) -> tensor<?x8xf16>
  %2 = kopt.gelu %1 {approximate = "tanh"} : tensor<?x8xf16>
  // CHECK: kopt.clamp %{{.+}} {min = -1.000000e+00 : f32} : (tensor<?x8xf16>) -> tensor<?x8xf16>
  %3 = kopt.clamp %2 {min = -1.0 : f32} : tensor<?x8xf16>
  // CHECK: kopt.softmax %{{.+}} : (tensor<?x8xf16>) -> tensor<?x8xf16>
  %4 = kopt.softmax %3 : tensor<?x8xf16>
  // CHECK: kopt.l2norm %{{.+}} : (tensor<?x8xf16>) -> tensor<?x8xf16>
  %5 = kopt.l2norm %4 : tensor<?x8xf16>
  return %5 : tensor<?x8xf16>
}

// CHECK-LABEL: func.func @fake_quant
func.func @fake_quant(%x: tensor<?x64xbf16>) -> tensor<?x64xbf16> {
  // CHECK: kopt.fake_quant %{{.+}} {dtype = f8E4M3FN} : (tensor<?x64xbf16>) -> tensor<?x64xbf16>
  %0 = kopt.fake_quant %x {dtype = f8E4M3FN} : tensor<?x64xbf16>
  // CHECK: kopt.fake_quant %{{.+}} {dtype = f8E4M3FN, granularity = "tensor"}
  %1 = kopt.fake_quant %0 {dtype = f8E4M3FN, granularity = "tensor"} : (tensor<?x64xbf16>) -> tensor<?x64xbf16>
  return %1 : tensor<?x64xbf16>
}
