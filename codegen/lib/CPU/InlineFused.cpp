//===- InlineFused.cpp - kopt.fused groups back into their ops -------------===//

#include "kopt/Codegen/Passes.h"
#include "kopt/Dialect/Kopt/KoptOps.h"

#include "mlir/IR/PatternMatch.h"

using namespace mlir;

namespace kopt {
#define GEN_PASS_DEF_KOPTINLINEFUSEDPASS
#include "kopt/Codegen/Passes.h.inc"

namespace {

struct KoptInlineFusedPass
    : impl::KoptInlineFusedPassBase<KoptInlineFusedPass> {
  void runOnOperation() override {
    SmallVector<FusedOp> groups;
    getOperation().walk([&](FusedOp fused) { groups.push_back(fused); });
    IRRewriter rewriter(&getContext());
    for (FusedOp fused : groups) {
      YieldOp yield = fused.getYield();
      SmallVector<Value> results(yield.getValues());
      rewriter.eraseOp(yield);
      rewriter.inlineBlockBefore(&fused.getBody().front(), fused);
      rewriter.replaceOp(fused, results);
    }
  }
};

} // namespace
} // namespace kopt
