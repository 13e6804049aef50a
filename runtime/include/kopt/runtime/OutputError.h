//===- OutputError.h - How far approximate outputs are from exact ones -*- C++
//-*-===//
//
// Relative L2 error and cosine similarity of an approximate tensor against
// an exact one, accumulated element by element (and mergeable), as
// `kopt-run --min_cosine` and quantization calibration judge outputs.
//
//===----------------------------------------------------------------------===//

#ifndef KOPT_RUNTIME_OUTPUTERROR_H
#define KOPT_RUNTIME_OUTPUTERROR_H

#include <cmath>
#include <vector>

namespace kopt::rt {

struct OutputError {
  /// ||approx - exact|| / ||exact||; the absolute ||approx|| when exact is 0.
  double relativeL2 = 0;
  /// cos(exact, approx): 1 when both are 0, 0 when only one is.
  double cosine = 1;
};

struct OutputErrorSum {
  double diff = 0, norm = 0, normApprox = 0, dot = 0;

  void add(double exact, double approx) {
    diff += (approx - exact) * (approx - exact);
    norm += exact * exact;
    normApprox += approx * approx;
    dot += exact * approx;
  }
  /// Adds elements pairwise (the shorter length).
  void add(const std::vector<double> &exact,
           const std::vector<double> &approx) {
    for (size_t i = 0; i < exact.size() && i < approx.size(); ++i)
      add(exact[i], approx[i]);
  }
  void merge(const OutputErrorSum &other) {
    diff += other.diff;
    norm += other.norm;
    normApprox += other.normApprox;
    dot += other.dot;
  }
  OutputError result() const {
    OutputError error;
    error.relativeL2 = norm > 0 ? std::sqrt(diff / norm) : std::sqrt(diff);
    error.cosine = norm > 0 && normApprox > 0
                       ? dot / std::sqrt(norm * normApprox)
                       : (norm == normApprox ? 1.0 : 0.0);
    return error;
  }
};

} // namespace kopt::rt

#endif // KOPT_RUNTIME_OUTPUTERROR_H
