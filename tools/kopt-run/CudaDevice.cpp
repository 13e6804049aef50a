//===- CudaDevice.cpp - kopt-run's cuda:N device: the PTX artifact --------===//

#include "Devices.h"

#include "kopt/runtime/GpuModule.h"

#include <cstdio>

namespace kopt::run {
namespace {

class CudaDevice : public Device {
public:
  CudaDevice(std::shared_ptr<rt::GpuModule> module, std::string function,
             bool poisonOutputs)
      : module_(std::move(module)), function_(std::move(function)) {
    options_.poisonOutputs = poisonOutputs;
  }

  rt::StatusOr<std::vector<rt::HostTensor>>
  run(const std::vector<rt::HostTensor> &inputs) override {
    return module_->invoke(function_, pointers(inputs), options_);
  }

  rt::StatusOr<std::vector<double>>
  deviceTimes(const std::vector<rt::HostTensor> &inputs, int64_t runs) override {
    auto timings = module_->benchmark(function_, pointers(inputs),
                                      static_cast<int>(runs));
    if (!timings.isOk())
      return timings.status();
    std::fprintf(stderr,
                 "kopt-run: %s: %zu kernel launches per call%s (device "
                 "events)\n",
                 module_->deviceDescription().c_str(), timings->launchesPerCall,
                 timings->graph ? ", replayed as one CUDA graph" : "");
    return timings->milliseconds;
  }

private:
  static std::vector<const rt::HostTensor *>
  pointers(const std::vector<rt::HostTensor> &inputs) {
    std::vector<const rt::HostTensor *> list;
    for (const rt::HostTensor &input : inputs)
      list.push_back(&input);
    return list;
  }

  std::shared_ptr<rt::GpuModule> module_;
  std::string function_;
  rt::InvokeOptions options_;
};

} // namespace

rt::StatusOr<std::unique_ptr<Device>>
openCudaDevice(const std::string &artifact, int ordinal,
               const std::string &function,
               std::shared_ptr<const rt::WeightSet> weights,
               const std::string &weightsPath, bool poisonOutputs) {
  auto module = rt::GpuModule::load(artifact, ordinal);
  if (!module.isOk())
    return module.status();
  rt::Status bound =
      bindWeightsIfGiven(**module, std::move(weights), weightsPath);
  if (!bound.isOk())
    return bound;
  return std::unique_ptr<Device>(
      new CudaDevice(std::move(*module), function, poisonOutputs));
}

} // namespace kopt::run
