//===- PackedLinearText.h - Shared parts of the packed-weight kernels -*- C++ -*-===//
//
// What the two kernels over `mma`-packed weights (QuantizedLinearKernels,
// StreamedQuantizedLinearKernel) share: the activations as m16n8k16 B
// operands in the layout's K order, and the cross-warp reduction of the
// accumulator fragments with the bias and the output store.
//
//===----------------------------------------------------------------------===//

#ifndef KOPT_CODEGEN_GPU_PACKEDLINEARTEXT_H
#define KOPT_CODEGEN_GPU_PACKEDLINEARTEXT_H

#include "KernelText.h"
#include "LinearEpilogue.h"

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace kopt::gpu {

/// The problem of a linear over packed weights: what both kernels'
/// configurations share.
struct PackedLinearProblem {
  int64_t n = 0, kDim = 0;
  int64_t groupSize = 0; // 0: one scale; kDim: per channel
  int64_t groups = 1;
  bool int4 = true, asymmetric = false, bias = false;
  std::string t, ot;      // activation (f16/bf16) and output dtypes
  int64_t tokenTiles = 1; // n8 tiles of tokens per block
};

/// The kernel parameters of a linear over packed weights, in launch order:
/// out, x, q (codes), s (scales)[, z (zero points)][, b (bias)], rows.
struct PackedLinearBuffers {
  std::string out, x, q, s, z, b, rows; // z, b: "" when absent
};
PackedLinearBuffers packedLinearBuffers(KernelText &k, const std::string &t,
                                        const std::string &ot, bool asymmetric,
                                        bool bias);

/// A 32-bit word of two 16-bit elements as an mma operand of type `t`
/// (bf16: the i32 itself; f16: vector<2xf16>).
std::string wordOperand(KernelText &k, const std::string &word,
                        const std::string &t);

/// (word & mask) | bits (i32) in one lop3: LLVM emits an and and an or,
/// which ptxas does not merge when both operands are immediates.
std::string andOr(KernelText &k, const std::string &word, uint32_t mask,
                  uint32_t bits);

/// A vector<2xT> pair as an mma operand (bf16 operands are i32).
std::string pairOperand(KernelText &k, const std::string &pair,
                        const std::string &t);

/// The B operands (2 per k16 step, `halves` 16-byte loads) of chunk `kc`
/// for the lane whose K slice of token row `xBase` starts there: x[xBase +
/// kc * chunk + 8 * half + 0..7]; with a norm weight `g` (not ""), each
/// times g[gBase + kc * chunk + 8 * half + 0..7], rounded once to `t`, and
/// the sum of the raw elements' squares (f32) in `*sumOfSquares`; with
/// `transform`, each 8-element load replaced by transform(load, its first
/// element's index).
using ActivationTransform =
    std::function<std::string(const std::string &, const std::string &)>;
std::vector<std::string>
chunkActivations(KernelText &k, IndexOps &ix, const std::string &x,
                 const std::string &t, const std::string &xBase,
                 const std::string &kc, int64_t chunk, int64_t halves,
                 const std::string &g = "", const std::string &gBase = "",
                 std::string *sumOfSquares = nullptr,
                 const ActivationTransform &transform = nullptr);

/// The output of one block: fragment registers `acc` (4 per n8 token tile)
/// of every warp summed through `red` (a [warps][128 * tiles] f32 workgroup
/// buffer), plus `bias` (a T buffer, or ""), stored as `ot` into out[token,
/// row] for rows < n and tokens < rows. The block owns `rowTiles` tiles of
/// 16 weight rows from `tile` on; warp w works on tile `tile + w % rowTiles`
/// and the warps of one tile are summed. Contains a barrier.
struct PackedLinearEpilogue {
  std::string red, out, bias, t, ot;
  std::string tile, tokenBase, rows; // index values
  int64_t warps = 0, tokenTiles = 0, n = 0, rowTiles = 1;
  /// A fused epilogue after the bias (its output type is `ot`), or null.
  EpilogueText *epilogue = nullptr;
  /// A norm the sums are scaled by before the bias: `rowSumOfSquares` (or
  /// ""), a [parts][8 * tokenTiles] f32 workgroup buffer of partial sums of
  /// each token's squared activations (written before the barrier), whose
  /// rsqrt(total / normDim + epsilon) is the token's factor.
  std::string rowSumOfSquares;
  int64_t sumOfSquaresParts = 0, normDim = 0;
  double epsilon = 0;
};
void storePackedLinear(KernelText &k, IndexOps &ix,
                       const PackedLinearEpilogue &e, const std::string &warp,
                       const std::string &lane,
                       const std::vector<std::string> &acc);

} // namespace kopt::gpu

#endif // KOPT_CODEGEN_GPU_PACKEDLINEARTEXT_H
