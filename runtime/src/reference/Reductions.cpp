//===- Reductions.cpp - Norms, softmax and reductions ---------------------===//
//
// kopt.rmsnorm, kopt.layernorm, kopt.l2norm, kopt.softmax,
// kopt.reduce_mean/sum/max, kopt.argmax and kopt.topk. Every reduction
// accumulates in double; rmsnorm rounds its normalised value to the input
// dtype before the weight multiply, as HF LlamaRMSNorm does.
//
//===----------------------------------------------------------------------===//

#include "Kernels.h"

#include "kopt/runtime/DType.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace kopt::rt::reference {
namespace {

/// Reads attribute "epsilon" (default `fallback`), finite and >= 0.
Status epsilonAttr(const OpContext &ctx, double fallback, double &out) {
  KOPT_RETURN_IF_ERROR(ctx.floatAttr("epsilon", fallback, out));
  if (!(out >= 0.0) || !std::isfinite(out))
    return ctx.invalid("epsilon must be finite and >= 0, got " +
                       std::to_string(out));
  return Status::ok();
}

/// Checks the `[..., D]` input and `[D]` parameters of rmsnorm/layernorm;
/// returns D.
Status checkNormOperands(const OpContext &ctx, int64_t &d) {
  KOPT_RETURN_IF_ERROR(ctx.checkFloat(0, "input"));
  const Value &x = ctx.operand(0);
  if (x.shape.empty())
    return ctx.invalid("input must have rank >= 1 ([..., D])");
  d = x.shape.back();
  for (size_t i = 1; i < ctx.numOperands(); ++i) {
    KOPT_RETURN_IF_ERROR(ctx.checkFloat(i, i == 1 ? "weight" : "bias"));
    KOPT_RETURN_IF_ERROR(ctx.checkShape(i, i == 1 ? "weight" : "bias", {d}));
  }
  return Status::ok();
}

} // namespace

Status evalRMSNorm(const OpContext &ctx, std::vector<Value> &results) {
  KOPT_RETURN_IF_ERROR(ctx.checkOperandCount(2, 2));
  KOPT_RETURN_IF_ERROR(ctx.checkResultCount(1));
  int64_t d;
  KOPT_RETURN_IF_ERROR(checkNormOperands(ctx, d));
  double eps;
  KOPT_RETURN_IF_ERROR(epsilonAttr(ctx, 1e-6, eps));
  const Value &x = ctx.operand(0), &w = ctx.operand(1);
  Value out;
  KOPT_RETURN_IF_ERROR(ctx.makeValue(x.dtype, x.shape, out));
  int64_t rows = dimProduct(x.shape, 0, x.shape.size() - 1);
  for (int64_t r = 0; r < rows; ++r) {
    const double *row = x.data.data() + r * d;
    double sumSquares = 0.0;
    for (int64_t i = 0; i < d; ++i)
      sumSquares += row[i] * row[i];
    double inverseRms =
        1.0 / std::sqrt(sumSquares / static_cast<double>(d) + eps);
    for (int64_t i = 0; i < d; ++i) {
      // `(x * rsqrt(...)).to(x.dtype) * w`: round before the weight.
      double normalised = roundToDType(row[i] * inverseRms, x.dtype);
      out.data[r * d + i] = normalised * w.data[i];
    }
  }
  results.push_back(std::move(out));
  return Status::ok();
}

Status evalLayerNorm(const OpContext &ctx, std::vector<Value> &results) {
  KOPT_RETURN_IF_ERROR(ctx.checkOperandCount(3, 3));
  KOPT_RETURN_IF_ERROR(ctx.checkResultCount(1));
  int64_t d;
  KOPT_RETURN_IF_ERROR(checkNormOperands(ctx, d));
  double eps;
  KOPT_RETURN_IF_ERROR(epsilonAttr(ctx, 1e-5, eps));
  const Value &x = ctx.operand(0), &w = ctx.operand(1), &b = ctx.operand(2);
  Value out;
  KOPT_RETURN_IF_ERROR(ctx.makeValue(x.dtype, x.shape, out));
  int64_t rows = dimProduct(x.shape, 0, x.shape.size() - 1);
  for (int64_t r = 0; r < rows; ++r) {
    const double *row = x.data.data() + r * d;
    double sum = 0.0;
    for (int64_t i = 0; i < d; ++i)
      sum += row[i];
    double mean = sum / static_cast<double>(d);
    double sumSquares = 0.0;
    for (int64_t i = 0; i < d; ++i)
      sumSquares += (row[i] - mean) * (row[i] - mean);
    double variance = sumSquares / static_cast<double>(d); // biased, as torch
    double inverseStd = 1.0 / std::sqrt(variance + eps);
    for (int64_t i = 0; i < d; ++i)
      out.data[r * d + i] =
          (row[i] - mean) * inverseStd * w.data[i] + b.data[i];
  }
  results.push_back(std::move(out));
  return Status::ok();
}

