//===- Fuse.cpp - The --fuse stage ----------------------------------------===//
//
// Runs the fusion rules (FusionRules.h) over every function: attention and
// MoE first (their scales, masks and products are elementwise ops), then
// linear epilogues, so that elementwise trees form from what they leave.
//
//===----------------------------------------------------------------------===//

#include "FusionRules.h"
#include "kopt/Passes/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"

namespace kopt {
#define GEN_PASS_DEF_KOPTFUSEPASS
#include "kopt/Passes/Passes.h.inc"

FusedOp wrapInFused(llvm::ArrayRef<mlir::Operation *> ops, mlir::Value result,
                    llvm::StringRef kind, mlir::RewriterBase &rewriter) {
  mlir::Operation *last = ops.back();
  rewriter.setInsertionPoint(last);
  auto fused = FusedOp::create(rewriter, last->getLoc(),
                               mlir::TypeRange{result.getType()},
                               rewriter.getStringAttr(kind));
  mlir::Block *body = rewriter.createBlock(&fused.getBody());
  for (mlir::Operation *op : ops)
    op->moveBefore(body, body->end());
  rewriter.setInsertionPointToEnd(body);
  YieldOp::create(rewriter, last->getLoc(), mlir::ValueRange{result});
  result.replaceUsesWithIf(fused.getResult(0), [&](mlir::OpOperand &use) {
    return use.getOwner()->getParentOp() != fused.getOperation();
  });
  return fused;
}

namespace {
struct KoptFusePass : impl::KoptFusePassBase<KoptFusePass> {
  using Base::Base;

  void runOnOperation() override {
    mlir::IRRewriter rewriter(&getContext());
    getOperation().walk([&](mlir::func::FuncOp func) {
      if (func.isExternal())
        return;
      mlir::Block &body = func.getBody().front();
      if (attention)
        fuseAttention(body, rewriter, remarks);
      if (moe)
        fuseMoE(body, rewriter, remarks);
      if (epilogues)
        fuseLinearEpilogues(body, rewriter, remarks);
      if (elementwise)
        fuseElementwiseTrees(body, rewriter, remarks);
      if (norms)
        fuseNormPrologues(body, rewriter, remarks);
    });
  }
};
} // namespace
} // namespace kopt
