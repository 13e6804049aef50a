//===- Sparsify.cpp - The --sparsify stage --------------------------------===//
//
// Structured pruning of kopt.linear weights into !kopt.sparse. For now the
// pass validates its pattern; the rewrite lands with the sparsity work.
//
//===----------------------------------------------------------------------===//

#include "kopt/Dialect/Kopt/SparsityPattern.h"
#include "kopt/Passes/Passes.h"

namespace kopt {
#define GEN_PASS_DEF_KOPTSPARSIFYPASS
#include "kopt/Passes/Passes.h.inc"

namespace {
struct KoptSparsifyPass : impl::KoptSparsifyPassBase<KoptSparsifyPass> {
  using Base::Base;

  mlir::LogicalResult initialize(mlir::MLIRContext *context) override {
    llvm::Expected<SparsityPattern> parsed = SparsityPattern::parse(pattern);
    if (!parsed)
      return mlir::emitError(mlir::UnknownLoc::get(context))
             << "kopt-sparsify: " << llvm::toString(parsed.takeError());
    return mlir::success();
  }

  void runOnOperation() override {}
};
} // namespace
} // namespace kopt
