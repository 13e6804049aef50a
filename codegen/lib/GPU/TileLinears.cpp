//===- TileLinears.cpp - Tile variants of packed-weight linears -----------===//
//
// kopt-tile-linears: the candidates the autotuner times besides the
// heuristic default, derived from the target. For a linear over int4/int8
// codes its kernel dequantizes in registers:
//   - the streamed GEMV (cp.async rings; up to 16 tokens) with 8 warps of
//     4 stages x 2 chunks and with 16 warps of 8 x 2, where the target has
//     cp.async and the rings fit its shared memory per block;
//   - the register-pipelined kernel with 4 (else 2) row tiles per block
//     (warps of a block share the activations) where that still gives
//     every SM a block, 16 warps, 2 chunks in flight;
//   - the dense path (weights dequantized once, then the tensor-core GEMM)
//     from 17 tokens instead of the default's 129.
// A linear whose tiling an attribute already fixes keeps it.
//
//===----------------------------------------------------------------------===//

#include "Families.h"
#include "StreamedQuantizedLinearKernel.h"

#include "kopt/Codegen/Passes.h"
#include "kopt/Dialect/Kopt/KoptOps.h"
#include "kopt/Dialect/Kopt/KoptTypes.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"

namespace kopt {
#define GEN_PASS_DEF_KOPTTILELINEARSPASS
#include "kopt/Codegen/Passes.h.inc"

namespace {

using namespace mlir;

constexpr llvm::StringLiteral kFixingAttrs[] = {
    "kopt.gemv_tile", "kopt.qlinear_tile", "kopt.dense_from_rows",
    "kopt.tile_variants"};

/// Whether the streamed GEMV with `warps` x `stages` x `chunks` fits the
/// target for this weight, at its widest band (two token tiles).
bool streamedFits(const GpuTarget &target, const rt::quant::Encoding &enc,
                  int64_t warps, int64_t stages, int64_t chunks) {
  gpu::StreamedLinearConfig cfg;
  cfg.n = enc.rows();
  cfg.kDim = enc.cols();
  cfg.int4 = enc.storage == rt::quant::Storage::Int4;
  cfg.tokenTiles = 2;
  cfg.warps = warps;
  cfg.stages = stages;
  cfg.chunksPerStage = chunks;
  if (!gpu::streamedLinearApplies(target, cfg.kDim, cfg.int4))
    return false;
  gpu::finishStreamedTiling(cfg);
  return cfg.ringBytes() + cfg.staticSharedBytes() <=
         target.sharedMemoryPerBlockBytes;
}

struct KoptTileLinearsPass
    : impl::KoptTileLinearsPassBase<KoptTileLinearsPass> {
  using Base::Base;

  void runOnOperation() override {
    std::optional<GpuTarget> target = lookupGpuTarget(gpuTarget);
    if (!target) {
      getOperation().emitError("kopt-tile-linears: unknown GPU target '")
          << gpuTarget << "'";
      return signalPassFailure();
    }
    Builder b(&getContext());
    getOperation().walk([&](LinearOp linear) {
      if (llvm::any_of(kFixingAttrs,
                       [&](StringRef name) { return linear->hasAttr(name); }))
        return;
      auto weight = linear.getWeight().getDefiningOp<DequantizeOp>();
      if (!weight || !gpu::fusesIntoLinear(weight, *target) ||
          gpu::fp8LinearApplies(linear, *target))
        return;
      FailureOr<rt::quant::Encoding> enc =
          encodingOf(weight.getEncodingType());
      if (failed(enc) || enc->storage == rt::quant::Storage::Fp8E4M3)
        return;
      SmallVector<Attribute> variants;
      auto add = [&](StringRef name, Attribute value) {
        if (static_cast<int64_t>(variants.size()) < maxVariants)
          variants.push_back(
              b.getDictionaryAttr({b.getNamedAttr(name, value)}));
      };
      if (streamedFits(*target, *enc, 8, 4, 2))
        add("kopt.gemv_tile", b.getDenseI64ArrayAttr({8, 4, 2}));
      // Deep rings where shared memory allows (not sm_89's 99 KB).
      if (streamedFits(*target, *enc, 16, 8, 2))
        add("kopt.gemv_tile", b.getDenseI64ArrayAttr({16, 8, 2}));
      // Row tiles sharing the activations, as many as still give every SM
      // a block (wave quantisation: fewer, fuller blocks only pay while
      // the grid covers the GPU).
      int64_t tiles = (enc->rows() + 15) / 16;
      for (int64_t rowTiles : {4, 2})
        if ((tiles + rowTiles - 1) / rowTiles >= target->smCount) {
          add("kopt.qlinear_tile",
              b.getDenseI64ArrayAttr({rowTiles, 16 / rowTiles, 2}));
          break;
        }
      add("kopt.dense_from_rows", b.getI64IntegerAttr(17));
      if (!variants.empty())
        linear->setAttr("kopt.tile_variants", b.getArrayAttr(variants));
    });
  }
};

} // namespace
} // namespace kopt
