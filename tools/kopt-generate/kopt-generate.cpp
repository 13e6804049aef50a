//===- kopt-generate.cpp - Greedy decoding of a compiled decoder ----------===//
//
//   kopt-generate model.so --prompt=1,2,3 [--weights=PATH]
//                 [--max_new_tokens=16] [--function=forward_cached]
//                 [--device=cpu] [--check_recompute] [--quiet]
//
// Drives a KV-cached decoder function of a compiled kopt model, whose
// signature (as in models/tiny_llama.mlir) is
//
//   (ids: [1, S] i32, pos: [1, S] i32, offset: [1] i32, kv_len: [1] i32,
//    k_cache_0, v_cache_0, k_cache_1, v_cache_1, ...)
//     -> (logits: [1, S, V], updated caches in the same order)
//
// with caches of one static shape [1, Smax, ...]. The number and shape of
// the caches come from the plan. One prefill call runs the whole prompt
// (pos = 0..S-1, offset = 0, kv_len = S, zero caches); its last position's
// argmax is the first new token. Each decode step then feeds the newest
// token alone (pos = offset = [n], kv_len = [n + 1]) with the caches the
// previous call returned, until --max_new_tokens tokens exist or the cache
// is full. Ties pick the lowest token id.
//
// --check_recompute runs the stateless function `forward` on the prompt
// plus every generated token but the last, and checks that at each
// generated position its argmax is the token decoding produced and its
// logits agree with the cached path's (rtol = atol = 1e-4).
//
// Every failure is one line `kopt-generate: error: ...` on stderr and exit
// code 1 (2 for a malformed command line). Links only the runtime.
//
//===----------------------------------------------------------------------===//

#include "FlagScanner.h"
#include "kopt/runtime/CompiledModule.h"
#include "kopt/runtime/DType.h"
#include "kopt/runtime/Float16.h"
#include "kopt/runtime/module.h" // kopt_tensor_spec_t, KOPT_DYNAMIC_DIM

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <new>
#include <optional>
#include <string>
#include <vector>

namespace {

using namespace kopt;
using rt::HostTensor;

constexpr const char *kTool = "kopt-generate";
constexpr const char *kDefaultFunction = "forward_cached";
constexpr const char *kRecomputeFunction = "forward";
constexpr double kRecomputeRtol = 1e-4, kRecomputeAtol = 1e-4;

/// Thrown to leave with an exit code after the message has been printed.
struct Exit {
  int code;
};

[[noreturn]] void fail(const std::string &message, int code = 1) {
  std::fflush(stdout);
  std::fprintf(stderr, "%s: error: %s\n", kTool, message.c_str());
  throw Exit{code};
}

//===----------------------------------------------------------------------===//
// Command line
//===----------------------------------------------------------------------===//

struct Options {
  std::string artifact;
  std::optional<std::string> weights;
  std::vector<int32_t> prompt;
  bool hasPrompt = false;
  int64_t maxNewTokens = 16;
  std::string function = kDefaultFunction;
  std::string device = "cpu";
  bool checkRecompute = false;
  bool quiet = false;
  bool help = false;
};

const char *usageText() {
  return R"(usage: kopt-generate model.so --prompt=ID,ID,... [options]

Greedy decoding with a KV-cached decoder function of a compiled kopt model:
one prefill call on the whole prompt, then one decode call per new token.

  --prompt=1,2,3             the prompt's token ids (i32, comma separated)
  --weights=PATH             checkpoint (.safetensors or *.index.json); default:
                             the plan's default_weights
  --max_new_tokens=N         how many tokens to generate (default 16; fewer
                             when the KV cache fills up)
  --function=NAME            the cached decoder function (default
                             forward_cached): (ids [1,S] i32, pos [1,S] i32,
                             offset [1] i32, kv_len [1] i32, caches...) ->
                             (logits [1,S,V], caches...)
  --device=cpu               where to run (only cpu in this build)
  --check_recompute          run the stateless 'forward' function on the
                             whole sequence and check that it agrees with the
                             cached path (argmax, and logits within
                             rtol=1e-4 atol=1e-4)
  --quiet                    print only the tokens (and the recompute check)
  --help                     this text

Prints 'tokens: ...' (the new tokens), then the prefill and decode timings.
Errors print one line 'kopt-generate: error: ...' and exit 1 (2 for usage
errors).
)";
}

