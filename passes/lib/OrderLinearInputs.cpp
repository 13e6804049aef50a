//===- OrderLinearInputs.cpp - Stored column orders for linear inputs ----===//
//
// x -> x[..., <name>.input_order] before each linear reading weight <name>:
// the activation side of importing act-order GPTQ weights, whose columns
// are packed sorted by scale group.
//
//===----------------------------------------------------------------------===//

#include "NamedLinears.h"

#include "kopt/Dialect/Kopt/KoptOps.h"
#include "kopt/Passes/Passes.h"

namespace kopt {
#define GEN_PASS_DEF_KOPTORDERLINEARINPUTSPASS
#include "kopt/Passes/Passes.h.inc"

namespace {

/// x[..., order] for `order` an i32 [K] tensor and x of shape [..., K]:
/// gathers along axis 0, with the last dim moved there and back.
mlir::Value gatherLastDim(mlir::OpBuilder &builder, mlir::Location loc,
                          mlir::Value x, mlir::Value order) {
  auto type = llvm::cast<mlir::RankedTensorType>(x.getType());
  int64_t rank = type.getRank();
  mlir::IntegerAttr axis = builder.getI64IntegerAttr(0);
  if (rank == 1)
    return GatherOp::create(builder, loc, type, x, order, axis);
  llvm::SmallVector<int64_t> toFront{rank - 1}, toBack, frontShape;
  frontShape.push_back(type.getShape().back());
  for (int64_t d = 0; d + 1 < rank; ++d) {
    toFront.push_back(d);
    frontShape.push_back(type.getDimSize(d));
  }
  for (int64_t d = 1; d < rank; ++d)
    toBack.push_back(d);
  toBack.push_back(0);
  auto frontType =
      mlir::RankedTensorType::get(frontShape, type.getElementType());
  mlir::Value front = TransposeOp::create(builder, loc, frontType, x,
                                          builder.getDenseI64ArrayAttr(toFront));
  mlir::Value gathered =
      GatherOp::create(builder, loc, frontType, front, order, axis);
  return TransposeOp::create(builder, loc, type, gathered,
                             builder.getDenseI64ArrayAttr(toBack));
}

struct KoptOrderLinearInputsPass
    : impl::KoptOrderLinearInputsPassBase<KoptOrderLinearInputsPass> {
  using Base::Base;

  void runOnOperation() override {
    mlir::FailureOr<llvm::SmallVector<LinearOp>> linears =
        linearsReading(getOperation(), weights, getArgument());
    if (mlir::failed(linears))
      return signalPassFailure();
    bool failed = false;
    for (LinearOp linear : *linears) {
      auto weight = linear.getWeight().getDefiningOp<WeightOp>();
      auto dense = llvm::dyn_cast<mlir::RankedTensorType>(weight.getType());
      if (!dense || dense.getRank() != 2) {
        weight.emitError("kopt-order-linear-inputs: weight '")
            << weight.getName() << "' must be a float [N, K] tensor, not "
            << weight.getType();
        failed = true;
        continue;
      }
      mlir::OpBuilder builder(linear);
      auto orderType = mlir::RankedTensorType::get({dense.getShape()[1]},
                                                   builder.getI32Type());
      auto order = WeightOp::create(
          builder, linear.getLoc(), orderType,
          builder.getStringAttr(weight.getName() + ".input_order"));
      linear.getInputMutable().assign(
          gatherLastDim(builder, linear.getLoc(), linear.getInput(), order));
    }
    if (failed)
      signalPassFailure();
  }
};

} // namespace
} // namespace kopt
