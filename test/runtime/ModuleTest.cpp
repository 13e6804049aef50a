//===- ModuleTest.cpp - Loading, binding and invoking compiled modules ----===//
//
// Runs the hand-written fake artifact (Inputs/fake_model.c, built into the
// shared library KOPT_FAKE_MODEL_SO) with plans the tests write: dynamic
// shapes, symbol binding errors, plan validation, weights, the status
// buffer, and the C API's handling of misuse.
//
//===----------------------------------------------------------------------===//

#include "kopt/runtime/module.hpp"
#include "TempDir.h"
#include "kopt/runtime/ArtifactDigest.h"
#include "kopt/runtime/CompiledModule.h"
#include "kopt/runtime/Plan.h"
#include "kopt/runtime/Safetensors.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <iterator>
#include <thread>
#include <unistd.h>

#ifndef KOPT_FAKE_MODEL_SO
#error "KOPT_FAKE_MODEL_SO must name the library built from Inputs/fake_model.c"
#endif

namespace {

using kopt::rt::TensorToWrite;
using kopt::test::TempDir;

/// A plan for every function of the fake artifact.
const char *const kPlan = R"json({
  "format": "kopt-plan", "version": 1,
  "artifact": {"kind": "cpu-shared-object", "file": "model.so"},
  "default_weights": "w.safetensors",
  "functions": [
    {"name": "add", "symbol": "kopt_call_add",
     "inputs": [{"dtype": "f32", "shape": ["s0"]}, {"dtype": "f32", "shape": ["s0"]}],
     "weights": [{"name": "bias", "dtype": "f32", "shape": [1]}],
     "outputs": [{"dtype": "f32", "shape": ["s0"]}],
     "call": ["input:0", "input:1", "weight:0", "output:0", "status"],
     "flops": "s0 * 2", "bytes": "s0 * 12 + 4"},
    {"name": "embed", "symbol": "kopt_call_embed",
     "inputs": [{"dtype": "i32", "shape": [1, "s0"]}],
     "weights": [{"name": "table", "dtype": "f32", "shape": [10, 3]}],
     "outputs": [{"dtype": "f32", "shape": [1, "s0", 3]}],
     "call": ["weight:0", "input:0", "output:0", "status"]},
    {"name": "tile2", "symbol": "kopt_call_tile2",
     "inputs": [{"dtype": "f32", "shape": ["s0"]}],
     "outputs": [{"dtype": "f32", "shape": ["s0 * 2"]}, {"dtype": "f32", "shape": []}],
     "call": ["input:0", "output:0", "output:1"]},
    {"name": "kv_append", "symbol": "kopt_call_kv_append",
     "inputs": [{"dtype": "i32", "shape": [1]}],
     "outputs": [],
     "call": ["input:0", "status"]},
    {"name": "first_half", "symbol": "kopt_call_first_half",
     "inputs": [{"dtype": "f32", "shape": ["s0"]}],
     "outputs": [{"dtype": "f32", "shape": ["s0"]}],
     "call": ["input:0", "output:0"]}
  ],
  "graph": {"format": "kopt-graph", "version": 1, "functions": [
    {"name": "embed", "nodes": [
      {"op": "kopt.weight", "loc": "model.mlir:3:8"},
      {"op": "kopt.embedding", "loc": "model.mlir:5:10"}]},
    {"name": "kv_append", "nodes": [
      {"op": "kopt.cache_update", "loc": "model.mlir:9:4"}]}]}
})json";

/// `text` with the first `from` replaced by `to` (which must be there).
std::string replaced(std::string text, const std::string &from,
                     const std::string &to) {
  size_t at = text.find(from);
  EXPECT_NE(at, std::string::npos) << "'" << from << "' is not in the plan";
  if (at != std::string::npos)
    text.replace(at, from.size(), to);
  return text;
}

std::vector<uint8_t> floatBytes(const std::vector<float> &values) {
  std::vector<uint8_t> bytes(values.size() * 4);
  std::memcpy(bytes.data(), values.data(), bytes.size());
  return bytes;
}

/// The weights the plan wants: bias = [0.5], table[v][d] = 10 v + d.
std::vector<TensorToWrite> goodWeights() {
  std::vector<float> table;
  for (int v = 0; v < 10; ++v)
    for (int d = 0; d < 3; ++d)
      table.push_back(10.0f * v + d);
  return {{"bias", KOPT_DTYPE_F32, {1}, floatBytes({0.5f})},
          {"table", KOPT_DTYPE_F32, {10, 3}, floatBytes(table)}};
}

/// A folder holding model.so (a copy of the fake artifact), its plan and a
/// checkpoint.
class Artifact {
public:
  explicit Artifact(const std::string &plan = kPlan) {
    std::filesystem::copy_file(
        KOPT_FAKE_MODEL_SO, path(),
        std::filesystem::copy_options::overwrite_existing);
    writePlan(plan);
    writeWeights(goodWeights());
  }

  std::string path() const { return dir_.file("model.so"); }
  std::string weightsPath() const { return dir_.file("w.safetensors"); }
  const TempDir &dir() const { return dir_; }

  void writePlan(const std::string &plan) const {
    dir_.write("model.plan.json",
               std::vector<uint8_t>(plan.begin(), plan.end()));
  }
  void writeWeights(const std::vector<TensorToWrite> &tensors) const {
    ASSERT_TRUE(kopt::rt::writeSafetensors(weightsPath(), tensors, {}).isOk());
  }

  /// Loads the module and binds the checkpoint, failing the test on error.
  kopt::Module load() const {
    kopt::Module module;
    kopt::Error error = kopt::Module::load(path(), module);
    EXPECT_FALSE(error) << error.message;
    kopt::Weights weights;
    error = kopt::Weights::open(weightsPath(), weights);
    EXPECT_FALSE(error) << error.message;
    error = module.bindWeights(weights);
    EXPECT_FALSE(error) << error.message;
    return module;
  }

private:
  TempDir dir_;
};

/// The error of loading `plan` beside the fake artifact.
kopt::Error loadError(const std::string &plan) {
  Artifact artifact(plan);
  kopt::Module module;
  kopt::Error error = kopt::Module::load(artifact.path(), module);
  EXPECT_TRUE(error) << "the plan was accepted";
  return error;
}

kopt::Tensor floats(const std::vector<int64_t> &shape,
                    const std::vector<float> &values) {
  kopt::Tensor tensor;
  kopt::Error error =
      kopt::Tensor::fromData(KOPT_DTYPE_F32, shape, values, tensor);
  EXPECT_FALSE(error) << error.message;
  return tensor;
}

kopt::Tensor ints(const std::vector<int64_t> &shape,
                  const std::vector<int32_t> &values) {
  kopt::Tensor tensor;
  kopt::Error error =
      kopt::Tensor::fromData(KOPT_DTYPE_I32, shape, values, tensor);
  EXPECT_FALSE(error) << error.message;
  return tensor;
}

