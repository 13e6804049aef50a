//===- ExpandQuantizedWeights.cpp - Quantized weights as stored tensors ---===//

#include "kopt/Codegen/Passes.h"
#include "kopt/Dialect/Kopt/KoptOps.h"

#include "mlir/IR/Builders.h"

using namespace mlir;

namespace kopt {
#define GEN_PASS_DEF_KOPTEXPANDQUANTIZEDWEIGHTSPASS
#include "kopt/Codegen/Passes.h.inc"

namespace {

constexpr const char *kPartNames[] = {"qweight", "scales", "zeros"};

struct KoptExpandQuantizedWeightsPass
    : impl::KoptExpandQuantizedWeightsPassBase<KoptExpandQuantizedWeightsPass> {
  void runOnOperation() override {
    SmallVector<WeightOp> quantized;
    getOperation().walk([&](WeightOp weight) {
      if (isa<QuantizedType>(weight.getType()))
        quantized.push_back(weight);
    });
    MLIRContext *context = &getContext();
    for (WeightOp weight : quantized) {
      auto type = cast<QuantizedType>(weight.getType());
      if (failed(encodingOf(type))) {
        weight.emitError("weight '")
            << weight.getName() << "': zero points of type "
            << type.getZeroPoint()
            << " cannot be packed; use integer zero points";
        return signalPassFailure();
      }
      OpBuilder builder(weight);
      SmallVector<Value> parts;
      for (auto [index, partType] : llvm::enumerate(partTypesOf(type))) {
        auto part = WeightOp::create(
            builder, weight.getLoc(), partType,
            builder.getStringAttr(weight.getName() + "." + kPartNames[index]));
        part->setAttr(
            "kopt.quantized_part",
            DictionaryAttr::get(
                context,
                {builder.getNamedAttr("source", weight.getNameAttr()),
                 builder.getNamedAttr("part",
                                      builder.getStringAttr(kPartNames[index])),
                 builder.getNamedAttr("encoding", TypeAttr::get(type))}));
        parts.push_back(part);
      }
      auto dense = RankedTensorType::get(type.getShape(), type.getScale());
      auto dequantize = DequantizeOp::create(
          builder, weight.getLoc(), dense, parts[0], parts[1],
          parts.size() > 2 ? parts[2] : Value(), TypeAttr::get(type));
      // The dequantized weight in `element`, cast before `user` if the
      // scale dtype differs (quantized weights may feed activations or a
      // decompress of another float type).
      auto weightAs = [&](Operation *user, Type element) -> Value {
        if (element == dense.getElementType())
          return dequantize.getResult();
        OpBuilder at(user);
        return CastOp::create(at, user->getLoc(), dense.clone(element),
                              dequantize.getResult());
      };
      for (OpOperand &use : llvm::make_early_inc_range(weight->getUses())) {
        Operation *user = use.getOwner();
        if (auto decompress = dyn_cast<DecompressOp>(user)) {
          decompress.getResult().replaceAllUsesWith(
              weightAs(decompress, decompress.getType().getElementType()));
          decompress.erase();
        } else if (auto linear = dyn_cast<LinearOp>(user)) {
          use.set(weightAs(linear,
                           cast<RankedTensorType>(linear.getInput().getType())
                               .getElementType()));
        }
      }
      weight.getResult().replaceAllUsesWith(dequantize.getResult());
      weight.erase();
    }
  }
};

} // namespace
} // namespace kopt
