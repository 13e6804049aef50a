//===- AttentionToLinalg.cpp - rope and attention to linalg ---------------===//
//
// rope: one elementwise generic reading its rotation partner with
// tensor.extract; inv_freq and the angle are computed in f32 as in HF Llama.
//
// attention: scores, masked softmax and the weighted sum of values as
// linalg generics over [B, Hq, Sq, Skv] in f32, with GQA through an affine
// floordiv on the kv head and the visibility rule of spec/DIALECT.md
// evaluated from loop indices. Rows without a visible key give zeros.
//
//===----------------------------------------------------------------------===//

#include "LoweringUtils.h"

#include "kopt/Codegen/Conversion/KoptToLinalg.h"
#include "kopt/Dialect/Kopt/KoptOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

#include <cmath>
#include <limits>

using namespace mlir;

namespace kopt {
namespace {

struct RopeLowering : OpRewritePattern<RopeOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(RopeOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value x = op.getInput();
    auto type = tensorTypeOf(x);
    int64_t d = type.getDimSize(3);
    int64_t rotary = op.getRotaryDim() ? static_cast<int64_t>(*op.getRotaryDim()) : d;
    int64_t half = rotary / 2;
    FailureOr<SmallVector<OpFoldResult>> dims = reifyResultDims(rewriter, op, 0);
    if (failed(dims))
      return failure();
    MLIRContext *context = rewriter.getContext();
    AffineMap positionsMap = AffineMap::get(
        4, 0, {getAffineDimExpr(0, context), getAffineDimExpr(1, context)},
        context);
    Type f32 = rewriter.getF32Type();
    auto theta = static_cast<float>(op.getTheta());
    Value result = buildMapped(
        rewriter, loc, {x, op.getPositions()},
        {rewriter.getMultiDimIdentityMap(4), positionsMap}, type, *dims,
        [&](OpBuilder &b, Location l, ValueRange v) -> Value {
          auto index = [&](int64_t value) {
            return arith::ConstantIndexOp::create(b, l, value);
          };
          Value xf = convertScalar(b, l, v[0], f32);
          Value dIndex = linalg::IndexOp::create(b, l, 3);
          Value inFirstHalf = arith::CmpIOp::create(
              b, l, arith::CmpIPredicate::ult, dIndex, index(half));
          Value rotated = arith::CmpIOp::create(
              b, l, arith::CmpIPredicate::ult, dIndex, index(rotary));
          // Frequency i = d mod half; partner = d +- half.
          Value freqIndex = arith::SelectOp::create(
              b, l, inFirstHalf, dIndex,
              arith::SubIOp::create(b, l, dIndex, index(half)));
          Value partnerIndex = arith::SelectOp::create(
              b, l, inFirstHalf, arith::AddIOp::create(b, l, dIndex, index(half)),
              freqIndex);
          // Outside the rotary dims the partner is the element itself (the
          // read stays in bounds; its value is unused).
          partnerIndex = arith::SelectOp::create(b, l, rotated, partnerIndex, dIndex);
          Value freqF = arith::UIToFPOp::create(
              b, l, f32, arith::IndexCastOp::create(b, l, b.getI64Type(), freqIndex));
          // inv_freq = 1 / theta^(2i / rotary), all in f32.
          Value exponent = arith::DivFOp::create(
              b, l, arith::MulFOp::create(b, l, floatConstant(b, l, f32, 2.0), freqF),
              floatConstant(b, l, f32, static_cast<float>(rotary)));
          Value power = math::PowFOp::create(b, l, floatConstant(b, l, f32, theta),
                                             exponent);
          Value invFreq = arith::DivFOp::create(b, l, floatConstant(b, l, f32, 1.0),
                                                power);
          Value angle = arith::MulFOp::create(
              b, l, convertScalar(b, l, v[1], f32), invFreq);
          Value cos = math::CosOp::create(b, l, angle);
          Value sin = math::SinOp::create(b, l, angle);
          SmallVector<Value> position{linalg::IndexOp::create(b, l, 0),
                                      linalg::IndexOp::create(b, l, 1),
                                      linalg::IndexOp::create(b, l, 2),
                                      partnerIndex};
          Value partner = convertScalar(
              b, l, tensor::ExtractOp::create(b, l, x, position), f32);
          Value signedPartner = arith::SelectOp::create(
              b, l, inFirstHalf, arith::NegFOp::create(b, l, partner), partner);
          Value rotatedValue = arith::AddFOp::create(
              b, l, arith::MulFOp::create(b, l, xf, cos),
              arith::MulFOp::create(b, l, signedPartner, sin));
          return arith::SelectOp::create(b, l, rotated, rotatedValue, xf);
        });
    rewriter.replaceOp(op, result);
    return success();
  }
};

struct AttentionLowering : OpRewritePattern<AttentionOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(AttentionOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    MLIRContext *context = rewriter.getContext();
    Value q = op.getQuery(), k = op.getKey(), v = op.getValue();
    auto qType = tensorTypeOf(q), kType = tensorTypeOf(k);
    int64_t hq = qType.getDimSize(2), hkv = kType.getDimSize(2);
    int64_t headDim = qType.getDimSize(3);
    int64_t group = hq / hkv;
    Type f32 = rewriter.getF32Type();
    double scale = op.getScale() ? *op.getScale() : 1.0 / std::sqrt(double(headDim));
    bool causal = op.getCausal();
    auto window = static_cast<int64_t>(op.getWindow());

    auto dim = [&](Value value, int64_t i) -> OpFoldResult {
      OpFoldResult size = rewriter.createOrFold<tensor::DimOp>(loc, value, i);
      if (auto constant = getConstantIntValue(size))
        return rewriter.getIndexAttr(*constant);
      return size;
    };
    OpFoldResult batch = dim(q, 0), sq = dim(q, 1), skv = dim(k, 1);
    Value sqValue = getValueOrCreateConstantIndexOp(rewriter, loc, sq);
    Value skvValue = getValueOrCreateConstantIndexOp(rewriter, loc, skv);
    Value kvLen = op.getKvLen();

    // Loops (b, h, i, j[, d]); kv head = h floordiv group.
    auto d = [&](unsigned i) { return getAffineDimExpr(i, context); };
    AffineExpr kvHead = d(1).floorDiv(group);

    // scores[b, h, i, j] = scale * sum_d q[b, i, h, d] * k[b, j, h/g, d]
    SmallVector<int64_t> scoreShape{qType.getDimSize(0), hq, qType.getDimSize(1),
                                    kType.getDimSize(1)};
    SmallVector<OpFoldResult> scoreDims{batch, rewriter.getIndexAttr(hq), sq, skv};
    auto scoreType = RankedTensorType::get(scoreShape, f32);
    Value zeros = createFilled(rewriter, loc, scoreType, scoreDims,
                               floatConstant(rewriter, loc, f32, 0.0));
    SmallVector<utils::IteratorType> scoreIterators = parallelIterators(5);
    scoreIterators[4] = utils::IteratorType::reduction;
    Value scaleValue = floatConstant(rewriter, loc, f32, scale);
    auto scores = linalg::GenericOp::create(
        rewriter, loc, scoreType, ValueRange{q, k}, zeros,
        ArrayRef<AffineMap>{AffineMap::get(5, 0, {d(0), d(2), d(1), d(4)}, context),
                            AffineMap::get(5, 0, {d(0), d(3), kvHead, d(4)}, context),
                            AffineMap::get(5, 0, {d(0), d(1), d(2), d(3)}, context)},
        scoreIterators, [&](OpBuilder &b, Location l, ValueRange args) {
          Value product = arith::MulFOp::create(
              b, l, convertScalar(b, l, args[0], f32),
              convertScalar(b, l, args[1], f32));
          Value scaled = arith::MulFOp::create(b, l, product, scaleValue);
          linalg::YieldOp::create(
              b, l, ValueRange{arith::AddFOp::create(b, l, args[2], scaled)});
        });

    // visible(b, i, j) from the loop indices of a [b, h, i, j] nest.
    auto visible = [&](OpBuilder &b, Location l) -> Value {
      Type i64 = b.getI64Type();
      auto cast = [&](Value index) {
        return arith::IndexCastOp::create(b, l, i64, index);
      };
      Value bIndex = linalg::IndexOp::create(b, l, 0);
      Value i = cast(linalg::IndexOp::create(b, l, 2));
      Value j = cast(linalg::IndexOp::create(b, l, 3));
      Value length = kvLen ? convertScalar(
                                 b, l, tensor::ExtractOp::create(b, l, kvLen, bIndex),
                                 i64)
                           : cast(skvValue);
      Value position = arith::AddIOp::create(
          b, l, arith::SubIOp::create(b, l, length, cast(sqValue)), i);
      Value result =
          arith::CmpIOp::create(b, l, arith::CmpIPredicate::slt, j, length);
      if (causal)
        result = arith::AndIOp::create(
            b, l, result,
            arith::CmpIOp::create(b, l, arith::CmpIPredicate::sle, j, position));
      if (window > 0)
        result = arith::AndIOp::create(
            b, l, result,
            arith::CmpIOp::create(
                b, l, arith::CmpIPredicate::slt,
                arith::SubIOp::create(b, l, position, j),
                arith::ConstantOp::create(b, l, b.getI64IntegerAttr(window))));
      return result;
    };

    // Row max and sum over visible keys.
    SmallVector<bool> overKeys{false, false, false, true};
    Value negInf = floatConstant(rewriter, loc, f32,
                                 -std::numeric_limits<double>::infinity());
    Value scoreTensor = scores.getResult(0);
    Value rowMax = buildReduction(
        rewriter, loc, scoreTensor, overKeys, f32, negInf,
        [&](OpBuilder &b, Location l, Value acc, Value x) -> Value {
          Value masked = arith::SelectOp::create(b, l, visible(b, l), x,
                                                 floatConstant(b, l, f32, -INFINITY));
          return arith::MaximumFOp::create(b, l, acc, masked);
        });
    Value rowSum = buildReduction(
        rewriter, loc, scoreTensor, overKeys, f32,
        floatConstant(rewriter, loc, f32, 0.0),
        [&](OpBuilder &b, Location l, Value acc, Value x) -> Value {
          return arith::AddFOp::create(b, l, acc, x);
        },
        {rowMax}, [&](OpBuilder &b, Location l, ValueRange vals) -> Value {
          Value e = math::ExpOp::create(b, l,
                                        arith::SubFOp::create(b, l, vals[0], vals[1]));
          return arith::SelectOp::create(b, l, visible(b, l), e,
                                         floatConstant(b, l, f32, 0.0));
        });
    AffineMap rowMap = keptDimsMap(overKeys, context);
    Value probabilities = buildMapped(
        rewriter, loc, {scoreTensor, rowMax, rowSum},
        {rewriter.getMultiDimIdentityMap(4), rowMap, rowMap}, scoreType,
        scoreDims, [&](OpBuilder &b, Location l, ValueRange vals) -> Value {
          Value e = math::ExpOp::create(b, l,
                                        arith::SubFOp::create(b, l, vals[0], vals[1]));
          Value zero = floatConstant(b, l, f32, 0.0);
          Value p = arith::DivFOp::create(b, l, e, vals[2]);
          // Masked keys and rows without any visible key contribute 0.
          Value keep = arith::AndIOp::create(
              b, l, visible(b, l),
              arith::CmpFOp::create(b, l, arith::CmpFPredicate::ONE, vals[2], zero));
          return arith::SelectOp::create(b, l, keep, p, zero);
        });

    // out[b, i, h, d] = sum_j p[b, h, i, j] * v[b, j, h/g, d]
    // Loops (b, i, h, d, j).
    auto resultType = cast<RankedTensorType>(op.getType());
    SmallVector<OpFoldResult> outDims{batch, sq, rewriter.getIndexAttr(hq),
                                      rewriter.getIndexAttr(headDim)};
    auto accType = resultType.clone(f32);
    Value acc = createFilled(rewriter, loc, accType, outDims,
                             floatConstant(rewriter, loc, f32, 0.0));
    SmallVector<utils::IteratorType> outIterators = parallelIterators(5);
    outIterators[4] = utils::IteratorType::reduction;
    AffineExpr vHead = d(2).floorDiv(group);
    auto weighted = linalg::GenericOp::create(
        rewriter, loc, accType, ValueRange{probabilities, v}, acc,
        ArrayRef<AffineMap>{AffineMap::get(5, 0, {d(0), d(2), d(1), d(4)}, context),
                            AffineMap::get(5, 0, {d(0), d(4), vHead, d(3)}, context),
                            AffineMap::get(5, 0, {d(0), d(1), d(2), d(3)}, context)},
        outIterators, [&](OpBuilder &b, Location l, ValueRange args) {
          Value product = arith::MulFOp::create(b, l, args[0],
                                                convertScalar(b, l, args[1], f32));
          linalg::YieldOp::create(
              b, l, ValueRange{arith::AddFOp::create(b, l, args[2], product)});
        });
    Value result = weighted.getResult(0);
    if (accType != resultType)
      result = buildElementwise(rewriter, loc, result, resultType, outDims,
                                [](OpBuilder &, Location, ValueRange vals) {
                                  return vals[0];
                                });
    rewriter.replaceOp(op, result);
    return success();
  }
};


