//===- Quantize.cpp - The --quantize stage --------------------------------===//
//
// Weight quantization of kopt.linear / kopt.moe into !kopt.quantized. For now
// the pass validates its options; the rewrite lands with the quantization
// work.
//
//===----------------------------------------------------------------------===//

#include "kopt/Dialect/Kopt/KoptOps.h"
#include "kopt/Passes/Passes.h"

#include "llvm/Support/GlobPattern.h"

namespace kopt {
#define GEN_PASS_DEF_KOPTQUANTIZEPASS
#include "kopt/Passes/Passes.h.inc"

namespace {
struct KoptQuantizePass : impl::KoptQuantizePassBase<KoptQuantizePass> {
  using Base::Base;

  mlir::LogicalResult initialize(mlir::MLIRContext *context) override {
    if (groupSize < 0)
      return mlir::emitError(mlir::UnknownLoc::get(context))
             << "kopt-quantize: group-size must be >= 0 (0 = per tensor), got "
             << static_cast<int64_t>(groupSize);
    if (mode == QuantMode::None)
      return mlir::emitError(mlir::UnknownLoc::get(context))
             << "kopt-quantize: mode must be int4, int8 or fp8";
    keepPatterns.clear();
    for (const std::string &text : keep) {
      llvm::Expected<llvm::GlobPattern> pattern =
          llvm::GlobPattern::create(text);
      if (!pattern)
        return mlir::emitError(mlir::UnknownLoc::get(context))
               << "kopt-quantize: bad keep pattern '" << text
               << "': " << llvm::toString(pattern.takeError());
      keepPatterns.push_back(std::move(*pattern));
    }
    return mlir::success();
  }

  void runOnOperation() override {
    // A keep pattern that matches no weight is almost certainly a typo that
    // would silently quantize the layer it meant to keep.
    llvm::SmallVector<bool> used(keepPatterns.size(), false);
    getOperation().walk([&](WeightOp weight) {
      for (auto [pattern, isUsed] : llvm::zip(keepPatterns, used))
        isUsed = isUsed || pattern.match(weight.getName());
    });
    for (auto [text, isUsed] : llvm::zip(keep, used)) {
      if (isUsed)
        continue;
      mlir::emitError(getOperation().getLoc(), "kopt-quantize: keep pattern '")
          << text << "' matches no kopt.weight";
      signalPassFailure();
    }
  }

private:
  llvm::SmallVector<llvm::GlobPattern> keepPatterns;
};
} // namespace
} // namespace kopt
