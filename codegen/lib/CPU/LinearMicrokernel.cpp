//===- LinearMicrokernel.cpp - Register-blocked f32 linear kernel ---------===//
//
//   for n0 in [0, N) step 4            (scf.parallel when the product is big)
//     for m0 in [0, M) step 4
//       acc[4][4] = vector<16xf32> zeros
//       for k0 in [0, K16) step 16      (then one masked step for K % 16)
//         a[i] = A[min(m0 + i, M - 1), k0 : k0 + 16]
//         b[j] = B[min(n0 + j, N - 1), k0 : k0 + 16]
//         acc[i][j] = fma(a[i], b[j], acc[i][j])
//       C[m0 + i, n0 + j] += reduce_add(acc[i][j])   (if inside C)
//
//===----------------------------------------------------------------------===//

#include "ThreadedIfLarge.h"

#include "kopt/Codegen/Passes.h"

#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/PatternMatch.h"

using namespace mlir;

namespace kopt {
#define GEN_PASS_DEF_KOPTLINEARMICROKERNELPASS
#include "kopt/Codegen/Passes.h.inc"

namespace {

constexpr int64_t kRows = 4, kCols = 4, kLanes = 16;

/// Emits the kernel for C[m, n] += A[m, k] * B[n, k].
void emitKernel(OpBuilder &b, Location loc, Value lhs, Value rhs, Value out,
                bool parallel) {
  Type f32 = b.getF32Type();
  auto index = [&](int64_t v) { return arith::ConstantIndexOp::create(b, loc, v); };
  Value zero = index(0), one = index(1);
  Value m = memref::DimOp::create(b, loc, lhs, 0);
  Value k = memref::DimOp::create(b, loc, lhs, 1);
  Value n = memref::DimOp::create(b, loc, rhs, 0);
  Value mLast = arith::SubIOp::create(b, loc, m, one);
  Value nLast = arith::SubIOp::create(b, loc, n, one);
  auto vectorType = VectorType::get({kLanes}, f32);
  Value zeros = arith::ConstantOp::create(
      b, loc, DenseElementsAttr::get(vectorType, 0.0f));
  Value padding = arith::ConstantOp::create(b, loc, b.getF32FloatAttr(0.0f));
  // K rounded down to whole vectors; the rest is one masked step.
  Value kMain = arith::MulIOp::create(
      b, loc, arith::DivUIOp::create(b, loc, k, index(kLanes)), index(kLanes));

  auto rowBlock = [&](OpBuilder &rb, Location l, Value n0) {
    SmallVector<Value> rhsRows;
    for (int64_t j = 0; j < kCols; ++j)
      rhsRows.push_back(arith::MinUIOp::create(
          rb, l, arith::AddIOp::create(rb, l, n0, index(j)), nLast));
    scf::ForOp::create(
        rb, l, zero, m, index(kRows), ValueRange{},
        [&](OpBuilder &mb, Location ml, Value m0, ValueRange) {
          SmallVector<Value> lhsRows;
          for (int64_t i = 0; i < kRows; ++i)
            lhsRows.push_back(arith::MinUIOp::create(
                mb, ml, arith::AddIOp::create(mb, ml, m0, index(i)), mLast));
          auto step = [&](OpBuilder &sb, Location sl, Value k0,
                          ValueRange accs, bool inBounds) {
            SmallVector<Value> a, w;
            for (Value row : lhsRows)
              a.push_back(vector::TransferReadOp::create(
                  sb, sl, vectorType, lhs, ValueRange{row, k0}, padding,
                  ArrayRef<bool>{inBounds}));
            for (Value row : rhsRows)
              w.push_back(vector::TransferReadOp::create(
                  sb, sl, vectorType, rhs, ValueRange{row, k0}, padding,
                  ArrayRef<bool>{inBounds}));
            SmallVector<Value> next;
            for (int64_t i = 0; i < kRows; ++i)
              for (int64_t j = 0; j < kCols; ++j)
                next.push_back(vector::FMAOp::create(sb, sl, a[i], w[j],
                                                     accs[i * kCols + j]));
            return next;
          };
          SmallVector<Value> init(kRows * kCols, zeros);
          auto main = scf::ForOp::create(
              mb, ml, zero, kMain, index(kLanes), init,
              [&](OpBuilder &kb, Location kl, Value k0, ValueRange accs) {
                scf::YieldOp::create(kb, kl, step(kb, kl, k0, accs, true));
              });
          // The K tail (no iterations when K is a multiple of 16).
          auto tail = scf::ForOp::create(
              mb, ml, kMain, k, index(kLanes), main.getResults(),
              [&](OpBuilder &kb, Location kl, Value k0, ValueRange accs) {
                scf::YieldOp::create(kb, kl, step(kb, kl, k0, accs, false));
              });
          for (int64_t i = 0; i < kRows; ++i) {
            for (int64_t j = 0; j < kCols; ++j) {
              Value row = arith::AddIOp::create(mb, ml, m0, index(i));
              Value col = arith::AddIOp::create(mb, ml, n0, index(j));
              Value inside = arith::AndIOp::create(
                  mb, ml,
                  arith::CmpIOp::create(mb, ml, arith::CmpIPredicate::ult, row, m),
                  arith::CmpIOp::create(mb, ml, arith::CmpIPredicate::ult, col, n));
              Value sum = vector::ReductionOp::create(
                  mb, ml, vector::CombiningKind::ADD,
                  tail.getResult(i * kCols + j));
              scf::IfOp::create(mb, ml, inside, [&](OpBuilder &ib, Location il) {
                Value old = memref::LoadOp::create(ib, il, out, ValueRange{row, col});
                memref::StoreOp::create(ib, il, arith::AddFOp::create(ib, il, old, sum),
                                        out, ValueRange{row, col});
                scf::YieldOp::create(ib, il);
              });
            }
          }
          scf::YieldOp::create(mb, ml);
        });
  };

  if (parallel) {
    scf::ParallelOp::create(b, loc, ValueRange{zero}, ValueRange{n},
                            ValueRange{index(kCols)},
                            [&](OpBuilder &pb, Location pl, ValueRange ivs) {
                              rowBlock(pb, pl, ivs[0]);
                              scf::ReduceOp::create(pb, pl);
                            });
  } else {
    scf::ForOp::create(b, loc, zero, n, index(kCols), ValueRange{},
                       [&](OpBuilder &fb, Location fl, Value n0, ValueRange) {
                         rowBlock(fb, fl, n0);
                         scf::YieldOp::create(fb, fl);
                       });
  }
}

bool isF32Matrix(Value value) {
  auto type = dyn_cast<MemRefType>(value.getType());
  return type && type.getRank() == 2 && type.getElementType().isF32();
}

struct KoptLinearMicrokernelPass
    : impl::KoptLinearMicrokernelPassBase<KoptLinearMicrokernelPass> {
  void runOnOperation() override {
    SmallVector<linalg::GenericOp> kernels;
    getOperation().walk([&](linalg::GenericOp op) {
      auto kind = op->getAttrOfType<StringAttr>("kopt.microkernel");
      if (kind && kind.getValue() == "linear" && op.hasPureBufferSemantics() &&
          op.getNumDpsInputs() == 2 && op.getNumDpsInits() == 1 &&
          llvm::all_of(op->getOperands(), isF32Matrix))
        kernels.push_back(op);
    });
    for (linalg::GenericOp op : kernels) {
      OpBuilder b(op);
      Location loc = op.getLoc();
      Value lhs = op.getDpsInputs()[0], rhs = op.getDpsInputs()[1];
      Value out = op.getDpsInits()[0];
      // Threads only when the product is worth a fork.
      Value work = arith::MulIOp::create(
          b, loc,
          arith::MulIOp::create(b, loc, memref::DimOp::create(b, loc, lhs, 0),
                                memref::DimOp::create(b, loc, lhs, 1)),
          memref::DimOp::create(b, loc, rhs, 0));
      emitThreadedIfLarge(b, loc, work,
                          [&](OpBuilder &kb, Location kl, bool parallel) {
                            emitKernel(kb, kl, lhs, rhs, out, parallel);
                          });
      op.erase();
    }
  }
};

} // namespace
} // namespace kopt