bool parseInteger(const std::string &text, int64_t low, int64_t high,
                  int64_t &out) {
  size_t digits = !text.empty() && text[0] == '-' ? 1 : 0;
  if (text.size() == digits ||
      text.find_first_not_of("0123456789", digits) != std::string::npos)
    return false;
  errno = 0;
  char *end = nullptr;
  long long value = std::strtoll(text.c_str(), &end, 10);
  if (errno == ERANGE || *end != '\0' || value < low || value > high)
    return false;
  out = value;
  return true;
}

std::string trimmed(const std::string &text) {
  size_t begin = text.find_first_not_of(" \t");
  if (begin == std::string::npos)
    return "";
  size_t end = text.find_last_not_of(" \t");
  return text.substr(begin, end - begin + 1);
}

/// Parses "1,2,3" (spaces around ids allowed); returns an error or "".
std::string parsePrompt(const std::string &text, std::vector<int32_t> &out) {
  out.clear();
  if (trimmed(text).empty())
    return "--prompt needs at least one token id";
  size_t start = 0;
  for (size_t index = 0;; ++index) {
    size_t comma = text.find(',', start);
    std::string item = trimmed(text.substr(
        start, comma == std::string::npos ? std::string::npos : comma - start));
    int64_t value;
    if (item.empty())
      return "--prompt: token " + std::to_string(index) + " of '" + text +
             "' is empty (expected comma-separated integers like 1,2,3)";
    if (!parseInteger(item, std::numeric_limits<int32_t>::min(),
                      std::numeric_limits<int32_t>::max(), value))
      return "--prompt: token " + std::to_string(index) + " ('" + item +
             "') is not a 32-bit integer";
    out.push_back(static_cast<int32_t>(value));
    if (comma == std::string::npos)
      return "";
    start = comma + 1;
  }
}

/// Fills `options` from the command line; returns a usage error, or "".
/// Flags are `--name=value` or `--name value`; '-' and '_' are alike in
/// names; `--` ends the flags.
std::string parseOptions(int argc, char **argv, Options &options) {
  static const tools::FlagSpec spec{
      {"quiet", "check_recompute"},
      {"weights", "prompt", "max_new_tokens", "function", "device"}};
  std::vector<std::string> positional;
  std::string error = tools::scanFlags(
      argc, argv, spec, positional, options.help,
      [&](const std::string &name, const std::string &value) -> std::string {
        if (name == "weights") {
          if (value.empty())
            return "--weights needs a path";
          options.weights = value;
        } else if (name == "prompt") {
          if (std::string error = parsePrompt(value, options.prompt);
              !error.empty())
            return error;
          options.hasPrompt = true;
        } else if (name == "max_new_tokens") {
          if (!parseInteger(value, 0, std::numeric_limits<int32_t>::max(),
                            options.maxNewTokens) ||
              value[0] == '-')
            return "--max_new_tokens takes a count >= 0, not '" + value + "'";
        } else if (name == "function") {
          if (value.empty())
            return "--function needs a name";
          options.function = value;
        } else if (name == "device") {
          options.device = value;
        } else if (name == "quiet") {
          options.quiet = value == "true";
        } else if (name == "check_recompute") {
          options.checkRecompute = value == "true";
        }
        return "";
      });
  if (!error.empty())
    return error;
  if (options.help)
    return "";
  if (positional.empty())
    return "no compiled model given (kopt-generate model.so --prompt=...)";
  if (positional.size() > 1)
    return "more than one model given: '" + positional[0] + "' and '" +
           positional[1] + "'";
  if (!options.hasPrompt)
    return "no prompt given: pass --prompt=ID,ID,...";
  options.artifact = positional[0];
  return "";
}

