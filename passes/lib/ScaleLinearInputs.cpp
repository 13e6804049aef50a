//===- ScaleLinearInputs.cpp - Per-channel input scales for linears -------===//
//
// x -> x * <name>.input_scale before each linear reading weight <name>: the
// activation side of activation-aware (AWQ-style) quantization.
//
//===----------------------------------------------------------------------===//

#include "kopt/Dialect/Kopt/KoptOps.h"
#include "kopt/Passes/Passes.h"

#include "llvm/ADT/StringSet.h"

namespace kopt {
#define GEN_PASS_DEF_KOPTSCALELINEARINPUTSPASS
#include "kopt/Passes/Passes.h.inc"

namespace {

struct KoptScaleLinearInputsPass
    : impl::KoptScaleLinearInputsPassBase<KoptScaleLinearInputsPass> {
  using Base::Base;

  void runOnOperation() override {
    llvm::StringSet<> wanted, seen;
    for (const std::string &name : weights)
      wanted.insert(name);
    llvm::SmallVector<LinearOp> linears;
    getOperation().walk([&](LinearOp linear) {
      auto weight = linear.getWeight().getDefiningOp<WeightOp>();
      if (weight && wanted.contains(weight.getName()))
        linears.push_back(linear);
    });
    for (LinearOp linear : linears) {
      auto weight = linear.getWeight().getDefiningOp<WeightOp>();
      seen.insert(weight.getName());
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
    bool failed = false;
    for (const std::string &name : weights)
      if (!seen.contains(name)) {
        mlir::emitError(getOperation().getLoc(),
                        "kopt-scale-linear-inputs: no kopt.linear reads a "
                        "weight named '")
            << name << "'";
        failed = true;
      }
    if (failed)
      signalPassFailure();
  }
};

} // namespace
} // namespace kopt
