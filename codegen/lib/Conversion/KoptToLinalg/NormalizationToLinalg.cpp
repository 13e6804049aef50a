//===- NormalizationToLinalg.cpp - Norms and softmax to linalg ------------===//
//
// Each is a row statistic (a reduction accumulating in f32) followed by an
// elementwise pass reading the statistic through a map that drops the
// reduced axis. Intermediate roundings follow the PyTorch expressions in
// spec/DIALECT.md.
//
//===----------------------------------------------------------------------===//

#include "LoweringUtils.h"

#include "kopt/Codegen/Conversion/KoptToLinalg.h"
#include "kopt/Dialect/Kopt/KoptOps.h"
#include "kopt/Dialect/Kopt/ShapeUtils.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"

#include <limits>

using namespace mlir;

namespace kopt {
namespace {

SmallVector<bool> onlyAxis(int64_t rank, int64_t axis) {
  SmallVector<bool> reduced(rank, false);
  reduced[axis] = true;
  return reduced;
}

Value addCombine(OpBuilder &b, Location loc, Value acc, Value x) {
  return arith::AddFOp::create(b, loc, acc, x);
}

Value squareOf(OpBuilder &b, Location loc, ValueRange v) {
  return arith::MulFOp::create(b, loc, v[0], v[0]);
}

/// Maps for (input, per-row statistics..., per-column parameters...) over
/// the input's loops, reducing `axis`.
SmallVector<AffineMap> rowMaps(OpBuilder &b, int64_t rank, int64_t axis,
                               int64_t statistics, int64_t parameters) {
  MLIRContext *context = b.getContext();
  SmallVector<AffineMap> maps{b.getMultiDimIdentityMap(rank)};
  AffineMap row = keptDimsMap(onlyAxis(rank, axis), context);
  for (int64_t i = 0; i < statistics; ++i)
    maps.push_back(row);
  AffineMap column = AffineMap::get(rank, 0, {getAffineDimExpr(axis, context)},
                                    context);
  for (int64_t i = 0; i < parameters; ++i)
    maps.push_back(column);
  return maps;
}

/// count as an f32 scalar inside a body (from an index value).
Value indexToFloat(OpBuilder &b, Location loc, Value index, Type type) {
  Value i64 = arith::IndexCastOp::create(b, loc, b.getI64Type(), index);
  return arith::SIToFPOp::create(b, loc, type, i64);
}

/// Replaces `op` by the elementwise pass over operands[0] (the input) and
/// the per-row statistics and per-column parameters that follow it.
LogicalResult replaceWithRowPass(PatternRewriter &rewriter, Operation *op,
                                 ValueRange operands, int64_t axis,
                                 int64_t statistics, int64_t parameters,
                                 const ScalarBody &body) {
  FailureOr<SmallVector<OpFoldResult>> dims = reifyResultDims(rewriter, op, 0);
  if (failed(dims))
    return failure();
  auto type = tensorTypeOf(operands[0]);
  Value result = buildMapped(
      rewriter, op->getLoc(), operands,
      rowMaps(rewriter, type.getRank(), axis, statistics, parameters), type,
      *dims, body);
  rewriter.replaceOp(op, result);
  return success();
}

struct RMSNormLowering : OpRewritePattern<RMSNormOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(RMSNormOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value x = op.getInput();
    auto type = tensorTypeOf(x);
    int64_t rank = type.getRank(), axis = rank - 1;
    Type f32 = rewriter.getF32Type(), element = type.getElementType();
    SmallVector<bool> reduced = onlyAxis(rank, axis);
    Value sumSquares =
        buildReduction(rewriter, loc, x, reduced, f32,
                       floatConstant(rewriter, loc, f32, 0.0), addCombine,
                       {}, squareOf);
    Value count = indexToFloat(rewriter, loc,
                               reducedCount(rewriter, loc, x, reduced), f32);
    Value epsilon = floatConstant(rewriter, loc, f32, op.getEpsilon());
    return replaceWithRowPass(
        rewriter, op, {x, sumSquares, op.getWeight()}, axis, 1, 1,
        [&](OpBuilder &b, Location l, ValueRange v) -> Value {
          Value xf = convertScalar(b, l, v[0], f32);
          Value meanSquare = arith::DivFOp::create(b, l, v[1], count);
          Value scale = math::RsqrtOp::create(
              b, l, arith::AddFOp::create(b, l, meanSquare, epsilon));
          // (x.float() * rsqrt(...)).to(x.dtype) * w
          Value normed = convertScalar(
              b, l, arith::MulFOp::create(b, l, xf, scale), element);
          return arith::MulFOp::create(b, l, convertScalar(b, l, normed, f32),
                                       convertScalar(b, l, v[2], f32));
        });
  }
};

struct LayerNormLowering : OpRewritePattern<LayerNormOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(LayerNormOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value x = op.getInput();
    auto type = tensorTypeOf(x);
    int64_t rank = type.getRank(), axis = rank - 1;
    Type f32 = rewriter.getF32Type();
    SmallVector<bool> reduced = onlyAxis(rank, axis);
    Value zero = floatConstant(rewriter, loc, f32, 0.0);
    Value count = indexToFloat(rewriter, loc,
                               reducedCount(rewriter, loc, x, reduced), f32);
    Value sum = buildReduction(rewriter, loc, x, reduced, f32, zero, addCombine);
    // Two passes: the variance of (x - mean) is exact where E[x^2]-E[x]^2
    // cancels.
    Value centeredSquares = buildReduction(
        rewriter, loc, x, reduced, f32, zero, addCombine, {sum},
        [&](OpBuilder &b, Location l, ValueRange v) -> Value {
          Value mean = arith::DivFOp::create(b, l, v[1], count);
          Value centered = arith::SubFOp::create(b, l, v[0], mean);
          return arith::MulFOp::create(b, l, centered, centered);
        });
    Value epsilon = floatConstant(rewriter, loc, f32, op.getEpsilon());
    return replaceWithRowPass(
        rewriter, op, {x, sum, centeredSquares, op.getWeight(), op.getBias()},
        axis, 2, 2,
        [&](OpBuilder &b, Location l, ValueRange v) -> Value {
          Value mean = arith::DivFOp::create(b, l, v[1], count);
          Value variance = arith::DivFOp::create(b, l, v[2], count);
          Value scale = math::RsqrtOp::create(
              b, l, arith::AddFOp::create(b, l, variance, epsilon));
          Value centered =
              arith::SubFOp::create(b, l, convertScalar(b, l, v[0], f32), mean);
          Value normed = arith::MulFOp::create(b, l, centered, scale);
          Value scaled = arith::MulFOp::create(b, l, normed,
                                               convertScalar(b, l, v[3], f32));
          return arith::AddFOp::create(b, l, scaled,
                                       convertScalar(b, l, v[4], f32));
        });
  }
};

