//===- ChunkedLinearAttentionKernel.h - linear_attention on tensor cores -*- C++
//-*-===//
//
// kopt.linear_attention for 16-bit q/k/v with head dim 64 or 128 on sm_80+,
// in its chunked form (see the .cpp). Parameters: out, state_out, q, k, v,
// [state_in], [decay], then S and H; grid (D / 64, H, B) of 128 threads
// with `sharedBytes(d)` of dynamic shared memory.
//
//===----------------------------------------------------------------------===//

#ifndef KOPT_CODEGEN_GPU_CHUNKEDLINEARATTENTIONKERNEL_H
#define KOPT_CODEGEN_GPU_CHUNKEDLINEARATTENTIONKERNEL_H

#include "GpuEmitter.h"

#include "kopt/Dialect/Kopt/KoptOps.h"

namespace kopt::gpu {

struct ChunkedLinearAttentionShape {
  /// Sequence positions per chunk, state (and value) columns per block.
  static constexpr int64_t chunk = 64, columns = 64, threads = 128;
  /// Two stages of Q, K (chunk x D) and V (chunk x columns), and the
  /// block's state columns as 16-bit (D x columns).
  static constexpr int64_t sharedBytes(int64_t d) {
    return 2 * (2 * (2 * chunk * d + chunk * columns) + d * columns);
  }
};

bool chunkedLinearAttentionApplies(const GpuTarget &target, llvm::StringRef t,
                                   int64_t d);

/// `t` is the q/k/v (and output) element type, `st` the state's.
mlir::FailureOr<std::string>
chunkedLinearAttentionKernel(FunctionEmitter &e, kopt::LinearAttentionOp op,
                             const std::string &t, const std::string &st,
                             int64_t d);

} // namespace kopt::gpu

#endif // KOPT_CODEGEN_GPU_CHUNKEDLINEARATTENTIONKERNEL_H
