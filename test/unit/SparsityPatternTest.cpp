//===- SparsityPatternTest.cpp - Parsing N:M and block patterns -----------===//

#include "kopt/Dialect/Kopt/SparsityPattern.h"

#include <gtest/gtest.h>

namespace {

using kopt::SparsityPattern;

TEST(SparsityPattern, ParsesNOfM) {
  auto pattern = SparsityPattern::parse("2:4");
  ASSERT_TRUE(static_cast<bool>(pattern))
      << llvm::toString(pattern.takeError());
  EXPECT_EQ(pattern->kind, SparsityPattern::Kind::NOfM);
  EXPECT_EQ(pattern->n, 2);
  EXPECT_EQ(pattern->m, 4);
  EXPECT_EQ(pattern->columnGranularity(), 4);
  EXPECT_EQ(pattern->rowGranularity(), 1);
  EXPECT_EQ(pattern->str(), "2:4");
}

TEST(SparsityPattern, ParsesBlock) {
  auto pattern = SparsityPattern::parse("block:16x32:0.25");
  ASSERT_TRUE(static_cast<bool>(pattern))
      << llvm::toString(pattern.takeError());
  EXPECT_EQ(pattern->kind, SparsityPattern::Kind::Block);
  EXPECT_EQ(pattern->blockRows, 16);
  EXPECT_EQ(pattern->blockCols, 32);
  EXPECT_DOUBLE_EQ(pattern->density, 0.25);
  EXPECT_EQ(pattern->rowGranularity(), 16);
  EXPECT_EQ(pattern->columnGranularity(), 32);
  // The text form round-trips.
  auto again = SparsityPattern::parse(pattern->str());
  ASSERT_TRUE(static_cast<bool>(again));
  EXPECT_DOUBLE_EQ(again->density, 0.25);
}

class BadPattern : public ::testing::TestWithParam<const char *> {};

TEST_P(BadPattern, IsRejectedWithItsText) {
  auto pattern = SparsityPattern::parse(GetParam());
  ASSERT_FALSE(static_cast<bool>(pattern));
  std::string message = llvm::toString(pattern.takeError());
  EXPECT_NE(message.find(GetParam()), std::string::npos) << message;
}

INSTANTIATE_TEST_SUITE_P(Malformed, BadPattern,
                         ::testing::Values("", "2", "4:2", "2:2", "0:4", "a:b",
                                           "2:4:8", "block:", "block:16:0.5",
                                           "block:0x16:0.5", "block:16x16",
                                           "block:16x16:0", "block:16x16:1.5",
                                           "block:16x16:nan",
                                           "block:-1x4:0.5"));

} // namespace
