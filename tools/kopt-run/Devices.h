//===- Devices.h - Where kopt-run runs a function ---------------*- C++ -*-===//
//
// A device runs one function of a loaded model on host tensors: `cpu` calls
// the compiled shared object, `reference` evaluates the plan's graph with
// the reference interpreter. CUDA devices are not in this build yet.
//
//===----------------------------------------------------------------------===//

#ifndef KOPT_TOOLS_KOPT_RUN_DEVICES_H
#define KOPT_TOOLS_KOPT_RUN_DEVICES_H

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
};

/// The compiled shared object at `artifact`, with `weights` (may be null
/// when no function reads weights) bound.
rt::StatusOr<std::unique_ptr<Device>>
openCpuDevice(const std::string &artifact, const std::string &function,
              std::shared_ptr<const rt::WeightSet> weights,
              const std::string &weightsPath, bool poisonOutputs);

/// The reference interpreter over the graph of `plan` (ReferenceDevice.cpp).
rt::StatusOr<std::unique_ptr<Device>>
openReferenceDevice(std::shared_ptr<const rt::Plan> plan,
                    const std::string &function,
                    std::shared_ptr<const rt::WeightSet> weights);

} // namespace kopt::run

#endif // KOPT_TOOLS_KOPT_RUN_DEVICES_H
