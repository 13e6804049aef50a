//===- PrepareCpuAbi.cpp - The calling convention of compiled functions ---===//
//
// (inputs..., weights..., outputs..., status): the order the plan's "call"
// list gives and the runtime follows.
//
//===----------------------------------------------------------------------===//

#include "kopt/Codegen/Passes.h"
#include "kopt/Dialect/Kopt/KoptOps.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "llvm/ADT/MapVector.h"

using namespace mlir;

namespace kopt {
#define GEN_PASS_DEF_KOPTPREPARECPUABIPASS
#include "kopt/Codegen/Passes.h.inc"

namespace {

struct KoptPrepareCpuAbiPass
    : impl::KoptPrepareCpuAbiPassBase<KoptPrepareCpuAbiPass> {
  void runOnOperation() override {
    for (auto func : getOperation().getOps<func::FuncOp>())
      if (failed(prepare(func)))
        return signalPassFailure();
  }

  LogicalResult prepare(func::FuncOp func) {
    if (func.isExternal())
      return success();
    MLIRContext *context = &getContext();
    OpBuilder builder(context);
    Block &entry = func.getBody().front();

    // Weights become arguments, one per distinct name, in order of use.
    llvm::MapVector<StringRef, SmallVector<WeightOp>> weights;
    func.walk([&](WeightOp op) { weights[op.getName()].push_back(op); });
    SmallVector<Attribute> weightNames;
    for (auto &[name, ops] : weights) {
      if (!isa<RankedTensorType>(ops.front().getType()))
        return ops.front().emitError("compressed weight '")
               << name << "' has no CPU calling convention yet";
      BlockArgument arg =
          entry.addArgument(ops.front().getType(), ops.front().getLoc());
      for (WeightOp op : ops) {
        op.getResult().replaceAllUsesWith(arg);
        op.erase();
      }
      weightNames.push_back(StringAttr::get(context, name));
    }

    // Results are written into output buffers (destination passing), so the
    // function returns nothing.
    auto returnOp = cast<func::ReturnOp>(entry.getTerminator());
    SmallVector<Value> results(returnOp.getOperands());
    builder.setInsertionPoint(returnOp);
    for (Value result : results) {
      auto type = dyn_cast<RankedTensorType>(result.getType());
      if (!type)
        return returnOp.emitError("function results must be tensors");
      BlockArgument output = entry.addArgument(
          MemRefType::get(type.getShape(), type.getElementType()),
          func.getLoc());
      auto materialize = bufferization::MaterializeInDestinationOp::create(
          builder, returnOp.getLoc(), result, output);
      materialize.setRestrict(true);
      materialize.setWritable(true);
    }
    returnOp->setOperands({});

    // The status buffer.
    auto statusType = MemRefType::get({4}, builder.getI64Type());
    entry.addArgument(statusType, func.getLoc());

    func.setFunctionType(
        FunctionType::get(context, entry.getArgumentTypes(), {}));
    func.setArgAttr(entry.getNumArguments() - 1, "kopt.status",
                    builder.getUnitAttr());
    func->setAttr("kopt.weights", ArrayAttr::get(context, weightNames));
    func->setAttr("llvm.emit_c_interface", UnitAttr::get(context));
    return success();
  }
};

} // namespace
} // namespace kopt
