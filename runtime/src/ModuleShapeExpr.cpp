//===- ModuleShapeExpr.cpp - Parsing and evaluating shape expressions -----===//
//
// A recursive-descent parser for the affine expressions of a plan's shapes,
// with MLIR's precedence (unary minus, then `*` `floordiv` `ceildiv` `mod`,
// then `+` `-`, all left-associative), and an overflow-checked evaluator.
//
//===----------------------------------------------------------------------===//

#include "kopt/runtime/ShapeExpr.h"

#include <algorithm>
#include <cctype>
#include <limits>

namespace kopt::rt {
namespace {

/// Longer expressions are refused rather than parsed.
constexpr size_t kMaxExprLength = 4096;
/// Parentheses and unary minus nest at most this deep.
constexpr unsigned kMaxDepth = 128;

class Parser {
public:
  Parser(std::string_view text, std::vector<ShapeExpr::Node> &nodes)
      : text_(text), nodes_(nodes) {}

  Status parse() {
    KOPT_RETURN_IF_ERROR(parseSum());
    skipSpace();
    if (pos_ != text_.size())
      return error("unexpected '" + std::string(1, text_[pos_]) +
                   "', expected an operator or the end");
    return Status::ok();
  }

private:
  Status error(const std::string &what) const {
    std::string where = pos_ >= text_.size()
                            ? "at the end"
                            : "at offset " + std::to_string(pos_);
    return invalidArgument("'" + std::string(text_) +
                           "' is not a shape "
                           "expression: " +
                           what + " " + where);
  }

  void skipSpace() {
    while (pos_ < text_.size() &&
           std::isspace(static_cast<unsigned char>(text_[pos_])))
      ++pos_;
  }

  /// The keyword or symbol starting at the cursor, without consuming it.
  std::string_view peekWord() {
    skipSpace();
    size_t end = pos_;
    while (end < text_.size() &&
           std::isalnum(static_cast<unsigned char>(text_[end])))
      ++end;
    return text_.substr(pos_, end - pos_);
  }

  uint32_t add(ShapeExpr::Kind kind, int64_t value, uint32_t lhs = 0,
               uint32_t rhs = 0) {
    nodes_.push_back({kind, value, lhs, rhs});
    return static_cast<uint32_t>(nodes_.size() - 1);
  }
  uint32_t last() const { return static_cast<uint32_t>(nodes_.size() - 1); }

  // sum := product (('+' | '-') product)*
  Status parseSum() {
    KOPT_RETURN_IF_ERROR(parseProduct());
    while (true) {
      skipSpace();
      if (pos_ >= text_.size() || (text_[pos_] != '+' && text_[pos_] != '-'))
        return Status::ok();
      ShapeExpr::Kind kind =
          text_[pos_] == '+' ? ShapeExpr::Kind::Add : ShapeExpr::Kind::Sub;
      ++pos_;
      uint32_t lhs = last();
      KOPT_RETURN_IF_ERROR(parseProduct());
      add(kind, 0, lhs, last());
    }
  }

  // product := unary (('*' | 'floordiv' | 'ceildiv' | 'mod') unary)*
  Status parseProduct() {
    KOPT_RETURN_IF_ERROR(parseUnary());
    while (true) {
      skipSpace();
      ShapeExpr::Kind kind;
      if (pos_ < text_.size() && text_[pos_] == '*') {
        kind = ShapeExpr::Kind::Mul;
        ++pos_;
      } else {
        std::string_view word = peekWord();
        if (word == "floordiv")
          kind = ShapeExpr::Kind::FloorDiv;
        else if (word == "ceildiv")
          kind = ShapeExpr::Kind::CeilDiv;
        else if (word == "mod")
          kind = ShapeExpr::Kind::Mod;
        else
          return Status::ok();
        pos_ += word.size();
      }
      uint32_t lhs = last();
      KOPT_RETURN_IF_ERROR(parseUnary());
      add(kind, 0, lhs, last());
    }
  }

