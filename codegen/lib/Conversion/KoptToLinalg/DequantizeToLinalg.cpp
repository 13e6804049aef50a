//===- DequantizeToLinalg.cpp - kopt.dequantize on the CPU ----------------===//
//
// One linalg.generic over the logical weight: each element reads its code
// from the flattened packed tensor at rt::quant::elementAddress (the
// runtime's own formula, emitted as index arithmetic), subtracts its zero
// point, and multiplies by its group's scale in f32, rounding once to the
// scale dtype (as the reference does). f8 codes are decoded by hand: the
// CPU pipeline has no lowering of f8 extension. A dequantize read only by
// linears that take its packed parts (QuantizedWeights.h) is left to them.
//
//===----------------------------------------------------------------------===//

#include "LoweringUtils.h"
#include "QuantizedWeights.h"

#include "kopt/Codegen/Conversion/KoptToLinalg.h"
#include "kopt/Dialect/Kopt/KoptOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

using namespace mlir;

namespace kopt {
namespace {

/// rt::quant::elementAddress's arithmetic on `index` values.
struct IndexMath {
  OpBuilder &b;
  Location loc;
  Value c(int64_t v) { return arith::ConstantIndexOp::create(b, loc, v); }
  Value add(Value x, Value y) { return arith::AddIOp::create(b, loc, x, y); }
  Value mul(Value x, int64_t v) {
    return arith::MulIOp::create(b, loc, x, c(v));
  }
  Value div(Value x, int64_t v) {
    return arith::DivUIOp::create(b, loc, x, c(v));
  }
  Value rem(Value x, int64_t v) {
    return arith::RemUIOp::create(b, loc, x, c(v));
  }
};

/// `value` (a static tensor) as a rank-1 tensor of its elements.
Value flatten(OpBuilder &b, Location loc, Value value) {
  auto type = cast<RankedTensorType>(value.getType());
  ReassociationIndices all;
  for (int64_t d = 0; d < type.getRank(); ++d)
    all.push_back(d);
  return tensor::CollapseShapeOp::create(b, loc, value,
                                         ArrayRef<ReassociationIndices>{all});
}

/// The f32 value of e4m3fn bits `bits` (an i32 in [0, 256)): (8 + m) 2^(e-10),
/// or m 2^-9 when e = 0; 0x7f and 0xff are NaN.
Value decodeE4M3(OpBuilder &b, Location l, Value bits) {
  Type i32 = b.getI32Type(), f32 = b.getF32Type();
  auto c = [&](int64_t v) {
    return arith::ConstantIntOp::create(b, l, i32, v);
  };
  auto bitAnd = [&](Value x, int64_t v) {
    return arith::AndIOp::create(b, l, x, c(v));
  };
  auto is = [&](arith::CmpIPredicate p, Value x, int64_t v) {
    return arith::CmpIOp::create(b, l, p, x, c(v));
  };
  Value e = bitAnd(arith::ShRUIOp::create(b, l, bits, c(3)), 15);
  Value m = bitAnd(bits, 7);
  Value normal = arith::OrIOp::create(
      b, l,
      arith::ShLIOp::create(b, l, arith::AddIOp::create(b, l, e, c(120)),
                            c(23)),
      arith::ShLIOp::create(b, l, m, c(20)));
  Value subnormal =
      arith::MulFOp::create(b, l, arith::SIToFPOp::create(b, l, f32, m),
                            arith::ConstantFloatOp::create(
                                b, l, b.getF32Type(), APFloat(1.0f / 512)));
  Value magnitude = arith::SelectOp::create(
      b, l, is(arith::CmpIPredicate::eq, e, 0), subnormal,
      arith::BitcastOp::create(b, l, f32, normal));
  magnitude = arith::SelectOp::create(
      b, l, is(arith::CmpIPredicate::eq, bitAnd(bits, 127), 127),
      arith::ConstantFloatOp::create(b, l, b.getF32Type(),
                                     APFloat::getNaN(APFloat::IEEEsingle())),
      magnitude);
  return arith::SelectOp::create(
      b, l, is(arith::CmpIPredicate::ne, bitAnd(bits, 128), 0),
      arith::NegFOp::create(b, l, magnitude), magnitude);
}

struct DequantizeLowering : OpRewritePattern<DequantizeOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(DequantizeOp op,
                                PatternRewriter &rewriter) const override {
    // Linears that read the packed parts themselves lower it away.
    if (linearsReadPacked(op))
      return rewriter.notifyMatchFailure(op, "read packed by its linears");
    if (failed(encodingOf(op.getEncodingType())))
      return failure();
    rewriter.replaceOp(op, buildDequantized(rewriter, op));
    return success();
  }
};

} // namespace

