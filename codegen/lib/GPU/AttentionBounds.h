//===- AttentionBounds.h - Which keys a query sees --------------*- C++ -*-===//
//
// The visibility rules of kopt.attention (shared/spec/DIALECT.md) as kernel
// text, shared by the attention kernels: the kv length L of a batch row and
// the key range [lo, hi) of the query at position p = L - Sq + i.
//
//===----------------------------------------------------------------------===//

#ifndef KOPT_CODEGEN_GPU_ATTENTIONBOUNDS_H
#define KOPT_CODEGEN_GPU_ATTENTIONBOUNDS_H

#include "GpuEmitter.h"
#include "KernelText.h"

#include "kopt/Dialect/Kopt/KoptOps.h"

namespace kopt::gpu {

/// The parameters of the prefill kernels, in launch order: out, q, k, v
/// (of `t`), [kv_len] (of `lt`, empty without one), status, Sq, Skv.
struct PrefillParams {
  std::string out, q, k, v, kvLen, status, sq, skv;
};
PrefillParams prefillParams(KernelText &k, AttentionOp op, const std::string &t,
                            const std::string &lt);

/// L (i64) of batch row `b`: `kvLen[b]` (element type `lt`) clamped to
/// [0, Skv], an out-of-range length reported to `status`; Skv without
/// kv_len (`kvLen` empty).
std::string visibleLength(KernelText &k, FunctionEmitter &e, AttentionOp op,
                          const std::string &kvLen, const std::string &lt,
                          const std::string &b, const std::string &skv,
                          const std::string &status);

/// [lo, hi) (i64, lo >= 0, hi possibly below lo) of the keys visible to the
/// query at position `p` (i64) given `len` (i64): j < L, causal j <= p,
/// window p - j < W.
std::pair<std::string, std::string> visibleKeys(KernelText &k, AttentionOp op,
                                                const std::string &len,
                                                const std::string &p);

/// The keys of a block of queries [q0, q0 + tileQ) of batch row `b`, for
/// kernels that walk key tiles of `tileKv`.
struct QueryBlockKeys {
  KernelText *k;
  AttentionOp op;
  /// L and L - Sq (i64).
  std::string len, shift;
  /// The key tiles (index) holding a key any query of the block sees:
  /// [firstTile, endTile), empty when none does.
  std::string firstTile, endTile;
  /// visibleKeys of query row `row` (index).
  std::pair<std::string, std::string> visible(const std::string &row) const;
};
QueryBlockKeys queryBlockKeys(KernelText &k, FunctionEmitter &e, AttentionOp op,
                              const std::string &kvLen, const std::string &lt,
                              const std::string &b, const std::string &sq,
                              const std::string &skv, const std::string &status,
                              const std::string &q0, int64_t tileQ,
                              int64_t tileKv);

} // namespace kopt::gpu

#endif // KOPT_CODEGEN_GPU_ATTENTIONBOUNDS_H
