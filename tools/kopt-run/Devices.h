//===- Devices.h - Where kopt-run runs a function ---------------*- C++ -*-===//
//
// A device runs one function of a loaded model on host tensors: `cpu` calls
// the compiled shared object, `reference` evaluates the plan's graph with
// the reference interpreter, `cuda:N` runs the PTX artifact on GPU N.
//
//===----------------------------------------------------------------------===//

#ifndef KOPT_TOOLS_KOPT_RUN_DEVICES_H
#define KOPT_TOOLS_KOPT_RUN_DEVICES_H

#include "kopt/runtime/CompiledModule.h"
#include "kopt/runtime/Npy.h"
#include "kopt/runtime/Plan.h"
#include "kopt/runtime/Safetensors.h"

#include <memory>
#include <string>
#include <vector>

namespace kopt::run {

class Device {
public:
  virtual ~Device() = default;
  /// Runs the device's function on `inputs`.
  virtual rt::StatusOr<std::vector<rt::HostTensor>>
  run(const std::vector<rt::HostTensor> &inputs) = 0;
  /// Device-timed milliseconds of `runs` calls (sorted), for devices that
  /// time themselves (CUDA events); UNIMPLEMENTED otherwise.
  virtual rt::StatusOr<std::vector<double>>
  deviceTimes(const std::vector<rt::HostTensor> &inputs, int64_t runs) {
    return rt::unimplemented("host-timed device");
  }
  /// Autotunes the function's tile variants at the shapes of `inputs`
  /// (devices with variants to choose from); UNIMPLEMENTED otherwise.
  struct TuneSettings {
    int64_t runs = 20;
    bool retune = false, quiet = false;
    std::string log; // CSV path, or ""
  };
  virtual rt::Status tune(const std::vector<rt::HostTensor> &inputs,
                          const TuneSettings &settings) {
    return rt::unimplemented("--tune needs a cuda device");
  }
};

/// Binds `weights` (read from `weightsPath`; nothing when null) to a loaded
/// CPU or GPU module.
template <typename Module>
rt::Status bindWeightsIfGiven(Module &module,
                              std::shared_ptr<const rt::WeightSet> weights,
                              const std::string &weightsPath) {
  if (!weights)
    return rt::Status::ok();
  return module.bindWeights(rt::WeightSource::fromWeightSet(
      std::move(weights), "'" + weightsPath + "'"));
}

/// The compiled shared object at `artifact`, with `weights` (may be null
/// when no function reads weights) bound.
rt::StatusOr<std::unique_ptr<Device>>
openCpuDevice(const std::string &artifact, const std::string &function,
              std::shared_ptr<const rt::WeightSet> weights,
              const std::string &weightsPath, bool poisonOutputs);

/// The PTX artifact at `artifact` on GPU `ordinal` (CudaDevice.cpp).
rt::StatusOr<std::unique_ptr<Device>>
openCudaDevice(const std::string &artifact, int ordinal,
               const std::string &function,
               std::shared_ptr<const rt::WeightSet> weights,
               const std::string &weightsPath, bool poisonOutputs,
               bool tuningCache = true);

/// The reference interpreter over the graph of `plan` (ReferenceDevice.cpp).
rt::StatusOr<std::unique_ptr<Device>>
openReferenceDevice(std::shared_ptr<const rt::Plan> plan,
                    const std::string &function,
                    std::shared_ptr<const rt::WeightSet> weights);

} // namespace kopt::run

#endif // KOPT_TOOLS_KOPT_RUN_DEVICES_H
