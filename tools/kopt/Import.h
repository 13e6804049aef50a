//===- Import.h - kopt --weights with GPTQ / AWQ int4 layers ----*- C++ -*-===//
//
// A checkpoint may hold some linear weights pre-quantized: for a kopt.weight
// "P.weight" (or "P") read only as a kopt.linear weight and absent from the
// checkpoint, the parts "P.qweight", "P.qzeros", "P.scales" (and GPTQ's
// "P.g_idx") are converted by rt::quant::importInt4 into kopt's asymmetric
// int4 encoding. The compile then treats them as quantized weights
// (kopt-quantize's `imported` option) and packs the converted parts into
// model.weights.safetensors; an act-order weight's linears read their input
// in the packed column order (kopt-order-linear-inputs), which is written
// there too.
//
//===----------------------------------------------------------------------===//

#ifndef KOPT_TOOLS_KOPT_IMPORT_H
#define KOPT_TOOLS_KOPT_IMPORT_H

#include "kopt/runtime/Npy.h"
#include "kopt/runtime/QuantImport.h"

#include "mlir/IR/BuiltinOps.h"
#include "llvm/Support/raw_ostream.h"

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace kopt {

struct ImportedWeights {
  /// Group size of each imported kopt.weight, by name.
  std::map<std::string, int64_t> groups;
  /// The converted parts (NAME.qweight, NAME.scales, NAME.zeros, and for
  /// act-order weights NAME.input_order).
  std::map<std::string, rt::HostTensor> parts;
  /// Act-order weights: their linears read the input in NAME.input_order
  /// (kopt-order-linear-inputs).
  std::vector<std::string> orderedInputs;

  /// The names, for kopt-bind-weights' `imported` (with the input orders).
  std::vector<std::string> names() const;
  /// "NAME:GROUP", for kopt-quantize's `imported`.
  std::vector<std::string> quantizeSpecs() const;
};

/// Finds and converts the pre-quantized linear weights of `model` in
/// `checkpoint`; none is an empty result. Prints one summary line to `log`,
/// and errors as "kopt: error: ..." (then returns nullopt).
std::optional<ImportedWeights>
importPrequantized(mlir::ModuleOp model, const std::string &checkpoint,
                   rt::quant::CheckpointFormat format, llvm::raw_ostream &log);

} // namespace kopt

#endif // KOPT_TOOLS_KOPT_IMPORT_H
