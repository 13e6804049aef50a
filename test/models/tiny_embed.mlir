// The bundled embedding model verifies, ends in masked mean pooling and L2
// normalisation, and is what models/gen_models.py generates.
// RUN: kopt-opt %models/tiny_embed.mlir | FileCheck %s
// RUN: python3 %models/gen_models.py embed | diff - %models/tiny_embed.mlir

// CHECK-LABEL: func.func @forward(
// CHECK-SAME: tensor<?x32xi32>
// CHECK-SAME: -> tensor<?x128xf32>
// CHECK-COUNT-2: kopt.attention
// CHECK: kopt.reduce_sum %{{.+}} {axes = array<i64: 1>} : (tensor<?x32x128xf32>) -> tensor<?x128xf32>
// CHECK: kopt.div
// CHECK: kopt.l2norm
