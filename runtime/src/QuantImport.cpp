//===- QuantImport.cpp - GPTQ / AWQ int4 weights in kopt's encoding -------===//

#include "kopt/runtime/QuantImport.h"

#include "kopt/runtime/DType.h"
#include "kopt/runtime/Plan.h"

#include <cstring>

namespace kopt::rt::quant {
namespace {

std::string shapeOf(const kopt_tensor_view_t &view) {
  return shapeText(std::vector<int64_t>(view.shape, view.shape + view.rank));
}

std::string shape2(int64_t a, int64_t b) { return shapeText({a, b}); }

bool hasShape(const kopt_tensor_view_t &view, int64_t a, int64_t b) {
  return view.rank == 2 && view.shape[0] == a && view.shape[1] == b;
}

int32_t wordAt(const kopt_tensor_view_t &view, int64_t index) {
  int32_t word;
  std::memcpy(&word, static_cast<const uint8_t *>(view.data) + 4 * index, 4);
  return word;
}

/// Nibble position of column j % 8 in an AWQ word: AutoAWQ packs columns
/// 0 2 4 6 1 3 5 7 into nibbles 0..7.
constexpr int kAwqNibble[8] = {0, 4, 1, 5, 2, 6, 3, 7};

} // namespace

StatusOr<CheckpointFormat> parseCheckpointFormat(std::string_view text) {
  if (text == "auto")
    return CheckpointFormat::Auto;
  if (text == "gptq")
    return CheckpointFormat::Gptq;
  if (text == "gptq-v2")
    return CheckpointFormat::GptqV2;
  if (text == "awq")
    return CheckpointFormat::Awq;
  return invalidArgument("unknown pre-quantized checkpoint format '" +
                         std::string(text) +
                         "' (expected auto, gptq, gptq-v2 or awq)");
}

std::string formatName(CheckpointFormat format) {
  switch (format) {
  case CheckpointFormat::Auto:
    return "auto";
  case CheckpointFormat::Gptq:
    return "gptq";
  case CheckpointFormat::GptqV2:
    return "gptq-v2";
  case CheckpointFormat::Awq:
    return "awq";
  }
  return "?";
}

StatusOr<ImportedWeight> importInt4(const ForeignParts &parts, int64_t n,
                                    int64_t k, kopt_dtype_t scale,
                                    CheckpointFormat format) {
  const kopt_tensor_view_t &q = parts.qweight, &z = parts.qzeros,
                           &s = parts.scales;
  if (n <= 0 || k <= 0 || n % 8 != 0 || k % 8 != 0)
    return invalidArgument("a pre-quantized int4 weight needs N and K that "
                           "are multiples of 8, got " +
                           shape2(n, k));
  for (auto [view, name] : {std::pair(&q, "qweight"), std::pair(&z, "qzeros")})
    if (view->dtype != KOPT_DTYPE_I32)
      return invalidArgument(std::string(name) + " must be I32, got " +
                             std::string(dtypeName(view->dtype)));
  if (s.dtype != KOPT_DTYPE_F16 && s.dtype != KOPT_DTYPE_BF16 &&
      s.dtype != KOPT_DTYPE_F32)
    return invalidArgument("scales must be F16, BF16 or F32, got " +
                           std::string(dtypeName(s.dtype)));
  if (scale != KOPT_DTYPE_F16 && scale != KOPT_DTYPE_BF16 &&
      scale != KOPT_DTYPE_F32)
    return invalidArgument("the model's weight must be f16, bf16 or f32");

  bool gptqShape = hasShape(q, k / 8, n), awqShape = hasShape(q, k, n / 8);
  if (format == CheckpointFormat::Auto) {
    if (gptqShape == awqShape)
      return invalidArgument(
          "qweight " + shapeOf(q) + " is neither GPTQ's [K/8, N] = " +
          shape2(k / 8, n) + " nor AWQ's [K, N/8] = " + shape2(k, n / 8) +
          " for a weight of shape " + shape2(n, k));
    format = gptqShape ? CheckpointFormat::Gptq : CheckpointFormat::Awq;
  }
  bool awq = format == CheckpointFormat::Awq;
  if (awq ? !awqShape : !gptqShape)
    return invalidArgument("qweight is " + shapeOf(q) + "; " +
                           formatName(format) + " stores " +
                           (awq ? shape2(k, n / 8) : shape2(k / 8, n)) +
                           " for a weight of shape " + shape2(n, k));
  if (s.rank != 2 || s.shape[1] != n || s.shape[0] <= 0 || k % s.shape[0] != 0)
    return invalidArgument("scales " + shapeOf(s) + " must be [Gx" +
                           std::to_string(n) +
                           "] with G dividing K = " + std::to_string(k));
  const int64_t groups = s.shape[0], group = k / groups;
  if (!hasShape(z, groups, n / 8))
    return invalidArgument("qzeros " + shapeOf(z) + " must be " +
                           shape2(groups, n / 8));
  // Act-order: the checkpoint columns of each group, in order (a stable
  // counting sort of g_idx).
  std::vector<int32_t> order;
  if (parts.groupIndex) {
    const kopt_tensor_view_t &g = *parts.groupIndex;
    if (g.dtype != KOPT_DTYPE_I32 || g.rank != 1 || g.shape[0] != k)
      return invalidArgument("g_idx must be I32 " + shapeText({k}) + ", got " +
                             std::string(dtypeName(g.dtype)) + " " +
                             shapeOf(g));
    bool sequential = true;
    std::vector<int64_t> members(groups, 0);
    for (int64_t i = 0; i < k; ++i) {
      int32_t at = wordAt(g, i);
      if (at < 0 || at >= groups)
        return invalidArgument("g_idx[" + std::to_string(i) + "] = " +
                               std::to_string(at) + " is not a group in [0, " +
                               std::to_string(groups) + ")");
      sequential = sequential && at == i / group;
      ++members[at];
    }
    for (int64_t j = 0; j < groups; ++j)
      if (members[j] != group)
        return invalidArgument(
            "g_idx puts " + std::to_string(members[j]) +
            " columns in group " + std::to_string(j) + ", not K / G = " +
            std::to_string(group) +
            " (an act-order checkpoint's groups hold equally many)");
    if (!sequential) {
      std::vector<int64_t> next(groups);
      for (int64_t j = 0; j < groups; ++j)
        next[j] = j * group;
      order.assign(k, 0);
      for (int64_t i = 0; i < k; ++i)
        order[next[wordAt(g, i)]++] = static_cast<int32_t>(i);
    }
  }

  ImportedWeight out;
  out.format = format;
  Encoding &e = out.encoding;
  e.storage = Storage::Int4;
  e.groupSize = group;
  e.scale = scale;
  e.asymmetric = true;
  e.layout = Layout::Mma;
  e.shape = {n, k};
  if (Status valid = e.validate(); !valid.isOk())
    return valid.withContext("importing a " + formatName(format) +
                             " weight with group size " +
                             std::to_string(group));
  std::vector<Part> layout = partsOf(e);
  Packed &p = out.packed;
  p.qweight.assign(layout[0].bytes(), 0);
  p.scales.assign(layout[1].bytes(), 0);
  p.zeros.assign(layout[2].bytes(), 0);
  const auto *scaleBytes = static_cast<const uint8_t *>(s.data);
  const size_t scaleWidth = dtypeSize(s.dtype), outWidth = dtypeSize(scale);

  auto code = [&](int64_t row, int64_t col) -> uint8_t {
    int32_t word = awq ? wordAt(q, col * (n / 8) + row / 8)
                       : wordAt(q, (col / 8) * n + row);
    int shift = 4 * (awq ? kAwqNibble[row % 8] : col % 8);
    return static_cast<uint8_t>((static_cast<uint32_t>(word) >> shift) & 15);
  };
  int zeroOffset = format == CheckpointFormat::Gptq ? 1 : 0;
  auto column = [&](int64_t packedColumn) -> int64_t {
    return order.empty() ? packedColumn : order[packedColumn];
  };
  for (int64_t row = 0; row < n; ++row) {
    for (int64_t g = 0; g < groups; ++g) {
      int32_t word = wordAt(z, g * (n / 8) + row / 8);
      int shift = 4 * (awq ? kAwqNibble[row % 8] : row % 8);
      int zero = ((static_cast<uint32_t>(word) >> shift) & 15) + zeroOffset;
      p.zeros[row * groups + g] = static_cast<uint8_t>(zero);
      storeScalar(scale,
                  loadScalar(s.dtype, scaleBytes + (g * n + row) * scaleWidth),
                  p.scales.data() + (row * groups + g) * outWidth);
    }
    for (int64_t col = 0; col < k; ++col) {
      ElementAddress<int64_t> at = elementAddress(e, 0, row, col);
      p.qweight[at.byte] |=
          static_cast<uint8_t>(code(row, column(col)) << at.shift);
    }
  }
  out.inputOrder = std::move(order);
  return out;
}

} // namespace kopt::rt::quant
