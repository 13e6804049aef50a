//===- DataMovementToTensor.cpp - Lookups and shape ops to tensor/linalg --===//
//
// embedding and gather read through clamped indices (never out of bounds)
// and report the first bad index through the status buffer; reshape,
// transpose, concat and slice become tensor/linalg data movement;
// cache_update writes each batch row at its offset, refusing (and
// reporting) writes past the cache.
//
//===----------------------------------------------------------------------===//

#include "LoweringUtils.h"

#include "kopt/Codegen/Conversion/KoptToLinalg.h"
#include "kopt/Dialect/Kopt/KoptOps.h"
#include "kopt/Dialect/Kopt/ShapeUtils.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

using namespace mlir;

namespace kopt {
namespace {

Value indexConstant(OpBuilder &b, Location loc, int64_t value) {
  return arith::ConstantIndexOp::create(b, loc, value);
}

struct EmbeddingLowering : OpRewritePattern<EmbeddingOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(EmbeddingOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value table = op.getTable(), ids = op.getIds();
    auto resultType = cast<RankedTensorType>(op.getType());
    FailureOr<SmallVector<OpFoldResult>> dims = reifyResultDims(rewriter, op, 0);
    if (failed(dims))
      return failure();
    Value vocab = getValueOrCreateConstantIndexOp(
        rewriter, loc, rewriter.createOrFold<tensor::DimOp>(loc, table, 0));
    checkIndicesInRange(rewriter, loc, op, ids, vocab);
    int64_t rank = resultType.getRank();
    MLIRContext *context = rewriter.getContext();
    SmallVector<AffineExpr> idExprs;
    for (int64_t i = 0; i + 1 < rank; ++i)
      idExprs.push_back(getAffineDimExpr(i, context));
    Value result = buildMapped(
        rewriter, loc, ids, {AffineMap::get(rank, 0, idExprs, context)},
        resultType, *dims, [&](OpBuilder &b, Location l, ValueRange v) -> Value {
          Value row = clampIndex(b, l, v[0], vocab);
          Value column = linalg::IndexOp::create(b, l, rank - 1);
          return tensor::ExtractOp::create(b, l, table, ValueRange{row, column});
        });
    rewriter.replaceOp(op, result);
    return success();
  }
};

struct GatherLowering : OpRewritePattern<GatherOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(GatherOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value input = op.getInput(), indices = op.getIndices();
    auto inputType = tensorTypeOf(input), indicesType = tensorTypeOf(indices);
    auto resultType = cast<RankedTensorType>(op.getType());
    int64_t rank = inputType.getRank();
    int64_t axis = *normalizeAxis(static_cast<int64_t>(op.getAxis()), rank);
    FailureOr<SmallVector<OpFoldResult>> dims = reifyResultDims(rewriter, op, 0);
    if (failed(dims))
      return failure();
    Value bound = getValueOrCreateConstantIndexOp(
        rewriter, loc, rewriter.createOrFold<tensor::DimOp>(loc, input, axis));
    checkIndicesInRange(rewriter, loc, op, indices, bound);
    // indices[i0, .., i_axis, (i_j or 0 where its dim is 1)...]
    MLIRContext *context = rewriter.getContext();
    SmallVector<AffineExpr> exprs;
    for (int64_t i = 0; i < indicesType.getRank(); ++i)
      exprs.push_back(i > axis && indicesType.getDimSize(i) == 1 &&
                              resultType.getDimSize(i) != 1
                          ? getAffineConstantExpr(0, context)
                          : getAffineDimExpr(i, context));
    Value result = buildMapped(
        rewriter, loc, indices, {AffineMap::get(rank, 0, exprs, context)},
        resultType, *dims, [&](OpBuilder &b, Location l, ValueRange v) -> Value {
          SmallVector<Value> position;
          for (int64_t i = 0; i < rank; ++i)
            position.push_back(i == axis ? clampIndex(b, l, v[0], bound)
                                         : linalg::IndexOp::create(b, l, i));
          return tensor::ExtractOp::create(b, l, input, position);
        });
    rewriter.replaceOp(op, result);
    return success();
  }
};

struct ReshapeLowering : OpRewritePattern<ReshapeOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(ReshapeOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    auto resultType = cast<RankedTensorType>(op.getType());
    FailureOr<SmallVector<OpFoldResult>> dims = reifyResultDims(rewriter, op, 0);
    if (failed(dims))
      return failure();
    SmallVector<Value> sizes;
    for (OpFoldResult dim : *dims)
      sizes.push_back(getValueOrCreateConstantIndexOp(rewriter, loc, dim));
    Value shape = tensor::FromElementsOp::create(
        rewriter, loc,
        RankedTensorType::get({resultType.getRank()}, rewriter.getIndexType()),
        sizes);
    rewriter.replaceOpWithNewOp<tensor::ReshapeOp>(op, resultType,
                                                   op.getInput(), shape);
    return success();
  }
};

