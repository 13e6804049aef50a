//===- WeightInit.h - Deterministic random weights for a model --*- C++ -*-===//
//
// How kopt-weights initialises each kopt.weight, decided by how the model
// uses it, with a counter-based generator so a weight's values depend only
// on the seed and its name (not on the order of the model).
//
//===----------------------------------------------------------------------===//

#ifndef KOPT_TOOLS_KOPTWEIGHTS_WEIGHTINIT_H
#define KOPT_TOOLS_KOPTWEIGHTS_WEIGHTINIT_H

#include "kopt/Dialect/Kopt/KoptOps.h"

#include <cstdint>
#include <string>
#include <vector>

namespace kopt::weights {

/// The distribution a weight is drawn from.
struct Init {
  enum class Kind {
    Uniform, ///< U(-bound, bound): linear weights and biases (bound 1/sqrt(K))
    Normal,  ///< N(mean, stddev): embeddings (0, 0.02)
    NearOne, ///< 1 + U(-0.02, 0.02): norm scales
    NearZero ///< U(-0.02, 0.02): norm shifts
  };
  Kind kind = Kind::Uniform;
  double scale = 1.0;
  /// How the role was decided, for --verbose and for the user.
  std::string role;
};

/// Chooses the initialisation of `weight` from its uses.
Init chooseInit(WeightOp weight);

/// `count` values of `init`, seeded by `seed` and `name`.
std::vector<double> sample(const Init &init, uint64_t seed,
                           const std::string &name, int64_t count);

} // namespace kopt::weights

#endif // KOPT_TOOLS_KOPTWEIGHTS_WEIGHTINIT_H
