//===- SelectionToLinalg.cpp - topk and moe to linalg/scf -----------------===//
//
// topk keeps a sorted k-buffer per row (insertion, stable for ties, NaN as
// the largest value, as torch.topk). moe routes with a rank test (expert e
// is selected when fewer than top_k experts beat it), then evaluates the
// experts densely and weights their outputs by the (renormalised) gates;
// unselected experts get weight 0. Dense evaluation costs E/top_k times the
// routed FLOPs: correct everywhere, fast nowhere (the grouped GEMM is the
// GPU backend's job).
//
//===----------------------------------------------------------------------===//

#include "LoweringUtils.h"

#include "kopt/Codegen/Conversion/KoptToLinalg.h"
#include "kopt/Dialect/Kopt/KoptOps.h"
#include "kopt/Dialect/Kopt/ShapeUtils.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

#include <limits>

using namespace mlir;

namespace kopt {
namespace {

/// a ranks at or before b: a > b, or NaN a (NaN is the largest).
Value ranksBefore(OpBuilder &b, Location loc, Value lhs, Value rhs) {
  if (!isa<FloatType>(lhs.getType()))
    return arith::CmpIOp::create(b, loc, arith::CmpIPredicate::sge, lhs, rhs);
  Value lhsNaN = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::UNO, lhs, lhs);
  Value rhsNaN = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::UNO, rhs, rhs);
  Value ge = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OGE, lhs, rhs);
  Value notRhsNaN = arith::XOrIOp::create(
      b, loc, rhsNaN, arith::ConstantOp::create(b, loc, b.getBoolAttr(true)));
  return arith::OrIOp::create(b, loc, lhsNaN,
                              arith::AndIOp::create(b, loc, notRhsNaN, ge));
}

