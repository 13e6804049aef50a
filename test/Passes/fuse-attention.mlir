// kopt-fuse recognises attention written out as matmul, scale, mask,
// softmax, matmul over [B, H, S, D] tensors and rewrites it into
// kopt.attention on the [B, S, H, D] transposes; what it cannot prove
// equivalent stays as written, with a remark saying why.
// RUN: kopt-opt %s --kopt-fuse --split-input-file | FileCheck %s
// RUN: kopt-opt %s --kopt-fuse=attention=false --split-input-file | FileCheck %s --check-prefix=OFF
// RUN: kopt-opt %s --kopt-fuse=remarks=true --split-input-file --verify-diagnostics -o /dev/null

// Scaled by a constant, no mask; the sequence dims dynamic.
// CHECK-LABEL: func.func @scaled
// CHECK-SAME:  (%[[Q:.*]]: tensor<2x8x?x64xbf16>, %[[K:.*]]: tensor<2x8x?x64xbf16>, %[[V:.*]]: tensor<2x8x?x64xbf16>)
// CHECK-DAG:   %[[QT:.*]] = kopt.transpose %[[Q]] {permutation = array<i64: 0, 2, 1, 3>} : (tensor<2x8x?x64xbf16>) -> tensor<2x?x8x64xbf16>
// CHECK-DAG:   %[[KT:.*]] = kopt.transpose %[[K]]
// CHECK-DAG:   %[[VT:.*]] = kopt.transpose %[[V]]
// CHECK:       %[[A:.*]] = kopt.attention %[[QT]], %[[KT]], %[[VT]] {scale = 1.250000e-01 : f32}
// CHECK:       %[[O:.*]] = kopt.transpose %[[A]] {permutation = array<i64: 0, 2, 1, 3>} : (tensor<2x?x8x64xbf16>) -> tensor<2x8x?x64xbf16>
// CHECK:       return %[[O]]
// CHECK-NOT:   kopt.softmax
// OFF-LABEL:   func.func @scaled
// OFF:         kopt.softmax
// OFF-NOT:     kopt.attention
func.func @scaled(%q: tensor<2x8x?x64xbf16>, %k: tensor<2x8x?x64xbf16>, %v: tensor<2x8x?x64xbf16>) -> tensor<2x8x?x64xbf16> {
  %c = arith.constant dense<1.250000e-01> : tensor<bf16>
  %s = kopt.matmul %q, %k {transpose_b = true} : (tensor<2x8x?x64xbf16>, tensor<2x8x?x64xbf16>) -> tensor<2x8x?x?xbf16>
  %t = kopt.mul %s, %c : (tensor<2x8x?x?xbf16>, tensor<bf16>) -> tensor<2x8x?x?xbf16>
  %p = kopt.softmax %t {axis = -1 : i64} : tensor<2x8x?x?xbf16>
  %o = kopt.matmul %p, %v : (tensor<2x8x?x?xbf16>, tensor<2x8x?x64xbf16>) -> tensor<2x8x?x64xbf16>
  return %o : tensor<2x8x?x64xbf16>
}

// -----

// Divided by sqrt(D), plus a constant causal mask (-inf above the
// diagonal, keys offset by Skv - Sq = 1).
// CHECK-LABEL: func.func @causal
// CHECK:       kopt.attention {{.*}} {causal = true, scale = 5.000000e-01 : f32}
// CHECK-NOT:   kopt.softmax
func.func @causal(%q: tensor<1x2x2x4xf32>, %k: tensor<1x2x3x4xf32>, %v: tensor<1x2x3x4xf32>) -> tensor<1x2x2x4xf32> {
  %c = arith.constant dense<2.0> : tensor<f32>
  %m = arith.constant dense<[[0.0, 0.0, 0xFF800000], [0.0, 0.0, 0.0]]> : tensor<2x3xf32>
  %s = kopt.matmul %q, %k {transpose_b = true} : (tensor<1x2x2x4xf32>, tensor<1x2x3x4xf32>) -> tensor<1x2x2x3xf32>
  %t = kopt.div %s, %c : (tensor<1x2x2x3xf32>, tensor<f32>) -> tensor<1x2x2x3xf32>
  %a = kopt.add %t, %m : (tensor<1x2x2x3xf32>, tensor<2x3xf32>) -> tensor<1x2x2x3xf32>
  %p = kopt.softmax %a : tensor<1x2x2x3xf32>
  %o = kopt.matmul %p, %v : (tensor<1x2x2x3xf32>, tensor<1x2x3x4xf32>) -> tensor<1x2x2x4xf32>
  return %o : tensor<1x2x2x4xf32>
}

