//===- GpuModuleState.h - GpuModule's schedule and device state -*- C++ -*-===//
//
// Shared by GpuModule.cpp (loading, calls, benchmarks) and GpuTuning.cpp
// (the autotuner): the validated launch schedule of each plan function,
// one prepared call, and the module's device state.
//
//===----------------------------------------------------------------------===//

#ifndef KOPT_RUNTIME_SRC_GPUMODULESTATE_H
#define KOPT_RUNTIME_SRC_GPUMODULESTATE_H

#include "kopt/runtime/GpuModule.h"
#include "kopt/runtime/ShapeExpr.h"

#include "cuda/CudaDriver.h"
#include "cuda/L2Flush.h"

#include <functional>

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace kopt::rt {


struct ScheduleBuffer {
  kopt_dtype_t dtype;
  std::vector<ShapeExpr> dims;
  /// Zeroed: temp memory cleared before every call (counters that the
  /// kernels using them leave zero again).
  enum class Source { Input, Weight, Temp, Zeroed, Status, Alias, Constant } source;
  size_t index = 0;              // input/weight index, or the aliased buffer
  std::vector<uint8_t> constant; // bytes of a constant buffer
};

struct ScheduleArg {
  enum class Kind { Buffer, Index } kind;
  size_t buffer = 0;
  std::optional<ShapeExpr> index;
};

struct ScheduleLaunch {
  std::string kernel;
  cuda::CUfunction function = nullptr;
  ShapeExpr grid[3] = {ShapeExpr::constant(1), ShapeExpr::constant(1),
                       ShapeExpr::constant(1)};
  unsigned block = 1;
  unsigned sharedBytes = 0;
  std::vector<ScheduleArg> args;
  std::optional<ShapeExpr> guard;
  int64_t guardMin = 0, guardMax = INT64_MAX;
  int tuneGroup = -1, tuneVariant = 0; // -1: runs for every variant
};

/// A plan op compiled in several tile variants (the plan's "tuning" entry):
/// launches tagged with its index run only for the chosen variant.
struct TuneGroup {
  int64_t node = -1;
  std::string kernel;
  std::vector<std::string> variants;
  ShapeExpr bucket = ShapeExpr::constant(1); // the token count
  std::optional<ShapeExpr> bytes;            // per call, for the roofline
  size_t output = 0;                         // where variants must agree
};

struct Schedule {
  std::vector<ScheduleBuffer> buffers;
  std::vector<ScheduleLaunch> launches;
  std::vector<size_t> results;
  std::vector<cuda::CUdeviceptr> constants; // per buffer, 0 if none
  std::vector<TuneGroup> groups;
};

/// One prepared call: buffer addresses and the launches' argument storage.
struct PreparedCall {
  std::vector<cuda::CUdeviceptr> address;
  std::vector<size_t> bytes;
  struct Ready {
    const ScheduleLaunch *launch;
    unsigned grid[3];
    std::vector<uint64_t> storage;
    std::vector<void *> params;
  };
  std::vector<Ready> launches;
  cuda::CUgraphExec graph = nullptr;
  /// Launch each kernel while the one before it finishes.
  bool dependentLaunch = false;
};

inline size_t align(size_t n) { return (n + 255) & ~size_t(255); }

struct GpuModule::State {
  const cuda::Driver *d = nullptr;
  cuda::CUdevice device = 0;
  cuda::CUcontext context = nullptr;
  cuda::CUmodule module = nullptr;
  cuda::CUstream stream = nullptr;
  std::shared_ptr<const Plan> plan;
  std::string description;
  std::vector<Schedule> schedules;                     // per plan function
  std::vector<std::vector<cuda::CUdeviceptr>> weights; // [function][weight]
  std::vector<cuda::CUdeviceptr> allocations;
  std::map<size_t, PreparedCall> prepared; // per function
  cuda::CUdeviceptr arena = 0;
  size_t arenaBytes = 0;

  // Tuning: what the cache keys hold, and the decisions so far.
  std::string moduleHash, gpuName, computeCapability;
  int driverVersion = 0;
  /// Launching each kernel with programmatic stream serialization (sm_90+,
  /// the plan's kernels wait for their predecessors themselves): Off, On,
  /// or Auto: for calls of small launches only (see latencyBound).
  /// KOPT_DEPENDENT_LAUNCH=0 / 1 forces Off / On.
  enum class DependentLaunch { Off, Auto, On } dependentLaunch =
      DependentLaunch::Off;
  int smCount = 0;
  double peakBandwidth = 0; // bytes/s, from the memory clock and bus width
  bool useTuningCache = true;
  std::string tuningCacheDirectory; // empty: TuningCache::defaultDirectory()
  /// (function, group) -> bucket -> variant.
  std::map<std::pair<size_t, size_t>, std::map<int64_t, int>> choices;

  Status makeCurrent() {
    return cuda::check(d->cuCtxSetCurrent(context), "cuCtxSetCurrent");
  }

  StatusOr<cuda::CUdeviceptr> allocate(size_t bytes) {
    cuda::CUdeviceptr p = 0;
    KOPT_RETURN_IF_ERROR(cuda::check(d->cuMemAlloc(&p, std::max<size_t>(bytes, 256)),
                               "cuMemAlloc(" + std::to_string(bytes) + ")"));
    allocations.push_back(p);
    return p;
  }

  ~State() {
    if (!d)
      return;
    d->cuCtxSetCurrent(context);
    for (auto &[_, call] : prepared)
      if (call.graph)
        d->cuGraphExecDestroy(call.graph);
    if (stream)
      d->cuStreamSynchronize(stream);
    for (cuda::CUdeviceptr p : allocations)
      d->cuMemFree(p);
    if (arena)
      d->cuMemFree(arena);
    if (stream)
      d->cuStreamDestroy(stream);
    if (module)
      d->cuModuleUnload(module);
    if (context)
      d->cuDevicePrimaryCtxRelease(device);
  }
};

/// Binds the inputs, lays out the arena and fills the arguments of every
/// launch that runs at these shapes (guards, chosen tile variants).
Status prepare(GpuModule::State &s, size_t fi, const PlanFunction &function,
               const std::vector<const HostTensor *> &inputs,
               PreparedCall &call, Bindings &bindings);
/// Launches `call`'s kernels in order on the module's stream.
Status launchAll(GpuModule::State &s, PreparedCall &call);
/// Device-timed milliseconds (sorted) of `runs` calls of `once`, each
/// after `flush` leaves L2 cold and clean.
StatusOr<std::vector<double>> timeCalls(GpuModule::State &s,
                                        cuda::L2Flush &flush, int runs,
                                        const std::function<Status()> &once);
/// The power of two >= `rows` (at least 1): tuning decisions hold per bucket.
int64_t tuneBucket(int64_t rows);
/// The variant of group `group` of function `fi` that runs at `bucket`: a
/// decision of this process, else of the tuning cache, else 0.
int chosenVariant(GpuModule::State &s, size_t fi, size_t group,
                  int64_t bucket);

} // namespace kopt::rt

#endif // KOPT_RUNTIME_SRC_GPUMODULESTATE_H
