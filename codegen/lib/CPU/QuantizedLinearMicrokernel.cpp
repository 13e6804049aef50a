//===- QuantizedLinearMicrokernel.cpp - kopt.linear on packed i4/i8 -------===//
//
// The contraction kopt.linear lowers to for a few rows over `mma`-packed
// weights (marked `kopt.microkernel = "qlinear"`) becomes a vector loop
// nest that reads the packed codes once per row of x:
//
//   for tile t (16 weight rows; threads split tiles when the work is large)
//     for rows m of x, one at a time when M = 1, else four per pass
//      for r < 8 (weight rows 16t + r and 16t + r + 8)
//       for chunk kc, for lane column c < 4 (K slice kc * chunk + c * span)
//         16 bytes of lane 4r + c: i4 low nibbles are row A's codes, high
//         nibbles row B's (K order 0 2 1 3 in fours: x is shuffled to
//         match); i8 even bytes row A, odd bytes row B, in K order
//         w = round_T((code - zero) * scale)   (as kopt.dequantize rounds)
//         accA[m] += w_A * x[m],  accB[m] += w_B * x[m]   (16 or 8 f32)
//       C[m, row] += reduce(acc) for rows inside N and M
//
// Layout facts from rt::quant::elementAddress (Quantization.h).
//
//===----------------------------------------------------------------------===//

#include "ThreadedIfLarge.h"

#include "kopt/Codegen/Passes.h"
#include "kopt/Dialect/Kopt/KoptTypes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

using namespace mlir;

namespace kopt {
#define GEN_PASS_DEF_KOPTQUANTIZEDLINEARMICROKERNELPASS
#include "kopt/Codegen/Passes.h.inc"

namespace {

/// Rows of x that share one decoding of the codes (when M > 1).
constexpr int64_t kTokensPerPass = 4;

/// Points `b` at `nested`'s insertion point for the scope of a region
/// builder callback.
struct Inside {
  Inside(OpBuilder &b, OpBuilder &nested) : guard(b) {
    b.setInsertionPoint(nested.getInsertionBlock(), nested.getInsertionPoint());
  }
  OpBuilder::InsertionGuard guard;
};

struct PackedOperands {
  Value x, codes, scales, zeros, out;
};

class KernelBuilder {
public:
  KernelBuilder(OpBuilder &b, Location loc, const rt::quant::Encoding &e,
                const PackedOperands &ops)
      : b(b), loc(loc), e(e), ops(ops),
        t(cast<MemRefType>(ops.x.getType()).getElementType()),
        int4(e.storage == rt::quant::Storage::Int4), chunk(e.mmaChunk()),
        span(chunk / 4), lanes(int4 ? 16 : 8) {}

  /// Every tile for `m` rows, tiles split across threads when `parallel`.
  void emit(bool parallel) {
    int64_t tiles = (e.rows() + 15) / 16;
    // One row of x (decoding) reads the codes once; more rows take four
    // per pass over the codes.
    Value single = arith::CmpIOp::create(
        b, loc, arith::CmpIPredicate::eq,
        memref::DimOp::create(b, loc, ops.x, 0), c(1));
    auto body = [&](OpBuilder &tb, Location, Value tile) {
      Inside inside(b, tb);
      scf::IfOp::create(
          b, loc, single,
          [&](OpBuilder &ob, Location) {
            Inside one(b, ob);
            emitTile(tile, 1);
            scf::YieldOp::create(b, loc);
          },
          [&](OpBuilder &fb, Location) {
            Inside four(b, fb);
            emitTile(tile, kTokensPerPass);
            scf::YieldOp::create(b, loc);
          });
    };
    if (parallel) {
      scf::ParallelOp::create(b, loc, ValueRange{c(0)}, ValueRange{c(tiles)},
                              ValueRange{c(1)},
                              [&](OpBuilder &pb, Location pl, ValueRange ivs) {
                                body(pb, pl, ivs[0]);
                                scf::ReduceOp::create(pb, pl);
                              });
      return;
    }
    scf::ForOp::create(b, loc, c(0), c(tiles), c(1), ValueRange{},
                       [&](OpBuilder &fb, Location fl, Value tile, ValueRange) {
                         body(fb, fl, tile);
                         scf::YieldOp::create(fb, fl);
                       });
  }

private:
  OpBuilder &b;
  Location loc;
  const rt::quant::Encoding &e;
  PackedOperands ops;
  Type t;
  bool int4;
  int64_t chunk, span, lanes;

  Value c(int64_t v) { return arith::ConstantIndexOp::create(b, loc, v); }
  Value add(Value x, Value y) { return arith::AddIOp::create(b, loc, x, y); }
  Value mul(Value x, int64_t v) { return arith::MulIOp::create(b, loc, x, c(v)); }
  VectorType f32s() { return VectorType::get({lanes}, b.getF32Type()); }

