//===- BindWeights.cpp - Check a checkpoint against the model -------------===//

#include "kopt/Dialect/Kopt/KoptOps.h"
#include "kopt/Passes/Passes.h"
#include "kopt/runtime/DType.h"
#include "kopt/runtime/Safetensors.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"

namespace kopt {
#define GEN_PASS_DEF_KOPTBINDWEIGHTSPASS
#include "kopt/Passes/Passes.h.inc"

namespace {

std::string shapeText(llvm::ArrayRef<int64_t> shape) {
  std::string text = "[";
  for (int64_t dim : shape)
    text += (text.size() > 1 ? "x" : "") + std::to_string(dim);
  return text + "]";
}

/// `path` made absolute, relative paths taken from `base`'s folder (or the
/// working directory when `base` is empty).
std::string absoluteFrom(llvm::StringRef path, llvm::StringRef base) {
  llvm::SmallString<256> result(path);
  if (!llvm::sys::path::is_absolute(result) && !base.empty()) {
    llvm::SmallString<256> folder(base);
    llvm::sys::path::remove_filename(folder);
    llvm::sys::path::append(folder, path);
    result = folder;
  }
  llvm::sys::fs::make_absolute(result);
  llvm::sys::path::remove_dots(result, /*remove_dot_dot=*/true);
  return result.str().str();
}

struct KoptBindWeightsPass
    : impl::KoptBindWeightsPassBase<KoptBindWeightsPass> {
  using Base::Base;

  void runOnOperation() override {
    mlir::ModuleOp module = getOperation();
    mlir::MLIRContext *context = &getContext();
    std::string source;
    if (auto file = module.getLoc()->findInstanceOf<mlir::FileLineColLoc>())
      source = file.getFilename().str();
    if (weights.empty()) {
      // A default named by the model itself is relative to the model file.
      if (auto named = module->getAttrOfType<mlir::StringAttr>("kopt.weights"))
        module->setAttr("kopt.weights",
                        mlir::StringAttr::get(
                            context, absoluteFrom(named.getValue(), source)));
      return;
    }
    auto set = rt::WeightSet::open(weights);
    if (!set.isOk()) {
      mlir::emitError(module.getLoc()) << set.status().message();
      return signalPassFailure();
    }
    bool failed = false;
    module.walk([&](WeightOp op) {
      auto type = mlir::dyn_cast<mlir::RankedTensorType>(op.getType());
      if (!type || llvm::is_contained(imported, op.getName()))
        return; // Compressed weights bind several tensors; checked at load.
      const rt::TensorEntry *entry = (*set)->lookup(op.getName().str());
      if (!entry) {
        op.emitError("weight '")
            << op.getName() << "' is not in '" << weights << "'";
        failed = true;
        return;
      }
      std::string dtype;
      llvm::raw_string_ostream os(dtype);
      os << type.getElementType();
      if (rt::dtypeName(entry->dtype) != dtype ||
          llvm::ArrayRef<int64_t>(entry->shape) != type.getShape()) {
        op.emitError("weight '")
            << op.getName() << "' is " << rt::dtypeName(entry->dtype).data()
            << " " << shapeText(entry->shape) << " in '" << weights
            << "' but the model reads " << dtype << " "
            << shapeText(type.getShape());
        failed = true;
      }
    });
    if (failed)
      return signalPassFailure();
    module->setAttr("kopt.weights",
                    mlir::StringAttr::get(context, absoluteFrom(weights, "")));
  }
};

} // namespace
} // namespace kopt
