//===- TuningCache.h - Autotuning results that persist across runs -*- C++ -*-===//
//
// The runtime's autotuner records, per kernel group and shape bucket, which
// variant of the plan won on this GPU. Records live in one JSON file per
// module under `<cache dir>/tuning/<module hash>.json` (the cache dir of
// spec/CLI.md: $KOPT_CACHE_DIR, else $XDG_CACHE_HOME/kopt, else
// ~/.cache/kopt). Every record stores its full key, compared on lookup, so
// a record of another module, GPU, driver or kopt version is never used.
// Writers merge under an advisory lock and replace the file atomically
// (write a temporary, rename), so concurrent tuners lose nothing and
// readers never see half a file; a corrupt file or entry is ignored with a
// warning and rebuilt on the next write.
//
//===----------------------------------------------------------------------===//

#ifndef KOPT_RUNTIME_TUNINGCACHE_H
#define KOPT_RUNTIME_TUNINGCACHE_H

#include "kopt/runtime/Status.h"

#include <cstdint>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace kopt::rt {

/// Everything a tuning decision depends on.
struct TuningKey {
  std::string moduleHash; // of the artifact and its plan
  std::string function;   // plan function
  std::string kernel;     // the tuned group ("node 12: linear model.x.w")
  std::string shapes;     // the shape bucket ("rows<=16")
  std::string gpu;        // device name
  std::string computeCapability; // "9.0"
  int driverVersion = 0;
  std::string koptVersion;

  bool operator==(const TuningKey &other) const;
};

struct TuningRecord {
  TuningKey key;
  /// The chosen variant (0: the heuristic default) and its label.
  int variant = 0;
  std::string label;
  /// Median time of each variant (ms; negative: it failed).
  std::vector<double> medianMs;
};

/// FNV-1a (64-bit) of `parts`, as 16 hex digits: the module hash.
std::string hashModule(const std::vector<std::string> &parts);

class TuningCache {
public:
  using Warn = std::function<void(const std::string &)>;

  /// The cache directory of spec/CLI.md (not created).
  static std::string defaultDirectory();

  /// A cache under `directory`; `warn` receives one line per corrupt file
  /// or entry (default: stderr), once each however often it is read.
  explicit TuningCache(std::string directory, Warn warn = nullptr);

  /// The record stored for exactly `key`, if any.
  std::optional<TuningRecord> lookup(const TuningKey &key);

  /// Adds (or replaces, by key) `records` in their module's file.
  Status store(const std::vector<TuningRecord> &records);

  /// The file holding `moduleHash`'s records.
  std::string pathFor(const std::string &moduleHash) const;

private:
  std::vector<TuningRecord> read(const std::string &path);
  /// `warn_(line)` unless this cache already said `line`.
  void warnOnce(const std::string &line);

  std::string directory_;
  Warn warn_;
  std::set<std::string> warned_;
};

} // namespace kopt::rt

#endif // KOPT_RUNTIME_TUNINGCACHE_H
