//===- Comparison.cpp - Comparing results with expected outputs -----------===//

#include "Comparison.h"

#include "TensorLiteral.h"
#include "kopt/runtime/DType.h"
#include "kopt/runtime/OutputError.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

namespace kopt::run {
namespace {

std::string number(const char *format, double value) {
  char text[64];
  std::snprintf(text, sizeof(text), format, value);
  return text;
}

/// "[0, 3]" for flat `index` of `shape`.
std::string indexText(const std::vector<int64_t> &shape, int64_t index) {
  std::vector<int64_t> coordinates(shape.size());
  for (size_t d = shape.size(); d-- > 0;) {
    coordinates[d] = index % shape[d];
    index /= shape[d];
  }
  std::string text = "[";
  for (size_t d = 0; d < coordinates.size(); ++d)
    text += (d ? ", " : "") + std::to_string(coordinates[d]);
  return text + "]";
}

} // namespace

Comparison compareTensors(const rt::HostTensor &got,
                          const rt::HostTensor &expected,
                          const Tolerance &tolerance) {
  Comparison result;
  bool widened =
      expected.dtype == KOPT_DTYPE_F32 &&
      (got.dtype == KOPT_DTYPE_BF16 || got.dtype == KOPT_DTYPE_F8E4M3 ||
       got.dtype == KOPT_DTYPE_F8E5M2);
  if (got.dtype != expected.dtype && !widened) {
    result.summary = "is " + typeText(got) + " but the expected output is " +
                     typeText(expected);
    return result;
  }
  if (got.shape != expected.shape) {
    result.summary = "has shape " + typeText(got) +
                     " but the expected output is " + typeText(expected);
    return result;
  }
  result.total = got.numElements();
  double maxDiff = 0;
  rt::OutputErrorSum similarity;
  int64_t worst = -1;
  double worstExcess = -1, worstDiff = 0, worstTol = 0;
  for (int64_t i = 0; i < result.total; ++i) {
    double a = elementAsDouble(got, i), e = elementAsDouble(expected, i);
    double diff, tol = tolerance.atol + tolerance.rtol * std::fabs(e);
    if (std::isfinite(a) && std::isfinite(e))
      similarity.add(e, a);
    bool ok;
    if (std::isnan(a) || std::isnan(e)) {
      ok = std::isnan(a) && std::isnan(e);
      diff = ok ? 0 : std::numeric_limits<double>::quiet_NaN();
    } else if (std::isinf(a) || std::isinf(e)) {
      ok = a == e;
      diff = ok ? 0 : std::numeric_limits<double>::infinity();
    } else {
      diff = std::fabs(a - e);
      ok = diff <= tol;
    }
    if (ok) {
      maxDiff = std::max(maxDiff, diff);
      continue;
    }
    ++result.mismatched;
    double excess =
        std::isnan(diff) ? std::numeric_limits<double>::infinity() : diff - tol;
    if (excess > worstExcess) {
      worst = i;
      worstExcess = excess;
      worstDiff = diff;
      worstTol = tol;
    }
  }
  std::string similarityText;
  bool similar = true;
  if (tolerance.minCosine) {
    rt::OutputError error = similarity.result();
    similar = error.cosine >= *tolerance.minCosine;
    similarityText = ", cosine " + number("%.6f", error.cosine) + ", rel L2 " +
                     number("%.3g", error.relativeL2);
    if (!similar)
      similarityText +=
          " (cosine below " + number("%.6g", *tolerance.minCosine) + ")";
  }
  if (worst < 0) {
    result.matches = similar;
    result.summary = std::string(similar ? "ok" : "mismatch") +
                     " (max |diff| " + number("%.3g", maxDiff) +
                     similarityText + ")";
    return result;
  }
  std::string why = std::isnan(worstDiff)
                        ? "NaN matches only NaN"
                        : "|diff| " + number("%.3g", worstDiff) + " > tol " +
                              number("%.3g", worstTol);
  result.summary = "mismatch at " + indexText(got.shape, worst) + ": got " +
                   formatElement(got, worst) + ", expected " +
                   formatElement(expected, worst) + " (" + why +
                   similarityText + ")";
  return result;
}

} // namespace kopt::run
