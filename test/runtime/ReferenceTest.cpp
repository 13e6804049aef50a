//===- ReferenceTest.cpp - The reference evaluator against independent math
//===//
//
// Small graphs built as JSON, evaluated by kopt::rt::reference, and checked
// against values computed here independently: by hand, or by a second,
// differently organised formula (explicit masks for attention, repeated kv
// heads for GQA, the quadratic form of linear attention, a dense per-token
// loop for MoE). Also dtype rounding, broadcasting, dynamic dims, NaN
// propagation and every error the evaluator promises to report.
//
//===----------------------------------------------------------------------===//

#include "kopt/runtime/Reference.h"
#include "TempDir.h"
#include "kopt/runtime/Float16.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <limits>
#include <unistd.h>

namespace {

using json = nlohmann::json;
using kopt::rt::HostTensor;
using kopt::rt::StatusOr;
using kopt::rt::TensorToWrite;
using kopt::rt::WeightSet;
using kopt::rt::reference::Value;
using kopt::test::TempDir;
namespace ref = kopt::rt::reference;

using Shape = std::vector<int64_t>;
using Data = std::vector<double>;

const double kNaN = std::numeric_limits<double>::quiet_NaN();
const double kInf = std::numeric_limits<double>::infinity();
const double kPi = 3.14159265358979323846;

//===----------------------------------------------------------------------===//
// Helpers
//===----------------------------------------------------------------------===//

/// Builds the JSON of a one-function graph, one node at a time.
class GraphBuilder {
public:
  /// Adds a function argument; returns its value id.
  int64_t arg(const std::string &dtype, Shape shape) {
    int64_t id = next_++;
    args_.push_back(type(id, dtype, shape));
    return id;
  }

  /// Adds a node with one result; returns the result's id.
  int64_t op(const std::string &name, std::vector<int64_t> operands,
             const std::string &dtype, Shape shape, json attrs = json::object(),
             const std::string &loc = "") {
    return ops(name, operands, {{dtype, shape}}, attrs, loc)[0];
  }

  /// Adds a node with any number of results; returns their ids.
  std::vector<int64_t> ops(const std::string &name,
                           std::vector<int64_t> operands,
                           std::vector<std::pair<std::string, Shape>> results,
                           json attrs = json::object(),
                           const std::string &loc = "") {
    json node = {{"op", name}, {"operands", operands}, {"attrs", attrs}};
    node["results"] = json::array();
    std::vector<int64_t> ids;
    for (auto &[dtype, shape] : results) {
      ids.push_back(next_++);
      node["results"].push_back(type(ids.back(), dtype, shape));
    }
    if (!loc.empty())
      node["loc"] = loc;
    nodes_.push_back(node);
    return ids;
  }

  /// Adds a kopt.weight node.
  int64_t weight(const std::string &name, const std::string &dtype, Shape shape,
                 const std::string &loc = "") {
    return op("kopt.weight", {}, dtype, shape, {{"name", name}}, loc);
  }

  /// Adds an arith.constant with `value` ({"splat": x} or {"data": [...]}).
  int64_t constant(const std::string &dtype, Shape shape, json value) {
    return op("arith.constant", {}, dtype, shape, {{"value", value}});
  }

  /// The graph JSON whose function returns `results`.
  json build(std::vector<int64_t> results,
             const std::string &name = "forward") const {
    json function = {{"name", name},
                     {"args", args_},
                     {"results", results},
                     {"nodes", nodes_}};
    return {{"format", "kopt-graph"},
            {"version", 1},
            {"functions", json::array({function})}};
  }

  json &nodes() { return nodes_; }

private:
  static json type(int64_t id, const std::string &dtype, const Shape &shape) {
    return {{"value", id}, {"dtype", dtype}, {"shape", shape}};
  }

  int64_t next_ = 0;
  json args_ = json::array();
  json nodes_ = json::array();
};

Value makeValue(kopt_dtype_t dtype, Shape shape, Data data) {
  Value value;
  value.dtype = dtype;
  value.shape = std::move(shape);
  value.data = std::move(data);
  return value;
}

Value f32(Shape shape, Data data) {
  return makeValue(KOPT_DTYPE_F32, std::move(shape), std::move(data));
}

Value i32(Shape shape, Data data) {
  return makeValue(KOPT_DTYPE_I32, std::move(shape), std::move(data));
}

double roundF32(double x) { return static_cast<float>(x); }
double roundF16(double x) {
  return kopt::rt::f16ToFloat(kopt::rt::floatToF16(static_cast<float>(x)));
}
double roundBF16(double x) {
  return kopt::rt::bf16ToFloat(kopt::rt::floatToBF16(static_cast<float>(x)));
}

/// Deterministic values in [lo, hi), rounded with `round`.
Data randomData(size_t count, uint32_t seed, double (*round)(double) = roundF32,
                double lo = -2.0, double hi = 2.0) {
  Data data(count);
  uint32_t state = seed * 2654435761u + 12345u;
  for (double &x : data) {
    state = state * 1664525u + 1013904223u;
    double unit = (state >> 8) / static_cast<double>(1u << 24);
    x = round(lo + (hi - lo) * unit);
  }
  return data;
}

StatusOr<std::vector<Value>> run(const json &graph,
                                 const std::vector<Value> &inputs,
                                 const WeightSet *weights = nullptr) {
  return ref::evaluateValues(graph, "forward", inputs, weights);
}

/// Runs `graph` and expects it to succeed.
std::vector<Value> runOk(const json &graph, const std::vector<Value> &inputs,
                         const WeightSet *weights = nullptr) {
  StatusOr<std::vector<Value>> results = run(graph, inputs, weights);
  EXPECT_TRUE(results.isOk()) << results.status().message();
  return results.isOk() ? *results : std::vector<Value>{};
}

/// Runs `graph`, expects a failure with `code`, and returns its message.
std::string runError(const json &graph, const std::vector<Value> &inputs,
                     kopt_status_code_t code,
                     const WeightSet *weights = nullptr) {
  StatusOr<std::vector<Value>> results = run(graph, inputs, weights);
  EXPECT_FALSE(results.isOk()) << "expected an error";
  if (results.isOk())
    return "";
  EXPECT_EQ(results.status().code(), code) << results.status().message();
  return results.status().message();
}

/// Expects every element of `actual` within `tolerance` (relative to
/// max(1, |expected|)) of `expected`, NaN matching NaN.
void expectNear(const Data &actual, const Data &expected, double tolerance,
                const std::string &what = "") {
  ASSERT_EQ(actual.size(), expected.size()) << what;
  for (size_t i = 0; i < actual.size(); ++i) {
    if (std::isnan(expected[i])) {
      EXPECT_TRUE(std::isnan(actual[i])) << what << " element " << i;
      continue;
    }
    if (std::isinf(expected[i])) {
      EXPECT_EQ(actual[i], expected[i]) << what << " element " << i;
      continue;
    }
    double bound = tolerance * std::max(1.0, std::fabs(expected[i]));
    EXPECT_NEAR(actual[i], expected[i], bound) << what << " element " << i;
  }
}

std::vector<uint8_t> floatBytes(const Data &values) {
  std::vector<uint8_t> bytes(values.size() * 4);
  for (size_t i = 0; i < values.size(); ++i) {
    float f = static_cast<float>(values[i]);
    std::memcpy(bytes.data() + 4 * i, &f, 4);
  }
  return bytes;
}

/// Writes `tensors` to a safetensors file in `dir` and opens it.
std::shared_ptr<WeightSet>
writeWeights(const TempDir &dir, const std::vector<TensorToWrite> &tensors) {
  std::string path = dir.file("w.safetensors");
  kopt::rt::Status status = kopt::rt::writeSafetensors(path, tensors, {});
  EXPECT_TRUE(status.isOk()) << status.message();
  auto weights = WeightSet::open(path);
  EXPECT_TRUE(weights.isOk()) << weights.status().message();
  return weights.isOk() ? *weights : nullptr;
}

bool contains(const std::string &text, const std::string &part) {
  return text.find(part) != std::string::npos;
}

//===----------------------------------------------------------------------===//
// Elementwise ops, broadcasting, dtypes
//===----------------------------------------------------------------------===//

TEST(ReferenceElementwise, AddBroadcastsRowsAndScalars) {
  GraphBuilder g;
  int64_t a = g.arg("f32", {2, 3});
  int64_t b = g.arg("f32", {3});
  int64_t s = g.constant("f32", {}, {{"splat", 0.5}});
  int64_t sum = g.op("kopt.add", {a, b}, "f32", {2, 3});
  int64_t out = g.op("kopt.mul", {sum, s}, "f32", {2, 3});
  int64_t diff = g.op("kopt.sub", {s, a}, "f32", {2, 3});
  int64_t column = g.arg("f32", {2, 1});
  int64_t quotient = g.op("kopt.div", {a, column}, "f32", {2, 3});
  auto results = runOk(g.build({out, diff, quotient}),
                       {f32({2, 3}, {1, 2, 3, 4, 5, 6}), f32({3}, {10, 20, 30}),
                        f32({2, 1}, {2, 4})});
  ASSERT_EQ(results.size(), 3u);
  EXPECT_EQ(results[0].shape, (Shape{2, 3}));
  EXPECT_EQ(results[0].data, (Data{5.5, 11, 16.5, 7, 12.5, 18}));
  EXPECT_EQ(results[1].data, (Data{-0.5, -1.5, -2.5, -3.5, -4.5, -5.5}));
  EXPECT_EQ(results[2].data, (Data{0.5, 1, 1.5, 1, 1.25, 1.5}));
}

TEST(ReferenceElementwise, BroadcastsBothWays) {
  // [3, 1] + [1, 4] -> [3, 4]; a 0-d scalar on the left of a 1-d tensor.
  GraphBuilder g;
  int64_t a = g.arg("f32", {3, 1});
  int64_t b = g.arg("f32", {1, 4});
  int64_t s = g.arg("f32", {});
  int64_t sum = g.op("kopt.add", {a, b}, "f32", {3, 4});
  int64_t scaled = g.op("kopt.mul", {s, sum}, "f32", {3, 4});
  auto results =
      runOk(g.build({scaled}), {f32({3, 1}, {0, 10, 20}),
                                f32({1, 4}, {1, 2, 3, 4}), f32({}, {2})});
  ASSERT_EQ(results.size(), 1u);
  Data expected;
  for (double row : {0, 10, 20})
    for (double col : {1, 2, 3, 4})
      expected.push_back(2 * (row + col));
  EXPECT_EQ(results[0].data, expected);
}

TEST(ReferenceElementwise, AddRoundsToEachFloatDType) {
  // 1 + half an ulp ties to even (down to 1); 1 + 1.5 ulp ties up to 1 + 2 ulp.
  struct Case {
    const char *dtype;
    kopt_dtype_t kind;
    double ulp;
  } cases[] = {{"f32", KOPT_DTYPE_F32, std::ldexp(1.0, -23)},
               {"f16", KOPT_DTYPE_F16, std::ldexp(1.0, -10)},
               {"bf16", KOPT_DTYPE_BF16, std::ldexp(1.0, -7)}};
  for (const Case &c : cases) {
    GraphBuilder g;
    int64_t a = g.arg(c.dtype, {3});
    int64_t b = g.arg(c.dtype, {3});
    int64_t sum = g.op("kopt.add", {a, b}, c.dtype, {3});
    auto results =
        runOk(g.build({sum}),
              {makeValue(c.kind, {3}, {1, 1, 1}),
               makeValue(c.kind, {3}, {c.ulp / 2, 1.5 * c.ulp, c.ulp})});
    ASSERT_EQ(results.size(), 1u) << c.dtype;
    EXPECT_EQ(results[0].data, (Data{1, 1 + 2 * c.ulp, 1 + c.ulp})) << c.dtype;
  }
}

TEST(ReferenceElementwise, F16OverflowsToInfinity) {
  GraphBuilder g;
  int64_t a = g.arg("f16", {2});
  int64_t sum = g.op("kopt.add", {a, a}, "f16", {2});
  auto results =
      runOk(g.build({sum}), {makeValue(KOPT_DTYPE_F16, {2}, {65504, -40000})});
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].data, (Data{kInf, -kInf}));
}

