//===- ReductionToLinalg.cpp - reduce_* and argmax to linalg --------------===//
//
// Reductions accumulate in the compute type (f32 for 16-bit floats), then
// round to the result type; keepdim re-inserts unit dims with expand_shape.
// argmax is one generic with two accumulators (value, index) that keeps the
// first maximum and treats NaN as the largest value, like torch.argmax.
//
//===----------------------------------------------------------------------===//

#include "LoweringUtils.h"

#include "kopt/Codegen/Conversion/KoptToLinalg.h"
#include "kopt/Dialect/Kopt/KoptOps.h"
#include "kopt/Dialect/Kopt/ShapeUtils.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

#include <limits>

using namespace mlir;

namespace kopt {
namespace {

SmallVector<bool> reducedAxes(ArrayRef<int64_t> axes, int64_t rank) {
  SmallVector<bool> reduced(rank, false);
  for (int64_t axis : axes)
    reduced[*normalizeAxis(axis, rank)] = true;
  return reduced;
}

/// Re-inserts the reduced dims as 1s when `keepdim`; `kept` has the kept
/// dims only and the final type `resultType`.
Value restoreKeptDims(OpBuilder &b, Location loc, Value kept,
                      ArrayRef<bool> reduced, RankedTensorType resultType,
                      ArrayRef<OpFoldResult> resultDims) {
  if (tensorTypeOf(kept).getRank() == resultType.getRank())
    return kept;
  // Group each kept dim with the reduced dims that follow it (leading
  // reduced dims join the first group).
  SmallVector<ReassociationIndices> groups;
  ReassociationIndices pending;
  for (auto [i, isReduced] : llvm::enumerate(reduced)) {
    pending.push_back(i);
    if (!isReduced) {
      groups.push_back(pending);
      pending.clear();
    }
  }
  if (groups.empty()) // everything reduced: a 0-d tensor expands to 1x1x...
    return tensor::ExpandShapeOp::create(b, loc, resultType, kept,
                                         SmallVector<ReassociationIndices>{},
                                         resultDims);
  groups.back().append(pending.begin(), pending.end());
  return tensor::ExpandShapeOp::create(b, loc, resultType, kept, groups,
                                       resultDims);
}

template <typename OpTy>
struct ReduceLowering : OpRewritePattern<OpTy> {
  using OpRewritePattern<OpTy>::OpRewritePattern;

