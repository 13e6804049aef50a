//===- WgmmaGemmKernel.h - Hopper tensor-core GEMM (wgmma) ------*- C++ -*-===//
//
// C[batch, m, n] = sum_k A[batch, m, k] B[batch, n, k] (+ bias[n]) on sm_90a
// with warpgroup MMA: 128 x 256 (or 128 or 64) output tiles per block of
// two warpgroups (64 rows each, wgmma m64nNk16 reading both operands from
// shared memory through matrix descriptors), 128-byte K slices (64 16-bit
// or 128 float8 elements) staged by a multi-stage cp.async pipeline in
// dynamic shared memory, laid out in the 128-byte swizzle wgmma reads.
// Float8 (e4m3) operands run m64nNk32 and scale the f32 accumulators by
// their operands' scales in the epilogue. The kernel ABI and grid are those
// of the other GEMMs (GemmTiles.h).
//
//===----------------------------------------------------------------------===//

#ifndef KOPT_CODEGEN_GPU_WGMMAGEMMKERNEL_H
#define KOPT_CODEGEN_GPU_WGMMAGEMMKERNEL_H

#include "GemmTiles.h"
#include "GpuEmitter.h"

namespace kopt::gpu {

struct WgmmaGemmShape {
  static constexpr int64_t tileM = 128, tileK = 64;
  /// Output tile widths (launchGemm picks one per row band so that the
  /// grid fills the SMs); without a static N: wide from narrowMaxRows + 1
  /// rows, narrow below.
  static constexpr int64_t wideTileN = 256, narrowTileN = 128, minTileN = 64;
  static constexpr int64_t narrowMaxRows = 128;
  static constexpr int64_t promotedMaxTileN = 128;
  static constexpr int64_t threads = 256;
  /// Pipeline stages: 4, or for row bands of one row tile (the weight
  /// stream is latency-bound there) as many as fit stagedBytes, up to 8.
  /// More elsewhere costs the second block per SM of 64-wide tiles.
  static constexpr int64_t stagedBytes = 192 * 1024;
  /// wgmma groups left in flight while the next slice is prepared.
  static constexpr int64_t mmasInFlight = 1;
  /// One stage: an A and a B tile of 128 bytes (tileK 16-bit elements) per
  /// row.
  static constexpr int64_t stageBytes(int64_t tileN) {
    return (tileM + tileN) * tileK * 2;
  }
  static constexpr int64_t stages(int64_t tileN, bool oneRowTile) {
    int64_t fit = stagedBytes / stageBytes(tileN);
    return !oneRowTile || fit < 4 ? 4 : fit > 8 ? 8 : fit;
  }
  static constexpr int64_t sharedBytes(int64_t tileN, bool oneRowTile) {
    return stages(tileN, oneRowTile) * stageBytes(tileN);
  }
};

/// Whether the wgmma GEMM takes operands of type `t` with B stored [n, k]
/// (K-major, as wgmma reads it without a transpose) and a static `k` that
/// 16-byte copies divide.
bool wgmmaGemmApplies(const GpuTarget &target, llvm::StringRef t,
                      std::optional<int64_t> k, bool bNK);
/// Whether it takes e4m3 operands of a static `k` (a multiple of 16).
bool wgmmaFp8GemmApplies(const GpuTarget &target, std::optional<int64_t> k);

/// The kernel for `tileN`-wide output tiles (wideTileN, narrowTileN or
/// minTileN), pipelined as deep as WgmmaGemmShape::stages says for M <=
/// tileM (`oneRowTile`); with `fp8`, over e4m3 operands (`t` is ignored: they are
/// passed as i8 buffers) and their scales. With `promoteSlices` > 0, each
/// run of that many K slices accumulates into fresh registers that are then
/// added to the f32 sums (fp8 wgmma accumulates with reduced precision; at
/// most promotedMaxTileN wide, as both sets must fit in registers).
mlir::FailureOr<std::string>
wgmmaGemmKernel(FunctionEmitter &e, mlir::Operation *op, const std::string &t,
                const std::string &ot, bool bias, bool nEven, int64_t tileN,
                const GemmScales *fp8 = nullptr, int64_t promoteSlices = 0,
                bool oneRowTile = false);

} // namespace kopt::gpu

#endif // KOPT_CODEGEN_GPU_WGMMAGEMMKERNEL_H
