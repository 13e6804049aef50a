//===- QuantizeActivations.cpp - fp8 activations for fp8 linears ----------===//
//
// Puts kopt.fake_quant before every linear with a float8 weight, one per
// distinct input value, right after the value's definition.
//
//===----------------------------------------------------------------------===//

#include "kopt/Dialect/Kopt/KoptOps.h"
#include "kopt/Passes/Passes.h"

#include "mlir/IR/Builders.h"

namespace kopt {
#define GEN_PASS_DEF_KOPTQUANTIZEACTIVATIONSPASS
#include "kopt/Passes/Passes.h.inc"

namespace {

bool hasFp8Weight(LinearOp linear) {
  auto weight = linear.getWeight().getDefiningOp<WeightOp>();
  if (!weight)
    return false;
  auto type = llvm::dyn_cast<QuantizedType>(weight.getType());
  return type && llvm::isa<mlir::Float8E4M3FNType>(type.getStorage());
}

struct KoptQuantizeActivationsPass
    : impl::KoptQuantizeActivationsPassBase<KoptQuantizeActivationsPass> {
  using Base::Base;

  mlir::LogicalResult initialize(mlir::MLIRContext *context) override {
    if (granularity != "token" && granularity != "tensor")
      return mlir::emitError(mlir::UnknownLoc::get(context))
             << "kopt-quantize-activations: granularity must be token or "
                "tensor, got '"
             << granularity << "'";
    return mlir::success();
  }

  void runOnOperation() override {
    llvm::DenseMap<mlir::Value, mlir::Value> rounded;
    mlir::Type f8 = mlir::Float8E4M3FNType::get(&getContext());
    getOperation().walk([&](LinearOp linear) {
      if (!hasFp8Weight(linear))
        return;
      mlir::Value input = linear.getInput();
      mlir::Value &quantized = rounded[input];
      if (!quantized) {
        mlir::OpBuilder b(&getContext());
        b.setInsertionPointAfterValue(input);
        quantized = FakeQuantOp::create(b, linear.getLoc(), input.getType(),
                                        input, f8, granularity);
      }
      linear.getInputMutable().assign(quantized);
      if (fastAccumulation)
        linear->setAttr("kopt.fp8_promote_every",
                        mlir::IntegerAttr::get(
                            mlir::IntegerType::get(&getContext(), 64), 0));
    });
  }
};

} // namespace
} // namespace kopt
