//===- kopt-run.cpp - Run a compiled kopt model ---------------------------===//
//
//   kopt-run model.so [--device=cpu|reference] [--function=forward]
//            [--weights=PATH] --input=SPEC ... [--output=@y.npy ...]
//            [--expected_output=SPEC ... --tolerance=rtol,atol]
//            [--benchmark=N] [--tune] [--quiet]
//
// Loads the plan beside the artifact, parses the inputs (IREE's literal
// grammar or .npy files) and checks them against the plan, runs the function
// on the chosen device, then prints the results, writes them as .npy,
// compares them with expected outputs, and/or times repeated calls.
//
// Every failure is one line `kopt-run: error: ...` on stderr and exit code
// 1 (2 for a malformed command line); nothing in the input files can crash
// it. Links only the runtime (no LLVM/MLIR).
//
//===----------------------------------------------------------------------===//

#include "Comparison.h"
#include "Devices.h"
#include "Options.h"
#include "TensorLiteral.h"

#include "kopt/runtime/DType.h"
#include "kopt/runtime/Float16.h"
#include "kopt/runtime/Plan.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <new>

namespace {

using namespace kopt;
using kopt::rt::HostTensor;

/// Thrown to leave with an exit code after the message has been printed.
struct Exit {
  int code;
};

[[noreturn]] void fail(const std::string &message, int code = 1) {
  std::fflush(stdout);
  std::fprintf(stderr, "kopt-run: error: %s\n", message.c_str());
  throw Exit{code};
}

void note(const std::string &message) {
  std::fprintf(stderr, "kopt-run: note: %s\n", message.c_str());
}

/// `spec` shortened for messages.
std::string abbreviated(const std::string &spec) {
  return spec.size() <= 60 ? spec : spec.substr(0, 57) + "...";
}

/// The device to use: the flag, or what the artifact is for.
std::string chooseDevice(const run::Options &options, const rt::Plan &plan) {
  const std::string &kind = plan.artifactKind();
  std::string device = options.device;
  if (device.empty())
    device = kind == rt::kCpuSharedObjectKind ? "cpu"
             : kind == "ptx"                  ? "cuda:0"
                                              : "";
  if (device.empty())
    fail("'" + options.artifact + "' is a '" + kind +
         "' artifact, which this build cannot run");
  if (device == "cuda")
    device = "cuda:0";
  bool cuda = device.compare(0, 5, "cuda:") == 0;
  if (cuda && kind != "ptx")
    fail("'" + options.artifact +
         "' is compiled for the CPU; compile with -o "
         "model.ptx to run on " +
         device);
  if (device == "cpu" && kind != rt::kCpuSharedObjectKind)
    fail("'" + options.artifact +
         "' is compiled for a GPU; run it with "
         "--device=cuda:N (or --device=reference)");
  return device;
}

/// Rejects devices that do not exist.
void checkDeviceName(const std::string &device) {
  if (device.empty() || device == "cpu" || device == "reference" ||
      device == "cuda")
    return;
  if (device.compare(0, 5, "cuda:") == 0) {
    std::string ordinal = device.substr(5);
    if (!ordinal.empty() && ordinal.size() < 6 &&
        ordinal.find_first_not_of("0123456789") == std::string::npos)
      return;
  }
  fail("unknown device '" + device + "' (expected cpu, reference or cuda:N)",
       2);
}

const rt::PlanFunction &chooseFunction(const run::Options &options,
                                       const rt::Plan &plan) {
  std::string name = options.function;
  if (name.empty()) {
    name = "forward";
    if (!plan.find(name) && plan.functions().size() == 1)
      name = plan.functions()[0].name;
  }
  const rt::PlanFunction *function = plan.find(name);
  if (!function)
    fail("the plan has no function '" + name + "' (it has " +
         plan.functionList() + ")" +
         (options.function.empty() ? "; choose one with --function" : ""));
  return *function;
}

/// The checkpoint to bind, or null when none is needed and none was named.
std::shared_ptr<const rt::WeightSet>
openWeights(const run::Options &options, const rt::Plan &plan,
            const rt::PlanFunction &function, const std::string &device,
            std::string &path) {
  // The cpu device binds the weights of every function of the module.
  const rt::PlanWeight *needed = nullptr;
  if (device == "cpu") {
    for (const rt::PlanFunction &other : plan.functions())
      if (!other.weights.empty() && !needed)
        needed = &other.weights[0];
  } else if (!function.weights.empty()) {
    needed = &function.weights[0];
  }
  path = options.weights ? *options.weights : plan.defaultWeights();
  if (!options.weights && !needed)
    return nullptr;
  if (path.empty())
    fail("the model reads weights (e.g. '" + needed->name +
         "') but no checkpoint was given and the plan names no default: pass "
         "--weights=PATH");
  auto weights = rt::WeightSet::open(path);
  if (!weights.isOk())
    fail(weights.status().message());
  return std::move(*weights);
}

std::vector<HostTensor> readInputs(const run::Options &options,
                                   const rt::PlanFunction &function) {
  std::vector<HostTensor> inputs;
  for (size_t i = 0; i < options.inputs.size(); ++i) {
    const std::string &spec = options.inputs[i];
    auto tensor = run::parseTensorSpec(spec);
    if (!tensor.isOk())
      fail("--input " + std::to_string(i) + " ('" + abbreviated(spec) +
           "'): " + tensor.status().message());
    // NumPy has no bf16: an f32 file feeds a bf16 input, rounded.
    if (spec[0] == '@' && tensor->dtype == KOPT_DTYPE_F32 &&
        i < function.inputs.size() &&
        function.inputs[i].dtype == KOPT_DTYPE_BF16) {
      note("--input " + std::to_string(i) + ": rounding the f32 values of '" +
           spec.substr(1) + "' to bf16, as " + function.name + " expects");
      HostTensor rounded;
      rounded.dtype = KOPT_DTYPE_BF16;
      rounded.shape = tensor->shape;
      auto count = static_cast<size_t>(tensor->numElements());
      rounded.bytes.resize(count * 2);
      for (size_t e = 0; e < count; ++e) {
        uint16_t bits = rt::floatToBF16(
            static_cast<float>(run::elementAsDouble(*tensor, e)));
        std::memcpy(rounded.bytes.data() + e * 2, &bits, 2);
      }
      *tensor = std::move(rounded);
    }
    // NumPy has no float8 either: a uint8 file feeds a float8 input as its
    // bit patterns.
    if (spec[0] == '@' && tensor->dtype == KOPT_DTYPE_U8 &&
        i < function.inputs.size() &&
        (function.inputs[i].dtype == KOPT_DTYPE_F8E4M3 ||
         function.inputs[i].dtype == KOPT_DTYPE_F8E5M2))
      tensor->dtype = function.inputs[i].dtype;
    inputs.push_back(std::move(*tensor));
  }
  return inputs;
}

/// Bound symbols, after checking `inputs` against the plan.
rt::Bindings checkInputs(const rt::PlanFunction &function,
                         const std::vector<HostTensor> &inputs) {
  std::vector<rt::ShapeRef> shapes;
  for (const HostTensor &input : inputs)
    shapes.push_back({input.dtype, &input.shape});
  auto bindings = function.bind(shapes);
  if (!bindings.isOk())
    fail(bindings.status().message());
  return std::move(*bindings);
}

std::string milliseconds(double value) {
  char text[32];
  std::snprintf(text, sizeof(text), "%.4g ms", value);
  return text;
}

/// Times `runs` calls (after the call that produced the results) and prints
/// the statistics.
void benchmark(run::Device &device, const std::vector<HostTensor> &inputs,
               int64_t runs, const rt::PlanFunction &function,
               const rt::Bindings &bindings) {
  std::vector<double> times;
  times.reserve(static_cast<size_t>(runs));
  auto deviceTimes = device.deviceTimes(inputs, runs);
  bool deviceTimed = deviceTimes.isOk();
  if (deviceTimed)
    times = std::move(*deviceTimes);
  else if (deviceTimes.status().code() != KOPT_STATUS_UNIMPLEMENTED)
    fail("benchmark: " + deviceTimes.status().message());
  for (int64_t i = 0; !deviceTimed && i < runs; ++i) {
    auto start = std::chrono::steady_clock::now();
    auto results = device.run(inputs);
    auto end = std::chrono::steady_clock::now();
    if (!results.isOk())
      fail("benchmark run " + std::to_string(i) + ": " +
           results.status().message());
    times.push_back(
        std::chrono::duration<double, std::milli>(end - start).count());
  }
  std::sort(times.begin(), times.end());
  size_t middle = times.size() / 2;
  double median = times.size() % 2 ? times[middle]
                                   : (times[middle - 1] + times[middle]) / 2;
  std::string line = "benchmark: " + std::to_string(runs) + " runs, median " +
                     milliseconds(median) + ", min " +
                     milliseconds(times.front()) + ", max " +
                     milliseconds(times.back());
  char rate[64];
  if (auto flops = function.cost(function.flops, bindings);
      flops && median > 0) {
    std::snprintf(rate, sizeof(rate), ", %.4g GFLOP/s",
                  *flops / (median * 1e6));
    line += rate;
  }
  if (auto bytes = function.cost(function.bytes, bindings);
      bytes && median > 0) {
    std::snprintf(rate, sizeof(rate), ", %.4g GB/s", *bytes / (median * 1e6));
    line += rate;
  }
  std::printf("%s\n", line.c_str());
}

void writeResult(size_t index, const HostTensor &result,
                 const std::string &path) {
  const HostTensor *toWrite = &result;
  HostTensor widened;
  if (result.dtype == KOPT_DTYPE_BF16 || result.dtype == KOPT_DTYPE_F8E4M3 ||
      result.dtype == KOPT_DTYPE_F8E5M2) {
    widened = run::widenToF32(result);
    toWrite = &widened;
    note("result[" + std::to_string(index) + "] is " +
         std::string(rt::dtypeName(result.dtype)) +
         ", which .npy cannot hold; '" + path + "' holds it as f32");
  }
  rt::Status written = rt::writeNpy(path, *toWrite);
  if (!written.isOk())
    fail("result[" + std::to_string(index) + "]: " + written.message());
}

int runMain(int argc, char **argv) {
  run::Options options;
  std::string usage = run::parseOptions(argc, argv, options);
  if (!usage.empty())
    fail(usage + " (see --help)", 2);
  if (options.help) {
    std::fputs(run::usageText(), stdout);
    return 0;
  }
  checkDeviceName(options.device);

  auto loaded = rt::Plan::load(rt::Plan::planPathFor(options.artifact));
  if (!loaded.isOk())
    fail(loaded.status().message());
  std::shared_ptr<const rt::Plan> plan = std::move(*loaded);
  std::string device = chooseDevice(options, *plan);
  const rt::PlanFunction &function = chooseFunction(options, *plan);
  std::string weightsPath;
  std::shared_ptr<const rt::WeightSet> weights =
      openWeights(options, *plan, function, device, weightsPath);

  std::vector<HostTensor> inputs = readInputs(options, function);
  rt::Bindings bindings = checkInputs(function, inputs);
  size_t resultCount = function.outputs.size();
  if (options.outputs.size() > resultCount)
    fail(std::to_string(options.outputs.size()) + " --output flags for the " +
         std::to_string(resultCount) + " result" +
         (resultCount == 1 ? "" : "s") + " of " + function.name);
  if (options.expectedOutputs.size() > resultCount)
    fail(std::to_string(options.expectedOutputs.size()) +
         " --expected_output flags for the " + std::to_string(resultCount) +
         " result" + (resultCount == 1 ? "" : "s") + " of " + function.name);
  std::vector<HostTensor> expected;
  for (size_t i = 0; i < options.expectedOutputs.size(); ++i) {
    auto tensor = run::parseTensorSpec(options.expectedOutputs[i]);
    if (!tensor.isOk())
      fail("--expected_output " + std::to_string(i) + " ('" +
           abbreviated(options.expectedOutputs[i]) +
           "'): " + tensor.status().message());
    expected.push_back(std::move(*tensor));
  }

  auto opened =
      device == "cpu"
          ? run::openCpuDevice(options.artifact, function.name, weights,
                               weightsPath, options.poisonOutputs)
      : device == "reference"
          ? run::openReferenceDevice(plan, function.name, weights)
          : run::openCudaDevice(options.artifact, std::stoi(device.substr(5)),
                                function.name, weights, weightsPath,
                                options.poisonOutputs, options.tuningCache);
  if (!opened.isOk())
    fail(opened.status().message());
  run::Device &runner = **opened;
  if (options.tune) {
    run::Device::TuneSettings settings;
    settings.runs = options.tuneRuns;
    settings.retune = options.retune;
    settings.quiet = options.quiet;
    settings.log = options.tuneLog;
    rt::Status tuned = runner.tune(inputs, settings);
    if (!tuned.isOk())
      fail("--tune: " + tuned.message());
  }
  auto results = runner.run(inputs);
  if (!results.isOk())
    fail(results.status().message());
  if (results->size() != resultCount)
    fail("the " + device + " device returned " +
         std::to_string(results->size()) + " results but the plan declares " +
         std::to_string(resultCount));
  if (options.benchmark)
    benchmark(runner, inputs, *options.benchmark, function, bindings);

  size_t mismatches = 0;
  std::string firstMismatch;
  for (size_t i = 0; i < results->size(); ++i) {
    const HostTensor &result = (*results)[i];
    std::string label = "result[" + std::to_string(i) + "]";
    bool hasOutput = i < options.outputs.size();
    bool hasExpected = i < expected.size();
    if (hasOutput && options.outputs[i] != "-")
      writeResult(i, result, options.outputs[i].substr(1));
    bool print = hasOutput ? options.outputs[i] == "-" : !hasExpected;
    if (print && !options.quiet)
      std::printf("%s: %s\n", label.c_str(),
                  run::formatTensor(result, options.printMaxElements).c_str());
    if (hasExpected) {
      run::Comparison comparison =
          run::compareTensors(result, expected[i], options.tolerance);
      if (comparison.matches) {
        if (!options.quiet)
          std::printf("%s: %s\n", label.c_str(), comparison.summary.c_str());
      } else {
        std::printf("%s %s\n", label.c_str(), comparison.summary.c_str());
        if (mismatches++ == 0)
          firstMismatch =
              label + " does not match --expected_output" +
              (comparison.mismatched
                   ? " (" + std::to_string(comparison.mismatched) + " of " +
                         std::to_string(comparison.total) + " elements differ)"
               : comparison.total ? " (cosine below --min_cosine)"
                                  : "");
      }
    }
  }
  std::fflush(stdout);
  if (mismatches == 1)
    fail(firstMismatch);
  if (mismatches > 1)
    fail(std::to_string(mismatches) + " of " + std::to_string(expected.size()) +
         " results do not match --expected_output");
  return 0;
}

} // namespace

int main(int argc, char **argv) {
  try {
    return runMain(argc, argv);
  } catch (const Exit &exit) {
    std::fflush(stdout);
    return exit.code;
  } catch (const std::bad_alloc &) {
    std::fflush(stdout);
    std::fprintf(stderr, "kopt-run: error: out of memory\n");
    return 1;
  } catch (const std::exception &error) {
    std::fflush(stdout);
    std::fprintf(stderr, "kopt-run: error: internal error: %s\n", error.what());
    return 1;
  }
}
