//===- CpuNumericsTest.cpp - Compiled kopt ops vs the reference -----------===//
//
// Each case is a small function compiled in-process to a shared object
// (the whole CPU pipeline), run on seeded random inputs at several sizes of
// its dynamic dims (1, primes, tile multiples +-1) with outputs poisoned, and
// compared with the reference evaluator on the same plan graph, with
// dtype-aware tolerances.
//
//===----------------------------------------------------------------------===//

#include "kopt/Codegen/Passes.h"
#include "kopt/InitAll.h"
#include "kopt/Passes/Passes.h"
#include "kopt/runtime/CompiledModule.h"
#include "kopt/runtime/GpuModule.h"
#include "kopt/runtime/Float16.h"
#include "kopt/runtime/Npy.h"
#include "kopt/runtime/Plan.h"
#include "kopt/runtime/Quantization.h"
#include "kopt/runtime/Reference.h"

#include "mlir/IR/Diagnostics.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"

#include <nlohmann/json.hpp>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>

#include <gtest/gtest.h>

namespace {

using kopt::rt::HostTensor;

/// How one input of a case is filled.
struct InputSpec {
  kopt_dtype_t dtype = KOPT_DTYPE_F32;
  /// Integers are drawn from [low, high); floats from [low, high) too.
  double low = -1.0, high = 1.0;
  /// Integer inputs that must be 0, 1, 2, ... along the last dim (positions).
  bool iota = false;
  /// A fixed value for every element (kv lengths, offsets), when set.
  std::optional<double> fill;
  /// Every `specialEvery`-th element is `special` (NaN, inf) when set.
  int64_t specialEvery = 0;
  double special = NAN;
  /// Floats rounded to +-2^round(log2 |v|) (scales whose products with
  /// float8 codes are exact in bf16).
  bool powerOfTwo = false;
};

struct Case;
void PrintTo(const Case &c, std::ostream *os);

struct Case {
  std::string name;
  std::string mlir; // a module with func.func @f
  std::vector<InputSpec> inputs;
  /// One entry per run: the shapes of the inputs.
  std::vector<std::vector<std::vector<int64_t>>> runs;
  /// Tolerance scale on top of the dtype's (for long reductions).
  double slack = 1.0;
  /// Run kopt-fuse first: the fused kernels against the reference.
  bool fuse = false;
  /// With `fuse`: the reference evaluates the module as written, not the
  /// fused plan's graph (for rules that raise ops, e.g. attention, MoE).
  bool unfusedReference = false;
};

void PrintTo(const Case &c, std::ostream *os) { *os << c.name; }

double tolerance(kopt_dtype_t dtype) {
  switch (dtype) {
  case KOPT_DTYPE_F16:
    return 4e-3;
  case KOPT_DTYPE_BF16:
    return 3e-2;
  case KOPT_DTYPE_F32:
    return 2e-5;
  default:
    return 0.0;
  }
}

double readElement(const HostTensor &t, int64_t i) {
  const uint8_t *p = t.bytes.data();
  switch (t.dtype) {
  case KOPT_DTYPE_F32: {
    float v;
    std::memcpy(&v, p + 4 * i, 4);
    return v;
  }
  case KOPT_DTYPE_F16: {
    uint16_t v;
    std::memcpy(&v, p + 2 * i, 2);
    return kopt::rt::f16ToFloat(v);
  }
  case KOPT_DTYPE_BF16: {
    uint16_t v;
    std::memcpy(&v, p + 2 * i, 2);
    return kopt::rt::bf16ToFloat(v);
  }
  case KOPT_DTYPE_I32: {
    int32_t v;
    std::memcpy(&v, p + 4 * i, 4);
    return v;
  }
  case KOPT_DTYPE_I8:
    return static_cast<int8_t>(p[i]);
  case KOPT_DTYPE_F8E4M3:
    return kopt::rt::quant::e4m3ToFloat(p[i]);
  case KOPT_DTYPE_I64: {
    int64_t v;
    std::memcpy(&v, p + 8 * i, 8);
    return static_cast<double>(v);
  }
  default:
    return NAN;
  }
}

void writeElement(HostTensor &t, int64_t i, double value) {
  uint8_t *p = t.bytes.data();
  switch (t.dtype) {
  case KOPT_DTYPE_F32: {
    float v = static_cast<float>(value);
    std::memcpy(p + 4 * i, &v, 4);
    break;
  }
  case KOPT_DTYPE_F16: {
    uint16_t v = kopt::rt::floatToF16(static_cast<float>(value));
    std::memcpy(p + 2 * i, &v, 2);
    break;
  }
  case KOPT_DTYPE_BF16: {
    uint16_t v = kopt::rt::floatToBF16(static_cast<float>(value));
    std::memcpy(p + 2 * i, &v, 2);
    break;
  }
  case KOPT_DTYPE_I32: {
    auto v = static_cast<int32_t>(value);
    std::memcpy(p + 4 * i, &v, 4);
    break;
  }
  case KOPT_DTYPE_I8:
    p[i] = static_cast<uint8_t>(static_cast<int64_t>(value));
    break;
  case KOPT_DTYPE_F8E4M3:
    p[i] = kopt::rt::quant::floatToE4M3(static_cast<float>(value));
    break;
  case KOPT_DTYPE_I64: {
    auto v = static_cast<int64_t>(value);
    std::memcpy(p + 8 * i, &v, 8);
    break;
  }
  default:
    break;
  }
}

HostTensor makeInput(const InputSpec &spec, const std::vector<int64_t> &shape,
                     std::mt19937_64 &rng) {
  HostTensor t;
  t.dtype = spec.dtype;
  t.shape = shape;
  t.bytes.assign(t.numElements() * kopt_dtype_size(spec.dtype), 0);
  bool isInt = spec.dtype == KOPT_DTYPE_I32 || spec.dtype == KOPT_DTYPE_I64 ||
               spec.dtype == KOPT_DTYPE_I8;
  std::uniform_real_distribution<double> real(spec.low, spec.high);
  int64_t last = shape.empty() ? 1 : shape.back();
  for (int64_t i = 0; i < t.numElements(); ++i) {
    double value = spec.fill    ? *spec.fill
                   : spec.iota  ? static_cast<double>(i % std::max<int64_t>(last, 1))
                   : isInt      ? std::floor(real(rng))
                                : real(rng);
    if (spec.powerOfTwo && value != 0.0)
      value = std::copysign(std::exp2(std::round(std::log2(std::fabs(value)))),
                            value);
    if (spec.specialEvery && i % spec.specialEvery == spec.specialEvery - 1)
      value = spec.special;
    writeElement(t, i, value);
  }
  return t;
}

/// The inputs of run `shapes` of `c`, drawn from `rng`.
std::vector<HostTensor> makeInputs(const Case &c,
                                   const std::vector<std::vector<int64_t>> &shapes,
                                   std::mt19937_64 &rng) {
  std::vector<HostTensor> inputs;
  for (size_t i = 0; i < c.inputs.size(); ++i)
    inputs.push_back(makeInput(c.inputs[i], shapes[i], rng));
  return inputs;
}

class CpuNumerics : public ::testing::TestWithParam<Case> {
protected:
  static void SetUpTestSuite() {
    kopt::registerKoptDialects(registry());
    context = new mlir::MLIRContext(registry());
    context->loadAllAvailableDialects();
    directory = std::filesystem::temp_directory_path() /
                ("kopt-e2e-" + std::to_string(::getpid()));
    std::filesystem::create_directories(directory);
  }
  static void TearDownTestSuite() {
    delete context;
    std::filesystem::remove_all(directory);
  }
  static mlir::DialectRegistry &registry() {
    static mlir::DialectRegistry instance;
    return instance;
  }

  /// Compiles `source` to a shared object (or, with `gpu`, to PTX for
  /// sm_90); empty string on success, else the diagnostics.
  std::string compile(const std::string &source, const std::string &output,
                      bool gpu = false, bool fuse = false) {
    std::string diagnostics;
    mlir::ScopedDiagnosticHandler handler(context, [&](mlir::Diagnostic &d) {
      diagnostics += d.str() + "\n";
      return mlir::success();
    });
    mlir::OwningOpRef<mlir::ModuleOp> module =
        mlir::parseSourceString<mlir::ModuleOp>(source, context);
    if (!module)
      return "parse failed: " + diagnostics;
    mlir::PassManager pm(context);
    if (fuse)
      pm.addPass(kopt::createKoptFusePass());
    if (gpu)
      kopt::buildGpuCodegenPipeline(pm, {output, "sm_90"});
    else
      kopt::buildCpuCodegenPipeline(pm, {output, "native"});
    if (mlir::failed(pm.run(*module)))
      return "compile failed: " + diagnostics;
    return "";
  }

  /// The reference graph `c` is checked against: the compiled plan's
  /// (`compiledGraph`), or with `unfusedReference` the module's as written
  /// (compiled for the host without kopt-fuse).
  std::string referenceGraph(const Case &c, const std::string &compiledGraph) {
    if (!c.unfusedReference)
      return compiledGraph;
    std::string so = (directory / (c.name + ".unfused.so")).string();
    std::string error = compile(c.mlir, so);
    EXPECT_EQ(error, "") << c.mlir;
    auto plan = kopt::rt::Plan::load(kopt::rt::Plan::planPathFor(so));
    EXPECT_TRUE(plan.isOk()) << plan.status().message();
    if (!plan.isOk())
      return "";
    EXPECT_NE((*plan)->graphJson(), compiledGraph)
        << c.name << ": kopt-fuse raised nothing";
    return (*plan)->graphJson();
  }

