//===- WeightInit.cpp - Deterministic random weights for a model ----------===//

#include "WeightInit.h"

#include <cmath>

namespace kopt::weights {
namespace {

/// SplitMix64: a tiny generator with identical output on every platform
/// (std::*_distribution is implementation-defined).
struct SplitMix64 {
  uint64_t state;
  uint64_t next() {
    uint64_t z = (state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  /// Uniform in [0, 1) with 53 random bits.
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
};

uint64_t fnv1a(const std::string &text) {
  uint64_t hash = 0xcbf29ce484222325ull;
  for (unsigned char c : text)
    hash = (hash ^ c) * 0x100000001b3ull;
  return hash;
}

Init uniformFanIn(int64_t fanIn, std::string role) {
  return {Init::Kind::Uniform, 1.0 / std::sqrt(static_cast<double>(fanIn)),
          std::move(role)};
}

} // namespace

Init chooseInit(WeightOp weight) {
  llvm::ArrayRef<int64_t> shape = *getWeightShape(weight.getType());
  int64_t last = shape.empty() ? 1 : std::max<int64_t>(shape.back(), 1);
  for (mlir::OpOperand &use : weight->getUses()) {
    mlir::Operation *user = use.getOwner();
    unsigned index = use.getOperandNumber();
    if (auto linear = mlir::dyn_cast<LinearOp>(user)) {
      int64_t k = getWeightShape(linear.getWeight().getType())->back();
      return uniformFanIn(k, index == 1 ? "linear weight" : "linear bias");
    }
    if (mlir::isa<EmbeddingOp>(user) && index == 0)
      return {Init::Kind::Normal, 0.02, "embedding"};
    if (mlir::isa<RMSNormOp, LayerNormOp>(user))
      return index == 1 ? Init{Init::Kind::NearOne, 0.02, "norm scale"}
                        : Init{Init::Kind::NearZero, 0.02, "norm shift"};
    if (auto moe = mlir::dyn_cast<MoEOp>(user)) {
      // Router and gate/up read Hd features; down reads F.
      return uniformFanIn(last, index == 1 ? "moe router" : "moe expert");
    }
  }
  return uniformFanIn(last, "other (uniform over the last dim)");
}

std::vector<double> sample(const Init &init, uint64_t seed,
                           const std::string &name, int64_t count) {
  SplitMix64 rng{seed ^ fnv1a(name)};
  std::vector<double> values(static_cast<size_t>(count));
  for (int64_t i = 0; i < count; ++i) {
    switch (init.kind) {
    case Init::Kind::Uniform:
      values[i] = (2.0 * rng.uniform() - 1.0) * init.scale;
      break;
    case Init::Kind::Normal: {
      // Box-Muller; 1 - u keeps the logarithm finite.
      double u = 1.0 - rng.uniform(), v = rng.uniform();
      values[i] = init.scale * std::sqrt(-2.0 * std::log(u)) *
                  std::cos(2.0 * M_PI * v);
      break;
    }
    case Init::Kind::NearOne:
      values[i] = 1.0 + (2.0 * rng.uniform() - 1.0) * init.scale;
      break;
    case Init::Kind::NearZero:
      values[i] = (2.0 * rng.uniform() - 1.0) * init.scale;
      break;
    }
  }
  return values;
}

} // namespace kopt::weights
