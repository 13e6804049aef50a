//===- OnlineSoftmax.h - Attention softmax on MMA accumulators --*- C++ -*-===//
//
// The per-thread parts of FlashAttention shared by the mma.sync and wgmma
// prefill kernels. Both hold scores in the m16n8 accumulator layout: value
// i of key tile column block nt belongs to row l / 4 + 8 ((i % 4) / 2) of
// the warp's 16 and key 8 nt + 2 (l % 4) + i % 2, so each thread owns two
// query rows and a quad of lanes shares them.
//
//===----------------------------------------------------------------------===//

#ifndef KOPT_CODEGEN_GPU_ONLINESOFTMAX_H
#define KOPT_CODEGEN_GPU_ONLINESOFTMAX_H

#include "KernelText.h"

#include <array>
#include <vector>

namespace kopt::gpu {

/// Scores of one key tile: [key column block of 8][4 accumulator values].
using ScoreTile = std::vector<std::array<std::string, 4>>;

/// The running state of the thread's two rows (f32): maxima in the exp2
/// domain (-inf before any visible key) and per-thread partial sums.
struct SoftmaxState {
  std::array<std::string, 2> max, sum;
};

/// The result of folding one tile into the state.
struct SoftmaxStep {
  SoftmaxState state;
  /// Factor by which earlier output accumulators of each row shrink.
  std::array<std::string, 2> alpha;
};

/// Folds `scores` (raw Q K^T) of the key tile starting at `tileStart`
/// (index) into `state` and turns them into unnormalised probabilities in
/// place. `lo`/`hi` are the visible key ranges (i64) of the thread's rows,
/// `quadColumn` its first key column (2 (l % 4)). A tile every key of which
/// both rows see skips the mask; with a positive scale the maxima are taken
/// on the raw scores and the scale folds into the exponent's fma.
SoftmaxStep onlineSoftmaxStep(KernelText &k, ScoreTile &scores,
                              const std::string &tileStart,
                              const std::string &quadColumn,
                              const std::array<std::string, 2> &lo,
                              const std::array<std::string, 2> &hi,
                              const SoftmaxState &state, double scale);

/// Row sums of the quad (the denominators), 1 where a row saw nothing so
/// that its output is zero.
std::array<std::string, 2>
softmaxDenominators(KernelText &k, const std::array<std::string, 2> &sums);

/// Writes the thread's output accumulators `o` ([column block of 8][4]
/// flattened, over the head dim `d`) divided by the row's denominator to
/// rows `rows` (index) of `out` ([B, Sq, Hq, D] of `t`) at batch `b`, head
/// `h`; rows from `sq` on are skipped.
void storeNormalisedRows(KernelText &k, const std::string &out,
                         const std::string &t,
                         const std::vector<std::string> &o,
                         const std::array<std::string, 2> &denominators,
                         const std::array<std::string, 2> &rows,
                         const std::string &sq, const std::string &b,
                         const std::string &h, int64_t hq, int64_t d,
                         const std::string &quadColumn);

} // namespace kopt::gpu

#endif // KOPT_CODEGEN_GPU_ONLINESOFTMAX_H