struct TransposeLowering : OpRewritePattern<TransposeOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(TransposeOp op,
                                PatternRewriter &rewriter) const override {
    FailureOr<SmallVector<OpFoldResult>> dims = reifyResultDims(rewriter, op, 0);
    if (failed(dims))
      return failure();
    Value init = createEmpty(rewriter, op.getLoc(),
                             cast<RankedTensorType>(op.getType()), *dims);
    auto transpose = linalg::TransposeOp::create(
        rewriter, op.getLoc(), op.getInput(), init, op.getPermutation());
    rewriter.replaceOp(op, transpose.getResult());
    return success();
  }
};

struct ConcatLowering : OpRewritePattern<ConcatOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(ConcatOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    auto resultType = cast<RankedTensorType>(op.getType());
    int64_t rank = resultType.getRank();
    int64_t axis = *normalizeAxis(static_cast<int64_t>(op.getAxis()), rank);
    FailureOr<SmallVector<OpFoldResult>> dims = reifyResultDims(rewriter, op, 0);
    if (failed(dims))
      return failure();
    Value result = createEmpty(rewriter, loc, resultType, *dims);
    OpFoldResult offset = rewriter.getIndexAttr(0);
    for (Value input : op.getInputs()) {
      SmallVector<OpFoldResult> offsets(rank, rewriter.getIndexAttr(0));
      offsets[axis] = offset;
      SmallVector<OpFoldResult> sizes;
      for (int64_t i = 0; i < rank; ++i) {
        OpFoldResult size =
            i == axis ? rewriter.createOrFold<tensor::DimOp>(loc, input, i)
                      : (*dims)[i];
        // Static sizes as attributes, so the slice type is static too.
        if (std::optional<int64_t> constant = getConstantIntValue(size))
          size = rewriter.getIndexAttr(*constant);
        sizes.push_back(size);
      }
      SmallVector<OpFoldResult> strides(rank, rewriter.getIndexAttr(1));
      result = tensor::InsertSliceOp::create(rewriter, loc, input, result,
                                             offsets, sizes, strides);
      offset = rewriter.createOrFold<arith::AddIOp>(
          loc, getValueOrCreateConstantIndexOp(rewriter, loc, offset),
          getValueOrCreateConstantIndexOp(rewriter, loc, sizes[axis]));
    }
    rewriter.replaceOp(op, result);
    return success();
  }
};

struct SliceLowering : OpRewritePattern<SliceOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(SliceOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value input = op.getInput();
    auto resultType = cast<RankedTensorType>(op.getType());
    int64_t rank = resultType.getRank();
    int64_t axis = *normalizeAxis(static_cast<int64_t>(op.getAxis()), rank);
    auto start = static_cast<int64_t>(op.getStart());
    auto size = static_cast<int64_t>(op.getSize());
    FailureOr<SmallVector<OpFoldResult>> dims = reifyResultDims(rewriter, op, 0);
    if (failed(dims))
      return failure();
    SmallVector<OpFoldResult> offsets(rank, rewriter.getIndexAttr(0));
    offsets[axis] = rewriter.getIndexAttr(start);
    SmallVector<OpFoldResult> strides(rank, rewriter.getIndexAttr(1));
    auto slice = [&](OpBuilder &b, Location l) -> Value {
      return tensor::ExtractSliceOp::create(b, l, resultType, input, offsets,
                                            *dims, strides);
    };
    if (!tensorTypeOf(input).isDynamicDim(axis)) {
      rewriter.replaceOp(op, slice(rewriter, loc));
      return success();
    }
    // A dynamic dim may be too short at run time: report it and produce
    // zeros instead of reading past the end.
    Value extent = tensor::DimOp::create(rewriter, loc, input, axis);
    Value end = indexConstant(rewriter, loc, start + size);
    Value fits = arith::CmpIOp::create(rewriter, loc, arith::CmpIPredicate::sle,
                                       end, extent);
    Value doesNotFit = arith::XOrIOp::create(
        rewriter, loc, fits,
        arith::ConstantOp::create(rewriter, loc, rewriter.getBoolAttr(true)));
    reportRuntimeError(rewriter, loc, op, doesNotFit,
                       RuntimeError::IndexOutOfRange,
                       arith::IndexCastOp::create(rewriter, loc,
                                                  rewriter.getI64Type(), end),
                       extent);
    auto ifOp = scf::IfOp::create(
        rewriter, loc, fits,
        [&](OpBuilder &b, Location l) { scf::YieldOp::create(b, l, slice(b, l)); },
        [&](OpBuilder &b, Location l) {
          Type element = resultType.getElementType();
          Value zero = isa<FloatType>(element)
                           ? floatConstant(b, l, element, 0.0)
                           : arith::ConstantOp::create(
                                 b, l, b.getIntegerAttr(element, 0))
                                 .getResult();
          scf::YieldOp::create(b, l,
                               createFilled(b, l, resultType, *dims, zero));
        });
    rewriter.replaceOp(op, ifOp.getResult(0));
    return success();
  }
};

