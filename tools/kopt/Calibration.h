//===- Calibration.h - kopt --calibration: data-driven quantization -*- C++
//-*-===//
//
// With --weights and calibration inputs, kopt evaluates the float model on
// them (the reference evaluator), records what every quantized linear
// reads, and then
//   - with --quantize-awq, scales each layer's input channels by the
//     activation-aware factor that minimizes its output error;
//   - with --quantize-budget=BITS, upgrades the most sensitive layers to
//     int8 (or keeps them in their float dtype) while the average bits per
//     quantized weight stay within BITS;
//   - always, reports each layer's and the whole model's error against the
//     float model (relative L2, cosine, top-1 agreement of the last dim).
//
//===----------------------------------------------------------------------===//

#ifndef KOPT_TOOLS_KOPT_CALIBRATION_H
#define KOPT_TOOLS_KOPT_CALIBRATION_H

#include "kopt/Passes/Pipelines.h"
#include "kopt/runtime/Npy.h"

#include "mlir/IR/BuiltinOps.h"

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace kopt {

/// What the quantization flags ask for, applicable to pipeline options.
struct QuantizeSettings {
  QuantMode mode = QuantMode::None;
  int64_t groupSize = 128;
  bool strictGroupSize = false;
  bool symmetric = true;
  /// Inputs of fp8 linears: "none", "token" or "tensor" scales.
  std::string activations = "none";
  /// fp8 GEMMs keep the tensor cores' own accumulation.
  bool fp8FastAccumulation = false;
  std::vector<std::string> keep, int8, scaleInputs;
  /// NAME:GROUP of weights imported pre-quantized (Import.h).
  std::vector<std::string> imported;

  void applyTo(ModelPipelineOptions &options) const;
};

struct CalibrationRequest {
  std::string weightsPath;
  std::string function = "forward";
  /// One list of .npy paths per sample, one path per function argument.
  std::vector<std::vector<std::string>> samples;
  bool activationAware = false;
  std::optional<double> budgetBits;
  /// Where to write the report as JSON ("" = nowhere).
  std::string reportPath;
};

/// Tensors calibration adds to or changes in the checkpoint before packing
/// (input scales, weights multiplied by them).
using CalibratedTensors = std::map<std::string, rt::HostTensor>;

/// Runs calibration on `model` (parsed, verified), extends `settings` with
/// its choices (int8 and keep names, scaled inputs), prints the report to
/// `log` and returns the tensors to pack with. Errors are printed to
/// llvm::errs() as "kopt: error: ..." and return nullopt.
std::optional<CalibratedTensors> calibrate(mlir::ModuleOp model,
                                           QuantizeSettings &settings,
                                           const CalibrationRequest &request,
                                           llvm::raw_ostream &log);

} // namespace kopt

#endif // KOPT_TOOLS_KOPT_CALIBRATION_H
