// kopt-linear-microkernel: the f32 linear contraction becomes 4 x 4 blocks
// of vector<16xf32> accumulators over K, a masked step for the K tail, and
// one reduction per output; threads only for large products.
// RUN: kopt-opt %s --split-input-file --pass-pipeline='builtin.module(kopt-prepare-cpu-abi, convert-kopt-to-linalg, one-shot-bufferize{bufferize-function-boundaries function-boundary-type-conversion=identity-layout-map}, func.func(kopt-linear-microkernel))' | FileCheck %s

// CHECK-LABEL: func.func @linear
// CHECK: scf.if
// CHECK: scf.parallel
// CHECK: scf.for
// The main K loop reads whole vectors.
// CHECK: scf.for
// CHECK-COUNT-8: vector.transfer_read {{.+}} {in_bounds = [true]} : memref<{{.+}}xf32>, vector<16xf32>
// CHECK-COUNT-16: vector.fma
// The tail reads are masked by bounds.
// CHECK: scf.for
// CHECK-COUNT-8: vector.transfer_read {{.+}} : memref<{{.+}}xf32>, vector<16xf32>
// CHECK-COUNT-16: vector.fma
// CHECK: vector.reduction <add>
// CHECK: } else {
// CHECK-NOT: linalg.generic {{.+}}"reduction"]
func.func @linear(%x: tensor<?x37xf32>, %w: tensor<29x37xf32>) -> tensor<?x29xf32> {
  %y = kopt.linear %x, %w : (tensor<?x37xf32>, tensor<29x37xf32>) -> tensor<?x29xf32>
  return %y : tensor<?x29xf32>
}

// -----

// f16 operands keep the generic contraction (the kernel is f32-only).
// CHECK-LABEL: func.func @linear_f16
// CHECK-NOT: vector.fma
// CHECK: linalg.generic
func.func @linear_f16(%x: tensor<?x32xf16>, %w: tensor<8x32xf16>) -> tensor<?x8xf16> {
  %y = kopt.linear %x, %w : (tensor<?x32xf16>, tensor<8x32xf16>) -> tensor<?x8xf16>
  return %y : tensor<?x8xf16>
}
