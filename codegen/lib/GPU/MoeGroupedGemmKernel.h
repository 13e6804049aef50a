//===- MoeGroupedGemmKernel.h - kopt.moe as grouped tensor-core GEMMs -*- C++
//-*-===//
//
// The many-token path of kopt.moe (see the .cpp): the routed slots are
// grouped by expert (moe_group), then two grouped GEMMs on mma.sync run
// over each expert's rows only, and moe_combine sums each token's slots.
//
//===----------------------------------------------------------------------===//

#ifndef KOPT_CODEGEN_GPU_MOEGROUPEDGEMMKERNEL_H
#define KOPT_CODEGEN_GPU_MOEGROUPEDGEMMKERNEL_H

#include "GpuEmitter.h"

#include "kopt/Dialect/Kopt/KoptOps.h"

namespace kopt::gpu {

struct MoeGemmShape {
  /// Routed rows per block tile, weight rows per block tile (gate/up:
  /// 64 FFN units x 2), K per pipeline stage.
  static constexpr int64_t tileM = 64, tileRows = 128, tileK = 32;
  static constexpr int64_t threads = 256, groupThreads = 1024;
  /// Output columns per block of the gate/up and the down GEMM.
  static constexpr int64_t upColumns = tileRows / 2, downColumns = tileRows;
  /// Fewer tokens than this take the GEMV-style kernels.
  static constexpr int64_t minTokens = 2;
  static constexpr int64_t maxExperts = 4096;
};

enum class MoeGemm { GateUp, Down };

/// Also bounds the expert count: moe_group keeps two i32 counters per
/// expert in static shared memory.
bool moeGroupedGemmApplies(const GpuTarget &target, llvm::StringRef t,
                           int64_t hidden, int64_t ffn, int64_t experts);

/// moe_group(sorted, expert_offsets, tile_offsets, experts, slots): the
/// slots ordered by expert (any order within one), where each expert's
/// rows start, and where its 64-row tiles start (both E + 1 long, i32).
/// One block of `groupThreads`.
mlir::FailureOr<std::string> moeGroupKernel(FunctionEmitter &e, kopt::MoEOp op,
                                            int64_t experts);

/// GateUp: moe_gate_up(h, x, w_gate, w_up, sorted, expert_offsets,
/// tile_offsets): h[p] = silu(x_tok Wg^T) * (x_tok Wu^T) for sorted row p
/// (16-bit `t`). Down: moe_down(y, h, w_down, weights, sorted,
/// expert_offsets, tile_offsets): y[slot] = weight[slot] * h[p] Wd^T (f32).
/// Grid (max tiles, output columns / block columns).
mlir::FailureOr<std::string>
moeGroupedGemmKernel(FunctionEmitter &e, kopt::MoEOp op, MoeGemm which,
                     const std::string &t, int64_t hidden, int64_t ffn,
                     int64_t experts, int64_t topK);

/// moe_combine(out, y, count): out[token, n] = sum of the token's slots.
mlir::FailureOr<std::string> moeCombineKernel(FunctionEmitter &e,
                                              kopt::MoEOp op,
                                              const std::string &ot,
                                              int64_t hidden, int64_t topK);

} // namespace kopt::gpu

#endif // KOPT_CODEGEN_GPU_MOEGROUPEDGEMMKERNEL_H
