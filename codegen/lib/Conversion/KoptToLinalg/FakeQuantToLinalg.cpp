//===- FakeQuantToLinalg.cpp - kopt.fake_quant on the CPU -----------------===//
//
// The amax of each row (or of the whole tensor) as an f32 reduction, then one
// elementwise pass: v = x / s with s = amax / 448 (1 where the amax is 0),
// rounded to the e4m3 grid in f32 arithmetic (the quantum of |v| is
// 2^(max(exponent, -6) - 3); round to nearest even; saturate at 448), times
// s, converted to x's dtype. The CPU pipeline has no f8 truncation, and this
// is the exact value the e4m3 conversion of the reference gives.
//
//===----------------------------------------------------------------------===//

#include "LoweringUtils.h"

#include "kopt/Codegen/Conversion/KoptToLinalg.h"
#include "kopt/Dialect/Kopt/KoptOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"

using namespace mlir;

namespace kopt {
namespace {

/// `v` (f32) rounded to the nearest e4m3fn value, saturating at +-448.
Value roundToE4M3(OpBuilder &b, Location l, Value v) {
  Type i32 = b.getI32Type(), f32 = b.getF32Type();
  auto ci = [&](int64_t c) { return arith::ConstantIntOp::create(b, l, i32, c); };
  Value max = floatConstant(b, l, f32, 448.0);
  Value a = math::AbsFOp::create(b, l, v);
  Value bits = arith::BitcastOp::create(b, l, i32, a);
  Value exponent = arith::SubIOp::create(
      b, l, arith::ShRUIOp::create(b, l, bits, ci(23)), ci(127));
  exponent = arith::MaxSIOp::create(b, l, exponent, ci(-6));
  Value quantum = arith::BitcastOp::create(
      b, l, f32,
      arith::ShLIOp::create(b, l,
                            arith::AddIOp::create(b, l, exponent, ci(127 - 3)),
                            ci(23)));
  Value rounded = arith::MulFOp::create(
      b, l,
      math::RoundEvenOp::create(b, l, arith::DivFOp::create(b, l, a, quantum)),
      quantum);
  rounded = arith::MinimumFOp::create(b, l, rounded, max);
  return math::CopySignOp::create(b, l, rounded, v);
}

struct FakeQuantLowering : OpRewritePattern<FakeQuantOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(FakeQuantOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value x = op.getInput();
    auto type = tensorTypeOf(x);
    int64_t rank = type.getRank();
    Type f32 = rewriter.getF32Type(), element = type.getElementType();
    SmallVector<bool> reduced(rank, op.getGranularity() == "tensor");
    if (rank > 0)
      reduced[rank - 1] = true;
    Value amax = buildReduction(
        rewriter, loc, x, reduced, f32, floatConstant(rewriter, loc, f32, 0.0),
        [](OpBuilder &b, Location l, Value acc, Value v) -> Value {
          return arith::MaximumFOp::create(b, l, acc,
                                           math::AbsFOp::create(b, l, v));
        });
    FailureOr<SmallVector<OpFoldResult>> dims =
        reifyResultDims(rewriter, op, 0);
    if (failed(dims))
      return failure();
    MLIRContext *context = rewriter.getContext();
    SmallVector<AffineMap> maps{rewriter.getMultiDimIdentityMap(rank),
                                keptDimsMap(reduced, context)};
    Value result = buildMapped(
        rewriter, loc, {x, amax}, maps, type, *dims,
        [&](OpBuilder &b, Location l, ValueRange v) -> Value {
          Value zero = floatConstant(b, l, f32, 0.0);
          Value scale = arith::SelectOp::create(
              b, l,
              arith::CmpFOp::create(b, l, arith::CmpFPredicate::OGT, v[1],
                                    zero),
              arith::DivFOp::create(b, l, v[1],
                                    floatConstant(b, l, f32, 448.0)),
              floatConstant(b, l, f32, 1.0));
          Value code = roundToE4M3(
              b, l,
              arith::DivFOp::create(b, l, convertScalar(b, l, v[0], f32),
                                    scale));
          return convertScalar(b, l, arith::MulFOp::create(b, l, code, scale),
                               element);
        });
    rewriter.replaceOp(op, result);
    return success();
  }
};

} // namespace

void populateFakeQuantToLinalgPatterns(RewritePatternSet &patterns) {
  patterns.add<FakeQuantLowering>(patterns.getContext());
}

} // namespace kopt