/// Only the compiled CPU code runs here; CUDA is not built yet.
void checkDeviceName(const std::string &device) {
  if (device == "cpu")
    return;
  if (device == "cuda" || device.compare(0, 5, "cuda:") == 0) {
    std::string ordinal = device.size() > 5 ? device.substr(5) : "0";
    if (device == "cuda" ||
        (!ordinal.empty() &&
         ordinal.find_first_not_of("0123456789") == std::string::npos))
      fail("device '" + device +
           "' is not available in this build (no CUDA backend yet)");
  }
  fail("unknown device '" + device + "' (expected cpu or cuda:N)", 2);
}

//===----------------------------------------------------------------------===//
// Signatures
//===----------------------------------------------------------------------===//

/// The dtype, rank and dims of a plan tensor as kopt_module_function_input
/// and _output report them: dims that depend on the inputs are
/// KOPT_DYNAMIC_DIM.
kopt_tensor_spec_t specOf(const rt::PlanTensor &tensor) {
  kopt_tensor_spec_t spec{};
  spec.dtype = tensor.dtype;
  spec.rank = static_cast<int32_t>(tensor.dims.size());
  for (size_t i = 0; i < tensor.dims.size() && i < KOPT_MAX_RANK; ++i)
    spec.shape[i] = tensor.dims[i].constantValue().value_or(KOPT_DYNAMIC_DIM);
  return spec;
}

std::string specText(const kopt_tensor_spec_t &spec) {
  std::string text = "[";
  for (int32_t i = 0; i < spec.rank; ++i) {
    if (i)
      text += "x";
    text +=
        spec.shape[i] == KOPT_DYNAMIC_DIM ? "?" : std::to_string(spec.shape[i]);
  }
  return text + "] " + std::string(rt::dtypeName(spec.dtype));
}

bool sameSpec(const kopt_tensor_spec_t &a, const kopt_tensor_spec_t &b) {
  if (a.dtype != b.dtype || a.rank != b.rank)
    return false;
  for (int32_t i = 0; i < a.rank; ++i)
    if (a.shape[i] != b.shape[i])
      return false;
  return true;
}

bool isStatic(const kopt_tensor_spec_t &spec) {
  for (int32_t i = 0; i < spec.rank; ++i)
    if (spec.shape[i] == KOPT_DYNAMIC_DIM)
      return false;
  return true;
}

/// Whether dim `i` is `size` or dynamic.
bool dimAccepts(const kopt_tensor_spec_t &spec, int32_t i, int64_t size) {
  return spec.shape[i] == size || spec.shape[i] == KOPT_DYNAMIC_DIM;
}

/// Logits we can take the argmax of.
bool isLogitsDType(kopt_dtype_t dtype) {
  return dtype == KOPT_DTYPE_F32 || dtype == KOPT_DTYPE_F16 ||
         dtype == KOPT_DTYPE_BF16;
}

/// Checks a `[1, S] i32` sequence input (ids or pos).
void checkSequenceInput(const rt::PlanFunction &function, size_t index,
                        const char *role) {
  kopt_tensor_spec_t spec = specOf(function.inputs[index]);
  if (spec.dtype != KOPT_DTYPE_I32 || spec.rank != 2 ||
      !dimAccepts(spec, 0, 1) || spec.shape[1] != KOPT_DYNAMIC_DIM)
    fail(function.name + ": input " + std::to_string(index) + " (" + role +
         ") is " + specText(spec) +
         ", expected [1x?] i32 (a sequence of any length)");
}

