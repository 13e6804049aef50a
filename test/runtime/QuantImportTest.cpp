//===- QuantImportTest.cpp - GPTQ / AWQ int4 import -----------------------===//
//
// Builds GPTQ and AWQ parts from known codes with this file's own packers
// (written from the formats' definitions), imports them, and checks that
// kopt's dequantization gives back (q - z) * s exactly.
//
//===----------------------------------------------------------------------===//

#include "kopt/runtime/QuantImport.h"
#include "kopt/runtime/Float16.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <functional>
#include <random>

namespace kopt::rt::quant {
namespace {

struct Tensor {
  kopt_dtype_t dtype;
  std::vector<int64_t> shape;
  std::vector<uint8_t> bytes;

  kopt_tensor_view_t view() const {
    kopt_tensor_view_t v{};
    v.dtype = dtype;
    v.rank = static_cast<int32_t>(shape.size());
    std::copy(shape.begin(), shape.end(), v.shape);
    v.data = bytes.data();
    v.byte_size = bytes.size();
    return v;
  }
};

Tensor int32s(std::vector<int64_t> shape, const std::vector<uint32_t> &words) {
  Tensor t{KOPT_DTYPE_I32, std::move(shape),
           std::vector<uint8_t>(4 * words.size())};
  std::memcpy(t.bytes.data(), words.data(), t.bytes.size());
  return t;
}

/// A random int4 weight: codes [N][K], zero points and f16 scales [G][N].
struct Reference {
  int64_t n, k, groups;
  std::vector<uint8_t> codes, zeros; // zeros: the real zero points
  std::vector<uint16_t> scales;      // f16 bits, [G][N]
  std::vector<uint32_t> groupOf;     // g_idx: column k / (K / G) unless set

