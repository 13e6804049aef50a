//===- QuantizationTest.cpp - Packing, unpacking and load-time packing ----===//

#include "kopt/runtime/Quantization.h"
#include "kopt/runtime/CompiledModule.h"
#include "kopt/runtime/Float16.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <random>
#include <set>

namespace {

namespace quant = kopt::rt::quant;
using quant::Encoding;
using quant::Layout;
using quant::Storage;

Encoding encoding(Storage storage, int64_t n, int64_t k, int64_t group,
                  bool asymmetric, Layout layout,
                  kopt_dtype_t scale = KOPT_DTYPE_F32) {
  Encoding e;
  e.storage = storage;
  e.groupSize = group;
  e.scale = scale;
  e.asymmetric = asymmetric;
  e.layout = layout;
  e.shape = {n, k};
  return e;
}

std::vector<float> unpack(const Encoding &e, const quant::Packed &p) {
  std::vector<const void *> parts{p.qweight.data(), p.scales.data()};
  std::vector<size_t> bytes{p.qweight.size(), p.scales.size()};
  if (e.asymmetric) {
    parts.push_back(p.zeros.data());
    bytes.push_back(p.zeros.size());
  }
  auto out = quant::dequantize(e, parts, bytes);
  EXPECT_TRUE(out.isOk()) << out.status().message();
  return out.isOk() ? *out : std::vector<float>();
}

quant::Packed pack(const Encoding &e, const std::vector<float> &w) {
  auto packed = quant::quantize(e, KOPT_DTYPE_F32, w.data(), w.size() * 4);
  EXPECT_TRUE(packed.isOk()) << packed.status().message();
  return packed.isOk() ? *packed : quant::Packed();
}

TEST(Quantization, PlainInt4NibbleOrderSignAndOddK) {
  // absmax 7 -> scale 1: codes are the values; K = 5 leaves a half byte.
  Encoding e = encoding(Storage::Int4, 1, 5, 5, false, Layout::Plain);
  quant::Packed p = pack(e, {7, -1, 2, 0, -7});
  EXPECT_EQ(p.qweight, (std::vector<uint8_t>{0xF7, 0x02, 0x09}));
  EXPECT_EQ(unpack(e, p), (std::vector<float>{7, -1, 2, 0, -7}));
}

TEST(Quantization, PlainInt8AndAsymmetricZeros) {
  Encoding sym = encoding(Storage::Int8, 1, 4, 4, false, Layout::Plain);
  quant::Packed p = pack(sym, {127, -127, 3, 0});
  EXPECT_EQ(p.qweight, (std::vector<uint8_t>{0x7F, 0x81, 0x03, 0x00}));
  // Range [-2, 13] with 15 steps: scale 1, zero 2; codes w + 2.
  Encoding asym = encoding(Storage::Int4, 1, 4, 4, true, Layout::Plain);
  quant::Packed q = pack(asym, {-2, 13, 0, 5});
  EXPECT_EQ(q.zeros, (std::vector<uint8_t>{2}));
  EXPECT_EQ(q.qweight, (std::vector<uint8_t>{0xF0, 0x72}));
  EXPECT_EQ(unpack(asym, q), (std::vector<float>{-2, 13, 0, 5}));
}

TEST(Quantization, MmaPositionsAreAPermutationOfTheTile) {
  for (Storage storage : {Storage::Int4, Storage::Int8}) {
    Encoding e = encoding(storage, 32, 128, 64, false, Layout::Mma);
    std::set<std::pair<int64_t, int64_t>> seen;
    int64_t bytes =
        quant::partsOf(e)[0].shape[0] * quant::partsOf(e)[0].shape[1];
    for (int64_t n = 0; n < 32; ++n)
      for (int64_t k = 0; k < 128; ++k) {
        quant::ElementAddress<int64_t> at = quant::elementAddress(e, 0, n, k);
        ASSERT_LT(at.byte, bytes);
        ASSERT_TRUE(seen.insert({at.byte, at.shift}).second)
            << "n=" << n << " k=" << k;
      }
  }
  // The fragment order: lane 4r + c holds rows r and r + 8; i4 element
  // pairs (k, k + 1) of one row share a 32-bit word's two halves.
  Encoding i4 = encoding(Storage::Int4, 16, 64, 64, false, Layout::Mma);
  auto at = [&](int64_t n, int64_t k) {
    quant::ElementAddress<int64_t> p = quant::elementAddress(i4, 0, n, k);
    return p.byte * 2 + p.shift / 4;
  };
  EXPECT_EQ(at(0, 0), 0);       // bits 0..3
  EXPECT_EQ(at(8, 0), 1);       // bits 4..7: row r + 8
  EXPECT_EQ(at(0, 2), 2);       // bits 8..11: K offset 2 of the step
  EXPECT_EQ(at(0, 1), 4);       // bits 16..19: the pair's upper half
  EXPECT_EQ(at(0, 4), 8);       // the next k16 step: next word
  EXPECT_EQ(at(0, 16), 16 * 2); // c = 1: lane 1
  EXPECT_EQ(at(1, 0), 64 * 2);  // r = 1: lane 4
}

TEST(Quantization, SmallIntegersRoundTripExactlyInEveryLayout) {
  std::mt19937 rng(7);
  for (Storage storage : {Storage::Int4, Storage::Int8})
    for (Layout layout : {Layout::Plain, Layout::Mma})
      for (bool asymmetric : {false, true})
        for (int64_t group :
             {int64_t(32), int64_t(64), int64_t(128), int64_t(0)}) {
          int64_t n = 19, k = 256;
          Encoding e = encoding(storage, n, k, group, asymmetric, layout,
                                KOPT_DTYPE_BF16);
          int qmax = storage == Storage::Int4 ? 7 : 127;
          std::uniform_int_distribution<int> code(-qmax, qmax);
          std::vector<float> w(n * k);
          for (float &v : w)
            v = code(rng) * 0.25f;
          // Pin each group's extremes so the scale is exactly 0.25 (an
          // asymmetric range spans 2^bits - 1 steps: one more on top).
          int64_t span = group ? group : n * k;
          for (int64_t i = 0; i < n * k; i += span) {
            w[i] = (qmax + (asymmetric ? 1 : 0)) * 0.25f;
            w[i + 1] = -qmax * 0.25f;
          }
          quant::Packed p = pack(e, w);
          std::vector<float> back = unpack(e, p);
          ASSERT_EQ(back.size(), w.size());
          for (size_t i = 0; i < w.size(); ++i)
            ASSERT_EQ(back[i], w[i])
                << quant::storageName(storage) << " "
                << quant::layoutName(layout) << (asymmetric ? " asym" : " sym")
                << " g" << group << " at " << i;
        }
}

TEST(Quantization, ClipSearchNeverLosesToPlainRoundToNearest) {
  std::mt19937 rng(11);
  std::normal_distribution<float> normal(0.0f, 0.05f);
  for (Storage storage : {Storage::Int4, Storage::Int8})
    for (bool asymmetric : {false, true}) {
      Encoding e = encoding(storage, 33, 384, 128, asymmetric, Layout::Mma);
      std::vector<float> w(33 * 384);
      for (float &v : w)
        v = normal(rng);
      w[5] = 3.0f; // an outlier widens only its own group
      quant::Packed p = pack(e, w);
      std::vector<float> back = unpack(e, p);
      float levels = storage == Storage::Int4 ? (asymmetric ? 15 : 7)
                                              : (asymmetric ? 255 : 127);
      double clippedTotal = 0, plainTotal = 0;
      for (int64_t row = 0; row < 33; ++row)
        for (int64_t g = 0; g < 3; ++g) {
          float lo = 0, hi = 0;
          for (int64_t i = 0; i < 128; ++i) {
            float v = w[row * 384 + g * 128 + i];
            lo = std::min(lo, v);
            hi = std::max(hi, v);
          }
          // Plain round-to-nearest over the whole range, written out here.
          float step =
              asymmetric ? (hi - lo) / levels : std::max(-lo, hi) / levels;
          float zero = asymmetric ? std::nearbyint(-lo / step) : 0.0f;
          double clipped = 0, plain = 0;
          for (int64_t i = 0; i < 128; ++i) {
            size_t at = row * 384 + g * 128 + i;
            float q = std::nearbyint(w[at] / step) + zero;
            q = asymmetric ? std::clamp(q, 0.0f, levels)
                           : std::clamp(q, -levels - 1, levels);
            plain += std::pow(double((q - zero) * step) - w[at], 2);
            clipped += std::pow(double(back[at]) - w[at], 2);
            // A clipped range gives up at most 27.5% of it plus half a step.
            ASSERT_LE(std::fabs(back[at] - w[at]),
                      0.5f * step + 0.275f * (hi - lo) + 1e-6f)
                << "row " << row << " group " << g;
          }
          ASSERT_LE(clipped, plain * (1 + 1e-5) + 1e-12)
              << "row " << row << " group " << g;
          clippedTotal += clipped;
          plainTotal += plain;
        }
      // Gaussian groups gain from clipping at 4 bits (symmetric codes more:
      // their unclipped range leaves code -8 unused).
      if (storage == Storage::Int4) {
        EXPECT_LT(clippedTotal, (asymmetric ? 0.97 : 0.9) * plainTotal)
            << "asymmetric " << asymmetric;
      }
    }
}

TEST(Quantization, Fp8E4M3Conversions) {
  EXPECT_EQ(quant::floatToE4M3(1.0f), 0x38);
  EXPECT_EQ(quant::floatToE4M3(-2.0f), 0xC0);
  EXPECT_EQ(quant::floatToE4M3(448.0f), 0x7E);
  EXPECT_EQ(quant::floatToE4M3(1e6f), 0x7E);                 // saturates
  EXPECT_EQ(quant::floatToE4M3(std::ldexp(1.0f, -9)), 0x01); // min subnormal
  EXPECT_EQ(quant::floatToE4M3(NAN), 0x7F);
  EXPECT_EQ(quant::floatToE4M3(1.0625f), 0x38); // tie to even
  EXPECT_EQ(quant::floatToE4M3(1.1875f), 0x3A); // tie to even (up)
  for (int bits = 0; bits < 256; ++bits) {
    if ((bits & 0x7F) == 0x7F)
      continue;
    float v = quant::e4m3ToFloat(static_cast<uint8_t>(bits));
    if (bits == 0x80) // -0
      continue;
    EXPECT_EQ(quant::floatToE4M3(v), bits) << v;
  }
  Encoding e = encoding(Storage::Fp8E4M3, 2, 4, 0, false, Layout::Plain);
  quant::Packed p = pack(e, {448, -224, 1.75f, 0, 0.5f, 0, 0, -448});
  EXPECT_EQ(unpack(e, p),
            (std::vector<float>{448, -224, 1.75f, 0, 0.5f, 0, 0, -448}));
}

TEST(Quantization, RejectsBadEncodingsAndData) {
  EXPECT_FALSE(encoding(Storage::Int4, 4, 100, 32, false, Layout::Plain)
                   .validate()
                   .isOk()); // 32 does not divide 100
  EXPECT_FALSE(encoding(Storage::Fp8E4M3, 4, 64, 64, true, Layout::Plain)
                   .validate()
                   .isOk()); // fp8 has no zero points
  EXPECT_FALSE(encoding(Storage::Fp8E4M3, 4, 64, 64, false, Layout::Mma)
                   .validate()
                   .isOk());
  EXPECT_FALSE(encoding(Storage::Int4, 4, 96, 24, false, Layout::Mma)
                   .validate()
                   .isOk()); // a lane's 16 K would cross groups
  Encoding e = encoding(Storage::Int4, 1, 4, 4, false, Layout::Plain);
  std::vector<float> w{1, NAN, 0, 0};
  auto nan = quant::quantize(e, KOPT_DTYPE_F32, w.data(), 16);
  ASSERT_FALSE(nan.isOk());
  EXPECT_NE(nan.status().message().find("non-finite"), std::string::npos);
  EXPECT_FALSE(quant::quantize(e, KOPT_DTYPE_F32, w.data(), 12).isOk());
  EXPECT_FALSE(quant::quantize(e, KOPT_DTYPE_I32, w.data(), 16).isOk());
  EXPECT_FALSE(quant::encodingFromJson(
                   nlohmann::json::parse(
                       R"({"storage": "i3", "group_size": 4, "scale": "f16",
                       "asymmetric": false, "layout": "mma", "shape": [4, 4]})"))
                   .isOk());
}

} // namespace