/// Checks that output 0 is logits `[1, S, V]` (f32, f16 or bf16).
void checkLogitsOutput(const rt::PlanFunction &function) {
  if (function.outputs.empty())
    fail(function.name + " returns nothing, expected logits [1x?xV] f32 first");
  kopt_tensor_spec_t spec = specOf(function.outputs[0]);
  if (!isLogitsDType(spec.dtype) || spec.rank != 3 || !dimAccepts(spec, 0, 1))
    fail(function.name + ": output 0 (logits) is " + specText(spec) +
         ", expected [1x?xV] f32");
}

/// What the cached decoder looks like.
struct CachedSignature {
  size_t cacheCount = 0;
  kopt_tensor_spec_t cache{};
  int64_t cacheLength = 0; // Smax: positions the cache holds.
};

CachedSignature checkCachedFunction(const rt::PlanFunction &function) {
  const std::string &name = function.name;
  std::string expected =
      " (expected (ids [1x?] i32, pos [1x?] i32, offset [1] i32, kv_len [1] "
      "i32, caches...) -> (logits [1x?xV] f32, caches...))";
  if (function.inputs.size() < 5)
    fail(name + " takes " + std::to_string(function.inputs.size()) +
         " inputs, not a KV-cached decoder" + expected);
  checkSequenceInput(function, 0, "ids");
  checkSequenceInput(function, 1, "pos");
  const char *scalarRoles[] = {"offset", "kv_len"};
  for (size_t i = 2; i < 4; ++i) {
    kopt_tensor_spec_t spec = specOf(function.inputs[i]);
    if (spec.dtype != KOPT_DTYPE_I32 || spec.rank != 1 ||
        !dimAccepts(spec, 0, 1))
      fail(name + ": input " + std::to_string(i) + " (" + scalarRoles[i - 2] +
           ") is " + specText(spec) + ", expected [1] i32");
  }

  CachedSignature signature;
  signature.cacheCount = function.inputs.size() - 4;
  signature.cache = specOf(function.inputs[4]);
  const kopt_tensor_spec_t &cache = signature.cache;
  if (!isStatic(cache) || cache.rank < 2 || cache.shape[0] != 1 ||
      cache.shape[1] < 1)
    fail(name + ": input 4 (the first KV cache) is " + specText(cache) +
         ", expected a static shape [1xSmaxx...] (e.g. [1xSmaxxHkvxD])");
  signature.cacheLength = cache.shape[1];
  for (size_t i = 5; i < function.inputs.size(); ++i) {
    kopt_tensor_spec_t spec = specOf(function.inputs[i]);
    if (!sameSpec(spec, cache))
      fail(name + ": input " + std::to_string(i) + " (KV cache " +
           std::to_string(i - 4) + ") is " + specText(spec) +
           " but the first cache is " + specText(cache) +
           "; all caches must have one static shape");
  }

  size_t outputs = function.outputs.size();
  if (outputs != signature.cacheCount + 1)
    fail(name + " takes " + std::to_string(signature.cacheCount) +
         " caches but returns " + std::to_string(outputs) + " result" +
         (outputs == 1 ? "" : "s") + "; expected " +
         std::to_string(signature.cacheCount + 1) +
         ": the logits, then every updated cache in input order");
  checkLogitsOutput(function);
  for (size_t i = 1; i < outputs; ++i) {
    kopt_tensor_spec_t spec = specOf(function.outputs[i]);
    if (!sameSpec(spec, cache))
      fail(name + ": output " + std::to_string(i) + " (updated KV cache " +
           std::to_string(i - 1) + ") is " + specText(spec) + " but input " +
           std::to_string(i + 3) + " is " + specText(cache));
  }
  return signature;
}

void checkRecomputeFunction(const rt::PlanFunction &function) {
  if (function.inputs.size() != 2)
    fail("--check_recompute: " + function.name + " takes " +
         std::to_string(function.inputs.size()) +
         " inputs, expected (ids [1x?] i32, pos [1x?] i32)");
  checkSequenceInput(function, 0, "ids");
  checkSequenceInput(function, 1, "pos");
  checkLogitsOutput(function);
}

