//===- WgmmaAttentionKernel.h - Hopper attention prefill --------*- C++ -*-===//
//
// kopt.attention for 16-bit q/k/v with head dim 64 or 128 on sm_90a:
// FlashAttention with warpgroup MMA (see the .cpp). Parameters and grid
// order are those of the mma.sync kernel (FlashAttentionKernel.h): out, q,
// k, v, [kv_len], status, Sq, Skv; grid (ceil(Sq / 128), Hq, B) of 256
// threads with sharedBytes(D) of dynamic shared memory.
//
//===----------------------------------------------------------------------===//

#ifndef KOPT_CODEGEN_GPU_WGMMAATTENTIONKERNEL_H
#define KOPT_CODEGEN_GPU_WGMMAATTENTIONKERNEL_H

#include "GpuEmitter.h"

#include "kopt/Dialect/Kopt/KoptOps.h"

namespace kopt::gpu {

struct WgmmaAttentionShape {
  /// Queries per block (64 per warpgroup) and keys per tile.
  static constexpr int64_t tileQ = 128, tileKv = 128, threads = 256;
  /// A 128-row tile of head dim `d` (16-bit).
  static constexpr int64_t tileBytes(int64_t d) { return tileKv * d * 2; }
  /// Q, then two K and two V stages.
  static constexpr int64_t sharedBytes(int64_t d) { return 5 * tileBytes(d); }
};

bool wgmmaAttentionApplies(const GpuTarget &target, llvm::StringRef t,
                           int64_t d);

mlir::FailureOr<std::string>
wgmmaAttentionKernel(FunctionEmitter &e, kopt::AttentionOp op,
                     const std::string &t, const std::string &lt, int64_t hq,
                     int64_t hkv, int64_t d, double scale);

} // namespace kopt::gpu

#endif // KOPT_CODEGEN_GPU_WGMMAATTENTIONKERNEL_H
