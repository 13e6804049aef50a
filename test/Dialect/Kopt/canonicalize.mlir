// Folders and DRR canonicalizations of kopt ops.
// RUN: kopt-opt %s --split-input-file --canonicalize | FileCheck %s

// Double negation cancels.
// CHECK-LABEL: func.func @neg_neg
// CHECK-SAME: (%[[X:.+]]: tensor<4xf32>)
// CHECK-NOT: kopt.neg
// CHECK: return %[[X]]
func.func @neg_neg(%x: tensor<4xf32>) -> tensor<4xf32> {
  %0 = kopt.neg %x : (tensor<4xf32>) -> tensor<4xf32>
  %1 = kopt.neg %0 : (tensor<4xf32>) -> tensor<4xf32>
  return %1 : tensor<4xf32>
}

// -----

// A single negation stays.
// CHECK-LABEL: func.func @neg_once
// CHECK: kopt.neg
func.func @neg_once(%x: tensor<4xf32>) -> tensor<4xf32> {
  %0 = kopt.neg %x : (tensor<4xf32>) -> tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

// Only the last reshape of a chain matters.
// CHECK-LABEL: func.func @reshape_reshape
// CHECK-SAME: (%[[X:.+]]: tensor<1x?x512xf16>)
// CHECK: %[[R:.+]] = kopt.reshape %[[X]] : (tensor<1x?x512xf16>) -> tensor<?x64xf16>
// CHECK-NOT: kopt.reshape
// CHECK: return %[[R]]
func.func @reshape_reshape(%x: tensor<1x?x512xf16>) -> tensor<?x64xf16> {
  %0 = kopt.reshape %x : (tensor<1x?x512xf16>) -> tensor<1x?x8x64xf16>
  %1 = kopt.reshape %0 : (tensor<1x?x8x64xf16>) -> tensor<?x64xf16>
  return %1 : tensor<?x64xf16>
}

// -----

// Identity reshape, cast and transpose fold away.
// CHECK-LABEL: func.func @identities
// CHECK-SAME: (%[[X:.+]]: tensor<2x3xf32>)
// CHECK-NOT: kopt.
// CHECK: return %[[X]], %[[X]], %[[X]]
func.func @identities(%x: tensor<2x3xf32>) -> (tensor<2x3xf32>, tensor<2x3xf32>, tensor<2x3xf32>) {
  %0 = kopt.reshape %x : (tensor<2x3xf32>) -> tensor<2x3xf32>
  %1 = kopt.cast %x : (tensor<2x3xf32>) -> tensor<2x3xf32>
  %2 = kopt.transpose %x {permutation = array<i64: 0, 1>} : (tensor<2x3xf32>) -> tensor<2x3xf32>
  return %0, %1, %2 : tensor<2x3xf32>, tensor<2x3xf32>, tensor<2x3xf32>
}

// -----

// Real casts and transposes stay.
// CHECK-LABEL: func.func @not_identities
// CHECK: kopt.cast
// CHECK: kopt.transpose
func.func @not_identities(%x: tensor<2x3xf32>) -> (tensor<2x3xf16>, tensor<3x2xf32>) {
  %0 = kopt.cast %x : (tensor<2x3xf32>) -> tensor<2x3xf16>
  %1 = kopt.transpose %x {permutation = array<i64: 1, 0>} : (tensor<2x3xf32>) -> tensor<3x2xf32>
  return %0, %1 : tensor<2x3xf16>, tensor<3x2xf32>
}

// -----

// Unused kopt ops have no side effects and are erased.
// CHECK-LABEL: func.func @dead
// CHECK-NOT: kopt.
func.func @dead(%x: tensor<2x3xf32>) {
  %w = kopt.weight "unused" : tensor<3x3xf32>
  %0 = kopt.linear %x, %w : (tensor<2x3xf32>, tensor<3x3xf32>) -> tensor<2x3xf32>
  return
}
