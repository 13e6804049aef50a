//===- Shape.cpp - Data movement ops
//---------------------------------------===//
//
// kopt.reshape (one dynamic dim inferred from the element count),
// kopt.transpose, kopt.concat, kopt.slice (bounds checked at run time) and
// kopt.gather (indices broadcast over trailing dims, each index checked).
// These copy elements unchanged.
//
//===----------------------------------------------------------------------===//

#include "Kernels.h"

#include "kopt/runtime/DType.h"

namespace kopt::rt::reference {
namespace {

/// Checks that result 0 is declared with operand 0's dtype (the ops here
/// never change it).
Status checkSameResultDType(const OpContext &ctx) {
  kopt_dtype_t in = ctx.operand(0).dtype, out = ctx.resultType(0).dtype;
  if (in == out)
    return Status::ok();
  return ctx.invalid("element type must not change, got " +
                     std::string(dtypeName(in)) + " -> " +
                     std::string(dtypeName(out)));
}

/// Advances a C-order multi-index over `shape`.
void advance(std::vector<int64_t> &index, const std::vector<int64_t> &shape) {
  for (size_t d = index.size(); d-- > 0;) {
    if (++index[d] < shape[d])
      return;
    index[d] = 0;
  }
}

} // namespace

Status evalReshape(const OpContext &ctx, std::vector<Value> &results) {
  KOPT_RETURN_IF_ERROR(ctx.checkOperandCount(1, 1));
  KOPT_RETURN_IF_ERROR(ctx.checkResultCount(1));
  KOPT_RETURN_IF_ERROR(checkSameResultDType(ctx));
  const Value &x = ctx.operand(0);
  std::vector<int64_t> shape = ctx.resultType(0).shape;
  auto count = static_cast<int64_t>(x.data.size());
  size_t dynamicDims = 0, dynamicAt = 0;
  std::vector<int64_t> known;
  for (size_t d = 0; d < shape.size(); ++d) {
    if (shape[d] == -1) {
      ++dynamicDims;
      dynamicAt = d;
    } else {
      known.push_back(shape[d]);
    }
  }
  if (dynamicDims > 1)
    return ctx.invalid("result may have at most one dynamic dim, got " +
                       formatShape(shape));
  std::optional<int64_t> knownCount = checkedElementCount(known);
  if (!knownCount)
    return ctx.invalid("result shape " + formatShape(shape) +
                       " is invalid or too large");
  if (dynamicDims == 1) {
    if (*knownCount == 0 || count % *knownCount != 0)
      return ctx.invalid("cannot infer the dynamic dim of " +
                         formatShape(shape) + " from " + std::to_string(count) +
                         " elements (input " + formatShape(x.shape) + ")");
    shape[dynamicAt] = count / *knownCount;
  } else if (*knownCount != count) {
    return ctx.invalid("element count must not change: " +
                       formatShape(x.shape) + " -> " + formatShape(shape));
  }
  Value out;
  KOPT_RETURN_IF_ERROR(ctx.makeValue(x.dtype, shape, out));
  out.data = x.data;
  results.push_back(std::move(out));
  return Status::ok();
}

Status evalTranspose(const OpContext &ctx, std::vector<Value> &results) {
  KOPT_RETURN_IF_ERROR(ctx.checkOperandCount(1, 1));
  KOPT_RETURN_IF_ERROR(ctx.checkResultCount(1));
  const Value &x = ctx.operand(0);
  std::vector<int64_t> perm;
  KOPT_RETURN_IF_ERROR(ctx.intArrayAttr("permutation", perm));
  size_t rank = x.shape.size();
  std::vector<bool> seen(rank, false);
  bool valid = perm.size() == rank;
  for (size_t i = 0; valid && i < perm.size(); ++i) {
    valid = perm[i] >= 0 && static_cast<size_t>(perm[i]) < rank &&
            !seen[static_cast<size_t>(perm[i])];
    if (valid)
      seen[static_cast<size_t>(perm[i])] = true;
  }
  if (!valid)
    return ctx.invalid("permutation must be a permutation of [0, " +
                       std::to_string(rank) + "), got " + formatShape(perm));
  std::vector<int64_t> shape(rank);
  for (size_t i = 0; i < rank; ++i)
    shape[i] = x.shape[static_cast<size_t>(perm[i])];
  Value out;
  KOPT_RETURN_IF_ERROR(ctx.makeValue(x.dtype, shape, out));
  std::vector<int64_t> inStrides = stridesOf(x.shape);
  std::vector<int64_t> index(rank, 0);
  for (size_t linear = 0; linear < out.data.size(); ++linear) {
    int64_t at = 0;
    for (size_t i = 0; i < rank; ++i)
      at += index[i] * inStrides[static_cast<size_t>(perm[i])];
    out.data[linear] = x.data[at];
    advance(index, shape);
  }
  results.push_back(std::move(out));
  return Status::ok();
}

Status evalConcat(const OpContext &ctx, std::vector<Value> &results) {
  if (ctx.numOperands() == 0)
    return ctx.invalid("needs at least one input");
  KOPT_RETURN_IF_ERROR(ctx.checkResultCount(1));
  const Value &first = ctx.operand(0);
  size_t axis;
  KOPT_RETURN_IF_ERROR(ctx.axisAttr(std::nullopt, first.shape.size(), axis));
  std::vector<int64_t> shape = first.shape;
  shape[axis] = 0;
  for (size_t t = 0; t < ctx.numOperands(); ++t) {
    const Value &input = ctx.operand(t);
    KOPT_RETURN_IF_ERROR(ctx.checkSameDType(0, t));
    bool agrees = input.shape.size() == first.shape.size();
    for (size_t d = 0; agrees && d < first.shape.size(); ++d)
      agrees = d == axis || input.shape[d] == first.shape[d];
    if (!agrees)
      return ctx.invalid("inputs must agree in every dim but " +
                         std::to_string(axis) + ", got " +
                         formatShape(first.shape) + " and " +
                         formatShape(input.shape));
    shape[axis] += input.shape[axis];
  }
  Value out;
  KOPT_RETURN_IF_ERROR(ctx.makeValue(first.dtype, shape, out));
  AxisLayout outLayout = layoutAround(shape, axis);
  int64_t start = 0;
  for (size_t t = 0; t < ctx.numOperands(); ++t) {
    const Value &input = ctx.operand(t);
    AxisLayout layout = layoutAround(input.shape, axis);
    for (int64_t o = 0; o < layout.outer; ++o)
      for (int64_t j = 0; j < layout.size; ++j)
        for (int64_t i = 0; i < layout.inner; ++i)
          out.data[outLayout.offset(o, start + j, i)] =
              input.data[layout.offset(o, j, i)];
    start += layout.size;
  }
  results.push_back(std::move(out));
  return Status::ok();
}

Status evalSlice(const OpContext &ctx, std::vector<Value> &results) {
  KOPT_RETURN_IF_ERROR(ctx.checkOperandCount(1, 1));
  KOPT_RETURN_IF_ERROR(ctx.checkResultCount(1));
  const Value &x = ctx.operand(0);
  int64_t start, size;
  size_t axis;
  KOPT_RETURN_IF_ERROR(ctx.axisAttr(std::nullopt, x.shape.size(), axis));
  KOPT_RETURN_IF_ERROR(ctx.intAttr("start", std::nullopt, start));
  KOPT_RETURN_IF_ERROR(ctx.intAttr("size", std::nullopt, size));
  if (start < 0)
    return ctx.invalid("start must be >= 0, got " + std::to_string(start));
  if (size < 1)
    return ctx.invalid("size must be >= 1, got " + std::to_string(size));
  if (start > x.shape[axis] || size > x.shape[axis] - start)
    return ctx.error(KOPT_STATUS_OUT_OF_RANGE,
                     "slice [" + std::to_string(start) + ", " +
                         formatInteger(static_cast<double>(start) +
                                       static_cast<double>(size)) +
                         ") is out of bounds for dim " + std::to_string(axis) +
                         " of size " + std::to_string(x.shape[axis]));
  std::vector<int64_t> shape = x.shape;
  shape[axis] = size;
  Value out;
  KOPT_RETURN_IF_ERROR(ctx.makeValue(x.dtype, shape, out));
  AxisLayout layout = layoutAround(x.shape, axis);
  AxisLayout outLayout = layoutAround(shape, axis);
  for (int64_t o = 0; o < layout.outer; ++o)
    for (int64_t j = 0; j < size; ++j)
      for (int64_t i = 0; i < layout.inner; ++i)
        out.data[outLayout.offset(o, j, i)] =
            x.data[layout.offset(o, start + j, i)];
  results.push_back(std::move(out));
  return Status::ok();
}

Status evalGather(const OpContext &ctx, std::vector<Value> &results) {
  KOPT_RETURN_IF_ERROR(ctx.checkOperandCount(2, 2));
  KOPT_RETURN_IF_ERROR(ctx.checkResultCount(1));
  KOPT_RETURN_IF_ERROR(ctx.checkIndex(1, "indices"));
  const Value &x = ctx.operand(0), &indices = ctx.operand(1);
  size_t rank = x.shape.size(), indexRank = indices.shape.size();
  size_t axis;
  KOPT_RETURN_IF_ERROR(ctx.axisAttr(std::nullopt, rank, axis));
  if (indexRank <= axis || indexRank > rank)
    return ctx.invalid("indices must have rank in [" +
                       std::to_string(axis + 1) + ", " + std::to_string(rank) +
                       "], got " + formatShape(indices.shape));
  for (size_t d = 0; d < indexRank; ++d) {
    bool agrees = d == axis || indices.shape[d] == x.shape[d] ||
                  (d > axis && indices.shape[d] == 1);
    if (!agrees)
      return ctx.invalid("indices " + formatShape(indices.shape) +
                         " do not match input " + formatShape(x.shape) +
                         " in dim " + std::to_string(d) +
                         (d > axis ? " (must be equal or 1)" : ""));
  }
  std::vector<int64_t> shape = x.shape;
  shape[axis] = indices.shape[axis];
  Value out;
  KOPT_RETURN_IF_ERROR(ctx.makeValue(x.dtype, shape, out));
  std::vector<int64_t> inStrides = stridesOf(x.shape);
  std::vector<int64_t> indexStrides = stridesOf(indices.shape);
  std::vector<int64_t> index(rank, 0);
  for (size_t linear = 0; linear < out.data.size(); ++linear) {
    int64_t indexAt = 0;
    for (size_t d = 0; d < indexRank; ++d)
      if (indices.shape[d] != 1 || d <= axis)
        indexAt += index[d] * indexStrides[d];
    double selected = indices.data[indexAt];
    if (!(selected >= 0.0 && selected < static_cast<double>(x.shape[axis])))
      return ctx.error(KOPT_STATUS_OUT_OF_RANGE,
                       "index " + formatInteger(selected) + " is outside [0, " +
                           std::to_string(x.shape[axis]) + ") along axis " +
                           std::to_string(axis));
    int64_t at = 0;
    for (size_t d = 0; d < rank; ++d)
      at += (d == axis ? static_cast<int64_t>(selected) : index[d]) *
            inStrides[d];
    out.data[linear] = x.data[at];
    advance(index, shape);
  }
  results.push_back(std::move(out));
  return Status::ok();
}

} // namespace kopt::rt::reference
