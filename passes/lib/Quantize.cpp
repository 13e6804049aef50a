//===- Quantize.cpp - The --quantize stage --------------------------------===//
//
// Gives linear weights a `!kopt.quantized` type. A weight name is quantized
// when every read of it, in every function, is the weight operand of a
// kopt.linear and no keep pattern names it.
//
//===----------------------------------------------------------------------===//

#include "kopt/Dialect/Kopt/KoptOps.h"
#include "kopt/Passes/Passes.h"

#include "llvm/ADT/MapVector.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/Support/GlobPattern.h"

namespace kopt {
#define GEN_PASS_DEF_KOPTQUANTIZEPASS
#include "kopt/Passes/Passes.h.inc"

namespace {

/// Whether every use of `weight` is the weight operand of a kopt.linear or
/// an expert weight of a kopt.moe.
bool readOnlyAsLinearWeight(WeightOp weight) {
  return llvm::all_of(weight->getUses(), [](mlir::OpOperand &use) {
    if (llvm::isa<LinearOp>(use.getOwner()))
      return use.getOperandNumber() == 1;
    return llvm::isa<MoEOp>(use.getOwner()) && use.getOperandNumber() >= 2;
  });
}

struct KoptQuantizePass : impl::KoptQuantizePassBase<KoptQuantizePass> {
  using Base::Base;

  mlir::LogicalResult initialize(mlir::MLIRContext *context) override {
    auto fail = [&]() {
      return mlir::emitError(mlir::UnknownLoc::get(context));
    };
    if (groupSize < -1)
      return fail() << "kopt-quantize: group-size must be -1 (per channel), "
                       "0 (per tensor) or positive, got "
                    << static_cast<int64_t>(groupSize);
    if (mode == QuantMode::None && imported.empty())
      return fail() << "kopt-quantize: mode must be int4, int8 or fp8";
    importedGroups.clear();
    for (llvm::StringRef spec : imported) {
      auto [name, groupText] = spec.rsplit(':');
      int64_t group = 0;
      if (name.empty() || groupText.getAsInteger(10, group) || group <= 0)
        return fail() << "kopt-quantize: imported takes NAME:GROUP, got '"
                      << spec << "'";
      importedGroups[name] = group;
    }
    if (mode == QuantMode::FP8 && !symmetric)
      return fail() << "kopt-quantize: fp8 has no zero points; drop "
                       "symmetric=false";
    for (auto [texts, patterns, what] :
         {std::tuple(&keep, &keepPatterns, "keep"),
          std::tuple(&int8, &int8Patterns, "int8")}) {
      patterns->clear();
      for (const std::string &text : *texts) {
        llvm::Expected<llvm::GlobPattern> pattern =
            llvm::GlobPattern::create(text);
        if (!pattern)
          return fail() << "kopt-quantize: bad " << what << " pattern '" << text
                        << "': " << llvm::toString(pattern.takeError());
        patterns->push_back(std::move(*pattern));
      }
    }
    return mlir::success();
  }

