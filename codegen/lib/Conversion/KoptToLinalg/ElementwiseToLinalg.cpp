//===- ElementwiseToLinalg.cpp - Elementwise kopt ops to linalg.generic ---===//
//
// Binary ops with NumPy broadcasting, unary activations, clamp and cast.
// 16-bit floats are computed in f32 and rounded once, as PyTorch's CPU
// kernels do.
//
//===----------------------------------------------------------------------===//

#include "LoweringUtils.h"

#include "kopt/Codegen/Conversion/KoptToLinalg.h"
#include "kopt/Dialect/Kopt/KoptOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"

#include <cmath>

using namespace mlir;

namespace kopt {
namespace {

/// Lowers `OpTy` through `body`, applied to its operands elementwise.
template <typename OpTy>
struct ElementwisePattern : OpRewritePattern<OpTy> {
  using OpRewritePattern<OpTy>::OpRewritePattern;

  /// The scalar computation; operands are in their compute type.
  virtual Value scalar(OpBuilder &b, Location loc, OpTy op,
                       ValueRange operands) const = 0;

  LogicalResult matchAndRewrite(OpTy op,
                                PatternRewriter &rewriter) const override {
    // Integer division by zero is an error (as in PyTorch), reported through
    // the status buffer; the computation itself never traps.
    if constexpr (std::is_same_v<OpTy, DivOp>)
      if (!isa<FloatType>(tensorTypeOf(op.getRhs()).getElementType()))
        checkNoZeroDivisor(rewriter, op.getLoc(), op, op.getRhs());
    FailureOr<SmallVector<OpFoldResult>> dims =
        reifyResultDims(rewriter, op, 0);
    if (failed(dims))
      return rewriter.notifyMatchFailure(op, "unknown result dims");
    auto resultType = cast<RankedTensorType>(op->getResult(0).getType());
    Value result = buildElementwise(
        rewriter, op.getLoc(), op->getOperands(), resultType, *dims,
        [&](OpBuilder &b, Location loc, ValueRange operands) {
          return scalar(b, loc, op, operands);
        });
    rewriter.replaceOp(op, result);
    return success();
  }
};

bool isFloat(Value value) { return isa<FloatType>(value.getType()); }

#define KOPT_BINARY(OP, FLOAT_OP, INT_OP)                                      \
  struct OP##Lowering : ElementwisePattern<OP> {                               \
    using ElementwisePattern::ElementwisePattern;                              \
    Value scalar(OpBuilder &b, Location loc, OP, ValueRange v) const override { \
      if (isFloat(v[0]))                                                       \
        return FLOAT_OP::create(b, loc, v[0], v[1]);                           \
      return INT_OP::create(b, loc, v[0], v[1]);                               \
    }                                                                          \
  };
KOPT_BINARY(AddOp, arith::AddFOp, arith::AddIOp)
KOPT_BINARY(SubOp, arith::SubFOp, arith::SubIOp)
KOPT_BINARY(MulOp, arith::MulFOp, arith::MulIOp)
#undef KOPT_BINARY

/// Float division is IEEE; integer division truncates toward zero. A zero
/// divisor is reported (see ElementwisePattern) and computes 0 instead of
/// trapping; INT_MIN / -1 wraps to INT_MIN.
struct DivOpLowering : ElementwisePattern<DivOp> {
  using ElementwisePattern::ElementwisePattern;
  Value scalar(OpBuilder &b, Location loc, DivOp, ValueRange v) const override {
    if (isFloat(v[0]))
      return arith::DivFOp::create(b, loc, v[0], v[1]);
    Type type = v[0].getType();
    auto c = [&](int64_t value) {
      return arith::ConstantOp::create(b, loc, b.getIntegerAttr(type, value));
    };
    Value zero = c(0), one = c(1), minusOne = c(-1);
    Value isZero =
        arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, v[1], zero);
    Value isMinusOne =
        arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, v[1], minusOne);
    Value safe = arith::SelectOp::create(
        b, loc, arith::OrIOp::create(b, loc, isZero, isMinusOne), one, v[1]);
    Value quotient = arith::DivSIOp::create(b, loc, v[0], safe);
    Value negated = arith::SubIOp::create(b, loc, zero, v[0]);
    Value result = arith::SelectOp::create(b, loc, isMinusOne, negated, quotient);
    return arith::SelectOp::create(b, loc, isZero, zero, result);
  }
};