TEST(ReferenceElementwise, IntegerArithmetic) {
  GraphBuilder g;
  int64_t a = g.arg("i32", {4});
  int64_t b = g.arg("i32", {4});
  int64_t q = g.op("kopt.div", {a, b}, "i32", {4});
  int64_t sum = g.op("kopt.add", {a, b}, "i32", {4});
  json graph = g.build({q, sum});
  auto results =
      runOk(graph, {i32({4}, {7, -7, 2147483647, 9}), i32({4}, {2, 2, 1, -4})});
  ASSERT_EQ(results.size(), 2u);
  EXPECT_EQ(results[0].data, (Data{3, -3, 2147483647, -2}));   // truncation
  EXPECT_EQ(results[1].data, (Data{9, -5, -2147483648.0, 5})); // i32 wraps
  // A result dtype other than the operands' is a declared-type error.
  GraphBuilder bad;
  int64_t ba = bad.arg("i32", {4});
  int64_t product = bad.op("kopt.mul", {ba, ba}, "i64", {4});
  std::string error = runError(bad.build({product}), {i32({4}, {1, 2, 3, 4})},
                               KOPT_STATUS_INVALID_ARGUMENT);
  EXPECT_TRUE(contains(error, "kopt.mul: result 0 is declared i64[4] but "
                              "computes i32[4]"))
      << error;
}

TEST(ReferenceElementwise, IntegerDivisionByZeroIsAnError) {
  GraphBuilder g;
  int64_t a = g.arg("i64", {2});
  int64_t b = g.arg("i64", {2});
  int64_t q =
      g.op("kopt.div", {a, b}, "i64", {2}, json::object(), "m.mlir:3:4");
  std::string error = runError(g.build({q}),
                               {makeValue(KOPT_DTYPE_I64, {2}, {1, 2}),
                                makeValue(KOPT_DTYPE_I64, {2}, {1, 0})},
                               KOPT_STATUS_INVALID_ARGUMENT);
  EXPECT_EQ(error, "kopt.div: integer division by zero (at m.mlir:3:4)");
}

TEST(ReferenceElementwise, DynamicDimsRunAtAnySize) {
  GraphBuilder g;
  int64_t x = g.arg("f32", {-1, 3});
  int64_t bias = g.constant("f32", {3}, {{"data", {1.0, 2.0, 3.0}}});
  int64_t y = g.op("kopt.add", {x, bias}, "f32", {-1, 3});
  json graph = g.build({y});
  for (int64_t rows : {1, 7, 13}) {
    Data in = randomData(static_cast<size_t>(rows * 3), 7);
    auto results = runOk(graph, {f32({rows, 3}, in)});
    ASSERT_EQ(results.size(), 1u);
    EXPECT_EQ(results[0].shape, (Shape{rows, 3}));
    for (int64_t i = 0; i < rows * 3; ++i)
      EXPECT_EQ(results[0].data[i], roundF32(in[i] + 1 + i % 3));
  }
  // Zero rows is a valid size too.
  auto empty = runOk(graph, {f32({0, 3}, {})});
  ASSERT_EQ(empty.size(), 1u);
  EXPECT_EQ(empty[0].shape, (Shape{0, 3}));
}

TEST(ReferenceElementwise, DisagreeingDynamicDimsAreAnError) {
  // Both inputs claim the same dynamic length; at run time they differ.
  GraphBuilder g;
  int64_t a = g.arg("f32", {-1});
  int64_t b = g.arg("f32", {-1});
  int64_t sum =
      g.op("kopt.add", {a, b}, "f32", {-1}, json::object(), "x.mlir:1:2");
  std::string error =
      runError(g.build({sum}), {f32({3}, {1, 2, 3}), f32({4}, {1, 2, 3, 4})},
               KOPT_STATUS_INVALID_ARGUMENT);
  EXPECT_EQ(error, "kopt.add: operands are not broadcastable: [3] and [4] "
                   "(at x.mlir:1:2)");
}

TEST(ReferenceElementwise, NaNAndInfinityPropagate) {
  GraphBuilder g;
  int64_t a = g.arg("f32", {4});
  int64_t b = g.arg("f32", {4});
  int64_t sum = g.op("kopt.add", {a, b}, "f32", {4});
  auto results = runOk(g.build({sum}), {f32({4}, {kNaN, kInf, kInf, 1}),
                                        f32({4}, {1, 1, -kInf, kNaN})});
  ASSERT_EQ(results.size(), 1u);
  EXPECT_TRUE(std::isnan(results[0].data[0]));
  EXPECT_EQ(results[0].data[1], kInf);
  EXPECT_TRUE(std::isnan(results[0].data[2]));
  EXPECT_TRUE(std::isnan(results[0].data[3]));
}

TEST(ReferenceElementwise, UnaryActivationsMatchTheirFormulas) {
  Data in = randomData(13, 3, roundF32, -4.0, 4.0);
  in.push_back(0.0);
  in.push_back(-0.5);
  auto n = static_cast<int64_t>(in.size());
  struct Case {
    const char *op;
    json attrs;
    double (*formula)(double);
  } cases[] = {
      {"kopt.silu", json::object(),
       [](double x) { return x * (1.0 / (1.0 + std::exp(-x))); }},
      {"kopt.relu", json::object(), [](double x) { return std::max(x, 0.0); }},
      {"kopt.sigmoid", json::object(),
       [](double x) { return std::exp(x) / (1.0 + std::exp(x)); }},
      {"kopt.tanh", json::object(),
       [](double x) { return (std::exp(2 * x) - 1) / (std::exp(2 * x) + 1); }},
      {"kopt.exp", json::object(), [](double x) { return std::exp(x); }},
      {"kopt.rsqrt", json::object(),
       [](double x) { return std::pow(x, -0.5); }},
      {"kopt.neg", json::object(), [](double x) { return 0.0 - x; }},
      {"kopt.gelu", json::object(),
       [](double x) { return x * 0.5 * std::erfc(-x / std::sqrt(2.0)); }},
      {"kopt.gelu",
       {{"approximate", "none"}},
       [](double x) { return x * 0.5 * std::erfc(-x / std::sqrt(2.0)); }},
      {"kopt.gelu",
       {{"approximate", "tanh"}},
       [](double x) {
         double c = std::sqrt(2.0 / kPi);
         return 0.5 * x * (1 + std::tanh(c * (x + 0.044715 * std::pow(x, 3))));
       }},
  };
  for (const Case &c : cases) {
    GraphBuilder g;
    int64_t x = g.arg("f32", {n});
    int64_t y = g.op(c.op, {x}, "f32", {n}, c.attrs);
    auto results = runOk(g.build({y}), {f32({n}, in)});
    ASSERT_EQ(results.size(), 1u) << c.op;
    Data expected;
    for (double v : in)
      expected.push_back(c.formula(v));
    expectNear(results[0].data, expected, 1e-6, std::string(c.op));
  }
}

TEST(ReferenceElementwise, GeluRejectsUnknownApproximation) {
  GraphBuilder g;
  int64_t x = g.arg("f32", {2});
  int64_t y = g.op("kopt.gelu", {x}, "f32", {2}, {{"approximate", "fast"}});
  std::string error =
      runError(g.build({y}), {f32({2}, {1, 2})}, KOPT_STATUS_INVALID_ARGUMENT);
  EXPECT_EQ(error, "kopt.gelu: approximate must be \"none\" or \"tanh\", got "
                   "\"fast\"");
}

TEST(ReferenceElementwise, Clamp) {
  Data in = {-5, -3, 0, 2.5, 3, 7, kNaN};
  auto n = static_cast<int64_t>(in.size());
  GraphBuilder g;
  int64_t x = g.arg("f32", {n});
  int64_t both =
      g.op("kopt.clamp", {x}, "f32", {n}, {{"min", -3.0}, {"max", 3.0}});
  int64_t lower = g.op("kopt.clamp", {x}, "f32", {n}, {{"min", 0.0}});
  int64_t upper = g.op("kopt.clamp", {x}, "f32", {n}, {{"max", 1.0}});
  auto results = runOk(g.build({both, lower, upper}), {f32({n}, in)});
  ASSERT_EQ(results.size(), 3u);
  expectNear(results[0].data, {-3, -3, 0, 2.5, 3, 3, kNaN}, 0);
  expectNear(results[1].data, {0, 0, 0, 2.5, 3, 7, kNaN}, 0);
  expectNear(results[2].data, {-5, -3, 0, 1, 1, 1, kNaN}, 0);

  GraphBuilder bad;
  int64_t bx = bad.arg("f32", {1});
  int64_t by = bad.op("kopt.clamp", {bx}, "f32", {1});
  EXPECT_EQ(
      runError(bad.build({by}), {f32({1}, {0})}, KOPT_STATUS_INVALID_ARGUMENT),
      "kopt.clamp: needs at least one of 'min' and 'max'");
}