struct TopKLowering : OpRewritePattern<TopKOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(TopKOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value input = op.getInput();
    auto type = tensorTypeOf(input);
    int64_t rank = type.getRank();
    int64_t axis = *normalizeAxis(static_cast<int64_t>(op.getAxis()), rank);
    auto k = static_cast<int64_t>(op.getK());
    // Work on [..., N] with the axis last.
    SmallVector<int64_t> perm;
    for (int64_t i = 0; i < rank; ++i)
      if (i != axis)
        perm.push_back(i);
    perm.push_back(axis);
    bool moved = axis != rank - 1;
    Value rows = input;
    if (moved) {
      SmallVector<OpFoldResult> dims;
      SmallVector<int64_t> shape;
      for (int64_t p : perm) {
        dims.push_back(rewriter.createOrFold<tensor::DimOp>(loc, input, p));
        shape.push_back(type.getDimSize(p));
      }
      Value init = createEmpty(rewriter, loc, type.clone(shape), dims);
      rows = linalg::TransposeOp::create(rewriter, loc, input, init, perm)
                 .getResult()[0];
    }
    auto rowsType = tensorTypeOf(rows);
    Type element = type.getElementType(), i32 = rewriter.getI32Type();
    SmallVector<OpFoldResult> outDims;
    SmallVector<int64_t> outShape;
    for (int64_t i = 0; i + 1 < rank; ++i) {
      OpFoldResult dim = rewriter.createOrFold<tensor::DimOp>(loc, rows, i);
      if (auto constant = getConstantIntValue(dim))
        dim = rewriter.getIndexAttr(*constant);
      outDims.push_back(dim);
      outShape.push_back(rowsType.getDimSize(i));
    }
    outDims.push_back(rewriter.getIndexAttr(k));
    outShape.push_back(k);
    bool isFloat = isa<FloatType>(element);
    Value lowest =
        isFloat ? floatConstant(rewriter, loc, element,
                                -std::numeric_limits<double>::infinity())
                : arith::ConstantOp::create(
                      rewriter, loc,
                      rewriter.getIntegerAttr(
                          element, APInt::getSignedMinValue(
                                       element.getIntOrFloatBitWidth())))
                      .getResult();
    Value values = createFilled(rewriter, loc,
                                RankedTensorType::get(outShape, element),
                                outDims, lowest);
    Value indices = createFilled(
        rewriter, loc, RankedTensorType::get(outShape, i32), outDims,
        arith::ConstantOp::create(rewriter, loc, rewriter.getI32IntegerAttr(0)));

    // Loop over every row (the leading dims, linearised) and every element.
    Value zero = arith::ConstantIndexOp::create(rewriter, loc, 0);
    Value one = arith::ConstantIndexOp::create(rewriter, loc, 1);
    Value kIndex = arith::ConstantIndexOp::create(rewriter, loc, k);
    Value rowCount = one;
    SmallVector<Value> leadingSizes;
    for (int64_t i = 0; i + 1 < rank; ++i) {
      Value size = getValueOrCreateConstantIndexOp(rewriter, loc, outDims[i]);
      leadingSizes.push_back(size);
      rowCount = arith::MulIOp::create(rewriter, loc, rowCount, size);
    }
    Value n = tensor::DimOp::create(rewriter, loc, rows, rank - 1);
    // A dynamic axis shorter than k at run time is an error; the missing
    // entries stay at their fill value.
    if (rowsType.isDynamicDim(rank - 1))
      reportRuntimeError(
          rewriter, loc, op,
          arith::CmpIOp::create(rewriter, loc, arith::CmpIPredicate::slt, n,
                                kIndex),
          RuntimeError::IndexOutOfRange,
          arith::ConstantOp::create(rewriter, loc, rewriter.getI64IntegerAttr(k)),
          n);
    auto rowLoop = scf::ForOp::create(
        rewriter, loc, zero, rowCount, one, ValueRange{values, indices},
        [&](OpBuilder &b, Location l, Value row, ValueRange rowState) {
          // Delinearise the row index into the leading dims.
          SmallVector<Value> position(rank - 1);
          Value rest = row;
          for (int64_t i = rank - 2; i >= 0; --i) {
            position[i] = arith::RemUIOp::create(b, l, rest, leadingSizes[i]);
            rest = arith::DivUIOp::create(b, l, rest, leadingSizes[i]);
          }
          auto at = [&](Value last) {
            SmallVector<Value> full(position);
            full.push_back(last);
            return full;
          };
          auto elementLoop = scf::ForOp::create(
              b, l, zero, n, one, rowState,
              [&](OpBuilder &eb, Location el, Value j, ValueRange state) {
                Value x = tensor::ExtractOp::create(eb, el, rows, at(j));
                Value filled = arith::MinUIOp::create(eb, el, j, kIndex);
                // pos = how many kept entries rank at or before x.
                auto count = scf::ForOp::create(
                    eb, el, zero, filled, one, ValueRange{zero},
                    [&](OpBuilder &cb, Location cl, Value p, ValueRange c) {
                      Value kept = tensor::ExtractOp::create(cb, cl, state[0], at(p));
                      Value before = ranksBefore(cb, cl, kept, x);
                      Value next = arith::AddIOp::create(
                          cb, cl, c[0],
                          arith::SelectOp::create(cb, cl, before, one, zero));
                      scf::YieldOp::create(cb, cl, next);
                    });
                Value pos = count.getResult(0);
                Value fits = arith::CmpIOp::create(
                    eb, el, arith::CmpIPredicate::ult, pos, kIndex);
                auto insert = scf::IfOp::create(
                    eb, el, fits,
                    [&](OpBuilder &ib, Location il) {
                      // Shift [pos, last) one down, last = min(filled, k-1).
                      Value last = arith::MinUIOp::create(
                          ib, il, filled,
                          arith::SubIOp::create(ib, il, kIndex, one));
                      Value moves = arith::SubIOp::create(
                          ib, il, arith::MaxUIOp::create(ib, il, last, pos), pos);
                      auto shift = scf::ForOp::create(
                          ib, il, zero, moves, one, state,
                          [&](OpBuilder &sb, Location sl, Value t,
                              ValueRange s) {
                            Value to = arith::SubIOp::create(sb, sl, last, t);
                            Value from = arith::SubIOp::create(sb, sl, to, one);
                            Value v = tensor::ExtractOp::create(sb, sl, s[0], at(from));
                            Value i = tensor::ExtractOp::create(sb, sl, s[1], at(from));
                            Value nv = tensor::InsertOp::create(sb, sl, v, s[0], at(to));
                            Value ni = tensor::InsertOp::create(sb, sl, i, s[1], at(to));
                            scf::YieldOp::create(sb, sl, ValueRange{nv, ni});
                          });
                      Value jIndex = arith::IndexCastOp::create(
                          ib, il, ib.getI32Type(), j);
                      Value nv = tensor::InsertOp::create(
                          ib, il, x, shift.getResult(0), at(pos));
                      Value ni = tensor::InsertOp::create(
                          ib, il, jIndex, shift.getResult(1), at(pos));
                      scf::YieldOp::create(ib, il, ValueRange{nv, ni});
                    },
                    [&](OpBuilder &ob, Location ol) {
                      scf::YieldOp::create(ob, ol, state);
                    });
                scf::YieldOp::create(eb, el, insert.getResults());
              });
          scf::YieldOp::create(b, l, elementLoop.getResults());
        });

    SmallVector<Value> results(rowLoop.getResults());
    if (moved) {
      // Move the k axis back to its place.
      SmallVector<int64_t> inverse(rank);
      for (int64_t i = 0; i < rank; ++i)
        inverse[perm[i]] = i;
      for (Value &result : results) {
        auto resultType = tensorTypeOf(result);
        SmallVector<OpFoldResult> dims;
        SmallVector<int64_t> shape;
        for (int64_t p : inverse) {
          dims.push_back(outDims[p]);
          shape.push_back(resultType.getDimSize(p));
        }
        Value init = createEmpty(rewriter, loc, resultType.clone(shape), dims);
        result = linalg::TransposeOp::create(rewriter, loc, result, init, inverse)
                     .getResult()[0];
      }
    }
    rewriter.replaceOp(op, results);
    return success();
  }
};

