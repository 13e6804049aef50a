//===- AttentionToLinalg.cpp - rope and attention to linalg ---------------===//
//
// rope: one elementwise generic reading its rotation partner with
// tensor.extract; inv_freq and the angle are computed in f32 as in HF Llama.
//
// attention: flash-style online softmax over blocks of keys (O(Sq * block)
// memory), linalg generics in f32, GQA through an affine floordiv on the kv
// head, and the visibility rule of spec/DIALECT.md evaluated from loop
// indices. Rows without a visible key give zeros.
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

/// Flash-style attention: keys are visited in blocks of kKeyBlock with a
/// running row max m, normaliser l and unnormalised output acc, so memory is
/// O(Sq * kKeyBlock) rather than O(Sq * Skv):
///   s = scale * q . k_blk^T (masked), m' = max(m, max_j s),
///   p = exp(s - m'), c = exp(m - m'), l' = c l + sum_j p,
///   acc' = c acc + p . v_blk; out = acc / l (0 for rows without keys).
struct AttentionLowering : OpRewritePattern<AttentionOp> {
  using OpRewritePattern::OpRewritePattern;
  static constexpr int64_t kKeyBlock = 64;

  /// Attention of one (batch, query head): q [1, Sq, 1, D], k and v
  /// [1, Skv, 1, D] (its kv head), kvLen [1] or null.
  static Value emitHead(OpBuilder &rewriter, Location loc, AttentionOp op,
                        Value q, Value k, Value v, Value kvLen,
                        RankedTensorType resultType) {
    MLIRContext *context = rewriter.getContext();
    auto qType = tensorTypeOf(q), kType = tensorTypeOf(k);
    int64_t hq = qType.getDimSize(2), hkv = kType.getDimSize(2);
    int64_t headDim = qType.getDimSize(3);
    int64_t group = hq / hkv;
    Type f32 = rewriter.getF32Type();
    double scale =
        op.getScale() ? *op.getScale() : 1.0 / std::sqrt(double(headDim));
    bool causal = op.getCausal();
    auto window = static_cast<int64_t>(op.getWindow());

    auto dimOf = [&](Value value, int64_t i) -> OpFoldResult {
      OpFoldResult size = rewriter.createOrFold<tensor::DimOp>(loc, value, i);
      if (auto constant = getConstantIntValue(size))
        return rewriter.getIndexAttr(*constant);
      return size;
    };
    OpFoldResult batch = dimOf(q, 0), sq = dimOf(q, 1);
    Value sqValue = getValueOrCreateConstantIndexOp(rewriter, loc, sq);
    Value skvValue = getValueOrCreateConstantIndexOp(rewriter, loc, dimOf(k, 1));
    auto d = [&](unsigned i) { return getAffineDimExpr(i, context); };
    auto map = [&](unsigned dims, ArrayRef<AffineExpr> exprs) {
      return AffineMap::get(dims, 0, exprs, context);
    };
    Value negInf = floatConstant(rewriter, loc, f32, -INFINITY);
    Value zero = floatConstant(rewriter, loc, f32, 0.0);

    // Running state over the [B, Hq, Sq] rows.
    SmallVector<int64_t> rowShape{qType.getDimSize(0), hq, qType.getDimSize(1)};
    SmallVector<OpFoldResult> rowDims{batch, rewriter.getIndexAttr(hq), sq};
    auto rowType = RankedTensorType::get(rowShape, f32);
    SmallVector<int64_t> accShape(rowShape);
    accShape.push_back(headDim);
    SmallVector<OpFoldResult> accDims(rowDims);
    accDims.push_back(rewriter.getIndexAttr(headDim));
    auto accType = RankedTensorType::get(accShape, f32);
    Value rowMax = createFilled(rewriter, loc, rowType, rowDims, negInf);
    Value rowSum = createFilled(rewriter, loc, rowType, rowDims, zero);
    Value acc = createFilled(rewriter, loc, accType, accDims, zero);

    Value lower = arith::ConstantIndexOp::create(rewriter, loc, 0);
    Value step = arith::ConstantIndexOp::create(rewriter, loc, kKeyBlock);
    auto loop = scf::ForOp::create(
        rewriter, loc, lower, skvValue, step, ValueRange{rowMax, rowSum, acc},
        [&](OpBuilder &b, Location l, Value start, ValueRange state) {
          Value remaining = arith::SubIOp::create(b, l, skvValue, start);
          Value length = arith::MinSIOp::create(b, l, remaining, step);
          SmallVector<OpFoldResult> offsets{b.getIndexAttr(0), start,
                                            b.getIndexAttr(0), b.getIndexAttr(0)};
          SmallVector<OpFoldResult> sizes{batch, length, b.getIndexAttr(hkv),
                                          b.getIndexAttr(headDim)};
          SmallVector<OpFoldResult> unit(4, b.getIndexAttr(1));
          auto blockType = RankedTensorType::get(
              {kType.getDimSize(0), ShapedType::kDynamic, hkv, headDim},
              kType.getElementType());
          Value kBlock = tensor::ExtractSliceOp::create(b, l, blockType, k,
                                                        offsets, sizes, unit);
          Value vBlock = tensor::ExtractSliceOp::create(b, l, blockType, v,
                                                        offsets, sizes, unit);

          // visible(b, i, j) for a [b, h, i, j] nest; j is local to the block.
          auto visible = [&](OpBuilder &nb, Location nl) -> Value {
            Type i64 = nb.getI64Type();
            auto cast = [&](Value index) {
              return arith::IndexCastOp::create(nb, nl, i64, index);
            };
            Value bIndex = linalg::IndexOp::create(nb, nl, 0);
            Value i = cast(linalg::IndexOp::create(nb, nl, 2));
            Value j = cast(arith::AddIOp::create(
                nb, nl, start, linalg::IndexOp::create(nb, nl, 3)));
            Value length64 =
                kvLen ? convertScalar(nb, nl,
                                      tensor::ExtractOp::create(nb, nl, kvLen,
                                                                bIndex),
                                      i64)
                      : cast(skvValue);
            Value position = arith::AddIOp::create(
                nb, nl, arith::SubIOp::create(nb, nl, length64, cast(sqValue)),
                i);
            Value result = arith::CmpIOp::create(
                nb, nl, arith::CmpIPredicate::slt, j, length64);
            if (causal)
              result = arith::AndIOp::create(
                  nb, nl, result,
                  arith::CmpIOp::create(nb, nl, arith::CmpIPredicate::sle, j,
                                        position));
            if (window > 0)
              result = arith::AndIOp::create(
                  nb, nl, result,
                  arith::CmpIOp::create(
                      nb, nl, arith::CmpIPredicate::slt,
                      arith::SubIOp::create(nb, nl, position, j),
                      arith::ConstantOp::create(nb, nl,
                                                nb.getI64IntegerAttr(window))));
            return result;
          };

          // s[b, h, i, j] = scale * sum_d q[b, i, h, d] * k[b, j, h/g, d]
          SmallVector<OpFoldResult> scoreDims(rowDims);
          scoreDims.push_back(length);
          SmallVector<int64_t> scoreShape(rowShape);
          scoreShape.push_back(ShapedType::kDynamic);
          auto scoreType = RankedTensorType::get(scoreShape, f32);
          Value scoreInit = createFilled(b, l, scoreType, scoreDims,
                                         floatConstant(b, l, f32, 0.0));
          SmallVector<utils::IteratorType> iterators = parallelIterators(5);
          iterators[4] = utils::IteratorType::reduction;
          Value scaleValue = floatConstant(b, l, f32, scale);
          auto fastMath = arith::FastMathFlagsAttr::get(
              context, arith::FastMathFlags::reassoc |
                           arith::FastMathFlags::contract);
          auto scoreOp =
              linalg::GenericOp::create(
                  b, l, scoreType, ValueRange{q, kBlock}, scoreInit,
                  ArrayRef<AffineMap>{
                      map(5, {d(0), d(2), d(1), d(4)}),
                      map(5, {d(0), d(3), d(1).floorDiv(group), d(4)}),
                      map(5, {d(0), d(1), d(2), d(3)})},
                  iterators,
                  [&](OpBuilder &nb, Location nl, ValueRange a) {
                    Value product = arith::MulFOp::create(
                        nb, nl, convertScalar(nb, nl, a[0], f32),
                        convertScalar(nb, nl, a[1], f32), fastMath);
                    linalg::YieldOp::create(
                        nb, nl,
                        ValueRange{arith::AddFOp::create(nb, nl, a[2], product,
                                                         fastMath)});
                  });
          Value scores = scoreOp.getResult(0);
          // Masked scores: -inf where not visible (scaled).
          Value masked = buildMapped(
              b, l, scores, {b.getMultiDimIdentityMap(4)}, scoreType, scoreDims,
              [&](OpBuilder &nb, Location nl, ValueRange a) -> Value {
                Value scaled = arith::MulFOp::create(nb, nl, a[0], scaleValue);
                return arith::SelectOp::create(nb, nl, visible(nb, nl), scaled,
                                               floatConstant(nb, nl, f32, -INFINITY));
              });
          SmallVector<bool> overKeys{false, false, false, true};
          Value blockMax = buildReduction(
              b, l, masked, overKeys, f32, floatConstant(b, l, f32, -INFINITY),
              [](OpBuilder &nb, Location nl, Value a, Value x) -> Value {
                return arith::MaximumFOp::create(nb, nl, a, x);
              });
          AffineMap identity3 = b.getMultiDimIdentityMap(3);
          Value newMax = buildMapped(
              b, l, {state[0], blockMax}, {identity3, identity3}, rowType,
              rowDims, [](OpBuilder &nb, Location nl, ValueRange a) -> Value {
                return arith::MaximumFOp::create(nb, nl, a[0], a[1]);
              });
          // p = exp(s - m') (0 where masked: exp(-inf) = 0; rows still fully
          // masked have m' = -inf and are zeroed explicitly).
          AffineMap rowOf4 = keptDimsMap(overKeys, context);
          Value probabilities = buildMapped(
              b, l, {masked, newMax}, {b.getMultiDimIdentityMap(4), rowOf4},
              scoreType, scoreDims,
              [](OpBuilder &nb, Location nl, ValueRange a) -> Value {
                Value f32Zero = floatConstant(nb, nl, nb.getF32Type(), 0.0);
                Value isInf = arith::CmpFOp::create(
                    nb, nl, arith::CmpFPredicate::OEQ, a[1],
                    floatConstant(nb, nl, nb.getF32Type(), -INFINITY));
                Value e = math::ExpOp::create(
                    nb, nl, arith::SubFOp::create(nb, nl, a[0], a[1]));
                return arith::SelectOp::create(nb, nl, isInf, f32Zero, e);
              });
          // c = exp(m - m') (0 when nothing was visible before).
          Value correction = buildMapped(
              b, l, {state[0], newMax}, {identity3, identity3}, rowType, rowDims,
              [](OpBuilder &nb, Location nl, ValueRange a) -> Value {
                Value f32Zero = floatConstant(nb, nl, nb.getF32Type(), 0.0);
                Value wasEmpty = arith::CmpFOp::create(
                    nb, nl, arith::CmpFPredicate::OEQ, a[0],
                    floatConstant(nb, nl, nb.getF32Type(), -INFINITY));
                Value e = math::ExpOp::create(
                    nb, nl, arith::SubFOp::create(nb, nl, a[0], a[1]));
                return arith::SelectOp::create(nb, nl, wasEmpty, f32Zero, e);
              });
          Value blockSum = buildReduction(
              b, l, probabilities, overKeys, f32, floatConstant(b, l, f32, 0.0),
              [](OpBuilder &nb, Location nl, Value a, Value x) -> Value {
                return arith::AddFOp::create(nb, nl, a, x);
              });
          Value newSum = buildMapped(
              b, l, {state[1], correction, blockSum},
              {identity3, identity3, identity3}, rowType, rowDims,
              [](OpBuilder &nb, Location nl, ValueRange a) -> Value {
                return arith::AddFOp::create(
                    nb, nl, arith::MulFOp::create(nb, nl, a[0], a[1]), a[2]);
              });
          // acc' = c acc + sum_j p[b, h, i, j] v[b, j, h/g, d]; loops
          // (b, h, i, j, d) so the innermost loop is a contiguous axpy.
          AffineMap accRow = map(4, {d(0), d(1), d(2)});
          Value scaledAcc = buildMapped(
              b, l, {state[2], correction},
              {b.getMultiDimIdentityMap(4), accRow}, accType, accDims,
              [](OpBuilder &nb, Location nl, ValueRange a) -> Value {
                return arith::MulFOp::create(nb, nl, a[0], a[1]);
              });
          SmallVector<utils::IteratorType> pvIterators = parallelIterators(5);
          pvIterators[3] = utils::IteratorType::reduction;
          auto pvOp =
              linalg::GenericOp::create(
                  b, l, accType, ValueRange{probabilities, vBlock}, scaledAcc,
                  ArrayRef<AffineMap>{
                      map(5, {d(0), d(1), d(2), d(3)}),
                      map(5, {d(0), d(3), d(1).floorDiv(group), d(4)}),
                      map(5, {d(0), d(1), d(2), d(4)})},
                  pvIterators,
                  [&](OpBuilder &nb, Location nl, ValueRange a) {
                    Value product = arith::MulFOp::create(
                        nb, nl, a[0], convertScalar(nb, nl, a[1], f32),
                        fastMath);
                    linalg::YieldOp::create(
                        nb, nl,
                        ValueRange{arith::AddFOp::create(nb, nl, a[2], product,
                                                         fastMath)});
                  });
          Value newAcc = pvOp.getResult(0);
          scf::YieldOp::create(b, l, ValueRange{newMax, newSum, newAcc});
        });

    // out[b, i, h, d] = acc[b, h, i, d] / l[b, h, i] (0 without keys).
    SmallVector<OpFoldResult> outDims{batch, sq, rewriter.getIndexAttr(hq),
                                      rewriter.getIndexAttr(headDim)};
    Value result = buildMapped(
        rewriter, loc, {loop.getResult(2), loop.getResult(1)},
        {map(4, {d(0), d(2), d(1), d(3)}), map(4, {d(0), d(2), d(1)})},
        resultType, outDims,
        [](OpBuilder &nb, Location nl, ValueRange a) -> Value {
          Value f32Zero = floatConstant(nb, nl, nb.getF32Type(), 0.0);
          Value empty = arith::CmpFOp::create(nb, nl, arith::CmpFPredicate::OEQ,
                                              a[1], f32Zero);
          Value normalized = arith::DivFOp::create(nb, nl, a[0], a[1]);
          return arith::SelectOp::create(nb, nl, empty, f32Zero, normalized);
        });
    return result;
  }