TEST(ReferenceElementwise, CastTruncatesAndRounds) {
  GraphBuilder g;
  int64_t x = g.arg("f32", {6});
  int64_t toInt = g.op("kopt.cast", {x}, "i32", {6});
  int64_t toHalf = g.op("kopt.cast", {x}, "f16", {6});
  int64_t toBool = g.op("kopt.cast", {x}, "i1", {6});
  int64_t back = g.op("kopt.cast", {toInt}, "f32", {6});
  int64_t toI8 = g.op("kopt.cast", {toInt}, "i8", {6});
  Data in = {2.7, -2.7, 0.0, 1.0 + std::ldexp(1.0, -11), 300.0, kNaN};
  auto results =
      runOk(g.build({toInt, toHalf, toBool, back, toI8}),
            {f32({6}, {in[0], in[1], in[2], roundF32(in[3]), in[4], in[5]})});
  ASSERT_EQ(results.size(), 5u);
  EXPECT_EQ(results[0].dtype, KOPT_DTYPE_I32);
  EXPECT_EQ(results[0].data[0], 2);
  EXPECT_EQ(results[0].data[1], -2);
  EXPECT_EQ(results[0].data[4], 300);
  EXPECT_EQ(results[0].data[5], -2147483648.0); // NaN -> int: x86's value
  EXPECT_EQ(results[1].data[0], roundF16(2.7));
  EXPECT_EQ(results[1].data[3], 1.0); // tie to even
  EXPECT_TRUE(std::isnan(results[1].data[5]));
  EXPECT_EQ(results[2].data, (Data{1, 1, 0, 1, 1, 1})); // NaN is true
  EXPECT_EQ(results[3].data[1], -2.0);
  EXPECT_EQ(results[4].data[4], 44.0); // 300 wraps modulo 256
}

//===----------------------------------------------------------------------===//
// Norms, softmax, reductions
//===----------------------------------------------------------------------===//

TEST(ReferenceNorm, RMSNormF32MatchesFormula) {
  const int64_t rows = 3, d = 7;
  Data x = randomData(rows * d, 11), w = randomData(d, 12);
  GraphBuilder g;
  int64_t xv = g.arg("f32", {rows, d});
  int64_t wv = g.arg("f32", {d});
  int64_t y =
      g.op("kopt.rmsnorm", {xv, wv}, "f32", {rows, d}, {{"epsilon", 1e-5}});
  auto results = runOk(g.build({y}), {f32({rows, d}, x), f32({d}, w)});
  ASSERT_EQ(results.size(), 1u);
  Data expected;
  for (int64_t r = 0; r < rows; ++r) {
    double meanSquare = 0;
    for (int64_t i = 0; i < d; ++i)
      meanSquare += x[r * d + i] * x[r * d + i] / d;
    for (int64_t i = 0; i < d; ++i)
      expected.push_back(x[r * d + i] / std::sqrt(meanSquare + 1e-5) * w[i]);
  }
  expectNear(results[0].data, expected, 1e-6);
}

TEST(ReferenceNorm, RMSNormRoundsBeforeTheWeight) {
  // f16: (x * rsqrt(...)).to(f16) * w, rounded again. Enough rows that
  // rounding once instead would differ somewhere.
  const int64_t rows = 64, d = 13;
  Data x = randomData(rows * d, 21, roundF16), w = randomData(d, 22, roundF16);
  for (const char *dtype : {"f16", "bf16"}) {
    bool half = std::string(dtype) == "f16";
    auto round = half ? roundF16 : roundBF16;
    kopt_dtype_t kind = half ? KOPT_DTYPE_F16 : KOPT_DTYPE_BF16;
    Data xr, wr;
    for (double v : x)
      xr.push_back(round(v));
    for (double v : w)
      wr.push_back(round(v));
    GraphBuilder g;
    int64_t xv = g.arg(dtype, {rows, d});
    int64_t wv = g.arg(dtype, {d});
    int64_t y = g.op("kopt.rmsnorm", {xv, wv}, dtype, {rows, d});
    auto results = runOk(g.build({y}), {makeValue(kind, {rows, d}, xr),
                                        makeValue(kind, {d}, wr)});
    ASSERT_EQ(results.size(), 1u);
    int differsFromOneRounding = 0;
    for (int64_t r = 0; r < rows; ++r) {
      double sum = 0;
      for (int64_t i = 0; i < d; ++i)
        sum += xr[r * d + i] * xr[r * d + i];
      double inv = 1.0 / std::sqrt(sum / d + static_cast<float>(1e-6));
      for (int64_t i = 0; i < d; ++i) {
        double twoStep = round(round(xr[r * d + i] * inv) * wr[i]);
        double oneStep = round(xr[r * d + i] * inv * wr[i]);
        EXPECT_EQ(results[0].data[r * d + i], twoStep)
            << dtype << " " << r << "," << i;
        differsFromOneRounding += twoStep != oneStep;
      }
    }
    EXPECT_GT(differsFromOneRounding, 0) << dtype;
  }
}

TEST(ReferenceNorm, LayerNormMatchesFormula) {
  const int64_t rows = 5, d = 13;
  Data x = randomData(rows * d, 31), w = randomData(d, 32),
       b = randomData(d, 33);
  GraphBuilder g;
  int64_t xv = g.arg("f32", {rows, d});
  int64_t wv = g.arg("f32", {d});
  int64_t bv = g.arg("f32", {d});
  int64_t y = g.op("kopt.layernorm", {xv, wv, bv}, "f32", {rows, d});
  auto results =
      runOk(g.build({y}), {f32({rows, d}, x), f32({d}, w), f32({d}, b)});
  ASSERT_EQ(results.size(), 1u);
  Data expected;
  for (int64_t r = 0; r < rows; ++r) {
    double mean = 0, meanSquare = 0;
    for (int64_t i = 0; i < d; ++i) {
      mean += x[r * d + i] / d;
      meanSquare += x[r * d + i] * x[r * d + i] / d;
    }
    double variance = meanSquare - mean * mean; // E[x^2] - E[x]^2
    for (int64_t i = 0; i < d; ++i)
      expected.push_back((x[r * d + i] - mean) /
                             std::sqrt(variance + static_cast<float>(1e-5)) *
                             w[i] +
                         b[i]);
  }
  expectNear(results[0].data, expected, 1e-5);
}

TEST(ReferenceNorm, L2NormAlongAnyAxis) {
  GraphBuilder g;
  int64_t x = g.arg("f32", {2, 3});
  int64_t rows = g.op("kopt.l2norm", {x}, "f32", {2, 3});
  int64_t cols = g.op("kopt.l2norm", {x}, "f32", {2, 3}, {{"axis", 0}});
  auto results =
      runOk(g.build({rows, cols}), {f32({2, 3}, {3, 0, 4, 0, 0, 0})});
  ASSERT_EQ(results.size(), 2u);
  // A zero row divides by eps and stays zero.
  expectNear(results[0].data, {0.6, 0, 0.8, 0, 0, 0}, 1e-7);
  expectNear(results[1].data, {1, 0, 1, 0, 0, 0}, 1e-7);
}

TEST(ReferenceNorm, SoftmaxMatchesFormulaOnEitherAxis) {
  Data x = randomData(12, 41, roundF32, -3, 3);
  GraphBuilder g;
  int64_t xv = g.arg("f32", {3, 4});
  int64_t last = g.op("kopt.softmax", {xv}, "f32", {3, 4});
  int64_t first = g.op("kopt.softmax", {xv}, "f32", {3, 4}, {{"axis", -2}});
  auto results = runOk(g.build({last, first}), {f32({3, 4}, x)});
  ASSERT_EQ(results.size(), 2u);
  Data expectedLast(12), expectedFirst(12);
  for (int r = 0; r < 3; ++r) {
    double sum = 0;
    for (int c = 0; c < 4; ++c)
      sum += std::exp(x[r * 4 + c]);
    for (int c = 0; c < 4; ++c)
      expectedLast[r * 4 + c] = std::exp(x[r * 4 + c]) / sum;
  }
  for (int c = 0; c < 4; ++c) {
    double sum = 0;
    for (int r = 0; r < 3; ++r)
      sum += std::exp(x[r * 4 + c]);
    for (int r = 0; r < 3; ++r)
      expectedFirst[r * 4 + c] = std::exp(x[r * 4 + c]) / sum;
  }
  expectNear(results[0].data, expectedLast, 1e-6);
  expectNear(results[1].data, expectedFirst, 1e-6);
}

TEST(ReferenceNorm, SoftmaxPropagatesNaNInItsRowOnly) {
  GraphBuilder g;
  int64_t x = g.arg("f32", {3, 2});
  int64_t y = g.op("kopt.softmax", {x}, "f32", {3, 2});
  auto results = runOk(g.build({y}), {f32({3, 2}, {kNaN, 1, 0, 0, kInf, 1})});
  ASSERT_EQ(results.size(), 1u);
  expectNear(results[0].data, {kNaN, kNaN, 0.5, 0.5, kNaN, kNaN}, 0);
}

TEST(ReferenceNorm, SoftmaxF16RoundsOnce) {
  Data x = randomData(7, 43, roundF16, -2, 2);
  GraphBuilder g;
  int64_t xv = g.arg("f16", {7});
  int64_t y = g.op("kopt.softmax", {xv}, "f16", {7});
  auto results = runOk(g.build({y}), {makeValue(KOPT_DTYPE_F16, {7}, x)});
  ASSERT_EQ(results.size(), 1u);
  double sum = 0;
  for (double v : x)
    sum += std::exp(v);
  for (size_t i = 0; i < x.size(); ++i)
    EXPECT_EQ(results[0].data[i], roundF16(std::exp(x[i]) / sum));
}

TEST(ReferenceReduce, MeanSumMaxWithKeepdim) {
  // x[i][j][k] = 100 i + 10 j + k, shape [2, 3, 4].
  Data x;
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 3; ++j)
      for (int k = 0; k < 4; ++k)
        x.push_back(100 * i + 10 * j + k);
  GraphBuilder g;
  int64_t xv = g.arg("f32", {2, 3, 4});
  int64_t mean = g.op("kopt.reduce_mean", {xv}, "f32", {2, 4}, {{"axes", {1}}});
  int64_t sum = g.op("kopt.reduce_sum", {xv}, "f32", {2, 1, 1},
                     {{"axes", {-1, 1}}, {"keepdim", true}});
  int64_t max = g.op("kopt.reduce_max", {xv}, "f32", {3}, {{"axes", {0, 2}}});
  auto results = runOk(g.build({mean, sum, max}), {f32({2, 3, 4}, x)});
  ASSERT_EQ(results.size(), 3u);
  EXPECT_EQ(results[0].data, (Data{10, 11, 12, 13, 110, 111, 112, 113}));
  // sum over j, k of 100 i + 10 j + k = 1200 i + 120 + 18.
  EXPECT_EQ(results[1].shape, (Shape{2, 1, 1}));
  EXPECT_EQ(results[1].data, (Data{138, 1338}));
  EXPECT_EQ(results[2].data, (Data{103, 113, 123}));
}

TEST(ReferenceReduce, MaxPropagatesNaNAndRejectsRepeatedAxes) {
  GraphBuilder g;
  int64_t x = g.arg("f32", {2, 2});
  int64_t max = g.op("kopt.reduce_max", {x}, "f32", {2}, {{"axes", {1}}});
  auto results = runOk(g.build({max}), {f32({2, 2}, {1, kNaN, -kInf, -1})});
  ASSERT_EQ(results.size(), 1u);
  expectNear(results[0].data, {kNaN, -1}, 0);

  GraphBuilder bad;
  int64_t bx = bad.arg("f32", {2, 2});
  int64_t by = bad.op("kopt.reduce_sum", {bx}, "f32", {2}, {{"axes", {1, -1}}});
  EXPECT_EQ(runError(bad.build({by}), {f32({2, 2}, {1, 2, 3, 4})},
                     KOPT_STATUS_INVALID_ARGUMENT),
            "kopt.reduce_sum: axis -1 appears more than once in axes");
}

