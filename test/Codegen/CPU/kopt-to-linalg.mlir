// convert-kopt-to-linalg: the shape of each lowering (contractions with f32
// accumulators, row statistics then an elementwise pass, clamped lookups
// reporting through the status buffer).
// RUN: kopt-opt %s --split-input-file --kopt-prepare-cpu-abi --convert-kopt-to-linalg --mlir-print-local-scope | FileCheck %s

// CHECK-LABEL: func.func @linear_f16
// CHECK-SAME: (%[[X:.+]]: tensor<?x64xf16>, %[[W:.+]]: tensor<32x64xf16>, %[[OUT:.+]]: memref<?x32xf16>, %[[STATUS:.+]]: memref<4xi64>)
// CHECK: %[[ACC:.+]] = linalg.fill ins(%{{.+}} : f32) outs(%{{.+}} : tensor<?x32xf32>)
// CHECK: linalg.generic {{.+}} iterator_types = ["parallel", "parallel", "reduction"]{{.*}} ins(%{{.+}}, %[[W]] : tensor<?x64xf16>, tensor<32x64xf16>) outs(%[[ACC]] : tensor<?x32xf32>)
// CHECK: arith.extf {{.+}} : f16 to f32
// CHECK: arith.mulf
// CHECK: arith.addf
// CHECK: arith.truncf {{.+}} : f32 to f16
// CHECK: bufferization.materialize_in_destination {{.+}} in restrict writable %[[OUT]]
// CHECK: return{{$}}
func.func @linear_f16(%x: tensor<?x64xf16>) -> tensor<?x32xf16> {
  %w = kopt.weight "w" : tensor<32x64xf16>
  %y = kopt.linear %x, %w : (tensor<?x64xf16>, tensor<32x64xf16>) -> tensor<?x32xf16>
  return %y : tensor<?x32xf16>
}

// -----

// CHECK-LABEL: func.func @softmax
// CHECK-COUNT-3: linalg.generic
// CHECK-NOT: kopt.softmax
func.func @softmax(%x: tensor<2x?xf32>) -> tensor<2x?xf32> {
  %y = kopt.softmax %x : (tensor<2x?xf32>) -> tensor<2x?xf32>
  return %y : tensor<2x?xf32>
}

// -----

// Embedding ids are range-checked (reported through the status buffer) and
// clamped before the table is read.
// CHECK-LABEL: func.func @embedding
// CHECK: linalg.generic {{.+}} iterator_types = ["reduction", "reduction"]
// CHECK: scf.if
// CHECK: memref.store {{.+}} : memref<4xi64>
// CHECK: linalg.generic
// CHECK: arith.maxsi
// CHECK: arith.minsi
// CHECK: tensor.extract %{{.+}}[%{{.+}}, %{{.+}}] : tensor<100x8xf32>
func.func @embedding(%ids: tensor<1x?xi32>) -> tensor<1x?x8xf32> {
  %t = kopt.weight "t" : tensor<100x8xf32>
  %x = kopt.embedding %t, %ids : (tensor<100x8xf32>, tensor<1x?xi32>) -> tensor<1x?x8xf32>
  return %x : tensor<1x?x8xf32>
}

// -----

// A reshape with a dynamic dim computes it from the element count.
// CHECK-LABEL: func.func @reshape
// CHECK: %[[D:.+]] = tensor.dim %{{.+}}, %{{.+}} : tensor<1x?x64xf32>
// CHECK: %[[T:.+]] = arith.muli %[[D]], %{{.+}} : index
// CHECK: %[[N:.+]] = arith.floordivsi %[[T]], %{{.+}} : index
// CHECK: %[[S:.+]] = tensor.from_elements %[[N]], %{{.+}}, %{{.+}} : tensor<3xindex>
// CHECK: tensor.reshape %{{.+}}(%[[S]])
func.func @reshape(%x: tensor<1x?x64xf32>) -> tensor<?x8x8xf32> {
  %y = kopt.reshape %x : (tensor<1x?x64xf32>) -> tensor<?x8x8xf32>
  return %y : tensor<?x8x8xf32>
}

// -----

// One head per scf.forall iteration; GQA: kv head = query head / 4.
// CHECK-LABEL: func.func @attention
// CHECK: scf.forall (%[[B:.+]], %[[H:.+]]) in (1, 8) shared_outs
// CHECK: %[[KV:.+]] = arith.divui %[[H]], %{{.+}} : index
// CHECK: tensor.extract_slice %{{.+}}[%[[B]], 0, %[[KV]], 0] [1, %{{.+}}, 1, 16]
// The online softmax walks the keys in blocks.
// CHECK: scf.for
// CHECK: tensor.parallel_insert_slice
// CHECK-NOT: kopt.attention
func.func @attention(%q: tensor<1x?x8x16xf32>, %k: tensor<1x?x2x16xf32>) -> tensor<1x?x8x16xf32> {
  %o = kopt.attention %q, %k, %k {causal = true} : (tensor<1x?x8x16xf32>, tensor<1x?x2x16xf32>, tensor<1x?x2x16xf32>) -> tensor<1x?x8x16xf32>
  return %o : tensor<1x?x8x16xf32>
}

