//===- ShapeUtils.cpp - Shape arithmetic for kopt ops ---------------------===//

#include "kopt/Dialect/Kopt/ShapeUtils.h"

#include "mlir/IR/BuiltinTypeInterfaces.h"

#include <algorithm>

static_assert(kopt::kDynamicDim == mlir::ShapedType::kDynamic,
              "kopt::kDynamicDim must match MLIR's dynamic dim marker");

namespace kopt {

std::string formatDim(int64_t dim) {
  return isDynamicDim(dim) ? "?" : std::to_string(dim);
}

std::optional<int64_t> normalizeAxis(int64_t axis, int64_t rank) {
  if (axis < -rank || axis >= rank)
    return std::nullopt;
  return axis < 0 ? axis + rank : axis;
}

std::optional<llvm::SmallVector<int64_t>>
broadcastShapes(llvm::ArrayRef<int64_t> lhs, llvm::ArrayRef<int64_t> rhs) {
  size_t rank = std::max(lhs.size(), rhs.size());
  llvm::SmallVector<int64_t> result(rank);
  for (size_t i = 0; i < rank; ++i) {
    // Right-aligned: missing leading dims act as 1.
    int64_t a = i < rank - lhs.size() ? 1 : lhs[i - (rank - lhs.size())];
    int64_t b = i < rank - rhs.size() ? 1 : rhs[i - (rank - rhs.size())];
    if (a == 1) {
      result[i] = b;
    } else if (b == 1) {
      result[i] = a;
    } else if (isDynamicDim(a)) {
      result[i] = b;
    } else if (isDynamicDim(b) || a == b) {
      result[i] = a;
    } else {
      return std::nullopt;
    }
  }
  return result;
}

bool isPermutation(llvm::ArrayRef<int64_t> perm) {
  llvm::SmallVector<bool> seen(perm.size(), false);
  for (int64_t p : perm) {
    if (p < 0 || p >= static_cast<int64_t>(perm.size()) || seen[p])
      return false;
    seen[p] = true;
  }
  return true;
}

std::optional<int64_t> staticElementCount(llvm::ArrayRef<int64_t> shape) {
  int64_t count = 1;
  for (int64_t dim : shape) {
    if (isDynamicDim(dim) || dim < 0)
      return std::nullopt;
    if (dim != 0 && count > std::numeric_limits<int64_t>::max() / dim)
      return std::nullopt;
    count *= dim;
  }
  return count;
}

int64_t countDynamicDims(llvm::ArrayRef<int64_t> shape) {
  return llvm::count_if(shape, isDynamicDim);
}

} // namespace kopt
