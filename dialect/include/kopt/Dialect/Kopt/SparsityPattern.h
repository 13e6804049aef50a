//===- SparsityPattern.h - Structured sparsity patterns ---------*- C++ -*-===//
//
// The sparsity patterns of `!kopt.sparse` types and of `--sparsify`, written
// "N:M" (at most N non-zeros in every M consecutive elements along K) or
// "block:RxC:DENSITY" (R x C blocks, a DENSITY fraction kept).
//
//===----------------------------------------------------------------------===//

#ifndef KOPT_DIALECT_KOPT_SPARSITYPATTERN_H
#define KOPT_DIALECT_KOPT_SPARSITYPATTERN_H

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <string>

namespace kopt {

struct SparsityPattern {
  enum class Kind { NOfM, Block };
  Kind kind = Kind::NOfM;
  /// N:M — `n` non-zeros per `m` elements (0 < n < m).
  int64_t n = 0, m = 0;
  /// block:RxC:DENSITY — block shape and kept fraction in (0, 1].
  int64_t blockRows = 0, blockCols = 0;
  double density = 0.0;

  /// Parses "N:M" or "block:RxC:DENSITY"; the error says what is wrong.
  static llvm::Expected<SparsityPattern> parse(llvm::StringRef text);

  /// The canonical text form, which parse() accepts.
  std::string str() const;

  /// The K (column) granularity the pattern constrains: M, or C for blocks.
  int64_t columnGranularity() const {
    return kind == Kind::NOfM ? m : blockCols;
  }
  /// The N (row) granularity: 1 for N:M, R for blocks.
  int64_t rowGranularity() const { return kind == Kind::NOfM ? 1 : blockRows; }
};

} // namespace kopt

#endif // KOPT_DIALECT_KOPT_SPARSITYPATTERN_H