  LogicalResult matchAndRewrite(OpTy op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value x = op.getInput();
    auto type = tensorTypeOf(x);
    auto resultType = cast<RankedTensorType>(op.getType());
    Type element = type.getElementType(), acc = computeType(element);
    SmallVector<bool> reduced = reducedAxes(op.getAxes(), type.getRank());
    bool isFloat = isa<FloatType>(acc);
    constexpr bool isMax = std::is_same_v<OpTy, ReduceMaxOp>;
    Value init;
    if (isMax)
      init = isFloat ? floatConstant(rewriter, loc, acc,
                                     -std::numeric_limits<double>::infinity())
                     : arith::ConstantOp::create(
                           rewriter, loc,
                           rewriter.getIntegerAttr(
                               acc, APInt::getSignedMinValue(
                                        acc.getIntOrFloatBitWidth())));
    else
      init = isFloat ? floatConstant(rewriter, loc, acc, 0.0)
                     : arith::ConstantOp::create(
                           rewriter, loc, rewriter.getIntegerAttr(acc, 0));
    Value total = buildReduction(
        rewriter, loc, x, reduced, acc, init,
        [&](OpBuilder &b, Location l, Value a, Value v) -> Value {
          if (isMax)
            return isFloat ? arith::MaximumFOp::create(b, l, a, v).getResult()
                           : arith::MaxSIOp::create(b, l, a, v).getResult();
          return isFloat ? arith::AddFOp::create(b, l, a, v).getResult()
                         : arith::AddIOp::create(b, l, a, v).getResult();
        });
    // Mean divides by the reduced element count; then round to the element
    // type.
    Value count;
    if (std::is_same_v<OpTy, ReduceMeanOp>)
      count = reducedCount(rewriter, loc, x, reduced);
    auto keptType = tensorTypeOf(total).clone(element);
    SmallVector<OpFoldResult> dims = keptDims(rewriter, loc, x, reduced);
    Value kept = buildElementwise(
        rewriter, loc, total, keptType, dims,
        [&](OpBuilder &b, Location l, ValueRange v) -> Value {
          if (!count)
            return v[0];
          Value n = arith::IndexCastOp::create(b, l, b.getI64Type(), count);
          if (isFloat)
            return arith::DivFOp::create(
                b, l, v[0], arith::SIToFPOp::create(b, l, acc, n));
          return arith::DivSIOp::create(b, l, v[0],
                                        convertScalar(b, l, n, acc));
        });
    FailureOr<SmallVector<OpFoldResult>> resultDims =
        reifyResultDims(rewriter, op, 0);
    if (failed(resultDims))
      return failure();
    rewriter.replaceOp(op, restoreKeptDims(rewriter, loc, kept, reduced,
                                           resultType, *resultDims));
    return success();
  }
};

struct ArgmaxLowering : OpRewritePattern<ArgmaxOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(ArgmaxOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value x = op.getInput();
    auto type = tensorTypeOf(x);
    int64_t rank = type.getRank();
    int64_t axis = *normalizeAxis(static_cast<int64_t>(op.getAxis()), rank);
    SmallVector<bool> reduced(rank, false);
    reduced[axis] = true;
    Type acc = computeType(type.getElementType());
    bool isFloat = isa<FloatType>(acc);
    Type i32 = rewriter.getI32Type();
    SmallVector<int64_t> keptShape;
    for (int64_t i = 0; i < rank; ++i)
      if (i != axis)
        keptShape.push_back(type.getDimSize(i));
    SmallVector<OpFoldResult> dims = keptDims(rewriter, loc, x, reduced);
    Value lowest =
        isFloat ? floatConstant(rewriter, loc, acc,
                                -std::numeric_limits<double>::infinity())
                : arith::ConstantOp::create(
                      rewriter, loc,
                      rewriter.getIntegerAttr(
                          acc, APInt::getSignedMinValue(
                                   acc.getIntOrFloatBitWidth())));
    Value values = createFilled(rewriter, loc,
                                RankedTensorType::get(keptShape, acc), dims,
                                lowest);
    Value indices = createFilled(
        rewriter, loc, RankedTensorType::get(keptShape, i32), dims,
        arith::ConstantOp::create(rewriter, loc, rewriter.getI32IntegerAttr(0)));
    MLIRContext *context = rewriter.getContext();
    AffineMap kept = keptDimsMap(reduced, context);
    SmallVector<utils::IteratorType> iterators = parallelIterators(rank);
    iterators[axis] = utils::IteratorType::reduction;
    auto generic = linalg::GenericOp::create(
        rewriter, loc, TypeRange{values.getType(), indices.getType()}, x,
        ValueRange{values, indices},
        ArrayRef<AffineMap>{rewriter.getMultiDimIdentityMap(rank), kept, kept},
        iterators, [&](OpBuilder &b, Location l, ValueRange args) {
          Value v = convertScalar(b, l, args[0], acc);
          Value best = args[1], bestIndex = args[2];
          Value index = arith::IndexCastOp::create(
              b, l, i32, linalg::IndexOp::create(b, l, axis));
          Value better;
          if (isFloat) {
            // NaN is the largest: the first NaN wins and stays.
            Value greater = arith::CmpFOp::create(
                b, l, arith::CmpFPredicate::OGT, v, best);
            Value vIsNaN = arith::CmpFOp::create(
                b, l, arith::CmpFPredicate::UNO, v, v);
            Value bestIsNaN = arith::CmpFOp::create(
                b, l, arith::CmpFPredicate::UNO, best, best);
            Value nanWins = arith::AndIOp::create(
                b, l, vIsNaN,
                arith::XOrIOp::create(
                    b, l, bestIsNaN,
                    arith::ConstantOp::create(b, l, b.getBoolAttr(true))));
            better = arith::OrIOp::create(b, l, greater, nanWins);
          } else {
            better = arith::CmpIOp::create(b, l, arith::CmpIPredicate::sgt, v,
                                           best);
          }
          // The very first element always wins (an all -inf row gives 0).
          Value first = arith::CmpIOp::create(
              b, l, arith::CmpIPredicate::eq, index,
              arith::ConstantOp::create(b, l, b.getI32IntegerAttr(0)));
          better = arith::OrIOp::create(b, l, better, first);
          linalg::YieldOp::create(
              b, l,
              ValueRange{arith::SelectOp::create(b, l, better, v, best),
                         arith::SelectOp::create(b, l, better, index,
                                                 bestIndex)});
        });
    FailureOr<SmallVector<OpFoldResult>> resultDims =
        reifyResultDims(rewriter, op, 0);
    if (failed(resultDims))
      return failure();
    rewriter.replaceOp(op, restoreKeptDims(rewriter, loc, generic.getResult(1),
                                           reduced,
                                           cast<RankedTensorType>(op.getType()),
                                           *resultDims));
    return success();
  }
};

} // namespace

void populateReductionToLinalgPatterns(RewritePatternSet &patterns) {
  patterns.add<ReduceLowering<ReduceSumOp>, ReduceLowering<ReduceMeanOp>,
               ReduceLowering<ReduceMaxOp>, ArgmaxLowering>(
      patterns.getContext());
}

} // namespace kopt
