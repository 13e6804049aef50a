//===- Options.cpp - The command line of kopt-run -------------------------===//

#include "Options.h"

#include "FlagScanner.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>

namespace kopt::run {
namespace {

bool parseInteger(const std::string &text, int64_t low, int64_t &out) {
  if (text.empty() || text.find_first_not_of("0123456789") != std::string::npos)
    return false;
  errno = 0;
  char *end = nullptr;
  long long value = std::strtoll(text.c_str(), &end, 10);
  if (errno == ERANGE || *end != '\0' || value < low)
    return false;
  out = value;
  return true;
}

bool parseNonNegative(const std::string &text, double &out) {
  errno = 0;
  char *end = nullptr;
  double value = std::strtod(text.c_str(), &end);
  if (text.empty() || *end != '\0' || errno == ERANGE ||
      !std::isfinite(value) || value < 0)
    return false;
  out = value;
  return true;
}

} // namespace

const char *usageText() {
  return R"(usage: kopt-run model.so [options] --input=SPEC ...

Runs a function of a compiled kopt model on the given inputs.

  --device=cpu|reference     where to run (default: what the artifact is for);
                             'reference' evaluates the plan's graph on the host
  --function=NAME            the function to call (default: forward)
  --weights=PATH             checkpoint (.safetensors or *.index.json); default:
                             the plan's default_weights
  --input=SPEC               one per function input, in order:
                               2x3xf32=[1 2 3][4 5 6]  4xf32=0.5  f32=1  0x4xf32
                               @x.npy
                             dtypes f32 f16 bf16 f64 i64 i32 i16 i8 ui8 i1;
                             a .npy of f32 feeds a bf16 input (rounded), of
                             uint8 a float8 input (the bit patterns)
  --output=@y.npy|-          one per result, in order: write .npy (bf16 as f32)
                             or print ('-'); unnamed results are printed
  --expected_output=SPEC     one per result: compare, exit 1 on mismatch
  --tolerance=RTOL,ATOL      |got - expected| <= ATOL + RTOL * |expected|
  --min_cosine=C             also require cosine(got, expected) >= C (prints
                             it and the relative L2 error)
                             (default 1e-5,1e-6)
  --benchmark=N              time N calls after one warm-up call
  --print_max_element_count=N  elide printed results after N elements (1024)
  --poison_outputs           fill outputs with NaN/-1 before the call (cpu)
  --tune                     cuda: time each tile variant of the tunable
                             kernels at these shapes first (progress on
                             stderr), keep the fastest that matches the
                             default, and store it in the tuning cache
                             ($KOPT_CACHE_DIR, else $XDG_CACHE_HOME/kopt,
                             else ~/.cache/kopt); later runs use the cache
  --retune                   --tune, re-timing what the cache decided
  --tune_runs=N              timed calls per variant (default 20)
  --tune_log=FILE.csv        one line per variant tried
  --no_tuning_cache          neither read nor write the tuning cache
  --quiet                    print no results (and no tuning progress)
  --help                     this text

Errors print one line 'kopt-run: error: ...' and exit 1 (2 for usage errors).
)";
}

std::string parseOptions(int argc, char **argv, Options &options) {
  static const tools::FlagSpec spec{{"quiet", "poison_outputs", "tune",
                                     "retune", "no_tuning_cache"},
                                    {"device", "function", "weights", "input",
                                     "output", "expected_output", "tolerance", "min_cosine",
                                     "benchmark", "print_max_element_count",
                                     "tune_runs", "tune_log"}};
  std::vector<std::string> positional;
  std::string error = tools::scanFlags(
      argc, argv, spec, positional, options.help,
      [&](const std::string &name, const std::string &value) -> std::string {
        if (name == "device") {
          options.device = value;
        } else if (name == "function") {
          if (value.empty())
            return "--function needs a name";
          options.function = value;
        } else if (name == "weights") {
          if (value.empty())
            return "--weights needs a path";
          options.weights = value;
        } else if (name == "input") {
          options.inputs.push_back(value);
        } else if (name == "output") {
          if (value != "-" && (value.size() < 2 || value[0] != '@'))
            return "--output takes @FILE.npy or '-', not '" + value + "'";
          options.outputs.push_back(value);
        } else if (name == "expected_output") {
          options.expectedOutputs.push_back(value);
        } else if (name == "tolerance") {
          size_t comma = value.find(',');
          if (comma == std::string::npos ||
              !parseNonNegative(value.substr(0, comma),
                                options.tolerance.rtol) ||
              !parseNonNegative(value.substr(comma + 1),
                                options.tolerance.atol))
            return "--tolerance takes RTOL,ATOL (two non-negative numbers), "
                   "not '" +
                   value + "'";
        } else if (name == "min_cosine") {
          double cosine;
          if (!parseNonNegative(value, cosine) || cosine > 1)
            return "--min_cosine takes a number in [0, 1], not '" + value + "'";
          options.tolerance.minCosine = cosine;
        } else if (name == "benchmark") {
          int64_t runs;
          if (!parseInteger(value, 1, runs) || runs > 100000000)
            return "--benchmark takes a number of runs >= 1, not '" + value +
                   "'";
          options.benchmark = runs;
        } else if (name == "print_max_element_count") {
          if (!parseInteger(value, 0, options.printMaxElements))
            return "--print_max_element_count takes a count >= 0, not '" +
                   value + "'";
        } else if (name == "quiet") {
          options.quiet = value == "true";
        } else if (name == "poison_outputs") {
          options.poisonOutputs = value == "true";
        } else if (name == "tune") {
          options.tune = value == "true";
        } else if (name == "retune") {
          options.retune = value == "true";
          options.tune |= options.retune;
        } else if (name == "no_tuning_cache") {
          options.tuningCache = value != "true";
        } else if (name == "tune_runs") {
          if (!parseInteger(value, 1, options.tuneRuns) ||
              options.tuneRuns > 10000)
            return "--tune_runs takes a count in [1, 10000], not '" + value +
                   "'";
          options.tune = true;
        } else if (name == "tune_log") {
          if (value.empty())
            return "--tune_log needs a path";
          options.tuneLog = value;
          options.tune = true;
        }
        return "";
      });
  if (!error.empty())
    return error;
  if (options.help)
    return "";
  if (positional.empty())
    return "no compiled model given (kopt-run model.so --input=...)";
  if (positional.size() > 1)
    return "more than one model given: '" + positional[0] + "' and '" +
           positional[1] + "'";
  options.artifact = positional[0];
  return "";
}

} // namespace kopt::run
