//===- MmaGemmKernel.h - Tensor-core GEMM (mma.sync) ------------*- C++ -*-===//
//
// C[batch, m, n] = sum_k A[batch, m, k] B[batch, n, k] (or B[batch, k, n])
// (+ bias[n]) on the tensor cores of sm_80+: 128 x 128 output tiles per
// 256-thread block (8 warps of 64 x 32), 32-wide K slices staged through
// XOR-swizzled shared memory by a three-stage cp.async pipeline, ldmatrix
// fragments and m16n8k16 mma.sync with f32 accumulation. Blocks are
// rasterised in groups of 8 row tiles so that concurrent blocks share
// operand tiles in L2.
//
// Kernel parameters are those of the SIMT GEMM: out, a, b, [bias], then
// m, n, k, a_batch_stride, b_batch_stride, a_batch_count, b_batch_count
// (operands broadcast over batches by the batch index modulo their count).
// The grid is (tilesM * tilesN, 1, batch).
//
//===----------------------------------------------------------------------===//

#ifndef KOPT_CODEGEN_GPU_MMAGEMMKERNEL_H
#define KOPT_CODEGEN_GPU_MMAGEMMKERNEL_H

#include "GpuEmitter.h"

namespace kopt::gpu {

struct MmaGemmShape {
  static constexpr int64_t tileM = 128, tileN = 128, tileK = 32;
  static constexpr int64_t threads = 256;
};

/// Whether the tensor-core GEMM takes operands of element type `t` with a
/// static `k` (and `n` when B is stored [k, n]); 16-byte cp.async chunks
/// need both to be multiples of 8.
bool mmaGemmApplies(const GpuTarget &target, llvm::StringRef t,
                    std::optional<int64_t> k, std::optional<int64_t> n,
                    bool bNK);

/// The kernel for operands of type `t` (f16 or bf16) and output `ot`;
/// `nEven` when N is statically even (paired output stores).
mlir::FailureOr<std::string> mmaGemmKernel(FunctionEmitter &e,
                                           mlir::Operation *op,
                                           const std::string &t,
                                           const std::string &ot, bool bNK,
                                           bool bias, bool nEven);

} // namespace kopt::gpu

#endif // KOPT_CODEGEN_GPU_MMAGEMMKERNEL_H
