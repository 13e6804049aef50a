//===- PrefetchStreamed.cpp - L2 prefetch of the buffers kernels stream ---===//

#include "kopt/Codegen/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"

#include <algorithm>

using namespace mlir;

namespace kopt {
#define GEN_PASS_DEF_KOPTPREFETCHSTREAMEDPASS
#include "kopt/Codegen/Passes.h.inc"

namespace {

constexpr llvm::StringLiteral kMarker = "kopt.prefetch_l2";
/// Shares start on cache-line boundaries.
constexpr int64_t kShareAlignment = 128;

struct KoptPrefetchStreamedPass
    : impl::KoptPrefetchStreamedPassBase<KoptPrefetchStreamedPass> {
  using Base::Base;

  void runOnOperation() override {
    getOperation().walk([&](gpu::GPUFuncOp kernel) {
      llvm::SmallVector<Value> streamed;
      for (unsigned i = 0, e = kernel.getNumArguments(); i < e; ++i) {
        if (!kernel.getArgAttr(i, kMarker))
          continue;
        kernel.removeArgAttr(i, StringAttr::get(&getContext(), kMarker));
        auto type = dyn_cast<MemRefType>(kernel.getArgument(i).getType());
        // The kernel ABI's rank-1 memref<?xT> with whole-byte elements.
        if (type && type.getRank() == 1 && type.getLayout().isIdentity() &&
            type.getElementTypeBitWidth() % 8 == 0)
          streamed.push_back(kernel.getArgument(i));
      }
      if (streamed.empty() || limit() == 0 || !kernel.isKernel() ||
          kernel.getBody().empty())
        return;
      prefetchShares(kernel, streamed);
    });
  }

  /// max-bytes, at most what one prefetch's 32-bit size holds.
  int64_t limit() const {
    return std::clamp<int64_t>(maxBytes, 0, INT32_MAX & ~int64_t(15));
  }

  /// At `kernel`'s entry, each block's first thread prefetches its share
  /// (buffer bytes / blocks) of every buffer in `streamed` into L2.
  void prefetchShares(gpu::GPUFuncOp kernel, llvm::ArrayRef<Value> streamed) {
    Location loc = kernel.getLoc();
    OpBuilder b = OpBuilder::atBlockBegin(&kernel.getBody().front());
    auto idx = [&](int64_t v) -> Value {
      return arith::ConstantIndexOp::create(b, loc, v);
    };
    auto add = [&](Value x, Value y) -> Value {
      return arith::AddIOp::create(b, loc, x, y);
    };
    auto mul = [&](Value x, Value y) -> Value {
      return arith::MulIOp::create(b, loc, x, y);
    };
    Value block[3], grid[3], thread[3];
    gpu::Dimension dims[3] = {gpu::Dimension::x, gpu::Dimension::y,
                              gpu::Dimension::z};
    for (int d = 0; d < 3; ++d) {
      block[d] = gpu::BlockIdOp::create(b, loc, dims[d]);
      grid[d] = gpu::GridDimOp::create(b, loc, dims[d]);
      thread[d] = gpu::ThreadIdOp::create(b, loc, dims[d]);
    }
    Value blockIndex =
        add(block[0], mul(grid[0], add(block[1], mul(grid[1], block[2]))));
    Value blocks = mul(grid[0], mul(grid[1], grid[2]));
    // Thread ids are non-negative: their sum is 0 only for thread (0,0,0).
    Value first = arith::CmpIOp::create(
        b, loc, arith::CmpIPredicate::eq,
        add(thread[0], add(thread[1], thread[2])), idx(0));
    auto ifFirst = scf::IfOp::create(b, loc, first, /*withElse=*/false);
    b.setInsertionPointToStart(&ifFirst.getThenRegion().front());
    auto ptrType = LLVM::LLVMPointerType::get(&getContext(), 1);
    for (Value buffer : streamed) {
      auto type = cast<MemRefType>(buffer.getType());
      Value elements = memref::DimOp::create(b, loc, buffer, 0);
      Value bytes = mul(elements, idx(type.getElementTypeBitWidth() / 8));
      Value perBlock = arith::CeilDivUIOp::create(b, loc, bytes, blocks);
      Value share = mul(arith::CeilDivUIOp::create(b, loc, perBlock,
                                                   idx(kShareAlignment)),
                        idx(kShareAlignment));
      Value start = mul(blockIndex, share);
      Value end = arith::MinUIOp::create(b, loc, add(start, share), bytes);
      Value base = memref::ExtractAlignedPointerAsIndexOp::create(b, loc,
                                                                  buffer);
      // The 16-byte aligned part of [base + start, base + end).
      Value lo = mul(arith::CeilDivUIOp::create(b, loc, add(base, start),
                                                idx(16)),
                     idx(16));
      Value hi = mul(arith::DivUIOp::create(b, loc, add(base, end), idx(16)),
                     idx(16));
      Value fits = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ule,
                                         bytes, idx(limit()));
      Value nonEmpty =
          arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ugt, hi, lo);
      Value go = arith::AndIOp::create(b, loc, fits, nonEmpty);
      auto ifGo = scf::IfOp::create(b, loc, go, /*withElse=*/false);
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(&ifGo.getThenRegion().front());
      Value address =
          arith::IndexCastOp::create(b, loc, b.getI64Type(), lo);
      Value pointer = LLVM::IntToPtrOp::create(b, loc, ptrType, address);
      Value size = arith::IndexCastOp::create(
          b, loc, b.getI32Type(), arith::SubIOp::create(b, loc, hi, lo));
      NVVM::CpAsyncBulkPrefetchOp::create(b, loc, pointer, size,
                                          /*l2CacheHint=*/Value());
    }
  }
};

} // namespace
} // namespace kopt