  Reference(int64_t n, int64_t k, int64_t groups, int zeroMin, int zeroMax,
            unsigned seed)
      : n(n), k(k), groups(groups), codes(n * k), zeros(groups * n),
        scales(groups * n), groupOf(k) {
    for (int64_t col = 0; col < k; ++col)
      groupOf[col] = static_cast<uint32_t>(col / (k / groups));
    std::mt19937 rng(seed);
    for (uint8_t &c : codes)
      c = rng() % 16;
    for (uint8_t &z : zeros)
      z = static_cast<uint8_t>(zeroMin + rng() % (zeroMax - zeroMin + 1));
    std::uniform_real_distribution<float> s(0.001f, 0.05f);
    for (uint16_t &v : scales)
      v = floatToF16(s(rng));
  }
  float weight(int64_t row, int64_t col, kopt_dtype_t scaleType) const {
    int64_t g = groupOf[col];
    float s = f16ToFloat(scales[g * n + row]);
    if (scaleType == KOPT_DTYPE_BF16)
      s = bf16ToFloat(floatToBF16(s));
    float w = (float(codes[row * k + col]) - float(zeros[g * n + row])) * s;
    return scaleType == KOPT_DTYPE_BF16 ? bf16ToFloat(floatToBF16(w))
                                        : f16ToFloat(floatToF16(w));
  }
  Tensor scaleTensor() const {
    Tensor t{
        KOPT_DTYPE_F16, {groups, n}, std::vector<uint8_t>(2 * scales.size())};
    std::memcpy(t.bytes.data(), scales.data(), t.bytes.size());
    return t;
  }
  /// GPTQ: qweight [K/8, N] along K; qzeros [G, N/8] along N, stored as
  /// zero - zeroOffset.
  std::pair<Tensor, Tensor> gptq(int zeroOffset) const {
    std::vector<uint32_t> q(k / 8 * n, 0), z(groups * (n / 8), 0);
    for (int64_t row = 0; row < n; ++row)
      for (int64_t col = 0; col < k; ++col)
        q[(col / 8) * n + row] |= uint32_t(codes[row * k + col])
                                  << (4 * (col % 8));
    for (int64_t g = 0; g < groups; ++g)
      for (int64_t row = 0; row < n; ++row)
        z[g * (n / 8) + row / 8] |= uint32_t(zeros[g * n + row] - zeroOffset)
                                    << (4 * (row % 8));
    return {int32s({k / 8, n}, q), int32s({groups, n / 8}, z)};
  }
  /// AWQ: qweight [K, N/8] and qzeros [G, N/8], columns 0 2 4 6 1 3 5 7 of
  /// each eight in nibbles 0..7.
  std::pair<Tensor, Tensor> awq() const {
    const int order[8] = {0, 2, 4, 6, 1, 3, 5, 7};
    std::vector<uint32_t> q(k * (n / 8), 0), z(groups * (n / 8), 0);
    for (int64_t col = 0; col < k; ++col)
      for (int64_t word = 0; word < n / 8; ++word)
        for (int i = 0; i < 8; ++i)
          q[col * (n / 8) + word] |=
              uint32_t(codes[(8 * word + order[i]) * k + col]) << (4 * i);
    for (int64_t g = 0; g < groups; ++g)
      for (int64_t word = 0; word < n / 8; ++word)
        for (int i = 0; i < 8; ++i)
          z[g * (n / 8) + word] |= uint32_t(zeros[g * n + 8 * word + order[i]])
                                   << (4 * i);
    return {int32s({k, n / 8}, q), int32s({groups, n / 8}, z)};
  }
};

/// Checks every dequantized element of `imported` against the reference,
/// packed column c holding the checkpoint's column `column(c)`.
void expectDequantizesTo(const ImportedWeight &imported, const Reference &ref,
                         kopt_dtype_t scaleType,
                         const std::function<int64_t(int64_t)> &column) {
  const Packed &p = imported.packed;
  StatusOr<std::vector<float>> w = dequantize(
      imported.encoding, {p.qweight.data(), p.scales.data(), p.zeros.data()},
      {p.qweight.size(), p.scales.size(), p.zeros.size()});
  ASSERT_TRUE(w.isOk()) << w.status().message();
  int64_t wrong = 0;
  for (int64_t row = 0; row < ref.n; ++row)
    for (int64_t col = 0; col < ref.k; ++col)
      wrong += (*w)[row * ref.k + col] != ref.weight(row, column(col), scaleType);
  EXPECT_EQ(wrong, 0);
}

/// Imports and checks every dequantized element against the reference.
void expectExact(const Reference &ref, const Tensor &q, const Tensor &z,
                 CheckpointFormat format, CheckpointFormat expected,
                 kopt_dtype_t scaleType = KOPT_DTYPE_F16) {
  Tensor s = ref.scaleTensor();
  StatusOr<ImportedWeight> imported =
      importInt4({q.view(), z.view(), s.view(), std::nullopt}, ref.n, ref.k,
                 scaleType, format);
  ASSERT_TRUE(imported.isOk()) << imported.status().message();
  EXPECT_EQ(imported->format, expected);
  EXPECT_EQ(imported->encoding.groupSize, ref.k / ref.groups);
  EXPECT_TRUE(imported->encoding.asymmetric);
  EXPECT_EQ(imported->encoding.layout, Layout::Mma);
  EXPECT_TRUE(imported->inputOrder.empty());
  expectDequantizesTo(*imported, ref, scaleType,
                      [](int64_t col) { return col; });
}

TEST(QuantImport, GptqIsExactWithZeroOffset) {
  // N = 24: the last 16-row tile is half padding; zero points 1..16.
  Reference ref(24, 256, 4, 1, 16, 1);
  auto [q, z] = ref.gptq(1);
  expectExact(ref, q, z, CheckpointFormat::Gptq, CheckpointFormat::Gptq);
  expectExact(ref, q, z, CheckpointFormat::Auto, CheckpointFormat::Gptq);
}

TEST(QuantImport, GptqV2StoresZerosAsIs) {
  Reference ref(32, 128, 1, 0, 15, 2); // one group: per output channel
  auto [q, z] = ref.gptq(0);
  expectExact(ref, q, z, CheckpointFormat::GptqV2, CheckpointFormat::GptqV2);
}

TEST(QuantImport, AwqIsExactAndDetected) {
  Reference ref(40, 192, 6, 0, 15, 3); // group 32
  auto [q, z] = ref.awq();
  expectExact(ref, q, z, CheckpointFormat::Awq, CheckpointFormat::Awq);
  expectExact(ref, q, z, CheckpointFormat::Auto, CheckpointFormat::Awq);
}

TEST(QuantImport, Bf16ModelRoundsScalesOnce) {
  Reference ref(16, 128, 1, 0, 15, 4);
  auto [q, z] = ref.awq();
  expectExact(ref, q, z, CheckpointFormat::Awq, CheckpointFormat::Awq,
              KOPT_DTYPE_BF16);
}

TEST(QuantImport, TrivialGroupIndexKeepsTheColumnOrder) {
  Reference ref(16, 128, 2, 1, 16, 5);
  auto [q, z] = ref.gptq(1);
  Tensor s = ref.scaleTensor();
  Tensor gIdx = int32s({128}, ref.groupOf);
  StatusOr<ImportedWeight> imported =
      importInt4({q.view(), z.view(), s.view(), gIdx.view()}, 16, 128,
                 KOPT_DTYPE_F16, CheckpointFormat::Auto);
  ASSERT_TRUE(imported.isOk()) << imported.status().message();
  EXPECT_TRUE(imported->inputOrder.empty());
}

/// Act-order (desc_act): columns of one group scattered over K. The import
/// packs them sorted by group (stable), so packed column i holds checkpoint
/// column inputOrder[i] exactly.
TEST(QuantImport, ActOrderSortsColumnsByGroup) {
  Reference ref(24, 256, 4, 1, 16, 7); // group 64
  std::mt19937 rng(3);
  std::shuffle(ref.groupOf.begin(), ref.groupOf.end(), rng);
  auto [q, z] = ref.gptq(1);
  Tensor s = ref.scaleTensor();
  Tensor gIdx = int32s({256}, ref.groupOf);
  StatusOr<ImportedWeight> imported =
      importInt4({q.view(), z.view(), s.view(), gIdx.view()}, 24, 256,
                 KOPT_DTYPE_F16, CheckpointFormat::Gptq);
  ASSERT_TRUE(imported.isOk()) << imported.status().message();
  const std::vector<int32_t> &order = imported->inputOrder;
  ASSERT_EQ(order.size(), 256u);
  std::vector<bool> seen(256, false);
  for (int64_t i = 0; i < 256; ++i) {
    ASSERT_GE(order[i], 0);
    ASSERT_LT(order[i], 256);
    EXPECT_FALSE(seen[order[i]]) << "column " << order[i] << " twice";
    seen[order[i]] = true;
    EXPECT_EQ(ref.groupOf[order[i]], uint32_t(i / 64)) << "packed column " << i;
    if (i % 64)
      EXPECT_LT(order[i - 1], order[i]) << "not stable at " << i;
  }
  expectDequantizesTo(*imported, ref, KOPT_DTYPE_F16,
                      [&](int64_t col) { return order[col]; });
}

TEST(QuantImport, GroupIndexThatIsNoActOrderIsAnError) {
  Reference ref(16, 128, 2, 1, 16, 5);
  auto [q, z] = ref.gptq(1);
  Tensor s = ref.scaleTensor();
  auto message = [&](std::vector<uint32_t> groupOf) {
    Tensor gIdx = int32s({128}, groupOf);
    StatusOr<ImportedWeight> r =
        importInt4({q.view(), z.view(), s.view(), gIdx.view()}, 16, 128,
                   KOPT_DTYPE_F16, CheckpointFormat::Auto);
    EXPECT_FALSE(r.isOk());
    return r.isOk() ? std::string() : r.status().message();
  };
  std::vector<uint32_t> uneven = ref.groupOf;
  uneven[127] = 0; // group 0 gets 65 columns, group 1 63
  EXPECT_NE(message(uneven).find("g_idx puts 65 columns in group 0, not K / "
                                 "G = 64"),
            std::string::npos)
      << message(uneven);
  std::vector<uint32_t> outside = ref.groupOf;
  outside[5] = 2;
  EXPECT_NE(message(outside).find("g_idx[5] = 2 is not a group in [0, 2)"),
            std::string::npos)
      << message(outside);
}

TEST(QuantImport, MalformedPartsAreClearErrors) {
  Reference ref(16, 128, 2, 1, 16, 6);
  auto [q, z] = ref.gptq(1);
  Tensor s = ref.scaleTensor();
  auto error = [&](const Tensor &qq, const Tensor &zz, const Tensor &ss,
                   int64_t n, int64_t k, CheckpointFormat f) {
    StatusOr<ImportedWeight> r =
        importInt4({qq.view(), zz.view(), ss.view(), std::nullopt}, n, k,
                   KOPT_DTYPE_F16, f);
    EXPECT_FALSE(r.isOk());
    return r.isOk() ? std::string() : r.status().message();
  };
  // GPTQ parts read as AWQ, and a weight shape that fits neither.
  EXPECT_NE(error(q, z, s, 16, 128, CheckpointFormat::Awq).find("awq stores"),
            std::string::npos);
  EXPECT_NE(error(q, z, s, 24, 128, CheckpointFormat::Auto).find("neither"),
            std::string::npos);
  // Wrong dtype of qweight; scales whose group count does not divide K.
  Tensor qf = q;
  qf.dtype = KOPT_DTYPE_F32;
  EXPECT_NE(error(qf, z, s, 16, 128, CheckpointFormat::Auto).find("I32"),
            std::string::npos);
  Tensor s3 = s;
  s3.shape = {3, 16};
  s3.bytes.resize(2 * 3 * 16);
  EXPECT_NE(error(q, z, s3, 16, 128, CheckpointFormat::Auto).find("dividing"),
            std::string::npos);
  // Group size 8 (16 groups of K = 128): the int4 mma layout cannot hold it.
  Reference fine(16, 128, 16, 0, 15, 7);
  auto [fq, fz] = fine.gptq(0);
  EXPECT_NE(error(fq, fz, fine.scaleTensor(), 16, 128, CheckpointFormat::GptqV2)
                .find("group size 8"),
            std::string::npos);
  EXPECT_FALSE(parseCheckpointFormat("gptqv3").isOk());
}

} // namespace
} // namespace kopt::rt::quant
