//===- LinearAlgebra.cpp - Embedding lookup, linear and matmul ------------===//
//
// kopt.embedding (ids checked against [0, V) before any read), kopt.linear
// (`F.linear`, optional bias) and kopt.matmul (`torch.matmul` with NumPy
// broadcast of the batch dims, optional transposed right operand). Dot
// products accumulate in double and are rounded once.
//
//===----------------------------------------------------------------------===//

#include "Kernels.h"

namespace kopt::rt::reference {

Status evalEmbedding(const OpContext &ctx, std::vector<Value> &results) {
  KOPT_RETURN_IF_ERROR(ctx.checkOperandCount(2, 2));
  KOPT_RETURN_IF_ERROR(ctx.checkResultCount(1));
  KOPT_RETURN_IF_ERROR(ctx.checkRank(0, "table", 2));
  KOPT_RETURN_IF_ERROR(ctx.checkIndex(1, "ids"));
  const Value &table = ctx.operand(0), &ids = ctx.operand(1);
  int64_t vocab = table.shape[0], d = table.shape[1];
  std::vector<int64_t> shape = ids.shape;
  shape.push_back(d);
  Value out;
  KOPT_RETURN_IF_ERROR(ctx.makeValue(table.dtype, shape, out));
  for (size_t t = 0; t < ids.data.size(); ++t) {
    double id = ids.data[t];
    if (!(id >= 0.0 && id < static_cast<double>(vocab)))
      return ctx.error(KOPT_STATUS_OUT_OF_RANGE,
                       "id " + formatInteger(id) + " is outside [0, " +
                           std::to_string(vocab) + ")");
    auto row = static_cast<int64_t>(id);
    for (int64_t i = 0; i < d; ++i)
      out.data[t * d + i] = table.data[row * d + i];
  }
  results.push_back(std::move(out));
  return Status::ok();
}

Status evalLinear(const OpContext &ctx, std::vector<Value> &results) {
  KOPT_RETURN_IF_ERROR(ctx.checkOperandCount(2, 3));
  KOPT_RETURN_IF_ERROR(ctx.checkResultCount(1));
  KOPT_RETURN_IF_ERROR(ctx.checkFloat(0, "input"));
  KOPT_RETURN_IF_ERROR(ctx.checkRank(1, "weight", 2));
  KOPT_RETURN_IF_ERROR(ctx.checkSameDType(0, 1));
  const Value &x = ctx.operand(0), &w = ctx.operand(1);
  if (x.shape.empty())
    return ctx.invalid("input must have rank >= 1 ([..., K])");
  int64_t n = w.shape[0], k = w.shape[1];
  if (x.shape.back() != k)
    return ctx.invalid("input K (" + std::to_string(x.shape.back()) +
                       ") does not match weight K (" + std::to_string(k) +
                       "): input " + formatShape(x.shape) + ", weight " +
                       formatShape(w.shape));
  const Value *bias = nullptr;
  if (ctx.numOperands() == 3) {
    KOPT_RETURN_IF_ERROR(ctx.checkSameDType(0, 2));
    KOPT_RETURN_IF_ERROR(ctx.checkShape(2, "bias", {n}));
    bias = &ctx.operand(2);
  }
  std::vector<int64_t> shape = x.shape;
  shape.back() = n;
  Value out;
  KOPT_RETURN_IF_ERROR(ctx.makeValue(x.dtype, shape, out));
  int64_t rows = dimProduct(x.shape, 0, x.shape.size() - 1);
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t j = 0; j < n; ++j) {
      double sum = 0.0;
      for (int64_t i = 0; i < k; ++i)
        sum += x.data[r * k + i] * w.data[j * k + i];
      if (bias)
        sum += bias->data[j];
      out.data[r * n + j] = sum;
    }
  }
  results.push_back(std::move(out));
  return Status::ok();
}

Status evalMatmul(const OpContext &ctx, std::vector<Value> &results) {
  KOPT_RETURN_IF_ERROR(ctx.checkOperandCount(2, 2));
  KOPT_RETURN_IF_ERROR(ctx.checkResultCount(1));
  KOPT_RETURN_IF_ERROR(ctx.checkSameDType(0, 1));
  bool transposeB;
  KOPT_RETURN_IF_ERROR(ctx.boolAttr("transpose_b", false, transposeB));
  const Value &a = ctx.operand(0), &b = ctx.operand(1);
  size_t rankA = a.shape.size(), rankB = b.shape.size();
  if (rankA < 2 || rankB < 2)
    return ctx.invalid("operands must have rank >= 2, got " +
                       formatShape(a.shape) + " and " + formatShape(b.shape));
  int64_t m = a.shape[rankA - 2], k = a.shape[rankA - 1];
  int64_t kB = b.shape[rankB - (transposeB ? 1 : 2)];
  int64_t n = b.shape[rankB - (transposeB ? 2 : 1)];
  if (k != kB)
    return ctx.invalid("contraction dims disagree: " + formatShape(a.shape) +
                       (transposeB ? " x transpose " : " x ") +
                       formatShape(b.shape));
  std::vector<int64_t> batchA(a.shape.begin(), a.shape.end() - 2);
  std::vector<int64_t> batchB(b.shape.begin(), b.shape.end() - 2);
  std::vector<int64_t> batch;
  if (!broadcastShapes(batchA, batchB, batch))
    return ctx.invalid("batch dims are not broadcastable: " +
                       formatShape(a.shape) + " and " + formatShape(b.shape));
  std::vector<int64_t> shape = batch;
  shape.push_back(m);
  shape.push_back(n);
  Value out;
  KOPT_RETURN_IF_ERROR(ctx.makeValue(a.dtype, shape, out));
  std::vector<int64_t> batchOffsetsA = broadcastOffsets(batchA, batch);
  std::vector<int64_t> batchOffsetsB = broadcastOffsets(batchB, batch);
  for (size_t p = 0; p < batchOffsetsA.size(); ++p) {
    const double *matA = a.data.data() + batchOffsetsA[p] * m * k;
    const double *matB = b.data.data() + batchOffsetsB[p] * k * n;
    double *matOut = out.data.data() + static_cast<int64_t>(p) * m * n;
    for (int64_t i = 0; i < m; ++i) {
      for (int64_t j = 0; j < n; ++j) {
        double sum = 0.0;
        for (int64_t l = 0; l < k; ++l)
          sum += matA[i * k + l] *
                 (transposeB ? matB[j * k + l] : matB[l * n + j]);
        matOut[i * n + j] = sum;
      }
    }
  }
  results.push_back(std::move(out));
  return Status::ok();
}

} // namespace kopt::rt::reference