TEST(ReferenceReduce, ArgmaxTakesTheFirstMaximum) {
  GraphBuilder g;
  int64_t x = g.arg("f32", {3, 4});
  int64_t last = g.op("kopt.argmax", {x}, "i32", {3});
  int64_t first =
      g.op("kopt.argmax", {x}, "i32", {1, 4}, {{"axis", 0}, {"keepdim", true}});
  auto results =
      runOk(g.build({last, first}), {f32({3, 4}, {1, 5, 5, 2,       //
                                                  kNaN, 0, kNaN, 9, //
                                                  -1, -1, -1, -1})});
  ASSERT_EQ(results.size(), 2u);
  EXPECT_EQ(results[0].dtype, KOPT_DTYPE_I32);
  EXPECT_EQ(results[0].data, (Data{1, 0, 0})); // ties and NaN: first wins
  EXPECT_EQ(results[1].data, (Data{1, 0, 1, 1}));
}

TEST(ReferenceReduce, TopKSortedWithTiesToTheLowerIndex) {
  GraphBuilder g;
  int64_t x = g.arg("f32", {2, 5});
  auto vi =
      g.ops("kopt.topk", {x}, {{"f32", {2, 3}}, {"i32", {2, 3}}}, {{"k", 3}});
  auto results = runOk(g.build({vi[0], vi[1]}),
                       {f32({2, 5}, {1, 4, 2, 4, 3, /**/ 0, -1, 7, 7, 7})});
  ASSERT_EQ(results.size(), 2u);
  EXPECT_EQ(results[0].data, (Data{4, 4, 3, 7, 7, 7}));
  EXPECT_EQ(results[1].data, (Data{1, 3, 4, 2, 3, 4}));

  GraphBuilder bad;
  int64_t bx = bad.arg("f32", {-1});
  auto bvi =
      bad.ops("kopt.topk", {bx}, {{"f32", {4}}, {"i32", {4}}}, {{"k", 4}});
  EXPECT_EQ(runError(bad.build({bvi[0]}), {f32({3}, {1, 2, 3})},
                     KOPT_STATUS_INVALID_ARGUMENT),
            "kopt.topk: k must be in [1, 3], got 4");
}

//===----------------------------------------------------------------------===//
// Shape ops
//===----------------------------------------------------------------------===//

TEST(ReferenceShape, ReshapeInfersTheDynamicDim) {
  GraphBuilder g;
  int64_t x = g.arg("f32", {1, -1, 6});
  int64_t y = g.op("kopt.reshape", {x}, "f32", {1, -1, 2, 3});
  Data in = randomData(5 * 6, 51);
  auto results = runOk(g.build({y}), {f32({1, 5, 6}, in)});
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].shape, (Shape{1, 5, 2, 3}));
  EXPECT_EQ(results[0].data, in);

  GraphBuilder bad;
  int64_t bx = bad.arg("f32", {-1});
  int64_t by = bad.op("kopt.reshape", {bx}, "f32", {-1, 4});
  std::string error = runError(bad.build({by}), {f32({6}, Data(6, 0))},
                               KOPT_STATUS_INVALID_ARGUMENT);
  EXPECT_TRUE(contains(error, "cannot infer the dynamic dim of [?, 4] from 6 "
                              "elements"))
      << error;
}

TEST(ReferenceShape, TransposePermutes) {
  GraphBuilder g;
  int64_t x = g.arg("f32", {2, 3, 4});
  int64_t y = g.op("kopt.transpose", {x}, "f32", {4, 2, 3},
                   {{"permutation", {2, 0, 1}}});
  Data in(24);
  for (int i = 0; i < 24; ++i)
    in[i] = i;
  auto results = runOk(g.build({y}), {f32({2, 3, 4}, in)});
  ASSERT_EQ(results.size(), 1u);
  for (int c = 0; c < 4; ++c)
    for (int a = 0; a < 2; ++a)
      for (int b = 0; b < 3; ++b)
        EXPECT_EQ(results[0].data[(c * 2 + a) * 3 + b],
                  in[(a * 3 + b) * 4 + c]);

  GraphBuilder bad;
  int64_t bx = bad.arg("f32", {2, 2});
  int64_t by =
      bad.op("kopt.transpose", {bx}, "f32", {2, 2}, {{"permutation", {0, 0}}});
  EXPECT_EQ(runError(bad.build({by}), {f32({2, 2}, Data(4, 0))},
                     KOPT_STATUS_INVALID_ARGUMENT),
            "kopt.transpose: permutation must be a permutation of [0, 2), got "
            "[0, 0]");
}

TEST(ReferenceShape, ConcatThreeInputs) {
  GraphBuilder g;
  int64_t a = g.arg("f32", {2, 1});
  int64_t b = g.arg("f32", {2, -1});
  int64_t c = g.arg("f32", {2, 2});
  int64_t y = g.op("kopt.concat", {a, b, c}, "f32", {2, -1}, {{"axis", -1}});
  auto results =
      runOk(g.build({y}), {f32({2, 1}, {1, 2}), f32({2, 3}, {3, 4, 5, 6, 7, 8}),
                           f32({2, 2}, {9, 10, 11, 12})});
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].shape, (Shape{2, 6}));
  EXPECT_EQ(results[0].data, (Data{1, 3, 4, 5, 9, 10, 2, 6, 7, 8, 11, 12}));

  // A dynamic non-axis dim that disagrees at run time.
  GraphBuilder bad;
  int64_t ba = bad.arg("f32", {-1, 2});
  int64_t bb = bad.arg("f32", {-1, 2});
  int64_t by = bad.op("kopt.concat", {ba, bb}, "f32", {-1, 4}, {{"axis", 1}});
  std::string error = runError(bad.build({by}),
                               {f32({1, 2}, {1, 2}), f32({2, 2}, {1, 2, 3, 4})},
                               KOPT_STATUS_INVALID_ARGUMENT);
  EXPECT_EQ(error, "kopt.concat: inputs must agree in every dim but 1, got "
                   "[1, 2] and [2, 2]");
}

TEST(ReferenceShape, SliceAndItsBounds) {
  GraphBuilder g;
  int64_t x = g.arg("f32", {-1, 2});
  int64_t y = g.op("kopt.slice", {x}, "f32", {2, 2},
                   {{"axis", 0}, {"start", 1}, {"size", 2}}, "s.mlir:9:1");
  json graph = g.build({y});
  auto results = runOk(graph, {f32({4, 2}, {1, 2, 3, 4, 5, 6, 7, 8})});
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].data, (Data{3, 4, 5, 6}));
  EXPECT_EQ(
      runError(graph, {f32({2, 2}, {1, 2, 3, 4})}, KOPT_STATUS_OUT_OF_RANGE),
      "kopt.slice: slice [1, 3) is out of bounds for dim 0 of size 2 (at "
      "s.mlir:9:1)");
}

TEST(ReferenceShape, GatherSelectsTokens) {
  // Select tokens [B, K] from [B, S, D]: indices broadcast over D.
  GraphBuilder g;
  int64_t x = g.arg("f32", {2, 5, 3});
  int64_t idx = g.arg("i32", {2, 2});
  int64_t y = g.op("kopt.gather", {x, idx}, "f32", {2, 2, 3}, {{"axis", 1}});
  Data in(30);
  for (int i = 0; i < 30; ++i)
    in[i] = i;
  json graph = g.build({y});
  auto results = runOk(graph, {f32({2, 5, 3}, in), i32({2, 2}, {4, 0, 2, 2})});
  ASSERT_EQ(results.size(), 1u);
  Data expected;
  int picks[2][2] = {{4, 0}, {2, 2}};
  for (int b = 0; b < 2; ++b)
    for (int k = 0; k < 2; ++k)
      for (int d = 0; d < 3; ++d)
        expected.push_back(in[(b * 5 + picks[b][k]) * 3 + d]);
  EXPECT_EQ(results[0].data, expected);
  EXPECT_EQ(runError(graph, {f32({2, 5, 3}, in), i32({2, 2}, {4, 0, 5, 2})},
                     KOPT_STATUS_OUT_OF_RANGE),
            "kopt.gather: index 5 is outside [0, 5) along axis 1");
  EXPECT_EQ(runError(graph, {f32({2, 5, 3}, in), i32({2, 2}, {-1, 0, 1, 2})},
                     KOPT_STATUS_OUT_OF_RANGE),
            "kopt.gather: index -1 is outside [0, 5) along axis 1");
}

TEST(ReferenceShape, GatherWithFullRankIndicesIsTorchGather) {
  GraphBuilder g;
  int64_t x = g.arg("f32", {2, 3});
  int64_t idx = g.arg("i64", {2, 3});
  int64_t y = g.op("kopt.gather", {x, idx}, "f32", {2, 3}, {{"axis", 0}});
  auto results = runOk(g.build({y}),
                       {f32({2, 3}, {1, 2, 3, 4, 5, 6}),
                        makeValue(KOPT_DTYPE_I64, {2, 3}, {1, 0, 1, 0, 0, 1})});
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].data, (Data{4, 2, 6, 1, 2, 6}));
}

//===----------------------------------------------------------------------===//
// Weights, embedding, linear algebra
//===----------------------------------------------------------------------===//

TEST(ReferenceLinear, EmbeddingFromSafetensorsAndItsRangeCheck) {
  TempDir dir;
  const int64_t vocab = 32000, d = 2;
  Data table(vocab * d);
  for (int64_t i = 0; i < vocab * d; ++i)
    table[i] = static_cast<double>(i % 1000) / 8;
  auto weights = writeWeights(
      dir,
      {{"embed_tokens.weight", KOPT_DTYPE_F32, {vocab, d}, floatBytes(table)}});
  ASSERT_TRUE(weights);
  GraphBuilder g;
  int64_t ids = g.arg("i32", {1, -1});
  int64_t w =
      g.weight("embed_tokens.weight", "f32", {vocab, d}, "model.mlir:4:10");
  int64_t x = g.op("kopt.embedding", {w, ids}, "f32", {1, -1, d},
                   json::object(), "model.mlir:5:10");
  json graph = g.build({x});
  auto results = runOk(graph, {i32({1, 3}, {0, 31999, 1234})}, weights.get());
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].shape, (Shape{1, 3, 2}));
  EXPECT_EQ(results[0].data, (Data{table[0], table[1], table[63998],
                                   table[63999], table[2468], table[2469]}));
  EXPECT_EQ(
      runError(graph, {i32({1, 2}, {5, 70000})}, KOPT_STATUS_OUT_OF_RANGE,
               weights.get()),
      "kopt.embedding: id 70000 is outside [0, 32000) (at model.mlir:5:10)");
  EXPECT_EQ(runError(graph, {i32({1, 1}, {-1})}, KOPT_STATUS_OUT_OF_RANGE,
                     weights.get()),
            "kopt.embedding: id -1 is outside [0, 32000) (at model.mlir:5:10)");
}

