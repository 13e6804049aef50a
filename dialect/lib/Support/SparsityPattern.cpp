//===- SparsityPattern.cpp - Structured sparsity patterns -----------------===//

#include "kopt/Dialect/Kopt/SparsityPattern.h"

#include "llvm/ADT/SmallVector.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/FormatVariadic.h"

#include <cmath>

namespace kopt {

static llvm::Error patternError(llvm::StringRef text, const llvm::Twine &why) {
  return llvm::createStringError(
      llvm::inconvertibleErrorCode(),
      llvm::formatv("invalid sparsity pattern '{0}': {1}; expected 'N:M' "
                    "(e.g. 2:4) or 'block:RxC:DENSITY' (e.g. block:16x16:0.5)",
                    text, why.str()));
}

llvm::Expected<SparsityPattern> SparsityPattern::parse(llvm::StringRef text) {
  SparsityPattern pattern;
  llvm::StringRef rest = text;
  if (rest.consume_front("block:")) {
    pattern.kind = Kind::Block;
    auto [shape, density] = rest.split(':');
    auto [rows, cols] = shape.split('x');
    if (rows.getAsInteger(10, pattern.blockRows) ||
        cols.getAsInteger(10, pattern.blockCols) || pattern.blockRows <= 0 ||
        pattern.blockCols <= 0)
      return patternError(text, "block shape must be RxC with R, C > 0");
    if (density.getAsDouble(pattern.density) ||
        !std::isfinite(pattern.density) || pattern.density <= 0.0 ||
        pattern.density > 1.0)
      return patternError(text, "density must be in (0, 1]");
    return pattern;
  }
  auto [n, m] = text.split(':');
  if (n.getAsInteger(10, pattern.n) || m.getAsInteger(10, pattern.m))
    return patternError(text, "N and M must be integers");
  if (pattern.n <= 0 || pattern.m <= pattern.n)
    return patternError(text, "N:M needs 0 < N < M");
  return pattern;
}

std::string SparsityPattern::str() const {
  if (kind == Kind::NOfM)
    return llvm::formatv("{0}:{1}", n, m).str();
  return llvm::formatv("block:{0}x{1}:{2}", blockRows, blockCols,
                       llvm::format("%g", density))
      .str();
}

} // namespace kopt
