//===- DecodeAttentionKernel.h - Split-KV decode attention ------*- C++ -*-===//
//
// kopt.attention with few queries (decode) where the head dim splits into
// 16-byte chunks: a block per (key split, group of query rows, batch x kv
// head) reads each key and value once for all the query heads that share
// its kv head (see the .cpp). Writes per-split (max, sum, accumulator)
// partials in the layout of the combine kernel, which the last block of
// each column may reduce itself (DecodeAttentionOutput). Grid (splits,
// ceil(G * Sq / rows), B * Hkv) of `threads` threads, G the query heads per
// kv head, each split `warps * warpKeys` keys.
//
//===----------------------------------------------------------------------===//

#ifndef KOPT_CODEGEN_GPU_DECODEATTENTIONKERNEL_H
#define KOPT_CODEGEN_GPU_DECODEATTENTIONKERNEL_H

#include "GpuEmitter.h"

#include "kopt/Dialect/Kopt/KoptOps.h"

#include <algorithm>

namespace kopt::gpu {

struct DecodeAttentionShape {
  static constexpr int64_t warps = 4, threads = warps * 32;
  /// Keys each warp walks within its block's split at most (the
  /// tensor-core variant takes twice as many: its steps are cheaper to
  /// start), and at least.
  static constexpr int64_t maxWarpKeys(bool mma) { return mma ? 256 : 128; }
  static constexpr int64_t minWarpKeys = 32;
  /// Keys per warp: the most (up to maxWarpKeys) that still gives the grid
  /// `smCount` blocks over a full cache of `cacheKeys` keys, with `columns`
  /// blocks per split (query row groups x batch x kv heads). Decode over a
  /// short prefix of a long cache otherwise runs a handful of blocks.
  static int64_t warpKeys(bool mma, int64_t cacheKeys, int64_t columns,
                          int64_t smCount) {
    int64_t keys = maxWarpKeys(mma);
    auto blocks = [&](int64_t w) {
      return (cacheKeys + warps * w - 1) / (warps * w) * columns;
    };
    while (keys > minWarpKeys && blocks(keys) < smCount)
      keys /= 2;
    return keys;
  }
  /// Query rows (grouped heads x queries) one block computes.
  static int64_t rows(int64_t group) { return std::min<int64_t>(group, 8); }
  /// Key steps per loop iteration (a step: a 16-byte chunk per lane).
  static constexpr int64_t steps = 4;
  /// cp.async stages per warp, an iteration's keys and values each.
  static constexpr int64_t stages = 4;
  /// The tensor-core variant: keys per step (an m16n8k16 pair of n tiles)
  /// and stages per warp.
  static constexpr int64_t mmaKeys = 16, mmaStages = 3;
  /// The most splits the block finishing last combines itself (each of
  /// its threads loads every split's partial of its outputs).
  static constexpr int64_t maxCombinedSplits = 32;
  /// Dynamic shared memory of the kernel.
  static constexpr int64_t sharedBytes(bool mma, int64_t d) {
    return mma ? 2 * mmaStages * warps * mmaKeys * d * 2
               : 2 * stages * warps * steps * 32 * 16;
  }
};

/// Whether the head dim splits into at most 32 16-byte chunks of `t`.
bool decodeAttentionApplies(llvm::StringRef t, int64_t d);

/// Whether the kernel computes its dot products on the tensor cores
/// (mma.sync with the block's query rows as M): 16-bit, D a multiple of 16
/// up to 128, and more than one query head per kv head to fill the rows.
bool decodeAttentionUsesMma(const GpuTarget &target, llvm::StringRef t,
                            int64_t d, int64_t group);

/// What the blocks write: the output (a single split), or every split's
/// partials, which the combine kernel reduces or (LastBlockCombines, for
/// a static count of at most maxCombinedSplits splits) the block finishing
/// a column last reduces into the output, counting finished splits in a
/// "zeroed" i32 buffer of one counter per (row group, batch x kv head).
enum class DecodeAttentionOutput { Direct, Partials, LastBlockCombines };

/// Parameters after `out` (Direct and LastBlockCombines) and the partials
/// (Partials and LastBlockCombines): `counters` (LastBlockCombines), then
/// q, k, v, [kv_len], status, Sq, Skv, splits; `combinedSplits` is the
/// static split count of LastBlockCombines.
mlir::FailureOr<std::string>
decodeAttentionKernel(FunctionEmitter &e, kopt::AttentionOp op,
                      const std::string &t, const std::string &lt, int64_t hq,
                      int64_t hkv, int64_t d, double scale,
                      DecodeAttentionOutput output, int64_t combinedSplits,
                      int64_t warpKeys);

} // namespace kopt::gpu

#endif // KOPT_CODEGEN_GPU_DECODEATTENTIONKERNEL_H