/// Invokes and expects a failure with `code`; returns its message.
std::string invokeError(const kopt::Module &module, const std::string &function,
                        const std::vector<kopt::Tensor> &inputs,
                        kopt_status_code_t code) {
  std::vector<kopt::Tensor> outputs;
  kopt::Error error = module.invoke(function, inputs, outputs);
  EXPECT_EQ(error.code, code)
      << kopt_status_code_name(error.code) << ": " << error.message;
  EXPECT_TRUE(outputs.empty());
  return error.message;
}

bool contains(const std::string &text, const std::string &part) {
  return text.find(part) != std::string::npos;
}

//===----------------------------------------------------------------------===//
// Invoking
//===----------------------------------------------------------------------===//

TEST(Module, InvokesWithDynamicShapes) {
  Artifact artifact;
  kopt::Module module = artifact.load();
  for (int64_t n : {1, 7, 13}) {
    std::vector<float> a(n), b(n);
    for (int64_t i = 0; i < n; ++i) {
      a[i] = static_cast<float>(i);
      b[i] = 10.0f * i;
    }
    std::vector<kopt::Tensor> outputs;
    kopt::Error error =
        module.invoke("add", {floats({n}, a), floats({n}, b)}, outputs);
    ASSERT_FALSE(error) << error.message;
    ASSERT_EQ(outputs.size(), 1u);
    EXPECT_EQ(outputs[0].dtype(), KOPT_DTYPE_F32);
    EXPECT_EQ(outputs[0].shape(), (std::vector<int64_t>{n}));
    std::vector<float> out = outputs[0].values<float>();
    ASSERT_EQ(out.size(), static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i)
      EXPECT_EQ(out[i], 11.0f * i + 0.5f) << "n = " << n << ", i = " << i;
  }
}

TEST(Module, PassesArgumentsInTheCallOrder) {
  // embed's call list puts the weight first and uses rank 2 and 3 memrefs.
  Artifact artifact;
  kopt::Module module = artifact.load();
  for (std::vector<int32_t> ids :
       {std::vector<int32_t>{4}, {0, 9, 3, 3, 1, 2, 8}}) {
    auto length = static_cast<int64_t>(ids.size());
    std::vector<kopt::Tensor> outputs;
    kopt::Error error =
        module.invoke("embed", {ints({1, length}, ids)}, outputs);
    ASSERT_FALSE(error) << error.message;
    ASSERT_EQ(outputs.size(), 1u);
    EXPECT_EQ(outputs[0].shape(), (std::vector<int64_t>{1, length, 3}));
    std::vector<float> out = outputs[0].values<float>();
    for (int64_t s = 0; s < length; ++s)
      for (int d = 0; d < 3; ++d)
        EXPECT_EQ(out[s * 3 + d], 10.0f * ids[s] + d);
  }
}

TEST(Module, EvaluatesOutputShapesAndReturnsScalars) {
  Artifact artifact;
  kopt::Module module = artifact.load();
  std::vector<kopt::Tensor> outputs;
  kopt::Error error =
      module.invoke("tile2", {floats({5}, {1, 2, 3, 4, 5})}, outputs);
  ASSERT_FALSE(error) << error.message;
  ASSERT_EQ(outputs.size(), 2u);
  EXPECT_EQ(outputs[0].shape(), (std::vector<int64_t>{10}));
  EXPECT_EQ(outputs[0].values<float>(),
            (std::vector<float>{1, 2, 3, 4, 5, 1, 2, 3, 4, 5}));
  EXPECT_TRUE(outputs[1].shape().empty());
  EXPECT_EQ(outputs[1].values<float>(), (std::vector<float>{15}));
  // Empty inputs make empty outputs.
  error = module.invoke("tile2", {floats({0}, {})}, outputs);
  ASSERT_FALSE(error) << error.message;
  EXPECT_EQ(outputs[0].shape(), (std::vector<int64_t>{0}));
  EXPECT_EQ(outputs[0].byteSize(), 0u);
  EXPECT_EQ(outputs[1].values<float>(), (std::vector<float>{0}));
}

TEST(Module, FunctionsWithoutWeightsNeedNoCheckpoint) {
  Artifact artifact;
  kopt::Module module;
  ASSERT_FALSE(kopt::Module::load(artifact.path(), module));
  std::vector<kopt::Tensor> outputs;
  EXPECT_FALSE(module.invoke("tile2", {floats({1}, {2})}, outputs));
  EXPECT_EQ(invokeError(module, "add", {floats({1}, {1}), floats({1}, {1})},
                        KOPT_STATUS_INVALID_ARGUMENT),
            "add reads 1 weight (e.g. 'bias') but no weights are bound; bind "
            "a checkpoint first");
}

TEST(Module, PoisonedOutputsShowUnwrittenElements) {
  Artifact artifact;
  auto module = kopt::rt::CompiledModule::load(artifact.path());
  ASSERT_TRUE(module.isOk()) << module.status().message();
  kopt::rt::HostTensor x{KOPT_DTYPE_F32, {4}, floatBytes({1, 2, 3, 4})};
  auto zeroed = (*module)->invoke("first_half", {&x});
  ASSERT_TRUE(zeroed.isOk()) << zeroed.status().message();
  EXPECT_EQ((*zeroed)[0].bytes, floatBytes({1, 2, 0, 0}));
  kopt::rt::InvokeOptions options;
  options.poisonOutputs = true;
  auto poisoned = (*module)->invoke("first_half", {&x}, options);
  ASSERT_TRUE(poisoned.isOk()) << poisoned.status().message();
  float values[4];
  std::memcpy(values, (*poisoned)[0].bytes.data(), 16);
  EXPECT_EQ(values[1], 2.0f);
  EXPECT_TRUE(std::isnan(values[2]));
  EXPECT_TRUE(std::isnan(values[3]));
}

TEST(Module, ConcurrentCallsAreIndependent) {
  Artifact artifact;
  kopt::Module module = artifact.load();
  std::vector<std::thread> threads;
  std::vector<int> failures(4, 0);
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (int round = 0; round < 50; ++round) {
        int64_t n = 1 + (t * 7 + round) % 13;
        std::vector<float> a(n, static_cast<float>(t)), b(n, 1.0f);
        std::vector<kopt::Tensor> outputs;
        if (module.invoke("add", {floats({n}, a), floats({n}, b)}, outputs) ||
            outputs[0].values<float>() != std::vector<float>(n, t + 1.5f))
          ++failures[t];
      }
    });
  for (std::thread &thread : threads)
    thread.join();
  EXPECT_EQ(failures, std::vector<int>(4, 0));
}

