//===- Elementwise.cpp - Elementwise kopt ops -----------------------------===//
//
// kopt.add/sub/mul/div with NumPy broadcasting (floats and integers), the
// unary activations (silu, relu, sigmoid, tanh, exp, rsqrt, neg, gelu),
// kopt.clamp and kopt.cast. Each element is computed in double from the
// stored operands and rounded once to the result dtype by the interpreter;
// NaN and infinities propagate as IEEE arithmetic does.
//
//===----------------------------------------------------------------------===//

#include "Kernels.h"

#include "kopt/runtime/DType.h"

#include <cmath>

namespace kopt::rt::reference {
namespace {

enum class BinaryKind { Add, Sub, Mul, Div };

/// `F.gelu(x, approximate="none")`: 0.5 x (1 + erf(x / sqrt(2))).
double geluErf(double x) {
  return 0.5 * x * (1.0 + std::erf(x / std::sqrt(2.0)));
}

/// `F.gelu(x, approximate="tanh")`:
/// 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))).
double geluTanh(double x) {
  const double kPi = 3.14159265358979323846;
  double inner = std::sqrt(2.0 / kPi) * (x + 0.044715 * x * x * x);
  return 0.5 * x * (1.0 + std::tanh(inner));
}

} // namespace

Status evalBinary(const OpContext &ctx, std::vector<Value> &results) {
  KOPT_RETURN_IF_ERROR(ctx.checkOperandCount(2, 2));
  KOPT_RETURN_IF_ERROR(ctx.checkResultCount(1));
  KOPT_RETURN_IF_ERROR(ctx.checkSameDType(0, 1));
  const Value &lhs = ctx.operand(0), &rhs = ctx.operand(1);
  BinaryKind kind = ctx.op() == "kopt.add"   ? BinaryKind::Add
                    : ctx.op() == "kopt.sub" ? BinaryKind::Sub
                    : ctx.op() == "kopt.mul" ? BinaryKind::Mul
                                             : BinaryKind::Div;
  std::vector<int64_t> shape;
  if (!broadcastShapes(lhs.shape, rhs.shape, shape))
    return ctx.invalid(
        "operands are not broadcastable: " + formatShape(lhs.shape) + " and " +
        formatShape(rhs.shape));
  Value out;
  KOPT_RETURN_IF_ERROR(ctx.makeValue(lhs.dtype, shape, out));
  std::vector<int64_t> lhsOffsets = broadcastOffsets(lhs.shape, shape);
  std::vector<int64_t> rhsOffsets = broadcastOffsets(rhs.shape, shape);
  bool isInteger = !isFloatDType(lhs.dtype);
  for (size_t i = 0; i < out.data.size(); ++i) {
    double a = lhs.data[lhsOffsets[i]], b = rhs.data[rhsOffsets[i]];
    double r = 0.0;
    switch (kind) {
    case BinaryKind::Add:
      r = a + b;
      break;
    case BinaryKind::Sub:
      r = a - b;
      break;
    case BinaryKind::Mul:
      r = a * b;
      break;
    case BinaryKind::Div:
      if (isInteger) {
        // Integer division truncates toward zero (torch.div(...,
        // rounding_mode="trunc"), arith.divsi); by zero is an error.
        if (b == 0.0)
          return ctx.error(KOPT_STATUS_INVALID_ARGUMENT,
                           "integer division by zero");
        r = std::trunc(a / b);
      } else {
        r = a / b;
      }
      break;
    }
    out.data[i] = r;
  }
  results.push_back(std::move(out));
  return Status::ok();
}

Status evalUnary(const OpContext &ctx, std::vector<Value> &results) {
  KOPT_RETURN_IF_ERROR(ctx.checkOperandCount(1, 1));
  KOPT_RETURN_IF_ERROR(ctx.checkResultCount(1));
  KOPT_RETURN_IF_ERROR(ctx.checkFloat(0, "input"));
  const std::string &op = ctx.op();
  bool tanhGelu = false;
  if (op == "kopt.gelu") {
    std::string approximate;
    KOPT_RETURN_IF_ERROR(ctx.stringAttr("approximate", "none", approximate));
    if (approximate != "none" && approximate != "tanh")
      return ctx.invalid("approximate must be \"none\" or \"tanh\", got \"" +
                         approximate + "\"");
    tanhGelu = approximate == "tanh";
  }
  const Value &in = ctx.operand(0);
  Value out;
  KOPT_RETURN_IF_ERROR(ctx.makeValue(in.dtype, in.shape, out));
  for (size_t i = 0; i < in.data.size(); ++i) {
    double x = in.data[i];
    double y;
    if (op == "kopt.silu")
      y = x / (1.0 + std::exp(-x));
    else if (op == "kopt.relu")
      y = std::isnan(x) ? x : (x > 0.0 ? x : 0.0);
    else if (op == "kopt.sigmoid")
      y = 1.0 / (1.0 + std::exp(-x));
    else if (op == "kopt.tanh")
      y = std::tanh(x);
    else if (op == "kopt.exp")
      y = std::exp(x);
    else if (op == "kopt.rsqrt")
      y = 1.0 / std::sqrt(x);
    else if (op == "kopt.neg")
      y = -x;
    else if (op == "kopt.gelu")
      y = tanhGelu ? geluTanh(x) : geluErf(x);
    else
      return ctx.error(KOPT_STATUS_UNIMPLEMENTED, "not a unary op");
    out.data[i] = y;
  }
  results.push_back(std::move(out));
  return Status::ok();
}

Status evalClamp(const OpContext &ctx, std::vector<Value> &results) {
  KOPT_RETURN_IF_ERROR(ctx.checkOperandCount(1, 1));
  KOPT_RETURN_IF_ERROR(ctx.checkResultCount(1));
  KOPT_RETURN_IF_ERROR(ctx.checkFloat(0, "input"));
  bool hasMin = ctx.hasAttr("min"), hasMax = ctx.hasAttr("max");
  if (!hasMin && !hasMax)
    return ctx.invalid("needs at least one of 'min' and 'max'");
  double lo = 0.0, hi = 0.0;
  if (hasMin)
    KOPT_RETURN_IF_ERROR(ctx.floatAttr("min", std::nullopt, lo));
  if (hasMax)
    KOPT_RETURN_IF_ERROR(ctx.floatAttr("max", std::nullopt, hi));
  if ((hasMin && std::isnan(lo)) || (hasMax && std::isnan(hi)))
    return ctx.invalid("clamp bounds must not be NaN");
  if (hasMin && hasMax && lo > hi)
    return ctx.invalid("min (" + std::to_string(lo) + ") must be <= max (" +
                       std::to_string(hi) + ")");
  const Value &in = ctx.operand(0);
  Value out;
  KOPT_RETURN_IF_ERROR(ctx.makeValue(in.dtype, in.shape, out));
  for (size_t i = 0; i < in.data.size(); ++i) {
    double x = in.data[i];
    if (!std::isnan(x)) {
      if (hasMin && x < lo)
        x = lo;
      if (hasMax && x > hi)
        x = hi;
    }
    out.data[i] = x;
  }
  results.push_back(std::move(out));
  return Status::ok();
}

Status evalCast(const OpContext &ctx, std::vector<Value> &results) {
  KOPT_RETURN_IF_ERROR(ctx.checkOperandCount(1, 1));
  KOPT_RETURN_IF_ERROR(ctx.checkResultCount(1));
  const Value &in = ctx.operand(0);
  Value out;
  KOPT_RETURN_IF_ERROR(ctx.makeValue(ctx.resultType(0).dtype, in.shape, out));
  // The interpreter rounds to the result dtype: floats round to nearest
  // even, float -> int truncates toward zero, anything -> i1 is `x != 0`.
  out.data = in.data;
  results.push_back(std::move(out));
  return Status::ok();
}

} // namespace kopt::rt::reference
