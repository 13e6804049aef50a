//===- SymbolicShapes.h - Dims of a function's values as affine exprs -*- C++ -*-===//
//
// The host plan's view of shapes: every dynamic dim of a function argument
// is a symbol, every other value's dims are affine expressions over those
// symbols (from ResultDims.h), and dims that ops require to be equal are
// unified. `resolve` rewrites an expression over the final, renumbered
// symbols, as the plan prints them.
//
//===----------------------------------------------------------------------===//

#ifndef KOPT_CODEGEN_SYMBOLICSHAPES_H
#define KOPT_CODEGEN_SYMBOLICSHAPES_H

#include "kopt/Codegen/ResultDims.h"

#include "mlir/IR/AffineExpr.h"
#include "mlir/IR/BuiltinTypes.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/EquivalenceClasses.h"
#include "llvm/Support/JSON.h"

#include <optional>

namespace kopt {

/// `expr` as plan text: an integer when constant, else MLIR's affine syntax.
inline llvm::json::Value affineJson(mlir::AffineExpr expr) {
  if (auto c = llvm::dyn_cast<mlir::AffineConstantExpr>(expr))
    return c.getValue();
  std::string text;
  llvm::raw_string_ostream os(text);
  expr.print(os);
  return text;
}

/// Symbolic dims of every value of one function.
class SymbolicShapes : public DimAlgebra<mlir::AffineExpr> {
public:
  explicit SymbolicShapes(mlir::MLIRContext *context) : context(context) {}

  mlir::AffineExpr constant(int64_t value) override {
    return mlir::getAffineConstantExpr(value, context);
  }
  mlir::AffineExpr operandDim(mlir::Value operand, int64_t index) override {
    auto it = dims.find(operand);
    if (it == dims.end() || index >= static_cast<int64_t>(it->second.size())) {
      failed = true;
      return constant(0);
    }
    return it->second[index];
  }
  mlir::AffineExpr add(mlir::AffineExpr lhs, mlir::AffineExpr rhs) override { return lhs + rhs; }
  mlir::AffineExpr mul(mlir::AffineExpr lhs, mlir::AffineExpr rhs) override { return lhs * rhs; }
  mlir::AffineExpr floorDiv(mlir::AffineExpr lhs, mlir::AffineExpr rhs) override {
    return lhs.floorDiv(rhs);
  }
  void requireEqual(mlir::AffineExpr lhs, mlir::AffineExpr rhs) override {
    auto ls = llvm::dyn_cast<mlir::AffineSymbolExpr>(lhs);
    auto rs = llvm::dyn_cast<mlir::AffineSymbolExpr>(rhs);
    if (ls && rs) {
      classes.unionSets(ls.getPosition(), rs.getPosition());
    } else if (ls && llvm::isa<mlir::AffineConstantExpr>(rhs)) {
      constants[ls.getPosition()] = llvm::cast<mlir::AffineConstantExpr>(rhs).getValue();
    } else if (rs && llvm::isa<mlir::AffineConstantExpr>(lhs)) {
      constants[rs.getPosition()] = llvm::cast<mlir::AffineConstantExpr>(lhs).getValue();
    }
    // Equalities between compound expressions are not recorded; the
    // compiled code then relies on the inputs being consistent.
  }

  /// Symbols for the dynamic dims of `value` (a function argument).
  void bindArgument(mlir::Value value) {
    auto type = llvm::cast<mlir::RankedTensorType>(value.getType());
    mlir::SmallVector<mlir::AffineExpr> exprs;
    for (int64_t size : type.getShape()) {
      if (mlir::ShapedType::isDynamic(size)) {
        classes.insert(symbolCount);
        exprs.push_back(mlir::getAffineSymbolExpr(symbolCount++, context));
      } else {
        exprs.push_back(constant(size));
      }
    }
    dims[value] = exprs;
  }

  /// Whether `lhs` and `rhs` are the same dim under the unifications so far
  /// (symbols replaced by their class leaders; constants they must equal).
  bool same(mlir::AffineExpr lhs, mlir::AffineExpr rhs) {
    mlir::SmallVector<mlir::AffineExpr> leaders;
    for (unsigned i = 0; i < symbolCount; ++i) {
      std::optional<int64_t> fixed;
      for (unsigned member : llvm::make_range(classes.findLeader(i),
                                              classes.member_end()))
        if (auto it = constants.find(member); it != constants.end())
          fixed = it->second;
      leaders.push_back(fixed ? constant(*fixed)
                              : mlir::getAffineSymbolExpr(
                                    classes.getLeaderValue(i), context));
    }
    auto canonical = [&](mlir::AffineExpr e) {
      return mlir::simplifyAffineExpr(e.replaceSymbols(leaders), 0,
                                      symbolCount);
    };
    return canonical(lhs) == canonical(rhs);
  }

  /// After all unifications: each symbol replaced by its class leader (or
  /// the constant it must equal), leaders renumbered in order of first use.
  mlir::AffineExpr resolve(mlir::AffineExpr expr) {
    mlir::SmallVector<mlir::AffineExpr> replacements;
    for (unsigned i = 0; i < symbolCount; ++i) {
      unsigned leader = classes.getLeaderValue(i);
      auto constantIt = constants.end();
      for (unsigned member : llvm::make_range(classes.findLeader(i),
                                              classes.member_end()))
        if ((constantIt = constants.find(member)) != constants.end())
          break;
      if (constantIt != constants.end()) {
        replacements.push_back(constant(constantIt->second));
        continue;
      }
      auto [it, inserted] = renumbered.try_emplace(leader, renumbered.size());
      replacements.push_back(mlir::getAffineSymbolExpr(it->second, context));
    }
    return mlir::simplifyAffineExpr(expr.replaceSymbols(replacements), 0,
                              symbolCount);
  }

  /// `expr` as the plan writes a dim: an integer, or text over s0, s1, ...
  llvm::json::Value exprJson(mlir::AffineExpr expr) {
    return affineJson(resolve(expr));
  }

  llvm::json::Array shapeJson(mlir::Value value) {
    llvm::json::Array shape;
    for (mlir::AffineExpr expr : dims[value])
      shape.push_back(exprJson(expr));
    return shape;
  }

  mlir::MLIRContext *context;
  llvm::DenseMap<mlir::Value, mlir::SmallVector<mlir::AffineExpr>> dims;
  llvm::EquivalenceClasses<unsigned> classes;
  llvm::DenseMap<unsigned, int64_t> constants;
  llvm::DenseMap<unsigned, unsigned> renumbered;
  unsigned symbolCount = 0;
  bool failed = false;
};

} // namespace kopt

#endif // KOPT_CODEGEN_SYMBOLICSHAPES_H
