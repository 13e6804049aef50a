//===- DecodeAttentionKernel.h - Split-KV decode attention ------*- C++ -*-===//
//
// kopt.attention with few queries (decode) where the head dim splits into
// 16-byte chunks: a block per (key split, group of query rows, batch x kv
// head) reads each key and value once for all the query heads that share
// its kv head (see the .cpp). Writes per-split (max, sum, accumulator)
// partials in the layout of the combine kernel. Parameters: part_max,
// part_sum, part_acc, q, k, v, [kv_len], status, then Sq, Skv, splits;
// grid (splits, ceil(G * Sq / rows), B * Hkv) of `threads` threads, G the
// query heads per kv head.
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
  /// Keys each warp walks within its block's split.
  static constexpr int64_t warpKeys = 128;
  static constexpr int64_t splitKeys = warps * warpKeys;
  /// Query rows (grouped heads x queries) one block computes.
  static int64_t rows(int64_t group) { return std::min<int64_t>(group, 8); }
  /// Key steps per loop iteration (a step: a 16-byte chunk per lane).
  static constexpr int64_t steps = 4;
  /// cp.async stages per warp, an iteration's keys and values each.
  static constexpr int64_t stages = 4;
  /// Dynamic shared memory of the kernel.
  static constexpr int64_t sharedBytes = 2 * stages * warps * steps * 32 * 16;
};

/// Whether the head dim splits into at most 32 16-byte chunks of `t`.
bool decodeAttentionApplies(llvm::StringRef t, int64_t d);

mlir::FailureOr<std::string>
decodeAttentionKernel(FunctionEmitter &e, kopt::AttentionOp op,
                      const std::string &t, const std::string &lt, int64_t hq,
                      int64_t hkv, int64_t d, double scale, bool direct);

} // namespace kopt::gpu

#endif // KOPT_CODEGEN_GPU_DECODEATTENTIONKERNEL_H
