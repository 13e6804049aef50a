//===- KoptToLinalgPass.cpp - The convert-kopt-to-linalg pass -------------===//

#include "kopt/Codegen/Conversion/KoptToLinalg.h"
#include "kopt/Codegen/Passes.h"
#include "kopt/Dialect/Kopt/KoptOps.h"

#include "mlir/Interfaces/FunctionInterfaces.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

using namespace mlir;

namespace kopt {
#define GEN_PASS_DEF_CONVERTKOPTTOLINALGPASS
#include "kopt/Codegen/Passes.h.inc"

void populateKoptToLinalgPatterns(RewritePatternSet &patterns) {
  populateElementwiseToLinalgPatterns(patterns);
  populateLinearAlgebraToLinalgPatterns(patterns);
  populateNormalizationToLinalgPatterns(patterns);
  populateReductionToLinalgPatterns(patterns);
  populateDataMovementToTensorPatterns(patterns);
  populateAttentionToLinalgPatterns(patterns);
  populateSelectionToLinalgPatterns(patterns);
  populateDequantizeToLinalgPatterns(patterns);
  populateFakeQuantToLinalgPatterns(patterns);
}

namespace {
struct ConvertKoptToLinalgPass
    : impl::ConvertKoptToLinalgPassBase<ConvertKoptToLinalgPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    populateKoptToLinalgPatterns(patterns);
    // Lowerings create no kopt ops, so one walk applies each pattern once
    // per op; folding is left to the canonicalizer that follows.
    GreedyRewriteConfig config;
    config.enableFolding(false);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns),
                                     config)))
      return signalPassFailure();
    bool failedAny = false;
    getOperation().walk([&](Operation *op) {
      if (!isa<KoptDialect>(op->getDialect()))
        return;
      std::string reason =
          isa<LinearOp, MoEOp, DecompressOp>(op)
              ? " (compressed weights have no CPU lowering yet)"
              : "";
      op->emitError("no CPU lowering for '")
          << op->getName() << "'" << reason;
      failedAny = true;
    });
    if (failedAny)
      return signalPassFailure();
    // The markers the lowering used have no meaning below this point.
    getOperation().walk([](FunctionOpInterface func) {
      for (unsigned i = 0; i < func.getNumArguments(); ++i)
        func.removeArgAttr(i, "kopt.status");
      func->removeAttr("kopt.weights");
    });
  }
};
} // namespace
} // namespace kopt
