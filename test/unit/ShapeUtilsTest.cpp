//===- ShapeUtilsTest.cpp - Axis, broadcast and count helpers -------------===//

#include "kopt/Dialect/Kopt/ShapeUtils.h"

#include <gtest/gtest.h>

using kopt::kDynamicDim;
using Shape = llvm::SmallVector<int64_t>;

namespace {

TEST(NormalizeAxis, MapsNegativeAxesAndRejectsOutOfRange) {
  EXPECT_EQ(kopt::normalizeAxis(-1, 3), 2);
  EXPECT_EQ(kopt::normalizeAxis(-3, 3), 0);
  EXPECT_EQ(kopt::normalizeAxis(2, 3), 2);
  EXPECT_FALSE(kopt::normalizeAxis(3, 3));
  EXPECT_FALSE(kopt::normalizeAxis(-4, 3));
  EXPECT_FALSE(kopt::normalizeAxis(0, 0));
}

TEST(BroadcastShapes, FollowsNumPyRules) {
  EXPECT_EQ(*kopt::broadcastShapes({1, 5, 64}, {64}), (Shape{1, 5, 64}));
  EXPECT_EQ(*kopt::broadcastShapes({}, {2, 3}), (Shape{2, 3}));
  EXPECT_EQ(*kopt::broadcastShapes({4, 1, 3}, {1, 7, 1}), (Shape{4, 7, 3}));
  EXPECT_FALSE(kopt::broadcastShapes({2, 3}, {3, 3}).has_value());
  EXPECT_FALSE(kopt::broadcastShapes({4}, {5}).has_value());
}

TEST(BroadcastShapes, HandlesDynamicDims) {
  // ? with 1 stays ?, ? with N becomes N, ? with ? stays ?.
  EXPECT_EQ(*kopt::broadcastShapes({kDynamicDim, 8}, {1, 8}),
            (Shape{kDynamicDim, 8}));
  EXPECT_EQ(*kopt::broadcastShapes({kDynamicDim}, {5}), (Shape{5}));
  EXPECT_EQ(*kopt::broadcastShapes({5}, {kDynamicDim}), (Shape{5}));
  EXPECT_EQ(*kopt::broadcastShapes({kDynamicDim}, {kDynamicDim}),
            (Shape{kDynamicDim}));
}

TEST(IsPermutation, AcceptsOnlyPermutations) {
  EXPECT_TRUE(kopt::isPermutation({}));
  EXPECT_TRUE(kopt::isPermutation({0, 2, 1, 3}));
  EXPECT_FALSE(kopt::isPermutation({0, 0, 1}));
  EXPECT_FALSE(kopt::isPermutation({0, 3, 1}));
  EXPECT_FALSE(kopt::isPermutation({-1, 0}));
}

TEST(StaticElementCount, CountsStaticShapesOnly) {
  EXPECT_EQ(kopt::staticElementCount({}), 1);
  EXPECT_EQ(kopt::staticElementCount({2, 3, 4}), 24);
  EXPECT_EQ(kopt::staticElementCount({2, 0, 4}), 0);
  EXPECT_FALSE(kopt::staticElementCount({2, kDynamicDim}));
  // Overflow is reported as unknown, not wrapped.
  EXPECT_FALSE(kopt::staticElementCount({1LL << 40, 1LL << 40}));
}

TEST(CountDynamicDims, Counts) {
  EXPECT_EQ(kopt::countDynamicDims({1, kDynamicDim, 3, kDynamicDim}), 2);
  EXPECT_EQ(kopt::countDynamicDims({1, 2}), 0);
}

} // namespace

namespace {
TEST(FormatDim, PrintsQuestionMarkForDynamic) {
  EXPECT_EQ(kopt::formatDim(kDynamicDim), "?");
  EXPECT_EQ(kopt::formatDim(42), "42");
}
} // namespace
