//===- GpuModule.h - A PTX artifact and its launch schedule -----*- C++ -*-===//
//
// The CUDA device: loads `model.ptx` (cuModuleLoadDataEx) and the plan
// beside it, uploads weights once, and runs a function by interpreting its
// launch schedule: device buffers sized from the symbols its inputs bind
// (inputs, weights, constants, scratch, aliases, a status buffer), then each
// launch with its grid evaluated from the same symbols and its guard (a
// variant chosen at launch, e.g. GEMV for few rows). Everything runs on one
// stream; the status buffer is read back after the call. `benchmark`
// captures the launches as one CUDA graph and replays it (`invoke` still
// launches kernel by kernel).
//
//===----------------------------------------------------------------------===//

#ifndef KOPT_RUNTIME_GPUMODULE_H
#define KOPT_RUNTIME_GPUMODULE_H

#include "kopt/runtime/CompiledModule.h"

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace kopt::rt {

/// Device timings of `runs` calls (milliseconds, sorted).
struct GpuTimings {
  std::vector<double> milliseconds;
  size_t launchesPerCall = 0;
  bool graph = false;
};

/// How GpuModule::tune searches.
struct TuneOptions {
  int runs = 20;      // timed calls per variant (median)
  bool force = false; // re-time groups the cache already decided
  /// One line per trial ("which kernel, trials done/total, best so far, %
  /// of roofline"); null: silent.
  std::function<void(const std::string &)> progress;
};

/// One timed variant of one tuned group.
struct TuneTrial {
  std::string function, kernel, bucket, variant;
  int index = 0;         // the variant's index (0: the default)
  double medianMs = -1;  // negative when it failed
  double rooflinePercent = -1; // of the device's peak DRAM bandwidth
  std::string failure;   // why it was not trusted ("" when it passed)
  bool chosen = false;
};

struct TuneReport {
  std::vector<TuneTrial> trials;
  size_t groups = 0;    // groups of the function run at these shapes
  size_t tuned = 0;     // timed now
  size_t fromCache = 0; // decided by the tuning cache, not re-timed
};

class GpuModule {
public:
  /// Loads the plan beside `artifactPath` and the PTX on device `ordinal`.
  /// UNAVAILABLE without a driver or GPU.
  static StatusOr<std::shared_ptr<GpuModule>> load(const std::string &artifactPath,
                                                   int ordinal);
  ~GpuModule();

  const Plan &plan() const;
  /// "NVIDIA H200 (sm_90, 132 SMs)".
  const std::string &deviceDescription() const;

  /// Checks every weight against the plan (as CompiledModule does) and
  /// uploads them.
  Status bindWeights(const WeightSource &weights);

  /// Runs `function` on host `inputs`; outputs come back to the host.
  StatusOr<std::vector<HostTensor>>
  invoke(const std::string &function,
         const std::vector<const HostTensor *> &inputs,
         const InvokeOptions &options = {});

  /// Times `runs` calls on the device (inputs uploaded once, device events
  /// around each replay of the captured graph, or of the plain launches
  /// when `useGraph` is false), with L2 flushed before each run; a data-loss
  /// error when the last timed call's results differ from the first's
  /// (state one call leaves behind that changes the next).
  StatusOr<GpuTimings> benchmark(const std::string &function,
                                 const std::vector<const HostTensor *> &inputs,
                                 int runs, bool useGraph = true);

  /// Times every tile variant of each tuned group (plan "tuning") of
  /// `function` at the shapes of `inputs` on this GPU: device events around
  /// the group's launches, L2 flushed before each timed call, the median
  /// of `runs`; a variant whose output differs from the default's (or
  /// whose launch fails) is recorded with the reason and never chosen. The
  /// fastest variant is used from then on for that group and shape bucket
  /// (token count rounded up to a power of two) and stored in the tuning
  /// cache, which later loads consult before any call.
  StatusOr<TuneReport> tune(const std::string &function,
                            const std::vector<const HostTensor *> &inputs,
                            const TuneOptions &options = {});

  /// Whether calls read (and tune writes) the tuning cache, and where
  /// (empty: TuningCache::defaultDirectory()).
  void setTuningCache(bool enabled, const std::string &directory = "");

  struct State;

private:
  GpuModule() = default;
  std::unique_ptr<State> state_;
};

} // namespace kopt::rt

#endif // KOPT_RUNTIME_GPUMODULE_H
