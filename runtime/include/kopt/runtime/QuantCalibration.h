//===- QuantCalibration.h - Data-driven quantization choices ----*- C++ -*-===//
//
// The numerics behind `kopt --calibration`: a linear layer's output error
// under a quantized weight, activation-aware (AWQ-style) per-channel scaling,
// and the size-budgeted choice of each layer's precision. The inputs are the
// activations a layer saw on calibration data; no LLVM/MLIR dependency.
//
//===----------------------------------------------------------------------===//

#ifndef KOPT_RUNTIME_QUANTCALIBRATION_H
#define KOPT_RUNTIME_QUANTCALIBRATION_H

#include "kopt/runtime/OutputError.h"
#include "kopt/runtime/Quantization.h"
#include "kopt/runtime/Status.h"

#include <cstdint>
#include <vector>

namespace kopt::rt::quant {

/// Row-major [rows, cols] floats (a linear's inputs, or a weight [N, K]).
struct Matrix {
  int64_t rows = 0, cols = 0;
  std::vector<float> data;
};

/// The error of the linear output with inputs `xApprox` and weight
/// `wApprox` against inputs `x` and weight `w` (same shapes).
OutputError linearOutputError(const Matrix &x, const Matrix &w,
                              const Matrix &xApprox, const Matrix &wApprox);

/// `w` (each element already a value of its dtype) as the kernels see it
/// after packing into `encoding`: quantize, then dequantize.
StatusOr<Matrix> fakeQuantize(const Encoding &encoding, const Matrix &w);

/// Bits per weight element of `encoding`: codes plus their share of scales
/// and zero points.
double bitsPerWeight(const Encoding &encoding);

/// Activation-aware scaling of one linear: y = (x * inverse) (w * scale)^T
/// with scale_k = mean|x_k|^alpha normalized around 1, `w * scale` rounded
/// to `weightDType` and packed into `encoding`, `inverse` = 1 / scale
/// rounded to `activationDType`. alpha = 0 is plain quantization.
struct ActivationAwareScales {
  double alpha = 0;
  std::vector<float> scale, inverse; ///< [K] each.
  Matrix scaledWeight;               ///< w * scale, rounded to its dtype.
  OutputError error;                 ///< Of the best alpha.
  OutputError plainError;            ///< Of alpha = 0.
};

/// Tries alpha in {0, 0.1, ..., 1} and keeps the one with the least output
/// error on `x`.
StatusOr<ActivationAwareScales>
searchActivationAwareScales(const Encoding &encoding, kopt_dtype_t weightDType,
                            kopt_dtype_t activationDType, const Matrix &x,
                            const Matrix &w);

/// One layer's precision options, cheapest first, each with its bits per
/// weight and the output error it causes.
struct PrecisionOption {
  double bitsPerWeight = 0;
  double relativeL2 = 0;
};
struct LayerPrecisions {
  int64_t elements = 0;
  std::vector<PrecisionOption> options;
};

/// Picks an option per layer: every layer starts at its first; upgrades go,
/// greedily, where they remove the most squared error per added bit while
/// the average bits per weight stay within `budgetBits`. INVALID_ARGUMENT
/// when even the first options exceed the budget.
StatusOr<std::vector<size_t>>
choosePrecisions(const std::vector<LayerPrecisions> &layers, double budgetBits);

} // namespace kopt::rt::quant

#endif // KOPT_RUNTIME_QUANTCALIBRATION_H
