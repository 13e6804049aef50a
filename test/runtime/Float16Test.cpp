//===- Float16Test.cpp - f16/bf16 conversions against the compiler's ------===//

#include "kopt/runtime/Float16.h"

#include <cmath>
#include <limits>
#include <random>

#include <gtest/gtest.h>

namespace {

using namespace kopt::rt;

uint16_t halfBits(_Float16 value) {
  uint16_t bits;
  std::memcpy(&bits, &value, 2);
  return bits;
}

TEST(Float16, EveryHalfRoundTripsThroughFloat) {
  for (uint32_t bits = 0; bits <= 0xffff; ++bits) {
    float value = f16ToFloat(static_cast<uint16_t>(bits));
    _Float16 reference;
    uint16_t raw = static_cast<uint16_t>(bits);
    std::memcpy(&reference, &raw, 2);
    if (std::isnan(value)) {
      EXPECT_TRUE(std::isnan(static_cast<float>(reference)));
      EXPECT_TRUE(std::isnan(f16ToFloat(floatToF16(value))));
      continue;
    }
    ASSERT_EQ(value, static_cast<float>(reference)) << std::hex << bits;
    ASSERT_EQ(floatToF16(value), bits) << std::hex << bits;
  }
}

TEST(Float16, RoundsLikeTheCompiler) {
  std::mt19937 rng(7);
  std::uniform_int_distribution<uint32_t> anyBits;
  for (int i = 0; i < 2000000; ++i) {
    float value = bitsToFloat(anyBits(rng));
    if (std::isnan(value))
      continue;
    ASSERT_EQ(floatToF16(value), halfBits(static_cast<_Float16>(value)))
        << value;
  }
  // Ties, overflow and underflow edges.
  for (float value : {65504.0f, 65519.99f, 65520.0f, 1e9f, 5.9604645e-8f,
                      2.9802322e-8f, 2.9802326e-8f, 6.1035156e-5f, -0.0f,
                      std::numeric_limits<float>::infinity()})
    EXPECT_EQ(floatToF16(value), halfBits(static_cast<_Float16>(value)))
        << value;
}

TEST(BFloat16, RoundsToNearestEven) {
  EXPECT_EQ(floatToBF16(1.0f), 0x3f80);
  // 1 + 2^-8 is halfway between 1 and 1 + 2^-7: ties to even (1.0).
  EXPECT_EQ(floatToBF16(1.00390625f), 0x3f80);
  // 1 + 3 * 2^-8 is halfway up from an odd mantissa: rounds up.
  EXPECT_EQ(floatToBF16(1.01171875f), 0x3f82);
  EXPECT_EQ(floatToBF16(-2.0f), 0xc000);
  EXPECT_EQ(bf16ToFloat(0x3f80), 1.0f);
  EXPECT_TRUE(std::isnan(bf16ToFloat(floatToBF16(std::nanf("")))));
  EXPECT_EQ(floatToBF16(std::numeric_limits<float>::infinity()), 0x7f80);
  // Every bf16 value survives a round trip.
  for (uint32_t bits = 0; bits <= 0xffff; ++bits) {
    float value = bf16ToFloat(static_cast<uint16_t>(bits));
    if (!std::isnan(value))
      ASSERT_EQ(floatToBF16(value), bits);
  }
}

} // namespace
