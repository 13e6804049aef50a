// kopt-fuse recognises the Mixtral block written densely (router softmax,
// top-k, every expert's SwiGLU as batched matmuls, the chosen outputs
// gathered, weighted and summed) and rewrites it into kopt.moe; what it
// cannot prove equivalent stays as written, with a remark saying why.
// RUN: kopt-opt %s --kopt-fuse --split-input-file | FileCheck %s
// RUN: kopt-opt %s --kopt-fuse=moe=false --split-input-file | FileCheck %s --check-prefix=OFF
// RUN: kopt-opt %s --kopt-fuse='remarks=true attention=false epilogues=false elementwise=false norms=false' --split-input-file --verify-diagnostics -o /dev/null
// The model pipeline raises it before quantizing, so the experts compress.
// RUN: kopt-opt %s --split-input-file --pass-pipeline='builtin.module(kopt-model-pipeline{fuse=true quantize=int4})' | FileCheck %s --check-prefix=INT4

// Renormalised top-2 of 4 experts, tokens dynamic, products both ways round.
// CHECK-LABEL: func.func @normalized
// CHECK-SAME:  (%[[X:.*]]: tensor<?x64xbf16>, %[[R:.*]]: tensor<4x64xbf16>, %[[G:.*]]: tensor<4x32x64xbf16>, %[[U:.*]]: tensor<4x32x64xbf16>, %[[D:.*]]: tensor<4x64x32xbf16>)
// CHECK-NEXT:  %[[M:.*]] = kopt.moe %[[X]], %[[R]], %[[G]], %[[U]], %[[D]] {normalize_topk = true, top_k = 2 : i64}
// CHECK-NEXT:  return %[[M]]
// OFF-LABEL:   func.func @normalized
// OFF:         kopt.topk
// OFF-NOT:     kopt.moe
func.func @normalized(%x: tensor<?x64xbf16>, %r: tensor<4x64xbf16>, %wg: tensor<4x32x64xbf16>, %wu: tensor<4x32x64xbf16>, %wd: tensor<4x64x32xbf16>) -> tensor<?x64xbf16> {
  %logits = kopt.linear %x, %r : (tensor<?x64xbf16>, tensor<4x64xbf16>) -> tensor<?x4xbf16>
  %p = kopt.softmax %logits : tensor<?x4xbf16>
  %w, %i = kopt.topk %p {k = 2 : i64} : (tensor<?x4xbf16>) -> (tensor<?x2xbf16>, tensor<?x2xi32>)
  %s = kopt.reduce_sum %w {axes = array<i64: -1>, keepdim = true} : (tensor<?x2xbf16>) -> tensor<?x1xbf16>
  %wn = kopt.div %w, %s : (tensor<?x2xbf16>, tensor<?x1xbf16>) -> tensor<?x2xbf16>
  %g = kopt.matmul %x, %wg {transpose_b = true} : (tensor<?x64xbf16>, tensor<4x32x64xbf16>) -> tensor<4x?x32xbf16>
  %u = kopt.matmul %x, %wu {transpose_b = true} : (tensor<?x64xbf16>, tensor<4x32x64xbf16>) -> tensor<4x?x32xbf16>
  %a = kopt.silu %g : tensor<4x?x32xbf16>
  %h = kopt.mul %u, %a : tensor<4x?x32xbf16>
  %y = kopt.matmul %h, %wd {transpose_b = true} : (tensor<4x?x32xbf16>, tensor<4x64x32xbf16>) -> tensor<4x?x64xbf16>
  %yt = kopt.transpose %y {permutation = array<i64: 1, 0, 2>} : (tensor<4x?x64xbf16>) -> tensor<?x4x64xbf16>
  %sel = kopt.gather %yt, %i {axis = 1 : i64} : (tensor<?x4x64xbf16>, tensor<?x2xi32>) -> tensor<?x2x64xbf16>
  %wk = kopt.reshape %wn : (tensor<?x2xbf16>) -> tensor<?x2x1xbf16>
  %c = kopt.mul %wk, %sel : (tensor<?x2x1xbf16>, tensor<?x2x64xbf16>) -> tensor<?x2x64xbf16>
  %o = kopt.reduce_sum %c {axes = array<i64: 1>} : (tensor<?x2x64xbf16>) -> tensor<?x64xbf16>
  return %o : tensor<?x64xbf16>
}

// -----

