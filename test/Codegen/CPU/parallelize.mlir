// kopt-parallelize-cpu: a marked contraction runs its parallel loops on all
// cores only when they have enough iterations; otherwise sequentially.
// RUN: kopt-opt %s --pass-pipeline='builtin.module(kopt-prepare-cpu-abi, convert-kopt-to-linalg, one-shot-bufferize{bufferize-function-boundaries function-boundary-type-conversion=identity-layout-map}, func.func(kopt-parallelize-cpu))' | FileCheck %s

// CHECK-LABEL: func.func @linear
// The parallel trip count (32 * M) against the threshold.
// CHECK: arith.muli
// CHECK: %[[LARGE:.+]] = arith.cmpi sge, %{{.+}}, %{{.+}} : index
// CHECK: scf.if %[[LARGE]] {
// CHECK:   scf.parallel
// CHECK:     scf.for
// CHECK:       arith.mulf {{.+}} fastmath<reassoc,contract>
// CHECK: } else {
// CHECK:   scf.for
// CHECK:     scf.for
// CHECK:       scf.for
// CHECK-NOT: kopt.parallel
func.func @linear(%x: tensor<?x64xf32>, %w: tensor<32x64xf32>) -> tensor<?x32xf32> {
  %y = kopt.linear %x, %w : (tensor<?x64xf32>, tensor<32x64xf32>) -> tensor<?x32xf32>
  return %y : tensor<?x32xf32>
}