struct MoELowering : OpRewritePattern<MoEOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(MoEOp op,
                                PatternRewriter &rewriter) const override {
    for (Value weight : {op.getWGate(), op.getWUp(), op.getWDown()})
      if (!isa<RankedTensorType>(weight.getType()))
        return rewriter.notifyMatchFailure(op, "compressed expert weights");
    Location loc = op.getLoc();
    MLIRContext *context = rewriter.getContext();
    Value x = op.getInput();
    auto xType = tensorTypeOf(x);
    auto gateType = tensorTypeOf(op.getWGate());
    int64_t experts = gateType.getDimSize(0), ffn = gateType.getDimSize(1);
    int64_t hidden = xType.getDimSize(1);
    auto topK = static_cast<int64_t>(op.getTopK());
    Type f32 = rewriter.getF32Type();
    OpFoldResult tokens = rewriter.createOrFold<tensor::DimOp>(loc, x, 0);
    if (auto constant = getConstantIntValue(tokens))
      tokens = rewriter.getIndexAttr(*constant);
    int64_t tokenSize = xType.getDimSize(0);
    auto d = [&](unsigned i) { return getAffineDimExpr(i, context); };
    auto map = [&](unsigned dims, ArrayRef<AffineExpr> exprs) {
      return AffineMap::get(dims, 0, exprs, context);
    };
    auto zeroF = [&](OpBuilder &b, Location l) { return floatConstant(b, l, f32, 0.0); };
    auto mac = [&](OpBuilder &b, Location l, Value acc, Value lhs, Value rhs) {
      return arith::AddFOp::create(
          b, l, acc,
          arith::MulFOp::create(b, l, convertScalar(b, l, lhs, f32),
                                convertScalar(b, l, rhs, f32)));
    };

    // logits[t, e] = x[t, :] . router[e, :], then softmax over e.
    auto teType = RankedTensorType::get({tokenSize, experts}, f32);
    SmallVector<OpFoldResult> teDims{tokens, rewriter.getIndexAttr(experts)};
    Value logits = linalg::GenericOp::create(
        rewriter, loc, teType, ValueRange{x, op.getRouter()},
        createFilled(rewriter, loc, teType, teDims, zeroF(rewriter, loc)),
        ArrayRef<AffineMap>{map(3, {d(0), d(2)}), map(3, {d(1), d(2)}),
                            map(3, {d(0), d(1)})},
        {utils::IteratorType::parallel, utils::IteratorType::parallel,
         utils::IteratorType::reduction},
        [&](OpBuilder &b, Location l, ValueRange a) {
          linalg::YieldOp::create(b, l, ValueRange{mac(b, l, a[2], a[0], a[1])});
        }).getResult(0);
    Value probabilities =
        SoftmaxOp::create(rewriter, loc, logits, rewriter.getI64IntegerAttr(-1));

    // rank[t, e] = #{e' : p[e'] > p[e] or (p[e'] == p[e] and e' < e)}
    auto i32Type = RankedTensorType::get({tokenSize, experts}, rewriter.getI32Type());
    Value ranks = linalg::GenericOp::create(
        rewriter, loc, i32Type, ValueRange{probabilities, probabilities},
        createFilled(rewriter, loc, i32Type, teDims,
                     arith::ConstantOp::create(rewriter, loc,
                                               rewriter.getI32IntegerAttr(0))),
        ArrayRef<AffineMap>{map(3, {d(0), d(2)}), map(3, {d(0), d(1)}),
                            map(3, {d(0), d(1)})},
        {utils::IteratorType::parallel, utils::IteratorType::parallel,
         utils::IteratorType::reduction},
        [&](OpBuilder &b, Location l, ValueRange a) {
          Value other = a[0], self = a[1];
          Value greater = arith::CmpFOp::create(b, l, arith::CmpFPredicate::OGT,
                                                other, self);
          Value equal = arith::CmpFOp::create(b, l, arith::CmpFPredicate::OEQ,
                                              other, self);
          Value earlier = arith::CmpIOp::create(
              b, l, arith::CmpIPredicate::ult, linalg::IndexOp::create(b, l, 2),
              linalg::IndexOp::create(b, l, 1));
          Value beats = arith::OrIOp::create(
              b, l, greater, arith::AndIOp::create(b, l, equal, earlier));
          Value step = arith::ExtUIOp::create(b, l, b.getI32Type(), beats);
          linalg::YieldOp::create(
              b, l, ValueRange{arith::AddIOp::create(b, l, a[2], step)});
        }).getResult(0);
    Value kConstant = arith::ConstantOp::create(rewriter, loc,
                                                rewriter.getI32IntegerAttr(topK));
    Value gates = buildMapped(
        rewriter, loc, {probabilities, ranks},
        {rewriter.getMultiDimIdentityMap(2), rewriter.getMultiDimIdentityMap(2)},
        teType, teDims, [&](OpBuilder &b, Location l, ValueRange a) -> Value {
          Value selected = arith::CmpIOp::create(b, l, arith::CmpIPredicate::slt,
                                                 a[1], kConstant);
          return arith::SelectOp::create(b, l, selected, a[0], zeroF(b, l));
        });
    if (op.getNormalizeTopk()) {
      Value total = buildReduction(
          rewriter, loc, gates, {false, true}, f32, zeroF(rewriter, loc),
          [](OpBuilder &b, Location l, Value acc, Value v) -> Value {
            return arith::AddFOp::create(b, l, acc, v);
          });
      gates = buildMapped(rewriter, loc, {gates, total},
                          {rewriter.getMultiDimIdentityMap(2), map(2, {d(0)})},
                          teType, teDims,
                          [](OpBuilder &b, Location l, ValueRange a) -> Value {
                            return arith::DivFOp::create(b, l, a[0], a[1]);
                          });
    }

    // act[e, t, f] = silu(x . Wg[e, f]) * (x . Wu[e, f]), reduced over Hd.
    auto etfType = RankedTensorType::get({experts, tokenSize, ffn}, f32);
    SmallVector<OpFoldResult> etfDims{rewriter.getIndexAttr(experts), tokens,
                                      rewriter.getIndexAttr(ffn)};
    auto project = [&](Value weight) {
      return linalg::GenericOp::create(
                 rewriter, loc, etfType, ValueRange{x, weight},
                 createFilled(rewriter, loc, etfType, etfDims, zeroF(rewriter, loc)),
                 ArrayRef<AffineMap>{map(4, {d(1), d(3)}),
                                     map(4, {d(0), d(2), d(3)}),
                                     map(4, {d(0), d(1), d(2)})},
                 {utils::IteratorType::parallel, utils::IteratorType::parallel,
                  utils::IteratorType::parallel, utils::IteratorType::reduction},
                 [&](OpBuilder &b, Location l, ValueRange a) {
                   linalg::YieldOp::create(b, l,
                                           ValueRange{mac(b, l, a[2], a[0], a[1])});
                 })
          .getResult(0);
    };
    Value gate = project(op.getWGate()), up = project(op.getWUp());
    Value activation = buildElementwise(
        rewriter, loc, {gate, up}, etfType, etfDims,
        [&](OpBuilder &b, Location l, ValueRange a) -> Value {
          Value one = floatConstant(b, l, f32, 1.0);
          Value sigmoid = arith::DivFOp::create(
              b, l, one,
              arith::AddFOp::create(
                  b, l, one,
                  math::ExpOp::create(b, l, arith::NegFOp::create(b, l, a[0]))));
          return arith::MulFOp::create(
              b, l, arith::MulFOp::create(b, l, a[0], sigmoid), a[1]);
        });

    // out[t, j] = sum_e gates[t, e] * sum_f act[e, t, f] * Wd[e, j, f]
    // Loops (t, j, e, f).
    auto outAccType = RankedTensorType::get({tokenSize, hidden}, f32);
    SmallVector<OpFoldResult> outDims{tokens, rewriter.getIndexAttr(hidden)};
    Value out = linalg::GenericOp::create(
        rewriter, loc, outAccType, ValueRange{gates, activation, op.getWDown()},
        createFilled(rewriter, loc, outAccType, outDims, zeroF(rewriter, loc)),
        ArrayRef<AffineMap>{map(4, {d(0), d(2)}), map(4, {d(2), d(0), d(3)}),
                            map(4, {d(2), d(1), d(3)}), map(4, {d(0), d(1)})},
        {utils::IteratorType::parallel, utils::IteratorType::parallel,
         utils::IteratorType::reduction, utils::IteratorType::reduction},
        [&](OpBuilder &b, Location l, ValueRange a) {
          Value product = arith::MulFOp::create(
              b, l, a[1], convertScalar(b, l, a[2], f32));
          Value weighted = arith::MulFOp::create(b, l, a[0], product);
          linalg::YieldOp::create(
              b, l, ValueRange{arith::AddFOp::create(b, l, a[3], weighted)});
        }).getResult(0);
    auto resultType = cast<RankedTensorType>(op.getType());
    rewriter.replaceOp(op, buildElementwise(rewriter, loc, out, resultType,
                                            outDims,
                                            [](OpBuilder &, Location,
                                               ValueRange a) { return a[0]; }));
    return success();
  }
};

} // namespace

void populateSelectionToLinalgPatterns(RewritePatternSet &patterns) {
  patterns.add<TopKLowering, MoELowering>(patterns.getContext());
}

} // namespace kopt