Status evalL2Norm(const OpContext &ctx, std::vector<Value> &results) {
  KOPT_RETURN_IF_ERROR(ctx.checkOperandCount(1, 1));
  KOPT_RETURN_IF_ERROR(ctx.checkResultCount(1));
  KOPT_RETURN_IF_ERROR(ctx.checkFloat(0, "input"));
  const Value &x = ctx.operand(0);
  size_t axis;
  KOPT_RETURN_IF_ERROR(ctx.axisAttr(-1, x.shape.size(), axis));
  double eps;
  KOPT_RETURN_IF_ERROR(epsilonAttr(ctx, 1e-12, eps));
  Value out;
  KOPT_RETURN_IF_ERROR(ctx.makeValue(x.dtype, x.shape, out));
  AxisLayout layout = layoutAround(x.shape, axis);
  for (int64_t o = 0; o < layout.outer; ++o) {
    for (int64_t i = 0; i < layout.inner; ++i) {
      double sumSquares = 0.0;
      for (int64_t j = 0; j < layout.size; ++j) {
        double v = x.data[layout.offset(o, j, i)];
        sumSquares += v * v;
      }
      double norm = std::sqrt(sumSquares);
      // norm.clamp_min(eps): NaN stays NaN.
      double denominator = norm < eps ? eps : norm;
      for (int64_t j = 0; j < layout.size; ++j) {
        int64_t at = layout.offset(o, j, i);
        out.data[at] = x.data[at] / denominator;
      }
    }
  }
  results.push_back(std::move(out));
  return Status::ok();
}

Status evalSoftmax(const OpContext &ctx, std::vector<Value> &results) {
  KOPT_RETURN_IF_ERROR(ctx.checkOperandCount(1, 1));
  KOPT_RETURN_IF_ERROR(ctx.checkResultCount(1));
  KOPT_RETURN_IF_ERROR(ctx.checkFloat(0, "input"));
  const Value &x = ctx.operand(0);
  size_t axis;
  KOPT_RETURN_IF_ERROR(ctx.axisAttr(-1, x.shape.size(), axis));
  Value out;
  KOPT_RETURN_IF_ERROR(ctx.makeValue(x.dtype, x.shape, out));
  AxisLayout layout = layoutAround(x.shape, axis);
  std::vector<double> line(static_cast<size_t>(layout.size));
  for (int64_t o = 0; o < layout.outer; ++o) {
    for (int64_t i = 0; i < layout.inner; ++i) {
      for (int64_t j = 0; j < layout.size; ++j)
        line[j] = x.data[layout.offset(o, j, i)];
      // A NaN anywhere, +inf, or an all -inf line makes the whole line NaN,
      // as in torch.
      double maximum = nanMax(line);
      double sum = 0.0;
      for (double &v : line) {
        v = std::exp(v - maximum);
        sum += v;
      }
      for (int64_t j = 0; j < layout.size; ++j)
        out.data[layout.offset(o, j, i)] = line[j] / sum;
    }
  }
  results.push_back(std::move(out));
  return Status::ok();
}

Status evalReduce(const OpContext &ctx, std::vector<Value> &results) {
  KOPT_RETURN_IF_ERROR(ctx.checkOperandCount(1, 1));
  KOPT_RETURN_IF_ERROR(ctx.checkResultCount(1));
  const Value &x = ctx.operand(0);
  size_t rank = x.shape.size();
  std::vector<int64_t> axes;
  KOPT_RETURN_IF_ERROR(ctx.intArrayAttr("axes", axes));
  if (axes.empty())
    return ctx.invalid("axes must not be empty");
  bool keepdim;
  KOPT_RETURN_IF_ERROR(ctx.boolAttr("keepdim", false, keepdim));
  std::vector<bool> reduced(rank, false);
  for (int64_t axisAttr : axes) {
    size_t axis;
    KOPT_RETURN_IF_ERROR(ctx.normalizeAxis(axisAttr, rank, axis));
    if (reduced[axis])
      return ctx.invalid("axis " + std::to_string(axisAttr) +
                         " appears more than once in axes");
    reduced[axis] = true;
  }
  // The kept dims, their strides, and the stride of each input dim in the
  // output (0 for reduced dims).
  std::vector<int64_t> keptShape, outShape;
  int64_t reducedCount = 1;
  for (size_t d = 0; d < rank; ++d) {
    if (!reduced[d])
      keptShape.push_back(x.shape[d]);
    else
      reducedCount *= x.shape[d];
    if (!reduced[d] || keepdim)
      outShape.push_back(reduced[d] ? 1 : x.shape[d]);
  }
  std::vector<int64_t> keptStrides = stridesOf(keptShape);
  std::vector<int64_t> outStrideOf(rank, 0);
  for (size_t d = 0, k = 0; d < rank; ++d)
    if (!reduced[d])
      outStrideOf[d] = keptStrides[k++];

  bool isMax = ctx.op() == "kopt.reduce_max";
  if (isMax && reducedCount == 0)
    return ctx.invalid("reduce_max over an empty dim " + formatShape(x.shape));
  Value out;
  KOPT_RETURN_IF_ERROR(ctx.makeValue(x.dtype, outShape, out));
  if (isMax)
    std::fill(out.data.begin(), out.data.end(), -INFINITY);
  std::vector<int64_t> index(rank, 0);
  for (size_t linear = 0; linear < x.data.size(); ++linear) {
    int64_t at = 0;
    for (size_t d = 0; d < rank; ++d)
      at += index[d] * outStrideOf[d];
    double v = x.data[linear];
    double &acc = out.data[at];
    if (isMax) {
      if (std::isnan(v) || v > acc)
        acc = std::isnan(acc) ? acc : v;
    } else {
      acc += v;
    }
    for (size_t d = rank; d-- > 0;) {
      if (++index[d] < x.shape[d])
        break;
      index[d] = 0;
    }
  }
  if (ctx.op() == "kopt.reduce_mean")
    for (double &v : out.data)
      v /= static_cast<double>(reducedCount); // 0/0 = NaN for an empty dim
  results.push_back(std::move(out));
  return Status::ok();
}

