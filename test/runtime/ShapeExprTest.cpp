//===- ShapeExprTest.cpp - Parsing and evaluating plan shape expressions --===//

#include "kopt/runtime/ShapeExpr.h"

#include <gtest/gtest.h>

#include <limits>

namespace {

using kopt::rt::ShapeExpr;
using kopt::rt::SymbolValues;

constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
constexpr int64_t kMin = std::numeric_limits<int64_t>::min();

/// Parses and evaluates `text`, failing the test on any error.
int64_t eval(const std::string &text, const SymbolValues &symbols = {}) {
  auto expr = ShapeExpr::parse(text);
  EXPECT_TRUE(expr.isOk()) << text << ": " << expr.status().message();
  if (!expr.isOk())
    return -999;
  auto value = expr->evaluate(symbols);
  EXPECT_TRUE(value.isOk()) << text << ": " << value.status().message();
  return value.isOk() ? *value : -999;
}

std::string parseError(const std::string &text) {
  auto expr = ShapeExpr::parse(text);
  EXPECT_FALSE(expr.isOk()) << "'" << text << "' was accepted";
  return expr.isOk() ? "" : expr.status().message();
}

std::string evalError(const std::string &text, const SymbolValues &symbols) {
  auto expr = ShapeExpr::parse(text);
  EXPECT_TRUE(expr.isOk()) << text << ": " << expr.status().message();
  if (!expr.isOk())
    return "";
  auto value = expr->evaluate(symbols);
  EXPECT_FALSE(value.isOk()) << "'" << text << "' evaluated to " << *value;
  return value.isOk() ? "" : value.status().message();
}

TEST(ShapeExpr, FollowsMlirPrecedenceAndAssociativity) {
  EXPECT_EQ(eval("2 + 3 * 4"), 14);
  EXPECT_EQ(eval("(2 + 3) * 4"), 20);
  EXPECT_EQ(eval("10 - 3 - 2"), 5);
  EXPECT_EQ(eval("100 floordiv 10 floordiv 3"), 3);
  EXPECT_EQ(eval("2 * 7 mod 4"), 2); // (2 * 7) mod 4
  EXPECT_EQ(eval("1 + 7 mod 4"), 4); // 1 + (7 mod 4)
  EXPECT_EQ(eval("-3 * 2 + 10"), 4);
  EXPECT_EQ(eval("- -5"), 5);
  EXPECT_EQ(eval("  42  "), 42);
  EXPECT_EQ(eval("((7))"), 7);
}

TEST(ShapeExpr, EvaluatesSymbolsAsMlirPrintsThem) {
  SymbolValues symbols = {5, 3};
  EXPECT_EQ(eval("s0 * 8", symbols), 40);
  EXPECT_EQ(eval("(s0 * 512) floordiv 64", symbols), 40);
  EXPECT_EQ(eval("s0 + s1", symbols), 8);
  EXPECT_EQ(eval("s0 - s1 - 1", symbols), 1);
  EXPECT_EQ(eval("s0 * -2 + 20", symbols), 10);
  EXPECT_EQ(eval("-s0", symbols), -5);
  EXPECT_EQ(eval("s0 * s1", symbols), 15); // Semi-affine products are fine.
  EXPECT_EQ(eval("s0 ceildiv 2", symbols), 3);
  EXPECT_EQ(eval("s1 mod s0", symbols), 3);
}

TEST(ShapeExpr, DivisionRoundsAsMlirDoes) {
  // floordiv rounds toward -inf, ceildiv toward +inf, mod is non-negative.
  EXPECT_EQ(eval("7 floordiv 2"), 3);
  EXPECT_EQ(eval("-7 floordiv 2"), -4);
  EXPECT_EQ(eval("7 floordiv -2"), -4);
  EXPECT_EQ(eval("-7 floordiv -2"), 3);
  EXPECT_EQ(eval("-8 floordiv 2"), -4);
  EXPECT_EQ(eval("7 ceildiv 2"), 4);
  EXPECT_EQ(eval("-7 ceildiv 2"), -3);
  EXPECT_EQ(eval("7 ceildiv -2"), -3);
  EXPECT_EQ(eval("-7 ceildiv -2"), 4);
  EXPECT_EQ(eval("8 ceildiv 2"), 4);
  EXPECT_EQ(eval("7 mod 3"), 1);
  EXPECT_EQ(eval("-7 mod 3"), 2);
  EXPECT_EQ(eval("-6 mod 3"), 0);
  EXPECT_EQ(eval("0 mod 5"), 0);
  EXPECT_EQ(kopt::rt::floorDivChecked(kMin, -1), std::nullopt);
  EXPECT_EQ(kopt::rt::ceilDivChecked(kMin, -1), std::nullopt);
  EXPECT_EQ(kopt::rt::floorDivChecked(kMin, 2), kMin / 2);
  EXPECT_EQ(kopt::rt::modChecked(kMin, 3), 1); // -2^63 = 3 * q + 1
  EXPECT_EQ(kopt::rt::modChecked(5, 0), std::nullopt);
}

TEST(ShapeExpr, ReportsOverflowAndBadOperands) {
  EXPECT_EQ(evalError("s0 * s0", {int64_t(1) << 32}),
            "'s0 * s0' overflows int64");
  EXPECT_NE(evalError("s0 + 1", {kMax}).find("overflows int64"),
            std::string::npos);
  EXPECT_NE(evalError("s0 - 2", {kMin + 1}).find("overflows int64"),
            std::string::npos);
  EXPECT_NE(evalError("-s0", {kMin}).find("overflows int64"),
            std::string::npos);
  EXPECT_NE(evalError("s0 floordiv -1", {kMin}).find("overflows int64"),
            std::string::npos);
  EXPECT_EQ(evalError("7 floordiv s0", {0}),
            "division by zero in '7 floordiv s0'");
  EXPECT_NE(evalError("7 ceildiv s0", {0}).find("division by zero"),
            std::string::npos);
  EXPECT_NE(evalError("7 mod s0", {0}).find("division by zero"),
            std::string::npos);
  EXPECT_NE(evalError("7 mod s0", {-3}).find("negative"), std::string::npos);
  EXPECT_EQ(evalError("s0 + s2", {1}), "s2 is not bound in 's0 + s2'");
  EXPECT_NE(evalError("s1", {1, std::nullopt}).find("s1 is not bound"),
            std::string::npos);
}

TEST(ShapeExpr, RejectsWhatIsNotAnAffineExpression) {
  EXPECT_EQ(parseError("s0 +"),
            "'s0 +' is not a shape expression: expected an integer, a symbol "
            "or '(' at the end");
  EXPECT_NE(parseError("").find("empty"), std::string::npos);
  EXPECT_NE(parseError("   ").find("empty"), std::string::npos);
  EXPECT_NE(parseError("s0 ** 2").find("at offset 4"), std::string::npos);
  EXPECT_NE(parseError("d0").find("unexpected 'd0'"), std::string::npos);
  EXPECT_NE(parseError("s").find("unexpected 's'"), std::string::npos);
  EXPECT_NE(parseError("s01").find("leading zero"), std::string::npos);
  EXPECT_NE(parseError("s99999").find("past s1023"), std::string::npos);
  EXPECT_NE(parseError("3s0").find("after a number"), std::string::npos);
  EXPECT_NE(parseError("(s0").find("expected ')'"), std::string::npos);
  EXPECT_NE(parseError("s0)").find("expected an operator"), std::string::npos);
  EXPECT_NE(parseError("s0 s1").find("expected an operator"),
            std::string::npos);
  EXPECT_NE(parseError("s0 mod2").find("expected an operator"),
            std::string::npos);
  EXPECT_NE(parseError("s0 / 2").find("'/'"), std::string::npos);
  EXPECT_NE(parseError("9223372036854775808").find("does not fit int64"),
            std::string::npos);
  EXPECT_NE(parseError("1.5").find("'.'"), std::string::npos);
  EXPECT_NE(parseError("s0 floordiv").find("at the end"), std::string::npos);
  EXPECT_NE(parseError(std::string(1000, '(') + "1" + std::string(1000, ')'))
                .find("nesting deeper"),
            std::string::npos);
  EXPECT_NE(parseError(std::string(1000, '-') + "1").find("nesting deeper"),
            std::string::npos);
  EXPECT_NE(parseError(std::string(5000, '1')).find("longer than the limit"),
            std::string::npos);
  EXPECT_EQ(eval("9223372036854775807"), kMax);
}

TEST(ShapeExpr, DescribesItsShape) {
  auto bare = ShapeExpr::parse(" s3 ");
  ASSERT_TRUE(bare.isOk());
  EXPECT_EQ(bare->bareSymbol(), 3u);
  EXPECT_EQ(bare->constantValue(), std::nullopt);
  EXPECT_EQ(bare->text(), "s3");
  EXPECT_EQ(bare->displayText(), "s3");

  auto expr = ShapeExpr::parse("(s2 * 512) floordiv 64 + s0 + s2");
  ASSERT_TRUE(expr.isOk());
  EXPECT_EQ(expr->bareSymbol(), std::nullopt);
  EXPECT_EQ(expr->symbols(), (std::vector<unsigned>{0, 2}));
  EXPECT_EQ(expr->displayText(), "((s2 * 512) floordiv 64 + s0 + s2)");

  auto constant = ShapeExpr::parse("4 * 8");
  ASSERT_TRUE(constant.isOk());
  EXPECT_EQ(constant->constantValue(), 32);
  EXPECT_TRUE(constant->symbols().empty());
  EXPECT_EQ(ShapeExpr::constant(7).text(), "7");
  EXPECT_EQ(ShapeExpr::constant(7).constantValue(), 7);
  auto divByZero = ShapeExpr::parse("1 floordiv 0");
  ASSERT_TRUE(divByZero.isOk());
  EXPECT_EQ(divByZero->constantValue(), std::nullopt);
}

} // namespace
