//===- Options.h - The command line of kopt-run -----------------*- C++ -*-===//
//
// A small hand-written parser (kopt-run links only the runtime, no LLVM):
// `--flag=value` or `--flag value`, `-` and `_` interchangeable in flag
// names, `--` ends the flags.
//
//===----------------------------------------------------------------------===//

#ifndef KOPT_TOOLS_KOPT_RUN_OPTIONS_H
#define KOPT_TOOLS_KOPT_RUN_OPTIONS_H

#include "Comparison.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace kopt::run {

struct Options {
  std::string artifact;
  std::string device;   // Empty: chosen from the artifact kind.
  std::string function; // Empty: "forward", or the only function.
  std::optional<std::string> weights;
  std::vector<std::string> inputs, outputs, expectedOutputs;
  Tolerance tolerance;
  std::optional<int64_t> benchmark;
  int64_t printMaxElements = 1024;
  bool quiet = false;
  bool poisonOutputs = false;
  bool help = false;
  // Autotuning (cuda devices).
  bool tune = false;
  bool retune = false;
  bool tuningCache = true;
  int64_t tuneRuns = 20;
  std::string tuneLog; // CSV of every trial

};

/// Fills `options` from the command line; returns a usage error, or "".
std::string parseOptions(int argc, char **argv, Options &options);

/// The --help text.
const char *usageText();

} // namespace kopt::run

#endif // KOPT_TOOLS_KOPT_RUN_OPTIONS_H
