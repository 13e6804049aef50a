//===- Module.cpp - Loading, binding and invoking compiled modules --------===//
//
// CompiledModule: the plan and the shared object together. Weights are
// checked against the plan once, when bound, and then passed zero-copy from
// the checkpoint's memory mapping (a weight whose bytes are not aligned to
// its element size is copied once, so compiled code may assume natural
// alignment). Each call checks its inputs against the plan, allocates the
// outputs from the bound symbols, and reads the status buffer afterwards.
//
//===----------------------------------------------------------------------===//

#include "kopt/runtime/CompiledModule.h"

#include "ArtifactCheck.h"
#include "ModuleCpuDevice.h"
#include "kopt/runtime/DType.h"
#include "kopt/runtime/Safetensors.h"

#include <algorithm>
#include <cstdint>
#include <new>

namespace kopt::rt {

/// The weights of every function, resolved to data pointers.
struct CompiledModule::BoundWeights {
  std::vector<std::vector<const void *>> data; // [function][weight]
  std::vector<std::vector<uint8_t>> realigned;
  std::shared_ptr<const void> keepAlive;
};

WeightSource
WeightSource::fromWeightSet(std::shared_ptr<const WeightSet> weights,
                            std::string description) {
  WeightSource source;
  const WeightSet *set = weights.get();
  source.lookup =
      [set](const std::string &name) -> std::optional<kopt_tensor_view_t> {
    const TensorEntry *entry = set ? set->lookup(name) : nullptr;
    if (!entry)
      return std::nullopt;
    return entry->view();
  };
  source.keepAlive = std::move(weights);
  source.description = std::move(description);
  return source;
}

StatusOr<std::shared_ptr<CompiledModule>>
CompiledModule::load(const std::string &artifactPath) {
  StatusOr<std::shared_ptr<const Plan>> plan =
      Plan::load(Plan::planPathFor(artifactPath));
  if (!plan.isOk())
    return plan.status();
  if ((*plan)->artifactKind() != kCpuSharedObjectKind)
    return unimplemented("'" + artifactPath + "' is a '" +
                         (*plan)->artifactKind() +
                         "' artifact; this runtime loads only '" +
                         kCpuSharedObjectKind + "' artifacts");
  {
    StatusOr<std::shared_ptr<MappedFile>> image = MappedFile::open(artifactPath);
    if (!image.isOk())
      return image.status();
    std::string_view bytes(reinterpret_cast<const char *>((*image)->data()),
                           (*image)->size());
    KOPT_RETURN_IF_ERROR((*plan)->checkArtifact(bytes, artifactPath));
    KOPT_RETURN_IF_ERROR(checkSharedObjectImage(bytes, artifactPath));
  }
  StatusOr<std::shared_ptr<CpuSharedObject>> object =
      CpuSharedObject::open(artifactPath);
  if (!object.isOk())
    return object.status();
  std::shared_ptr<CompiledModule> module(new CompiledModule());
  module->artifactPath_ = artifactPath;
  module->plan_ = std::move(*plan);
  module->object_ = std::move(*object);
  for (const PlanFunction &function : module->plan_->functions()) {
    StatusOr<CpuEntryPoint> entry = module->object_->resolve(function.symbol);
    if (!entry.isOk())
      return entry.status().withContext("function '" + function.name + "'");
    module->entryPoints_.push_back(*entry);
  }
  return module;
}

CompiledModule::~CompiledModule() = default;

StatusOr<size_t> checkWeightView(const PlanWeight &weight,
                                 const std::optional<kopt_tensor_view_t> &view,
                                 const std::string &function,
                                 const std::string &checkpoint) {
  if (!view)
    return notFound("weight '" + weight.name + "' (read by " + function +
                    ") is not in " + checkpoint);
  std::vector<int64_t> shape(view->shape,
                             view->shape + std::max(0, view->rank));
  if (view->dtype != weight.dtype || shape != weight.shape)
    return invalidArgument(
        "weight '" + weight.name + "' is " +
        std::string(dtypeName(view->dtype)) + " " + shapeText(shape) + " in " +
        checkpoint + " but " + function + " needs " +
        std::string(dtypeName(weight.dtype)) + " " + shapeText(weight.shape));
  StatusOr<size_t> bytes = checkedByteSize(weight.dtype, weight.shape,
                                           "weight '" + weight.name + "'");
  if (!bytes.isOk() || *bytes != view->byte_size ||
      (*bytes != 0 && !view->data))
    return dataLoss("weight '" + weight.name + "' in " + checkpoint +
                    " holds " + std::to_string(view->byte_size) +
                    " bytes, not what its shape needs");
  return *bytes;
}

Status CompiledModule::bindWeights(const WeightSource &given) {
  StatusOr<WeightSource> packed = withPackedWeights(*plan_, given);
  if (!packed.isOk())
    return packed.status();
  const WeightSource &weights = *packed;
  auto bound = std::make_shared<BoundWeights>();
  bound->keepAlive = weights.keepAlive;
  std::string checkpoint = weights.description.empty()
                               ? "the checkpoint"
                               : "the checkpoint " + weights.description;
  Status first;
  size_t problems = 0;
  auto report = [&](Status status) {
    if (problems++ == 0)
      first = std::move(status);
  };
  for (const PlanFunction &function : plan_->functions()) {
    std::vector<const void *> &data = bound->data.emplace_back();
    for (const PlanWeight &weight : function.weights) {
      data.push_back(nullptr);
      std::optional<kopt_tensor_view_t> view = weights.lookup(weight.name);
      StatusOr<size_t> bytes =
          checkWeightView(weight, view, function.name, checkpoint);
      if (!bytes.isOk()) {
        report(bytes.status());
        continue;
      }
      size_t alignment = dtypeSize(weight.dtype);
      if (reinterpret_cast<uintptr_t>(view->data) % alignment != 0) {
        const auto *begin = static_cast<const uint8_t *>(view->data);
        bound->realigned.emplace_back(begin, begin + *bytes);
        data.back() = bound->realigned.back().data();
      } else {
        data.back() = view->data;
      }
    }
  }
  if (problems > 1)
    return Status(first.code(),
                  first.message() + " (and " + std::to_string(problems - 1) +
                      " more weight problem" + (problems > 2 ? "s" : "") + ")");
  if (problems == 1)
    return first;
  std::lock_guard<std::mutex> lock(mutex_);
  weights_ = std::move(bound);
  return Status::ok();
}

bool CompiledModule::hasWeights() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return weights_ != nullptr;
}