//===----------------------------------------------------------------------===//
// Binding symbols from the inputs
//===----------------------------------------------------------------------===//

TEST(Module, NamesTheInputThatBreaksTheBinding) {
  Artifact artifact;
  kopt::Module module = artifact.load();
  EXPECT_EQ(invokeError(module, "add",
                        {floats({5}, std::vector<float>(5)),
                         floats({7}, std::vector<float>(7))},
                        KOPT_STATUS_INVALID_ARGUMENT),
            "add: input 1 has shape [7] but the plan requires [s0] with s0 = 5 "
            "(bound by input 0)");
  EXPECT_EQ(invokeError(module, "add", {floats({2}, {1, 2}), ints({2}, {1, 2})},
                        KOPT_STATUS_INVALID_ARGUMENT),
            "add: input 1 has dtype i32 but the plan requires f32");
  EXPECT_EQ(
      invokeError(module, "add", {floats({1, 2}, {1, 2}), floats({2}, {1, 2})},
                  KOPT_STATUS_INVALID_ARGUMENT),
      "add: input 0 has rank 2 (shape [1x2]) but the plan requires rank 1 "
      "[s0]");
  EXPECT_EQ(invokeError(module, "add", {floats({2}, {1, 2})},
                        KOPT_STATUS_INVALID_ARGUMENT),
            "add takes 2 inputs but 1 was given");
  EXPECT_EQ(invokeError(module, "add",
                        {floats({1}, {1}), floats({1}, {1}), floats({1}, {1})},
                        KOPT_STATUS_INVALID_ARGUMENT),
            "add takes 2 inputs but 3 were given");
  EXPECT_EQ(invokeError(module, "embed",
                        {ints({2, 3}, std::vector<int32_t>(6))},
                        KOPT_STATUS_INVALID_ARGUMENT),
            "embed: input 0 has shape [2x3] but the plan requires [1xs0]");
  EXPECT_EQ(invokeError(module, "nope", {}, KOPT_STATUS_NOT_FOUND),
            "the module has no function 'nope' (it has "
            "add, embed, tile2, kv_append, first_half)");
}

TEST(Module, ChecksInputDimsThatAreExpressions) {
  Artifact artifact(replaced(
      kPlan,
      R"([{"dtype": "f32", "shape": ["s0"]}, {"dtype": "f32", "shape": ["s0"]}])",
      R"([{"dtype": "f32", "shape": ["s0"]}, {"dtype": "f32", "shape": ["(s0 * 2) floordiv 2"]}])"));
  kopt::Module module = artifact.load();
  std::vector<kopt::Tensor> outputs;
  kopt::Error error = module.invoke(
      "add", {floats({3}, {1, 2, 3}), floats({3}, {1, 1, 1})}, outputs);
  ASSERT_FALSE(error) << error.message;
  EXPECT_EQ(outputs[0].values<float>(), (std::vector<float>{2.5f, 3.5f, 4.5f}));
  EXPECT_EQ(invokeError(module, "add",
                        {floats({5}, std::vector<float>(5)),
                         floats({4}, std::vector<float>(4))},
                        KOPT_STATUS_INVALID_ARGUMENT),
            "add: input 1 has shape [4] but the plan requires [((s0 * 2) "
            "floordiv 2)] with s0 = 5 (bound by input 0)");
}

TEST(Module, RejectsNegativeOutputDims) {
  Artifact artifact(
      replaced(kPlan, R"("shape": ["s0 * 2"])", R"("shape": ["s0 - 3"])"));
  kopt::Module module = artifact.load();
  std::string message = invokeError(module, "tile2", {floats({2}, {1, 2})},
                                    KOPT_STATUS_INVALID_ARGUMENT);
  EXPECT_EQ(message, "tile2: output 0 dim 0 's0 - 3' is -1 for these inputs; a "
                     "dim cannot be negative");
}

//===----------------------------------------------------------------------===//
// Plan validation
//===----------------------------------------------------------------------===//

