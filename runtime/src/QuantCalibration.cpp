//===- QuantCalibration.cpp - Data-driven quantization choices ------------===//

#include "kopt/runtime/QuantCalibration.h"

#include "kopt/runtime/DType.h"
#include "kopt/runtime/Reference.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace kopt::rt::quant {
namespace {

/// y = x w^T, [x.rows, w.rows], accumulated in double.
std::vector<double> linear(const Matrix &x, const Matrix &w) {
  std::vector<double> y(x.rows * w.rows, 0.0);
  for (int64_t r = 0; r < x.rows; ++r) {
    const float *row = &x.data[r * x.cols];
    for (int64_t n = 0; n < w.rows; ++n) {
      const float *weights = &w.data[n * w.cols];
      double sum = 0;
      for (int64_t k = 0; k < x.cols; ++k)
        sum += static_cast<double>(row[k]) * weights[k];
      y[r * w.rows + n] = sum;
    }
  }
  return y;
}

float roundTo(kopt_dtype_t dtype, double value) {
  return static_cast<float>(reference::roundToDType(value, dtype));
}

} // namespace

OutputError linearOutputError(const Matrix &x, const Matrix &w,
                              const Matrix &xApprox, const Matrix &wApprox) {
  OutputErrorSum sum;
  sum.add(linear(x, w), linear(xApprox, wApprox));
  return sum.result();
}

StatusOr<Matrix> fakeQuantize(const Encoding &encoding, const Matrix &w) {
  StatusOr<Packed> packed = quantize(encoding, KOPT_DTYPE_F32, w.data.data(),
                                     w.data.size() * sizeof(float));
  if (!packed.isOk())
    return packed.status();
  std::vector<const void *> parts{packed->qweight.data(),
                                  packed->scales.data()};
  std::vector<size_t> bytes{packed->qweight.size(), packed->scales.size()};
  if (encoding.asymmetric) {
    parts.push_back(packed->zeros.data());
    bytes.push_back(packed->zeros.size());
  }
  StatusOr<std::vector<float>> values = dequantize(encoding, parts, bytes);
  if (!values.isOk())
    return values.status();
  return Matrix{w.rows, w.cols, std::move(*values)};
}

double bitsPerWeight(const Encoding &encoding) {
  double codeBits = encoding.storage == Storage::Int4 ? 4 : 8;
  double perScale =
      dtypeSize(encoding.scale) * 8.0 + (encoding.asymmetric ? 8.0 : 0.0);
  double elementsPerScale =
      encoding.groupSize > 0
          ? static_cast<double>(encoding.groupSize)
          : static_cast<double>(encoding.rows() * encoding.cols());
  return codeBits + perScale / elementsPerScale;
}

StatusOr<ActivationAwareScales>
searchActivationAwareScales(const Encoding &encoding, kopt_dtype_t weightDType,
                            kopt_dtype_t activationDType, const Matrix &x,
                            const Matrix &w) {
  if (x.cols != w.cols || x.rows <= 0)
    return invalidArgument("activation-aware scaling needs calibration rows "
                           "of the weight's K = " +
                           std::to_string(w.cols));
  int64_t k = w.cols;
  std::vector<double> magnitude(k, 0.0);
  for (int64_t r = 0; r < x.rows; ++r)
    for (int64_t c = 0; c < k; ++c)
      magnitude[c] += std::fabs(x.data[r * k + c]) / x.rows;

  ActivationAwareScales best;
  bool first = true;
  for (int step = 0; step <= 10; ++step) {
    double alpha = step / 10.0;
    std::vector<double> scale(k);
    double lo = std::numeric_limits<double>::infinity(), hi = 0;
    for (int64_t c = 0; c < k; ++c) {
      scale[c] = std::pow(std::max(magnitude[c], 1e-8), alpha);
      lo = std::min(lo, scale[c]);
      hi = std::max(hi, scale[c]);
    }
    double center = std::sqrt(lo * hi);
    ActivationAwareScales candidate;
    candidate.alpha = alpha;
    candidate.scale.resize(k);
    candidate.inverse.resize(k);
    for (int64_t c = 0; c < k; ++c) {
      candidate.scale[c] = static_cast<float>(scale[c] / center);
      candidate.inverse[c] = roundTo(activationDType, 1.0 / candidate.scale[c]);
    }
    if (step == 0)
      std::fill(candidate.inverse.begin(), candidate.inverse.end(), 1.0f);
    candidate.scaledWeight = w;
    for (int64_t n = 0; n < w.rows; ++n)
      for (int64_t c = 0; c < k; ++c) {
        float &value = candidate.scaledWeight.data[n * k + c];
        value = roundTo(weightDType, double(value) * candidate.scale[c]);
      }
    StatusOr<Matrix> restored = fakeQuantize(encoding, candidate.scaledWeight);
    if (!restored.isOk())
      return restored.status();
    Matrix xScaled = x;
    for (int64_t r = 0; r < x.rows; ++r)
      for (int64_t c = 0; c < k; ++c) {
        float &value = xScaled.data[r * k + c];
        value = roundTo(activationDType, double(value) * candidate.inverse[c]);
      }
    candidate.error = linearOutputError(x, w, xScaled, *restored);
    if (step == 0)
      best.plainError = candidate.error;
    if (first || candidate.error.relativeL2 < best.error.relativeL2) {
      OutputError plain = best.plainError;
      best = std::move(candidate);
      best.plainError = plain;
      first = false;
    }
  }
  return best;
}

StatusOr<std::vector<size_t>>
choosePrecisions(const std::vector<LayerPrecisions> &layers,
                 double budgetBits) {
  std::vector<size_t> chosen(layers.size(), 0);
  double elements = 0, bits = 0;
  for (const LayerPrecisions &layer : layers) {
    if (layer.options.empty())
      return invalidArgument("every layer needs a precision option");
    elements += layer.elements;
    bits += layer.elements * layer.options[0].bitsPerWeight;
  }
  if (elements == 0)
    return chosen;
  double budget = budgetBits * elements;
  if (bits > budget * (1 + 1e-12))
    return invalidArgument("the budget of " + std::to_string(budgetBits) +
                           " bits per weight is below the " +
                           std::to_string(bits / elements) +
                           " the requested encoding needs");
  while (true) {
    size_t pick = layers.size();
    double bestGain = 0;
    for (size_t i = 0; i < layers.size(); ++i) {
      const LayerPrecisions &layer = layers[i];
      if (chosen[i] + 1 >= layer.options.size())
        continue;
      const PrecisionOption &now = layer.options[chosen[i]],
                            &next = layer.options[chosen[i] + 1];
      double added = layer.elements * (next.bitsPerWeight - now.bitsPerWeight);
      if (bits + added > budget * (1 + 1e-12))
        continue;
      double removed =
          now.relativeL2 * now.relativeL2 - next.relativeL2 * next.relativeL2;
      double gain = removed / std::max(added, 1e-9);
      if (removed > 0 && gain > bestGain) {
        bestGain = gain;
        pick = i;
      }
    }
    if (pick == layers.size())
      return chosen;
    const LayerPrecisions &layer = layers[pick];
    bits += layer.elements * (layer.options[chosen[pick] + 1].bitsPerWeight -
                              layer.options[chosen[pick]].bitsPerWeight);
    ++chosen[pick];
  }
}

} // namespace kopt::rt::quant