  static mlir::MLIRContext *context;
  static std::filesystem::path directory;
};

mlir::MLIRContext *CpuNumerics::context = nullptr;
std::filesystem::path CpuNumerics::directory;

/// Runs `c` through `invoke` at every size and compares with the reference
/// evaluator on `graphJson`.
template <typename Invoke>
void compareWithReference(const Case &c, const std::string &graphJson,
                          Invoke invoke) {
  auto graph = kopt::rt::reference::parseGraph(graphJson);
  ASSERT_TRUE(graph.isOk()) << graph.status().message();
  std::mt19937_64 rng(std::hash<std::string>{}(c.name));
  for (const auto &shapes : c.runs) {
    std::vector<HostTensor> inputs = makeInputs(c, shapes, rng);
    std::vector<const HostTensor *> pointers;
    for (const HostTensor &t : inputs)
      pointers.push_back(&t);
    kopt::rt::InvokeOptions options;
    options.poisonOutputs = true;
    auto actual = invoke(pointers, options);
    ASSERT_TRUE(actual.isOk()) << actual.status().message();
    auto expected = kopt::rt::reference::evaluate(*graph, "f", inputs, nullptr);
    ASSERT_TRUE(expected.isOk()) << expected.status().message();
    ASSERT_EQ(actual->size(), expected->size());
    for (size_t r = 0; r < actual->size(); ++r) {
      const HostTensor &a = (*actual)[r], &e = (*expected)[r];
      ASSERT_EQ(a.dtype, e.dtype) << "result " << r;
      ASSERT_EQ(a.shape, e.shape) << "result " << r;
      double tol = tolerance(a.dtype) * c.slack;
      for (int64_t i = 0; i < a.numElements(); ++i) {
        double x = readElement(a, i), y = readElement(e, i);
        if (std::isnan(y)) {
          ASSERT_TRUE(std::isnan(x)) << "result " << r << " element " << i;
          continue;
        }
        if (std::isinf(y)) {
          ASSERT_EQ(x, y) << "result " << r << " element " << i;
          continue;
        }
        ASSERT_LE(std::fabs(x - y), tol * (1.0 + std::fabs(y)))
            << c.name << ": result " << r << " element " << i << " got " << x
            << " expected " << y << " (run " << &shapes - &c.runs[0] << ")";
      }
    }
  }
}

TEST_P(CpuNumerics, MatchesReference) {
  const Case &c = GetParam();
  std::string so = (directory / (c.name + ".so")).string();
  std::string error = compile(c.mlir, so, /*gpu=*/false, c.fuse);
  ASSERT_EQ(error, "") << c.mlir;
  auto module = kopt::rt::CompiledModule::load(so);
  ASSERT_TRUE(module.isOk()) << module.status().message();
  compareWithReference(c, referenceGraph(c, (*module)->plan().graphJson()),
                       [&](auto &pointers, auto &options) {
                         return (*module)->invoke("f", pointers, options);
                       });
}

/// `t` as a .npy-writable tensor: bf16 widened to f32 (exactly), which
/// kopt-run rounds back for bf16 inputs and compares bf16 results against.
HostTensor npyWritable(const HostTensor &t) {
  if (t.dtype == KOPT_DTYPE_F8E4M3) { // kopt-run reads uint8 bits as float8
    HostTensor bits = t;
    bits.dtype = KOPT_DTYPE_U8;
    return bits;
  }
  if (t.dtype != KOPT_DTYPE_BF16)
    return t;
  HostTensor wide;
  wide.dtype = KOPT_DTYPE_F32;
  wide.shape = t.shape;
  wide.bytes.resize(t.numElements() * 4);
  for (int64_t i = 0; i < t.numElements(); ++i) {
    uint16_t bits;
    std::memcpy(&bits, t.bytes.data() + 2 * i, 2);
    float value = kopt::rt::bf16ToFloat(bits);
    std::memcpy(wide.bytes.data() + 4 * i, &value, 4);
  }
  return wide;
}

/// For a machine with a GPU but no MLIR: with KOPT_EXPORT_GPU_CASES=DIR,
/// each case's PTX and plan, inputs and reference outputs go to DIR and a
/// kopt-run command line that checks them to DIR/cases.txt.
void exportCase(const Case &c, const std::string &ptx,
                const std::string &graphJson, const std::filesystem::path &dir) {
  namespace fs = std::filesystem;
  fs::create_directories(dir);
  std::string plan = kopt::rt::Plan::planPathFor(ptx);
  fs::copy_file(ptx, dir / (c.name + ".ptx"),
                fs::copy_options::overwrite_existing);
  fs::copy_file(plan, dir / (c.name + ".plan.json"),
                fs::copy_options::overwrite_existing);
  auto graph = kopt::rt::reference::parseGraph(graphJson);
  ASSERT_TRUE(graph.isOk()) << graph.status().message();
  std::mt19937_64 rng(std::hash<std::string>{}(c.name));
  std::ofstream list(dir / "cases.txt", std::ios::app);
  for (size_t run = 0; run < c.runs.size(); ++run) {
    std::vector<HostTensor> inputs = makeInputs(c, c.runs[run], rng);
    auto expected = kopt::rt::reference::evaluate(*graph, "f", inputs, nullptr);
    ASSERT_TRUE(expected.isOk()) << expected.status().message();
    std::string stem = c.name + ".r" + std::to_string(run);
    std::string line = c.name + ".ptx --function=f --poison_outputs";
    for (size_t i = 0; i < inputs.size(); ++i) {
      std::string file = stem + ".in" + std::to_string(i) + ".npy";
      ASSERT_TRUE(kopt::rt::writeNpy((dir / file).string(),
                                     npyWritable(inputs[i])).isOk());
      line += " --input=@" + file;
    }
    double tol = 0;
    for (size_t r = 0; r < expected->size(); ++r) {
      std::string file = stem + ".out" + std::to_string(r) + ".npy";
      ASSERT_TRUE(kopt::rt::writeNpy((dir / file).string(),
                                     npyWritable((*expected)[r])).isOk());
      line += " --expected_output=@" + file;
      tol = std::max(tol, tolerance((*expected)[r].dtype) * c.slack);
    }
    list << line << " --tolerance=" << tol << "," << tol << "\n";
  }
}

/// The same cases compiled to PTX: ptxas (sm_90a) must accept every kernel;
/// with a GPU, results must match the reference (ctest -L cuda).
class GpuNumerics : public CpuNumerics {};

TEST_P(GpuNumerics, MatchesReference) {
  const Case &c = GetParam();
  std::string ptx = (directory / (c.name + ".ptx")).string();
  std::string error = compile(c.mlir, ptx, /*gpu=*/true, c.fuse);
  ASSERT_EQ(error, "") << c.mlir;
  if (std::system("command -v ptxas >/dev/null 2>&1") == 0) {
    std::string command = "ptxas -arch=sm_90a '" + ptx + "' -o /dev/null";
    ASSERT_EQ(std::system(command.c_str()), 0) << "ptxas rejected " << ptx;
  }
  std::string compiledGraph;
  {
    auto plan = kopt::rt::Plan::load(kopt::rt::Plan::planPathFor(ptx));
    ASSERT_TRUE(plan.isOk()) << plan.status().message();
    compiledGraph = (*plan)->graphJson();
  }
  if (const char *dir = std::getenv("KOPT_EXPORT_GPU_CASES")) {
    exportCase(c, ptx, referenceGraph(c, compiledGraph), dir);
    return;
  }
  auto module = kopt::rt::GpuModule::load(ptx, 0);
  if (!module.isOk() &&
      module.status().code() == KOPT_STATUS_UNAVAILABLE)
    GTEST_SKIP() << "no CUDA GPU: " << module.status().message();
  ASSERT_TRUE(module.isOk()) << module.status().message();
  compareWithReference(c, referenceGraph(c, compiledGraph),
                       [&](auto &pointers, auto &options) {
                         return (*module)->invoke("f", pointers, options);
                       });
}

InputSpec f(kopt_dtype_t dtype = KOPT_DTYPE_F32, double low = -1, double high = 1) {
  InputSpec s;
  s.dtype = dtype;
  s.low = low;
  s.high = high;
  return s;
}
InputSpec ints(double low, double high, kopt_dtype_t dtype = KOPT_DTYPE_I32) {
  return f(dtype, low, high);
}
InputSpec iota() {
  InputSpec s = f(KOPT_DTYPE_I32);
  s.iota = true;
  return s;
}
InputSpec constant(double value) {
  InputSpec s = f(KOPT_DTYPE_I32);
  s.fill = value;
  return s;
}

std::string fn(const std::string &signature, const std::string &body) {
  return "func.func @f" + signature + " {\n" + body + "\n}\n";
}

/// Runs of one dynamic dim `n` for inputs whose shapes are given by `shape`.
std::vector<std::vector<std::vector<int64_t>>>
sizes(std::initializer_list<int64_t> ns,
      const std::function<std::vector<std::vector<int64_t>>(int64_t)> &shape) {
  std::vector<std::vector<std::vector<int64_t>>> runs;
  for (int64_t n : ns)
    runs.push_back(shape(n));
  return runs;
}

const char *typeName(kopt_dtype_t dtype) { return kopt_dtype_name(dtype); }

std::vector<Case> elementwiseCases() {
  std::vector<Case> cases;
  for (kopt_dtype_t dt : {KOPT_DTYPE_F32, KOPT_DTYPE_F16, KOPT_DTYPE_BF16}) {
    std::string t = typeName(dt);
    std::string x = "tensor<?x13x" + t + ">", row = "tensor<13x" + t + ">";
    for (const char *op : {"add", "sub", "mul", "div"})
      cases.push_back({std::string(op) + "_" + t,
                       fn("(%a: " + x + ", %b: " + row + ") -> " + x,
                          "  %r = kopt." + std::string(op) + " %a, %b : (" + x +
                              ", " + row + ") -> " + x + "\n  return %r : " + x),
                       {f(dt), f(dt, 0.5, 2.0)},
                       sizes({1, 7, 65}, [](int64_t n) {
                         return std::vector<std::vector<int64_t>>{{n, 13}, {13}};
                       })});
    for (const char *op : {"silu", "relu", "sigmoid", "tanh", "exp", "neg"})
      cases.push_back({std::string(op) + "_" + t,
                       fn("(%a: " + x + ") -> " + x,
                          "  %r = kopt." + std::string(op) + " %a : (" + x +
                              ") -> " + x + "\n  return %r : " + x),
                       {f(dt, -4, 4)},
                       sizes({1, 31}, [](int64_t n) {
                         return std::vector<std::vector<int64_t>>{{n, 13}};
                       })});
  }
  std::string x = "tensor<?x7xf32>";
  auto unary = [&](const std::string &name, const std::string &expr, InputSpec in) {
    cases.push_back({name, fn("(%a: " + x + ") -> " + x,
                              "  %r = " + expr + " : (" + x + ") -> " + x +
                                  "\n  return %r : " + x),
                     {in}, sizes({1, 5, 64}, [](int64_t n) {
                       return std::vector<std::vector<int64_t>>{{n, 7}};
                     })});
  };
  unary("rsqrt", "kopt.rsqrt %a", f(KOPT_DTYPE_F32, 0.1, 4));
  unary("gelu_none", "kopt.gelu %a", f(KOPT_DTYPE_F32, -4, 4));
  unary("gelu_tanh", "kopt.gelu %a {approximate = \"tanh\"}", f(KOPT_DTYPE_F32, -4, 4));
  unary("clamp", "kopt.clamp %a {min = -0.5 : f32, max = 0.25 : f32}", f());
  // Scalars broadcast; ints add.
  cases.push_back({"scalar_mul",
                   fn("(%a: tensor<2x?x5xf16>) -> tensor<2x?x5xf16>",
                      "  %c = arith.constant dense<0.5> : tensor<f16>\n"
                      "  %r = kopt.mul %a, %c : (tensor<2x?x5xf16>, tensor<f16>) -> tensor<2x?x5xf16>\n"
                      "  return %r : tensor<2x?x5xf16>"),
                   {f(KOPT_DTYPE_F16)},
                   sizes({1, 3}, [](int64_t n) {
                     return std::vector<std::vector<int64_t>>{{2, n, 5}};
                   })});
  cases.push_back({"int_add_broadcast",
                   fn("(%a: tensor<?x1xi32>, %b: tensor<1x6xi32>) -> tensor<?x6xi32>",
                      "  %r = kopt.add %a, %b : (tensor<?x1xi32>, tensor<1x6xi32>) -> tensor<?x6xi32>\n"
                      "  return %r : tensor<?x6xi32>"),
                   {ints(-100, 100), ints(-100, 100)},
                   sizes({1, 9}, [](int64_t n) {
                     return std::vector<std::vector<int64_t>>{{n, 1}, {1, 6}};
                   })});
  for (auto [from, to] : {std::pair{"f32", "f16"}, {"f16", "f32"}, {"f32", "bf16"},
                          {"bf16", "f32"}, {"f32", "i32"}, {"i32", "f32"}}) {
    std::string a = std::string("tensor<?x4x") + from + ">";
    std::string b = std::string("tensor<?x4x") + to + ">";
    InputSpec in = std::string(from) == "i32" ? ints(-50, 50)
                   : std::string(from) == "f16" ? f(KOPT_DTYPE_F16, -9, 9)
                   : std::string(from) == "bf16" ? f(KOPT_DTYPE_BF16, -9, 9)
                                                 : f(KOPT_DTYPE_F32, -9, 9);
    cases.push_back({std::string("cast_") + from + "_" + to,
                     fn("(%a: " + a + ") -> " + b,
                        "  %r = kopt.cast %a : (" + a + ") -> " + b +
                            "\n  return %r : " + b),
                     {in}, sizes({1, 6}, [](int64_t n) {
                       return std::vector<std::vector<int64_t>>{{n, 4}};
                     })});
  }
  // NaN and infinities propagate as IEEE arithmetic and PyTorch do.
  InputSpec withNaN = f(KOPT_DTYPE_F32, -2, 2);
  withNaN.specialEvery = 5;
  InputSpec withInf = withNaN;
  withInf.special = INFINITY;
  for (auto [name, in] : {std::pair{"nan", withNaN}, {"inf", withInf}}) {
    cases.push_back({std::string("add_") + name,
                     fn("(%a: tensor<?x6xf32>, %b: tensor<?x6xf32>) -> tensor<?x6xf32>",
                        "  %r = kopt.add %a, %b : (tensor<?x6xf32>, tensor<?x6xf32>) -> tensor<?x6xf32>\n"
                        "  return %r : tensor<?x6xf32>"),
                     {in, f()}, sizes({2, 7}, [](int64_t n) {
                       return std::vector<std::vector<int64_t>>{{n, 6}, {n, 6}};
                     })});
    for (const char *op : {"relu", "silu", "softmax"})
      cases.push_back({std::string(op) + "_" + name,
                       fn("(%a: tensor<?x6xf32>) -> tensor<?x6xf32>",
                          std::string("  %r = kopt.") + op +
                              " %a : (tensor<?x6xf32>) -> tensor<?x6xf32>\n"
                              "  return %r : tensor<?x6xf32>"),
                       {in}, sizes({2, 7}, [](int64_t n) {
                         return std::vector<std::vector<int64_t>>{{n, 6}};
                       })});
  }
  return cases;
}

std::vector<Case> linearAlgebraCases() {
  std::vector<Case> cases;
  for (kopt_dtype_t dt : {KOPT_DTYPE_F32, KOPT_DTYPE_F16, KOPT_DTYPE_BF16}) {
    std::string t = typeName(dt);
    std::string x = "tensor<2x?x37x" + t + ">", w = "tensor<29x37x" + t + ">",
                b = "tensor<29x" + t + ">", y = "tensor<2x?x29x" + t + ">";
    cases.push_back({"linear_bias_" + t,
                     fn("(%x: " + x + ", %w: " + w + ", %b: " + b + ") -> " + y,
                        "  %r = kopt.linear %x, %w, %b : (" + x + ", " + w + ", " +
                            b + ") -> " + y + "\n  return %r : " + y),
                     {f(dt), f(dt, -0.2, 0.2), f(dt)},
                     sizes({1, 3, 17}, [](int64_t n) {
                       return std::vector<std::vector<int64_t>>{
                           {2, n, 37}, {29, 37}, {29}};
                     }),
                     4.0});
  }
  // The f32 register-blocked kernel at its edges: K below, at and above one
  // vector of 16 with tails, N and M around the 4 x 4 block.
  for (auto [n, k] : {std::pair<int64_t, int64_t>{1, 7}, {4, 16}, {5, 33},
                      {9, 64}, {3, 100}}) {
    std::string x = "tensor<?x" + std::to_string(k) + "xf32>";
    std::string w = "tensor<" + std::to_string(n) + "x" + std::to_string(k) + "xf32>";
    std::string y = "tensor<?x" + std::to_string(n) + "xf32>";
    cases.push_back({"linear_kernel_n" + std::to_string(n) + "_k" + std::to_string(k),
                     fn("(%x: " + x + ", %w: " + w + ") -> " + y,
                        "  %r = kopt.linear %x, %w : (" + x + ", " + w + ") -> " +
                            y + "\n  return %r : " + y),
                     {f(), f()},
                     sizes({1, 4, 5, 11}, [n = n, k = k](int64_t m) {
                       return std::vector<std::vector<int64_t>>{{m, k}, {n, k}};
                     }),
                     4.0});
  }
  // The tensor-core GEMM (16-bit operands, K % 8 == 0, M > 8) at its
  // edges: M and N around the 128 x 128 tile, K around the 32-wide slice,
  // odd N (unpaired stores), and a bias.
  for (kopt_dtype_t dt : {KOPT_DTYPE_F16, KOPT_DTYPE_BF16}) {
    std::string t = typeName(dt);
    for (auto [n, k] : {std::pair<int64_t, int64_t>{127, 40}, {136, 264},
                        {1, 8}, {520, 264}}) {
      std::string x = "tensor<?x" + std::to_string(k) + "x" + t + ">";
      std::string w = "tensor<" + std::to_string(n) + "x" + std::to_string(k) +
                      "x" + t + ">";
      std::string b = "tensor<" + std::to_string(n) + "x" + t + ">";
      std::string y = "tensor<?x" + std::to_string(n) + "x" + t + ">";
      cases.push_back(
          {"linear_mma_" + t + "_n" + std::to_string(n) + "_k" +
               std::to_string(k),
           fn("(%x: " + x + ", %w: " + w + ", %b: " + b + ") -> " + y,
              "  %r = kopt.linear %x, %w, %b : (" + x + ", " + w + ", " + b +
                  ") -> " + y + "\n  return %r : " + y),
           {f(dt), f(dt, -0.2, 0.2), f(dt)},
           sizes({9, 127, 131, 300}, [n = n, k = k](int64_t m) {
             return std::vector<std::vector<int64_t>>{{m, k}, {n, k}, {n}};
           }),
           4.0});
    }
    // B stored [k, n] (ldmatrix.trans), batched, and broadcast over batch.
    std::string a = "tensor<2x?x72x" + t + ">", bk = "tensor<2x72x136x" + t + ">",
                b2 = "tensor<72x136x" + t + ">", c = "tensor<2x?x136x" + t + ">";
    cases.push_back(
        {"matmul_mma_kn_" + t,
         fn("(%a: " + a + ", %b: " + bk + ", %b2: " + b2 + ") -> (" + c + ", " +
                c + ")",
            "  %r = kopt.matmul %a, %b : (" + a + ", " + bk + ") -> " + c +
                "\n  %s = kopt.matmul %a, %b2 : (" + a + ", " + b2 + ") -> " +
                c + "\n  return %r, %s : " + c + ", " + c),
         {f(dt), f(dt), f(dt)},
         sizes({9, 131}, [](int64_t m) {
           return std::vector<std::vector<int64_t>>{
               {2, m, 72}, {2, 72, 136}, {72, 136}};
         }),
         4.0});
    // transpose_b with a dynamic N: no static width, unpaired stores.
    cases.push_back(
        {"matmul_mma_nk_" + t,
         fn("(%a: tensor<?x64x" + t + ">, %b: tensor<?x64x" + t +
                ">) -> tensor<?x?x" + t + ">",
            "  %r = kopt.matmul %a, %b {transpose_b = true} : (tensor<?x64x" +
                t + ">, tensor<?x64x" + t + ">) -> tensor<?x?x" + t +
                ">\n  return %r : tensor<?x?x" + t + ">"),
         {f(dt), f(dt)},
         {{{9, 64}, {130, 64}}, {{200, 64}, {7, 64}}, {{1, 64}, {1, 64}}},
         4.0});
  }
  cases.push_back({"linear_vector",
                   fn("(%x: tensor<64xf32>, %w: tensor<3x64xf32>) -> tensor<3xf32>",
                      "  %r = kopt.linear %x, %w : (tensor<64xf32>, tensor<3x64xf32>) -> tensor<3xf32>\n"
                      "  return %r : tensor<3xf32>"),
                   {f(), f()}, {{{64}, {3, 64}}}});
  cases.push_back({"matmul_broadcast",
                   fn("(%a: tensor<2x3x?x8xf32>, %b: tensor<3x8x5xf32>) -> tensor<2x3x?x5xf32>",
                      "  %r = kopt.matmul %a, %b : (tensor<2x3x?x8xf32>, tensor<3x8x5xf32>) -> tensor<2x3x?x5xf32>\n"
                      "  return %r : tensor<2x3x?x5xf32>"),
                   {f(), f()},
                   sizes({1, 7}, [](int64_t n) {
                     return std::vector<std::vector<int64_t>>{{2, 3, n, 8}, {3, 8, 5}};
                   })});
  cases.push_back({"matmul_transpose_b",
                   fn("(%a: tensor<?x16xf16>, %b: tensor<?x16xf16>) -> tensor<?x?xf16>",
                      "  %r = kopt.matmul %a, %b {transpose_b = true} : (tensor<?x16xf16>, tensor<?x16xf16>) -> tensor<?x?xf16>\n"
                      "  return %r : tensor<?x?xf16>"),
                   {f(KOPT_DTYPE_F16), f(KOPT_DTYPE_F16)},
                   {{{5, 16}, {7, 16}}, {{1, 16}, {1, 16}}}, 2.0});
  return cases;
}

std::vector<Case> normalizationCases() {
  std::vector<Case> cases;
  for (kopt_dtype_t dt : {KOPT_DTYPE_F32, KOPT_DTYPE_F16, KOPT_DTYPE_BF16}) {
    std::string t = typeName(dt);
    std::string x = "tensor<1x?x48x" + t + ">", p = "tensor<48x" + t + ">";
    auto shapes = sizes({1, 7, 33}, [](int64_t n) {
      return std::vector<std::vector<int64_t>>{{1, n, 48}, {48}, {48}};
    });
    cases.push_back({"rmsnorm_" + t,
                     fn("(%x: " + x + ", %w: " + p + ") -> " + x,
                        "  %r = kopt.rmsnorm %x, %w {epsilon = 1.0e-05 : f32} : (" +
                            x + ", " + p + ") -> " + x + "\n  return %r : " + x),
                     {f(dt, -3, 3), f(dt, 0.5, 1.5)},
                     sizes({1, 7, 33}, [](int64_t n) {
                       return std::vector<std::vector<int64_t>>{{1, n, 48}, {48}};
                     })});
    cases.push_back({"layernorm_" + t,
                     fn("(%x: " + x + ", %w: " + p + ", %b: " + p + ") -> " + x,
                        "  %r = kopt.layernorm %x, %w, %b : (" + x + ", " + p +
                            ", " + p + ") -> " + x + "\n  return %r : " + x),
                     {f(dt, -3, 3), f(dt, 0.5, 1.5), f(dt)}, shapes});
    cases.push_back({"softmax_" + t,
                     fn("(%x: " + x + ") -> " + x,
                        "  %r = kopt.softmax %x : (" + x + ") -> " + x +
                            "\n  return %r : " + x),
                     {f(dt, -6, 6)},
                     sizes({1, 9}, [](int64_t n) {
                       return std::vector<std::vector<int64_t>>{{1, n, 48}};
                     })});
  }
  // Rows the GPU keeps in registers (16-byte vectors, 1-4 per thread).
  for (auto [dt, d] : {std::pair{KOPT_DTYPE_BF16, 2048}, {KOPT_DTYPE_F16, 4096},
                       {KOPT_DTYPE_F32, 2048}, {KOPT_DTYPE_BF16, 256}}) {
    std::string t = typeName(dt), n = std::to_string(d);
    std::string x = "tensor<?x" + n + "x" + t + ">", p = "tensor<" + n + "x" + t + ">";
    cases.push_back({"rmsnorm_resident_" + t + "_" + n,
                     fn("(%x: " + x + ", %w: " + p + ") -> " + x,
                        "  %r = kopt.rmsnorm %x, %w {epsilon = 1.0e-05 : f32} : (" +
                            x + ", " + p + ") -> " + x + "\n  return %r : " + x),
                     {f(dt, -3, 3), f(dt, 0.5, 1.5)},
                     sizes({1, 3}, [d](int64_t rows) {
                       return std::vector<std::vector<int64_t>>{{rows, d}, {d}};
                     })});
  }
  cases.push_back({"softmax_axis1",
                   fn("(%x: tensor<3x?x5xf32>) -> tensor<3x?x5xf32>",
                      "  %r = kopt.softmax %x {axis = 1 : i64} : (tensor<3x?x5xf32>) -> tensor<3x?x5xf32>\n"
                      "  return %r : tensor<3x?x5xf32>"),
                   {f(KOPT_DTYPE_F32, -5, 5)},
                   sizes({1, 11}, [](int64_t n) {
                     return std::vector<std::vector<int64_t>>{{3, n, 5}};
                   })});
  cases.push_back({"l2norm",
                   fn("(%x: tensor<?x19xf32>) -> tensor<?x19xf32>",
                      "  %r = kopt.l2norm %x : (tensor<?x19xf32>) -> tensor<?x19xf32>\n"
                      "  return %r : tensor<?x19xf32>"),
                   {f()}, sizes({1, 4}, [](int64_t n) {
                     return std::vector<std::vector<int64_t>>{{n, 19}};
                   })});
  return cases;
}

std::vector<Case> reductionCases() {
  std::vector<Case> cases;
  auto shapes = sizes({1, 6, 17}, [](int64_t n) {
    return std::vector<std::vector<int64_t>>{{2, n, 5}};
  });
  for (const char *op : {"reduce_sum", "reduce_mean", "reduce_max"}) {
    cases.push_back({std::string(op) + "_middle",
                     fn("(%x: tensor<2x?x5xf32>) -> tensor<2x5xf32>",
                        "  %r = kopt." + std::string(op) +
                            " %x {axes = array<i64: 1>} : (tensor<2x?x5xf32>) -> tensor<2x5xf32>\n"
                            "  return %r : tensor<2x5xf32>"),
                     {f()}, shapes});
    cases.push_back({std::string(op) + "_keepdim_all",
                     fn("(%x: tensor<2x?x5xf16>) -> tensor<1x1x1xf16>",
                        "  %r = kopt." + std::string(op) +
                            " %x {axes = array<i64: 0, 1, 2>, keepdim = true} : (tensor<2x?x5xf16>) -> tensor<1x1x1xf16>\n"
                            "  return %r : tensor<1x1x1xf16>"),
                     {f(KOPT_DTYPE_F16)}, shapes, 2.0});
  }
  cases.push_back({"argmax",
                   fn("(%x: tensor<2x?x5xf32>) -> tensor<2x?xi32>",
                      "  %r = kopt.argmax %x : (tensor<2x?x5xf32>) -> tensor<2x?xi32>\n"
                      "  return %r : tensor<2x?xi32>"),
                   {f()}, shapes});
  cases.push_back({"argmax_axis0_keepdim",
                   fn("(%x: tensor<2x?x5xf32>) -> tensor<1x?x5xi32>",
                      "  %r = kopt.argmax %x {axis = 0 : i64, keepdim = true} : (tensor<2x?x5xf32>) -> tensor<1x?x5xi32>\n"
                      "  return %r : tensor<1x?x5xi32>"),
                   {f()}, shapes});
  cases.push_back({"topk_last",
                   fn("(%x: tensor<3x?xf32>) -> (tensor<3x3xf32>, tensor<3x3xi32>)",
                      "  %v, %i = kopt.topk %x {k = 3 : i64} : (tensor<3x?xf32>) -> (tensor<3x3xf32>, tensor<3x3xi32>)\n"
                      "  return %v, %i : tensor<3x3xf32>, tensor<3x3xi32>"),
                   {f()}, sizes({3, 8, 31}, [](int64_t n) {
                     return std::vector<std::vector<int64_t>>{{3, n}};
                   })});
  // Ties (small integers), NaNs ranking first, a long column.
  cases.push_back({"topk_int_ties",
                   fn("(%x: tensor<?x40xi32>) -> (tensor<?x6xi32>, tensor<?x6xi32>)",
                      "  %v, %i = kopt.topk %x {k = 6 : i64} : (tensor<?x40xi32>) -> (tensor<?x6xi32>, tensor<?x6xi32>)\n"
                      "  return %v, %i : tensor<?x6xi32>, tensor<?x6xi32>"),
                   {ints(0, 5)}, sizes({1, 9}, [](int64_t n) {
                     return std::vector<std::vector<int64_t>>{{n, 40}};
                   })});
  {
    InputSpec withNan = f(KOPT_DTYPE_BF16);
    withNan.specialEvery = 97;
    cases.push_back({"topk_bf16_nan_long",
                     fn("(%x: tensor<2x?xbf16>) -> (tensor<2x5xbf16>, tensor<2x5xi32>)",
                        "  %v, %i = kopt.topk %x {k = 5 : i64, axis = 1 : i64} : (tensor<2x?xbf16>) -> (tensor<2x5xbf16>, tensor<2x5xi32>)\n"
                        "  return %v, %i : tensor<2x5xbf16>, tensor<2x5xi32>"),
                     {withNan}, sizes({5, 1000}, [](int64_t n) {
                       return std::vector<std::vector<int64_t>>{{2, n}};
                     })});
  }
  cases.push_back({"topk_axis0",
                   fn("(%x: tensor<7x4xf16>) -> (tensor<2x4xf16>, tensor<2x4xi32>)",
                      "  %v, %i = kopt.topk %x {k = 2 : i64, axis = 0 : i64} : (tensor<7x4xf16>) -> (tensor<2x4xf16>, tensor<2x4xi32>)\n"
                      "  return %v, %i : tensor<2x4xf16>, tensor<2x4xi32>"),
                   {f(KOPT_DTYPE_F16)}, {{{7, 4}}}});
  return cases;
}

std::vector<Case> dataMovementCases() {
  std::vector<Case> cases;
  cases.push_back({"embedding",
                   fn("(%t: tensor<50x6xbf16>, %ids: tensor<2x?xi32>) -> tensor<2x?x6xbf16>",
                      "  %r = kopt.embedding %t, %ids : (tensor<50x6xbf16>, tensor<2x?xi32>) -> tensor<2x?x6xbf16>\n"
                      "  return %r : tensor<2x?x6xbf16>"),
                   {f(KOPT_DTYPE_BF16), ints(0, 50)},
                   sizes({1, 13}, [](int64_t n) {
                     return std::vector<std::vector<int64_t>>{{50, 6}, {2, n}};
                   })});
  cases.push_back({"gather_tokens",
                   fn("(%x: tensor<2x?x4xf32>, %i: tensor<2x3xi32>) -> tensor<2x3x4xf32>",
                      "  %r = kopt.gather %x, %i {axis = 1 : i64} : (tensor<2x?x4xf32>, tensor<2x3xi32>) -> tensor<2x3x4xf32>\n"
                      "  return %r : tensor<2x3x4xf32>"),
                   {f(), ints(0, 5)},
                   {{{2, 5, 4}, {2, 3}}, {{2, 9, 4}, {2, 3}}}});
  cases.push_back({"reshape_transpose",
                   fn("(%x: tensor<1x?x24xf32>) -> tensor<1x4x?x6xf32>",
                      "  %a = kopt.reshape %x : (tensor<1x?x24xf32>) -> tensor<1x?x4x6xf32>\n"
                      "  %b = kopt.transpose %a {permutation = array<i64: 0, 2, 1, 3>} : (tensor<1x?x4x6xf32>) -> tensor<1x4x?x6xf32>\n"
                      "  return %b : tensor<1x4x?x6xf32>"),
                   {f()}, sizes({1, 5}, [](int64_t n) {
                     return std::vector<std::vector<int64_t>>{{1, n, 24}};
                   })});
  cases.push_back({"concat_slice",
                   fn("(%a: tensor<?x3xf16>, %b: tensor<?x5xf16>) -> tensor<?x4xf16>",
                      "  %c = kopt.concat %a, %b {axis = 1 : i64} : (tensor<?x3xf16>, tensor<?x5xf16>) -> tensor<?x8xf16>\n"
                      "  %s = kopt.slice %c {axis = 1 : i64, start = 2 : i64, size = 4 : i64} : (tensor<?x8xf16>) -> tensor<?x4xf16>\n"
                      "  return %s : tensor<?x4xf16>"),
                   {f(KOPT_DTYPE_F16), f(KOPT_DTYPE_F16)},
                   sizes({1, 7}, [](int64_t n) {
                     return std::vector<std::vector<int64_t>>{{n, 3}, {n, 5}};
                   })});
  cases.push_back({"concat_axis0",
                   fn("(%a: tensor<?x3xf32>, %b: tensor<2x3xf32>) -> tensor<?x3xf32>",
                      "  %c = kopt.concat %a, %b {axis = 0 : i64} : (tensor<?x3xf32>, tensor<2x3xf32>) -> tensor<?x3xf32>\n"
                      "  return %c : tensor<?x3xf32>"),
                   {f(), f()}, sizes({1, 4}, [](int64_t n) {
                     return std::vector<std::vector<int64_t>>{{n, 3}, {2, 3}};
                   })});
  return cases;
}

std::vector<Case> attentionCases() {
  std::vector<Case> cases;
  for (const char *attrs :
       {"", "{causal = true}", "{causal = true, window = 3 : i64}",
        "{scale = 0.25 : f32}"}) {
    std::string q = "tensor<2x?x4x8xf32>", kv = "tensor<2x?x2x8xf32>";
    cases.push_back({std::string("attention_gqa") +
                         std::to_string(std::strlen(attrs)),
                     fn("(%q: " + q + ", %k: " + kv + ", %v: " + kv + ") -> " + q,
                        "  %o = kopt.attention %q, %k, %v " + std::string(attrs) +
                            " : (" + q + ", " + kv + ", " + kv + ") -> " + q +
                            "\n  return %o : " + q),
                     {f(KOPT_DTYPE_F32, -2, 2), f(KOPT_DTYPE_F32, -2, 2), f()},
                     // 130 keys span three blocks of 64, the last ragged.
                     sizes({1, 5, 13, 130}, [](int64_t n) {
                       return std::vector<std::vector<int64_t>>{
                           {2, n, 4, 8}, {2, n, 2, 8}, {2, n, 2, 8}};
                     })});
  }
  // The tensor-core FlashAttention kernel (16-bit, D = 64 or 128, Sq >= 16)
  // at its edges: query and key counts around the 64-row tiles, GQA,
  // causal, sliding windows that skip tiles, scale, and kv_len (rows with
  // no visible key write zeros).
  for (kopt_dtype_t dt : {KOPT_DTYPE_F16, KOPT_DTYPE_BF16}) {
    std::string t = typeName(dt);
    for (const char *attrs :
         {"{causal = true}", "", "{causal = true, window = 37 : i64}",
          "{scale = 0.05 : f32}"}) {
      std::string q = "tensor<2x?x4x64x" + t + ">",
                  kv = "tensor<2x?x2x64x" + t + ">";
      cases.push_back(
          {"attention_flash_" + t + "_" + std::to_string(std::strlen(attrs)),
           fn("(%q: " + q + ", %k: " + kv + ", %v: " + kv + ") -> " + q,
              "  %o = kopt.attention %q, %k, %v " + std::string(attrs) + " : (" +
                  q + ", " + kv + ", " + kv + ") -> " + q + "\n  return %o : " + q),
           {f(dt, -2, 2), f(dt, -2, 2), f(dt)},
           {{{2, 16, 4, 64}, {2, 16, 2, 64}, {2, 16, 2, 64}},
            {{2, 67, 4, 64}, {2, 67, 2, 64}, {2, 67, 2, 64}},
            {{2, 130, 4, 64}, {2, 130, 2, 64}, {2, 130, 2, 64}},
            {{2, 33, 4, 64}, {2, 91, 2, 64}, {2, 91, 2, 64}}},
           2.0});
    }
    std::string q = "tensor<2x?x2x128x" + t + ">",
                kv = "tensor<2x200x1x128x" + t + ">";
    cases.push_back(
        {"attention_flash_kv_len_" + t,
         fn("(%q: " + q + ", %k: " + kv + ", %v: " + kv +
                ", %l: tensor<2xi32>) -> " + q,
            "  %o = kopt.attention %q, %k, %v, %l {causal = true, window = 90 : "
            "i64} : (" + q + ", " + kv + ", " + kv + ", tensor<2xi32>) -> " + q +
                "\n  return %o : " + q),
         {f(dt, -2, 2), f(dt, -2, 2), f(dt), ints(0, 201)},
         {{{2, 16, 2, 128}, {2, 200, 1, 128}, {2, 200, 1, 128}, {2}},
          {{2, 77, 2, 128}, {2, 200, 1, 128}, {2, 200, 1, 128}, {2}},
          {{2, 150, 2, 128}, {2, 200, 1, 128}, {2, 200, 1, 128}, {2}}},
         2.0});
  }
  // The sm_90a wgmma kernel's 128-query, 128-key tiles: counts around them,
  // more keys than queries (positions shifted), a window that skips whole
  // key tiles, D = 128, two query heads per kv head.
  for (auto [dt, attrs] :
       {std::pair{KOPT_DTYPE_F16, "{causal = true}"},
        std::pair{KOPT_DTYPE_BF16, "{causal = true}"},
        std::pair{KOPT_DTYPE_BF16, "{causal = true, window = 150 : i64}"},
        std::pair{KOPT_DTYPE_BF16, ""}}) {
    std::string t = typeName(dt);
    std::string q = "tensor<1x?x2x128x" + t + ">",
                kv = "tensor<1x?x1x128x" + t + ">";
    cases.push_back(
        {"attention_wgmma_" + t + "_" + std::to_string(std::strlen(attrs)),
         fn("(%q: " + q + ", %k: " + kv + ", %v: " + kv + ") -> " + q,
            "  %o = kopt.attention %q, %k, %v " + std::string(attrs) + " : (" +
                q + ", " + kv + ", " + kv + ") -> " + q + "\n  return %o : " + q),
         {f(dt, -2, 2), f(dt, -2, 2), f(dt)},
         {{{1, 127, 2, 128}, {1, 127, 1, 128}, {1, 127, 1, 128}},
          {{1, 129, 2, 128}, {1, 129, 1, 128}, {1, 129, 1, 128}},
          {{1, 257, 2, 128}, {1, 257, 1, 128}, {1, 257, 1, 128}},
          {{1, 45, 2, 128}, {1, 389, 1, 128}, {1, 389, 1, 128}}},
         2.0});
  }
  // Split-KV decode: 700 keys in three 256-key splits, kv_len leaving
  // some splits (or whole rows) empty; and without kv_len or causality.
  cases.push_back(
      {"attention_decode_splits",
       fn("(%q: tensor<2x?x4x64xbf16>, %k: tensor<2x700x2x64xbf16>, %v: tensor<2x700x2x64xbf16>, %l: tensor<2xi32>) -> tensor<2x?x4x64xbf16>",
          "  %o = kopt.attention %q, %k, %v, %l {causal = true} : (tensor<2x?x4x64xbf16>, tensor<2x700x2x64xbf16>, tensor<2x700x2x64xbf16>, tensor<2xi32>) -> tensor<2x?x4x64xbf16>\n"
          "  return %o : tensor<2x?x4x64xbf16>"),
       {f(KOPT_DTYPE_BF16, -2, 2), f(KOPT_DTYPE_BF16, -2, 2), f(KOPT_DTYPE_BF16),
        ints(0, 701)},
       {{{2, 1, 4, 64}, {2, 700, 2, 64}, {2, 700, 2, 64}, {2}},
        {{2, 3, 4, 64}, {2, 700, 2, 64}, {2, 700, 2, 64}, {2}},
        {{2, 15, 4, 64}, {2, 700, 2, 64}, {2, 700, 2, 64}, {2}}},
       2.0});
  cases.push_back(
      {"attention_decode_splits_plain",
       fn("(%q: tensor<1x?x3x40xf32>, %k: tensor<1x?x3x40xf32>, %v: tensor<1x?x3x40xf32>) -> tensor<1x?x3x40xf32>",
          "  %o = kopt.attention %q, %k, %v : (tensor<1x?x3x40xf32>, tensor<1x?x3x40xf32>, tensor<1x?x3x40xf32>) -> tensor<1x?x3x40xf32>\n"
          "  return %o : tensor<1x?x3x40xf32>"),
       {f(KOPT_DTYPE_F32, -2, 2), f(KOPT_DTYPE_F32, -2, 2), f()},
       {{{1, 2, 3, 40}, {1, 600, 3, 40}, {1, 600, 3, 40}},
        {{1, 1, 3, 40}, {1, 257, 3, 40}, {1, 257, 3, 40}}}});
  // The grouped-head decode kernel at its edges: 8 query heads per kv head
  // with kv_len and a window over three 512-key splits; 16 heads per kv
  // head (two row groups per query) with a 12-chunk head dim (lanes left
  // idle); a 256-wide head (one key per warp step); one key.
  cases.push_back(
      {"attention_decode_gqa8",
       fn("(%q: tensor<1x?x16x128xbf16>, %k: tensor<1x1100x2x128xbf16>, %v: tensor<1x1100x2x128xbf16>, %l: tensor<1xi32>) -> tensor<1x?x16x128xbf16>",
          "  %o = kopt.attention %q, %k, %v, %l {causal = true, window = 600 : i64} : (tensor<1x?x16x128xbf16>, tensor<1x1100x2x128xbf16>, tensor<1x1100x2x128xbf16>, tensor<1xi32>) -> tensor<1x?x16x128xbf16>\n"
          "  return %o : tensor<1x?x16x128xbf16>"),
       {f(KOPT_DTYPE_BF16, -2, 2), f(KOPT_DTYPE_BF16, -2, 2), f(KOPT_DTYPE_BF16),
        ints(0, 1101)},
       {{{1, 1, 16, 128}, {1, 1100, 2, 128}, {1, 1100, 2, 128}, {1}},
        {{1, 2, 16, 128}, {1, 1100, 2, 128}, {1, 1100, 2, 128}, {1}},
        {{1, 15, 16, 128}, {1, 1100, 2, 128}, {1, 1100, 2, 128}, {1}}},
       2.0});
  // The tensor-core decode path in f16 with a run-time key count (so a
  // run-time number of 1024-key splits for the combine kernel).
  cases.push_back(
      {"attention_decode_mma_f16",
       fn("(%q: tensor<2x?x8x64xf16>, %k: tensor<2x?x2x64xf16>, %v: tensor<2x?x2x64xf16>) -> tensor<2x?x8x64xf16>",
          "  %o = kopt.attention %q, %k, %v {causal = true} : (tensor<2x?x8x64xf16>, tensor<2x?x2x64xf16>, tensor<2x?x2x64xf16>) -> tensor<2x?x8x64xf16>\n"
          "  return %o : tensor<2x?x8x64xf16>"),
       {f(KOPT_DTYPE_F16, -2, 2), f(KOPT_DTYPE_F16, -2, 2), f(KOPT_DTYPE_F16)},
       {{{2, 1, 8, 64}, {2, 2100, 2, 64}, {2, 2100, 2, 64}},
        {{2, 3, 8, 64}, {2, 37, 2, 64}, {2, 37, 2, 64}}},
       2.0});
  cases.push_back(
      {"attention_decode_gqa16_d96",
       fn("(%q: tensor<2x?x16x96xf16>, %k: tensor<2x?x1x96xf16>, %v: tensor<2x?x1x96xf16>) -> tensor<2x?x16x96xf16>",
          "  %o = kopt.attention %q, %k, %v : (tensor<2x?x16x96xf16>, tensor<2x?x1x96xf16>, tensor<2x?x1x96xf16>) -> tensor<2x?x16x96xf16>\n"
          "  return %o : tensor<2x?x16x96xf16>"),
       {f(KOPT_DTYPE_F16, -2, 2), f(KOPT_DTYPE_F16, -2, 2), f(KOPT_DTYPE_F16)},
       {{{2, 1, 16, 96}, {2, 513, 1, 96}, {2, 513, 1, 96}},
        {{2, 5, 16, 96}, {2, 1, 1, 96}, {2, 1, 1, 96}}},
       2.0});
  cases.push_back(
      {"attention_decode_d256",
       fn("(%q: tensor<1x?x2x256xf16>, %k: tensor<1x?x2x256xf16>, %v: tensor<1x?x2x256xf16>) -> tensor<1x?x2x256xf16>",
          "  %o = kopt.attention %q, %k, %v {causal = true} : (tensor<1x?x2x256xf16>, tensor<1x?x2x256xf16>, tensor<1x?x2x256xf16>) -> tensor<1x?x2x256xf16>\n"
          "  return %o : tensor<1x?x2x256xf16>"),
       {f(KOPT_DTYPE_F16, -2, 2), f(KOPT_DTYPE_F16, -2, 2), f(KOPT_DTYPE_F16)},
       {{{1, 1, 2, 256}, {1, 300, 2, 256}, {1, 300, 2, 256}},
        {{1, 4, 2, 256}, {1, 4, 2, 256}, {1, 4, 2, 256}}},
       2.0});
  // Decode over a cache: kv_len picks the visible prefix.
  cases.push_back({"attention_kv_len",
                   fn("(%q: tensor<1x?x2x4xf16>, %k: tensor<1x16x1x4xf16>, %v: tensor<1x16x1x4xf16>, %l: tensor<1xi32>) -> tensor<1x?x2x4xf16>",
                      "  %o = kopt.attention %q, %k, %v, %l {causal = true} : (tensor<1x?x2x4xf16>, tensor<1x16x1x4xf16>, tensor<1x16x1x4xf16>, tensor<1xi32>) -> tensor<1x?x2x4xf16>\n"
                      "  return %o : tensor<1x?x2x4xf16>"),
                   {f(KOPT_DTYPE_F16), f(KOPT_DTYPE_F16), f(KOPT_DTYPE_F16),
                    constant(9)},
                   {{{1, 1, 2, 4}, {1, 16, 1, 4}, {1, 16, 1, 4}, {1}},
                    {{1, 3, 2, 4}, {1, 16, 1, 4}, {1, 16, 1, 4}, {1}}},
                   2.0});
  // A decode step over a long cache: four key blocks, only a prefix visible.
  cases.push_back({"attention_kv_len_blocks",
                   fn("(%q: tensor<1x?x2x8xf32>, %k: tensor<1x200x2x8xf32>, %v: tensor<1x200x2x8xf32>, %l: tensor<1xi32>) -> tensor<1x?x2x8xf32>",
                      "  %o = kopt.attention %q, %k, %v, %l {causal = true, window = 70 : i64} : (tensor<1x?x2x8xf32>, tensor<1x200x2x8xf32>, tensor<1x200x2x8xf32>, tensor<1xi32>) -> tensor<1x?x2x8xf32>\n"
                      "  return %o : tensor<1x?x2x8xf32>"),
                   {f(KOPT_DTYPE_F32, -2, 2), f(KOPT_DTYPE_F32, -2, 2), f(),
                    constant(150)},
                   {{{1, 1, 2, 8}, {1, 200, 2, 8}, {1, 200, 2, 8}, {1}},
                    {{1, 7, 2, 8}, {1, 200, 2, 8}, {1, 200, 2, 8}, {1}}}});
  cases.push_back({"rope_partial",
                   fn("(%x: tensor<1x?x3x8xf32>, %p: tensor<1x?xi32>) -> tensor<1x?x3x8xf32>",
                      "  %r = kopt.rope %x, %p {rotary_dim = 4 : i64, theta = 500.0 : f32} : (tensor<1x?x3x8xf32>, tensor<1x?xi32>) -> tensor<1x?x3x8xf32>\n"
                      "  return %r : tensor<1x?x3x8xf32>"),
                   {f(), iota()},
                   sizes({1, 7, 40}, [](int64_t n) {
                     return std::vector<std::vector<int64_t>>{{1, n, 3, 8}, {1, n}};
                   }),
                   5.0});
  cases.push_back({"cache_update",
                   fn("(%c: tensor<2x10x1x3xf32>, %u: tensor<2x?x1x3xf32>, %o: tensor<2xi32>) -> tensor<2x10x1x3xf32>",
                      "  %r = kopt.cache_update %c, %u, %o : (tensor<2x10x1x3xf32>, tensor<2x?x1x3xf32>, tensor<2xi32>) -> tensor<2x10x1x3xf32>\n"
                      "  return %r : tensor<2x10x1x3xf32>"),
                   {f(), f(), constant(4)},
                   {{{2, 10, 1, 3}, {2, 1, 1, 3}, {2}},
                    {{2, 10, 1, 3}, {2, 6, 1, 3}, {2}}}});
  // The cache read again after the update (copied, not updated in place),
  // and a cache that is an op's result (updated in place).
  cases.push_back({"cache_update_reread",
                   fn("(%c: tensor<2x10x1x3xf32>, %u: tensor<2x?x1x3xf32>, %o: tensor<2xi32>) -> (tensor<2x10x1x3xf32>, tensor<2x10x1x3xf32>)",
                      "  %r = kopt.cache_update %c, %u, %o : (tensor<2x10x1x3xf32>, tensor<2x?x1x3xf32>, tensor<2xi32>) -> tensor<2x10x1x3xf32>\n"
                      "  %d = kopt.sub %r, %c : (tensor<2x10x1x3xf32>, tensor<2x10x1x3xf32>) -> tensor<2x10x1x3xf32>\n"
                      "  return %r, %d : tensor<2x10x1x3xf32>, tensor<2x10x1x3xf32>"),
                   {f(), f(), constant(3)},
                   {{{2, 10, 1, 3}, {2, 1, 1, 3}, {2}},
                    {{2, 10, 1, 3}, {2, 7, 1, 3}, {2}}}});
  cases.push_back({"cache_update_of_result",
                   fn("(%c: tensor<2x10x1x3xf32>, %u: tensor<2x?x1x3xf32>, %o: tensor<2xi32>) -> tensor<2x10x1x3xf32>",
                      "  %c2 = kopt.mul %c, %c : (tensor<2x10x1x3xf32>, tensor<2x10x1x3xf32>) -> tensor<2x10x1x3xf32>\n"
                      "  %r = kopt.cache_update %c2, %u, %o : (tensor<2x10x1x3xf32>, tensor<2x?x1x3xf32>, tensor<2xi32>) -> tensor<2x10x1x3xf32>\n"
                      "  return %r : tensor<2x10x1x3xf32>"),
                   {f(), f(), constant(9)},
                   {{{2, 10, 1, 3}, {2, 1, 1, 3}, {2}}}});
  // rope(k) written straight into the cache (one kernel on the GPU).
  cases.push_back({"rope_into_cache_update_bf16",
                   fn("(%c: tensor<2x10x2x8xbf16>, %k: tensor<2x?x2x8xbf16>, %p: tensor<2x?xi32>, %o: tensor<2xi32>) -> tensor<2x10x2x8xbf16>",
                      "  %r = kopt.rope %k, %p {theta = 10000.0 : f32} : (tensor<2x?x2x8xbf16>, tensor<2x?xi32>) -> tensor<2x?x2x8xbf16>\n"
                      "  %u = kopt.cache_update %c, %r, %o : (tensor<2x10x2x8xbf16>, tensor<2x?x2x8xbf16>, tensor<2xi32>) -> tensor<2x10x2x8xbf16>\n"
                      "  return %u : tensor<2x10x2x8xbf16>"),
                   {f(KOPT_DTYPE_BF16), f(KOPT_DTYPE_BF16), ints(0, 500), constant(2)},
                   {{{2, 10, 2, 8}, {2, 1, 2, 8}, {2, 1}, {2}},
                    {{2, 10, 2, 8}, {2, 8, 2, 8}, {2, 8}, {2}}},
                   2.0});
  cases.push_back({"linear_attention",
                   fn("(%q: tensor<1x?x2x4xf32>, %k: tensor<1x?x2x4xf32>, %v: tensor<1x?x2x4xf32>, %s: tensor<1x2x4x4xf32>) -> (tensor<1x?x2x4xf32>, tensor<1x2x4x4xf32>)",
                      "  %o, %t = kopt.linear_attention %q, %k, %v, %s {decay = array<f32: 0.5, 0.9>} : (tensor<1x?x2x4xf32>, tensor<1x?x2x4xf32>, tensor<1x?x2x4xf32>, tensor<1x2x4x4xf32>) -> (tensor<1x?x2x4xf32>, tensor<1x2x4x4xf32>)\n"
                      "  return %o, %t : tensor<1x?x2x4xf32>, tensor<1x2x4x4xf32>"),
                   {f(), f(), f(), f()},
                   sizes({1, 6}, [](int64_t n) {
                     return std::vector<std::vector<int64_t>>{
                         {1, n, 2, 4}, {1, n, 2, 4}, {1, n, 2, 4}, {1, 2, 4, 4}};
                   })});
  cases.push_back({"linear_attention_f16_default",
                   fn("(%q: tensor<2x?x3x32xf16>, %k: tensor<2x?x3x32xf16>, %v: tensor<2x?x3x32xf16>) -> (tensor<2x?x3x32xf16>, tensor<2x3x32x32xf32>)",
                      "  %o, %t = kopt.linear_attention %q, %k, %v : (tensor<2x?x3x32xf16>, tensor<2x?x3x32xf16>, tensor<2x?x3x32xf16>) -> (tensor<2x?x3x32xf16>, tensor<2x3x32x32xf32>)\n"
                      "  return %o, %t : tensor<2x?x3x32xf16>, tensor<2x3x32x32xf32>"),
                   {f(KOPT_DTYPE_F16, -0.3, 0.3), f(KOPT_DTYPE_F16, -0.3, 0.3),
                    f(KOPT_DTYPE_F16, -0.3, 0.3)},
                   sizes({1, 7, 33}, [](int64_t n) {
                     return std::vector<std::vector<int64_t>>{
                         {2, n, 3, 32}, {2, n, 3, 32}, {2, n, 3, 32}};
                   }),
                   4.0});
  // The chunked tensor-core kernel (16-bit, D = 64 / 128): lengths around
  // its 64-position chunks, decays 1, 0.9 and 0 (exact powers), an f32
  // state in and out (keys split in two 16-bit parts for it), two blocks of
  // state columns at D = 128 (B = 1 keeps the exported case small); and
  // a 16-bit state without decay.
  cases.push_back(
      {"linear_attention_chunked_bf16",
       fn("(%q: tensor<1x?x3x128xbf16>, %k: tensor<1x?x3x128xbf16>, %v: tensor<1x?x3x128xbf16>, %s: tensor<1x3x128x128xf32>) -> (tensor<1x?x3x128xbf16>, tensor<1x3x128x128xf32>)",
          "  %o, %t = kopt.linear_attention %q, %k, %v, %s {decay = array<f32: 1.0, 0.9, 0.0>} : (tensor<1x?x3x128xbf16>, tensor<1x?x3x128xbf16>, tensor<1x?x3x128xbf16>, tensor<1x3x128x128xf32>) -> (tensor<1x?x3x128xbf16>, tensor<1x3x128x128xf32>)\n"
          "  return %o, %t : tensor<1x?x3x128xbf16>, tensor<1x3x128x128xf32>"),
       {f(KOPT_DTYPE_BF16, -0.5, 0.5), f(KOPT_DTYPE_BF16, -0.5, 0.5),
        f(KOPT_DTYPE_BF16), f(KOPT_DTYPE_F32, -0.5, 0.5)},
       sizes({1, 63, 65, 130}, [](int64_t n) {
         return std::vector<std::vector<int64_t>>{
             {1, n, 3, 128}, {1, n, 3, 128}, {1, n, 3, 128}, {1, 3, 128, 128}};
       }),
       4.0});
  cases.push_back(
      {"linear_attention_chunked_f16",
       fn("(%q: tensor<1x?x2x64xf16>, %k: tensor<1x?x2x64xf16>, %v: tensor<1x?x2x64xf16>) -> (tensor<1x?x2x64xf16>, tensor<1x2x64x64xf16>)",
          "  %o, %t = kopt.linear_attention %q, %k, %v : (tensor<1x?x2x64xf16>, tensor<1x?x2x64xf16>, tensor<1x?x2x64xf16>) -> (tensor<1x?x2x64xf16>, tensor<1x2x64x64xf16>)\n"
          "  return %o, %t : tensor<1x?x2x64xf16>, tensor<1x2x64x64xf16>"),
       {f(KOPT_DTYPE_F16, -0.3, 0.3), f(KOPT_DTYPE_F16, -0.3, 0.3),
        f(KOPT_DTYPE_F16, -0.3, 0.3)},
       sizes({64, 129, 67}, [](int64_t n) {
         return std::vector<std::vector<int64_t>>{
             {1, n, 2, 64}, {1, n, 2, 64}, {1, n, 2, 64}};
       }),
       4.0});
  cases.push_back({"moe_bf16_8x2",
                   fn("(%x: tensor<?x64xbf16>, %r: tensor<8x64xbf16>, %g: tensor<8x40x64xbf16>, %u: tensor<8x40x64xbf16>, %d: tensor<8x64x40xbf16>) -> tensor<?x64xbf16>",
                      "  %y = kopt.moe %x, %r, %g, %u, %d {top_k = 2 : i64} : (tensor<?x64xbf16>, tensor<8x64xbf16>, tensor<8x40x64xbf16>, tensor<8x40x64xbf16>, tensor<8x64x40xbf16>) -> tensor<?x64xbf16>\n"
                      "  return %y : tensor<?x64xbf16>"),
                   {f(KOPT_DTYPE_BF16), f(KOPT_DTYPE_BF16), f(KOPT_DTYPE_BF16, -0.3, 0.3),
                    f(KOPT_DTYPE_BF16, -0.3, 0.3), f(KOPT_DTYPE_BF16, -0.3, 0.3)},
                   sizes({1, 3, 17}, [](int64_t n) {
                     return std::vector<std::vector<int64_t>>{
                         {n, 64}, {8, 64}, {8, 40, 64}, {8, 40, 64}, {8, 64, 40}};
                   }),
                   2.0});
  // The grouped tensor-core path (from 2 tokens): 150 tokens x top 3 over
  // 4 experts (several 64-row tiles per expert), a K tail (136 = 4 x 32 +
  // 8), FFN and hidden units short of a block's 64 / 128; 1 token takes
  // the GEMV kernels.
  cases.push_back({"moe_grouped_f16",
                   fn("(%x: tensor<?x136xf16>, %r: tensor<4x136xf16>, %g: tensor<4x72x136xf16>, %u: tensor<4x72x136xf16>, %d: tensor<4x136x72xf16>) -> tensor<?x136xf16>",
                      "  %y = kopt.moe %x, %r, %g, %u, %d {top_k = 3 : i64} : (tensor<?x136xf16>, tensor<4x136xf16>, tensor<4x72x136xf16>, tensor<4x72x136xf16>, tensor<4x136x72xf16>) -> tensor<?x136xf16>\n"
                      "  return %y : tensor<?x136xf16>"),
                   {f(KOPT_DTYPE_F16), f(KOPT_DTYPE_F16), f(KOPT_DTYPE_F16, -0.3, 0.3),
                    f(KOPT_DTYPE_F16, -0.3, 0.3), f(KOPT_DTYPE_F16, -0.3, 0.3)},
                   sizes({2, 150, 1}, [](int64_t n) {
                     return std::vector<std::vector<int64_t>>{
                         {n, 136}, {4, 136}, {4, 72, 136}, {4, 72, 136}, {4, 136, 72}};
                   }),
                   2.0});
  cases.push_back({"moe",
                   fn("(%x: tensor<?x8xf32>, %r: tensor<4x8xf32>, %g: tensor<4x6x8xf32>, %u: tensor<4x6x8xf32>, %d: tensor<4x8x6xf32>) -> tensor<?x8xf32>",
                      "  %y = kopt.moe %x, %r, %g, %u, %d {top_k = 2 : i64, normalize_topk = true} : (tensor<?x8xf32>, tensor<4x8xf32>, tensor<4x6x8xf32>, tensor<4x6x8xf32>, tensor<4x8x6xf32>) -> tensor<?x8xf32>\n"
                      "  return %y : tensor<?x8xf32>"),
                   {f(), f(), f(), f(), f()},
                   sizes({1, 5}, [](int64_t n) {
                     return std::vector<std::vector<int64_t>>{
                         {n, 8}, {4, 8}, {4, 6, 8}, {4, 6, 8}, {4, 8, 6}};
                   }),
                   4.0});
  return cases;
}


/// kopt.linear over a kopt.dequantize of random packed codes (every byte is a
/// valid code), so the GPU's fused tensor-core kernels (and the CPU's
/// dequantize lowering) are checked against the reference decoder on all
/// code values. K spans more than one unrolled pass of chunks plus a tail;
/// N is not a multiple of the 16-row tile; M covers every token variant.
std::vector<Case> quantizedCases() {
  namespace quant = kopt::rt::quant;
  struct Spec {
    const char *name;
    quant::Storage storage;
    kopt_dtype_t dtype;
    int64_t n, k, group;
    bool asymmetric, bias;
    quant::Layout layout;
    std::initializer_list<int64_t> rows;
    /// Tiling attributes of the linear ("" for the default kernels).
    const char *attrs = "";
    double slack = 1.0;
  };
  const Spec specs[] = {
      {"qlinear_i4_bf16_g128", quant::Storage::Int4, KOPT_DTYPE_BF16, 83, 2432,
       128, false, false, quant::Layout::Mma, {1, 5, 9, 16, 17, 33, 70}},
      {"qlinear_i4_f16_g32_asym_bias", quant::Storage::Int4, KOPT_DTYPE_F16, 40,
       2112, 32, true, true, quant::Layout::Mma, {1, 8, 13, 64, 65}},
      {"qlinear_i8_bf16_channel", quant::Storage::Int8, KOPT_DTYPE_BF16, 37, 1184,
       1184, false, false, quant::Layout::Mma, {1, 3, 20, 40}},
      {"qlinear_i8_f16_g64_asym", quant::Storage::Int8, KOPT_DTYPE_F16, 20, 1088,
       64, true, false, quant::Layout::Mma, {2, 31}},
      // The streamed (bulk-copy) GEMV: f16 i4 with zero points and bias,
      // 19 chunks (prime) of one group each; one scale for the whole
      // tensor over 3 chunks (warps past the last chunk stream nothing);
      // bf16 i8 split into nibbles with zero points, groups of one chunk.
      {"qlinear_i4_f16_g64_asym_bias", quant::Storage::Int4, KOPT_DTYPE_F16,
       45, 1216, 64, true, true, quant::Layout::Mma, {1, 7, 12, 16, 17}},
      {"qlinear_i4_bf16_tensor_asym", quant::Storage::Int4, KOPT_DTYPE_BF16,
       29, 192, 0, true, false, quant::Layout::Mma, {1, 9, 33}},
      {"qlinear_i8_bf16_g32_asym", quant::Storage::Int8, KOPT_DTYPE_BF16, 50,
       2080, 32, true, false, quant::Layout::Mma, {1, 16}},
      // The same encodings through the streamed GEMV (kopt.gemv_tile) up to
      // 16 tokens: scaled weights match the reference like the default
      // kernels; factored scales skip the weights' 16-bit rounding, so
      // they get 4x the tolerance.
      {"qlinear_i4_bf16_g128_streamed", quant::Storage::Int4, KOPT_DTYPE_BF16,
       83, 2432, 128, false, false, quant::Layout::Mma, {1, 5, 9, 16, 17},
       "kopt.gemv_tile = array<i64: 4, 3, 2>"},
      {"qlinear_i4_f16_g32_asym_bias_streamed", quant::Storage::Int4,
       KOPT_DTYPE_F16, 40, 2112, 32, true, true, quant::Layout::Mma,
       {1, 8, 13}, "kopt.gemv_tile = array<i64: 4, 4, 4>"},
      {"qlinear_i4_f16_g64_asym_bias_streamed", quant::Storage::Int4,
       KOPT_DTYPE_F16, 45, 1216, 64, true, true, quant::Layout::Mma,
       {1, 7, 16}, "kopt.gemv_tile = array<i64: 8, 2, 1>"},
      {"qlinear_i4_bf16_tensor_asym_streamed", quant::Storage::Int4,
       KOPT_DTYPE_BF16, 29, 192, 0, true, false, quant::Layout::Mma, {1, 9},
       "kopt.gemv_tile = array<i64: 4, 2, 1>"},
      {"qlinear_i8_bf16_channel_streamed", quant::Storage::Int8,
       KOPT_DTYPE_BF16, 37, 1184, 1184, false, false, quant::Layout::Mma,
       {1, 3, 16}, "kopt.gemv_tile = array<i64: 4, 4, 1>"},
      {"qlinear_i8_f16_g64_asym_streamed", quant::Storage::Int8, KOPT_DTYPE_F16,
       20, 1088, 64, true, false, quant::Layout::Mma, {2, 11}, "kopt.gemv_tile = array<i64: 2, 4, 2>"},
      {"qlinear_i4_bf16_g128_factored", quant::Storage::Int4, KOPT_DTYPE_BF16,
       83, 2432, 128, false, false, quant::Layout::Mma, {1, 9}, "kopt.gemv_tile = array<i64: 4, 3, 2, 4>",
       4.0},
      {"qlinear_i4_f16_g64_asym_bias_factored", quant::Storage::Int4,
       KOPT_DTYPE_F16, 45, 1216, 64, true, true, quant::Layout::Mma, {1, 12},
       "kopt.gemv_tile = array<i64: 4, 4, 1, 4>", 4.0},
      {"qlinear_i8_bf16_g32_asym_factored", quant::Storage::Int8,
       KOPT_DTYPE_BF16, 50, 2080, 32, true, false, quant::Layout::Mma, {1, 16},
       "kopt.gemv_tile = array<i64: 4, 2, 4, 4>", 4.0},
      {"qlinear_i8_f16_channel_factored", quant::Storage::Int8, KOPT_DTYPE_F16,
       24, 1024, 1024, false, false, quant::Layout::Mma, {1, 16}, "kopt.gemv_tile = array<i64: 4, 4, 4, 4>",
       4.0},
      // The streamed grid (one block per SM here) takes 2-3 tiles a block,
      // the rings running on across tiles; ragged chunk shares per warp.
      {"qlinear_i4_bf16_g64_streamed_tiles", quant::Storage::Int4,
       KOPT_DTYPE_BF16, 4500, 320, 64, false, true, quant::Layout::Mma,
       {1, 16}, "kopt.gemv_tile = array<i64: 4, 2, 1, 4, 1>", 4.0},
      {"qlinear_i8_f16_channel_streamed_tiles", quant::Storage::Int8,
       KOPT_DTYPE_F16, 2200, 160, 160, false, false, quant::Layout::Mma,
       {3, 9}, "kopt.gemv_tile = array<i64: 2, 2, 2, 0, 1>"},
      // Several row tiles per block (kopt.qlinear_tile) over ragged N: the
      // last block's tiles past N; 3 K warps (not a power of two); token
      // bands held off the dense path; and the dense path (dequantized
      // once, then the GEMM) from 9 tokens.
      {"qlinear_i4_f16_g32_asym_bias_rowtiles", quant::Storage::Int4,
       KOPT_DTYPE_F16, 40, 2112, 32, true, true, quant::Layout::Mma,
       {1, 9, 20, 40}, "kopt.qlinear_tile = array<i64: 4, 2, 2>, "
       "kopt.dense_from_rows = 1000"},
      {"qlinear_i8_bf16_channel_rowtiles", quant::Storage::Int8,
       KOPT_DTYPE_BF16, 37, 1184, 1184, false, false, quant::Layout::Mma,
       {1, 16, 33}, "kopt.qlinear_tile = array<i64: 3, 3, 1>, "
       "kopt.dense_from_rows = 1000"},
      {"qlinear_i8_f16_g64_asym_dense", quant::Storage::Int8, KOPT_DTYPE_F16,
       20, 1088, 64, true, false, quant::Layout::Mma, {2, 11, 31},
       "kopt.dense_from_rows = 9"},
      {"qlinear_i4_bf16_g128_dense", quant::Storage::Int4, KOPT_DTYPE_BF16, 83,
       2432, 128, false, true, quant::Layout::Mma, {129, 9},
       "kopt.dense_from_rows = 9"},
      // The default row-tiled bands (N >= 8192: 4 row tiles per block),
      // the last block 2 tiles short, up to the 128-token band's end.
      {"qlinear_i4_bf16_g64_rowtiled", quant::Storage::Int4, KOPT_DTYPE_BF16,
       8210, 320, 64, false, true, quant::Layout::Mma, {20, 64}},
      {"qlinear_i8_f16_channel_rowtiled", quant::Storage::Int8, KOPT_DTYPE_F16,
       8210, 160, 160, false, false, quant::Layout::Mma, {40, 128}},
      // Many blocks of tokens and of rows: the dense path's GEMM tiles in
      // both dims, the packed kernel's token blocks (grid.y).
      {"qlinear_i4_bf16_g128_wide", quant::Storage::Int4, KOPT_DTYPE_BF16, 300,
       1024, 128, false, false, quant::Layout::Mma, {200, 512}},
      {"qlinear_i4_bf16_g128_wide_packed", quant::Storage::Int4,
       KOPT_DTYPE_BF16, 300, 1024, 128, false, false, quant::Layout::Mma,
       {200, 512}, "kopt.dense_from_rows = 1000000"},
      {"qlinear_i4_bf16_plain_oddk", quant::Storage::Int4, KOPT_DTYPE_BF16, 30, 75,
       25, false, true, quant::Layout::Plain, {1, 7, 19}},
      {"qlinear_i4_f32_tensor", quant::Storage::Int4, KOPT_DTYPE_F32, 18, 128, 0,
       true, false, quant::Layout::Mma, {1, 4}},
      {"qlinear_f8_bf16_channel", quant::Storage::Fp8E4M3, KOPT_DTYPE_BF16, 24,
       96, 96, false, false, quant::Layout::Plain, {1, 9}},
  };
  std::vector<Case> cases;
  for (const Spec &spec : specs) {
    quant::Encoding enc;
    enc.storage = spec.storage;
    enc.groupSize = spec.group;
    enc.scale = spec.dtype;
    enc.asymmetric = spec.asymmetric;
    enc.layout = spec.layout;
    enc.shape = {spec.n, spec.k};
    std::string t = typeName(spec.dtype);
    auto tensor = [](const std::vector<int64_t> &shape, const std::string &e) {
      std::string text = "tensor<";
      for (int64_t d : shape)
        text += (d < 0 ? std::string("?") : std::to_string(d)) + "x";
      return text + e + ">";
    };
    std::vector<quant::Part> parts = quant::partsOf(enc);
    std::string type = "!kopt.quantized<" + std::to_string(spec.n) + "x" +
                       std::to_string(spec.k) + "x" +
                       quant::storageName(spec.storage) + ", group_size = " +
                       std::to_string(spec.group) + ", scale = " + t +
                       (spec.asymmetric ? ", zero_point = " +
                                              quant::storageName(spec.storage)
                                        : std::string()) +
                       ", layout = " + quant::layoutName(spec.layout) + ">";
    std::string x = tensor({-1, spec.k}, t), y = tensor({-1, spec.n}, t);
    std::string w = tensor({spec.n, spec.k}, t);
    std::string signature = "(%x: " + x, operands, partTypes;
    std::vector<InputSpec> inputs{f(spec.dtype)};
    const char *names[] = {"%q", "%s", "%z"};
    for (size_t i = 0; i < parts.size(); ++i) {
      std::string pt = tensor(parts[i].shape,
                              std::string(typeName(parts[i].dtype)));
      signature += ", " + std::string(names[i]) + ": " + pt;
      operands += (i ? ", " : "") + std::string(names[i]);
      partTypes += (i ? ", " : "") + pt;
      // Zero points of i4 codes are codes: [0, 16).
      bool int4Zeros = i == 2 && spec.storage == quant::Storage::Int4;
      inputs.push_back(i == 1 ? f(spec.dtype, -0.02, 0.02)
                       : parts[i].dtype == KOPT_DTYPE_F8E4M3
                           ? f(KOPT_DTYPE_F8E4M3, -448, 448)
                       : int4Zeros ? ints(0, 16, KOPT_DTYPE_I8)
                                   : ints(-128, 128, KOPT_DTYPE_I8));
    }
    std::string b = tensor({spec.n}, t);
    if (spec.bias) {
      signature += ", %b: " + b;
      inputs.push_back(f(spec.dtype));
    }
    signature += ") -> " + y;
    std::string body =
        "  %w = kopt.dequantize " + operands + " {encoding = " + type +
        "} : (" + partTypes + ") -> " + w + "\n" +
        "  %y = kopt.linear %x, %w" + (spec.bias ? ", %b" : "") +
        (*spec.attrs ? " {" + std::string(spec.attrs) + "}" : std::string()) +
        " : (" + x +
        ", " + w + (spec.bias ? ", " + b : "") + ") -> " + y +
        "\n  return %y : " + y;
    std::vector<std::vector<std::vector<int64_t>>> runs;
    for (int64_t m : spec.rows) {
      std::vector<std::vector<int64_t>> shapes{{m, spec.k}};
      for (const quant::Part &part : parts)
        shapes.push_back(part.shape);
      if (spec.bias)
        shapes.push_back({spec.n});
      runs.push_back(shapes);
    }
    cases.push_back({spec.name, fn(signature, body), inputs, runs, spec.slack});
  }

  // Weights no linear fuses, dequantized at their readers into the shared
  // scratch: two fp8 linears in a row (one scratch, rewritten between
  // them), and a moe over int4 experts (one scratch each for gate, up and
  // down; a dequantize per expert tensor).
  struct Packed {
    std::string name, type, partTypes, operands;
    std::vector<InputSpec> inputs;
    std::vector<std::vector<int64_t>> shapes;
  };
  auto packed = [&](const std::string &name, quant::Storage storage,
                    std::vector<int64_t> shape, int64_t group,
                    bool asymmetric) {
    quant::Encoding enc;
    enc.storage = storage;
    enc.groupSize = group;
    enc.scale = KOPT_DTYPE_BF16;
    enc.asymmetric = asymmetric;
    // fp8 has no `mma` layout.
    enc.layout = storage == quant::Storage::Fp8E4M3 ? quant::Layout::Plain
                                                    : quant::Layout::Mma;
    enc.shape = shape;
    Packed p;
    p.name = name;
    std::string dims;
    for (int64_t d : shape)
      dims += std::to_string(d) + "x";
    p.type = "!kopt.quantized<" + dims + quant::storageName(storage) +
             ", group_size = " + std::to_string(group) + ", scale = bf16" +
             (asymmetric ? ", zero_point = " + quant::storageName(storage)
                         : std::string()) +
             ", layout = " + quant::layoutName(enc.layout) + ">";
    for (const quant::Part &part : quant::partsOf(enc)) {
      std::string pt = "tensor<";
      for (int64_t d : part.shape)
        pt += std::to_string(d) + "x";
      pt += std::string(typeName(part.dtype)) + ">";
      std::string operand = "%" + name + "_" + part.suffix;
      p.partTypes += (p.partTypes.empty() ? "" : ", ") + pt;
      p.operands += (p.operands.empty() ? "" : ", ") + operand + ": " + pt;
      p.shapes.push_back(part.shape);
      p.inputs.push_back(
          part.suffix == "scales"           ? f(KOPT_DTYPE_BF16, -0.02, 0.02)
          : part.dtype == KOPT_DTYPE_F8E4M3 ? f(KOPT_DTYPE_F8E4M3, -448, 448)
          : part.suffix == "zeros" && storage == quant::Storage::Int4
              ? ints(0, 16, KOPT_DTYPE_I8)
              : ints(-128, 128, KOPT_DTYPE_I8));
    }
    return p;
  };
  auto dequantize = [](const Packed &p, const std::string &dense) {
    std::string names;
    for (size_t at = 0; at != std::string::npos;) {
      size_t colon = p.operands.find(':', at);
      size_t start = p.operands.rfind('%', colon);
      names += (names.empty() ? "" : ", ") +
               p.operands.substr(start, colon - start);
      at = p.operands.find(", %", colon);
      if (at != std::string::npos)
        at += 2;
    }
    return "  %" + p.name + " = kopt.dequantize " + names + " {encoding = " +
           p.type + "} : (" + p.partTypes + ") -> " + dense + "\n";
  };
  auto collect = [](std::initializer_list<const Packed *> weights,
                    std::vector<InputSpec> inputs,
                    std::vector<std::vector<int64_t>> shapes,
                    std::initializer_list<int64_t> rows) {
    for (const Packed *w : weights) {
      inputs.insert(inputs.end(), w->inputs.begin(), w->inputs.end());
      shapes.insert(shapes.end(), w->shapes.begin(), w->shapes.end());
    }
    std::vector<std::vector<std::vector<int64_t>>> runs;
    for (int64_t m : rows) {
      std::vector<std::vector<int64_t>> run = shapes;
      run[0][0] = m;
      runs.push_back(run);
    }
    return std::make_pair(inputs, runs);
  };
  {
    Packed w1 = packed("w1", quant::Storage::Fp8E4M3, {72, 136}, 136, false);
    Packed w2 = packed("w2", quant::Storage::Fp8E4M3, {40, 72}, 72, false);
    auto [inputs, runs] = collect({&w1, &w2}, {f(KOPT_DTYPE_BF16)},
                                  {{1, 136}}, {1, 9, 130});
    cases.push_back(
        {"qlinear_f8_chain",
         fn("(%x: tensor<?x136xbf16>, " + w1.operands + ", " + w2.operands +
                ") -> tensor<?x40xbf16>",
            dequantize(w1, "tensor<72x136xbf16>") +
                dequantize(w2, "tensor<40x72xbf16>") +
                "  %h = kopt.linear %x, %w1 : (tensor<?x136xbf16>, "
                "tensor<72x136xbf16>) -> tensor<?x72xbf16>\n"
                "  %y = kopt.linear %h, %w2 : (tensor<?x72xbf16>, "
                "tensor<40x72xbf16>) -> tensor<?x40xbf16>\n"
                "  return %y : tensor<?x40xbf16>"),
         inputs, runs, 2.0});
  }
  // w8a8 fp8: fake_quant activations and e4m3 weights with one scale per
  // output channel (or per tensor), the fp8 tensor-core GEMM on sm_90. N
  // and the row counts straddle the 128 x 64 tiles; two linears share one
  // fake_quant. The GPU multiplies codes exactly where the reference rounds
  // x and w to bf16 first, so the data makes those roundings exact: every
  // row's amax is 7 (scale 2^-6) and weight scales are powers of two.
  InputSpec fp8Activations = f(KOPT_DTYPE_BF16, -3, 3);
  fp8Activations.specialEvery = 17;
  fp8Activations.special = 7.0;
  auto exactScales = [](Packed &p) {
    for (InputSpec &spec : p.inputs)
      if (spec.dtype == KOPT_DTYPE_BF16)
        spec.powerOfTwo = true;
  };
  {
    Packed w = packed("w", quant::Storage::Fp8E4M3, {200, 272}, 272, false);
    exactScales(w);
    auto [inputs, runs] = collect({&w}, {fp8Activations},
                                  {{1, 272}}, {1, 7, 130, 257});
    inputs.push_back(f(KOPT_DTYPE_BF16));
    for (auto &run : runs)
      run.push_back({200});
    cases.push_back(
        {"fp8_w8a8_token",
         fn("(%x: tensor<?x272xbf16>, " + w.operands +
                ", %b: tensor<200xbf16>) -> tensor<?x200xbf16>",
            dequantize(w, "tensor<200x272xbf16>") +
                "  %xq = kopt.fake_quant %x {dtype = f8E4M3FN} : "
                "tensor<?x272xbf16>\n"
                "  %y = kopt.linear %xq, %w, %b : (tensor<?x272xbf16>, "
                "tensor<200x272xbf16>, tensor<200xbf16>) -> "
                "tensor<?x200xbf16>\n"
                "  return %y : tensor<?x200xbf16>"),
         // The tensor cores sum 256 fp8 products with fewer bits than f32
         // before kopt adds them up in f32: ~2^-13 of partial sums of terms
         // up to 49 here, against outputs near 0.
         inputs, runs, 4.0});
  }
  {
    Packed q = packed("q", quant::Storage::Fp8E4M3, {96, 128}, 0, false);
    Packed k = packed("k", quant::Storage::Fp8E4M3, {64, 128}, 128, false);
    exactScales(q);
    exactScales(k);
    auto [inputs, runs] = collect({&q, &k}, {fp8Activations},
                                  {{1, 128}}, {1, 3, 67});
    cases.push_back(
        {"fp8_w8a8_tensor_shared",
         fn("(%x: tensor<?x128xbf16>, " + q.operands + ", " + k.operands +
                ") -> (tensor<?x96xbf16>, tensor<?x64xbf16>)",
            dequantize(q, "tensor<96x128xbf16>") +
                dequantize(k, "tensor<64x128xbf16>") +
                "  %xq = kopt.fake_quant %x {dtype = f8E4M3FN, granularity = "
                "\"tensor\"} : tensor<?x128xbf16>\n"
                "  %yq = kopt.linear %xq, %q : (tensor<?x128xbf16>, "
                "tensor<96x128xbf16>) -> tensor<?x96xbf16>\n"
                "  %yk = kopt.linear %xq, %k : (tensor<?x128xbf16>, "
                "tensor<64x128xbf16>) -> tensor<?x64xbf16>\n"
                "  return %yq, %yk : tensor<?x96xbf16>, tensor<?x64xbf16>"),
         inputs, runs, 2.0});
  }
  // fake_quant's rounded values (a reader that is no fp8 linear): 16-byte
  // rows and odd rows, per token and per tensor, zero rows (scale 1) and
  // values past the e4m3 subnormal range.
  {
    InputSpec wide = f(KOPT_DTYPE_BF16, -1000, 1000);
    wide.specialEvery = 13;
    wide.special = 0.0;
    cases.push_back(
        {"fake_quant_values",
         fn("(%a: tensor<?x256xbf16>, %b: tensor<?x37xf16>) -> "
            "(tensor<?x256xbf16>, tensor<?x37xf16>, tensor<?x37xf16>)",
            "  %ya = kopt.fake_quant %a {dtype = f8E4M3FN} : "
            "tensor<?x256xbf16>\n"
            "  %yb = kopt.fake_quant %b {dtype = f8E4M3FN} : "
            "tensor<?x37xf16>\n"
            "  %yt = kopt.fake_quant %b {dtype = f8E4M3FN, granularity = "
            "\"tensor\"} : tensor<?x37xf16>\n"
            "  return %ya, %yb, %yt : tensor<?x256xbf16>, tensor<?x37xf16>, "
            "tensor<?x37xf16>"),
         {wide, f(KOPT_DTYPE_F16, -0.01, 0.01)},
         {{{1, 256}, {1, 37}}, {{5, 256}, {9, 37}}, {{3, 256}, {2, 37}}},
         1.0});
  }
  {
    Packed g = packed("g", quant::Storage::Int4, {4, 64, 128}, 64, true);
    Packed u = packed("u", quant::Storage::Int4, {4, 64, 128}, 64, false);
    Packed d = packed("d", quant::Storage::Int8, {4, 128, 64}, 32, false);
    auto [inputs, runs] = collect(
        {&g, &u, &d}, {f(KOPT_DTYPE_BF16), f(KOPT_DTYPE_BF16)},
        {{1, 128}, {4, 128}}, {1, 5, 33});
    cases.push_back(
        {"moe_i4_i8_experts",
         fn("(%x: tensor<?x128xbf16>, %r: tensor<4x128xbf16>, " + g.operands +
                ", " + u.operands + ", " + d.operands +
                ") -> tensor<?x128xbf16>",
            dequantize(g, "tensor<4x64x128xbf16>") +
                dequantize(u, "tensor<4x64x128xbf16>") +
                dequantize(d, "tensor<4x128x64xbf16>") +
                "  %y = kopt.moe %x, %r, %g, %u, %d {top_k = 2 : i64} : "
                "(tensor<?x128xbf16>, tensor<4x128xbf16>, "
                "tensor<4x64x128xbf16>, tensor<4x64x128xbf16>, "
                "tensor<4x128x64xbf16>) -> tensor<?x128xbf16>\n"
                "  return %y : tensor<?x128xbf16>"),
         inputs, runs, 2.0});
  }
  return cases;
}

/// The parameters of a function holding one packed weight's parts (codes,
/// scales[, zero points]) as %<prefix>0, %<prefix>1, ...: random codes,
/// small scales.
struct PackedParams {
  std::string params; // ", %p0: T0, %p1: T1"
  std::string types;  // "T0, T1"
  std::string names;  // "%p0, %p1"
  std::vector<std::vector<int64_t>> shapes;
  std::vector<InputSpec> inputs;
};
PackedParams packedParams(const kopt::rt::quant::Encoding &enc,
                          const std::string &prefix) {
  PackedParams p;
  std::vector<kopt::rt::quant::Part> parts = kopt::rt::quant::partsOf(enc);
  for (size_t i = 0; i < parts.size(); ++i) {
    std::string type = "tensor<";
    for (int64_t d : parts[i].shape)
      type += std::to_string(d) + "x";
    type += std::string(typeName(parts[i].dtype)) + ">";
    std::string name = "%" + prefix + std::to_string(i);
    p.params += ", " + name + ": " + type;
    p.types += (i ? ", " : "") + type;
    p.names += (i ? ", " : "") + name;
    p.shapes.push_back(parts[i].shape);
    p.inputs.push_back(i == 0   ? ints(-128, 128, KOPT_DTYPE_I8)
                       : i == 1 ? f(KOPT_DTYPE_BF16, -0.02, 0.02)
                                : ints(0, 16, KOPT_DTYPE_I8));
  }
  return p;
}

/// Fusion groups (kopt-fuse) against the reference of their unfused ops:
/// linear epilogues on every linear kernel (GEMV, SIMT, mma/wgmma GEMM,
/// packed, streamed and dense-path int4, fp8) with each kind of operand
/// indexing, and elementwise trees.
std::vector<Case> fusedCases() {
  std::vector<Case> cases;
  auto add = [&](Case c) {
    c.fuse = true;
    cases.push_back(std::move(c));
  };
  auto rowsOf = [](std::initializer_list<int64_t> ms,
                   std::function<std::vector<std::vector<int64_t>>(int64_t)>
                       shapes) { return sizes(ms, shapes); };
  // bias + gelu + residual: 16-bit through the GEMV and the tensor cores
  // (N odd: unpaired stores), f32 through the GEMV and the SIMT GEMM.
  for (kopt_dtype_t dt : {KOPT_DTYPE_BF16, KOPT_DTYPE_F16, KOPT_DTYPE_F32}) {
    std::string t = typeName(dt);
    std::string x = "tensor<?x64x" + t + ">", w = "tensor<77x64x" + t + ">",
                b = "tensor<77x" + t + ">", y = "tensor<?x77x" + t + ">";
    add({"fused_linear_bias_gelu_residual_" + t,
         fn("(%x: " + x + ", %w: " + w + ", %b: " + b + ", %r: " + y +
                ") -> " + y,
            "  %l = kopt.linear %x, %w, %b : (" + x + ", " + w + ", " + b +
                ") -> " + y + "\n  %g = kopt.gelu %l {approximate = \"tanh\"} : " +
                y + "\n  %o = kopt.add %g, %r : " + y + "\n  return %o : " + y),
         {f(dt), f(dt, -0.125, 0.125), f(dt), f(dt)},
         rowsOf({1, 5, 8, 9, 33, 130}, [](int64_t m) {
           return std::vector<std::vector<int64_t>>{
               {m, 64}, {77, 64}, {77}, {m, 77}};
         })});
  }
  // A feature scale, a per-token shift, a scalar, then a cast to f32, over
  // a 3-d input (tokens flattened); N even: paired stores.
  {
    std::string x = "tensor<2x?x96xbf16>", w = "tensor<80x96xbf16>",
                y = "tensor<2x?x80xbf16>", yf = "tensor<2x?x80xf32>";
    add({"fused_linear_scale_shift_cast_bf16",
         fn("(%x: " + x + ", %w: " + w +
                ", %s: tensor<80xbf16>, %t: tensor<2x?x1xbf16>, %c: "
                "tensor<1xbf16>) -> " + yf,
            "  %l = kopt.linear %x, %w : (" + x + ", " + w + ") -> " + y +
                "\n  %a = kopt.mul %l, %s : (" + y + ", tensor<80xbf16>) -> " +
                y + "\n  %b = kopt.sub %t, %a : (tensor<2x?x1xbf16>, " + y +
                ") -> " + y + "\n  %d = kopt.div %b, %c : (" + y +
                ", tensor<1xbf16>) -> " + y + "\n  %o = kopt.cast %d : (" + y +
                ") -> " + yf + "\n  return %o : " + yf),
         {f(KOPT_DTYPE_BF16), f(KOPT_DTYPE_BF16, -0.1, 0.1),
          f(KOPT_DTYPE_BF16), f(KOPT_DTYPE_BF16),
          f(KOPT_DTYPE_BF16, 0.5, 2.0)},
         rowsOf({1, 4, 7, 70}, [](int64_t m) {
           return std::vector<std::vector<int64_t>>{
               {2, m, 96}, {80, 96}, {80}, {2, m, 1}, {1}};
         })});
  }
  // SwiGLU as its gate projection's epilogue: silu(x Wg^T) * (x Wu^T).
  {
    std::string x = "tensor<?x128xbf16>", w = "tensor<200x128xbf16>",
                y = "tensor<?x200xbf16>";
    add({"fused_swiglu_bf16",
         fn("(%x: " + x + ", %wg: " + w + ", %wu: " + w + ") -> " + y,
            "  %g = kopt.linear %x, %wg : (" + x + ", " + w + ") -> " + y +
                "\n  %u = kopt.linear %x, %wu : (" + x + ", " + w + ") -> " + y +
                "\n  %s = kopt.silu %g : " + y + "\n  %o = kopt.mul %s, %u : " +
                y + "\n  return %o : " + y),
         {f(KOPT_DTYPE_BF16), f(KOPT_DTYPE_BF16, -0.1, 0.1),
          f(KOPT_DTYPE_BF16, -0.1, 0.1)},
         rowsOf({1, 3, 17, 129}, [](int64_t m) {
           return std::vector<std::vector<int64_t>>{
               {m, 128}, {200, 128}, {200, 128}};
         })});
  }
  // int4 weights: the packed kernel, the dense path from 9 tokens (one
  // launch runs each band), and the streamed GEMV; a residual and relu.
  for (const char *attrs :
       {"kopt.dense_from_rows = 9", "kopt.gemv_tile = array<i64: 4, 2, 2>"}) {
    namespace quant = kopt::rt::quant;
    std::string x = "tensor<?x256xbf16>", y = "tensor<?x45xbf16>";
    std::string type = "!kopt.quantized<45x256xi4, group_size = 64, scale = "
                       "bf16, zero_point = i4, layout = mma>";
    quant::Encoding enc;
    enc.storage = quant::Storage::Int4;
    enc.groupSize = 64;
    enc.scale = KOPT_DTYPE_BF16;
    enc.asymmetric = true;
    enc.layout = quant::Layout::Mma;
    enc.shape = {45, 256};
    PackedParams packed = packedParams(enc, "p");
    std::string signature =
        "(%x: " + x + packed.params + ", %r: " + y + ") -> " + y;
    std::vector<InputSpec> inputs{f(KOPT_DTYPE_BF16)};
    inputs.insert(inputs.end(), packed.inputs.begin(), packed.inputs.end());
    inputs.push_back(f(KOPT_DTYPE_BF16));
    bool streamed = std::string(attrs).find("gemv_tile") != std::string::npos;
    add({std::string("fused_qlinear_i4_residual_relu_") +
             (streamed ? "streamed" : "dense"),
         fn(signature,
            "  %w = kopt.dequantize " + packed.names + " {encoding = " + type +
                "} : (" + packed.types +
                ") -> tensor<45x256xbf16>\n  %l = kopt.linear %x, %w {" +
                attrs + "} : (" + x + ", tensor<45x256xbf16>) -> " + y +
                "\n  %a = kopt.add %r, %l : " + y + "\n  %o = kopt.relu %a : " +
                y + "\n  return %o : " + y),
         inputs,
         rowsOf(streamed ? std::initializer_list<int64_t>{1, 7, 16}
                         : std::initializer_list<int64_t>{1, 8, 9, 40},
                [&](int64_t m) {
                  std::vector<std::vector<int64_t>> shapes{{m, 256}};
                  shapes.insert(shapes.end(), packed.shapes.begin(),
                                packed.shapes.end());
                  shapes.push_back({m, 45});
                  return shapes;
                })});
  }
  // Merged launches (MergeLaunches.cpp): q, k and v projections sharing
  // their input run as one GEMV kernel up to 8 tokens (ragged N, every
  // part's own block range); an int4 pair (the packed kernel's parts and
  // the streamed one) beside a bf16 projection; rope(q) beside both cache
  // updates, rope(k) folded into its own.
  {
    std::string x = "tensor<?x96xbf16>";
    auto w = [](int n) { return "tensor<" + std::to_string(n) + "x96xbf16>"; };
    auto y = [](int n) { return "tensor<?x" + std::to_string(n) + "xbf16>"; };
    std::string body, results, types;
    for (auto [name, n] : {std::pair{"q", 67}, {"k", 16}, {"v", 19}}) {
      body += std::string("  %") + name + " = kopt.linear %x, %w" + name +
              " : (" + x + ", " + w(n) + ") -> " + y(n) + "\n";
      results += std::string(results.empty() ? "" : ", ") + "%" + name;
      types += (types.empty() ? "" : ", ") + y(n);
    }
    add({"merged_qkv_bf16",
         fn("(%x: " + x + ", %wq: " + w(67) + ", %wk: " + w(16) + ", %wv: " +
                w(19) + ") -> (" + types + ")",
            body + "  return " + results + " : " + types),
         {f(KOPT_DTYPE_BF16), f(KOPT_DTYPE_BF16, -0.1, 0.1),
          f(KOPT_DTYPE_BF16, -0.1, 0.1), f(KOPT_DTYPE_BF16, -0.1, 0.1)},
         rowsOf({1, 3, 8, 9, 20}, [](int64_t m) {
           return std::vector<std::vector<int64_t>>{
               {m, 96}, {67, 96}, {16, 96}, {19, 96}};
         })});
  }
  {
    namespace quant = kopt::rt::quant;
    std::string x = "tensor<?x256xbf16>";
    std::string signature = "(%x: " + x, body, results, types;
    std::vector<InputSpec> inputs{f(KOPT_DTYPE_BF16)};
    std::vector<std::vector<int64_t>> partShapes;
    struct Proj {
      const char *name;
      int64_t n;
      const char *attrs;
    };
    for (Proj p : {Proj{"a", 45, ""}, Proj{"b", 29, ""},
                   Proj{"c", 33, " {kopt.gemv_tile = array<i64: 4, 2, 2>}"}}) {
      std::string n = std::to_string(p.n), w = "tensor<" + n + "x256xbf16>",
                  y = "tensor<?x" + n + "xbf16>";
      quant::Encoding enc;
      enc.storage = quant::Storage::Int4;
      enc.groupSize = 64;
      enc.scale = KOPT_DTYPE_BF16;
      enc.asymmetric = false;
      enc.layout = quant::Layout::Mma;
      enc.shape = {p.n, 256};
      PackedParams packed = packedParams(enc, p.name);
      signature += packed.params;
      partShapes.insert(partShapes.end(), packed.shapes.begin(),
                        packed.shapes.end());
      inputs.insert(inputs.end(), packed.inputs.begin(), packed.inputs.end());
      body += std::string("  %w") + p.name + " = kopt.dequantize " +
              packed.names + " {encoding = !kopt.quantized<" + n +
              "x256xi4, group_size = 64, scale = bf16, layout = mma>} : (" +
              packed.types + ") -> " + w + "\n  %" + p.name + " = kopt.linear %x, %w" +
              p.name + p.attrs + " : (" + x + ", " + w + ") -> " + y + "\n";
      results += std::string(results.empty() ? "" : ", ") + "%" + p.name;
      types += (types.empty() ? "" : ", ") + y;
    }
    add({"merged_qlinear_i4",
         fn(signature + ") -> (" + types + ")",
            body + "  return " + results + " : " + types),
         inputs, rowsOf({1, 5, 16}, [&](int64_t m) {
           std::vector<std::vector<int64_t>> shapes{{m, 256}};
           shapes.insert(shapes.end(), partShapes.begin(), partShapes.end());
           return shapes;
         })});
  }
  // RMS norms applied by the packed int4 GEMVs reading them
  // (NormPrologue.h) up to 8 tokens, by their own kernel from 9: a g128
  // pair, one beside a residual epilogue and with two row tiles per block.
  // A norm read by dense or int8 GEMVs keeps its kernel.
  {
    std::string x = "tensor<1x?x96xbf16>", g = "tensor<96xbf16>",
                w = "tensor<67x96xbf16>", y = "tensor<1x?x67xbf16>";
    add({"norm_before_gemv_bf16",
         fn("(%x: " + x + ", %g: " + g + ", %w: " + w + ") -> " + y,
            "  %n = kopt.rmsnorm %x, %g {epsilon = 1.0e-05 : f32} : (" + x +
                ", " + g + ") -> " + x + "\n  %a = kopt.linear %n, %w : (" +
                x + ", " + w + ") -> " + y + "\n  return %a : " + y),
         {f(KOPT_DTYPE_BF16, -3, 3), f(KOPT_DTYPE_BF16, 0.5, 1.5),
          f(KOPT_DTYPE_BF16, -0.1, 0.1)},
         rowsOf({1, 9}, [&](int64_t m) {
           return std::vector<std::vector<int64_t>>{{1, m, 96}, {96}, {67, 96}};
         })});
  }
  // K = 256: each warp's chunks in the kernel's tail loop; K = 4160: 64
  // chunks through its main loop (16 K warps x 4), one in the tail.
  for (auto [int8Codes, k] :
       {std::pair{false, 256}, {true, 256}, {false, 4160}}) {
    namespace quant = kopt::rt::quant;
    const bool int8 = int8Codes;
    const int64_t kDim = k;
    std::string kd = std::to_string(kDim);
    std::string x = "tensor<?x" + kd + "xbf16>", g = "tensor<" + kd + "xbf16>";
    std::string signature = "(%x: " + x + ", %g: " + g + ", %r: tensor<?x29xbf16>",
                body = "  %n = kopt.rmsnorm %x, %g : (" + x + ", " + g +
                       ") -> " + x + "\n";
    std::vector<InputSpec> inputs{f(KOPT_DTYPE_BF16, -3, 3),
                                  f(KOPT_DTYPE_BF16, 0.5, 1.5),
                                  f(KOPT_DTYPE_BF16)};
    std::vector<std::vector<int64_t>> partShapes;
    int64_t group = int8 ? kDim : kDim == 256 ? 128 : 64;
    for (auto [name, n] : {std::pair{"a", 45}, {"b", 29}}) {
      std::string ns = std::to_string(n),
                  w = "tensor<" + ns + "x" + kd + "xbf16>",
                  y = "tensor<?x" + ns + "xbf16>";
      quant::Encoding enc;
      enc.storage = int8 ? quant::Storage::Int8 : quant::Storage::Int4;
      enc.groupSize = group;
      enc.scale = KOPT_DTYPE_BF16;
      enc.asymmetric = false;
      enc.layout = quant::Layout::Mma;
      enc.shape = {n, kDim};
      PackedParams packed = packedParams(enc, name);
      signature += packed.params;
      partShapes.insert(partShapes.end(), packed.shapes.begin(),
                        packed.shapes.end());
      inputs.insert(inputs.end(), packed.inputs.begin(), packed.inputs.end());
      std::string attrs = n == 29
                              ? " {kopt.qlinear_tile = array<i64: 2, 4, 1>}"
                              : "";
      body += std::string("  %w") + name + " = kopt.dequantize " +
              packed.names + " {encoding = !kopt.quantized<" + ns + "x" + kd +
              "x" +
              (int8 ? "i8" : "i4") + ", group_size = " + std::to_string(group) +
              ", scale = bf16, layout = mma>} : (" + packed.types + ") -> " +
              w + "\n  %" + name + " = kopt.linear %n, %w" + name + attrs +
              " : (" + x + ", " + w + ") -> " + y + "\n";
    }
    add({std::string("norm_into_qlinear_") + (int8 ? "i8" : "i4") +
             (kDim == 256 ? "" : "_k" + kd),
         fn(signature + ") -> (tensor<?x45xbf16>, tensor<?x29xbf16>)",
            body + "  %s = kopt.add %b, %r : tensor<?x29xbf16>\n"
                   "  return %a, %s : tensor<?x45xbf16>, tensor<?x29xbf16>"),
         inputs, rowsOf({1, 5, 8, 9, 16}, [&](int64_t m) {
           std::vector<std::vector<int64_t>> shapes{{m, kDim}, {kDim}, {m, 29}};
           shapes.insert(shapes.end(), partShapes.begin(), partShapes.end());
           return shapes;
         })});
  }
  // SwiGLU's product applied by the packed int4 GEMV reading it
  // (ReaderEpilogue.h) up to 8 tokens: the gate GEMV writes silu(gate)
  // beside the up projection's output, the down GEMV multiplies the two as
  // it loads its activations; from 9 tokens the gate kernel's epilogue
  // does. FFN 320:
  // the down kernel's tail loop; 4160: its main loop too.
  for (int64_t ffn : {320, 4160}) {
    namespace quant = kopt::rt::quant;
    std::string fs = std::to_string(ffn);
    std::string x = "tensor<?x256xbf16>", h = "tensor<?x" + fs + "xbf16>",
                y = "tensor<?x93xbf16>";
    std::string signature = "(%x: " + x + ", %r: " + y, body;
    std::vector<InputSpec> inputs{f(KOPT_DTYPE_BF16, -2, 2), f(KOPT_DTYPE_BF16)};
    std::vector<std::vector<int64_t>> partShapes;
    struct Weight {
      const char *name;
      int64_t n, k, group;
    };
    for (Weight w : {Weight{"g", ffn, 256, 128}, Weight{"u", ffn, 256, 128},
                     Weight{"d", 93, ffn, 64}}) {
      quant::Encoding enc;
      enc.storage = quant::Storage::Int4;
      enc.groupSize = w.group;
      enc.scale = KOPT_DTYPE_BF16;
      enc.asymmetric = false;
      enc.layout = quant::Layout::Mma;
      enc.shape = {w.n, w.k};
      PackedParams packed = packedParams(enc, w.name);
      signature += packed.params;
      partShapes.insert(partShapes.end(), packed.shapes.begin(),
                        packed.shapes.end());
      inputs.insert(inputs.end(), packed.inputs.begin(), packed.inputs.end());
      std::string wt = "tensor<" + std::to_string(w.n) + "x" +
                       std::to_string(w.k) + "xbf16>";
      body += std::string("  %w") + w.name + " = kopt.dequantize " +
              packed.names + " {encoding = !kopt.quantized<" +
              std::to_string(w.n) + "x" + std::to_string(w.k) +
              "xi4, group_size = " + std::to_string(w.group) +
              ", scale = bf16, layout = mma>} : (" + packed.types + ") -> " +
              wt + "\n";
    }
    body += "  %g = kopt.linear %x, %wg : (" + x + ", tensor<" + fs +
            "x256xbf16>) -> " + h + "\n  %u = kopt.linear %x, %wu : (" + x +
            ", tensor<" + fs + "x256xbf16>) -> " + h +
            "\n  %a = kopt.silu %g : " + h + "\n  %p = kopt.mul %a, %u : " + h +
            "\n  %d = kopt.linear %p, %wd : (" + h + ", tensor<93x" + fs +
            "xbf16>) -> " + y + "\n  %s = kopt.add %d, %r : " + y +
            "\n  return %s : " + y;
    add({"swiglu_into_qlinear_i4_ffn" + fs, fn(signature + ") -> " + y, body),
         inputs, rowsOf({1, 5, 8, 9, 16}, [&](int64_t m) {
           std::vector<std::vector<int64_t>> shapes{{m, 256}, {m, 93}};
           shapes.insert(shapes.end(), partShapes.begin(), partShapes.end());
           return shapes;
         })});
  }
  add({"merged_rope_cache_updates_bf16",
       fn("(%q: tensor<1x?x4x8xbf16>, %k: tensor<1x?x2x8xbf16>, %v: tensor<1x?x2x8xbf16>, %kc: tensor<1x10x2x8xbf16>, %vc: tensor<1x10x2x8xbf16>, %p: tensor<1x?xi32>, %o: tensor<1xi32>) -> (tensor<1x?x4x8xbf16>, tensor<1x10x2x8xbf16>, tensor<1x10x2x8xbf16>)",
          "  %rq = kopt.rope %q, %p {theta = 10000.0 : f32} : (tensor<1x?x4x8xbf16>, tensor<1x?xi32>) -> tensor<1x?x4x8xbf16>\n"
          "  %rk = kopt.rope %k, %p {theta = 10000.0 : f32} : (tensor<1x?x2x8xbf16>, tensor<1x?xi32>) -> tensor<1x?x2x8xbf16>\n"
          "  %uk = kopt.cache_update %kc, %rk, %o : (tensor<1x10x2x8xbf16>, tensor<1x?x2x8xbf16>, tensor<1xi32>) -> tensor<1x10x2x8xbf16>\n"
          "  %uv = kopt.cache_update %vc, %v, %o : (tensor<1x10x2x8xbf16>, tensor<1x?x2x8xbf16>, tensor<1xi32>) -> tensor<1x10x2x8xbf16>\n"
          "  return %rq, %uk, %uv : tensor<1x?x4x8xbf16>, tensor<1x10x2x8xbf16>, tensor<1x10x2x8xbf16>"),
       {f(KOPT_DTYPE_BF16), f(KOPT_DTYPE_BF16), f(KOPT_DTYPE_BF16),
        f(KOPT_DTYPE_BF16), f(KOPT_DTYPE_BF16), ints(0, 500), constant(2)},
       rowsOf({1, 8}, [](int64_t n) {
         return std::vector<std::vector<int64_t>>{
             {1, n, 4, 8}, {1, n, 2, 8}, {1, n, 2, 8}, {1, 10, 2, 8},
             {1, 10, 2, 8}, {1, n}, {1}};
       }),
       2.0});
  // Elementwise trees: SwiGLU's product with a broadcast bias, in each
  // float dtype; integer division (its zero check kept) in a tree.
  for (kopt_dtype_t dt : {KOPT_DTYPE_F32, KOPT_DTYPE_BF16}) {
    std::string t = typeName(dt);
    std::string x = "tensor<?x13x" + t + ">", row = "tensor<13x" + t + ">";
    add({"fused_elementwise_tree_" + t,
         fn("(%g: " + x + ", %u: " + x + ", %c: " + row + ") -> " + x,
            "  %s = kopt.silu %g : " + x + "\n  %m = kopt.mul %s, %u : " + x +
                "\n  %e = kopt.exp %c : " + row + "\n  %o = kopt.add %m, %e : (" +
                x + ", " + row + ") -> " + x + "\n  return %o : " + x),
         {f(dt, -4, 4), f(dt), f(dt)},
         sizes({1, 7, 65}, [](int64_t n) {
           return std::vector<std::vector<int64_t>>{{n, 13}, {n, 13}, {13}};
         })});
  }
  add({"fused_elementwise_tree_i32",
       fn("(%a: tensor<?x5xi32>, %b: tensor<?x5xi32>, %c: tensor<5xi32>) -> "
          "tensor<?x5xi32>",
          "  %d = kopt.div %a, %b : tensor<?x5xi32>\n"
          "  %m = kopt.mul %d, %c : (tensor<?x5xi32>, tensor<5xi32>) -> "
          "tensor<?x5xi32>\n  %o = kopt.sub %m, %a : tensor<?x5xi32>\n"
          "  return %o : tensor<?x5xi32>"),
       {ints(-100, 100), ints(1, 9), ints(-3, 3)},
       sizes({1, 6, 40}, [](int64_t n) {
         return std::vector<std::vector<int64_t>>{{n, 5}, {n, 5}, {5}};
       })});
  // Attention written as matmul, scale, (causal) mask, softmax, matmul
  // (FuseAttention.cpp): the fused attention kernels against the ops as
  // written. bf16 with a dynamic sequence (decode and prefill paths); f32
  // with a constant causal mask over Sq = 5 queries and Skv = 7 keys.
  {
    std::string t = "tensor<2x4x?x64xbf16>", s = "tensor<2x4x?x?xbf16>";
    add({"fused_attention_scaled_bf16",
         fn("(%q: " + t + ", %k: " + t + ", %v: " + t + ") -> " + t,
            "  %c = arith.constant dense<1.250000e-01> : tensor<bf16>\n"
            "  %s = kopt.matmul %q, %k {transpose_b = true} : (" + t + ", " +
                t + ") -> " + s + "\n  %t = kopt.mul %s, %c : (" + s +
                ", tensor<bf16>) -> " + s + "\n  %p = kopt.softmax %t : " + s +
                "\n  %o = kopt.matmul %p, %v : (" + s + ", " + t + ") -> " + t +
                "\n  return %o : " + t),
         {f(KOPT_DTYPE_BF16, -2, 2), f(KOPT_DTYPE_BF16, -2, 2),
          f(KOPT_DTYPE_BF16)},
         rowsOf({1, 17, 67}, [](int64_t n) {
           return std::vector<std::vector<int64_t>>{
               {2, 4, n, 64}, {2, 4, n, 64}, {2, 4, n, 64}};
         }),
         2.0});
    cases.back().unfusedReference = true;
    std::string mask = "[";
    for (int i = 0; i < 5; ++i) {
      mask += i ? ", [" : "[";
      for (int j = 0; j < 7; ++j)
        mask += std::string(j ? ", " : "") + (j <= i + 2 ? "0.0" : "0xFF800000");
      mask += "]";
    }
    mask += "]";
    std::string q = "tensor<1x2x5x16xf32>", kv = "tensor<1x2x7x16xf32>",
                sc = "tensor<1x2x5x7xf32>";
    add({"fused_attention_causal_f32",
         fn("(%q: " + q + ", %k: " + kv + ", %v: " + kv + ") -> " + q,
            "  %c = arith.constant dense<4.0> : tensor<f32>\n"
            "  %m = arith.constant dense<" + mask + "> : tensor<5x7xf32>\n"
            "  %s = kopt.matmul %q, %k {transpose_b = true} : (" + q + ", " +
                kv + ") -> " + sc + "\n  %t = kopt.div %s, %c : (" + sc +
                ", tensor<f32>) -> " + sc + "\n  %a = kopt.add %t, %m : (" +
                sc + ", tensor<5x7xf32>) -> " + sc +
                "\n  %p = kopt.softmax %a : " + sc +
                "\n  %o = kopt.matmul %p, %v : (" + sc + ", " + kv + ") -> " +
                q + "\n  return %o : " + q),
         {f(KOPT_DTYPE_F32, -2, 2), f(KOPT_DTYPE_F32, -2, 2), f()},
         {{{1, 2, 5, 16}, {1, 2, 7, 16}, {1, 2, 7, 16}}}});
    cases.back().unfusedReference = true;
  }
  // A mixture of experts written densely (FuseMoE.cpp): softmax of the
  // router logits, top-k, every expert's SwiGLU as batched matmuls, the
  // chosen outputs gathered, weighted and summed; kopt.moe's kernels
  // against the ops as written. f32, so that no rounding of the router
  // probabilities can change which experts the reference picks.
  for (bool normalize : {true, false}) {
    int64_t e = normalize ? 4 : 3, k = normalize ? 2 : 1, hd = normalize ? 64 : 24,
            ffn = normalize ? 40 : 17;
    auto d = [](std::initializer_list<int64_t> dims) {
      std::string t = "tensor<";
      for (int64_t v : dims)
        t += (v < 0 ? std::string("?") : std::to_string(v)) + "x";
      return t + "f32>";
    };
    std::string x = d({-1, hd}), r = d({e, hd}), wg = d({e, ffn, hd}),
                wd = d({e, hd, ffn}), ef = d({e, -1, ffn}), eh = d({e, -1, hd}),
                te = d({-1, e}), tk = d({-1, k}), tkh = d({-1, k, hd}),
                teh = d({-1, e, hd}),
                idx = "tensor<?x" + std::to_string(k) + "xi32>";
    // Top-2 renormalised, router a linear; top-1 as is, router a
    // transposed matmul, the experts reading the tokens as [1, T, Hd].
    std::string router =
        normalize ? "  %l = kopt.linear %x, %r : (" + x + ", " + r + ") -> " + te
                  : "  %l = kopt.matmul %x, %r {transpose_b = true} : (" + x +
                        ", " + r + ") -> " + te;
    std::string weights =
        normalize ? "  %s = kopt.reduce_sum %w {axes = array<i64: -1>, keepdim = "
                    "true} : (" + tk + ") -> tensor<?x1xf32>\n"
                    "  %wn = kopt.div %w, %s : (" + tk + ", tensor<?x1xf32>) -> " +
                        tk + "\n"
                  : "";
    std::string tokens = normalize ? "%x" : "%xb", tokensType = normalize ? x : d({1, -1, hd});
    if (!normalize)
      weights += "  %xb = kopt.reshape %x : (" + x + ") -> " + tokensType + "\n";
    add({std::string("fused_moe_") + (normalize ? "top2_normalized" : "top1"),
         fn("(%x: " + x + ", %r: " + r + ", %wg: " + wg + ", %wu: " + wg +
                ", %wd: " + wd + ") -> " + x,
            router + "\n  %p = kopt.softmax %l : " + te +
                "\n  %w, %i = kopt.topk %p {k = " + std::to_string(k) +
                " : i64} : (" + te + ") -> (" + tk + ", " + idx + ")\n" +
                weights + "  %g = kopt.matmul " + tokens +
                ", %wg {transpose_b = true} : (" + tokensType + ", " + wg +
                ") -> " + ef + "\n  %u = kopt.matmul " + tokens +
                ", %wu {transpose_b = true} : (" + tokensType + ", " + wg +
                ") -> " + ef +
                "\n  %a = kopt.silu %g : " + ef + "\n  %h = kopt.mul %a, %u : " +
                ef + "\n  %y = kopt.matmul %h, %wd {transpose_b = true} : (" + ef +
                ", " + wd + ") -> " + eh + "\n  %yt = kopt.transpose %y "
                "{permutation = array<i64: 1, 0, 2>} : (" + eh + ") -> " + teh +
                "\n  %sel = kopt.gather %yt, %i {axis = 1 : i64} : (" + teh +
                ", " + idx + ") -> " + tkh + "\n  %wk = kopt.reshape " +
                (normalize ? "%wn" : "%w") + " : (" +
                tk + ") -> " + d({-1, k, 1}) + "\n  %c = kopt.mul %sel, %wk : (" +
                tkh + ", " + d({-1, k, 1}) + ") -> " + tkh +
                "\n  %o = kopt.reduce_sum %c {axes = array<i64: 1>} : (" + tkh +
                ") -> " + x + "\n  return %o : " + x),
         {f(), f(KOPT_DTYPE_F32, -2, 2), f(KOPT_DTYPE_F32, -0.25, 0.25),
          f(KOPT_DTYPE_F32, -0.25, 0.25), f(KOPT_DTYPE_F32, -0.25, 0.25)},
         rowsOf({1, 5, 17, 33}, [=](int64_t t) {
           return std::vector<std::vector<int64_t>>{
               {t, hd}, {e, hd}, {e, ffn, hd}, {e, ffn, hd}, {e, hd, ffn}};
         })});
    cases.back().unfusedReference = true;
  }
  return cases;
}

std::string caseName(const ::testing::TestParamInfo<Case> &info) {
  return info.param.name;
}

INSTANTIATE_TEST_SUITE_P(Elementwise, CpuNumerics,
                         ::testing::ValuesIn(elementwiseCases()), caseName);
INSTANTIATE_TEST_SUITE_P(LinearAlgebra, CpuNumerics,
                         ::testing::ValuesIn(linearAlgebraCases()), caseName);
INSTANTIATE_TEST_SUITE_P(Normalization, CpuNumerics,
                         ::testing::ValuesIn(normalizationCases()), caseName);
INSTANTIATE_TEST_SUITE_P(Reduction, CpuNumerics,
                         ::testing::ValuesIn(reductionCases()), caseName);
INSTANTIATE_TEST_SUITE_P(DataMovement, CpuNumerics,
                         ::testing::ValuesIn(dataMovementCases()), caseName);
INSTANTIATE_TEST_SUITE_P(Attention, CpuNumerics,
                         ::testing::ValuesIn(attentionCases()), caseName);
INSTANTIATE_TEST_SUITE_P(Quantized, CpuNumerics,
                         ::testing::ValuesIn(quantizedCases()), caseName);
INSTANTIATE_TEST_SUITE_P(Fused, CpuNumerics,
                         ::testing::ValuesIn(fusedCases()), caseName);

INSTANTIATE_TEST_SUITE_P(Elementwise, GpuNumerics,
                         ::testing::ValuesIn(elementwiseCases()), caseName);
INSTANTIATE_TEST_SUITE_P(LinearAlgebra, GpuNumerics,
                         ::testing::ValuesIn(linearAlgebraCases()), caseName);
INSTANTIATE_TEST_SUITE_P(Normalization, GpuNumerics,
                         ::testing::ValuesIn(normalizationCases()), caseName);
INSTANTIATE_TEST_SUITE_P(Reduction, GpuNumerics,
                         ::testing::ValuesIn(reductionCases()), caseName);
INSTANTIATE_TEST_SUITE_P(DataMovement, GpuNumerics,
                         ::testing::ValuesIn(dataMovementCases()), caseName);
INSTANTIATE_TEST_SUITE_P(Attention, GpuNumerics,
                         ::testing::ValuesIn(attentionCases()), caseName);
INSTANTIATE_TEST_SUITE_P(Quantized, GpuNumerics,
                         ::testing::ValuesIn(quantizedCases()), caseName);
INSTANTIATE_TEST_SUITE_P(Fused, GpuNumerics,
                         ::testing::ValuesIn(fusedCases()), caseName);

} // namespace
