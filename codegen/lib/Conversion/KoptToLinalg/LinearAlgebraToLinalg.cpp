//===- LinearAlgebraToLinalg.cpp - kopt.linear / kopt.matmul to linalg ----===//
//
// Contractions as linalg.generic with an f32 accumulator (f16/bf16 inputs are
// extended per product), followed by an epilogue that adds the bias and
// rounds to the result type. kopt.linear flattens its leading dims to M;
// over `mma`-packed i4/i8 weights it reads the packed parts for up to 8
// rows (the CPU vector kernel takes that contraction) and dequantizes the
// weight once for more.
//
//===----------------------------------------------------------------------===//

#include "LoweringUtils.h"
#include "QuantizedWeights.h"

#include "kopt/Codegen/Conversion/KoptToLinalg.h"
#include "kopt/Dialect/Kopt/KoptOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

using namespace mlir;

namespace kopt {
namespace {

/// Rows up to which kopt.linear reads `mma`-packed weights directly.
constexpr int64_t kPackedMaxRows = 8;

/// acc + ext(a) * ext(b). Reassociation lets LLVM vectorize the reduction
/// (partial sums per lane) and contraction fuses the multiply-add.
Value multiplyAccumulate(OpBuilder &b, Location loc, Value lhs, Value rhs,
                         Value acc) {
  Type accType = acc.getType();
  auto fastMath = arith::FastMathFlagsAttr::get(
      b.getContext(),
      arith::FastMathFlags::reassoc | arith::FastMathFlags::contract);
  Value product = arith::MulFOp::create(b, loc, convertScalar(b, loc, lhs, accType),
                                        convertScalar(b, loc, rhs, accType),
                                        fastMath);
  return arith::AddFOp::create(b, loc, acc, product, fastMath);
}

/// A zero-filled f32 (or f64) accumulator of `shape`/`dims`.
Value zeroAccumulator(OpBuilder &b, Location loc, ArrayRef<int64_t> shape,
                      ArrayRef<OpFoldResult> dims, Type element) {
  Type accType = computeType(element);
  auto type = RankedTensorType::get(shape, accType);
  return createFilled(b, loc, type, dims, floatConstant(b, loc, accType, 0.0));
}

struct LinearLowering : OpRewritePattern<LinearOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(LinearOp op,
                                PatternRewriter &rewriter) const override {
    auto weightType = dyn_cast<RankedTensorType>(op.getWeight().getType());
    if (!weightType)
      return rewriter.notifyMatchFailure(op, "compressed weights");
    Location loc = op.getLoc();
    auto inputType = tensorTypeOf(op.getInput());
    auto resultType = cast<RankedTensorType>(op.getType());
    FailureOr<SmallVector<OpFoldResult>> dims = reifyResultDims(rewriter, op, 0);
    if (failed(dims))
      return failure();
    int64_t rank = inputType.getRank();
    int64_t n = weightType.getDimSize(0), k = weightType.getDimSize(1);

    // [..., K] -> [M, K]
    Value input = op.getInput();
    SmallVector<ReassociationIndices> reassociation;
    int64_t m = 1;
    if (rank == 1) {
      input = tensor::ExpandShapeOp::create(
          rewriter, loc, RankedTensorType::get({1, k}, inputType.getElementType()),
          input, SmallVector<ReassociationIndices>{{0, 1}});
    } else {
      ReassociationIndices leading;
      for (int64_t i = 0; i + 1 < rank; ++i) {
        leading.push_back(i);
        m = inputType.isDynamicDim(i) || ShapedType::isDynamic(m)
                ? ShapedType::kDynamic
                : m * inputType.getDimSize(i);
      }
      reassociation = {leading, {rank - 1}};
      input = tensor::CollapseShapeOp::create(rewriter, loc, input, reassociation);
    }
    OpFoldResult mDim = rewriter.createOrFold<tensor::DimOp>(loc, input, 0);

    // acc[m, n] += x[m, k] * w[n, k], with loops ordered (n, m, k): one row
    // of w stays in L1 while the rows of x stream from L2, and the inner
    // loop is a contiguous dot product.
    MLIRContext *context = rewriter.getContext();
    AffineExpr dm, dn, dk;
    bindDims(context, dn, dm, dk);
    Value acc = zeroAccumulator(rewriter, loc, {m, n},
                                {mDim, rewriter.getIndexAttr(n)},
                                resultType.getElementType());
    auto iterators = {utils::IteratorType::parallel,
                      utils::IteratorType::parallel,
                      utils::IteratorType::reduction};
    auto denseContraction = [&](OpBuilder &b, Location l, Value weight) {
      auto contraction = linalg::GenericOp::create(
          b, l, acc.getType(), ValueRange{input, weight}, acc,
          ArrayRef<AffineMap>{AffineMap::get(3, 0, {dm, dk}, context),
                              AffineMap::get(3, 0, {dn, dk}, context),
                              AffineMap::get(3, 0, {dm, dn}, context)},
          iterators, [&](OpBuilder &nb, Location nested, ValueRange args) {
            linalg::YieldOp::create(
                nb, nested,
                multiplyAccumulate(nb, nested, args[0], args[1], args[2]));
          });
      markParallel(contraction);
      // f32 operands get the register-blocked kernel (LinearMicrokernel.cpp).
      contraction->setAttr("kopt.microkernel", b.getStringAttr("linear"));
      return contraction.getResult(0);
    };

    // `mma`-packed weights: up to kPackedMaxRows rows the contraction reads
    // the packed parts (its body dequantizes each element; the CPU vector
    // kernel of QuantizedLinearMicrokernel.cpp replaces it), above that
    // the weight is dequantized once and the dense contraction runs.
    auto packed = op.getWeight().getDefiningOp<DequantizeOp>();
    FailureOr<rt::quant::Encoding> encoding =
        packed ? encodingOf(packed.getEncodingType())
               : FailureOr<rt::quant::Encoding>(failure());
    Value accumulated;
    if (succeeded(encoding) && linearReadsPacked(*encoding)) {
      auto packedContraction = [&](OpBuilder &b, Location l) {
        Value codes = flattenParts(b, l, packed.getCodes());
        Value scales = flattenParts(b, l, packed.getScales());
        Value zeros = flattenParts(b, l, packed.getZeros());
        SmallVector<Value> ins{input, codes, scales};
        AffineMap part =
            AffineMap::get(3, 0, {getAffineConstantExpr(0, context)}, context);
        SmallVector<AffineMap> maps{AffineMap::get(3, 0, {dm, dk}, context),
                                    part, part};
        if (zeros) {
          ins.push_back(zeros);
          maps.push_back(part);
        }
        maps.push_back(AffineMap::get(3, 0, {dm, dn}, context));
        Type weightElement = weightType.getElementType();
        auto contraction = linalg::GenericOp::create(
            b, l, acc.getType(), ins, acc, maps, iterators,
            [&](OpBuilder &nb, Location nested, ValueRange args) {
              Value w = dequantizedElement(
                  nb, nested, *encoding, codes, scales, zeros,
                  arith::ConstantIndexOp::create(nb, nested, 0),
                  linalg::IndexOp::create(nb, nested, 0),
                  linalg::IndexOp::create(nb, nested, 2), weightElement);
              linalg::YieldOp::create(
                  nb, nested,
                  multiplyAccumulate(nb, nested, args[0], w, args.back()));
            });
        markParallel(contraction);
        contraction->setAttr("kopt.microkernel", b.getStringAttr("qlinear"));
        contraction->setAttr("kopt.encoding",
                             TypeAttr::get(packed.getEncodingType()));
        return contraction.getResult(0);
      };
      Value rows = getValueOrCreateConstantIndexOp(rewriter, loc, mDim);
      Value few = arith::CmpIOp::create(
          rewriter, loc, arith::CmpIPredicate::ule, rows,
          arith::ConstantIndexOp::create(rewriter, loc, kPackedMaxRows));
      accumulated =
          scf::IfOp::create(
              rewriter, loc, few,
              [&](OpBuilder &b, Location l) {
                scf::YieldOp::create(b, l, packedContraction(b, l));
              },
              [&](OpBuilder &b, Location l) {
                scf::YieldOp::create(
                    b, l, denseContraction(b, l, buildDequantized(b, packed)));
              })
              .getResult(0);
    } else {
      accumulated = denseContraction(rewriter, loc, op.getWeight());
    }

    // out[m, n] = round(acc[m, n] + bias[n])
    SmallVector<Value> epilogueInputs{accumulated};
    if (op.getBias())
      epilogueInputs.push_back(op.getBias());
    auto flatType = RankedTensorType::get({m, n}, resultType.getElementType());
    Value flat = buildElementwise(
        rewriter, loc, epilogueInputs, flatType,
        {mDim, rewriter.getIndexAttr(n)},
        [&](OpBuilder &b, Location nested, ValueRange v) -> Value {
          if (v.size() == 1)
            return v[0];
          return arith::AddFOp::create(b, nested, v[0],
                                       convertScalar(b, nested, v[1],
                                                     v[0].getType()));
        });

    // [M, N] -> [..., N]
    Value result;
    if (rank == 1)
      result = tensor::CollapseShapeOp::create(
          rewriter, loc, resultType, flat,
          SmallVector<ReassociationIndices>{{0, 1}});
    else
      result = tensor::ExpandShapeOp::create(rewriter, loc, resultType, flat,
                                             reassociation, *dims);
    rewriter.replaceOp(op, result);
    return success();
  }
};

struct MatmulLowering : OpRewritePattern<MatmulOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(MatmulOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    auto lhsType = tensorTypeOf(op.getLhs()), rhsType = tensorTypeOf(op.getRhs());
    auto resultType = cast<RankedTensorType>(op.getType());
    FailureOr<SmallVector<OpFoldResult>> dims = reifyResultDims(rewriter, op, 0);
    if (failed(dims))
      return failure();
    MLIRContext *context = rewriter.getContext();
    int64_t outRank = resultType.getRank(), batch = outRank - 2;
    int64_t loops = outRank + 1; // batch..., m, n, k
    AffineExpr m = getAffineDimExpr(batch, context);
    AffineExpr n = getAffineDimExpr(batch + 1, context);
    AffineExpr k = getAffineDimExpr(batch + 2, context);

    // Batch dims broadcast right-aligned; static size-1 dims read index 0.
    auto batchExprs = [&](RankedTensorType type) {
      SmallVector<AffineExpr> exprs;
      int64_t operandBatch = type.getRank() - 2;
      for (int64_t i = 0; i < operandBatch; ++i) {
        int64_t loop = batch - operandBatch + i;
        bool broadcasts =
            type.getDimSize(i) == 1 && resultType.getDimSize(loop) != 1;
        exprs.push_back(broadcasts ? getAffineConstantExpr(0, context)
                                   : getAffineDimExpr(loop, context));
      }
      return exprs;
    };
    SmallVector<AffineExpr> lhsExprs = batchExprs(lhsType);
    lhsExprs.append({m, k});
    SmallVector<AffineExpr> rhsExprs = batchExprs(rhsType);
    if (op.getTransposeB())
      rhsExprs.append({n, k});
    else
      rhsExprs.append({k, n});
    SmallVector<AffineExpr> outExprs;
    for (int64_t i = 0; i < outRank; ++i)
      outExprs.push_back(getAffineDimExpr(i, context));

    SmallVector<utils::IteratorType> iterators = parallelIterators(loops);
    iterators.back() = utils::IteratorType::reduction;
    Value acc = zeroAccumulator(rewriter, loc, resultType.getShape(), *dims,
                                resultType.getElementType());
    auto contraction = linalg::GenericOp::create(
        rewriter, loc, acc.getType(), ValueRange{op.getLhs(), op.getRhs()}, acc,
        ArrayRef<AffineMap>{AffineMap::get(loops, 0, lhsExprs, context),
                            AffineMap::get(loops, 0, rhsExprs, context),
                            AffineMap::get(loops, 0, outExprs, context)},
        iterators, [&](OpBuilder &b, Location nested, ValueRange args) {
          linalg::YieldOp::create(
              b, nested, multiplyAccumulate(b, nested, args[0], args[1], args[2]));
        });
    markParallel(contraction);
    Value result = contraction.getResult(0);
    if (acc.getType() != resultType)
      result = buildElementwise(rewriter, loc, result, resultType, *dims,
                                [](OpBuilder &, Location, ValueRange v) {
                                  return v[0];
                                });
    rewriter.replaceOp(op, result);
    return success();
  }
};

} // namespace

void populateLinearAlgebraToLinalgPatterns(RewritePatternSet &patterns) {
  patterns.add<LinearLowering, MatmulLowering>(patterns.getContext());
}

} // namespace kopt