/// S_t = decay_h * S_{t-1} + k_t^T v_t ; o_t = q_t S_t, one time step per
/// iteration of an scf.for carrying the state [B, H, D, D].
struct LinearAttentionLowering : OpRewritePattern<LinearAttentionOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(LinearAttentionOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    MLIRContext *context = rewriter.getContext();
    Value q = op.getQuery(), k = op.getKey(), v = op.getValue();
    auto qType = tensorTypeOf(q);
    int64_t heads = qType.getDimSize(2), headDim = qType.getDimSize(3);
    auto outputType = cast<RankedTensorType>(op.getOutput().getType());
    auto stateType = cast<RankedTensorType>(op.getFinalState().getType());
    Type f32 = rewriter.getF32Type();
    auto d = [&](unsigned i) { return getAffineDimExpr(i, context); };
    auto map = [&](unsigned dims, ArrayRef<AffineExpr> exprs) {
      return AffineMap::get(dims, 0, exprs, context);
    };
    auto dimOf = [&](Value value, int64_t i) -> OpFoldResult {
      OpFoldResult size = rewriter.createOrFold<tensor::DimOp>(loc, value, i);
      if (auto constant = getConstantIntValue(size))
        return rewriter.getIndexAttr(*constant);
      return size;
    };
    OpFoldResult batch = dimOf(q, 0), steps = dimOf(q, 1);
    SmallVector<OpFoldResult> stateDims{batch, rewriter.getIndexAttr(heads),
                                        rewriter.getIndexAttr(headDim),
                                        rewriter.getIndexAttr(headDim)};
    Value state = op.getState();
    if (!state)
      state = createFilled(rewriter, loc, stateType, stateDims,
                           floatConstant(rewriter, loc,
                                         stateType.getElementType(), 0.0));
    // Per-head decay as a constant tensor (1.0 when absent).
    SmallVector<float> decay(heads, 1.0f);
    if (std::optional<ArrayRef<float>> given = op.getDecay())
      decay.assign(given->begin(), given->end());
    auto decayType = RankedTensorType::get({heads}, f32);
    Value decayTensor = arith::ConstantOp::create(
        rewriter, loc, DenseElementsAttr::get(decayType, ArrayRef<float>(decay)));

    SmallVector<OpFoldResult> outDims{batch, steps, rewriter.getIndexAttr(heads),
                                      rewriter.getIndexAttr(headDim)};
    Value output = createEmpty(rewriter, loc, outputType, outDims);
    Value zero = arith::ConstantIndexOp::create(rewriter, loc, 0);
    Value one = arith::ConstantIndexOp::create(rewriter, loc, 1);
    Value stepCount = getValueOrCreateConstantIndexOp(rewriter, loc, steps);
    auto stepType = RankedTensorType::get({qType.getDimSize(0), heads, headDim},
                                          qType.getElementType());
    SmallVector<OpFoldResult> stepSizes{batch, rewriter.getIndexAttr(1),
                                        rewriter.getIndexAttr(heads),
                                        rewriter.getIndexAttr(headDim)};
    SmallVector<OpFoldResult> unit(4, rewriter.getIndexAttr(1));
    auto loop = scf::ForOp::create(
        rewriter, loc, zero, stepCount, one, ValueRange{state, output},
        [&](OpBuilder &b, Location l, Value t, ValueRange carried) {
          SmallVector<OpFoldResult> offsets{b.getIndexAttr(0), t,
                                            b.getIndexAttr(0), b.getIndexAttr(0)};
          auto stepOf = [&](Value x) -> Value {
            return tensor::ExtractSliceOp::create(b, l, stepType, x, offsets,
                                                  stepSizes, unit);
          };
          Value qt = stepOf(q), kt = stepOf(k), vt = stepOf(v);
          // S'[b, h, i, j] = decay[h] * S[b, h, i, j] + k[b, h, i] * v[b, h, j]
          Value next = buildMapped(
              b, l, {carried[0], decayTensor, kt, vt},
              {b.getMultiDimIdentityMap(4), map(4, {d(1)}),
               map(4, {d(0), d(1), d(2)}), map(4, {d(0), d(1), d(3)})},
              stateType, stateDims,
              [&](OpBuilder &nb, Location nl, ValueRange a) -> Value {
                Value decayed = arith::MulFOp::create(
                    nb, nl, convertScalar(nb, nl, a[0], f32), a[1]);
                Value outer = arith::MulFOp::create(
                    nb, nl, convertScalar(nb, nl, a[2], f32),
                    convertScalar(nb, nl, a[3], f32));
                return arith::AddFOp::create(nb, nl, decayed, outer);
              });
          // o[b, h, j] = sum_i q[b, h, i] * S'[b, h, i, j]; loops (b, h, j, i)
          auto accType = RankedTensorType::get(stepType.getShape(), f32);
          SmallVector<OpFoldResult> accDims{batch, b.getIndexAttr(heads),
                                            b.getIndexAttr(headDim)};
          Value acc = createFilled(b, l, accType, accDims,
                                   floatConstant(b, l, f32, 0.0));
          Value ot = linalg::GenericOp::create(
                         b, l, accType, ValueRange{qt, next}, acc,
                         ArrayRef<AffineMap>{map(4, {d(0), d(1), d(3)}),
                                             map(4, {d(0), d(1), d(3), d(2)}),
                                             map(4, {d(0), d(1), d(2)})},
                         {utils::IteratorType::parallel,
                          utils::IteratorType::parallel,
                          utils::IteratorType::parallel,
                          utils::IteratorType::reduction},
                         [&](OpBuilder &nb, Location nl, ValueRange a) {
                           Value product = arith::MulFOp::create(
                               nb, nl, convertScalar(nb, nl, a[0], f32),
                               convertScalar(nb, nl, a[1], f32));
                           linalg::YieldOp::create(
                               nb, nl,
                               ValueRange{arith::AddFOp::create(nb, nl, a[2],
                                                                product)});
                         })
                         .getResult(0);
          Value rounded = buildElementwise(
              b, l, ot, stepType.clone(outputType.getElementType()), accDims,
              [](OpBuilder &, Location, ValueRange a) { return a[0]; });
          Value written = tensor::InsertSliceOp::create(
              b, l, rounded, carried[1], offsets, stepSizes, unit);
          scf::YieldOp::create(b, l, ValueRange{next, written});
        });
    rewriter.replaceOp(op, {loop.getResult(1), loop.getResult(0)});
    return success();
  }
};

} // namespace

void populateAttentionToLinalgPatterns(RewritePatternSet &patterns) {
  patterns.add<RopeLowering, AttentionLowering, LinearAttentionLowering>(
      patterns.getContext());
}

} // namespace kopt