//===----------------------------------------------------------------------===//
// Running
//===----------------------------------------------------------------------===//

HostTensor int32Tensor(std::vector<int64_t> shape,
                       const std::vector<int32_t> &values) {
  HostTensor tensor;
  tensor.dtype = KOPT_DTYPE_I32;
  tensor.shape = std::move(shape);
  tensor.bytes.resize(values.size() * sizeof(int32_t));
  if (!values.empty())
    std::memcpy(tensor.bytes.data(), values.data(), tensor.bytes.size());
  return tensor;
}

/// The values of one position's logits, as floats.
std::vector<float> logitsRow(const HostTensor &logits, int64_t position,
                             const std::string &what) {
  if (logits.shape.size() != 3 || logits.shape[0] != 1 || position < 0 ||
      position >= logits.shape[1] || logits.shape[2] < 1)
    fail(what + ": logits of shape " + rt::shapeText(logits.shape) +
         " have no position " + std::to_string(position));
  auto vocab = static_cast<size_t>(logits.shape[2]);
  size_t element = rt::dtypeSize(logits.dtype);
  size_t begin = static_cast<size_t>(position) * vocab * element;
  if (logits.bytes.size() < begin + vocab * element)
    fail(what + ": the logits hold fewer bytes than their shape needs");
  const uint8_t *data = logits.bytes.data() + begin;
  std::vector<float> row(vocab);
  for (size_t i = 0; i < vocab; ++i) {
    if (logits.dtype == KOPT_DTYPE_F32) {
      std::memcpy(&row[i], data + i * 4, 4);
    } else {
      uint16_t bits;
      std::memcpy(&bits, data + i * 2, 2);
      row[i] = logits.dtype == KOPT_DTYPE_BF16 ? rt::bf16ToFloat(bits)
                                               : rt::f16ToFloat(bits);
    }
  }
  return row;
}

/// The first index of the largest value; NaN logits are an error.
int32_t argmax(const std::vector<float> &row, const std::string &what) {
  size_t best = 0;
  for (size_t i = 0; i < row.size(); ++i) {
    if (std::isnan(row[i]))
      fail(what + ": logit " + std::to_string(i) + " is NaN");
    if (row[i] > row[best])
      best = i;
  }
  return static_cast<int32_t>(best);
}

class Runner {
public:
  explicit Runner(std::shared_ptr<rt::CompiledModule> module)
      : module_(std::move(module)) {}

  /// Calls `function` and adds the time of the call to `*elapsedMs`.
  std::vector<HostTensor> call(const std::string &function,
                               const std::vector<const HostTensor *> &inputs,
                               size_t expectedOutputs, const std::string &what,
                               double *elapsedMs = nullptr) {
    auto start = std::chrono::steady_clock::now();
    auto outputs = module_->invoke(function, inputs);
    auto end = std::chrono::steady_clock::now();
    if (elapsedMs)
      *elapsedMs +=
          std::chrono::duration<double, std::milli>(end - start).count();
    if (!outputs.isOk())
      fail(what + ": " + outputs.status().message());
    if (outputs->size() != expectedOutputs)
      fail(what + ": " + function + " returned " +
           std::to_string(outputs->size()) + " results, expected " +
           std::to_string(expectedOutputs));
    return std::move(*outputs);
  }

private:
  std::shared_ptr<rt::CompiledModule> module_;
};

std::string rateText(int64_t tokens, double ms) {
  char text[96];
  if (tokens > 0 && ms > 0)
    std::snprintf(text, sizeof(text), "%lld token%s in %.3f ms (%.1f tokens/s)",
                  static_cast<long long>(tokens), tokens == 1 ? "" : "s", ms,
                  tokens * 1000.0 / ms);
  else
    std::snprintf(text, sizeof(text), "%lld token%s in %.3f ms",
                  static_cast<long long>(tokens), tokens == 1 ? "" : "s", ms);
  return text;
}

