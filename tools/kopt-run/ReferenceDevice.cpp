//===- ReferenceDevice.cpp - kopt-run's reference device ------------------===//
//
// Evaluates the plan's "graph" section with the reference interpreter
// (kopt/runtime/Reference.h): slow, plain host loops in double, the oracle
// compiled code is checked against.
//
//===----------------------------------------------------------------------===//

#include "Devices.h"

#include "kopt/runtime/Reference.h"

#include <nlohmann/json.hpp>

namespace kopt::run {
namespace {

class ReferenceDevice : public Device {
public:
  ReferenceDevice(nlohmann::json graph, std::string function,
                  std::shared_ptr<const rt::WeightSet> weights)
      : graph_(std::move(graph)), function_(std::move(function)),
        weights_(std::move(weights)) {}

  rt::StatusOr<std::vector<rt::HostTensor>>
  run(const std::vector<rt::HostTensor> &inputs) override {
    return rt::reference::evaluate(graph_, function_, inputs, weights_.get());
  }

private:
  nlohmann::json graph_;
  std::string function_;
  std::shared_ptr<const rt::WeightSet> weights_;
};

} // namespace

rt::StatusOr<std::unique_ptr<Device>>
openReferenceDevice(std::shared_ptr<const rt::Plan> plan,
                    const std::string &function,
                    std::shared_ptr<const rt::WeightSet> weights) {
  if (plan->graphJson().empty())
    return rt::notFound("the plan has no \"graph\" section for the reference "
                        "device to evaluate");
  auto graph = rt::reference::parseGraph(plan->graphJson());
  if (!graph.isOk())
    return graph.status().withContext("the plan's graph");
  return std::unique_ptr<Device>(
      new ReferenceDevice(std::move(*graph), function, std::move(weights)));
}

} // namespace kopt::run