  Value splat(Value scalar) {
    return vector::BroadcastOp::create(b, loc, f32s(), scalar);
  }
  Value toF32(Value v) {
    if (t.isF32())
      return v;
    auto type = dyn_cast<VectorType>(v.getType());
    return arith::ExtFOp::create(
        b, loc, type ? Type(VectorType::get(type.getShape(), b.getF32Type()))
                     : b.getF32Type(),
        v);
  }
  /// `w` (f32 lanes) rounded to the weight dtype, as kopt.dequantize rounds.
  Value roundToWeightType(Value w) {
    if (t.isF32())
      return w;
    if (t.isF16())
      return arith::ExtFOp::create(
          b, loc, f32s(),
          arith::TruncFOp::create(
              b, loc, VectorType::get({lanes}, b.getF16Type()), w)
              .getResult());
    // bf16, round to nearest even on the bits (NaN kept as is).
    auto i32s = VectorType::get({lanes}, b.getI32Type());
    auto ci = [&](int64_t v) {
      return arith::ConstantOp::create(
          b, loc, DenseElementsAttr::get(i32s, b.getI32IntegerAttr(v)));
    };
    Value bits = arith::BitcastOp::create(b, loc, i32s, w);
    Value lsb = arith::AndIOp::create(
        b, loc, arith::ShRUIOp::create(b, loc, bits, ci(16)), ci(1));
    Value rounded = arith::AndIOp::create(
        b, loc,
        arith::AddIOp::create(b, loc, arith::AddIOp::create(b, loc, bits, ci(0x7fff)),
                              lsb),
        ci(static_cast<int32_t>(0xffff0000u)));
    Value isNan = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::UNO, w, w);
    return arith::SelectOp::create(
        b, loc, isNan, w, arith::BitcastOp::create(b, loc, f32s(), rounded));
  }

  /// The scale and zero point (f32) of `row` (clamped into N) at K `k`.
  std::pair<Value, Value> scaleAndZero(Value row, Value k) {
    Value at = c(0);
    if (e.groupSize != 0)
      at = add(mul(row, e.groups()),
               arith::DivUIOp::create(b, loc, k, c(e.groupSize)));
    Value scale = toF32(memref::LoadOp::create(b, loc, ops.scales, at));
    Value zero;
    if (ops.zeros)
      zero = arith::UIToFPOp::create(
          b, loc, b.getF32Type(),
          memref::LoadOp::create(b, loc, ops.zeros, at));
    else
      zero = arith::ConstantOp::create(
          b, loc, b.getF32FloatAttr(static_cast<float>(e.mmaOffset())));
    return {scale, zero};
  }

  Value weights(Value codes8, Value scale, Value zero) {
    Value codes = arith::UIToFPOp::create(b, loc, f32s(), codes8);
    Value centered = arith::SubFOp::create(b, loc, codes, splat(zero));
    return roundToWeightType(
        arith::MulFOp::create(b, loc, centered, splat(scale)));
  }