  /// One head per iteration of an scf.forall over (batch, query head), so
  /// heads run on all cores (scf.forall -> scf.parallel -> OpenMP).
  LogicalResult matchAndRewrite(AttentionOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value q = op.getQuery(), k = op.getKey(), v = op.getValue();
    Value kvLen = op.getKvLen();
    auto qType = tensorTypeOf(q), kType = tensorTypeOf(k);
    auto resultType = cast<RankedTensorType>(op.getType());
    int64_t hq = qType.getDimSize(2), hkv = kType.getDimSize(2);
    int64_t headDim = qType.getDimSize(3), group = hq / hkv;
    FailureOr<SmallVector<OpFoldResult>> dims = reifyResultDims(rewriter, op, 0);
    if (failed(dims))
      return failure();
    OpFoldResult batch = (*dims)[0], sq = (*dims)[1];
    OpFoldResult skv = rewriter.createOrFold<tensor::DimOp>(loc, k, 1);
    if (auto constant = getConstantIntValue(skv))
      skv = rewriter.getIndexAttr(*constant);
    // kv_len outside [0, Skv] is reported (and clamped by the heads).
    if (kvLen)
      checkIndicesInRange(rewriter, loc, op, kvLen,
                          getValueOrCreateConstantIndexOp(rewriter, loc, skv),
                          /*inclusive=*/true);
    Value out = createEmpty(rewriter, loc, resultType, *dims);
    auto headType = [&](RankedTensorType type, int64_t length) {
      return RankedTensorType::get({1, length, 1, headDim},
                                   type.getElementType());
    };
    auto forall = scf::ForallOp::create(
        rewriter, loc, ArrayRef<OpFoldResult>{batch, rewriter.getIndexAttr(hq)},
        ValueRange{out}, std::nullopt);
    scf::InParallelOp terminator = forall.getTerminator();
    OpBuilder b(terminator);
    Location l = loc;
    Value bIndex = forall.getInductionVar(0), h = forall.getInductionVar(1);
    Value shared = forall.getRegionIterArgs()[0];
    Value kvHead = arith::DivUIOp::create(
        b, l, h, arith::ConstantIndexOp::create(b, l, group));
    SmallVector<OpFoldResult> unit(4, b.getIndexAttr(1));
    auto slice = [&](Value x, Value head, OpFoldResult length,
                     RankedTensorType type) -> Value {
      return tensor::ExtractSliceOp::create(
          b, l, type, x,
          ArrayRef<OpFoldResult>{bIndex, b.getIndexAttr(0), head,
                                 b.getIndexAttr(0)},
          ArrayRef<OpFoldResult>{b.getIndexAttr(1), length, b.getIndexAttr(1),
                                 b.getIndexAttr(headDim)},
          unit);
    };
    auto qHeadType = headType(qType, qType.getDimSize(1));
    auto kvHeadType = headType(kType, kType.getDimSize(1));
    Value qh = slice(q, h, sq, qHeadType);
    Value kh = slice(k, kvHead, skv, kvHeadType);
    Value vh = slice(v, kvHead, skv, kvHeadType);
    Value lengthh;
    if (kvLen)
      lengthh = tensor::ExtractSliceOp::create(
          b, l,
          RankedTensorType::get({1}, tensorTypeOf(kvLen).getElementType()),
          kvLen, ArrayRef<OpFoldResult>{bIndex},
          ArrayRef<OpFoldResult>{b.getIndexAttr(1)},
          ArrayRef<OpFoldResult>{b.getIndexAttr(1)});
    Value head = emitHead(b, l, op, qh, kh, vh, lengthh,
                          qHeadType.clone(resultType.getElementType()));
    b.setInsertionPointToStart(terminator.getBody());
    tensor::ParallelInsertSliceOp::create(
        b, l, head, shared,
        ArrayRef<OpFoldResult>{bIndex, b.getIndexAttr(0), h, b.getIndexAttr(0)},
        ArrayRef<OpFoldResult>{b.getIndexAttr(1), sq, b.getIndexAttr(1),
                               b.getIndexAttr(headDim)},
        unit);
    rewriter.replaceOp(op, forall.getResult(0));
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