TEST(ReferenceLinear, WeightErrorsNameTheWeight) {
  TempDir dir;
  auto weights = writeWeights(
      dir, {{"w", KOPT_DTYPE_F32, {2, 3}, floatBytes(Data(6, 1.0))}});
  ASSERT_TRUE(weights);
  {
    GraphBuilder g;
    int64_t w = g.weight("lm_head.weight", "f32", {2, 3}, "m.mlir:7:3");
    EXPECT_EQ(runError(g.build({w}), {}, KOPT_STATUS_NOT_FOUND, weights.get()),
              "kopt.weight: weight 'lm_head.weight' is not in the weight set "
              "(at m.mlir:7:3)");
    EXPECT_EQ(runError(g.build({w}), {}, KOPT_STATUS_NOT_FOUND, nullptr),
              "kopt.weight: weight 'lm_head.weight' is needed but no weights "
              "were given (at m.mlir:7:3)");
  }
  {
    GraphBuilder g;
    int64_t w = g.weight("w", "f32", {3, 2});
    EXPECT_EQ(
        runError(g.build({w}), {}, KOPT_STATUS_INVALID_ARGUMENT, weights.get()),
        "kopt.weight: weight 'w' is f32[2, 3] in the weight set but the "
        "graph declares f32[3, 2]");
  }
  {
    GraphBuilder g;
    int64_t w = g.weight("w", "f16", {2, 3});
    EXPECT_EQ(
        runError(g.build({w}), {}, KOPT_STATUS_INVALID_ARGUMENT, weights.get()),
        "kopt.weight: weight 'w' is f32[2, 3] in the weight set but the "
        "graph declares f16[2, 3]");
  }
}

TEST(ReferenceLinear, LinearWithAndWithoutBias) {
  const int64_t rows = 7, k = 13, n = 5;
  Data x = randomData(rows * k, 61), w = randomData(n * k, 62),
       b = randomData(n, 63);
  GraphBuilder g;
  int64_t xv = g.arg("f32", {-1, k});
  int64_t wv = g.arg("f32", {n, k});
  int64_t bv = g.arg("f32", {n});
  int64_t plain = g.op("kopt.linear", {xv, wv}, "f32", {-1, n});
  int64_t biased = g.op("kopt.linear", {xv, wv, bv}, "f32", {-1, n});
  auto results = runOk(g.build({plain, biased}),
                       {f32({rows, k}, x), f32({n, k}, w), f32({n}, b)});
  ASSERT_EQ(results.size(), 2u);
  // x @ w^T as a sum of outer products, column by column of x.
  Data expected(rows * n, 0.0);
  for (int64_t i = 0; i < k; ++i)
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t j = 0; j < n; ++j)
        expected[r * n + j] += x[r * k + i] * w[j * k + i];
  expectNear(results[0].data, expected, 1e-6);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t j = 0; j < n; ++j)
      expected[r * n + j] += b[j];
  expectNear(results[1].data, expected, 1e-6);

  GraphBuilder bad;
  int64_t bx = bad.arg("f32", {2, 4});
  int64_t bw = bad.arg("f32", {3, 5});
  int64_t by = bad.op("kopt.linear", {bx, bw}, "f32", {2, 3});
  EXPECT_EQ(
      runError(bad.build({by}),
               {f32({2, 4}, Data(8, 0)), f32({3, 5}, Data(15, 0))},
               KOPT_STATUS_INVALID_ARGUMENT),
      "kopt.linear: input K (4) does not match weight K (5): input [2, 4], "
      "weight [3, 5]");
}

TEST(ReferenceLinear, MatmulBroadcastsBatchDims) {
  // [2, 1, 3, 4] x [5, 4, 2] -> [2, 5, 3, 2]; and with transpose_b.
  Data a = randomData(2 * 3 * 4, 71), b = randomData(5 * 4 * 2, 72);
  GraphBuilder g;
  int64_t av = g.arg("f32", {2, 1, 3, 4});
  int64_t bv = g.arg("f32", {5, 4, 2});
  int64_t y = g.op("kopt.matmul", {av, bv}, "f32", {2, 5, 3, 2});
  int64_t bt = g.op("kopt.transpose", {bv}, "f32", {5, 2, 4},
                    {{"permutation", {0, 2, 1}}});
  int64_t yt = g.op("kopt.matmul", {av, bt}, "f32", {2, 5, 3, 2},
                    {{"transpose_b", true}});
  auto results =
      runOk(g.build({y, yt}), {f32({2, 1, 3, 4}, a), f32({5, 4, 2}, b)});
  ASSERT_EQ(results.size(), 2u);
  Data expected;
  for (int p = 0; p < 2; ++p)
    for (int q = 0; q < 5; ++q)
      for (int i = 0; i < 3; ++i)
        for (int j = 0; j < 2; ++j) {
          double sum = 0;
          for (int l = 0; l < 4; ++l)
            sum += a[(p * 3 + i) * 4 + l] * b[(q * 4 + l) * 2 + j];
          expected.push_back(sum);
        }
  expectNear(results[0].data, expected, 1e-6);
  EXPECT_EQ(results[1].data, results[0].data);
}

//===----------------------------------------------------------------------===//
// RoPE and attention
//===----------------------------------------------------------------------===//

TEST(ReferenceAttention, RopeRotatesByPosition) {
  // D = 2 (inv_freq = 1): [1, 0] at position p is [cos p, sin p].
  GraphBuilder g;
  int64_t x = g.arg("f32", {1, 3, 1, 2});
  int64_t pos = g.arg("i32", {1, 3});
  int64_t y = g.op("kopt.rope", {x, pos}, "f32", {1, 3, 1, 2});
  auto results = runOk(g.build({y}), {f32({1, 3, 1, 2}, {1, 0, 1, 0, 0, 1}),
                                      i32({1, 3}, {0, 1, 2})});
  ASSERT_EQ(results.size(), 1u);
  expectNear(
      results[0].data,
      {1, 0, std::cos(1.0), std::sin(1.0), -std::sin(2.0), std::cos(2.0)},
      1e-6);
}

TEST(ReferenceAttention, RopeMatchesHuggingFaceWithPartialRotation) {
  const int64_t b = 1, s = 5, h = 2, d = 8, rotary = 4;
  const float theta = 500000.0f;
  Data x = randomData(b * s * h * d, 81);
  Data positions = {3, 17, 100, 4095, 0};
  GraphBuilder g;
  int64_t xv = g.arg("f32", {b, s, h, d});
  int64_t pv = g.arg("i32", {b, s});
  int64_t y = g.op("kopt.rope", {xv, pv}, "f32", {b, s, h, d},
                   {{"theta", theta}, {"rotary_dim", rotary}});
  auto results =
      runOk(g.build({y}), {f32({b, s, h, d}, x), i32({b, s}, positions)});
  ASSERT_EQ(results.size(), 1u);
  // HF: emb = cat(freqs, freqs); out = x * cos(emb) + rotate_half(x) *
  // sin(emb).
  Data expected;
  for (int64_t si = 0; si < s; ++si) {
    std::vector<float> emb(rotary);
    for (int64_t i = 0; i < rotary / 2; ++i) {
      float invFreq =
          1.0f / std::pow(theta, static_cast<float>(2 * i) / rotary);
      emb[i] = emb[i + rotary / 2] =
          static_cast<float>(positions[si]) * invFreq;
    }
    for (int64_t hi = 0; hi < h; ++hi) {
      const double *row = &x[(si * h + hi) * d];
      for (int64_t i = 0; i < d; ++i) {
        if (i >= rotary) {
          expected.push_back(row[i]);
          continue;
        }
        double rotated =
            i < rotary / 2 ? -row[i + rotary / 2] : row[i - rotary / 2];
        expected.push_back(row[i] * static_cast<float>(std::cos(emb[i])) +
                           rotated * static_cast<float>(std::sin(emb[i])));
      }
    }
  }
  expectNear(results[0].data, expected, 1e-6);
}

/// Attention computed the long way: a full mask matrix first, -inf scores
/// where masked, then a row softmax (all-masked rows give zeros).
Data attentionByMask(const Data &q, const Data &k, const Data &v, int64_t batch,
                     int64_t sq, int64_t skv, int64_t hq, int64_t hkv,
                     int64_t d, bool causal, int64_t window,
                     const std::vector<int64_t> &kvLen) {
  Data out(batch * sq * hq * d, 0.0);
  double scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(d)));
  for (int64_t b = 0; b < batch; ++b) {
    int64_t length = kvLen.empty() ? skv : kvLen[b];
    std::vector<std::vector<bool>> mask(sq, std::vector<bool>(skv));
    for (int64_t i = 0; i < sq; ++i)
      for (int64_t j = 0; j < skv; ++j) {
        int64_t p = length - sq + i;
        mask[i][j] = j < length && !(causal && j > p) &&
                     !(window > 0 && p - j >= window);
      }
    for (int64_t h = 0; h < hq; ++h) {
      int64_t kvh = h * hkv / hq;
      for (int64_t i = 0; i < sq; ++i) {
        Data scores(skv, -kInf);
        for (int64_t j = 0; j < skv; ++j) {
          if (!mask[i][j])
            continue;
          double dot = 0;
          for (int64_t e = 0; e < d; ++e)
            dot += q[((b * sq + i) * hq + h) * d + e] *
                   k[((b * skv + j) * hkv + kvh) * d + e];
          scores[j] = dot * scale;
        }
        double best = *std::max_element(scores.begin(), scores.end());
        if (best == -kInf)
          continue;
        double sum = 0;
        for (double &s : scores)
          sum += (s = std::exp(s - best));
        for (int64_t e = 0; e < d; ++e) {
          double acc = 0;
          for (int64_t j = 0; j < skv; ++j)
            acc += scores[j] / sum * v[((b * skv + j) * hkv + kvh) * d + e];
          out[((b * sq + i) * hq + h) * d + e] = acc;
        }
      }
    }
  }
  return out;
}

/// A one-node attention graph; kv_len is an extra i32 argument when asked.
json attentionGraph(Shape qShape, Shape kvShape, json attrs, bool withKvLen,
                    const std::string &dtype = "f32") {
  GraphBuilder g;
  int64_t q = g.arg(dtype, qShape);
  int64_t k = g.arg(dtype, kvShape);
  int64_t v = g.arg(dtype, kvShape);
  std::vector<int64_t> operands = {q, k, v};
  if (withKvLen)
    operands.push_back(g.arg("i32", {kvShape[0]}));
  int64_t o =
      g.op("kopt.attention", operands, dtype, qShape, attrs, "a.mlir:2:2");
  return g.build({o});
}