  /// Tile `tile` for every row of x, `group` rows per pass over the codes
  /// (rows past M clamped to the last, their results not stored).
  void emitTile(Value tile, int64_t group) {
    int64_t n = e.rows(), chunks = e.cols() / chunk;
    Value m = memref::DimOp::create(b, loc, ops.x, 0);
    Value mLast = arith::SubIOp::create(b, loc, m, c(1));
    Value nLast = c(n - 1);
    Value zeros = arith::ConstantOp::create(
        b, loc, DenseElementsAttr::get(f32s(), b.getF32FloatAttr(0.0f)));
    Value padding = arith::ConstantOp::create(b, loc, b.getZeroAttr(t));
    auto bytesType = VectorType::get({16}, b.getI8Type());
    SmallVector<int64_t> xOrder, even, odd;
    for (int64_t i = 0; i < 16; ++i)
      xOrder.push_back(4 * (i / 4) + (i % 4 == 1 ? 2 : i % 4 == 2 ? 1 : i % 4));
    for (int64_t i = 0; i < 8; ++i) {
      even.push_back(2 * i);
      odd.push_back(2 * i + 1);
    }
    scf::ForOp::create(b, loc, c(0), m, c(group), ValueRange{},
                       [&](OpBuilder &mb, Location, Value m0, ValueRange) {
      Inside mInside(b, mb);
      SmallVector<Value> tokens;
      for (int64_t i = 0; i < group; ++i)
        tokens.push_back(
            i ? arith::MinUIOp::create(b, loc, add(m0, c(i)), mLast).getResult()
              : m0);
      scf::ForOp::create(b, loc, c(0), c(8), c(1), ValueRange{},
                         [&](OpBuilder &rb, Location, Value r, ValueRange) {
        Inside rInside(b, rb);
        Value rowA = add(mul(tile, 16), r), rowB = add(rowA, c(8));
        Value rowAc = arith::MinUIOp::create(b, loc, rowA, nLast);
        Value rowBc = arith::MinUIOp::create(b, loc, rowB, nLast);
        // Accumulators: [token][row A, row B].
        SmallVector<Value> init(2 * group, zeros);
        auto loop = scf::ForOp::create(
            b, loc, c(0), c(chunks), c(1), init,
            [&](OpBuilder &kb, Location, Value kc, ValueRange accs) {
              Inside kInside(b, kb);
              SmallVector<Value> next(accs.begin(), accs.end());
              for (int64_t col = 0; col < 4; ++col) {
                Value k0 = add(mul(kc, chunk), c(col * span));
                Value at = add(mul(add(mul(tile, chunks), kc), 512),
                               add(mul(r, 64), c(col * 16)));
                Value bytes =
                    vector::LoadOp::create(b, loc, bytesType, ops.codes, at);
                Value codesA, codesB;
                if (int4) {
                  auto ci8 = [&](int64_t v) {
                    return arith::ConstantOp::create(
                        b, loc,
                        DenseElementsAttr::get(bytesType,
                                               b.getI8IntegerAttr(v)));
                  };
                  codesA = arith::AndIOp::create(b, loc, bytes, ci8(15));
                  codesB = arith::ShRUIOp::create(b, loc, bytes, ci8(4));
                } else {
                  codesA = vector::ShuffleOp::create(b, loc, bytes, bytes, even);
                  codesB = vector::ShuffleOp::create(b, loc, bytes, bytes, odd);
                }
                auto [scaleA, zeroA] = scaleAndZero(rowAc, k0);
                auto [scaleB, zeroB] = scaleAndZero(rowBc, k0);
                Value wA = weights(codesA, scaleA, zeroA);
                Value wB = weights(codesB, scaleB, zeroB);
                for (int64_t i = 0; i < group; ++i) {
                  Value x = toF32(vector::TransferReadOp::create(
                      b, loc, VectorType::get({lanes}, t), ops.x,
                      ValueRange{tokens[i], k0}, padding, ArrayRef<bool>{true}));
                  if (int4)
                    x = vector::ShuffleOp::create(b, loc, x, x, xOrder);
                  next[2 * i] = vector::FMAOp::create(b, loc, wA, x, next[2 * i]);
                  next[2 * i + 1] =
                      vector::FMAOp::create(b, loc, wB, x, next[2 * i + 1]);
                }
              }
              scf::YieldOp::create(b, loc, next);
            });
        for (int64_t i = 0; i < group; ++i) {
          Value token = add(m0, c(i));
          for (int64_t half = 0; half < 2; ++half) {
            Value row = half ? rowB : rowA;
            Value inside = arith::AndIOp::create(
                b, loc,
                arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, row,
                                      c(n)),
                arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, token,
                                      m));
            Value sum = vector::ReductionOp::create(
                b, loc, vector::CombiningKind::ADD,
                loop.getResult(2 * i + half));
            scf::IfOp::create(b, loc, inside, [&](OpBuilder &ib, Location) {
              Inside iInside(b, ib);
              Value old = memref::LoadOp::create(b, loc, ops.out,
                                                 ValueRange{token, row});
              memref::StoreOp::create(b, loc,
                                      arith::AddFOp::create(b, loc, old, sum),
                                      ops.out, ValueRange{token, row});
              scf::YieldOp::create(b, loc);
            });
          }
        }
        scf::YieldOp::create(b, loc);
      });
      scf::YieldOp::create(b, loc);
    });
  }
};

struct KoptQuantizedLinearMicrokernelPass
    : impl::KoptQuantizedLinearMicrokernelPassBase<
          KoptQuantizedLinearMicrokernelPass> {
  void runOnOperation() override {
    SmallVector<linalg::GenericOp> kernels;
    getOperation().walk([&](linalg::GenericOp op) {
      auto kind = op->getAttrOfType<StringAttr>("kopt.microkernel");
      if (kind && kind.getValue() == "qlinear" && op.hasPureBufferSemantics())
        kernels.push_back(op);
    });
    for (linalg::GenericOp op : kernels) {
      auto type = op->getAttrOfType<TypeAttr>("kopt.encoding");
      auto quantized = type ? dyn_cast<QuantizedType>(type.getValue())
                            : QuantizedType();
      FailureOr<rt::quant::Encoding> encoding =
          quantized ? encodingOf(quantized)
                    : FailureOr<rt::quant::Encoding>(failure());
      if (failed(encoding) || op.getNumDpsInputs() < 3 ||
          op.getNumDpsInits() != 1)
        continue; // The generic itself stays correct.
      PackedOperands ops{op.getDpsInputs()[0], op.getDpsInputs()[1],
                         op.getDpsInputs()[2],
                         op.getNumDpsInputs() > 3 ? op.getDpsInputs()[3]
                                                  : Value(),
                         op.getDpsInits()[0]};
      OpBuilder b(op);
      Location loc = op.getLoc();
      Value work = arith::MulIOp::create(
          b, loc, memref::DimOp::create(b, loc, ops.x, 0),
          arith::ConstantIndexOp::create(b, loc,
                                         encoding->rows() * encoding->cols()));
      emitThreadedIfLarge(b, loc, work,
                          [&](OpBuilder &kb, Location kl, bool parallel) {
                            KernelBuilder(kb, kl, *encoding, ops).emit(parallel);
                          });
      op.erase();
    }
  }
};

} // namespace
} // namespace kopt
