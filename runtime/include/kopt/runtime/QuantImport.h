//===- QuantImport.h - GPTQ / AWQ int4 weights in kopt's encoding -*- C++
//-*-===//
//
// Pre-quantized int4 checkpoints store each linear weight `P.weight` as
// `P.qweight`, `P.qzeros` and `P.scales` (and GPTQ's `P.g_idx`):
//   - GPTQ (AutoGPTQ, "gptq" format): qweight int32 [K/8, N], eight codes
//     per word along K, lowest nibble first; qzeros int32 [G, N/8] along N;
//     scales [G, N]; the stored zero point is one less than the real one
//     ("gptq_v2" stores it as is);
//   - AWQ (AutoAWQ GEMM): qweight int32 [K, N/8] and qzeros [G, N/8], eight
//     codes per word along N in the order 0 2 4 6 1 3 5 7; scales [G, N].
// Both mean w[n, k] = (q[n, k] - z[n, k / g]) * s[n, k / g] with g = K / G.
// importInt4 re-packs them, losslessly, as kopt's asymmetric int4 `mma`
// encoding (codes and zero points exact; scales converted to the model's
// dtype, exact for f16 and f32). An act-order (desc_act) g_idx, column k
// in group g_idx[k] with every group holding g columns, is imported with
// the columns sorted by group (stable): the weight's K order becomes
// `inputOrder`, and the linear must read x[..., inputOrder].
//
//===----------------------------------------------------------------------===//

#ifndef KOPT_RUNTIME_QUANTIMPORT_H
#define KOPT_RUNTIME_QUANTIMPORT_H

#include "kopt/runtime/Quantization.h"

#include <optional>
#include <string_view>
#include <vector>

namespace kopt::rt::quant {

enum class CheckpointFormat { Auto, Gptq, GptqV2, Awq };

/// "auto", "gptq", "gptq-v2", "awq".
StatusOr<CheckpointFormat> parseCheckpointFormat(std::string_view text);
std::string formatName(CheckpointFormat format);

/// The stored tensors of one pre-quantized weight.
struct ForeignParts {
  kopt_tensor_view_t qweight, qzeros, scales;
  std::optional<kopt_tensor_view_t> groupIndex; // GPTQ g_idx
};

struct ImportedWeight {
  Encoding encoding;
  Packed packed;
  CheckpointFormat format; // as detected when asked for Auto
  /// Act-order: packed column i is checkpoint column inputOrder[i]; empty
  /// when g_idx is k / g (or absent).
  std::vector<int32_t> inputOrder;
};

/// Converts the parts of a weight of logical shape [n, k] into kopt's
/// asymmetric int4 `mma` encoding with `scale` (f16/bf16/f32) scales.
/// Auto tells GPTQ from AWQ by qweight's shape (GPTQ means "gptq", whose
/// zero points are stored minus one). Malformed parts, a g_idx whose groups
/// do not each hold K / G columns, and group sizes the layout cannot hold
/// are INVALID_ARGUMENT.
StatusOr<ImportedWeight> importInt4(const ForeignParts &parts, int64_t n,
                                    int64_t k, kopt_dtype_t scale,
                                    CheckpointFormat format);

} // namespace kopt::rt::quant

#endif // KOPT_RUNTIME_QUANTIMPORT_H
