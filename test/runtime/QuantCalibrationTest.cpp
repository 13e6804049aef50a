//===- QuantCalibrationTest.cpp - Output error, AWQ scales, budget policy -===//

#include "kopt/runtime/QuantCalibration.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

namespace {

namespace quant = kopt::rt::quant;
using quant::Matrix;

quant::Encoding int4(int64_t n, int64_t k, int64_t group) {
  quant::Encoding e;
  e.storage = quant::Storage::Int4;
  e.groupSize = group;
  e.scale = KOPT_DTYPE_F32;
  e.layout = quant::Layout::Mma;
  e.shape = {n, k};
  return e;
}

Matrix random(int64_t rows, int64_t cols, unsigned seed, float spread = 1) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, spread);
  Matrix m{rows, cols, std::vector<float>(rows * cols)};
  for (float &v : m.data)
    v = normal(rng);
  return m;
}

TEST(QuantCalibration, OutputErrorOfKnownChanges) {
  Matrix x = random(5, 8, 1), w = random(3, 8, 2);
  kopt::rt::OutputError same = quant::linearOutputError(x, w, x, w);
  EXPECT_EQ(same.relativeL2, 0);
  EXPECT_NEAR(same.cosine, 1, 1e-12);
  Matrix doubled = w;
  for (float &v : doubled.data)
    v *= 2;
  kopt::rt::OutputError twice = quant::linearOutputError(x, w, x, doubled);
  EXPECT_NEAR(twice.relativeL2, 1, 1e-6);
  EXPECT_NEAR(twice.cosine, 1, 1e-6);
  Matrix negated = w;
  for (float &v : negated.data)
    v = -v;
  EXPECT_NEAR(quant::linearOutputError(x, w, x, negated).cosine, -1, 1e-6);
  Matrix zero{3, 8, std::vector<float>(24, 0)};
  kopt::rt::OutputError lost = quant::linearOutputError(x, w, x, zero);
  EXPECT_NEAR(lost.relativeL2, 1, 1e-12);
  EXPECT_EQ(lost.cosine, 0);
}

TEST(QuantCalibration, FakeQuantizeIsExactOnRepresentableData) {
  // Every group holds -7..7 steps of 0.5 and its absmax 3.5: scale 0.5.
  Matrix w{16, 64, std::vector<float>(16 * 64)};
  for (int64_t i = 0; i < 16 * 64; ++i)
    w.data[i] = 0.5f * static_cast<float>(i % 15 - 7);
  auto restored = quant::fakeQuantize(int4(16, 64, 32), w);
  ASSERT_TRUE(restored.isOk()) << restored.status().message();
  EXPECT_EQ(restored->data, w.data);
}

TEST(QuantCalibration, BitsPerWeightCountScalesAndZeros) {
  quant::Encoding e = int4(16, 256, 128);
  e.scale = KOPT_DTYPE_BF16;
  EXPECT_DOUBLE_EQ(quant::bitsPerWeight(e), 4 + 16.0 / 128);
  e.asymmetric = true;
  EXPECT_DOUBLE_EQ(quant::bitsPerWeight(e), 4 + 24.0 / 128);
  e.storage = quant::Storage::Int8;
  e.asymmetric = false;
  e.groupSize = 256;
  EXPECT_DOUBLE_EQ(quant::bitsPerWeight(e), 8 + 16.0 / 256);
  e.groupSize = 0; // one scale for all 16 x 256
  EXPECT_DOUBLE_EQ(quant::bitsPerWeight(e), 8 + 16.0 / 4096);
}

TEST(QuantCalibration, ActivationAwareScalesProtectSalientChannels) {
  // A few input channels carry most of the signal, while an outlier weight
  // of a quiet channel sets every row's step: the salient channels' small
  // weights round coarsely unless they are scaled up before quantizing.
  const int64_t n = 32, k = 128;
  Matrix x = random(64, k, 3), w = random(n, k, 4, 0.05f);
  for (int64_t r = 0; r < x.rows; ++r)
    for (int64_t c : {3, 40, 77, 100})
      x.data[r * k + c] *= 50;
  for (int64_t row = 0; row < n; ++row)
    w.data[row * k + 1] = 1.0f;
  quant::Encoding e = int4(n, k, 128);
  auto scales = quant::searchActivationAwareScales(e, KOPT_DTYPE_F32,
                                                   KOPT_DTYPE_F32, x, w);
  ASSERT_TRUE(scales.isOk()) << scales.status().message();
  EXPECT_GT(scales->alpha, 0);
  EXPECT_LT(scales->error.relativeL2, 0.8 * scales->plainError.relativeL2);
  // Alpha 0 is plain quantization.
  auto restored = quant::fakeQuantize(e, w);
  ASSERT_TRUE(restored.isOk());
  EXPECT_DOUBLE_EQ(scales->plainError.relativeL2,
                   quant::linearOutputError(x, w, x, *restored).relativeL2);
  // The stored tensors are consistent: w * scale, and 1 / scale.
  ASSERT_EQ(scales->scale.size(), static_cast<size_t>(k));
  for (int64_t c = 0; c < k; ++c) {
    EXPECT_NEAR(scales->inverse[c] * scales->scale[c], 1, 1e-6);
    EXPECT_FLOAT_EQ(scales->scaledWeight.data[c], w.data[c] * scales->scale[c]);
  }
  EXPECT_GT(scales->scale[40], 4 * scales->scale[41]);

  Matrix wrongK = random(n, k + 1, 5);
  EXPECT_FALSE(quant::searchActivationAwareScales(e, KOPT_DTYPE_F32,
                                                  KOPT_DTYPE_F32, x, wrongK)
                   .isOk());
}

TEST(QuantCalibration, BudgetUpgradesTheMostSensitiveLayersFirst) {
  // Layer 1 is far more sensitive; the same number of weights each.
  std::vector<quant::LayerPrecisions> layers = {
      {1000, {{4.25, 0.05}, {8.0625, 0.004}, {16, 0}}},
      {1000, {{4.25, 0.30}, {8.0625, 0.02}, {16, 0}}},
      {1000, {{4.25, 0.06}}}, // not calibrated: one option
  };
  auto tight = quant::choosePrecisions(layers, 4.25);
  ASSERT_TRUE(tight.isOk());
  EXPECT_EQ(*tight, (std::vector<size_t>{0, 0, 0}));
  auto some = quant::choosePrecisions(layers, 5.6);
  ASSERT_TRUE(some.isOk());
  EXPECT_EQ(*some, (std::vector<size_t>{0, 1, 0}));
  auto all = quant::choosePrecisions(layers, 64);
  ASSERT_TRUE(all.isOk());
  EXPECT_EQ(*all, (std::vector<size_t>{2, 2, 0}));
  auto below = quant::choosePrecisions(layers, 4);
  ASSERT_FALSE(below.isOk());
  EXPECT_NE(below.status().message().find("below"), std::string::npos);
}

} // namespace
