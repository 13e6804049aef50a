//===- Comparison.h - Comparing results with expected outputs ---*- C++ -*-===//
//
// Element-wise `|got - expected| <= atol + rtol * |expected|` (and, when
// asked, a minimum cosine similarity of the whole tensors), NaN matching
// only NaN and an infinity only the same infinity. Shapes and dtypes must
// agree exactly, except that an f32 expectation may check a bf16 or f8
// result (NumPy files cannot hold those, so kopt-run writes them as f32).
//
//===----------------------------------------------------------------------===//

#ifndef KOPT_TOOLS_KOPT_RUN_COMPARISON_H
#define KOPT_TOOLS_KOPT_RUN_COMPARISON_H

#include "kopt/runtime/Npy.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace kopt::run {

struct Tolerance {
  double rtol = 1e-5;
  double atol = 1e-6;
  /// When set, the cosine similarity of the whole tensors (as vectors) must
  /// be at least this too; the summary then also gives it and the relative
  /// L2 error (how quantized models are judged).
  std::optional<double> minCosine;
};

struct Comparison {
  bool matches = false;
  /// "ok (max |diff| 1.2e-07)", or "mismatch at [0, 3]: got 1.5, expected
  /// 1.25 (|diff| 0.25 > tol 1.3e-05)", or why the two cannot be compared.
  std::string summary;
  /// Elements outside the tolerance, and all elements.
  int64_t mismatched = 0, total = 0;
};

Comparison compareTensors(const rt::HostTensor &got,
                          const rt::HostTensor &expected,
                          const Tolerance &tolerance);

} // namespace kopt::run

#endif // KOPT_TOOLS_KOPT_RUN_COMPARISON_H