StatusOr<std::vector<HostTensor>>
CompiledModule::invoke(const std::string &name,
                       const std::vector<const HostTensor *> &inputs,
                       const InvokeOptions &options) const {
  const PlanFunction *function = plan_->find(name);
  if (!function)
    return notFound("the module has no function '" + name + "' (it has " +
                    plan_->functionList() + ")");
  size_t functionIndex = function - plan_->functions().data();

  std::shared_ptr<const BoundWeights> weights;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    weights = weights_;
  }
  if (!function->weights.empty() && !weights)
    return invalidArgument(
        name + " reads " + std::to_string(function->weights.size()) +
        " weight" + (function->weights.size() == 1 ? "" : "s") + " (e.g. '" +
        function->weights[0].name +
        "') but no weights are bound; bind a checkpoint first");

  std::vector<ShapeRef> shapes;
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (!inputs[i])
      return invalidArgument(name + ": input " + std::to_string(i) +
                             " is null");
    StatusOr<size_t> bytes =
        checkedByteSize(inputs[i]->dtype, inputs[i]->shape,
                        name + ": input " + std::to_string(i));
    if (!bytes.isOk())
      return bytes.status();
    if (*bytes != inputs[i]->bytes.size())
      return invalidArgument(
          name + ": input " + std::to_string(i) + " holds " +
          std::to_string(inputs[i]->bytes.size()) + " bytes but its shape " +
          shapeText(inputs[i]->shape) + " needs " + std::to_string(*bytes));
    shapes.push_back({inputs[i]->dtype, &inputs[i]->shape});
  }
  StatusOr<Bindings> bindings = function->bind(shapes);
  if (!bindings.isOk())
    return bindings.status();

  std::vector<HostTensor> outputs(function->outputs.size());
  for (size_t i = 0; i < outputs.size(); ++i) {
    StatusOr<std::vector<int64_t>> shape = function->outputShape(i, *bindings);
    if (!shape.isOk())
      return shape.status();
    StatusOr<size_t> bytes =
        checkedByteSize(function->outputs[i].dtype, *shape,
                        name + ": output " + std::to_string(i));
    if (!bytes.isOk())
      return bytes.status();
    outputs[i].dtype = function->outputs[i].dtype;
    outputs[i].shape = std::move(*shape);
    try {
      outputs[i].bytes.assign(*bytes, options.poisonOutputs ? 0xff : 0);
    } catch (const std::bad_alloc &) {
      return Status(KOPT_STATUS_RESOURCE_EXHAUSTED,
                    name + ": out of memory allocating output " +
                        std::to_string(i) + " (" + std::to_string(*bytes) +
                        " bytes)");
    }
  }

  int64_t status[kStatusBufferSize] = {0, 0, 0, 0};
  CallFrame frame;
  for (const PlanCallArg &arg : function->call) {
    switch (arg.kind) {
    case PlanCallArg::Kind::Input:
      frame.addTensor(inputs[arg.index]->bytes.data(),
                      inputs[arg.index]->shape);
      break;
    case PlanCallArg::Kind::Weight:
      frame.addTensor(weights->data[functionIndex][arg.index],
                      function->weights[arg.index].shape);
      break;
    case PlanCallArg::Kind::Output:
      frame.addTensor(outputs[arg.index].bytes.data(),
                      outputs[arg.index].shape);
      break;
    case PlanCallArg::Kind::Status:
      frame.addStatus(status);
      break;
    }
  }
  entryPoints_[functionIndex](frame.args());
  if (status[0] != 0)
    return statusFromBuffer(status, *function);
  return outputs;
}

} // namespace kopt::rt
