//===- ShapeUtils.h - Shape arithmetic for kopt ops -------------*- C++ -*-===//
//
// Small, MLIR-free helpers for the dimension rules of kopt ops: axis
// normalisation, NumPy broadcasting with dynamic dims, permutations, element
// counts. Dynamic dims are mlir::ShapedType::kDynamic.
//
//===----------------------------------------------------------------------===//

#ifndef KOPT_DIALECT_KOPT_SHAPEUTILS_H
#define KOPT_DIALECT_KOPT_SHAPEUTILS_H

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/SmallVector.h"

#include <cstdint>
#include <limits>
#include <optional>
#include <string>

namespace kopt {

/// The value MLIR uses for a dynamic dim (mlir::ShapedType::kDynamic).
inline constexpr int64_t kDynamicDim = std::numeric_limits<int64_t>::min();

inline bool isDynamicDim(int64_t dim) { return dim == kDynamicDim; }

/// Two dims agree if they are equal or either is dynamic.
inline bool dimsAgree(int64_t a, int64_t b) {
  return a == b || isDynamicDim(a) || isDynamicDim(b);
}

/// A dim as users write it: its size, or "?" when dynamic.
std::string formatDim(int64_t dim);

/// Maps `axis` in [-rank, rank) to [0, rank); nullopt when out of range.
std::optional<int64_t> normalizeAxis(int64_t axis, int64_t rank);

/// NumPy broadcast of two shapes (right-aligned). A dynamic dim against 1 or
/// another dynamic dim stays dynamic; against a static size N > 1 it becomes
/// N. Nullopt when two static sizes differ and neither is 1.
std::optional<llvm::SmallVector<int64_t>>
broadcastShapes(llvm::ArrayRef<int64_t> lhs, llvm::ArrayRef<int64_t> rhs);

/// Whether `perm` is a permutation of [0, perm.size()).
bool isPermutation(llvm::ArrayRef<int64_t> perm);

/// Product of the dims, or nullopt if any is dynamic (or it overflows int64).
std::optional<int64_t> staticElementCount(llvm::ArrayRef<int64_t> shape);

/// Number of dynamic dims in `shape`.
int64_t countDynamicDims(llvm::ArrayRef<int64_t> shape);

} // namespace kopt

#endif // KOPT_DIALECT_KOPT_SHAPEUTILS_H