TEST(Module, RejectsMalformedPlans) {
  struct Case {
    std::string from, to;
    kopt_status_code_t code;
    std::string message;
  };
  const std::vector<Case> cases = {
      {R"("format": "kopt-plan", "version": 1,)", "", KOPT_STATUS_DATA_LOSS,
       R"("format" must be "kopt-plan")"},
      {R"("version": 1)", R"("version": 2)", KOPT_STATUS_UNIMPLEMENTED,
       "plan version 2 is not supported (this runtime reads version 1)"},
      {R"("version": 1)", R"("version": "1")", KOPT_STATUS_DATA_LOSS,
       R"("version" must be an integer)"},
      {R"("dtype": "i32", "shape": [1, "s0"])",
       R"("dtype": "i31", "shape": [1, "s0"])", KOPT_STATUS_DATA_LOSS,
       "functions[1] ('embed').inputs[0]: unknown dtype 'i31'"},
      {R"("shape": ["s0 * 2"])", R"("shape": ["s0 +"])", KOPT_STATUS_DATA_LOSS,
       "functions[2] ('tile2').outputs[0].shape[0]: 's0 +' is not a shape "
       "expression"},
      {R"(["input:0", "output:0", "output:1"])",
       R"(["input:0", "output:0", "output:2"])", KOPT_STATUS_DATA_LOSS,
       "'output:2' refers to a missing output (the function has 2)"},
      {R"("shape": ["s0 * 2"])", R"("shape": ["s1 * 2"])",
       KOPT_STATUS_DATA_LOSS,
       "functions[2] ('tile2').outputs[0].shape[0]: symbol s1 in 's1 * 2' is "
       "not bound by any input dim"},
      {R"(["input:0", "output:0", "output:1"])", R"(["output:0", "output:1"])",
       KOPT_STATUS_DATA_LOSS,
       "functions[2] ('tile2').call: does not pass input:0"},
      {R"(["input:0", "output:0", "output:1"])",
       R"(["input:0", "output:0", "output:1", "output:0"])",
       KOPT_STATUS_DATA_LOSS, "'output:0' appears more than once"},
      {R"(["input:0", "status"])", R"(["input:0", "status", "status"])",
       KOPT_STATUS_DATA_LOSS, R"("status" appears more than once)"},
      {R"(["input:0", "status"])", R"(["input:00", "status"])",
       KOPT_STATUS_DATA_LOSS, R"('input:00' is not "input:N")"},
      {R"(["input:0", "status"])", R"(["in:0", "status"])",
       KOPT_STATUS_DATA_LOSS, R"('in:0' is not "input:N")"},
      {R"(["input:0", "status"])", R"(["input:0", 7])", KOPT_STATUS_DATA_LOSS,
       "call[1]: must be a string"},
      {R"("shape": [1, "s0", 3])", R"("shape": [1, "s0", 3, 1, 1, 1, 1, 1, 1])",
       KOPT_STATUS_DATA_LOSS, "rank 9 exceeds the maximum of 8"},
      {R"("shape": [1, "s0", 3])", R"("shape": [1, "s0", -3])",
       KOPT_STATUS_DATA_LOSS, "a dim must be a non-negative integer"},
      {R"("shape": [1, "s0", 3])", R"("shape": [1, "s0", 3.0])",
       KOPT_STATUS_DATA_LOSS, "a dim must be a non-negative integer"},
      {R"("shape": [1, "s0", 3])", R"("shape": [1, "s0", "2 - 5"])",
       KOPT_STATUS_DATA_LOSS, "dim '2 - 5' is negative"},
      {R"("shape": [10, 3])", R"("shape": [10, "s0"])", KOPT_STATUS_DATA_LOSS,
       "weight 'table' must have a static shape"},
      {R"({"name": "bias", "dtype": "f32", "shape": [1]})",
       R"({"name": "bias", "dtype": "f32", "shape": [1]}, {"name": "bias", "dtype": "f32", "shape": [1]})",
       KOPT_STATUS_DATA_LOSS, "weight 'bias' is listed twice"},
      // Stored parts of quantized weights: encoding, shape and name checked.
      {R"({"name": "bias", "dtype": "f32", "shape": [1]})",
       R"({"name": "w.qweight", "dtype": "i8", "shape": [2, 2], "quantized": {"source": "w", "part": "qweight", "storage": "i3", "group_size": 4, "scale": "f32", "asymmetric": false, "layout": "plain", "shape": [2, 4]}})",
       KOPT_STATUS_DATA_LOSS,
       R"(weight 'w.qweight': quantized encoding: "storage" must be)"},
      {R"({"name": "bias", "dtype": "f32", "shape": [1]})",
       R"({"name": "w.qweight", "dtype": "i8", "shape": [2, 3], "quantized": {"source": "w", "part": "qweight", "storage": "i4", "group_size": 4, "scale": "f32", "asymmetric": false, "layout": "plain", "shape": [2, 4]}})",
       KOPT_STATUS_DATA_LOSS,
       "its layout stores the qweight as i8 [2x2], not i8 [2x3]"},
      {R"({"name": "bias", "dtype": "f32", "shape": [1]})",
       R"({"name": "bias", "dtype": "i8", "shape": [2, 2], "quantized": {"source": "w", "part": "qweight", "storage": "i4", "group_size": 4, "scale": "f32", "asymmetric": false, "layout": "plain", "shape": [2, 4]}})",
       KOPT_STATUS_DATA_LOSS, "a quantized part is named '<source>.<part>'"},
      {R"("name": "tile2")", R"("name": "add")", KOPT_STATUS_DATA_LOSS,
       "function 'add' is defined twice"},
      {R"("symbol": "kopt_call_tile2")", R"("symbol": "kopt_call_add")",
       KOPT_STATUS_DATA_LOSS,
       "symbol 'kopt_call_add' is used by two functions"},
      {R"("symbol": "kopt_call_tile2")", R"("symbol": "kopt call")",
       KOPT_STATUS_DATA_LOSS, "symbol 'kopt call' is not a C identifier"},
      {R"("symbol": "kopt_call_tile2",)", "", KOPT_STATUS_DATA_LOSS,
       R"(missing "symbol")"},
      {R"("name": "tile2", "symbol": "kopt_call_tile2",)",
       R"("name": "tile2", "name": "tile3", "symbol": "kopt_call_tile2",)",
       KOPT_STATUS_DATA_LOSS, "has the key 'name' twice in one object"},
      {R"("flops": "s0 * 2")", R"("flops": "s0 *")", KOPT_STATUS_DATA_LOSS,
       "('add').flops: 's0 *' is not a shape expression"},
      {R"("bytes": "s0 * 12 + 4")", R"("bytes": "s3")", KOPT_STATUS_DATA_LOSS,
       "('add').bytes: symbol s3 in 's3' is not bound by any input dim"},
      {R"("default_weights": "w.safetensors")", R"("default_weights": 3)",
       KOPT_STATUS_DATA_LOSS,
       R"("default_weights" must be null or a non-empty path)"},
      {R"("default_weights": "w.safetensors")",
       R"("default_weights": "w.safetensors", "dependent_launch": 1)",
       KOPT_STATUS_DATA_LOSS, R"("dependent_launch" must be true or false)"},
      {R"("kind": "cpu-shared-object")", R"("kind": "cuda-ptx")",
       KOPT_STATUS_UNIMPLEMENTED,
       "is a 'cuda-ptx' artifact; this runtime loads only 'cpu-shared-object' "
       "artifacts"},
      {R"("artifact": {"kind": "cpu-shared-object", "file": "model.so"},)", "",
       KOPT_STATUS_DATA_LOSS, R"("artifact" must be an object)"},
  };
  for (const Case &test : cases) {
    SCOPED_TRACE(test.to);
    kopt::Error error = loadError(replaced(kPlan, test.from, test.to));
    EXPECT_EQ(error.code, test.code) << error.message;
    EXPECT_TRUE(contains(error.message, test.message)) << error.message;
    EXPECT_TRUE(contains(error.message, "model.plan.json") ||
                test.code == KOPT_STATUS_UNIMPLEMENTED)
        << error.message;
  }
}

TEST(Module, RejectsPlansThatAreNotJsonObjects) {
  for (std::string text :
       {std::string("{"), std::string(""), std::string("[1, 2]"),
        std::string("{\"format\": \"kopt-plan\"} trailing"),
        std::string(100000, '[') + std::string(100000, ']')}) {
    kopt::Error error = loadError(text);
    EXPECT_EQ(error.code, KOPT_STATUS_DATA_LOSS) << error.message;
  }
  EXPECT_TRUE(contains(loadError("{").message, "is not valid JSON"));
  EXPECT_TRUE(contains(
      loadError(std::string(1000, '[') + std::string(1000, ']')).message,
      "nests JSON deeper than 256 levels"));
  EXPECT_TRUE(contains(loadError(replaced(kPlan, R"("functions": [)",
                                          R"("functions": [], "x": [)"))
                           .message,
                       R"("functions" must be a non-empty array)"));
}

TEST(Module, ReportsMissingFiles) {
  TempDir dir;
  kopt::Module module;
  kopt::Error error = kopt::Module::load(dir.file("model.so"), module);
  EXPECT_EQ(error.code, KOPT_STATUS_NOT_FOUND);
  EXPECT_TRUE(contains(error.message, "model.plan.json' not found"))
      << error.message;

  // A plan without its shared object.
  Artifact artifact;
  std::filesystem::remove(artifact.path());
  error = kopt::Module::load(artifact.path(), module);
  EXPECT_EQ(error.code, KOPT_STATUS_NOT_FOUND);
  EXPECT_TRUE(contains(error.message, "cannot open")) << error.message;
}