// Top-1 without renormalising, the router a transposed matmul, the tokens
// reshaped to [1, T, Hd] for the expert matmuls, weights named.
// CHECK-LABEL: func.func @top1
// CHECK-DAG:   %[[R:.*]] = kopt.weight "router"
// CHECK-DAG:   %[[G:.*]] = kopt.weight "gate"
// CHECK-DAG:   %[[U:.*]] = kopt.weight "up"
// CHECK-DAG:   %[[D:.*]] = kopt.weight "down"
// CHECK:       %[[M:.*]] = kopt.moe %arg0, %[[R]], %[[G]], %[[U]], %[[D]] {top_k = 1 : i64}
// CHECK-NOT:   kopt.gather
// CHECK:       return %[[M]]
// INT4-LABEL:  func.func @top1
// INT4:        kopt.moe {{.*}} !kopt.quantized<3x8x16xi4, {{.*}}!kopt.quantized<3x8x16xi4, {{.*}}!kopt.quantized<3x16x8xi4
func.func @top1(%x: tensor<5x16xf32>) -> tensor<5x16xf32> {
  %r = kopt.weight "router" : tensor<3x16xf32>
  %wg = kopt.weight "gate" : tensor<3x8x16xf32>
  %wu = kopt.weight "up" : tensor<3x8x16xf32>
  %wd = kopt.weight "down" : tensor<3x16x8xf32>
  %logits = kopt.matmul %x, %r {transpose_b = true} : (tensor<5x16xf32>, tensor<3x16xf32>) -> tensor<5x3xf32>
  %p = kopt.softmax %logits {axis = 1 : i64} : tensor<5x3xf32>
  %w, %i = kopt.topk %p {k = 1 : i64} : (tensor<5x3xf32>) -> (tensor<5x1xf32>, tensor<5x1xi32>)
  %xb = kopt.reshape %x : (tensor<5x16xf32>) -> tensor<1x5x16xf32>
  %g = kopt.matmul %xb, %wg {transpose_b = true} : (tensor<1x5x16xf32>, tensor<3x8x16xf32>) -> tensor<3x5x8xf32>
  %u = kopt.matmul %xb, %wu {transpose_b = true} : (tensor<1x5x16xf32>, tensor<3x8x16xf32>) -> tensor<3x5x8xf32>
  %a = kopt.silu %g : tensor<3x5x8xf32>
  %h = kopt.mul %a, %u : tensor<3x5x8xf32>
  %y = kopt.matmul %h, %wd {transpose_b = true} : (tensor<3x5x8xf32>, tensor<3x16x8xf32>) -> tensor<3x5x16xf32>
  %yt = kopt.transpose %y {permutation = array<i64: 1, 0, 2>} : (tensor<3x5x16xf32>) -> tensor<5x3x16xf32>
  %sel = kopt.gather %yt, %i {axis = 1 : i64} : (tensor<5x3x16xf32>, tensor<5x1xi32>) -> tensor<5x1x16xf32>
  %wk = kopt.reshape %w : (tensor<5x1xf32>) -> tensor<5x1x1xf32>
  %c = kopt.mul %sel, %wk : (tensor<5x1x16xf32>, tensor<5x1x1xf32>) -> tensor<5x1x16xf32>
  %o = kopt.reduce_sum %c {axes = array<i64: -2>} : (tensor<5x1x16xf32>) -> tensor<5x16xf32>
  return %o : tensor<5x16xf32>
}

// -----