/// Runs the stateless function on the whole sequence and compares it with
/// the cached path at every generated position.
void checkRecompute(Runner &runner, const rt::PlanFunction &forward,
                    const std::vector<int32_t> &prompt,
                    const std::vector<int32_t> &generated,
                    const std::vector<std::vector<float>> &cachedRows) {
  if (generated.empty()) {
    std::printf("recompute: nothing to check (no tokens were generated)\n");
    return;
  }
  // Every token but the last was fed to the model.
  std::vector<int32_t> sequence = prompt;
  sequence.insert(sequence.end(), generated.begin(), generated.end() - 1);
  auto length = static_cast<int64_t>(sequence.size());
  std::vector<int32_t> positions(sequence.size());
  for (size_t i = 0; i < positions.size(); ++i)
    positions[i] = static_cast<int32_t>(i);
  HostTensor ids = int32Tensor({1, length}, sequence);
  HostTensor pos = int32Tensor({1, length}, positions);
  std::string what = "recompute (" + forward.name + ")";
  std::vector<HostTensor> outputs =
      runner.call(forward.name, {&ids, &pos}, forward.outputs.size(), what);
  const HostTensor &logits = outputs[0];
  if (logits.shape.size() != 3 || logits.shape[1] != length)
    fail(what + ": logits of shape " + rt::shapeText(logits.shape) +
         " for a sequence of " + std::to_string(length) + " tokens");

  double maxDiff = 0;
  // The worst position: the largest |diff| / (atol + rtol * |expected|).
  double worstRatio = 0;
  int64_t worstPosition = -1, worstIndex = -1;
  size_t worstToken = 0;
  float worstCached = 0, worstRecomputed = 0;
  size_t argmaxMismatches = 0;
  std::string firstArgmaxMismatch;
  auto promptLength = static_cast<int64_t>(prompt.size());
  for (size_t k = 0; k < generated.size(); ++k) {
    int64_t position = promptLength - 1 + static_cast<int64_t>(k);
    std::string at = "recompute: position " + std::to_string(position);
    std::vector<float> row = logitsRow(logits, position, what);
    const std::vector<float> &cached = cachedRows[k];
    if (row.size() != cached.size())
      fail(at + ": " + forward.name + " has " + std::to_string(row.size()) +
           " logits but the cached function " + std::to_string(cached.size()));
    int32_t token = argmax(row, at);
    if (token != generated[k] && argmaxMismatches++ == 0)
      firstArgmaxMismatch =
          at + " (new token " + std::to_string(k) + "): the full recompute " +
          "picks token " + std::to_string(token) + " but decoding produced " +
          std::to_string(generated[k]) + " (recomputed logits " +
          std::to_string(row[static_cast<size_t>(token)]) + " vs " +
          std::to_string(row[static_cast<size_t>(generated[k])]) + ")";
    for (size_t v = 0; v < row.size(); ++v) {
      double diff = std::fabs(static_cast<double>(cached[v]) - row[v]);
      double ratio =
          diff / (kRecomputeAtol + kRecomputeRtol * std::fabs(row[v]));
      if (std::isnan(diff))
        ratio = std::numeric_limits<double>::infinity();
      maxDiff = std::max(maxDiff, diff);
      if (ratio > worstRatio) {
        worstRatio = ratio;
        worstPosition = position;
        worstToken = k;
        worstIndex = static_cast<int64_t>(v);
        worstCached = cached[v];
        worstRecomputed = row[v];
      }
    }
  }
  char text[256];
  if (worstRatio > 1) {
    std::snprintf(text, sizeof(text),
                  "recompute: logits differ at position %lld (new token "
                  "%zu), vocab index %lld: cached %.7g vs recomputed %.7g, "
                  "|diff| %.3g > atol %g + rtol %g * |recomputed|",
                  static_cast<long long>(worstPosition), worstToken,
                  static_cast<long long>(worstIndex), worstCached,
                  worstRecomputed,
                  std::fabs(static_cast<double>(worstCached) - worstRecomputed),
                  kRecomputeAtol, kRecomputeRtol);
    std::string message = text;
    if (argmaxMismatches)
      message += "; the argmax differs at " + std::to_string(argmaxMismatches) +
                 " position" + (argmaxMismatches == 1 ? "" : "s");
    fail(message);
  }
  if (argmaxMismatches)
    fail(firstArgmaxMismatch +
         (argmaxMismatches > 1
              ? " (and " + std::to_string(argmaxMismatches - 1) +
                    " more positions)"
              : ""));
  std::snprintf(text, sizeof(text),
                "recompute: ok (max |diff| %.3g over %zu generated position%s, "
                "rtol=%g atol=%g)",
                maxDiff, generated.size(), generated.size() == 1 ? "" : "s",
                kRecomputeRtol, kRecomputeAtol);
  std::printf("%s\n", text);
}

