//===- CpuDevice.cpp - kopt-run's cpu device: the compiled shared object --===//

#include "Devices.h"

#include "kopt/runtime/CompiledModule.h"

namespace kopt::run {
namespace {

class CpuDevice : public Device {
public:
  CpuDevice(std::shared_ptr<rt::CompiledModule> module, std::string function,
            bool poisonOutputs)
      : module_(std::move(module)), function_(std::move(function)) {
    options_.poisonOutputs = poisonOutputs;
  }

  rt::StatusOr<std::vector<rt::HostTensor>>
  run(const std::vector<rt::HostTensor> &inputs) override {
    std::vector<const rt::HostTensor *> pointers;
    for (const rt::HostTensor &input : inputs)
      pointers.push_back(&input);
    return module_->invoke(function_, pointers, options_);
  }

private:
  std::shared_ptr<rt::CompiledModule> module_;
  std::string function_;
  rt::InvokeOptions options_;
};

} // namespace

rt::StatusOr<std::unique_ptr<Device>>
openCpuDevice(const std::string &artifact, const std::string &function,
              std::shared_ptr<const rt::WeightSet> weights,
              const std::string &weightsPath, bool poisonOutputs) {
  auto module = rt::CompiledModule::load(artifact);
  if (!module.isOk())
    return module.status();
  rt::Status bound =
      bindWeightsIfGiven(**module, std::move(weights), weightsPath);
  if (!bound.isOk())
    return bound;
  return std::unique_ptr<Device>(
      new CpuDevice(std::move(*module), function, poisonOutputs));
}

} // namespace kopt::run