// The router logits are also returned (an auxiliary loss): left alone.
// CHECK-LABEL: func.func @logits_read
// CHECK:       kopt.gather
// CHECK-NOT:   kopt.moe
func.func @logits_read(%x: tensor<?x16xf32>, %r: tensor<3x16xf32>, %wg: tensor<3x8x16xf32>, %wu: tensor<3x8x16xf32>, %wd: tensor<3x16x8xf32>) -> (tensor<?x16xf32>, tensor<?x3xf32>) {
  %logits = kopt.linear %x, %r : (tensor<?x16xf32>, tensor<3x16xf32>) -> tensor<?x3xf32>
  %p = kopt.softmax %logits : tensor<?x3xf32>
  %w, %i = kopt.topk %p {k = 2 : i64} : (tensor<?x3xf32>) -> (tensor<?x2xf32>, tensor<?x2xi32>)
  %g = kopt.matmul %x, %wg {transpose_b = true} : (tensor<?x16xf32>, tensor<3x8x16xf32>) -> tensor<3x?x8xf32>
  %u = kopt.matmul %x, %wu {transpose_b = true} : (tensor<?x16xf32>, tensor<3x8x16xf32>) -> tensor<3x?x8xf32>
  %a = kopt.silu %g : tensor<3x?x8xf32>
  %h = kopt.mul %a, %u : tensor<3x?x8xf32>
  %y = kopt.matmul %h, %wd {transpose_b = true} : (tensor<3x?x8xf32>, tensor<3x16x8xf32>) -> tensor<3x?x16xf32>
  %yt = kopt.transpose %y {permutation = array<i64: 1, 0, 2>} : (tensor<3x?x16xf32>) -> tensor<?x3x16xf32>
  %sel = kopt.gather %yt, %i {axis = 1 : i64} : (tensor<?x3x16xf32>, tensor<?x2xi32>) -> tensor<?x2x16xf32>
  %wk = kopt.reshape %w : (tensor<?x2xf32>) -> tensor<?x2x1xf32>
  %c = kopt.mul %sel, %wk : (tensor<?x2x16xf32>, tensor<?x2x1xf32>) -> tensor<?x2x16xf32>
  // expected-remark @below {{not fused into kopt.moe: an intermediate (kopt.linear) has a reader outside the block}}
  %o = kopt.reduce_sum %c {axes = array<i64: 1>} : (tensor<?x2x16xf32>) -> tensor<?x16xf32>
  return %o, %logits : tensor<?x16xf32>, tensor<?x3xf32>
}

// -----

// GELU experts are not the SwiGLU that kopt.moe computes: left alone.
// CHECK-LABEL: func.func @gelu_experts
// CHECK-NOT:   kopt.moe
func.func @gelu_experts(%x: tensor<?x16xf32>, %r: tensor<3x16xf32>, %wg: tensor<3x8x16xf32>, %wu: tensor<3x8x16xf32>, %wd: tensor<3x16x8xf32>) -> tensor<?x16xf32> {
  %logits = kopt.linear %x, %r : (tensor<?x16xf32>, tensor<3x16xf32>) -> tensor<?x3xf32>
  %p = kopt.softmax %logits : tensor<?x3xf32>
  %w, %i = kopt.topk %p {k = 2 : i64} : (tensor<?x3xf32>) -> (tensor<?x2xf32>, tensor<?x2xi32>)
  %g = kopt.matmul %x, %wg {transpose_b = true} : (tensor<?x16xf32>, tensor<3x8x16xf32>) -> tensor<3x?x8xf32>
  %u = kopt.matmul %x, %wu {transpose_b = true} : (tensor<?x16xf32>, tensor<3x8x16xf32>) -> tensor<3x?x8xf32>
  %a = kopt.gelu %g : tensor<3x?x8xf32>
  %h = kopt.mul %a, %u : tensor<3x?x8xf32>
  %y = kopt.matmul %h, %wd {transpose_b = true} : (tensor<3x?x8xf32>, tensor<3x16x8xf32>) -> tensor<3x?x16xf32>
  %yt = kopt.transpose %y {permutation = array<i64: 1, 0, 2>} : (tensor<3x?x16xf32>) -> tensor<?x3x16xf32>
  %sel = kopt.gather %yt, %i {axis = 1 : i64} : (tensor<?x3x16xf32>, tensor<?x2xi32>) -> tensor<?x2x16xf32>
  %wk = kopt.reshape %w : (tensor<?x2xf32>) -> tensor<?x2x1xf32>
  %c = kopt.mul %sel, %wk : (tensor<?x2x16xf32>, tensor<?x2x1xf32>) -> tensor<?x2x16xf32>
  // expected-remark @below {{not fused into kopt.moe: the experts are not (silu(x Wg^T) * (x Wu^T)) Wd^T as transposed kopt.matmuls of the same tokens}}
  %o = kopt.reduce_sum %c {axes = array<i64: 1>} : (tensor<?x2x16xf32>) -> tensor<?x16xf32>
  return %o : tensor<?x16xf32>
}

// -----

