//===- ShapeExpr.h - Symbolic shape expressions of a plan -------*- C++ -*-===//
//
// The dims of a plan's tensors are integers or affine expressions over
// symbols s0, s1, ... written as MLIR prints an AffineExpr: integers,
// symbols, `+`, `-`, `*`, `floordiv`, `ceildiv`, `mod`, parentheses and
// unary minus ("s0 * 8", "(s0 * 512) floordiv 64", "s0 + s1"). A plan is
// untrusted, so parsing rejects anything else and evaluation checks every
// operation for int64 overflow, division by zero and unbound symbols.
//
// Semantics follow MLIR: `floordiv` rounds toward negative infinity,
// `ceildiv` toward positive infinity, and `mod` has the sign of its
// (positive) right-hand side, so `-7 mod 3` is 2.
//
//===----------------------------------------------------------------------===//

#ifndef KOPT_RUNTIME_SHAPEEXPR_H
#define KOPT_RUNTIME_SHAPEEXPR_H

#include "kopt/runtime/Status.h"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kopt::rt {

/// Values of the symbols s0, s1, ...: entry i is the value of s<i>, if bound.
using SymbolValues = std::vector<std::optional<int64_t>>;

/// A parsed, immutable shape expression.
class ShapeExpr {
public:
  /// Symbols are s0 .. s<kMaxSymbols - 1>.
  static constexpr unsigned kMaxSymbols = 1024;

  /// Parses `text`; errors say what was expected and where.
  static StatusOr<ShapeExpr> parse(std::string_view text);
  /// The constant expression `value`.
  static ShapeExpr constant(int64_t value);

  /// Evaluates with `symbols`; fails on an unbound symbol, overflow,
  /// division by zero or `mod` by a non-positive value.
  StatusOr<int64_t> evaluate(const SymbolValues &symbols) const;

  /// The value when the expression has no symbols (and evaluates).
  std::optional<int64_t> constantValue() const;
  /// The symbol index when the expression is a bare symbol such as "s2".
  std::optional<unsigned> bareSymbol() const;
  /// Every symbol the expression mentions, ascending and unique.
  std::vector<unsigned> symbols() const;

  /// The expression as written (trimmed); constants print as integers.
  const std::string &text() const { return text_; }
  /// `text()`, parenthesised unless it is a single integer or symbol, for
  /// use inside shapes such as "[1x(s0 * 2)]".
  std::string displayText() const;

  enum class Kind : uint8_t {
    Constant,
    Symbol,
    Negate,
    Add,
    Sub,
    Mul,
    FloorDiv,
    CeilDiv,
    Mod
  };
  /// One node of the expression tree; operands index earlier nodes.
  struct Node {
    Kind kind;
    int64_t value; // Constant: the value; Symbol: the symbol index.
    uint32_t lhs, rhs;
  };

private:
  ShapeExpr() = default;
  std::string text_;
  std::vector<Node> nodes_; // The root is the last node.
};

/// MLIR's integer helpers, on int64 with overflow reported as nullopt.
std::optional<int64_t> floorDivChecked(int64_t lhs, int64_t rhs);
std::optional<int64_t> ceilDivChecked(int64_t lhs, int64_t rhs);
std::optional<int64_t> modChecked(int64_t lhs, int64_t rhs);

} // namespace kopt::rt

#endif // KOPT_RUNTIME_SHAPEEXPR_H
