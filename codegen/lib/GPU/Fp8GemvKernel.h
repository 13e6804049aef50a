//===- Fp8GemvKernel.h - fp8 x fp8 linear for a few rows --------*- C++ -*-===//
//
// y[m, n] = sa[m] sb[n] sum_k a[m, k] b[n, k] (+ bias[n]) over e4m3 codes a
// (fake_quant's) and b (the weight) for M <= fp8GemvMaxRows: one warp per
// output feature n streaming 16-byte slices of its weight row, codes turned
// into f16 pairs by cvt (exact), multiplied and summed in f32, a warp
// shuffle reduction, the scales and bias applied once. Kernel ABI: out, a,
// b, a_scale (f32), b_scale, [bias], rows; grid ceil(N / 8) blocks of 256.
//
//===----------------------------------------------------------------------===//

#ifndef KOPT_CODEGEN_GPU_FP8GEMVKERNEL_H
#define KOPT_CODEGEN_GPU_FP8GEMVKERNEL_H

#include "GemmTiles.h"
#include "GpuEmitter.h"

namespace kopt::gpu {

constexpr int64_t fp8GemvMaxRows = 8;
constexpr int64_t fp8GemvWarps = 8;

/// The kernel for N x K (K a multiple of 16) with output type `ot`.
mlir::FailureOr<std::string> fp8GemvKernel(FunctionEmitter &e,
                                           mlir::Operation *op,
                                           const std::string &ot, int64_t n,
                                           int64_t k, bool bias,
                                           const GemmScales &scales);

} // namespace kopt::gpu

#endif // KOPT_CODEGEN_GPU_FP8GEMVKERNEL_H
