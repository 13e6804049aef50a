//===- Import.cpp - kopt --weights with GPTQ / AWQ int4 layers ------------===//

#include "Import.h"

#include "kopt/Dialect/Kopt/KoptOps.h"
#include "kopt/runtime/DType.h"
#include "kopt/runtime/Safetensors.h"

#include "llvm/ADT/MapVector.h"

#include <cstring>

namespace kopt {
namespace {

std::optional<kopt_dtype_t> dtypeOf(mlir::Type type) {
  if (type.isF16())
    return KOPT_DTYPE_F16;
  if (type.isBF16())
    return KOPT_DTYPE_BF16;
  if (type.isF32())
    return KOPT_DTYPE_F32;
  return std::nullopt;
}

} // namespace

std::vector<std::string> ImportedWeights::names() const {
  std::vector<std::string> result;
  for (const auto &[name, group] : groups)
    result.push_back(name);
  for (const std::string &name : orderedInputs)
    result.push_back(name + ".input_order");
  return result;
}

std::vector<std::string> ImportedWeights::quantizeSpecs() const {
  std::vector<std::string> result;
  for (const auto &[name, group] : groups)
    result.push_back(name + ":" + std::to_string(group));
  return result;
}

std::optional<ImportedWeights>
importPrequantized(mlir::ModuleOp model, const std::string &checkpoint,
                   rt::quant::CheckpointFormat format, llvm::raw_ostream &log) {
  auto set = rt::WeightSet::open(checkpoint);
  if (!set.isOk()) {
    llvm::errs() << "kopt: error: " << set.status().message() << "\n";
    return std::nullopt;
  }
  llvm::MapVector<llvm::StringRef, llvm::SmallVector<WeightOp>> byName;
  model.walk(
      [&](WeightOp weight) { byName[weight.getName()].push_back(weight); });
  ImportedWeights imported;
  std::map<std::string, int> formats;
  for (auto &[name, reads] : byName) {
    if ((*set)->lookup(name.str()))
      continue;
    llvm::StringRef prefix = name;
    prefix.consume_back(".weight");
    const rt::TensorEntry *qweight =
        (*set)->lookup((prefix + ".qweight").str());
    if (!qweight)
      continue; // kopt-bind-weights reports the missing weight.
    auto fail = [&, &name = name](const std::string &message) {
      llvm::errs() << "kopt: error: pre-quantized weight '" << name << "' ("
                   << prefix << ".qweight in '" << checkpoint
                   << "'): " << message << "\n";
      return std::nullopt;
    };
    auto dense =
        llvm::dyn_cast<mlir::RankedTensorType>(reads.front().getType());
    std::optional<kopt_dtype_t> scale =
        dense ? dtypeOf(dense.getElementType()) : std::nullopt;
    if (!dense || dense.getRank() != 2 || !scale)
      return fail("only 2-D f16/bf16/f32 linear weights can be imported");
    const rt::TensorEntry *qzeros = (*set)->lookup((prefix + ".qzeros").str());
    const rt::TensorEntry *scales = (*set)->lookup((prefix + ".scales").str());
    if (!scales)
      return fail("the checkpoint lacks " + prefix.str() + ".scales");
    if (!qzeros)
      return fail("the checkpoint lacks " + prefix.str() +
                  ".qzeros (symmetric checkpoints without zero points are "
                  "not supported)");
    rt::quant::ForeignParts parts{qweight->view(), qzeros->view(),
                                  scales->view(), std::nullopt};
    if (const rt::TensorEntry *gIdx = (*set)->lookup((prefix + ".g_idx").str()))
      parts.groupIndex = gIdx->view();
    int64_t n = dense.getShape()[0], k = dense.getShape()[1];
    rt::StatusOr<rt::quant::ImportedWeight> weight =
        rt::quant::importInt4(parts, n, k, *scale, format);
    if (!weight.isOk())
      return fail(weight.status().message());
    const rt::quant::Encoding &encoding = weight->encoding;
    std::vector<rt::quant::Part> layout = rt::quant::partsOf(encoding);
    std::vector<uint8_t> *bytes[] = {
        &weight->packed.qweight, &weight->packed.scales, &weight->packed.zeros};
    for (size_t i = 0; i < layout.size(); ++i)
      imported.parts[name.str() + "." + layout[i].suffix] = rt::HostTensor{
          layout[i].dtype, layout[i].shape, std::move(*bytes[i])};
    imported.groups[name.str()] = encoding.groupSize;
    bool actOrder = !weight->inputOrder.empty();
    if (actOrder) {
      std::vector<uint8_t> order(4 * weight->inputOrder.size());
      std::memcpy(order.data(), weight->inputOrder.data(), order.size());
      imported.parts[name.str() + ".input_order"] =
          rt::HostTensor{KOPT_DTYPE_I32, {k}, std::move(order)};
      imported.orderedInputs.push_back(name.str());
    }
    ++formats[rt::quant::formatName(weight->format) + " g" +
              std::to_string(encoding.groupSize) +
              (actOrder ? " act-order" : "")];
  }
  if (!imported.groups.empty()) {
    log << "kopt: imported " << imported.groups.size()
        << " pre-quantized int4 weights from '" << checkpoint << "' (";
    bool first = true;
    for (auto &[what, count] : formats) {
      log << (first ? "" : ", ") << count << " " << what;
      first = false;
    }
    log << ")\n";
  }
  return imported;
}

} // namespace kopt