  // unary := '-' unary | primary
  Status parseUnary() {
    if (++depth_ > kMaxDepth)
      return error("nesting deeper than " + std::to_string(kMaxDepth));
    skipSpace();
    Status status;
    if (pos_ < text_.size() && text_[pos_] == '-') {
      ++pos_;
      status = parseUnary();
      if (status.isOk())
        add(ShapeExpr::Kind::Negate, 0, last());
    } else {
      status = parsePrimary();
    }
    --depth_;
    return status;
  }

  // primary := integer | 's' digits | '(' sum ')'
  Status parsePrimary() {
    skipSpace();
    if (pos_ >= text_.size())
      return error("expected an integer, a symbol or '('");
    char c = text_[pos_];
    if (c == '(') {
      ++pos_;
      KOPT_RETURN_IF_ERROR(parseSum());
      skipSpace();
      if (pos_ >= text_.size() || text_[pos_] != ')')
        return error("expected ')'");
      ++pos_;
      return Status::ok();
    }
    if (std::isdigit(static_cast<unsigned char>(c))) {
      int64_t value;
      KOPT_RETURN_IF_ERROR(parseDigits(value));
      add(ShapeExpr::Kind::Constant, value);
      return Status::ok();
    }
    std::string_view word = peekWord();
    if (word.size() >= 2 && word[0] == 's' &&
        std::all_of(word.begin() + 1, word.end(), [](char d) {
          return std::isdigit(static_cast<unsigned char>(d));
        })) {
      if (word.size() > 2 && word[1] == '0')
        return error("symbol '" + std::string(word) + "' has a leading zero");
      ++pos_; // The 's'.
      int64_t index;
      KOPT_RETURN_IF_ERROR(parseDigits(index));
      if (index >= ShapeExpr::kMaxSymbols)
        return error("symbol s" + std::to_string(index) + " is past s" +
                     std::to_string(ShapeExpr::kMaxSymbols - 1));
      add(ShapeExpr::Kind::Symbol, index);
      return Status::ok();
    }
    if (!word.empty())
      return error("unexpected '" + std::string(word) +
                   "' (expected an integer, a symbol sN or '(')");
    return error(std::string("unexpected '") + c +
                 "' (expected an integer, a symbol sN or '(')");
  }

  Status parseDigits(int64_t &value) {
    value = 0;
    size_t start = pos_;
    while (pos_ < text_.size() &&
           std::isdigit(static_cast<unsigned char>(text_[pos_]))) {
      if (__builtin_mul_overflow(value, 10, &value) ||
          __builtin_add_overflow(value, text_[pos_] - '0', &value)) {
        pos_ = start;
        return error("integer does not fit int64");
      }
      ++pos_;
    }
    if (pos_ < text_.size() &&
        std::isalpha(static_cast<unsigned char>(text_[pos_])))
      return error("expected a space or an operator after a number");
    return Status::ok();
  }

  std::string_view text_;
  std::vector<ShapeExpr::Node> &nodes_;
  size_t pos_ = 0;
  unsigned depth_ = 0;
};

} // namespace

std::optional<int64_t> floorDivChecked(int64_t lhs, int64_t rhs) {
  if (rhs == 0 || (lhs == std::numeric_limits<int64_t>::min() && rhs == -1))
    return std::nullopt;
  int64_t quotient = lhs / rhs;
  int64_t remainder = lhs % rhs;
  if (remainder != 0 && ((remainder < 0) != (rhs < 0)))
    --quotient;
  return quotient;
}

std::optional<int64_t> ceilDivChecked(int64_t lhs, int64_t rhs) {
  if (rhs == 0 || (lhs == std::numeric_limits<int64_t>::min() && rhs == -1))
    return std::nullopt;
  int64_t quotient = lhs / rhs;
  int64_t remainder = lhs % rhs;
  if (remainder != 0 && ((remainder < 0) == (rhs < 0)))
    ++quotient;
  return quotient;
}

std::optional<int64_t> modChecked(int64_t lhs, int64_t rhs) {
  if (rhs <= 0)
    return std::nullopt;
  int64_t remainder = lhs % rhs;
  return remainder < 0 ? remainder + rhs : remainder;
}

StatusOr<ShapeExpr> ShapeExpr::parse(std::string_view text) {
  while (!text.empty() &&
         std::isspace(static_cast<unsigned char>(text.front())))
    text.remove_prefix(1);
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back())))
    text.remove_suffix(1);
  if (text.empty())
    return invalidArgument("empty shape expression");
  if (text.size() > kMaxExprLength)
    return invalidArgument("shape expression of " +
                           std::to_string(text.size()) +
                           " characters is longer than the limit of " +
                           std::to_string(kMaxExprLength));
  ShapeExpr expr;
  expr.text_ = std::string(text);
  Parser parser(text, expr.nodes_);
  KOPT_RETURN_IF_ERROR(parser.parse());
  return expr;
}