TEST(ReferenceAttention, MatchesExplicitMaskedSoftmax) {
  const int64_t b = 2, s = 7, h = 2, d = 5;
  Data q = randomData(b * s * h * d, 91), k = randomData(b * s * h * d, 92),
       v = randomData(b * s * h * d, 93);
  struct Case {
    bool causal;
    int64_t window;
  } cases[] = {{false, 0}, {true, 0}, {true, 3}, {false, 2}};
  for (const Case &c : cases) {
    json attrs = json::object();
    if (c.causal)
      attrs["causal"] = true;
    if (c.window)
      attrs["window"] = c.window;
    json graph = attentionGraph({b, s, h, d}, {b, s, h, d}, attrs, false);
    auto results = runOk(graph, {f32({b, s, h, d}, q), f32({b, s, h, d}, k),
                                 f32({b, s, h, d}, v)});
    ASSERT_EQ(results.size(), 1u);
    expectNear(
        results[0].data,
        attentionByMask(q, k, v, b, s, s, h, h, d, c.causal, c.window, {}),
        1e-6,
        "causal=" + std::to_string(c.causal) +
            " window=" + std::to_string(c.window));
  }
}

TEST(ReferenceAttention, SlidingWindowSeesTheLastWKeys) {
  // v_j = j and equal scores: query i averages keys max(0, i-1) .. i.
  const int64_t s = 5;
  Data q(s, 0.0), k(s, 0.0), v;
  for (int j = 0; j < s; ++j)
    v.push_back(j);
  json graph = attentionGraph({1, s, 1, 1}, {1, s, 1, 1},
                              {{"causal", true}, {"window", 2}}, false);
  auto results = runOk(graph, {f32({1, s, 1, 1}, q), f32({1, s, 1, 1}, k),
                               f32({1, s, 1, 1}, v)});
  ASSERT_EQ(results.size(), 1u);
  expectNear(results[0].data, {0, 0.5, 1.5, 2.5, 3.5}, 1e-7);
}

TEST(ReferenceAttention, GroupedQueryEqualsRepeatedKvHeads) {
  const int64_t b = 1, s = 13, hq = 6, hkv = 2, d = 4;
  Data q = randomData(b * s * hq * d, 101),
       k = randomData(b * s * hkv * d, 102),
       v = randomData(b * s * hkv * d, 103);
  // repeat_interleave: query head h reads kv head h / (hq / hkv).
  Data kRep, vRep;
  for (int64_t t = 0; t < s; ++t)
    for (int64_t h = 0; h < hq; ++h)
      for (int64_t e = 0; e < d; ++e) {
        kRep.push_back(k[(t * hkv + h / (hq / hkv)) * d + e]);
        vRep.push_back(v[(t * hkv + h / (hq / hkv)) * d + e]);
      }
  auto grouped = runOk(
      attentionGraph({b, s, hq, d}, {b, s, hkv, d}, {{"causal", true}}, false),
      {f32({b, s, hq, d}, q), f32({b, s, hkv, d}, k), f32({b, s, hkv, d}, v)});
  auto repeated = runOk(
      attentionGraph({b, s, hq, d}, {b, s, hq, d}, {{"causal", true}}, false),
      {f32({b, s, hq, d}, q), f32({b, s, hq, d}, kRep),
       f32({b, s, hq, d}, vRep)});
  ASSERT_EQ(grouped.size(), 1u);
  ASSERT_EQ(repeated.size(), 1u);
  EXPECT_EQ(grouped[0].data, repeated[0].data);
}

TEST(ReferenceAttention, DecodeWithKvLenEqualsFullRecompute) {
  // The last query row of causal attention over 7 tokens equals decoding that
  // token against a cache of 10 whose unused tail is NaN.
  const int64_t s = 7, smax = 10, h = 2, d = 3;
  Data q = randomData(s * h * d, 111), k = randomData(s * h * d, 112),
       v = randomData(s * h * d, 113);
  auto full = runOk(
      attentionGraph({1, s, h, d}, {1, s, h, d}, {{"causal", true}}, false),
      {f32({1, s, h, d}, q), f32({1, s, h, d}, k), f32({1, s, h, d}, v)});
  Data kCache(smax * h * d, kNaN), vCache(smax * h * d, kNaN);
  std::copy(k.begin(), k.end(), kCache.begin());
  std::copy(v.begin(), v.end(), vCache.begin());
  Data qLast(q.end() - h * d, q.end());
  auto decode = runOk(
      attentionGraph({1, 1, h, d}, {1, smax, h, d}, {{"causal", true}}, true),
      {f32({1, 1, h, d}, qLast), f32({1, smax, h, d}, kCache),
       f32({1, smax, h, d}, vCache), i32({1}, {s})});
  ASSERT_EQ(full.size(), 1u);
  ASSERT_EQ(decode.size(), 1u);
  Data fullLast(full[0].data.end() - h * d, full[0].data.end());
  EXPECT_EQ(decode[0].data, fullLast);
}

TEST(ReferenceAttention, RaggedBatchAndEmptyRows) {
  // kv_len per batch row; kv_len = 0 makes every row empty: zeros, not NaN.
  const int64_t b = 3, sq = 2, skv = 5, h = 1, d = 2;
  Data q = randomData(b * sq * h * d, 121),
       k = randomData(b * skv * h * d, 122),
       v = randomData(b * skv * h * d, 123);
  json graph =
      attentionGraph({b, sq, h, d}, {b, skv, h, d}, {{"causal", true}}, true);
  std::vector<int64_t> lengths = {5, 3, 0};
  auto results = runOk(graph, {f32({b, sq, h, d}, q), f32({b, skv, h, d}, k),
                               f32({b, skv, h, d}, v), i32({b}, {5, 3, 0})});
  ASSERT_EQ(results.size(), 1u);
  expectNear(results[0].data,
             attentionByMask(q, k, v, b, sq, skv, h, h, d, true, 0, lengths),
             1e-6);
  for (int64_t i = 2 * sq * d; i < 3 * sq * d; ++i)
    EXPECT_EQ(results[0].data[i], 0.0);
  // kv_len = 1 with Sq = 2: the first query (position -1) sees nothing.
  auto one = runOk(graph, {f32({b, sq, h, d}, q), f32({b, skv, h, d}, k),
                           f32({b, skv, h, d}, v), i32({b}, {1, 1, 1})});
  ASSERT_EQ(one.size(), 1u);
  EXPECT_EQ(one[0].data[0], 0.0);
  EXPECT_EQ(one[0].data[1], 0.0);
  EXPECT_NEAR(one[0].data[2], roundF32(v[0]), 1e-7);

  std::string error = runError(graph,
                               {f32({b, sq, h, d}, q), f32({b, skv, h, d}, k),
                                f32({b, skv, h, d}, v), i32({b}, {5, 6, 0})},
                               KOPT_STATUS_OUT_OF_RANGE);
  EXPECT_EQ(error,
            "kopt.attention: kv_len[1] = 6 is outside [0, 5] (at a.mlir:2:2)");
}

TEST(ReferenceAttention, CacheUpdateThenAttentionEqualsConcatenatedSequence) {
  const int64_t prefix = 4, fresh = 3, smax = 8, h = 2, d = 4;
  Data kOld = randomData(prefix * h * d, 131),
       vOld = randomData(prefix * h * d, 132);
  Data kNew = randomData(fresh * h * d, 133),
       vNew = randomData(fresh * h * d, 134);
  Data q = randomData(fresh * h * d, 135);
  Data kCache(smax * h * d, 0.0), vCache(smax * h * d, 0.0);
  std::copy(kOld.begin(), kOld.end(), kCache.begin());
  std::copy(vOld.begin(), vOld.end(), vCache.begin());

  GraphBuilder g;
  int64_t qv = g.arg("f32", {1, -1, h, d});
  int64_t kc = g.arg("f32", {1, smax, h, d});
  int64_t vc = g.arg("f32", {1, smax, h, d});
  int64_t kn = g.arg("f32", {1, -1, h, d});
  int64_t vn = g.arg("f32", {1, -1, h, d});
  int64_t offset = g.arg("i32", {1});
  int64_t length = g.arg("i32", {1});
  int64_t kc2 =
      g.op("kopt.cache_update", {kc, kn, offset}, "f32", {1, smax, h, d});
  int64_t vc2 = g.op("kopt.cache_update", {vc, vn, offset}, "f32",
                     {1, smax, h, d}, json::object(), "c.mlir:8:8");
  int64_t o = g.op("kopt.attention", {qv, kc2, vc2, length}, "f32",
                   {1, -1, h, d}, {{"causal", true}});
  json graph = g.build({o, kc2});
  auto cached =
      runOk(graph, {f32({1, fresh, h, d}, q), f32({1, smax, h, d}, kCache),
                    f32({1, smax, h, d}, vCache), f32({1, fresh, h, d}, kNew),
                    f32({1, fresh, h, d}, vNew), i32({1}, {prefix}),
                    i32({1}, {prefix + fresh})});
  ASSERT_EQ(cached.size(), 2u);
  // The cache holds the old rows, then the new ones, then zeros.
  for (int64_t i = 0; i < fresh * h * d; ++i)
    EXPECT_EQ(cached[1].data[prefix * h * d + i], kNew[i]);
  EXPECT_EQ(cached[1].data[(prefix + fresh) * h * d], 0.0);

  Data kAll = kOld, vAll = vOld;
  kAll.insert(kAll.end(), kNew.begin(), kNew.end());
  vAll.insert(vAll.end(), vNew.begin(), vNew.end());
  const int64_t total = prefix + fresh;
  auto direct = runOk(attentionGraph({1, fresh, h, d}, {1, total, h, d},
                                     {{"causal", true}}, false),
                      {f32({1, fresh, h, d}, q), f32({1, total, h, d}, kAll),
                       f32({1, total, h, d}, vAll)});
  ASSERT_EQ(direct.size(), 1u);
  expectNear(cached[0].data, direct[0].data, 1e-7);

  // Writing past Smax, or before 0, is reported.
  std::vector<Value> inputs = {f32({1, fresh, h, d}, q),
                               f32({1, smax, h, d}, kCache),
                               f32({1, smax, h, d}, vCache),
                               f32({1, fresh, h, d}, kNew),
                               f32({1, fresh, h, d}, vNew),
                               i32({1}, {6}),
                               i32({1}, {8})};
  EXPECT_EQ(runError(graph, inputs, KOPT_STATUS_OUT_OF_RANGE),
            "kopt.cache_update: offset[0] = 6 with 3 new positions writes "
            "outside the cache of length 8");
  inputs[5] = i32({1}, {-1});
  EXPECT_EQ(runError(graph, inputs, KOPT_STATUS_OUT_OF_RANGE),
            "kopt.cache_update: offset[0] = -1 with 3 new positions writes "
            "outside the cache of length 8");
}

