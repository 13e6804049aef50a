//===- FlagScanner.cpp - Command-line scanning for runtime-only tools -----===//

#include "FlagScanner.h"

#include <algorithm>
#include <optional>

namespace kopt::tools {

std::string scanFlags(int argc, char **argv, const FlagSpec &spec,
                      std::vector<std::string> &positional, bool &help,
                      const FlagHandler &handle) {
  auto listed = [](const std::vector<std::string> &names,
                   const std::string &name) {
    return std::find(names.begin(), names.end(), name) != names.end();
  };
  bool flagsDone = false;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (flagsDone || arg.size() < 2 || arg[0] != '-') {
      positional.push_back(arg);
      continue;
    }
    if (arg == "--") {
      flagsDone = true;
      continue;
    }
    if (arg == "-h" || arg == "--help" || arg == "-help") {
      help = true;
      continue;
    }
    size_t dashes = arg.compare(0, 2, "--") == 0 ? 2 : 1;
    size_t equals = arg.find('=');
    std::string name =
        arg.substr(dashes, equals == std::string::npos ? std::string::npos
                                                       : equals - dashes);
    std::replace(name.begin(), name.end(), '-', '_');
    std::optional<std::string> value;
    if (equals != std::string::npos)
      value = arg.substr(equals + 1);

    if (listed(spec.booleans, name)) {
      if (value && *value != "true" && *value != "false")
        return "--" + name + " takes no value (or true/false)";
      if (std::string error = handle(name, value ? *value : "true");
          !error.empty())
        return error;
      continue;
    }
    if (!listed(spec.values, name))
      return "unknown flag '" + arg + "'";
    if (!value) {
      if (i + 1 >= argc)
        return "--" + name + " needs a value";
      value = argv[++i];
    }
    if (std::string error = handle(name, *value); !error.empty())
      return error;
  }
  return "";
}

} // namespace kopt::tools
