//===- Attention.cpp - RoPE, attention, KV cache, linear attention --------===//
//
// kopt.rope (HF Llama rotate-half, frequencies and angles in f32),
// kopt.attention (the "Attention, exactly" rules of DIALECT.md: GQA head
// mapping, p_i = L - Sq + i, visibility j < L, causal j <= p_i, window
// p_i - j < W, rows with no visible key output zeros), kopt.cache_update
// (bounds checked per batch row) and kopt.linear_attention (recurrent form
// with per-head decay, state kept in double).
//
//===----------------------------------------------------------------------===//

#include "Kernels.h"

#include "kopt/runtime/DType.h"

#include <cmath>

namespace kopt::rt::reference {
namespace {

/// Operands 0..2 are float rank-4 query, key and value of one dtype.
Status checkQueryKeyValue(const OpContext &ctx) {
  const char *names[] = {"query", "key", "value"};
  for (size_t i = 0; i < 3; ++i) {
    KOPT_RETURN_IF_ERROR(ctx.checkFloat(i, names[i]));
    KOPT_RETURN_IF_ERROR(ctx.checkRank(i, names[i], 4));
  }
  KOPT_RETURN_IF_ERROR(ctx.checkSameDType(0, 1));
  KOPT_RETURN_IF_ERROR(ctx.checkSameDType(0, 2));
  return Status::ok();
}

} // namespace

Status evalRope(const OpContext &ctx, std::vector<Value> &results) {
  KOPT_RETURN_IF_ERROR(ctx.checkOperandCount(2, 2));
  KOPT_RETURN_IF_ERROR(ctx.checkResultCount(1));
  KOPT_RETURN_IF_ERROR(ctx.checkFloat(0, "input"));
  KOPT_RETURN_IF_ERROR(ctx.checkRank(0, "input", 4));
  KOPT_RETURN_IF_ERROR(ctx.checkIndex(1, "positions"));
  const Value &x = ctx.operand(0), &positions = ctx.operand(1);
  int64_t b = x.shape[0], s = x.shape[1], h = x.shape[2], d = x.shape[3];
  KOPT_RETURN_IF_ERROR(ctx.checkShape(1, "positions", {b, s}));
  double theta;
  int64_t rotary;
  KOPT_RETURN_IF_ERROR(ctx.floatAttr("theta", 10000.0, theta));
  if (!(theta > 0.0) || !std::isfinite(theta))
    return ctx.invalid("theta must be finite and > 0, got " +
                       std::to_string(theta));
  KOPT_RETURN_IF_ERROR(ctx.intAttr("rotary_dim", d, rotary));
  if (rotary < 2 || rotary % 2 != 0 || rotary > d)
    return ctx.invalid("rotary_dim must be even and in [2, D = " +
                       std::to_string(d) + "], got " + std::to_string(rotary));
  int64_t half = rotary / 2;
  // inv_freq = 1 / theta^(2i / rotary_dim), in f32 as HF computes it.
  std::vector<float> inverseFrequency(static_cast<size_t>(half));
  for (int64_t i = 0; i < half; ++i) {
    float exponent = static_cast<float>(2 * i) / static_cast<float>(rotary);
    inverseFrequency[i] = 1.0f / std::pow(static_cast<float>(theta), exponent);
  }
  Value out;
  KOPT_RETURN_IF_ERROR(ctx.makeValue(x.dtype, x.shape, out));
  std::vector<double> cosines(static_cast<size_t>(half)),
      sines(static_cast<size_t>(half));
  for (int64_t bi = 0; bi < b; ++bi) {
    for (int64_t si = 0; si < s; ++si) {
      auto position = static_cast<float>(positions.data[bi * s + si]);
      for (int64_t i = 0; i < half; ++i) {
        // The angle is an f32 product; cos and sin are rounded to f32.
        float angle = position * inverseFrequency[i];
        cosines[i] = static_cast<float>(std::cos(static_cast<double>(angle)));
        sines[i] = static_cast<float>(std::sin(static_cast<double>(angle)));
      }
      for (int64_t hi = 0; hi < h; ++hi) {
        int64_t base = ((bi * s + si) * h + hi) * d;
        const double *in = x.data.data() + base;
        double *result = out.data.data() + base;
        for (int64_t i = 0; i < half; ++i) {
          // x * cos + rotate_half(x) * sin, rotate_half(x) = [-x2, x1].
          result[i] = in[i] * cosines[i] - in[i + half] * sines[i];
          result[i + half] = in[i + half] * cosines[i] + in[i] * sines[i];
        }
        for (int64_t i = rotary; i < d; ++i)
          result[i] = in[i];
      }
    }
  }
  results.push_back(std::move(out));
  return Status::ok();
}

Status evalAttention(const OpContext &ctx, std::vector<Value> &results) {
  KOPT_RETURN_IF_ERROR(ctx.checkOperandCount(3, 4));
  KOPT_RETURN_IF_ERROR(ctx.checkResultCount(1));
  KOPT_RETURN_IF_ERROR(checkQueryKeyValue(ctx));
  const Value &q = ctx.operand(0), &k = ctx.operand(1), &v = ctx.operand(2);
  int64_t batch = q.shape[0], sq = q.shape[1], hq = q.shape[2], d = q.shape[3];
  int64_t skv = k.shape[1], hkv = k.shape[2];
  KOPT_RETURN_IF_ERROR(ctx.checkShape(2, "value", k.shape));
  if (k.shape[0] != batch || k.shape[3] != d)
    return ctx.invalid("key/value " + formatShape(k.shape) +
                       " must match query " + formatShape(q.shape) +
                       " in B and D");
  if (hkv == 0 || hq % hkv != 0)
    return ctx.invalid("query heads (" + std::to_string(hq) +
                       ") must be a multiple of kv heads (" +
                       std::to_string(hkv) + ")");
  const Value *kvLen = nullptr;
  if (ctx.numOperands() == 4) {
    KOPT_RETURN_IF_ERROR(ctx.checkIndex(3, "kv_len"));
    KOPT_RETURN_IF_ERROR(ctx.checkShape(3, "kv_len", {batch}));
    kvLen = &ctx.operand(3);
  }
  bool causal;
  int64_t window;
  double scale;
  KOPT_RETURN_IF_ERROR(ctx.boolAttr("causal", false, causal));
  KOPT_RETURN_IF_ERROR(ctx.intAttr("window", 0, window));
  if (window < 0)
    return ctx.invalid("window must be >= 0 (0 = no window), got " +
                       std::to_string(window));
  KOPT_RETURN_IF_ERROR(
      ctx.floatAttr("scale", 1.0 / std::sqrt(static_cast<double>(d)), scale));
  if (!(scale > 0.0) || !std::isfinite(scale))
    return ctx.invalid("scale must be finite and > 0, got " +
                       std::to_string(scale));

  Value out;
  KOPT_RETURN_IF_ERROR(ctx.makeValue(q.dtype, q.shape, out));
  int64_t group = hq / hkv;
  std::vector<double> scores(static_cast<size_t>(skv));
  std::vector<bool> visible(static_cast<size_t>(skv));
  for (int64_t b = 0; b < batch; ++b) {
    int64_t length = skv;
    if (kvLen) {
      double l = kvLen->data[b];
      if (!(l >= 0.0 && l <= static_cast<double>(skv)))
        return ctx.error(KOPT_STATUS_OUT_OF_RANGE,
                         "kv_len[" + std::to_string(b) +
                             "] = " + formatInteger(l) + " is outside [0, " +
                             std::to_string(skv) + "]");
      length = static_cast<int64_t>(l);
    }
    for (int64_t h = 0; h < hq; ++h) {
      int64_t kvHead = h / group;
      for (int64_t i = 0; i < sq; ++i) {
        int64_t position = length - sq + i;
        double maximum = -INFINITY;
        bool any = false, anyNaN = false;
        for (int64_t j = 0; j < skv; ++j) {
          visible[j] = j < length && (!causal || j <= position) &&
                       (window == 0 || position - j < window);
          if (!visible[j])
            continue;
          const double *qRow = q.data.data() + ((b * sq + i) * hq + h) * d;
          const double *kRow =
              k.data.data() + ((b * skv + j) * hkv + kvHead) * d;
          double dot = 0.0;
          for (int64_t e = 0; e < d; ++e)
            dot += qRow[e] * kRow[e];
          scores[j] = dot * scale;
          any = true;
          anyNaN = anyNaN || std::isnan(scores[j]);
          if (scores[j] > maximum)
            maximum = scores[j];
        }
        double *outRow = out.data.data() + ((b * sq + i) * hq + h) * d;
        if (!any)
          continue; // no visible key: the row stays zero
        if (anyNaN)
          maximum = NAN;
        double sum = 0.0;
        for (int64_t j = 0; j < skv; ++j) {
          if (!visible[j])
            continue;
          scores[j] = std::exp(scores[j] - maximum);
          sum += scores[j];
        }
        for (int64_t j = 0; j < skv; ++j) {
          if (!visible[j])
            continue;
          double weight = scores[j] / sum;
          const double *vRow =
              v.data.data() + ((b * skv + j) * hkv + kvHead) * d;
          for (int64_t e = 0; e < d; ++e)
            outRow[e] += weight * vRow[e];
        }
      }
    }
  }
  results.push_back(std::move(out));
  return Status::ok();
}

Status evalCacheUpdate(const OpContext &ctx, std::vector<Value> &results) {
  KOPT_RETURN_IF_ERROR(ctx.checkOperandCount(3, 3));
  KOPT_RETURN_IF_ERROR(ctx.checkResultCount(1));
  KOPT_RETURN_IF_ERROR(ctx.checkRank(0, "cache", 4));
  KOPT_RETURN_IF_ERROR(ctx.checkRank(1, "update", 4));
  KOPT_RETURN_IF_ERROR(ctx.checkSameDType(0, 1));
  KOPT_RETURN_IF_ERROR(ctx.checkIndex(2, "offset"));
  const Value &cache = ctx.operand(0), &update = ctx.operand(1),
              &offset = ctx.operand(2);
  int64_t batch = cache.shape[0], smax = cache.shape[1], h = cache.shape[2],
          d = cache.shape[3], s = update.shape[1];
  if (update.shape[0] != batch || update.shape[2] != h || update.shape[3] != d)
    return ctx.invalid("update " + formatShape(update.shape) +
                       " must match cache " + formatShape(cache.shape) +
                       " in B, H and D");
  KOPT_RETURN_IF_ERROR(ctx.checkShape(2, "offset", {batch}));
  Value out;
  KOPT_RETURN_IF_ERROR(ctx.makeValue(cache.dtype, cache.shape, out));
  out.data = cache.data;
  int64_t row = h * d;
  for (int64_t b = 0; b < batch; ++b) {
    double start = offset.data[b];
    if (!(start >= 0.0 &&
          start + static_cast<double>(s) <= static_cast<double>(smax)))
      return ctx.error(KOPT_STATUS_OUT_OF_RANGE,
                       "offset[" + std::to_string(b) + "] = " +
                           formatInteger(start) + " with " + std::to_string(s) +
                           " new positions writes outside the cache of "
                           "length " +
                           std::to_string(smax));
    auto first = static_cast<int64_t>(start);
    for (int64_t t = 0; t < s; ++t)
      for (int64_t e = 0; e < row; ++e)
        out.data[((b * smax) + first + t) * row + e] =
            update.data[((b * s) + t) * row + e];
  }
  results.push_back(std::move(out));
  return Status::ok();
}

Status evalLinearAttention(const OpContext &ctx, std::vector<Value> &results) {
  KOPT_RETURN_IF_ERROR(ctx.checkOperandCount(3, 4));
  KOPT_RETURN_IF_ERROR(ctx.checkResultCount(2));
  KOPT_RETURN_IF_ERROR(checkQueryKeyValue(ctx));
  const Value &q = ctx.operand(0), &k = ctx.operand(1), &v = ctx.operand(2);
  KOPT_RETURN_IF_ERROR(ctx.checkShape(1, "key", q.shape));
  KOPT_RETURN_IF_ERROR(ctx.checkShape(2, "value", q.shape));
  int64_t batch = q.shape[0], s = q.shape[1], h = q.shape[2], d = q.shape[3];
  const Value *initial = nullptr;
  kopt_dtype_t stateDType = ctx.resultType(1).dtype;
  if (ctx.numOperands() == 4) {
    KOPT_RETURN_IF_ERROR(ctx.checkFloat(3, "state"));
    KOPT_RETURN_IF_ERROR(ctx.checkShape(3, "state", {batch, h, d, d}));
    initial = &ctx.operand(3);
    stateDType = initial->dtype;
  }
  if (!isFloatDType(stateDType))
    return ctx.invalid("the final state must be floating-point, got " +
                       std::string(dtypeName(stateDType)));
  std::vector<double> decay;
  KOPT_RETURN_IF_ERROR(ctx.floatArrayAttr("decay", decay));
  if (!ctx.hasAttr("decay"))
    decay.assign(static_cast<size_t>(h), 1.0);
  if (static_cast<int64_t>(decay.size()) != h)
    return ctx.invalid("decay must have one value per head (" +
                       std::to_string(h) + "), got " +
                       std::to_string(decay.size()));
  for (double value : decay)
    if (!(value >= 0.0 && value <= 1.0))
      return ctx.invalid("decay values must be in [0, 1], got " +
                         std::to_string(value));

  Value out, state;
  KOPT_RETURN_IF_ERROR(ctx.makeValue(q.dtype, q.shape, out));
  KOPT_RETURN_IF_ERROR(ctx.makeValue(stateDType, {batch, h, d, d}, state));
  if (initial)
    state.data = initial->data;
  for (int64_t b = 0; b < batch; ++b) {
    for (int64_t hi = 0; hi < h; ++hi) {
      double *st = state.data.data() + (b * h + hi) * d * d;
      for (int64_t t = 0; t < s; ++t) {
        int64_t at = ((b * s + t) * h + hi) * d;
        // S_t = decay_h * S_{t-1} + k_t^T v_t.
        for (int64_t r = 0; r < d; ++r)
          for (int64_t c = 0; c < d; ++c)
            st[r * d + c] =
                decay[hi] * st[r * d + c] + k.data[at + r] * v.data[at + c];
        // o_t = q_t S_t.
        for (int64_t c = 0; c < d; ++c) {
          double sum = 0.0;
          for (int64_t r = 0; r < d; ++r)
            sum += q.data[at + r] * st[r * d + c];
          out.data[at + c] = sum;
        }
      }
    }
  }
  results.push_back(std::move(out));
  results.push_back(std::move(state));
  return Status::ok();
}

} // namespace kopt::rt::reference