struct CacheUpdateLowering : OpRewritePattern<CacheUpdateOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(CacheUpdateOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value cache = op.getCache(), update = op.getUpdate();
    Value offsets = op.getOffset();
    auto updateType = tensorTypeOf(update);
    Value zero = indexConstant(rewriter, loc, 0), one = indexConstant(rewriter, loc, 1);
    Value batch = tensor::DimOp::create(rewriter, loc, cache, 0);
    Value capacity = tensor::DimOp::create(rewriter, loc, cache, 1);
    Value length = tensor::DimOp::create(rewriter, loc, update, 1);
    SmallVector<OpFoldResult> rowSizes{
        rewriter.getIndexAttr(1), length,
        rewriter.createOrFold<tensor::DimOp>(loc, update, 2),
        rewriter.createOrFold<tensor::DimOp>(loc, update, 3)};
    for (OpFoldResult &size : rowSizes)
      if (auto constant = getConstantIntValue(size))
        size = rewriter.getIndexAttr(*constant);
    SmallVector<OpFoldResult> unitStrides(4, rewriter.getIndexAttr(1));
    auto loop = scf::ForOp::create(
        rewriter, loc, zero, batch, one, ValueRange{cache},
        [&](OpBuilder &b, Location l, Value row, ValueRange carried) {
          Value offset = clampIndex(
              b, l, tensor::ExtractOp::create(b, l, offsets, row),
              arith::AddIOp::create(b, l, capacity, one));
          Value raw = convertScalar(b, l,
                                    tensor::ExtractOp::create(b, l, offsets, row),
                                    b.getI64Type());
          Value end = arith::AddIOp::create(
              b, l, raw, arith::IndexCastOp::create(b, l, b.getI64Type(), length));
          Value negative = arith::CmpIOp::create(
              b, l, arith::CmpIPredicate::slt, raw,
              arith::ConstantOp::create(b, l, b.getI64IntegerAttr(0)));
          Value past = arith::CmpIOp::create(
              b, l, arith::CmpIPredicate::sgt, end,
              arith::IndexCastOp::create(b, l, b.getI64Type(), capacity));
          Value bad = arith::OrIOp::create(b, l, negative, past);
          reportRuntimeError(b, l, op, bad, RuntimeError::CacheOverflow, end,
                             capacity);
          auto ifOp = scf::IfOp::create(
              b, l, bad,
              [&](OpBuilder &tb, Location tl) {
                scf::YieldOp::create(tb, tl, carried[0]);
              },
              [&](OpBuilder &eb, Location el) {
                SmallVector<OpFoldResult> source{row, eb.getIndexAttr(0),
                                                 eb.getIndexAttr(0),
                                                 eb.getIndexAttr(0)};
                Value piece = tensor::ExtractSliceOp::create(
                    eb, el,
                    RankedTensorType::get({1, updateType.getDimSize(1),
                                           updateType.getDimSize(2),
                                           updateType.getDimSize(3)},
                                          updateType.getElementType()),
                    update, source, rowSizes, unitStrides);
                SmallVector<OpFoldResult> target{row, offset, eb.getIndexAttr(0),
                                                 eb.getIndexAttr(0)};
                Value written = tensor::InsertSliceOp::create(
                    eb, el, piece, carried[0], target, rowSizes, unitStrides);
                scf::YieldOp::create(eb, el, written);
              });
          scf::YieldOp::create(b, l, ifOp.getResult(0));
        });
    rewriter.replaceOp(op, loop.getResult(0));
    return success();
  }
};

} // namespace

void populateDataMovementToTensorPatterns(RewritePatternSet &patterns) {
  patterns.add<EmbeddingLowering, GatherLowering, ReshapeLowering,
               TransposeLowering, ConcatLowering, SliceLowering,
               CacheUpdateLowering>(patterns.getContext());
}

} // namespace kopt