// -----

// A mask that is not causal stays as written.
// CHECK-LABEL: func.func @other_mask
// CHECK:       kopt.softmax
// CHECK-NOT:   kopt.attention
func.func @other_mask(%q: tensor<1x2x2x4xf32>, %k: tensor<1x2x2x4xf32>, %v: tensor<1x2x2x4xf32>) -> tensor<1x2x2x4xf32> {
  %m = arith.constant dense<[[0xFF800000, 0.0], [0.0, 0.0]]> : tensor<2x2xf32>
  %s = kopt.matmul %q, %k {transpose_b = true} : (tensor<1x2x2x4xf32>, tensor<1x2x2x4xf32>) -> tensor<1x2x2x2xf32>
  %a = kopt.add %s, %m : (tensor<1x2x2x2xf32>, tensor<2x2xf32>) -> tensor<1x2x2x2xf32>
  %p = kopt.softmax %a : tensor<1x2x2x2xf32>
  // expected-remark @below {{not fused into kopt.attention: the mask is not a constant causal (or all-zero) mask}}
  %o = kopt.matmul %p, %v : (tensor<1x2x2x2xf32>, tensor<1x2x2x4xf32>) -> tensor<1x2x2x4xf32>
  return %o : tensor<1x2x2x4xf32>
}

// -----

// A scale from a tensor, probabilities read twice, a softmax over the
// queries: each left alone.
// CHECK-LABEL: func.func @declined
// CHECK-NOT:   kopt.attention
func.func @declined(%q: tensor<1x2x2x4xf32>, %k: tensor<1x2x2x4xf32>, %v: tensor<1x2x2x4xf32>, %c: tensor<f32>) -> (tensor<1x2x2x4xf32>, tensor<1x2x2x4xf32>, tensor<1x2x2x2xf32>) {
  %s = kopt.matmul %q, %k {transpose_b = true} : (tensor<1x2x2x4xf32>, tensor<1x2x2x4xf32>) -> tensor<1x2x2x2xf32>
  %t = kopt.mul %s, %c : (tensor<1x2x2x2xf32>, tensor<f32>) -> tensor<1x2x2x2xf32>
  %p = kopt.softmax %t : tensor<1x2x2x2xf32>
  // expected-remark @below {{not fused into kopt.attention: the scores are scaled by a tensor, not a constant scalar}}
  %o = kopt.matmul %p, %v : (tensor<1x2x2x2xf32>, tensor<1x2x2x4xf32>) -> tensor<1x2x2x4xf32>
  %s2 = kopt.matmul %q, %k {transpose_b = true} : (tensor<1x2x2x4xf32>, tensor<1x2x2x4xf32>) -> tensor<1x2x2x2xf32>
  %p2 = kopt.softmax %s2 : tensor<1x2x2x2xf32>
  // expected-remark @below {{not fused into kopt.attention: the probabilities have another reader}}
  %o2 = kopt.matmul %p2, %v : (tensor<1x2x2x2xf32>, tensor<1x2x2x4xf32>) -> tensor<1x2x2x4xf32>
  %s3 = kopt.matmul %q, %k {transpose_b = true} : (tensor<1x2x2x4xf32>, tensor<1x2x2x4xf32>) -> tensor<1x2x2x2xf32>
  %p3 = kopt.softmax %s3 {axis = 2 : i64} : tensor<1x2x2x2xf32>
  // expected-remark @below {{not fused into kopt.attention: the softmax is not over the keys (last axis)}}
  %o3 = kopt.matmul %p3, %v : (tensor<1x2x2x2xf32>, tensor<1x2x2x4xf32>) -> tensor<1x2x2x4xf32>
  return %o, %o2, %p2 : tensor<1x2x2x4xf32>, tensor<1x2x2x4xf32>, tensor<1x2x2x2xf32>
}