  void runOnOperation() override {
    // A keep pattern that matches no weight is almost certainly a typo that
    // would silently quantize the layer it meant to keep.
    llvm::SmallVector<bool> keepUsed(keepPatterns.size(), false),
        int8Used(int8Patterns.size(), false);
    llvm::MapVector<llvm::StringRef, llvm::SmallVector<WeightOp>> byName;
    getOperation().walk([&](WeightOp weight) {
      for (auto [pattern, isUsed] : llvm::zip(keepPatterns, keepUsed))
        isUsed = isUsed || pattern.match(weight.getName());
      for (auto [pattern, isUsed] : llvm::zip(int8Patterns, int8Used))
        isUsed = isUsed || pattern.match(weight.getName());
      byName[weight.getName()].push_back(weight);
    });
    bool failed = false;
    for (auto [texts, used, what] : {std::tuple(&keep, &keepUsed, "keep"),
                                     std::tuple(&int8, &int8Used, "int8")})
      for (auto [text, isUsed] : llvm::zip(*texts, *used)) {
        if (isUsed)
          continue;
        mlir::emitError(getOperation().getLoc(), "kopt-quantize: ")
            << what << " pattern '" << text << "' matches no kopt.weight";
        failed = true;
      }
    for (auto &[name, reads] : byName) {
      if (auto found = importedGroups.find(name);
          found != importedGroups.end()) {
        auto dense =
            llvm::dyn_cast<mlir::RankedTensorType>(reads.front().getType());
        if (!dense) {
          reads.front().emitError("kopt-quantize: imported weight '")
              << name << "' is not a dense tensor";
          failed = true;
          continue;
        }
        mlir::FailureOr<QuantizedType> type =
            importedType(reads, dense, found->second);
        if (mlir::failed(type)) {
          failed = true;
          continue;
        }
        for (WeightOp read : reads)
          read.getResult().setType(*type);
        continue;
      }
      if (mode == QuantMode::None)
        continue;
      if (llvm::any_of(keepPatterns, [&, &name = name](const auto &pattern) {
            return pattern.match(name);
          }))
        continue;
      if (!llvm::all_of(reads, readOnlyAsLinearWeight))
        continue;
      auto dense =
          llvm::dyn_cast<mlir::RankedTensorType>(reads.front().getType());
      if (!dense || (dense.getRank() != 2 && dense.getRank() != 3))
        continue;
      bool asInt8 =
          llvm::any_of(int8Patterns, [&, &name = name](const auto &pattern) {
            return pattern.match(name);
          });
      mlir::FailureOr<QuantizedType> type =
          asInt8 ? quantizedType(reads.front(), dense, QuantMode::Int8, -1)
                 : quantizedType(reads.front(), dense, mode, groupSize);
      if (mlir::failed(type)) {
        failed = true;
        continue;
      }
      for (WeightOp read : reads)
        read.getResult().setType(*type);
    }
    if (failed)
      signalPassFailure();
  }

private:
  /// GPTQ/AWQ int4: zero points, the checkpoint's group, the mma layout.
  mlir::FailureOr<QuantizedType> importedType(llvm::ArrayRef<WeightOp> reads,
                                              mlir::RankedTensorType dense,
                                              int64_t group) {
    WeightOp weight = reads.front();
    for (WeightOp read : reads)
      for (mlir::OpOperand &use : read->getUses())
        if (!llvm::isa<LinearOp>(use.getOwner()) || use.getOperandNumber() != 1)
          return read.emitError("kopt-quantize: imported weight '")
                 << read.getName()
                 << "' must be read only as a kopt.linear weight";
    mlir::MLIRContext *context = &getContext();
    mlir::Type int4 = mlir::IntegerType::get(context, 4);
    auto type = QuantizedType::getChecked(
        [&] { return weight.emitError("kopt-quantize: imported: "); }, context,
        dense.getShape(), int4, group, dense.getElementType(), int4,
        QuantLayout::Mma);
    if (!type)
      return mlir::failure();
    return type;
  }

  mlir::FailureOr<QuantizedType> quantizedType(WeightOp weight,
                                               mlir::RankedTensorType dense,
                                               QuantMode storageMode,
                                               int64_t requestedGroup) {
    mlir::MLIRContext *context = &getContext();
    int64_t k = dense.getShape().back();
    int64_t group = requestedGroup == -1 ? k : requestedGroup;
    QuantLayout packing = storageMode == QuantMode::FP8
                              ? QuantLayout::Plain
                              : static_cast<QuantLayout>(layout.getValue());
    // Elements of K a lane of the GPU layout reads from one group.
    int64_t granule =
        packing == QuantLayout::Plain
            ? 1
            : rt::quant::mmaGranule(storageMode == QuantMode::Int4
                                        ? rt::quant::Storage::Int4
                                        : rt::quant::Storage::Int8);
    if (group > 0 && k % group != 0 && strictGroupSize)
      return weight.emitError("kopt-quantize: group size ")
             << group << " does not divide K = " << k << " of weight '"
             << weight.getName()
             << "'; choose a group size that divides K, or keep the layer "
                "(--quantize-keep)";
    if (group > 0 && k % group != 0) {
      // The largest group of at least 32 that divides K, else per channel.
      int64_t fitted = k;
      for (int64_t g = group; g >= 32; --g)
        if (k % g == 0 && g % granule == 0) {
          fitted = g;
          break;
        }
      group = fitted;
    }
    mlir::Type storage = storageMode == QuantMode::Int4
                             ? mlir::Type(mlir::IntegerType::get(context, 4))
                         : storageMode == QuantMode::Int8
                             ? mlir::Type(mlir::IntegerType::get(context, 8))
                             : mlir::Type(mlir::Float8E4M3FNType::get(context));
    mlir::Type zeroPoint = symmetric ? mlir::Type() : storage;
    auto type = QuantizedType::getChecked(
        [&] { return weight.emitError("kopt-quantize: "); }, context,
        dense.getShape(), storage, group, dense.getElementType(), zeroPoint,
        packing);
    if (!type)
      return mlir::failure();
    return type;
  }

  llvm::SmallVector<llvm::GlobPattern> keepPatterns, int8Patterns;
  llvm::StringMap<int64_t> importedGroups;
};
} // namespace
} // namespace kopt
