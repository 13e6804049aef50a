//===- GemmTiles.h - Block rasterisation and epilogue of tiled GEMMs -*- C++ -*-===//
//
// Shared by the tensor-core GEMM kernels (mma.sync and wgmma), whose kernel
// ABI is that of the SIMT GEMM: out, a, b, [bias], then m, n, k,
// a_batch_stride, b_batch_stride, a_batch_count, b_batch_count, with a grid
// (tilesM * tilesN, 1, batch).
//
//===----------------------------------------------------------------------===//

#ifndef KOPT_CODEGEN_GPU_GEMMTILES_H
#define KOPT_CODEGEN_GPU_GEMMTILES_H

#include "KernelText.h"

namespace kopt::gpu {

/// The parameters of a tiled GEMM kernel and its block's output tile.
struct GemmTile {
  std::string out, a, b, bias; // bias empty without one
  std::string m, n, k;
  std::string aOffset, bOffset, cOffset; // this batch's element offsets
  std::string row0, col0;                // the block's first output row/col
};

/// Declares the GEMM parameters (operands of type `t`, output `ot`) and
/// maps the 1-D block index onto (tile m, tile n) in groups of `groupM`
/// row tiles, so that concurrent blocks share operand tiles in L2.
GemmTile gemmTile(KernelText &k, const std::string &t, const std::string &ot,
                  bool bias, int64_t tileM, int64_t tileN, int64_t groupM);

/// Stores accumulators `v0`, `v1` (f32) of output row `row`, columns `col`
/// and `col + 1` (+ bias, converted to `ot`), each where it is inside the
/// output; one paired store when N is statically even (`nEven`).
void storeAccumulatorPair(KernelText &k, const GemmTile &g,
                          const std::string &t, const std::string &ot,
                          bool nEven, const std::string &row,
                          const std::string &col, const std::string &v0,
                          const std::string &v1);

} // namespace kopt::gpu

#endif // KOPT_CODEGEN_GPU_GEMMTILES_H