int runMain(int argc, char **argv) {
  Options options;
  std::string usage = parseOptions(argc, argv, options);
  if (!usage.empty())
    fail(usage + " (see --help)", 2);
  if (options.help) {
    std::fputs(usageText(), stdout);
    return 0;
  }
  checkDeviceName(options.device);

  auto loaded = rt::CompiledModule::load(options.artifact);
  if (!loaded.isOk())
    fail(loaded.status().message());
  std::shared_ptr<rt::CompiledModule> module = std::move(*loaded);
  const rt::Plan &plan = module->plan();

  const rt::PlanFunction *function = plan.find(options.function);
  if (!function)
    fail("the module has no function '" + options.function + "' (it has " +
         plan.functionList() + "); choose the KV-cached one with --function");
  CachedSignature signature = checkCachedFunction(*function);
  const rt::PlanFunction *forward = nullptr;
  if (options.checkRecompute) {
    forward = plan.find(kRecomputeFunction);
    if (!forward)
      fail(std::string("--check_recompute needs the stateless function '") +
           kRecomputeFunction + "', which the module lacks (it has " +
           plan.functionList() + ")");
    checkRecomputeFunction(*forward);
  }

  // Bind the weights of every function (the module binds them all at once).
  std::string weightsPath =
      options.weights ? *options.weights : plan.defaultWeights();
  if (weightsPath.empty()) {
    for (const rt::PlanFunction &other : plan.functions())
      if (!other.weights.empty())
        fail("the model reads weights (e.g. '" + other.weights[0].name +
             "') but no checkpoint was given and the plan names no default: "
             "pass --weights=PATH");
  } else {
    auto weights = rt::WeightSet::open(weightsPath);
    if (!weights.isOk())
      fail(weights.status().message());
    rt::Status bound = module->bindWeights(rt::WeightSource::fromWeightSet(
        std::move(*weights), "'" + weightsPath + "'"));
    if (!bound.isOk())
      fail(bound.message());
  }

  const std::vector<int32_t> &prompt = options.prompt;
  auto promptLength = static_cast<int64_t>(prompt.size());
  int64_t cacheLength = signature.cacheLength;
  if (promptLength > cacheLength)
    fail("the prompt has " + std::to_string(promptLength) +
         " tokens but the KV caches of " + function->name + " hold " +
         std::to_string(cacheLength) + " positions");

  // Prefill: the whole prompt into zero caches.
  Runner runner(module);
  std::vector<HostTensor> caches(signature.cacheCount);
  for (HostTensor &cache : caches) {
    cache.dtype = signature.cache.dtype;
    cache.shape.assign(signature.cache.shape,
                       signature.cache.shape + signature.cache.rank);
    auto bytes = rt::checkedByteSize(cache.dtype, cache.shape, "a KV cache");
    if (!bytes.isOk())
      fail(bytes.status().message());
    cache.bytes.assign(*bytes, 0);
  }
  std::vector<int32_t> positions(prompt.size());
  for (size_t i = 0; i < positions.size(); ++i)
    positions[i] = static_cast<int32_t>(i);
  HostTensor ids = int32Tensor({1, promptLength}, prompt);
  HostTensor pos = int32Tensor({1, promptLength}, positions);
  HostTensor offset = int32Tensor({1}, {0});
  HostTensor kvLen = int32Tensor({1}, {static_cast<int32_t>(promptLength)});

  std::vector<int32_t> generated;
  std::vector<std::vector<float>> cachedRows; // Kept for --check_recompute.
  double prefillMs = 0, decodeMs = 0;
  int64_t decodeSteps = 0;
  bool cacheFull = false;

  auto step = [&](const std::string &what, double *elapsedMs) {
    std::vector<const HostTensor *> inputs = {&ids, &pos, &offset, &kvLen};
    for (const HostTensor &cache : caches)
      inputs.push_back(&cache);
    std::vector<HostTensor> outputs = runner.call(
        function->name, inputs, signature.cacheCount + 1, what, elapsedMs);
    const HostTensor &logits = outputs[0];
    if (logits.shape.size() != 3 || logits.shape[1] < 1)
      fail(what + ": logits of shape " + rt::shapeText(logits.shape));
    std::vector<float> row = logitsRow(logits, logits.shape[1] - 1, what);
    generated.push_back(argmax(row, what));
    if (options.checkRecompute)
      cachedRows.push_back(std::move(row));
    for (size_t i = 0; i < caches.size(); ++i)
      caches[i] = std::move(outputs[i + 1]);
  };

  if (options.maxNewTokens > 0) {
    step("prefill", &prefillMs);
    // Decode: feed the newest token at position n = prompt + generated - 1.
    while (static_cast<int64_t>(generated.size()) < options.maxNewTokens) {
      int64_t n = promptLength + static_cast<int64_t>(generated.size()) - 1;
      if (n >= cacheLength) {
        cacheFull = true;
        break;
      }
      ids = int32Tensor({1, 1}, {generated.back()});
      pos = int32Tensor({1, 1}, {static_cast<int32_t>(n)});
      offset = int32Tensor({1}, {static_cast<int32_t>(n)});
      kvLen = int32Tensor({1}, {static_cast<int32_t>(n + 1)});
      step("decode step " + std::to_string(decodeSteps + 1) + " (position " +
               std::to_string(n) + ")",
           &decodeMs);
      ++decodeSteps;
    }
  }

  std::string tokens = "tokens:";
  for (int32_t token : generated)
    tokens += " " + std::to_string(token);
  std::printf("%s\n", tokens.c_str());
  if (!options.quiet) {
    std::printf("prefill: %s\n",
                rateText(options.maxNewTokens > 0 ? promptLength : 0, prefillMs)
                    .c_str());
    std::printf("decode: %s\n", rateText(decodeSteps, decodeMs).c_str());
  }
  std::fflush(stdout);
  if (cacheFull && !options.quiet)
    std::fprintf(stderr,
                 "%s: note: stopped after %zu of %lld new tokens: the KV "
                 "caches of %s hold %lld positions\n",
                 kTool, generated.size(),
                 static_cast<long long>(options.maxNewTokens),
                 function->name.c_str(), static_cast<long long>(cacheLength));

  if (forward)
    checkRecompute(runner, *forward, prompt, generated, cachedRows);
  std::fflush(stdout);
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
    std::fprintf(stderr, "%s: error: out of memory\n", kTool);
    return 1;
  } catch (const std::exception &error) {
    std::fflush(stdout);
    std::fprintf(stderr, "%s: error: internal error: %s\n", kTool,
                 error.what());
    return 1;
  }
}
