//===- SparsityTest.cpp - Structured pruning and sparse storage -----------===//

#include "kopt/runtime/Sparsity.h"
#include "kopt/runtime/Float16.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <cstring>
#include <random>

namespace {

namespace sparse = kopt::rt::sparse;
using sparse::Layout;

Layout nOfM(int64_t kept, int64_t group, int64_t n, int64_t k) {
  Layout l;
  l.kept = kept;
  l.group = group;
  l.dtype = KOPT_DTYPE_F32;
  l.shape = {n, k};
  return l;
}

Layout block(int64_t r, int64_t c, int64_t keptBlocks, int64_t n, int64_t k) {
  Layout l;
  l.kind = Layout::Kind::Block;
  l.blockRows = r;
  l.blockCols = c;
  l.keptBlocks = keptBlocks;
  l.dtype = KOPT_DTYPE_F32;
  l.shape = {n, k};
  return l;
}

std::vector<float> roundTrip(const Layout &l, const std::vector<float> &w) {
  auto packed = sparse::prune(l, KOPT_DTYPE_F32, w.data(), w.size() * 4);
  EXPECT_TRUE(packed.isOk()) << packed.status().message();
  auto dense = sparse::densify(l, packed->values.data(), packed->indices.data());
  EXPECT_TRUE(dense.isOk()) << dense.status().message();
  return *dense;
}

TEST(Sparsity, TwoOfFourKeepsTheLargestMagnitudesInOrder) {
  Layout l = nOfM(2, 4, 2, 8);
  std::vector<float> w{1, -5, 3, 2, /**/ 0, 0, 0, 0, //
                       -7, 6, 6, 1, /**/ 4, -4, 4, -4};
  auto packed = sparse::prune(l, KOPT_DTYPE_F32, w.data(), w.size() * 4);
  ASSERT_TRUE(packed.isOk());
  std::vector<float> values(8);
  std::memcpy(values.data(), packed->values.data(), 32);
  // Row 0: {-5, 3} at 1, 2; an all-zero group keeps positions 0, 1 (ties
  // keep the lower K). Row 1: {-7, 6} at 0, 1; {4, -4} at 0, 1.
  EXPECT_EQ(values, (std::vector<float>{-5, 3, 0, 0, -7, 6, 4, -4}));
  EXPECT_EQ(packed->indices,
            (std::vector<uint8_t>{1, 2, 0, 1, 0, 1, 0, 1}));
  EXPECT_EQ(roundTrip(l, w),
            (std::vector<float>{0, -5, 3, 0, 0, 0, 0, 0, //
                                -7, 6, 0, 0, 4, -4, 0, 0}));
}

TEST(Sparsity, NOfMPrunedWeightsHaveTheirPatternAndKeepEveryLargest) {
  std::mt19937 rng(7);
  std::normal_distribution<float> normal;
  for (auto [kept, group] : {std::pair(2, 4), std::pair(1, 2), std::pair(3, 8)}) {
    Layout l = nOfM(kept, group, 5, group * 3);
    std::vector<float> w(5 * group * 3);
    for (float &v : w)
      v = normal(rng);
    std::vector<float> d = roundTrip(l, w);
    for (int64_t g = 0; g < 5 * 3; ++g) {
      int nonZero = 0;
      float smallestKept = INFINITY, largestPruned = 0;
      for (int64_t i = g * group; i < (g + 1) * group; ++i) {
        if (d[i] != 0) {
          EXPECT_EQ(d[i], w[i]);
          ++nonZero;
          smallestKept = std::min(smallestKept, std::fabs(w[i]));
        } else {
          largestPruned = std::max(largestPruned, std::fabs(w[i]));
        }
      }
      EXPECT_EQ(nonZero, kept);
      EXPECT_GE(smallestKept, largestPruned);
    }
  }
}

TEST(Sparsity, BlocksKeepTheHighestEnergyPerBand) {
  // 2 bands of 2 rows, 3 blocks of 2 columns, one block kept per band.
  Layout l = block(2, 2, 1, 4, 6);
  std::vector<float> w{1, 1, 0, 0, 3, 0, //
                       1, 1, 0, 0, 0, 0, //
                       0, 0, 2, 2, 1, 1, //
                       0, 0, 2, 2, 1, 1};
  // Band 0 energies: 4, 0, 9 -> block 2. Band 1: 0, 16, 4 -> block 1.
  auto packed = sparse::prune(l, KOPT_DTYPE_F32, w.data(), w.size() * 4);
  ASSERT_TRUE(packed.isOk());
  std::vector<int32_t> map(6);
  std::memcpy(map.data(), packed->indices.data(), 24);
  EXPECT_EQ(map, (std::vector<int32_t>{-1, -1, 0, -1, 0, -1}));
  EXPECT_EQ(roundTrip(l, w), (std::vector<float>{0, 0, 0, 0, 3, 0, //
                                                 0, 0, 0, 0, 0, 0, //
                                                 0, 0, 2, 2, 0, 0, //
                                                 0, 0, 2, 2, 0, 0}));
  EXPECT_EQ(sparse::partsOf(l)[0].shape, (std::vector<int64_t>{2, 1, 2, 2}));
  EXPECT_EQ(sparse::partsOf(l)[1].shape, (std::vector<int64_t>{2, 3}));
}

TEST(Sparsity, BlocksKeptRoundsTheDensityAndKeepsOne) {
  EXPECT_EQ(Layout::blocksKept(0.25, 16), 4);
  EXPECT_EQ(Layout::blocksKept(0.3, 10), 3);
  EXPECT_EQ(Layout::blocksKept(0.01, 10), 1);
  EXPECT_EQ(Layout::blocksKept(1.0, 7), 7);
}

TEST(Sparsity, HalfPrecisionValuesAreStoredBitExact) {
  Layout l = nOfM(2, 4, 1, 4);
  l.dtype = KOPT_DTYPE_BF16;
  std::vector<uint16_t> w{kopt::rt::floatToBF16(0.1f),
                          kopt::rt::floatToBF16(-3.0f),
                          kopt::rt::floatToBF16(2.5f),
                          kopt::rt::floatToBF16(0.2f)};
  auto packed = sparse::prune(l, KOPT_DTYPE_BF16, w.data(), 8);
  ASSERT_TRUE(packed.isOk());
  std::vector<uint16_t> values(2);
  std::memcpy(values.data(), packed->values.data(), 4);
  EXPECT_EQ(values, (std::vector<uint16_t>{w[1], w[2]}));
}

TEST(Sparsity, BadLayoutsAndDataAreErrors) {
  std::vector<float> w(12);
  EXPECT_FALSE(nOfM(2, 4, 2, 6).validate().isOk());  // K % M
  EXPECT_FALSE(nOfM(4, 4, 1, 8).validate().isOk());  // N < M
  EXPECT_FALSE(nOfM(2, 80, 1, 80).validate().isOk()); // M > 64
  EXPECT_FALSE(block(4, 2, 1, 6, 2).validate().isOk()); // N % R
  EXPECT_FALSE(block(2, 2, 3, 2, 4).validate().isOk()); // kept > blocks
  auto wrongSize = sparse::prune(nOfM(2, 4, 3, 4), KOPT_DTYPE_F32, w.data(), 40);
  EXPECT_FALSE(wrongSize.isOk());
  auto wrongType = sparse::prune(nOfM(2, 4, 3, 4), KOPT_DTYPE_F16, w.data(), 24);
  EXPECT_FALSE(wrongType.isOk());
  // A corrupt index is reported, never written out of bounds.
  std::vector<float> values{1, 2};
  std::vector<uint8_t> indices{0, 9};
  auto dense = sparse::densify(nOfM(2, 4, 1, 4),
                               reinterpret_cast<const uint8_t *>(values.data()),
                               indices.data());
  EXPECT_FALSE(dense.isOk());
  std::vector<int32_t> map{5};
  auto blocks = sparse::densify(block(1, 2, 1, 1, 2),
                                reinterpret_cast<const uint8_t *>(values.data()),
                                reinterpret_cast<const uint8_t *>(map.data()));
  EXPECT_FALSE(blocks.isOk());
}

TEST(Sparsity, LayoutJsonIsValidated) {
  auto ok = sparse::layoutFromJson(nlohmann::json::parse(
      R"({"kind": "n:m", "kept": 2, "group": 4, "dtype": "bf16", "shape": [8, 16]})"));
  ASSERT_TRUE(ok.isOk()) << ok.status().message();
  EXPECT_EQ(ok->dtype, KOPT_DTYPE_BF16);
  EXPECT_EQ(sparse::partsOf(*ok)[0].shape, (std::vector<int64_t>{8, 8}));
  for (const char *bad :
       {R"([])", R"({"kind": "x"})",
        R"({"kind": "n:m", "kept": 2, "group": 4, "dtype": "bf16", "shape": [8, 15]})",
        R"({"kind": "block", "block_rows": 2, "dtype": "f32", "shape": [8, 16]})",
        R"({"kind": "n:m", "kept": 2, "group": 4, "dtype": "nope", "shape": [8, 16]})"})
    EXPECT_FALSE(sparse::layoutFromJson(nlohmann::json::parse(bad)).isOk())
        << bad;
}

} // namespace