TEST(Module, ReportsSymbolsTheArtifactLacks) {
  kopt::Error error =
      loadError(replaced(kPlan, R"("symbol": "kopt_call_tile2")",
                         R"("symbol": "kopt_call_missing")"));
  EXPECT_EQ(error.code, KOPT_STATUS_NOT_FOUND);
  EXPECT_TRUE(contains(error.message, "function 'tile2': '") &&
              contains(error.message, "model.so' does not export "
                                      "'kopt_call_missing'"))
      << error.message;
}

TEST(Module, RejectsFilesThatAreNotSharedObjects) {
  Artifact artifact;
  artifact.dir().write("model.so", {'n', 'o', 't', ' ', 'E', 'L', 'F'});
  kopt::Module module;
  kopt::Error error = kopt::Module::load(artifact.path(), module);
  EXPECT_EQ(error.code, KOPT_STATUS_DATA_LOSS);
  EXPECT_TRUE(contains(error.message, "is not a loadable shared object"))
      << error.message;
}

/// The fake artifact's bytes.
std::string fakeArtifactBytes() {
  std::ifstream in(KOPT_FAKE_MODEL_SO, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

/// kPlan recording `bytes` and `digest` for its artifact.
std::string planRecording(size_t bytes, const std::string &digest) {
  return replaced(kPlan, R"("file": "model.so"})",
                  R"("file": "model.so", "bytes": )" + std::to_string(bytes) +
                      R"(, "fnv1a64": ")" + digest + R"("})");
}

TEST(Module, LoadsTheArtifactItsPlanRecords) {
  std::string bytes = fakeArtifactBytes();
  ASSERT_FALSE(bytes.empty());
  Artifact artifact(
      planRecording(bytes.size(), kopt::rt::artifactDigest(bytes)));
  kopt::Module module;
  kopt::Error error = kopt::Module::load(artifact.path(), module);
  EXPECT_FALSE(error) << error.message;
}

TEST(Module, RefusesAnArtifactItsPlanWasNotCompiledWith) {
  std::string bytes = fakeArtifactBytes();
  std::string digest = kopt::rt::artifactDigest(bytes);
  std::string otherDigest = digest;
  otherDigest[0] = otherDigest[0] == '0' ? '1' : '0';
  // Same size, other bytes (another model's artifact); other size (truncated).
  for (const std::string &plan :
       {planRecording(bytes.size(), otherDigest),
        planRecording(bytes.size() + 1, digest)}) {
    Artifact artifact(plan);
    kopt::Module module;
    kopt::Error error = kopt::Module::load(artifact.path(), module);
    EXPECT_EQ(error.code, KOPT_STATUS_DATA_LOSS);
    EXPECT_TRUE(contains(error.message, "is not the artifact plan '") &&
                contains(error.message, "model.plan.json' was compiled with"))
        << error.message;
  }
}

TEST(Module, RefusesTruncatedSharedObjectsBeforeLoadingThem) {
  // dlopen of a truncated file faults on its missing pages (SIGBUS); the
  // ELF extents are checked first even when the plan records no digest.
  std::string bytes = fakeArtifactBytes();
  for (size_t keep : {size_t(0), size_t(40), size_t(100), bytes.size() / 4,
                      bytes.size() / 2, bytes.size() - 1}) {
    SCOPED_TRACE(keep);
    Artifact artifact;
    artifact.dir().write("model.so", std::vector<uint8_t>(
                                         bytes.begin(), bytes.begin() + keep));
    kopt::Module module;
    kopt::Error error = kopt::Module::load(artifact.path(), module);
    EXPECT_EQ(error.code, KOPT_STATUS_DATA_LOSS);
    EXPECT_TRUE(contains(error.message, "is not a loadable shared object"))
        << error.message;
  }
}

TEST(Module, ValidatesTheRecordedArtifactDigest) {
  for (const std::string &fields :
       {std::string(R"("bytes": -1)"), std::string(R"("bytes": "12")"),
        std::string(R"("fnv1a64": "ABCDEF0123456789")"),
        std::string(R"("fnv1a64": "123")")}) {
    SCOPED_TRACE(fields);
    kopt::Error error = loadError(replaced(
        kPlan, R"("file": "model.so"})", R"("file": "model.so", )" + fields + "}"));
    EXPECT_EQ(error.code, KOPT_STATUS_DATA_LOSS);
    EXPECT_TRUE(contains(error.message, "artifact: \"")) << error.message;
  }
}

TEST(Plan, FindsThePlanBesideTheArtifact) {
  using kopt::rt::Plan;
  EXPECT_EQ(Plan::planPathFor("dir/model.so"), "dir/model.plan.json");
  EXPECT_EQ(Plan::planPathFor("/a/b.c/model.ptx"), "/a/b.c/model.plan.json");
  EXPECT_EQ(Plan::planPathFor("model"), "model.plan.json");
  EXPECT_EQ(Plan::planPathFor("lib.so.1"), "lib.so.plan.json");
  EXPECT_EQ(Plan::planPathFor("dir/.so"), "dir/.plan.json"); // As LLVM does.
}

TEST(Plan, ResolvesWeightsAndKeepsTheGraph) {
  using kopt::rt::Plan;
  auto plan = Plan::parse(kPlan, "/models/x", "test plan");
  ASSERT_TRUE(plan.isOk()) << plan.status().message();
  EXPECT_EQ((*plan)->defaultWeights(), "/models/x/w.safetensors");
  EXPECT_EQ((*plan)->artifactFile(), "model.so");
  EXPECT_TRUE(contains((*plan)->graphJson(), R"("op":"kopt.embedding")"));
  const kopt::rt::PlanFunction *embed = (*plan)->find("embed");
  ASSERT_NE(embed, nullptr);
  ASSERT_EQ(embed->nodes.size(), 2u);
  EXPECT_EQ(embed->nodes[1].loc, "model.mlir:5:10");
  EXPECT_EQ((*plan)->find("missing"), nullptr);

  // flops and bytes under the bound symbols.
  const kopt::rt::PlanFunction *add = (*plan)->find("add");
  std::vector<int64_t> shape = {6};
  auto bindings =
      add->bind({{KOPT_DTYPE_F32, &shape}, {KOPT_DTYPE_F32, &shape}});
  ASSERT_TRUE(bindings.isOk()) << bindings.status().message();
  EXPECT_EQ(add->cost(add->flops, *bindings), 12.0);
  EXPECT_EQ(add->cost(add->bytes, *bindings), 76.0);
  EXPECT_EQ(embed->cost(embed->flops, *bindings), std::nullopt);

  auto absolute = Plan::parse(
      replaced(kPlan, R"("w.safetensors")", R"("/abs/w.safetensors")"), "/m",
      "p");
  ASSERT_TRUE(absolute.isOk());
  EXPECT_EQ((*absolute)->defaultWeights(), "/abs/w.safetensors");
  auto none =
      Plan::parse(replaced(replaced(kPlan, R"("w.safetensors")", "null"),
                           R"("graph")", R"("unused")"),
                  "/m", "p");
  ASSERT_TRUE(none.isOk()) << none.status().message();
  EXPECT_EQ((*none)->defaultWeights(), "");
  EXPECT_EQ((*none)->graphJson(), "");
  EXPECT_TRUE((*none)->find("embed")->nodes.empty());
}

//===----------------------------------------------------------------------===//
// Weights
//===----------------------------------------------------------------------===//

kopt::Error bindError(const Artifact &artifact) {
  kopt::Module module;
  kopt::Error error = kopt::Module::load(artifact.path(), module);
  EXPECT_FALSE(error) << error.message;
  kopt::Weights weights;
  error = kopt::Weights::open(artifact.weightsPath(), weights);
  EXPECT_FALSE(error) << error.message;
  error = module.bindWeights(weights);
  EXPECT_TRUE(error) << "the checkpoint was accepted";
  return error;
}

TEST(Module, NamesMissingAndMismatchedWeights) {
  Artifact artifact;
  std::vector<TensorToWrite> weights = goodWeights();
  artifact.writeWeights({weights[0]});
  kopt::Error error = bindError(artifact);
  EXPECT_EQ(error.code, KOPT_STATUS_NOT_FOUND);
  EXPECT_EQ(error.message,
            "weight 'table' (read by embed) is not in the checkpoint");

  weights[1].shape = {10, 4};
  weights[1].bytes.resize(160);
  artifact.writeWeights(weights);
  error = bindError(artifact);
  EXPECT_EQ(error.code, KOPT_STATUS_INVALID_ARGUMENT);
  EXPECT_EQ(error.message, "weight 'table' is f32 [10x4] in the checkpoint but "
                           "embed needs f32 [10x3]");

  weights = goodWeights();
  weights[0].dtype = KOPT_DTYPE_I32;
  weights[1].dtype = KOPT_DTYPE_F16;
  weights[1].bytes.resize(60);
  artifact.writeWeights(weights);
  error = bindError(artifact);
  EXPECT_EQ(error.code, KOPT_STATUS_INVALID_ARGUMENT);
  EXPECT_EQ(error.message, "weight 'bias' is i32 [1] in the checkpoint but add "
                           "needs f32 [1] (and 1 more weight problem)");
}

TEST(Module, KeepsEarlierWeightsWhenABindFails) {
  Artifact artifact;
  kopt::Module module = artifact.load();
  std::vector<TensorToWrite> weights = goodWeights();
  artifact.writeWeights({weights[1]});
  kopt::Weights partial;
  ASSERT_FALSE(kopt::Weights::open(artifact.weightsPath(), partial));
  EXPECT_EQ(module.bindWeights(partial).code, KOPT_STATUS_NOT_FOUND);
  std::vector<kopt::Tensor> outputs;
  kopt::Error error =
      module.invoke("add", {floats({1}, {1}), floats({1}, {2})}, outputs);
  ASSERT_FALSE(error) << error.message;
  EXPECT_EQ(outputs[0].values<float>(), (std::vector<float>{3.5f}));
}

TEST(Module, CopiesWeightsThatAreNotAligned) {
  // A 1-byte tensor first puts "bias" at an odd offset of the data.
  Artifact artifact;
  std::vector<TensorToWrite> weights = goodWeights();
  weights.insert(weights.begin(), {"pad", KOPT_DTYPE_I8, {1}, {7}});
  weights[1].bytes = floatBytes({0.25f});
  artifact.writeWeights(weights);
  kopt::Module module = artifact.load();
  std::vector<kopt::Tensor> outputs;
  kopt::Error error =
      module.invoke("add", {floats({2}, {1, 2}), floats({2}, {3, 4})}, outputs);
  ASSERT_FALSE(error) << error.message;
  EXPECT_EQ(outputs[0].values<float>(), (std::vector<float>{4.25f, 6.25f}));
}

TEST(Module, WeightsOutliveTheirHandle) {
  Artifact artifact;
  kopt::Module module;
  ASSERT_FALSE(kopt::Module::load(artifact.path(), module));
  {
    kopt::Weights weights;
    ASSERT_FALSE(kopt::Weights::open(artifact.weightsPath(), weights));
    ASSERT_FALSE(module.bindWeights(weights));
  }
  std::filesystem::remove(artifact.weightsPath());
  std::vector<kopt::Tensor> outputs;
  ASSERT_FALSE(module.invoke("embed", {ints({1, 1}, {2})}, outputs));
  EXPECT_EQ(outputs[0].values<float>(), (std::vector<float>{20, 21, 22}));
}

//===----------------------------------------------------------------------===//
// Errors the compiled code reports
//===----------------------------------------------------------------------===//

TEST(Module, TurnsTheStatusBufferIntoAMessage) {
  Artifact artifact;
  kopt::Module module = artifact.load();
  EXPECT_EQ(invokeError(module, "embed", {ints({1, 3}, {1, 70, 2})},
                        KOPT_STATUS_OUT_OF_RANGE),
            "kopt.embedding: id 70 is outside [0, 10) (at model.mlir:5:10)");
  EXPECT_EQ(invokeError(module, "embed", {ints({1, 1}, {-1})},
                        KOPT_STATUS_OUT_OF_RANGE),
            "kopt.embedding: id -1 is outside [0, 10) (at model.mlir:5:10)");
  EXPECT_EQ(invokeError(module, "kv_append", {ints({1}, {60})},
                        KOPT_STATUS_OUT_OF_RANGE),
            "kopt.cache_update: KV cache overflow: the write ends at position "
            "68, outside the cache of length 64 (at model.mlir:9:4)");
  std::vector<kopt::Tensor> outputs;
  EXPECT_FALSE(module.invoke("kv_append", {ints({1}, {56})}, outputs));
  EXPECT_TRUE(outputs.empty());
  // The module stays usable after an error.
  EXPECT_FALSE(module.invoke("embed", {ints({1, 1}, {9})}, outputs));
}

TEST(Module, ExplainsStatusErrorsWithoutAGraph) {
  std::string plan = kPlan;
  plan = plan.substr(0, plan.find(R"(,
  "graph")")) +
         "}";
  Artifact artifact(plan);
  kopt::Module module = artifact.load();
  EXPECT_EQ(module.graphJson(), "");
  EXPECT_EQ(invokeError(module, "embed", {ints({1, 1}, {11})},
                        KOPT_STATUS_OUT_OF_RANGE),
            "embed: node 1: index 11 is outside [0, 10)");
}

TEST(Module, ReportsMalformedCallsAsUnknownCodes) {
  // A plan that passes embed's arguments in the wrong order: the fake sees a
  // rank-2 weight where it expects ids and reports code 99.
  Artifact artifact(
      replaced(kPlan, R"(["weight:0", "input:0", "output:0", "status"])",
               R"(["input:0", "weight:0", "output:0", "status"])"));
  kopt::Module module = artifact.load();
  std::string message = invokeError(module, "embed", {ints({1, 2}, {1, 2})},
                                    KOPT_STATUS_INTERNAL);
  EXPECT_TRUE(contains(message, "unknown error code 99")) << message;
}

//===----------------------------------------------------------------------===//
// The C API: introspection and misuse
//===----------------------------------------------------------------------===//

TEST(ModuleApi, DescribesFunctions) {
  Artifact artifact;
  kopt::Module module = artifact.load();
  EXPECT_EQ(module.functionNames(),
            (std::vector<std::string>{"add", "embed", "tile2", "kv_append",
                                      "first_half"}));
  EXPECT_EQ(module.defaultWeights(), artifact.weightsPath());
  EXPECT_TRUE(contains(module.graphJson(), "kopt.cache_update"));
  kopt_function_signature_t signature;
  ASSERT_FALSE(module.signature("add", signature));
  EXPECT_EQ(signature.input_count, 2u);
  EXPECT_EQ(signature.weight_count, 1u);
  EXPECT_EQ(signature.output_count, 1u);
  kopt_tensor_spec_t spec;
  ASSERT_FALSE(module.outputSpec("embed", 0, spec));
  EXPECT_EQ(spec.dtype, KOPT_DTYPE_F32);
  EXPECT_EQ(spec.rank, 3);
  EXPECT_EQ(spec.shape[0], 1);
  EXPECT_EQ(spec.shape[1], KOPT_DYNAMIC_DIM);
  EXPECT_EQ(spec.shape[2], 3);
  ASSERT_FALSE(module.inputSpec("kv_append", 0, spec));
  EXPECT_EQ(spec.dtype, KOPT_DTYPE_I32);
  EXPECT_EQ(spec.shape[0], 1);
  EXPECT_EQ(module.inputSpec("add", 2, spec).code, KOPT_STATUS_OUT_OF_RANGE);
  EXPECT_EQ(module.outputSpec("nope", 0, spec).code, KOPT_STATUS_NOT_FOUND);
  EXPECT_EQ(module.signature("nope", signature).code, KOPT_STATUS_NOT_FOUND);
}

/// Takes a status, returning its code.
kopt_status_code_t codeOf(kopt_status_t status) {
  kopt_status_code_t code = kopt_status_code(status);
  kopt_status_free(status);
  return code;
}

TEST(ModuleApi, MisuseIsAStatusNotACrash) {
  Artifact artifact;
  kopt::Module wrapper = artifact.load();
  kopt_module_t *module = wrapper.get();
  kopt_module_t *out = nullptr;
  EXPECT_EQ(codeOf(kopt_module_load(nullptr, &out)),
            KOPT_STATUS_INVALID_ARGUMENT);
  EXPECT_EQ(codeOf(kopt_module_load(artifact.path().c_str(), nullptr)),
            KOPT_STATUS_INVALID_ARGUMENT);
  EXPECT_EQ(codeOf(kopt_module_bind_weights(module, nullptr)),
            KOPT_STATUS_INVALID_ARGUMENT);
  EXPECT_EQ(codeOf(kopt_module_bind_weights(nullptr, nullptr)),
            KOPT_STATUS_INVALID_ARGUMENT);
  const char *name = nullptr;
  EXPECT_EQ(codeOf(kopt_module_function_name(module, 5, &name)),
            KOPT_STATUS_OUT_OF_RANGE);
  EXPECT_EQ(codeOf(kopt_module_function_name(nullptr, 0, &name)),
            KOPT_STATUS_INVALID_ARGUMENT);
  EXPECT_EQ(kopt_module_function_count(nullptr), 0u);
  EXPECT_EQ(kopt_module_default_weights(nullptr), nullptr);
  EXPECT_EQ(kopt_module_plan_graph_json(nullptr), nullptr);
  EXPECT_EQ(codeOf(kopt_module_function_signature(module, "add", nullptr)),
            KOPT_STATUS_INVALID_ARGUMENT);
  kopt_tensor_spec_t spec;
  EXPECT_EQ(codeOf(kopt_module_function_input(module, nullptr, 0, &spec)),
            KOPT_STATUS_INVALID_ARGUMENT);
  EXPECT_EQ(codeOf(kopt_module_function_output(module, "add", 0, nullptr)),
            KOPT_STATUS_INVALID_ARGUMENT);

  kopt::Tensor x = floats({2}, {1, 2});
  kopt_tensor_t *inputs[2] = {x.get(), nullptr};
  kopt_tensor_t *outputs[2] = {nullptr, nullptr};
  size_t count = 7;
  EXPECT_EQ(
      codeOf(kopt_module_invoke(nullptr, "add", inputs, 2, outputs, 2, &count)),
      KOPT_STATUS_INVALID_ARGUMENT);
  EXPECT_EQ(codeOf(kopt_module_invoke(module, nullptr, inputs, 2, outputs, 2,
                                      &count)),
            KOPT_STATUS_INVALID_ARGUMENT);
  EXPECT_EQ(
      codeOf(kopt_module_invoke(module, "add", inputs, 2, outputs, 2, nullptr)),
      KOPT_STATUS_INVALID_ARGUMENT);
  EXPECT_EQ(
      codeOf(kopt_module_invoke(module, "add", nullptr, 2, outputs, 2, &count)),
      KOPT_STATUS_INVALID_ARGUMENT);
  EXPECT_EQ(
      codeOf(kopt_module_invoke(module, "add", inputs, 2, nullptr, 2, &count)),
      KOPT_STATUS_INVALID_ARGUMENT);
  kopt_status_t status =
      kopt_module_invoke(module, "add", inputs, 2, outputs, 2, &count);
  EXPECT_EQ(kopt_status_code(status), KOPT_STATUS_INVALID_ARGUMENT);
  EXPECT_STREQ(kopt_status_message(status), "add: input 1 is NULL");
  kopt_status_free(status);
  EXPECT_EQ(count, 0u);

  // Too little room for the outputs: nothing runs, and the count says how
  // many are needed.
  status = kopt_module_invoke(module, "tile2", inputs, 1, outputs, 1, &count);
  EXPECT_EQ(kopt_status_code(status), KOPT_STATUS_INVALID_ARGUMENT);
  EXPECT_STREQ(
      kopt_status_message(status),
      "kopt_module_invoke: tile2 returns 2 outputs but output_capacity is 1");
  kopt_status_free(status);
  EXPECT_EQ(count, 2u);
  EXPECT_EQ(outputs[0], nullptr);
  ASSERT_EQ(kopt_module_invoke(module, "tile2", inputs, 1, outputs, 2, &count),
            nullptr);
  EXPECT_EQ(count, 2u);
  EXPECT_EQ(kopt_tensor_element_count(outputs[0]), 4);
  kopt_tensor_release(outputs[0]);
  kopt_tensor_release(outputs[1]);

  // Retain and release balance; a released copy leaves the module usable.
  kopt_module_retain(module);
  kopt_module_release(module);
  kopt_module_release(nullptr);
  kopt_module_retain(nullptr);
  kopt::Module copy = wrapper;
  copy = kopt::Module();
  std::vector<kopt::Tensor> results;
  EXPECT_FALSE(wrapper.invoke("tile2", {x}, results));
}

TEST(TensorApi, CreatesAndDescribesTensors) {
  int64_t shape[3] = {2, 0, 3};
  kopt_tensor_t *tensor = nullptr;
  ASSERT_EQ(kopt_tensor_create(KOPT_DTYPE_F16, 3, shape, &tensor), nullptr);
  EXPECT_EQ(kopt_tensor_dtype(tensor), KOPT_DTYPE_F16);
  EXPECT_EQ(kopt_tensor_rank(tensor), 3);
  EXPECT_EQ(kopt_tensor_shape(tensor)[2], 3);
  EXPECT_EQ(kopt_tensor_element_count(tensor), 0);
  EXPECT_EQ(kopt_tensor_byte_size(tensor), 0u);
  EXPECT_EQ(kopt_tensor_data(tensor), nullptr);
  kopt_tensor_release(tensor);

  shape[1] = 2;
  ASSERT_EQ(kopt_tensor_create(KOPT_DTYPE_I64, 3, shape, &tensor), nullptr);
  EXPECT_EQ(kopt_tensor_byte_size(tensor), 96u);
  const auto *bytes = static_cast<const uint8_t *>(kopt_tensor_data(tensor));
  EXPECT_TRUE(std::all_of(bytes, bytes + 96, [](uint8_t b) { return b == 0; }));
  kopt_tensor_view_t view;
  ASSERT_EQ(kopt_tensor_view(tensor, &view), nullptr);
  EXPECT_EQ(view.rank, 3);
  EXPECT_EQ(view.shape[1], 2);
  EXPECT_EQ(view.byte_size, 96u);
  kopt_tensor_retain(tensor);
  kopt_tensor_release(tensor);
  kopt_tensor_release(tensor);

  // A scalar needs no shape.
  double value = 2.5;
  ASSERT_EQ(
      kopt_tensor_create_copy(KOPT_DTYPE_F64, 0, nullptr, &value, 8, &tensor),
      nullptr);
  EXPECT_EQ(kopt_tensor_rank(tensor), 0);
  EXPECT_EQ(kopt_tensor_shape(tensor), nullptr);
  EXPECT_EQ(*static_cast<double *>(kopt_tensor_data(tensor)), 2.5);
  kopt_tensor_release(tensor);

  kopt::Tensor copied;
  ASSERT_FALSE(kopt::Tensor::fromData(KOPT_DTYPE_I32, {3},
                                      std::vector<int32_t>{4, 5, 6}, copied));
  EXPECT_EQ(copied.values<int32_t>(), (std::vector<int32_t>{4, 5, 6}));
}

TEST(TensorApi, RejectsBadTensors) {
  kopt_tensor_t *tensor = nullptr;
  int64_t shape[9] = {1, 1, 1, 1, 1, 1, 1, 1, 1};
  EXPECT_EQ(codeOf(kopt_tensor_create(KOPT_DTYPE_F32, 9, shape, &tensor)),
            KOPT_STATUS_INVALID_ARGUMENT);
  EXPECT_EQ(codeOf(kopt_tensor_create(KOPT_DTYPE_F32, -1, shape, &tensor)),
            KOPT_STATUS_INVALID_ARGUMENT);
  EXPECT_EQ(codeOf(kopt_tensor_create(KOPT_DTYPE_F32, 2, nullptr, &tensor)),
            KOPT_STATUS_INVALID_ARGUMENT);
  EXPECT_EQ(codeOf(kopt_tensor_create(KOPT_DTYPE_F32, 1, shape, nullptr)),
            KOPT_STATUS_INVALID_ARGUMENT);
  EXPECT_EQ(codeOf(kopt_tensor_create(static_cast<kopt_dtype_t>(99), 1, shape,
                                      &tensor)),
            KOPT_STATUS_INVALID_ARGUMENT);
  int64_t negative[2] = {2, -1};
  EXPECT_EQ(codeOf(kopt_tensor_create(KOPT_DTYPE_F32, 2, negative, &tensor)),
            KOPT_STATUS_INVALID_ARGUMENT);
  int64_t huge[2] = {int64_t(1) << 40, int64_t(1) << 40};
  EXPECT_EQ(codeOf(kopt_tensor_create(KOPT_DTYPE_F32, 2, huge, &tensor)),
            KOPT_STATUS_OUT_OF_RANGE);
  float data[2] = {1, 2};
  kopt_status_t status =
      kopt_tensor_create_copy(KOPT_DTYPE_F32, 1, shape, data, 8, &tensor);
  EXPECT_EQ(kopt_status_code(status), KOPT_STATUS_INVALID_ARGUMENT);
  EXPECT_STREQ(kopt_status_message(status),
               "kopt_tensor_create_copy: 8 bytes given but a f32 tensor of "
               "shape [1] needs 4");
  kopt_status_free(status);
  EXPECT_EQ(codeOf(kopt_tensor_create_copy(KOPT_DTYPE_F32, 1, shape, nullptr, 4,
                                           &tensor)),
            KOPT_STATUS_INVALID_ARGUMENT);
  EXPECT_EQ(tensor, nullptr);

  // Accessors of NULL.
  EXPECT_EQ(kopt_tensor_rank(nullptr), 0);
  EXPECT_EQ(kopt_tensor_shape(nullptr), nullptr);
  EXPECT_EQ(kopt_tensor_data(nullptr), nullptr);
  EXPECT_EQ(kopt_tensor_byte_size(nullptr), 0u);
  EXPECT_EQ(kopt_tensor_element_count(nullptr), 0);
  kopt_tensor_view_t view;
  EXPECT_EQ(codeOf(kopt_tensor_view(nullptr, &view)),
            KOPT_STATUS_INVALID_ARGUMENT);
  kopt_tensor_release(nullptr);
  kopt_tensor_retain(nullptr);
}

} // namespace
