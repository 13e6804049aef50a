//===- NormPrologue.h - RMS norms applied by the linears reading them -*- C++ -*-===//
//
// An rmsnorm marked `kopt.into_readers` (kopt-fuse) whose every reading
// linear has a small-row kernel that can apply it (the packed int4
// kernel's one-token-tile band, bf16 activations: Families.h,
// linearPrologueRows) runs only above those kernels' row bands: there the
// linears read the norm's input x and weight g instead of its result and
// compute
//   y[m, n] = rsqrt(mean_k x[m, k]^2 + eps) * sum_k w[n, k] (x[m, k] g[k]),
// the row's sum of squares accumulated from the same loads of x as the dot
// product and its scale applied to the sum, so the weight stream starts at
// once and x is read once. The norm's rounding of x * r to the
// activation dtype before the multiply by g is not reproduced; the result
// is at least as accurate.
//
//===----------------------------------------------------------------------===//

#ifndef KOPT_CODEGEN_GPU_NORMPROLOGUE_H
#define KOPT_CODEGEN_GPU_NORMPROLOGUE_H

#include "GpuEmitter.h"
#include "KernelText.h"

namespace kopt::gpu {

/// Decides whether `norm`'s readers apply it and, if so, records the
/// prologue for them (FunctionEmitter::normPrologueOf); returns the rows
/// from which the norm must still run (1: every row count).
int64_t deferNormIntoReaders(kopt::RMSNormOp norm, FunctionEmitter &e);

/// Appends the norm's weight to a reading linear's launch (the parameter
/// after `rows`) and marks the norm's input and weight read.
void addNormPrologueArguments(Launch &l, FunctionEmitter &e,
                              const NormPrologue &norm);

/// rsqrt(sumOfSquares / kDim + epsilon) in f32.
std::string rmsScale(KernelText &k, const std::string &sumOfSquares,
                     int64_t kDim, double epsilon);

} // namespace kopt::gpu

#endif // KOPT_CODEGEN_GPU_NORMPROLOGUE_H
