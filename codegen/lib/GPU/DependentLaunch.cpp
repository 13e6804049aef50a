//===- DependentLaunch.cpp - Programmatic dependent launch ----------------===//

#include "kopt/Codegen/Passes.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "llvm/Support/JSON.h"

using namespace mlir;

namespace kopt {
#define GEN_PASS_DEF_KOPTDEPENDENTLAUNCHPASS
#include "kopt/Codegen/Passes.h.inc"

namespace {

struct KoptDependentLaunchPass
    : impl::KoptDependentLaunchPassBase<KoptDependentLaunchPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    auto planText = module->getAttrOfType<StringAttr>("kopt.plan");
    if (!planText) {
      module.emitError("kopt-dependent-launch runs after kopt-export-plan "
                       "(the module has no kopt.plan)");
      return signalPassFailure();
    }
    llvm::Expected<llvm::json::Value> plan =
        llvm::json::parse(planText.getValue());
    if (!plan || !plan->getAsObject()) {
      if (!plan)
        llvm::consumeError(plan.takeError());
      module.emitError("kopt.plan is not a JSON object");
      return signalPassFailure();
    }
    module.walk([&](gpu::GPUFuncOp kernel) {
      if (!kernel.isKernel() || kernel.getBody().empty())
        return;
      OpBuilder b = OpBuilder::atBlockBegin(&kernel.getBody().front());
      NVVM::GriddepcontrolOp::create(b, kernel.getLoc(),
                                     NVVM::GridDepActionKind::wait);
      auto trigger = [&](Location loc) {
        NVVM::GriddepcontrolOp::create(
            b, loc, NVVM::GridDepActionKind::launch_dependents);
      };
      if (earlyTrigger)
        return trigger(kernel.getLoc());
      kernel.walk([&](gpu::ReturnOp ret) {
        b.setInsertionPoint(ret);
        trigger(ret.getLoc());
      });
    });
    (*plan->getAsObject())["dependent_launch"] = true;
    std::string text;
    llvm::raw_string_ostream os(text);
    os << *plan;
    module->setAttr("kopt.plan", StringAttr::get(&getContext(), text));
  }
};

} // namespace
} // namespace kopt