Value flattenParts(OpBuilder &b, Location loc, Value value) {
  return value ? flatten(b, loc, value) : Value();
}

Value dequantizedElement(OpBuilder &b, Location l,
                         const rt::quant::Encoding &encoding, Value codes,
                         Value scales, Value zeros, Value expert, Value n,
                         Value k, Type scaleType) {
  IndexMath m{b, l};
  rt::quant::ElementAddress<Value> address =
      rt::quant::elementAddress(encoding, m, expert, n, k);
  bool int4 = encoding.storage == rt::quant::Storage::Int4;
  bool mma = encoding.layout == rt::quant::Layout::Mma;
  Type i32 = b.getI32Type(), f32 = b.getF32Type();
  auto i32c = [&](int64_t v) -> Value {
    return arith::ConstantIntOp::create(b, l, i32, v);
  };
  Value raw = tensor::ExtractOp::create(b, l, codes, address.byte);
  if (!isa<IntegerType>(raw.getType()))
    raw = arith::BitcastOp::create(b, l, b.getI8Type(), raw);
  Value bits = arith::ExtUIOp::create(b, l, i32, raw);
  Value value;
  if (encoding.storage == rt::quant::Storage::Fp8E4M3) {
    value = decodeE4M3(b, l, bits);
  } else {
    Value code = arith::ShRUIOp::create(
        b, l, bits, arith::IndexCastOp::create(b, l, i32, address.shift));
    if (int4)
      code = arith::AndIOp::create(b, l, code, i32c(0xf));
    Value zero;
    if (zeros) {
      zero = arith::ExtUIOp::create(
          b, l, i32, tensor::ExtractOp::create(b, l, zeros, address.scale));
    } else if (mma) {
      zero = i32c(encoding.mmaOffset());
    } else {
      // Signed codes: subtract 2^bits when the sign bit is set.
      int64_t width = int4 ? 4 : 8;
      Value negative = arith::CmpIOp::create(
          b, l, arith::CmpIPredicate::uge, code, i32c(1 << (width - 1)));
      zero = arith::SelectOp::create(b, l, negative, i32c(1 << width),
                                     i32c(0));
    }
    value = arith::SIToFPOp::create(b, l, f32,
                                    arith::SubIOp::create(b, l, code, zero));
  }
  Value scale = tensor::ExtractOp::create(b, l, scales, address.scale);
  if (!scaleType.isF32())
    scale = arith::ExtFOp::create(b, l, f32, scale);
  Value product = arith::MulFOp::create(b, l, value, scale);
  return scaleType.isF32()
             ? product
             : arith::TruncFOp::create(b, l, scaleType, product).getResult();
}

Value buildDequantized(OpBuilder &b, DequantizeOp op) {
  rt::quant::Encoding encoding = *encodingOf(op.getEncodingType());
  Location loc = op.getLoc();
  auto resultType = cast<RankedTensorType>(op.getType());
  SmallVector<OpFoldResult> dims;
  for (int64_t size : resultType.getShape())
    dims.push_back(b.getIndexAttr(size));
  bool experts = resultType.getRank() == 3;
  Value codes = flatten(b, loc, op.getCodes());
  Value scales = flatten(b, loc, op.getScales());
  Value zeros = flattenParts(b, loc, op.getZeros());
  return buildMapped(
      b, loc, {}, {}, resultType, dims,
      [&](OpBuilder &nb, Location l, ValueRange) -> Value {
        auto at = [&](int64_t dim) -> Value {
          return linalg::IndexOp::create(nb, l, dim);
        };
        return dequantizedElement(
            nb, l, encoding, codes, scales, zeros,
            experts ? at(0) : arith::ConstantIndexOp::create(nb, l, 0),
            at(experts ? 1 : 0), at(experts ? 2 : 1),
            resultType.getElementType());
      });
}

bool linearReadsPacked(const rt::quant::Encoding &e) {
  return e.layout == rt::quant::Layout::Mma && e.shape.size() == 2 &&
         e.storage != rt::quant::Storage::Fp8E4M3 &&
         e.cols() % e.mmaChunk() == 0;
}

bool linearsReadPacked(DequantizeOp op) {
  FailureOr<rt::quant::Encoding> encoding = encodingOf(op.getEncodingType());
  if (failed(encoding) || !linearReadsPacked(*encoding) || op->use_empty())
    return false;
  return llvm::all_of(op->getUses(), [](OpOperand &use) {
    return isa<LinearOp>(use.getOwner()) && use.getOperandNumber() == 1;
  });
}

void populateDequantizeToLinalgPatterns(RewritePatternSet &patterns) {
  patterns.add<DequantizeLowering>(patterns.getContext());
}

} // namespace kopt
