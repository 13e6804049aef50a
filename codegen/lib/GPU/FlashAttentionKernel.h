//===- FlashAttentionKernel.h - Tensor-core attention prefill ---*- C++ -*-===//
//
// kopt.attention for 16-bit q/k/v with head dim 64 or 128 on sm_80+:
// FlashAttention-2 with mma.sync (see the .cpp). Parameters: out, q, k, v,
// [kv_len], status, then Sq and Skv; grid (ceil(Sq / 64), Hq, B) of 128
// threads.
//
//===----------------------------------------------------------------------===//

#ifndef KOPT_CODEGEN_GPU_FLASHATTENTIONKERNEL_H
#define KOPT_CODEGEN_GPU_FLASHATTENTIONKERNEL_H

#include "GpuEmitter.h"

#include "kopt/Dialect/Kopt/KoptOps.h"

namespace kopt::gpu {

struct FlashAttentionShape {
  static constexpr int64_t tileQ = 64, threads = 128;
  /// Fewer queries than this run the warp-per-query kernel (decode).
  static constexpr int64_t minQueries = 16;
};

bool flashAttentionApplies(const GpuTarget &target, llvm::StringRef t,
                           int64_t d);

mlir::FailureOr<std::string>
flashAttentionKernel(FunctionEmitter &e, kopt::AttentionOp op,
                     const std::string &t, const std::string &lt, int64_t hq,
                     int64_t hkv, int64_t d, double scale);

} // namespace kopt::gpu

#endif // KOPT_CODEGEN_GPU_FLASHATTENTIONKERNEL_H
