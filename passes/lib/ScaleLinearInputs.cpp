//===- ScaleLinearInputs.cpp - Per-channel input scales for linears -------===//
//
// x -> x * <name>.input_scale before each linear reading weight <name>: the
// activation side of activation-aware (AWQ-style) quantization.
//
//===----------------------------------------------------------------------===//

#include "NamedLinears.h"

#include "kopt/Dialect/Kopt/KoptOps.h"
#include "kopt/Passes/Passes.h"

namespace kopt {
#define GEN_PASS_DEF_KOPTSCALELINEARINPUTSPASS
#include "kopt/Passes/Passes.h.inc"

namespace {

struct KoptScaleLinearInputsPass
    : impl::KoptScaleLinearInputsPassBase<KoptScaleLinearInputsPass> {
  using Base::Base;

  void runOnOperation() override {
    mlir::FailureOr<llvm::SmallVector<LinearOp>> linears =
        linearsReading(getOperation(), weights, getArgument());
    if (mlir::failed(linears))
      return signalPassFailure();
    for (LinearOp linear : *linears) {
      auto weight = linear.getWeight().getDefiningOp<WeightOp>();
      auto input =
          llvm::cast<mlir::RankedTensorType>(linear.getInput().getType());
      mlir::OpBuilder builder(linear);
      auto scaleType = mlir::RankedTensorType::get({input.getShape().back()},
                                                   input.getElementType());
      auto scale = WeightOp::create(
          builder, linear.getLoc(), scaleType,
          builder.getStringAttr(weight.getName() + ".input_scale"));
      auto scaled = MulOp::create(builder, linear.getLoc(), input,
                                  linear.getInput(), scale);
      linear.getInputMutable().assign(scaled);
    }
  }
};

} // namespace
} // namespace kopt