/// sigmoid(x) = 1 / (1 + exp(-x))
Value sigmoid(OpBuilder &b, Location loc, Value x) {
  Value one = floatConstant(b, loc, x.getType(), 1.0);
  Value e = math::ExpOp::create(b, loc, arith::NegFOp::create(b, loc, x));
  return arith::DivFOp::create(b, loc, one, arith::AddFOp::create(b, loc, one, e));
}

#define KOPT_UNARY(OP, EXPR)                                                   \
  struct OP##Lowering : ElementwisePattern<OP> {                               \
    using ElementwisePattern::ElementwisePattern;                              \
    Value scalar(OpBuilder &b, Location loc, OP op,                            \
                 ValueRange v) const override {                                \
      Value x = v[0];                                                          \
      return EXPR;                                                             \
    }                                                                          \
  };
KOPT_UNARY(SiluOp, arith::MulFOp::create(b, loc, x, sigmoid(b, loc, x)))
KOPT_UNARY(SigmoidOp, sigmoid(b, loc, x))
KOPT_UNARY(ReluOp, arith::MaximumFOp::create(
                       b, loc, x, floatConstant(b, loc, x.getType(), 0.0)))
KOPT_UNARY(TanhOp, math::TanhOp::create(b, loc, x))
KOPT_UNARY(ExpOp, math::ExpOp::create(b, loc, x))
KOPT_UNARY(RsqrtOp, math::RsqrtOp::create(b, loc, x))
KOPT_UNARY(NegOp, arith::NegFOp::create(b, loc, x))
#undef KOPT_UNARY

struct GeluLowering : ElementwisePattern<GeluOp> {
  using ElementwisePattern::ElementwisePattern;
  Value scalar(OpBuilder &b, Location loc, GeluOp op,
               ValueRange v) const override {
    Value x = v[0];
    Type type = x.getType();
    auto c = [&](double value) { return floatConstant(b, loc, type, value); };
    Value half = arith::MulFOp::create(b, loc, c(0.5), x);
    Value inner;
    if (op.getApproximate() == "tanh") {
      // tanh(sqrt(2/pi) * (x + 0.044715 x^3))
      Value cube = arith::MulFOp::create(
          b, loc, x, arith::MulFOp::create(b, loc, x, x));
      Value sum = arith::AddFOp::create(
          b, loc, x, arith::MulFOp::create(b, loc, c(0.044715), cube));
      inner = math::TanhOp::create(
          b, loc, arith::MulFOp::create(b, loc, c(std::sqrt(2.0 / M_PI)), sum));
    } else {
      inner = math::ErfOp::create(
          b, loc, arith::MulFOp::create(b, loc, x, c(M_SQRT1_2)));
    }
    return arith::MulFOp::create(b, loc, half,
                                 arith::AddFOp::create(b, loc, c(1.0), inner));
  }
};

struct ClampLowering : ElementwisePattern<ClampOp> {
  using ElementwisePattern::ElementwisePattern;
  Value scalar(OpBuilder &b, Location loc, ClampOp op,
               ValueRange v) const override {
    // maximumf/minimumf propagate NaN, as x.clamp does.
    Value x = v[0];
    if (std::optional<double> lo = op.getMin())
      x = arith::MaximumFOp::create(b, loc, x,
                                    floatConstant(b, loc, x.getType(), *lo));
    if (std::optional<double> hi = op.getMax())
      x = arith::MinimumFOp::create(b, loc, x,
                                    floatConstant(b, loc, x.getType(), *hi));
    return x;
  }
};

struct CastLowering : ElementwisePattern<CastOp> {
  using ElementwisePattern::ElementwisePattern;
  Value scalar(OpBuilder &b, Location loc, CastOp op,
               ValueRange v) const override {
    // buildElementwise converts the result to the target type.
    return v[0];
  }
};

} // namespace

void populateElementwiseToLinalgPatterns(RewritePatternSet &patterns) {
  patterns.add<AddOpLowering, SubOpLowering, MulOpLowering, DivOpLowering,
               SiluOpLowering, SigmoidOpLowering, ReluOpLowering,
               TanhOpLowering, ExpOpLowering, RsqrtOpLowering, NegOpLowering,
               GeluLowering, ClampLowering, CastLowering>(
      patterns.getContext());
}

} // namespace kopt