ShapeExpr ShapeExpr::constant(int64_t value) {
  ShapeExpr expr;
  expr.text_ = std::to_string(value);
  expr.nodes_.push_back({Kind::Constant, value, 0, 0});
  return expr;
}

StatusOr<int64_t> ShapeExpr::evaluate(const SymbolValues &symbols) const {
  std::vector<int64_t> values(nodes_.size());
  for (size_t i = 0; i < nodes_.size(); ++i) {
    const Node &node = nodes_[i];
    int64_t lhs = values[node.lhs], rhs = values[node.rhs];
    int64_t &result = values[i];
    bool overflow = false;
    switch (node.kind) {
    case Kind::Constant:
      result = node.value;
      break;
    case Kind::Symbol: {
      auto index = static_cast<size_t>(node.value);
      if (index >= symbols.size() || !symbols[index])
        return invalidArgument("s" + std::to_string(index) +
                               " is not bound in '" + text_ + "'");
      result = *symbols[index];
      break;
    }
    case Kind::Negate:
      overflow = __builtin_sub_overflow(int64_t(0), lhs, &result);
      break;
    case Kind::Add:
      overflow = __builtin_add_overflow(lhs, rhs, &result);
      break;
    case Kind::Sub:
      overflow = __builtin_sub_overflow(lhs, rhs, &result);
      break;
    case Kind::Mul:
      overflow = __builtin_mul_overflow(lhs, rhs, &result);
      break;
    case Kind::FloorDiv:
    case Kind::CeilDiv:
    case Kind::Mod: {
      if (rhs == 0)
        return invalidArgument("division by zero in '" + text_ + "'");
      if (node.kind == Kind::Mod && rhs < 0)
        return invalidArgument("'mod' by the negative value " +
                               std::to_string(rhs) + " in '" + text_ + "'");
      std::optional<int64_t> value =
          node.kind == Kind::FloorDiv  ? floorDivChecked(lhs, rhs)
          : node.kind == Kind::CeilDiv ? ceilDivChecked(lhs, rhs)
                                       : modChecked(lhs, rhs);
      overflow = !value;
      result = value.value_or(0);
      break;
    }
    }
    if (overflow)
      return outOfRange("'" + text_ + "' overflows int64");
  }
  return values.back();
}

std::optional<int64_t> ShapeExpr::constantValue() const {
  if (!symbols().empty())
    return std::nullopt;
  StatusOr<int64_t> value = evaluate({});
  if (!value.isOk())
    return std::nullopt;
  return *value;
}

std::optional<unsigned> ShapeExpr::bareSymbol() const {
  if (nodes_.size() == 1 && nodes_[0].kind == Kind::Symbol)
    return static_cast<unsigned>(nodes_[0].value);
  return std::nullopt;
}

std::vector<unsigned> ShapeExpr::symbols() const {
  std::vector<unsigned> result;
  for (const Node &node : nodes_)
    if (node.kind == Kind::Symbol)
      result.push_back(static_cast<unsigned>(node.value));
  std::sort(result.begin(), result.end());
  result.erase(std::unique(result.begin(), result.end()), result.end());
  return result;
}

std::string ShapeExpr::displayText() const {
  if (nodes_.size() == 1)
    return text_;
  return "(" + text_ + ")";
}

} // namespace kopt::rt
