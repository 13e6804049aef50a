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

  rt::Status tune(const std::vector<rt::HostTensor> &inputs,
                  const TuneSettings &settings) override {
    rt::TuneOptions options;
    options.runs = static_cast<int>(settings.runs);
    options.force = settings.retune;
    if (!settings.quiet)
      options.progress = [](const std::string &line) {
        std::fprintf(stderr, "kopt-tune: %s\n", line.c_str());
      };
    auto report = module_->tune(function_, pointers(inputs), options);
    if (!report.isOk())
      return report.status();
    if (!settings.log.empty()) {
      std::FILE *log = std::fopen(settings.log.c_str(), "w");
      if (!log)
        return rt::Status(KOPT_STATUS_IO_ERROR,
                          "cannot write the tuning log '" + settings.log + "'");
      std::fprintf(log, "function,kernel,bucket,variant_index,variant,"
                        "median_us,roofline_percent,chosen,failure\n");
      auto quoted = [](std::string text) {
        std::string out = "\"";
        for (char c : text)
          out += c == '"' ? std::string("\"\"") : std::string(1, c);
        return out + "\"";
      };
      for (const rt::TuneTrial &t : report->trials)
        std::fprintf(log, "%s,%s,%s,%d,%s,%.3f,%.1f,%d,%s\n",
                     quoted(t.function).c_str(), quoted(t.kernel).c_str(),
                     quoted(t.bucket).c_str(), t.index,
                     quoted(t.variant).c_str(),
                     t.medianMs < 0 ? -1.0 : t.medianMs * 1e3,
                     t.rooflinePercent, t.chosen ? 1 : 0,
                     quoted(t.failure).c_str());
      std::fclose(log);
    }
    size_t failed = 0;
    for (const rt::TuneTrial &t : report->trials)
      failed += !t.failure.empty();
    std::fprintf(stderr,
                 "kopt-tune: %s: %zu tunable kernels at these shapes, %zu "
                 "tuned (%zu variants timed, %zu rejected), %zu from the "
                 "cache\n",
                 function_.c_str(), report->groups, report->tuned,
                 report->trials.size(), failed, report->fromCache);
    return rt::Status::ok();
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
               const std::string &weightsPath, bool poisonOutputs,
               bool tuningCache) {
  auto module = rt::GpuModule::load(artifact, ordinal);
  if (!module.isOk())
    return module.status();
  (*module)->setTuningCache(tuningCache);
  rt::Status bound =
      bindWeightsIfGiven(**module, std::move(weights), weightsPath);
  if (!bound.isOk())
    return bound;
  return std::unique_ptr<Device>(
      new CudaDevice(std::move(*module), function, poisonOutputs));
}

} // namespace kopt::run