Status evalArgmax(const OpContext &ctx, std::vector<Value> &results) {
  KOPT_RETURN_IF_ERROR(ctx.checkOperandCount(1, 1));
  KOPT_RETURN_IF_ERROR(ctx.checkResultCount(1));
  const Value &x = ctx.operand(0);
  size_t axis;
  KOPT_RETURN_IF_ERROR(ctx.axisAttr(-1, x.shape.size(), axis));
  bool keepdim;
  KOPT_RETURN_IF_ERROR(ctx.boolAttr("keepdim", false, keepdim));
  AxisLayout layout = layoutAround(x.shape, axis);
  if (layout.size == 0)
    return ctx.invalid("argmax over an empty dim " + formatShape(x.shape));
  std::vector<int64_t> shape = x.shape;
  if (keepdim)
    shape[axis] = 1;
  else
    shape.erase(shape.begin() + static_cast<std::ptrdiff_t>(axis));
  Value out;
  KOPT_RETURN_IF_ERROR(ctx.makeValue(KOPT_DTYPE_I32, shape, out));
  for (int64_t o = 0; o < layout.outer; ++o) {
    for (int64_t i = 0; i < layout.inner; ++i) {
      int64_t best = 0;
      for (int64_t j = 1; j < layout.size; ++j)
        if (ranksBefore(x.data[layout.offset(o, j, i)],
                        x.data[layout.offset(o, best, i)]))
          best = j;
      out.data[o * layout.inner + i] = static_cast<double>(best);
    }
  }
  results.push_back(std::move(out));
  return Status::ok();
}

Status evalTopK(const OpContext &ctx, std::vector<Value> &results) {
  KOPT_RETURN_IF_ERROR(ctx.checkOperandCount(1, 1));
  KOPT_RETURN_IF_ERROR(ctx.checkResultCount(2));
  const Value &x = ctx.operand(0);
  int64_t k;
  size_t axis;
  KOPT_RETURN_IF_ERROR(ctx.axisAttr(-1, x.shape.size(), axis));
  KOPT_RETURN_IF_ERROR(ctx.intAttr("k", std::nullopt, k));
  AxisLayout layout = layoutAround(x.shape, axis);
  if (k < 1 || k > layout.size)
    return ctx.invalid("k must be in [1, " + std::to_string(layout.size) +
                       "], got " + std::to_string(k));
  std::vector<int64_t> shape = x.shape;
  shape[axis] = k;
  Value values, indices;
  KOPT_RETURN_IF_ERROR(ctx.makeValue(x.dtype, shape, values));
  KOPT_RETURN_IF_ERROR(ctx.makeValue(KOPT_DTYPE_I32, shape, indices));
  AxisLayout outLayout = layoutAround(shape, axis);
  std::vector<int64_t> order(static_cast<size_t>(layout.size));
  for (int64_t o = 0; o < layout.outer; ++o) {
    for (int64_t i = 0; i < layout.inner; ++i) {
      std::iota(order.begin(), order.end(), 0);
      // Descending, NaN largest; ties keep the lower index first.
      std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
        return ranksBefore(x.data[layout.offset(o, a, i)],
                           x.data[layout.offset(o, b, i)]);
      });
      for (int64_t j = 0; j < k; ++j) {
        values.data[outLayout.offset(o, j, i)] =
            x.data[layout.offset(o, order[j], i)];
        indices.data[outLayout.offset(o, j, i)] = static_cast<double>(order[j]);
      }
    }
  }
  results.push_back(std::move(values));
  results.push_back(std::move(indices));
  return Status::ok();
}

} // namespace kopt::rt::reference
