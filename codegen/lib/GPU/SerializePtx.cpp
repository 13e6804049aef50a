//===- SerializePtx.cpp - Write model.ptx and its plan --------------------===//

#include "kopt/Codegen/Passes.h"
#include "kopt/runtime/ArtifactDigest.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Support/FileUtilities.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/ToolOutputFile.h"

using namespace mlir;

namespace kopt {
#define GEN_PASS_DEF_KOPTSERIALIZEPTXPASS
#include "kopt/Codegen/Passes.h.inc"

namespace {

struct KoptSerializePtxPass
    : impl::KoptSerializePtxPassBase<KoptSerializePtxPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    Location loc = module.getLoc();
    auto planText = module->getAttrOfType<StringAttr>("kopt.plan");
    if (output.empty() || !planText) {
      emitError(loc) << "kopt-serialize-ptx needs output=<file.ptx> and the "
                        "kopt.plan attribute (kopt-export-plan{gpu-target})";
      return signalPassFailure();
    }
    StringRef ptx;
    for (auto binary : module.getOps<mlir::gpu::BinaryOp>()) {
      for (Attribute object : binary.getObjects())
        if (auto o = dyn_cast<mlir::gpu::ObjectAttr>(object))
          ptx = o.getObject().getValue();
    }
    if (ptx.empty()) {
      emitError(loc) << "no PTX: run gpu-module-to-binary{format=isa} first";
      return signalPassFailure();
    }
    // A math function libdevice should have defined: the PTX would not load.
    if (size_t at = ptx.find(".extern .func"); at != StringRef::npos) {
      // ".extern .func (RETURN) NAME(PARAMS)" or ".extern .func NAME(...)".
      StringRef rest = ptx.substr(at).drop_front(StringRef(".extern .func").size()).ltrim();
      if (rest.starts_with("("))
        rest = rest.drop_until([](char c) { return c == ')'; }).drop_front().ltrim();
      StringRef name = rest.take_until(
          [](char c) { return c == '(' || c == '\n' || c == ' '; });
      emitError(loc) << "the kernels call '" << name
                     << "', which no library defined: kopt found no CUDA "
                        "libdevice (set CUDA_HOME to a CUDA toolkit)";
      return signalPassFailure();
    }
    std::string error;
    auto file = openOutputFile(output, &error);
    if (!file) {
      emitError(loc) << "cannot write '" << output << "': " << error;
      return signalPassFailure();
    }
    file->os() << ptx;
    file->keep();
    // With -o - the PTX alone goes to stdout.
    if (output == "-")
      return;

    llvm::Expected<llvm::json::Value> plan =
        llvm::json::parse(planText.getValue());
    if (!plan || !plan->getAsObject()) {
      emitError(loc) << "malformed kopt.plan";
      if (!plan)
        llvm::consumeError(plan.takeError());
      return signalPassFailure();
    }
    llvm::json::Object &root = *plan->getAsObject();
    root["artifact"] = llvm::json::Object{
        {"kind", "ptx"},
        {"file", llvm::sys::path::filename(output).str()},
        {"target", root.getString("gpu_target").value_or("sm_90").str()},
        {"bytes", static_cast<int64_t>(ptx.size())},
        {"fnv1a64", rt::artifactDigest(std::string_view(ptx.data(), ptx.size()))}};
    SmallString<128> planPath(output);
    llvm::sys::path::replace_extension(planPath, "plan.json");
    auto planFile = openOutputFile(planPath, &error);
    if (!planFile) {
      emitError(loc) << "cannot write the plan: " << error;
      return signalPassFailure();
    }
    planFile->os() << llvm::formatv("{0:2}", *plan) << "\n";
    planFile->keep();
  }
};

} // namespace
} // namespace kopt