TEST(ReferenceAttention, LinearAttentionMatchesQuadraticForm) {
  const int64_t b = 2, s = 7, h = 2, d = 3;
  const std::vector<double> decay = {0.9, 0.5};
  Data q = randomData(b * s * h * d, 141), k = randomData(b * s * h * d, 142),
       v = randomData(b * s * h * d, 143);
  GraphBuilder g;
  int64_t qv = g.arg("f32", {b, -1, h, d});
  int64_t kv = g.arg("f32", {b, -1, h, d});
  int64_t vv = g.arg("f32", {b, -1, h, d});
  auto os = g.ops("kopt.linear_attention", {qv, kv, vv},
                  {{"f32", {b, -1, h, d}}, {"f32", {b, h, d, d}}},
                  {{"decay", decay}});
  auto results =
      runOk(g.build({os[0], os[1]}),
            {f32({b, s, h, d}, q), f32({b, s, h, d}, k), f32({b, s, h, d}, v)});
  ASSERT_EQ(results.size(), 2u);
  auto at = [&](int64_t bi, int64_t t, int64_t hi) {
    return ((bi * s + t) * h + hi) * d;
  };
  Data expected(b * s * h * d, 0.0), state(b * h * d * d, 0.0);
  for (int64_t bi = 0; bi < b; ++bi)
    for (int64_t hi = 0; hi < h; ++hi) {
      double lambda = static_cast<float>(decay[hi]);
      for (int64_t t = 0; t < s; ++t)
        for (int64_t u = 0; u <= t; ++u) {
          // o_t = sum_{u<=t} decay^(t-u) (q_t . k_u) v_u.
          double qk = 0;
          for (int64_t e = 0; e < d; ++e)
            qk += q[at(bi, t, hi) + e] * k[at(bi, u, hi) + e];
          for (int64_t e = 0; e < d; ++e)
            expected[at(bi, t, hi) + e] +=
                std::pow(lambda, t - u) * qk * v[at(bi, u, hi) + e];
        }
      // S = sum_u decay^(s-1-u) k_u^T v_u.
      for (int64_t u = 0; u < s; ++u)
        for (int64_t r = 0; r < d; ++r)
          for (int64_t c = 0; c < d; ++c)
            state[((bi * h + hi) * d + r) * d + c] +=
                std::pow(lambda, s - 1 - u) * k[at(bi, u, hi) + r] *
                v[at(bi, u, hi) + c];
    }
  expectNear(results[0].data, expected, 1e-5);
  expectNear(results[1].data, state, 1e-5);
}

TEST(ReferenceAttention, LinearAttentionChunksThroughItsState) {
  // Running 3 then 4 tokens through the state equals running 7 at once.
  const int64_t s1 = 3, s2 = 4, h = 1, d = 4;
  Data q = randomData((s1 + s2) * h * d, 151),
       k = randomData((s1 + s2) * h * d, 152),
       v = randomData((s1 + s2) * h * d, 153);
  GraphBuilder g;
  int64_t qv = g.arg("f32", {1, -1, h, d});
  int64_t kv = g.arg("f32", {1, -1, h, d});
  int64_t vv = g.arg("f32", {1, -1, h, d});
  int64_t sv = g.arg("f32", {1, h, d, d});
  auto os = g.ops("kopt.linear_attention", {qv, kv, vv, sv},
                  {{"f32", {1, -1, h, d}}, {"f32", {1, h, d, d}}},
                  {{"decay", {0.75}}});
  json graph = g.build({os[0], os[1]});
  auto slice = [&](const Data &x, int64_t from, int64_t to) {
    return Data(x.begin() + from * h * d, x.begin() + to * h * d);
  };
  Data zero(h * d * d, 0.0);
  auto whole =
      runOk(graph, {f32({1, s1 + s2, h, d}, q), f32({1, s1 + s2, h, d}, k),
                    f32({1, s1 + s2, h, d}, v), f32({1, h, d, d}, zero)});
  auto first = runOk(graph, {f32({1, s1, h, d}, slice(q, 0, s1)),
                             f32({1, s1, h, d}, slice(k, 0, s1)),
                             f32({1, s1, h, d}, slice(v, 0, s1)),
                             f32({1, h, d, d}, zero)});
  ASSERT_EQ(first.size(), 2u);
  auto second =
      runOk(graph, {f32({1, s2, h, d}, slice(q, s1, s1 + s2)),
                    f32({1, s2, h, d}, slice(k, s1, s1 + s2)),
                    f32({1, s2, h, d}, slice(v, s1, s1 + s2)), first[1]});
  ASSERT_EQ(whole.size(), 2u);
  ASSERT_EQ(second.size(), 2u);
  Data joined = first[0].data;
  joined.insert(joined.end(), second[0].data.begin(), second[0].data.end());
  expectNear(joined, whole[0].data, 1e-6);
  expectNear(second[1].data, whole[1].data, 1e-6);
}

//===----------------------------------------------------------------------===//
// Mixture of experts
//===----------------------------------------------------------------------===//

TEST(ReferenceMoE, MatchesADensePerTokenLoop) {
  const int64_t tokens = 5, hidden = 4, experts = 4, ffn = 3;
  Data x = randomData(tokens * hidden, 161),
       router = randomData(experts * hidden, 162);
  Data gate = randomData(experts * ffn * hidden, 163),
       up = randomData(experts * ffn * hidden, 164),
       down = randomData(experts * hidden * ffn, 165);
  for (bool normalize : {false, true}) {
    GraphBuilder g;
    int64_t xv = g.arg("f32", {-1, hidden});
    int64_t rv = g.arg("f32", {experts, hidden});
    int64_t gv = g.arg("f32", {experts, ffn, hidden});
    int64_t uv = g.arg("f32", {experts, ffn, hidden});
    int64_t dv = g.arg("f32", {experts, hidden, ffn});
    int64_t y = g.op("kopt.moe", {xv, rv, gv, uv, dv}, "f32", {-1, hidden},
                     {{"top_k", 2}, {"normalize_topk", normalize}});
    auto results = runOk(g.build({y}), {f32({tokens, hidden}, x),
                                        f32({experts, hidden}, router),
                                        f32({experts, ffn, hidden}, gate),
                                        f32({experts, ffn, hidden}, up),
                                        f32({experts, hidden, ffn}, down)});
    ASSERT_EQ(results.size(), 1u);
    Data expected;
    for (int64_t t = 0; t < tokens; ++t) {
      // Every expert's output, densely.
      std::vector<Data> expertOut(experts, Data(hidden, 0.0));
      std::vector<std::pair<double, int64_t>> ranked;
      double total = 0;
      for (int64_t e = 0; e < experts; ++e) {
        double logit = 0;
        for (int64_t i = 0; i < hidden; ++i)
          logit += x[t * hidden + i] * router[e * hidden + i];
        ranked.push_back({std::exp(logit), e});
        total += std::exp(logit);
        for (int64_t f = 0; f < ffn; ++f) {
          double gsum = 0, usum = 0;
          for (int64_t i = 0; i < hidden; ++i) {
            gsum += x[t * hidden + i] * gate[(e * ffn + f) * hidden + i];
            usum += x[t * hidden + i] * up[(e * ffn + f) * hidden + i];
          }
          double act = gsum / (1 + std::exp(-gsum)) * usum;
          for (int64_t i = 0; i < hidden; ++i)
            expertOut[e][i] += act * down[(e * hidden + i) * ffn + f];
        }
      }
      std::sort(ranked.begin(), ranked.end(), [](auto &a, auto &b) {
        return a.first > b.first || (a.first == b.first && a.second < b.second);
      });
      double kept = ranked[0].first + ranked[1].first;
      for (int64_t i = 0; i < hidden; ++i) {
        double acc = 0;
        for (int r = 0; r < 2; ++r)
          acc += ranked[r].first / (normalize ? kept : total) *
                 expertOut[ranked[r].second][i];
        expected.push_back(acc);
      }
    }
    expectNear(results[0].data, expected, 1e-5,
               normalize ? "normalized" : "raw");
  }
}

//===----------------------------------------------------------------------===//
// Host tensors and graph plumbing
//===----------------------------------------------------------------------===//

TEST(ReferenceGraph, EvaluatesHostTensorsOfEveryDType) {
  GraphBuilder g;
  int64_t h = g.arg("f16", {2});
  int64_t b = g.arg("bf16", {2});
  int64_t i8 = g.arg("i8", {2});
  int64_t flag = g.arg("i1", {2});
  int64_t wide = g.arg("f64", {2});
  int64_t hb = g.op("kopt.cast", {h}, "bf16", {2});
  int64_t sum = g.op("kopt.add", {hb, b}, "bf16", {2});
  int64_t i8f = g.op("kopt.cast", {i8}, "f64", {2});
  int64_t prod = g.op("kopt.mul", {i8f, wide}, "f64", {2});
  int64_t flagI = g.op("kopt.cast", {flag}, "i64", {2});
  json graph = g.build({sum, prod, flagI});

  auto tensor = [](kopt_dtype_t dtype, std::vector<uint8_t> bytes) {
    HostTensor t;
    t.dtype = dtype;
    t.shape = {2};
    t.bytes = std::move(bytes);
    return t;
  };
  auto u16 = [](uint16_t a, uint16_t b) {
    return std::vector<uint8_t>{uint8_t(a), uint8_t(a >> 8), uint8_t(b),
                                uint8_t(b >> 8)};
  };
  std::vector<uint8_t> f64Bytes(16);
  double wides[2] = {0.25, -1e300};
  std::memcpy(f64Bytes.data(), wides, 16);
  std::vector<HostTensor> inputs = {
      tensor(KOPT_DTYPE_F16,
             u16(kopt::rt::floatToF16(1.5f), kopt::rt::floatToF16(-2.0f))),
      tensor(KOPT_DTYPE_BF16,
             u16(kopt::rt::floatToBF16(0.25f), kopt::rt::floatToBF16(3.0f))),
      tensor(KOPT_DTYPE_I8, {0xfe, 0x05}), tensor(KOPT_DTYPE_BOOL, {1, 0}),
      tensor(KOPT_DTYPE_F64, f64Bytes)};
  auto results = ref::evaluate(graph, "forward", inputs, nullptr);
  ASSERT_TRUE(results.isOk()) << results.status().message();
  ASSERT_EQ(results->size(), 3u);
  const HostTensor &bf = (*results)[0];
  EXPECT_EQ(bf.dtype, KOPT_DTYPE_BF16);
  ASSERT_EQ(bf.bytes.size(), 4u);
  EXPECT_EQ(kopt::rt::bf16ToFloat(uint16_t(bf.bytes[0] | bf.bytes[1] << 8)),
            1.75f);
  EXPECT_EQ(kopt::rt::bf16ToFloat(uint16_t(bf.bytes[2] | bf.bytes[3] << 8)),
            1.0f);
  double products[2];
  ASSERT_EQ((*results)[1].bytes.size(), 16u);
  std::memcpy(products, (*results)[1].bytes.data(), 16);
  EXPECT_EQ(products[0], -0.5);
  EXPECT_EQ(products[1], -5e300);
  int64_t flags[2];
  ASSERT_EQ((*results)[2].bytes.size(), 16u);
  std::memcpy(flags, (*results)[2].bytes.data(), 16);
  EXPECT_EQ(flags[0], 1);
  EXPECT_EQ(flags[1], 0);

  // A host tensor whose byte count disagrees with its shape.
  inputs[4].bytes.resize(8);
  auto bad = ref::evaluate(graph, "forward", inputs, nullptr);
  ASSERT_FALSE(bad.isOk());
  EXPECT_EQ(bad.status().message(),
            "forward: input 4: tensor f64[2] needs 16 bytes, got 8");
}

