//===- StreamedQuantizedLinearKernel.h - Packed-weight GEMV, streamed --===//
//
// kopt.linear over `mma`-layout i4/i8 codes for a few tokens, the weight
// stream kept in flight by per-warp cp.async rings (see the .cpp).
//
//===----------------------------------------------------------------------===//

#ifndef KOPT_CODEGEN_GPU_STREAMEDQUANTIZEDLINEARKERNEL_H
#define KOPT_CODEGEN_GPU_STREAMEDQUANTIZEDLINEARKERNEL_H

#include "GpuEmitter.h"
#include "PackedLinearText.h"

#include <string>

namespace kopt::gpu {

/// One streamed kernel: the weight's encoding, the dtypes, and its tiling.
struct StreamedLinearConfig : PackedLinearProblem {
  int64_t warps = 4;      // split each tile's chunks between them
  int64_t stages = 4;     // ring slots per warp
  int64_t chunksPerStage = 4;
  /// Blocks per SM to launch (0: streamedLinearBlocks chooses) and the
  /// grid it gives (grid.x): each block takes an even share of the 16-row
  /// tiles, one after another.
  int64_t blocksPerSm = 0;
  int64_t blocks = 1;
  /// Scales multiply the 16-bit weights (as kopt.dequantize rounds them,
  /// so results equal dequantize-then-linear) or, when scale groups hold
  /// whole chunks, each chunk's f32 partial sums (fewer operations;
  /// results differ by the weights' rounding).
  bool factoredScales = false;
  /// Timing probes (benchmarks only; results are wrong): 1 streams the
  /// codes and skips the arithmetic, 2 skips the activation loads.
  int64_t probe = 0;

  /// Bytes of one packed chunk (64 K of i4 or 32 of i8 for 16 rows).
  static constexpr int64_t kChunkBytes = 512;
  int64_t chunkK() const { return int4 ? 64 : 32; }
  int64_t chunks() const { return kDim / chunkK(); }
  /// Chunks of each tile a warp owns (a multiple of chunksPerStage).
  int64_t chunksPerWarp() const;
  /// Dynamic shared memory: every warp's ring.
  int64_t ringBytes() const {
    return warps * stages * chunksPerStage * kChunkBytes;
  }
  /// Static shared memory: the warps' reduction.
  int64_t staticSharedBytes() const { return warps * 128 * tokenTiles * 4; }
};

/// Whether the streamed kernel takes this encoding (K a multiple of the
/// chunk) on this target (cp.async).
bool streamedLinearApplies(const GpuTarget &target, int64_t kDim, bool int4);
/// Whether factored scales apply: groups of whole chunks, or one scale per
/// row or tensor.
bool factoredScalesApply(int64_t groupSize, bool int4);

/// Clamps the requested chunks per stage to a warp's share of a tile.
void finishStreamedTiling(StreamedLinearConfig &cfg);

/// The grid for `cfg` on `target`: the SMs times the blocks one SM holds
/// (by threads, shared memory and ~64 registers a thread), lowered while
/// that evens the tiles per block out better, at most one block per tile.
int64_t streamedLinearBlocks(const GpuTarget &target,
                             const StreamedLinearConfig &cfg);

/// The kernel's text, registered in the module; its launch is cfg.blocks
/// blocks of warps * 32 threads (grid.x) by 8 * tokenTiles tokens (grid.y),
/// with ringBytes() of dynamic shared memory.
mlir::FailureOr<std::string>
streamedQuantizedLinearKernel(FunctionEmitter &e, mlir::Operation *op,
                              const StreamedLinearConfig &cfg);

} // namespace kopt::gpu

#endif // KOPT_CODEGEN_GPU_STREAMEDQUANTIZEDLINEARKERNEL_H