struct L2NormLowering : OpRewritePattern<L2NormOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(L2NormOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value x = op.getInput();
    auto type = tensorTypeOf(x);
    int64_t rank = type.getRank();
    int64_t axis = *normalizeAxis(static_cast<int64_t>(op.getAxis()), rank);
    Type f32 = rewriter.getF32Type();
    Value sumSquares = buildReduction(
        rewriter, loc, x, onlyAxis(rank, axis), f32,
        floatConstant(rewriter, loc, f32, 0.0), addCombine, {}, squareOf);
    Value epsilon = floatConstant(rewriter, loc, f32, op.getEpsilon());
    return replaceWithRowPass(
        rewriter, op, {x, sumSquares}, axis, 1, 0,
        [&](OpBuilder &b, Location l, ValueRange v) -> Value {
          Value norm = math::SqrtOp::create(b, l, v[1]);
          Value denominator = arith::MaximumFOp::create(b, l, norm, epsilon);
          return arith::DivFOp::create(b, l, convertScalar(b, l, v[0], f32),
                                       denominator);
        });
  }
};

struct SoftmaxLowering : OpRewritePattern<SoftmaxOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(SoftmaxOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value x = op.getInput();
    auto type = tensorTypeOf(x);
    int64_t rank = type.getRank();
    int64_t axis = *normalizeAxis(static_cast<int64_t>(op.getAxis()), rank);
    Type f32 = rewriter.getF32Type();
    SmallVector<bool> reduced = onlyAxis(rank, axis);
    // max, then sum(exp(x - max)), then exp(x - max) / sum. maximumf
    // propagates NaN, so a row with a NaN becomes NaN, as in PyTorch.
    Value max = buildReduction(
        rewriter, loc, x, reduced, f32,
        floatConstant(rewriter, loc, f32, -std::numeric_limits<double>::infinity()),
        [](OpBuilder &b, Location l, Value acc, Value v) -> Value {
          return arith::MaximumFOp::create(b, l, acc, v);
        });
    Value sum = buildReduction(
        rewriter, loc, x, reduced, f32, floatConstant(rewriter, loc, f32, 0.0),
        addCombine, {max}, [](OpBuilder &b, Location l, ValueRange v) -> Value {
          return math::ExpOp::create(b, l,
                                     arith::SubFOp::create(b, l, v[0], v[1]));
        });
    return replaceWithRowPass(
        rewriter, op, {x, max, sum}, axis, 2, 0,
        [&](OpBuilder &b, Location l, ValueRange v) -> Value {
          Value shifted =
              arith::SubFOp::create(b, l, convertScalar(b, l, v[0], f32), v[1]);
          return arith::DivFOp::create(b, l, math::ExpOp::create(b, l, shifted),
                                       v[2]);
        });
  }
};

} // namespace

void populateNormalizationToLinalgPatterns(RewritePatternSet &patterns) {
  patterns.add<RMSNormLowering, LayerNormLowering, L2NormLowering,
               SoftmaxLowering>(patterns.getContext());
}

} // namespace kopt
