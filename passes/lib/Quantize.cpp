//===- Quantize.cpp - The --quantize stage --------------------------------===//
//
// Weight quantization of kopt.linear / kopt.moe into !kopt.quantized. For now
// the pass validates its options; the rewrite lands with the quantization
// work.
//
//===----------------------------------------------------------------------===//

#include "kopt/Passes/Passes.h"

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
             << groupSize;
    if (mode == QuantMode::None)
      return mlir::emitError(mlir::UnknownLoc::get(context))
             << "kopt-quantize: mode must be int4, int8 or fp8";
    return mlir::success();
  }

  void runOnOperation() override {}
};
} // namespace
} // namespace kopt
