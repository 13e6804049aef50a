//===- MoE.cpp - The Mixtral sparse mixture-of-experts block --------------===//
//
// kopt.moe: per token, router probabilities p = softmax(x @ router^T), the
// top_k experts (ties to the lower expert index; renormalised to sum 1 if
// normalize_topk), and out = sum_k p_k * (silu(x Wg_e^T) * (x Wu_e^T)) Wd_e^T.
// Everything is computed in double and rounded once to the result dtype.
//
//===----------------------------------------------------------------------===//

#include "Kernels.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace kopt::rt::reference {

Status evalMoE(const OpContext &ctx, std::vector<Value> &results) {
  KOPT_RETURN_IF_ERROR(ctx.checkOperandCount(5, 5));
  KOPT_RETURN_IF_ERROR(ctx.checkResultCount(1));
  KOPT_RETURN_IF_ERROR(ctx.checkFloat(0, "input"));
  KOPT_RETURN_IF_ERROR(ctx.checkRank(0, "input", 2));
  for (size_t i = 1; i < 5; ++i)
    KOPT_RETURN_IF_ERROR(ctx.checkSameDType(0, i));
  const Value &x = ctx.operand(0), &router = ctx.operand(1),
              &gate = ctx.operand(2), &up = ctx.operand(3),
              &down = ctx.operand(4);
  int64_t tokens = x.shape[0], hidden = x.shape[1];
  KOPT_RETURN_IF_ERROR(ctx.checkRank(1, "router", 2));
  int64_t experts = router.shape[0];
  KOPT_RETURN_IF_ERROR(ctx.checkShape(1, "router", {experts, hidden}));
  KOPT_RETURN_IF_ERROR(ctx.checkRank(2, "w_gate", 3));
  int64_t ffn = gate.shape[1];
  KOPT_RETURN_IF_ERROR(ctx.checkShape(2, "w_gate", {experts, ffn, hidden}));
  KOPT_RETURN_IF_ERROR(ctx.checkShape(3, "w_up", {experts, ffn, hidden}));
  KOPT_RETURN_IF_ERROR(ctx.checkShape(4, "w_down", {experts, hidden, ffn}));
  int64_t topK;
  bool normalize;
  KOPT_RETURN_IF_ERROR(ctx.intAttr("top_k", std::nullopt, topK));
  KOPT_RETURN_IF_ERROR(ctx.boolAttr("normalize_topk", false, normalize));
  if (topK < 1 || topK > experts)
    return ctx.invalid("top_k must be in [1, E = " + std::to_string(experts) +
                       "], got " + std::to_string(topK));

  Value out;
  KOPT_RETURN_IF_ERROR(ctx.makeValue(x.dtype, x.shape, out));
  std::vector<double> probabilities(static_cast<size_t>(experts));
  std::vector<int64_t> order(static_cast<size_t>(experts));
  std::vector<double> hiddenActivation(static_cast<size_t>(ffn));
  for (int64_t t = 0; t < tokens; ++t) {
    const double *token = x.data.data() + t * hidden;
    // Router logits, then softmax over the experts.
    for (int64_t e = 0; e < experts; ++e) {
      double logit = 0.0;
      for (int64_t i = 0; i < hidden; ++i)
        logit += token[i] * router.data[e * hidden + i];
      probabilities[e] = logit;
    }
    double maximum = nanMax(probabilities);
    double sum = 0.0;
    for (double &p : probabilities) {
      p = std::exp(p - maximum);
      sum += p;
    }
    for (double &p : probabilities)
      p /= sum;
    // The top_k experts, highest probability first.
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
      return ranksBefore(probabilities[a], probabilities[b]);
    });
    double selectedSum = 0.0;
    for (int64_t r = 0; r < topK; ++r)
      selectedSum += probabilities[order[r]];
    double *result = out.data.data() + t * hidden;
    for (int64_t r = 0; r < topK; ++r) {
      int64_t e = order[r];
      double weight = probabilities[e];
      if (normalize)
        weight /= selectedSum;
      // silu(x Wg^T) * (x Wu^T), one value per FFN unit.
      for (int64_t f = 0; f < ffn; ++f) {
        const double *gateRow = gate.data.data() + (e * ffn + f) * hidden;
        const double *upRow = up.data.data() + (e * ffn + f) * hidden;
        double g = 0.0, u = 0.0;
        for (int64_t i = 0; i < hidden; ++i) {
          g += token[i] * gateRow[i];
          u += token[i] * upRow[i];
        }
        hiddenActivation[f] = g / (1.0 + std::exp(-g)) * u;
      }
      // ... @ Wd^T, scaled by the routing weight.
      for (int64_t i = 0; i < hidden; ++i) {
        const double *downRow = down.data.data() + (e * hidden + i) * ffn;
        double sumOut = 0.0;
        for (int64_t f = 0; f < ffn; ++f)
          sumOut += hiddenActivation[f] * downRow[f];
        result[i] += weight * sumOut;
      }
    }
  }
  results.push_back(std::move(out));
  return Status::ok();
}

} // namespace kopt::rt::reference
