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
  /// when `useGraph` is false), with L2 flushed before each run.
  StatusOr<GpuTimings> benchmark(const std::string &function,
                                 const std::vector<const HostTensor *> &inputs,
                                 int runs, bool useGraph = true);

  struct State;

private:
  GpuModule() = default;
  std::unique_ptr<State> state_;
};

} // namespace kopt::rt

#endif // KOPT_RUNTIME_GPUMODULE_H
