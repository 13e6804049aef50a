//===- GemmTiles.h - Block rasterisation and epilogue of tiled GEMMs -*- C++ -*-===//
//
// Shared by the tensor-core GEMM kernels (mma.sync and wgmma), whose kernel
// ABI is that of the SIMT GEMM: out, a, b, [a_scale, b_scale], [bias], then
// m, n, k, a_batch_stride, b_batch_stride, a_batch_count, b_batch_count,
// with a grid (tilesM * tilesN, 1, batch). The scales (fp8 operands) are
// f32 per row of A (or one) and `scaleType` per row of B (or one).
//
//===----------------------------------------------------------------------===//

#ifndef KOPT_CODEGEN_GPU_GEMMTILES_H
#define KOPT_CODEGEN_GPU_GEMMTILES_H

#include "KernelText.h"
#include "LinearEpilogue.h"

#include <memory>

namespace kopt::gpu {

/// Dequantization scales of float8 operands, applied in the epilogue.
struct GemmScales {
  std::string bType;     // A's scales are f32
  bool aPerRow, bPerRow; // else one scale for the whole operand
  std::string biasType;  // the bias's element type
};

/// The parameters of a tiled GEMM kernel and its block's output tile.
struct GemmTile {
  std::string out, a, b, bias; // bias empty without one
  std::string biasType;
  std::string aScale, bScale; // empty without scales
  bool aScalePerRow = false, bScalePerRow = false;
  std::string bScaleType;
  std::string m, n, k;
  std::string aOffset, bOffset, cOffset; // this batch's element offsets
  std::string row0, col0;                // the block's first output row/col
  std::shared_ptr<EpilogueText> epilogue; // the output cast (and epilogue)
};

/// Declares the GEMM parameters (operands of type `t`, output `ot`, scales
/// when given) and maps the 1-D block index onto (tile m, tile n) in groups
/// of `groupM` row tiles, so that concurrent blocks share operand tiles in
/// L2.
GemmTile gemmTile(KernelText &k, const std::string &t, const std::string &ot,
                  bool bias, int64_t tileM, int64_t tileN, int64_t groupM,
                  const GemmScales *scales = nullptr,
                  const LinearEpilogue *epilogue = nullptr);

/// Stores accumulators `v0`, `v1` (f32) of output row `row`, columns `col`
/// and `col + 1` (times the scales, + bias, through the epilogue), each
/// where it is inside the output; one paired store when N is statically
/// even (`nEven`).
void storeAccumulatorPair(KernelText &k, const GemmTile &g, bool nEven,
                          const std::string &row,
                          const std::string &col, const std::string &v0,
                          const std::string &v1);

} // namespace kopt::gpu

#endif // KOPT_CODEGEN_GPU_GEMMTILES_H
