//===- DequantizeToLinalg.cpp - kopt.dequantize on the CPU ----------------===//
//
// One linalg.generic over the logical weight: each element finds its code
// in the packed tensor (the byte rt::quant::codePosition gives, for both
// layouts), subtracts its zero point, and multiplies by its group's scale
// in f32, rounding once to the scale dtype (as the reference does).
//
//===----------------------------------------------------------------------===//

#include "LoweringUtils.h"

#include "kopt/Codegen/Conversion/KoptToLinalg.h"
#include "kopt/Dialect/Kopt/KoptOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

using namespace mlir;

namespace kopt {
namespace {

/// Index arithmetic with constants, spelled compactly.
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

struct DequantizeLowering : OpRewritePattern<DequantizeOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(DequantizeOp op,
                                PatternRewriter &rewriter) const override {
    FailureOr<rt::quant::Encoding> encoding = encodingOf(op.getEncodingType());
    if (failed(encoding))
      return failure();
    Location loc = op.getLoc();
    auto resultType = cast<RankedTensorType>(op.getType());
    SmallVector<OpFoldResult> dims;
    for (int64_t size : resultType.getShape())
      dims.push_back(rewriter.getIndexAttr(size));
    bool experts = resultType.getRank() == 3;
    Value codes = op.getCodes(), scales = op.getScales(), zeros = op.getZeros();
    Type scaleType = resultType.getElementType();
    Value result = buildMapped(
        rewriter, loc, {}, {}, resultType, dims,
        [&](OpBuilder &b, Location l, ValueRange) -> Value {
          IndexMath m{b, l};
          auto at = [&](int64_t dim) {
            return linalg::IndexOp::create(b, l, dim);
          };
          Value e = experts ? at(0) : Value();
          Value n = at(experts ? 1 : 0), k = at(experts ? 2 : 1);
          auto indices = [&](Value row, Value col) {
            SmallVector<Value> list;
            if (e)
              list.push_back(e);
            list.push_back(row);
            list.push_back(col);
            return list;
          };
          // The group's scale (and zero point).
          SmallVector<Value> group =
              encoding->groupSize == 0
                  ? indices(m.c(0), m.c(0))
                  : indices(n, m.div(k, encoding->groupSize));
          Value scale = tensor::ExtractOp::create(b, l, scales, group);
          Value scale32 =
              scaleType.isF32()
                  ? scale
                  : arith::ExtFOp::create(b, l, b.getF32Type(), scale)
                        .getResult();
          Type i32 = b.getI32Type();
          auto i32c = [&](int64_t v) {
            return arith::ConstantIntOp::create(b, l, i32, v);
          };
          Value value;
          if (encoding->storage == rt::quant::Storage::Fp8E4M3) {
            // e4m3fn bits: (8 + m) 2^(e - 10), or m 2^-9 when e = 0; 0x7f
            // is NaN (decoded by hand: f8 has no CPU lowering of its own).
            Value code = tensor::ExtractOp::create(b, l, codes, indices(n, k));
            Value byte = arith::BitcastOp::create(b, l, b.getI8Type(), code);
            Value bits = arith::ExtUIOp::create(b, l, i32, byte);
            auto iop = [&](auto tag, Value x, int64_t v) -> Value {
              using Op = decltype(tag);
              return Op::create(b, l, x, i32c(v));
            };
            Value e8 = iop(arith::AndIOp(), iop(arith::ShRUIOp(), bits, 3), 15);
            Value m8 = iop(arith::AndIOp(), bits, 7);
            Value normal = arith::OrIOp::create(
                b, l, iop(arith::ShLIOp(), iop(arith::AddIOp(), e8, 120), 23),
                iop(arith::ShLIOp(), m8, 20));
            Value normalF =
                arith::BitcastOp::create(b, l, b.getF32Type(), normal);
            Value subF = arith::MulFOp::create(
                b, l, arith::SIToFPOp::create(b, l, b.getF32Type(), m8),
                arith::ConstantFloatOp::create(b, l, b.getF32Type(),
                                               APFloat(1.0f / 512)));
            auto is = [&](arith::CmpIPredicate p, Value x, int64_t v) -> Value {
              return arith::CmpIOp::create(b, l, p, x, i32c(v));
            };
            Value mag = arith::SelectOp::create(
                b, l, is(arith::CmpIPredicate::eq, e8, 0), subF, normalF);
            mag = arith::SelectOp::create(
                b, l,
                is(arith::CmpIPredicate::eq, iop(arith::AndIOp(), bits, 127),
                   127),
                arith::ConstantFloatOp::create(
                    b, l, b.getF32Type(),
                    APFloat::getNaN(APFloat::IEEEsingle())),
                mag);
            value =
                arith::SelectOp::create(b, l,
                                        is(arith::CmpIPredicate::ne,
                                           iop(arith::AndIOp(), bits, 128), 0),
                                        arith::NegFOp::create(b, l, mag), mag);
          } else {
            bool int4 = encoding->storage == rt::quant::Storage::Int4;
            bool mma = encoding->layout == rt::quant::Layout::Mma;
            Value row = n, byte, shift;
            if (!mma) {
              byte = int4 ? m.div(k, 2) : k;
              shift = int4 ? m.mul(m.rem(k, 2), 4) : m.c(0);
            } else {
              // rt::quant::codePosition, in index arithmetic.
              int64_t chunk = encoding->mmaChunk(), span = chunk / 4;
              row = m.div(n, rt::quant::kMmaTileRows);
              Value rr = m.rem(n, rt::quant::kMmaTileRows);
              Value r = m.rem(rr, 8), high = m.div(rr, 8);
              Value kk = m.rem(k, chunk);
              Value c = m.div(kk, span), j = m.rem(kk, span);
              Value step = m.div(j, 4), e4 = m.rem(j, 4);
              Value base =
                  m.add(m.mul(m.div(k, chunk), rt::quant::kMmaTileBytes),
                        m.mul(m.add(m.mul(r, 4), c), 16));
              Value odd = m.rem(e4, 2), pair = m.div(e4, 2);
              if (int4) {
                Value bit = m.add(m.mul(odd, 16),
                                  m.mul(m.add(m.mul(pair, 2), high), 4));
                byte = m.add(m.add(base, m.mul(step, 4)), m.div(bit, 8));
                shift = m.rem(bit, 8);
              } else {
                byte = m.add(m.add(base, m.mul(m.add(m.mul(step, 2), pair), 4)),
                             m.add(m.mul(odd, 2), high));
                shift = m.c(0);
              }
            }
            Value raw =
                tensor::ExtractOp::create(b, l, codes, indices(row, byte));
            Value word = arith::ExtUIOp::create(b, l, i32, raw);
            Value shift32 = arith::IndexCastOp::create(b, l, i32, shift);
            Value code = arith::ShRUIOp::create(b, l, word, shift32);
            if (int4)
              code = arith::AndIOp::create(b, l, code, i32c(0xf));
            Value zero;
            if (zeros) {
              zero = arith::ExtUIOp::create(
                  b, l, i32, tensor::ExtractOp::create(b, l, zeros, group));
            } else if (mma) {
              zero = i32c(encoding->mmaOffset());
            } else {
              // Signed codes: subtract 2^bits when the sign bit is set.
              int64_t bits = int4 ? 4 : 8;
              Value negative = arith::CmpIOp::create(
                  b, l, arith::CmpIPredicate::uge, code, i32c(1 << (bits - 1)));
              zero = arith::SelectOp::create(b, l, negative, i32c(1 << bits),
                                             i32c(0));
            }
            Value centered = arith::SubIOp::create(b, l, code, zero);
            value = arith::SIToFPOp::create(b, l, b.getF32Type(), centered);
          }
          Value product = arith::MulFOp::create(b, l, value, scale32);
          return scaleType.isF32()
                     ? product
                     : arith::TruncFOp::create(b, l, scaleType, product)
                           .getResult();
        });
    rewriter.replaceOp(op, result);
    return success();
  }
};

} // namespace

void populateDequantizeToLinalgPatterns(RewritePatternSet &patterns) {
  patterns.add<DequantizeLowering>(patterns.getContext());
}

} // namespace kopt