// Weights divided by something other than their sum: left alone.
// CHECK-LABEL: func.func @other_normalization
// CHECK-NOT:   kopt.moe
func.func @other_normalization(%x: tensor<?x16xf32>, %r: tensor<3x16xf32>, %wg: tensor<3x8x16xf32>, %wu: tensor<3x8x16xf32>, %wd: tensor<3x16x8xf32>) -> tensor<?x16xf32> {
  %logits = kopt.linear %x, %r : (tensor<?x16xf32>, tensor<3x16xf32>) -> tensor<?x3xf32>
  %p = kopt.softmax %logits : tensor<?x3xf32>
  %w, %i = kopt.topk %p {k = 2 : i64} : (tensor<?x3xf32>) -> (tensor<?x2xf32>, tensor<?x2xi32>)
  %m = kopt.reduce_max %w {axes = array<i64: -1>, keepdim = true} : (tensor<?x2xf32>) -> tensor<?x1xf32>
  %wn = kopt.div %w, %m : (tensor<?x2xf32>, tensor<?x1xf32>) -> tensor<?x2xf32>
  %g = kopt.matmul %x, %wg {transpose_b = true} : (tensor<?x16xf32>, tensor<3x8x16xf32>) -> tensor<3x?x8xf32>
  %u = kopt.matmul %x, %wu {transpose_b = true} : (tensor<?x16xf32>, tensor<3x8x16xf32>) -> tensor<3x?x8xf32>
  %a = kopt.silu %g : tensor<3x?x8xf32>
  %h = kopt.mul %a, %u : tensor<3x?x8xf32>
  %y = kopt.matmul %h, %wd {transpose_b = true} : (tensor<3x?x8xf32>, tensor<3x16x8xf32>) -> tensor<3x?x16xf32>
  %yt = kopt.transpose %y {permutation = array<i64: 1, 0, 2>} : (tensor<3x?x16xf32>) -> tensor<?x3x16xf32>
  %sel = kopt.gather %yt, %i {axis = 1 : i64} : (tensor<?x3x16xf32>, tensor<?x2xi32>) -> tensor<?x2x16xf32>
  %wk = kopt.reshape %wn : (tensor<?x2xf32>) -> tensor<?x2x1xf32>
  %c = kopt.mul %sel, %wk : (tensor<?x2x16xf32>, tensor<?x2x1xf32>) -> tensor<?x2x16xf32>
  // expected-remark @below {{not fused into kopt.moe: the routing weights are divided by something other than their sum}}
  %o = kopt.reduce_sum %c {axes = array<i64: 1>} : (tensor<?x2x16xf32>) -> tensor<?x16xf32>
  return %o : tensor<?x16xf32>
}

// -----

// The experts gathered by indices that are not the router's top-k.
// CHECK-LABEL: func.func @fixed_experts
// CHECK-NOT:   kopt.moe
func.func @fixed_experts(%x: tensor<?x16xf32>, %i: tensor<?x2xi32>, %w: tensor<?x2xf32>, %wg: tensor<3x8x16xf32>, %wu: tensor<3x8x16xf32>, %wd: tensor<3x16x8xf32>) -> tensor<?x16xf32> {
  %g = kopt.matmul %x, %wg {transpose_b = true} : (tensor<?x16xf32>, tensor<3x8x16xf32>) -> tensor<3x?x8xf32>
  %u = kopt.matmul %x, %wu {transpose_b = true} : (tensor<?x16xf32>, tensor<3x8x16xf32>) -> tensor<3x?x8xf32>
  %a = kopt.silu %g : tensor<3x?x8xf32>
  %h = kopt.mul %a, %u : tensor<3x?x8xf32>
  %y = kopt.matmul %h, %wd {transpose_b = true} : (tensor<3x?x8xf32>, tensor<3x16x8xf32>) -> tensor<3x?x16xf32>
  %yt = kopt.transpose %y {permutation = array<i64: 1, 0, 2>} : (tensor<3x?x16xf32>) -> tensor<?x3x16xf32>
  %sel = kopt.gather %yt, %i {axis = 1 : i64} : (tensor<?x3x16xf32>, tensor<?x2xi32>) -> tensor<?x2x16xf32>
  %wk = kopt.reshape %w : (tensor<?x2xf32>) -> tensor<?x2x1xf32>
  %c = kopt.mul %sel, %wk : (tensor<?x2x16xf32>, tensor<?x2x1xf32>) -> tensor<?x2x16xf32>
  // expected-remark @below {{not fused into kopt.moe: the experts gathered are not the indices of a kopt.topk}}
  %o = kopt.reduce_sum %c {axes = array<i64: 1>} : (tensor<?x2x16xf32>) -> tensor<?x16xf32>
  return %o : tensor<?x16xf32>
}
