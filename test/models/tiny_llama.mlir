// The bundled decoder verifies, has the Llama block structure in both
// functions, and is what models/gen_models.py generates.
// RUN: kopt-opt %models/tiny_llama.mlir | FileCheck %s
// RUN: kopt %models/tiny_llama.mlir --fuse --quantize=int4 -o /dev/null
// RUN: python3 %models/gen_models.py llama | diff - %models/tiny_llama.mlir

// CHECK-LABEL: module @tiny_llama
// CHECK-LABEL: func.func @forward(
// CHECK-SAME: tensor<1x?xi32>, %{{.+}}: tensor<1x?xi32>) -> tensor<1x?x512xf32>
// CHECK: kopt.embedding
// CHECK-COUNT-2: kopt.attention %{{.+}} {causal = true} : (tensor<1x?x8x32xf32>, tensor<1x?x2x32xf32>, tensor<1x?x2x32xf32>) -> tensor<1x?x8x32xf32>
// CHECK: kopt.rmsnorm
// CHECK: kopt.linear %{{.+}} : (tensor<1x?x256xf32>, tensor<512x256xf32>) -> tensor<1x?x512xf32>
// CHECK-LABEL: func.func @forward_cached(
// CHECK: kopt.cache_update
// CHECK: kopt.attention %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}} {causal = true} : (tensor<1x?x8x32xf32>, tensor<1x256x2x32xf32>, tensor<1x256x2x32xf32>, tensor<1xi32>)
