//===- ParallelizeCpu.cpp - Heavy linalg ops to parallel loops ------------===//
//
// A marked linalg op becomes
//   scf.if (parallel trip count >= kMinParallelIterations)
//     scf.parallel ...   (convert-scf-to-openmp runs it on all cores)
//   else
//     scf.for ...        (a fork would cost more than the loop)
// so decode-sized calls stay on one thread.
//
//===----------------------------------------------------------------------===//

#include "kopt/Codegen/Passes.h"

#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/IR/PatternMatch.h"

using namespace mlir;

namespace kopt {
#define GEN_PASS_DEF_KOPTPARALLELIZECPUPASS
#include "kopt/Codegen/Passes.h.inc"

namespace {

/// Below this many iterations of the parallel loops, one thread is faster
/// than waking the others (measured on tiny_llama decode steps).
constexpr int64_t kMinParallelIterations = 16384;

/// The product of the trip counts of `op`'s parallel loops.
Value parallelTripCount(RewriterBase &rewriter, linalg::LinalgOp op) {
  Location loc = op.getLoc();
  SmallVector<Range> ranges = op.createLoopRanges(rewriter, loc);
  Value count = arith::ConstantIndexOp::create(rewriter, loc, 1);
  for (auto [range, iterator] :
       llvm::zip(ranges, op.getIteratorTypesArray())) {
    if (iterator != utils::IteratorType::parallel)
      continue;
    Value size = getValueOrCreateConstantIndexOp(rewriter, loc, range.size);
    count = arith::MulIOp::create(rewriter, loc, count, size);
  }
  return count;
}

struct KoptParallelizeCpuPass
    : impl::KoptParallelizeCpuPassBase<KoptParallelizeCpuPass> {
  void runOnOperation() override {
    SmallVector<linalg::LinalgOp> marked;
    getOperation().walk([&](linalg::LinalgOp op) {
      if (op->hasAttr("kopt.parallel") && op.hasPureBufferSemantics())
        marked.push_back(op);
    });
    IRRewriter rewriter(&getContext());
    for (linalg::LinalgOp op : marked) {
      Location loc = op.getLoc();
      rewriter.setInsertionPoint(op);
      Value large = arith::CmpIOp::create(
          rewriter, loc, arith::CmpIPredicate::sge,
          parallelTripCount(rewriter, op),
          arith::ConstantIndexOp::create(rewriter, loc, kMinParallelIterations));
      bool failedLowering = false;
      auto lower = [&](OpBuilder &b, Location l, bool parallel) {
        auto copy = cast<linalg::LinalgOp>(b.clone(*op.getOperation()));
        rewriter.setInsertionPoint(copy);
        if (failed(parallel ? linalg::linalgOpToParallelLoops(rewriter, copy)
                            : linalg::linalgOpToLoops(rewriter, copy)))
          failedLowering = true;
        rewriter.eraseOp(copy);
        scf::YieldOp::create(b, l);
      };
      scf::IfOp::create(
          rewriter, loc, large,
          [&](OpBuilder &b, Location l) { lower(b, l, /*parallel=*/true); },
          [&](OpBuilder &b, Location l) { lower(b, l, /*parallel=*/false); });
      if (failedLowering) {
        op->emitError("cannot lower to loops");
        return signalPassFailure();
      }
      rewriter.eraseOp(op);
    }
  }
};

} // namespace
} // namespace kopt
