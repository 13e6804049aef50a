//===- FlagScanner.h - Flag scanning for runtime-only tools ---*- C++ -*-===//
//
// kopt-run and kopt-generate link only the runtime (no llvm::cl), so they
// share this small scanner: `--name=value`, `--name value` or `-name=value`,
// '-' and '_' alike in names, boolean flags taking no value (or
// true/false), `--` ending the flags, and -h/--help.
//
//===----------------------------------------------------------------------===//

#ifndef KOPT_TOOLS_COMMON_FLAGSCANNER_H
#define KOPT_TOOLS_COMMON_FLAGSCANNER_H

#include <functional>
#include <string>
#include <vector>

namespace kopt::tools {

struct FlagSpec {
  /// Names (with '_') of flags that take no value.
  std::vector<std::string> booleans;
  /// Names of flags that take a value.
  std::vector<std::string> values;
};

/// Called per flag with its normalised name and value ("true"/"false" for
/// booleans); returns a usage error or "".
using FlagHandler = std::function<std::string(const std::string &name,
                                              const std::string &value)>;

/// Scans argv[1..argc): positional arguments go to `positional`, -h/--help
/// sets `help`, every flag goes to `handle`. Returns the first usage error,
/// or "".
std::string scanFlags(int argc, char **argv, const FlagSpec &spec,
                      std::vector<std::string> &positional, bool &help,
                      const FlagHandler &handle);

} // namespace kopt::tools

#endif // KOPT_TOOLS_COMMON_FLAGSCANNER_H