TEST(ReferenceGraph, ConstantsAndFuncReturn) {
  GraphBuilder g;
  int64_t c =
      g.constant("f16", {2, 2}, {{"data", {{1.0, 2.0}, {0.1, "-inf"}}}});
  int64_t s = g.constant("i32", {3}, {{"splat", 7}});
  g.nodes().push_back({{"op", "func.return"}, {"operands", {c, s}}});
  json graph = g.build({});
  graph["functions"][0].erase("results");
  auto results = runOk(graph, {});
  ASSERT_EQ(results.size(), 2u);
  EXPECT_EQ(results[0].data, (Data{1, 2, roundF16(0.1), -kInf}));
  EXPECT_EQ(results[1].data, (Data{7, 7, 7}));

  GraphBuilder bad;
  int64_t bc = bad.constant("f32", {3}, {{"data", {1.0, 2.0}}});
  EXPECT_EQ(runError(bad.build({bc}), {}, KOPT_STATUS_INVALID_ARGUMENT),
            "arith.constant: 'data' must hold 3 numbers for f32[3]");
}

TEST(ReferenceGraph, InputsAreCheckedAgainstTheArguments) {
  GraphBuilder g;
  int64_t ids = g.arg("i32", {1, -1});
  int64_t y = g.op("kopt.cast", {ids}, "f32", {1, -1});
  json graph = g.build({y});
  EXPECT_EQ(runError(graph, {}, KOPT_STATUS_INVALID_ARGUMENT),
            "forward: expects 1 inputs, got 0");
  EXPECT_EQ(
      runError(graph, {f32({1, 2}, {1, 2})}, KOPT_STATUS_INVALID_ARGUMENT),
      "forward: argument 0 must be i32[1, ?], got f32");
  EXPECT_EQ(runError(graph, {i32({2}, {1, 2})}, KOPT_STATUS_INVALID_ARGUMENT),
            "forward: argument 0 must have shape [1, ?] (rank 2), got [2]");
  EXPECT_EQ(
      runError(graph, {i32({2, 1}, {1, 2})}, KOPT_STATUS_INVALID_ARGUMENT),
      "forward: argument 0 must have shape [1, ?] (rank 2), got [2, 1]");
  EXPECT_EQ(
      runError(graph, {i32({1, 3}, {1, 2})}, KOPT_STATUS_INVALID_ARGUMENT),
      "forward: argument 0: shape [1, 3] does not match its 2 elements");
  auto missing = ref::evaluateValues(graph, "decode", {}, nullptr);
  ASSERT_FALSE(missing.isOk());
  EXPECT_EQ(missing.status().code(), KOPT_STATUS_NOT_FOUND);
  EXPECT_EQ(missing.status().message(),
            "graph: no function named 'decode' (it has: forward)");
}

TEST(ReferenceGraph, DeclaredResultTypesAreChecked) {
  GraphBuilder g;
  int64_t x = g.arg("f32", {-1, 4});
  int64_t y =
      g.op("kopt.softmax", {x}, "f32", {-1, 5}, json::object(), "r.mlir:1:1");
  EXPECT_EQ(
      runError(g.build({y}), {f32({2, 4}, Data(8, 0))},
               KOPT_STATUS_INVALID_ARGUMENT),
      "kopt.softmax: result 0 is declared f32[?, 5] but computes f32[2, 4] "
      "(at r.mlir:1:1)");
}

TEST(ReferenceGraph, UnknownOpIsUnimplemented) {
  GraphBuilder g;
  int64_t x = g.arg("f32", {2});
  int64_t y =
      g.op("kopt.frobnicate", {x}, "f32", {2}, json::object(), "u.mlir:3:5");
  EXPECT_EQ(
      runError(g.build({y}), {f32({2}, {1, 2})}, KOPT_STATUS_UNIMPLEMENTED),
      "kopt.frobnicate: the reference evaluator does not implement this op "
      "(at u.mlir:3:5)");
}

TEST(ReferenceGraph, MalformedGraphsAreErrorsNotCrashes) {
  GraphBuilder g;
  int64_t x = g.arg("f32", {2});
  int64_t y = g.op("kopt.neg", {x}, "f32", {2});
  json good = g.build({y});
  std::vector<Value> in = {f32({2}, {1, 2})};
  ASSERT_EQ(runOk(good, in).size(), 1u);

  struct Case {
    std::function<void(json &)> corrupt;
    const char *message;
  } cases[] = {
      {[](json &j) { j = json::array(); }, "graph: must be a JSON object"},
      {[](json &j) { j["format"] = "onnx"; },
       "graph: 'format' must be \"kopt-graph\""},
      {[](json &j) { j["version"] = "1"; },
       "graph: needs an integer 'version'"},
      {[](json &j) { j["functions"] = 3; }, "graph: needs a 'functions' array"},
      {[](json &j) { j["functions"][0]["name"] = 5; },
       "graph: every function needs a 'name' string"},
      {[](json &j) { j["functions"][0]["nodes"] = json::object(); },
       "forward: function needs a 'nodes' array"},
      {[](json &j) { j["functions"][0]["args"][0]["dtype"] = "f128"; },
       "forward: argument 0: unknown dtype 'f128'"},
      {[](json &j) { j["functions"][0]["args"][0]["shape"] = {-2}; },
       "forward: argument 0 has an invalid shape [-2] (dims are >= 0, or -1 "
       "when "
       "dynamic)"},
      {[](json &j) { j["functions"][0]["nodes"][0]["op"] = 7; },
       "node 0 needs an 'op' string"},
      {[](json &j) { j["functions"][0]["nodes"][0]["operands"] = {"x"}; },
       "kopt.neg: operands must be value ids, got [\"x\"]"},
      {[](json &j) { j["functions"][0]["nodes"][0]["operands"] = {42}; },
       "kopt.neg: operand 0 (value 42) is not defined before its use"},
      {[](json &j) {
         j["functions"][0]["nodes"][0]["operands"] = {0, 0};
       },
       "kopt.neg: expects 1 operands, got 2"},
      {[](json &j) {
         j["functions"][0]["nodes"][0]["results"][0]["value"] = 0;
       },
       "kopt.neg: value 0 is defined more than once"},
      {[](json &j) { j["functions"][0]["nodes"][0]["results"] = 1; },
       "kopt.neg: 'results' must be an array"},
      {[](json &j) {
         j["functions"][0]["nodes"][0]["attrs"] = {1, 2};
       },
       "kopt.neg: 'attrs' must be an object"},
      {[](json &j) { j["functions"][0]["results"] = {99}; },
       "forward: result value 99 is never defined"},
      {[](json &j) { j["functions"][0]["results"][0] = 1.5; },
       "forward: 'results' must list value ids, got [1.5]"},
      {[](json &j) { j["functions"][0]["args"][0]["dtype"] = "f8E5M2"; },
       "forward: argument 0: the reference evaluator does not support dtype "
       "f8E5M2"},
  };
  for (const Case &c : cases) {
    json graph = good;
    c.corrupt(graph);
    StatusOr<std::vector<Value>> results = run(graph, in);
    ASSERT_FALSE(results.isOk()) << c.message;
    EXPECT_EQ(results.status().message(), c.message);
  }
}

TEST(ReferenceGraph, MalformedAttributesAreErrors) {
  GraphBuilder g;
  int64_t x = g.arg("f32", {2, 3});
  int64_t y = g.op("kopt.softmax", {x}, "f32", {2, 3}, {{"axis", "last"}});
  EXPECT_EQ(runError(g.build({y}), {f32({2, 3}, Data(6, 0))},
                     KOPT_STATUS_INVALID_ARGUMENT),
            "kopt.softmax: attribute 'axis' must be an integer, got \"last\"");
  GraphBuilder g2;
  int64_t x2 = g2.arg("f32", {2, 3});
  int64_t y2 = g2.op("kopt.softmax", {x2}, "f32", {2, 3}, {{"axis", 2}});
  EXPECT_EQ(runError(g2.build({y2}), {f32({2, 3}, Data(6, 0))},
                     KOPT_STATUS_INVALID_ARGUMENT),
            "kopt.softmax: axis 2 is out of range for rank 2");
  GraphBuilder g3;
  int64_t x3 = g3.arg("f32", {1, 2, 2, 2});
  int64_t y3 = g3.op("kopt.attention", {x3, x3, x3}, "f32", {1, 2, 2, 2},
                     {{"causal", 1}});
  EXPECT_EQ(runError(g3.build({y3}), {f32({1, 2, 2, 2}, Data(8, 0))},
                     KOPT_STATUS_INVALID_ARGUMENT),
            "kopt.attention: attribute 'causal' must be true or false, got 1");
}

TEST(ReferenceGraph, ParseGraphRejectsBadText) {
  auto parsed = ref::parseGraph("{\"format\": ");
  ASSERT_FALSE(parsed.isOk());
  EXPECT_EQ(parsed.status().code(), KOPT_STATUS_INVALID_ARGUMENT);
  auto ok = ref::parseGraph(R"({"format": "kopt-graph"})");
  ASSERT_TRUE(ok.isOk());
  EXPECT_EQ((*ok)["format"], "kopt-graph");
}

TEST(ReferenceGraph, HostileShapesAreRefused) {
  GraphBuilder g;
  int64_t c = g.constant("f32", {1 << 20, 1 << 20}, {{"splat", 0}});
  std::string error =
      runError(g.build({c}), {}, KOPT_STATUS_RESOURCE_EXHAUSTED);
  EXPECT_TRUE(contains(error,
                       "arith.constant: result shape [1048576, 1048576] is "
                       "invalid or exceeds"))
      << error;

  // Zero elements, but dims whose product would overflow.
  GraphBuilder g2;
  int64_t x = g2.arg("f32", {-1, -1, -1});
  int64_t y = g2.op("kopt.neg", {x}, "f32", {-1, -1, -1});
  error = runError(g2.build({y}),
                   {f32({0, int64_t(1) << 40, int64_t(1) << 40}, {})},
                   KOPT_STATUS_INVALID_ARGUMENT);
  EXPECT_EQ(error,
            "forward: argument 0: shape [0, 1099511627776, 1099511627776] "
            "is invalid or exceeds the reference evaluator's limit of "
            "268435456 elements");
}

} // namespace
