//===- ModuleApi.cpp - C API over CompiledModule --------------------------===//
//
// Argument checks, handle bookkeeping and the exception barrier: nothing
// thrown below (std::bad_alloc, or anything else) crosses into C.
//
//===----------------------------------------------------------------------===//

#include "TensorHandle.h"
#include "kopt/runtime/CompiledModule.h"
#include "kopt/runtime/module.h"

#include <atomic>
#include <new>

struct kopt_module_s {
  std::shared_ptr<kopt::rt::CompiledModule> module;
  std::atomic<int> references{1};
};

using kopt::rt::invalidArgument;
using kopt::rt::Status;

namespace {

/// Runs `body`, turning exceptions into statuses.
template <typename Body> kopt_status_t guarded(const char *api, Body body) {
  try {
    return body();
  } catch (const std::bad_alloc &) {
    return Status(KOPT_STATUS_RESOURCE_EXHAUSTED,
                  std::string(api) + ": out of memory")
        .release();
  } catch (const std::exception &error) {
    return Status(KOPT_STATUS_INTERNAL, std::string(api) + ": " + error.what())
        .release();
  } catch (...) {
    return Status(KOPT_STATUS_INTERNAL, std::string(api) + ": unknown error")
        .release();
  }
}

/// The function `name` of `module`, or a status saying why there is none.
kopt_status_t findFunction(const char *api, const kopt_module_t *module,
                           const char *name,
                           const kopt::rt::PlanFunction **out) {
  if (!module || !name)
    return invalidArgument(std::string(api) +
                           ": module and function are required")
        .release();
  const kopt::rt::Plan &plan = module->module->plan();
  *out = plan.find(name);
  if (!*out)
    return kopt::rt::notFound(std::string("the module has no function '") +
                              name + "' (it has " + plan.functionList() + ")")
        .release();
  return nullptr;
}

/// The spec of a plan tensor; dims that depend on symbols are dynamic.
kopt_tensor_spec_t specOf(const kopt::rt::PlanTensor &tensor) {
  kopt_tensor_spec_t spec{};
  spec.dtype = tensor.dtype;
  spec.rank = static_cast<int32_t>(tensor.dims.size());
  for (size_t i = 0; i < tensor.dims.size(); ++i)
    spec.shape[i] = tensor.dims[i].constantValue().value_or(KOPT_DYNAMIC_DIM);
  return spec;
}

kopt_status_t tensorSpec(const char *api, const kopt_module_t *module,
                         const char *function, size_t index, bool output,
                         kopt_tensor_spec_t *out_spec) {
  if (!out_spec)
    return invalidArgument(std::string(api) + ": out_spec is required")
        .release();
  const kopt::rt::PlanFunction *found;
  if (kopt_status_t status = findFunction(api, module, function, &found))
    return status;
  const auto &tensors = output ? found->outputs : found->inputs;
  if (index >= tensors.size())
    return kopt::rt::outOfRange(std::string(api) + ": " + function + " has " +
                                std::to_string(tensors.size()) +
                                (output ? " outputs" : " inputs") +
                                ", no index " + std::to_string(index))
        .release();
  *out_spec = specOf(tensors[index]);
  return nullptr;
}

} // namespace

extern "C" {

kopt_status_t kopt_module_load(const char *artifact_path,
                               kopt_module_t **out_module) {
  if (!artifact_path || !out_module)
    return invalidArgument("kopt_module_load: artifact_path and out_module "
                           "are required")
        .release();
  *out_module = nullptr;
  return guarded("kopt_module_load", [&]() -> kopt_status_t {
    auto module = kopt::rt::CompiledModule::load(artifact_path);
    if (!module.isOk())
      return module.status().release();
    auto *handle = new kopt_module_s;
    handle->module = std::move(*module);
    *out_module = handle;
    return nullptr;
  });
}

void kopt_module_retain(kopt_module_t *module) {
  if (module)
    module->references.fetch_add(1, std::memory_order_relaxed);
}

void kopt_module_release(kopt_module_t *module) {
  if (module && module->references.fetch_sub(1, std::memory_order_acq_rel) == 1)
    delete module;
}

kopt_status_t kopt_module_bind_weights(kopt_module_t *module,
                                       kopt_weights_t *weights) {
  if (!module || !weights)
    return invalidArgument("kopt_module_bind_weights: module and weights are "
                           "required")
        .release();
  return guarded("kopt_module_bind_weights", [&]() -> kopt_status_t {
    kopt::rt::WeightSource source;
    source.lookup =
        [weights](
            const std::string &name) -> std::optional<kopt_tensor_view_t> {
      kopt_tensor_view_t view;
      kopt_status_t status = kopt_weights_lookup(weights, name.c_str(), &view);
      if (status) {
        kopt_status_free(status);
        return std::nullopt;
      }
      return view;
    };
    kopt_weights_retain(weights);
    source.keepAlive =
        std::shared_ptr<const void>(weights, [](const void *held) {
          kopt_weights_release(
              static_cast<kopt_weights_t *>(const_cast<void *>(held)));
        });
    return module->module->bindWeights(source).release();
  });
}

const char *kopt_module_default_weights(const kopt_module_t *module) {
  if (!module || module->module->plan().defaultWeights().empty())
    return nullptr;
  return module->module->plan().defaultWeights().c_str();
}

size_t kopt_module_function_count(const kopt_module_t *module) {
  return module ? module->module->plan().functions().size() : 0;
}

kopt_status_t kopt_module_function_name(const kopt_module_t *module,
                                        size_t index, const char **out_name) {
  if (!module || !out_name)
    return invalidArgument("kopt_module_function_name: module and out_name "
                           "are required")
        .release();
  const auto &functions = module->module->plan().functions();
  if (index >= functions.size())
    return kopt::rt::outOfRange("function index " + std::to_string(index) +
                                " is past the " +
                                std::to_string(functions.size()) + " functions")
        .release();
  *out_name = functions[index].name.c_str();
  return nullptr;
}

kopt_status_t
kopt_module_function_signature(const kopt_module_t *module,
                               const char *function,
                               kopt_function_signature_t *out_signature) {
  if (!out_signature)
    return invalidArgument("kopt_module_function_signature: out_signature is "
                           "required")
        .release();
  return guarded("kopt_module_function_signature", [&]() -> kopt_status_t {
    const kopt::rt::PlanFunction *found;
    if (kopt_status_t status = findFunction("kopt_module_function_signature",
                                            module, function, &found))
      return status;
    out_signature->input_count = found->inputs.size();
    out_signature->weight_count = found->weights.size();
    out_signature->output_count = found->outputs.size();
    return nullptr;
  });
}

kopt_status_t kopt_module_function_input(const kopt_module_t *module,
                                         const char *function, size_t index,
                                         kopt_tensor_spec_t *out_spec) {
  return guarded("kopt_module_function_input", [&] {
    return tensorSpec("kopt_module_function_input", module, function, index,
                      /*output=*/false, out_spec);
  });
}

kopt_status_t kopt_module_function_output(const kopt_module_t *module,
                                          const char *function, size_t index,
                                          kopt_tensor_spec_t *out_spec) {
  return guarded("kopt_module_function_output", [&] {
    return tensorSpec("kopt_module_function_output", module, function, index,
                      /*output=*/true, out_spec);
  });
}

kopt_status_t kopt_module_invoke(kopt_module_t *module, const char *function,
                                 kopt_tensor_t *const *inputs,
                                 size_t input_count,
                                 kopt_tensor_t **out_outputs,
                                 size_t output_capacity,
                                 size_t *out_output_count) {
  if (!module || !function || !out_output_count)
    return invalidArgument("kopt_module_invoke: module, function and "
                           "out_output_count are required")
        .release();
  *out_output_count = 0;
  if (input_count > 0 && !inputs)
    return invalidArgument("kopt_module_invoke: inputs is NULL but "
                           "input_count is " +
                           std::to_string(input_count))
        .release();
  if (output_capacity > 0 && !out_outputs)
    return invalidArgument("kopt_module_invoke: out_outputs is NULL but "
                           "output_capacity is " +
                           std::to_string(output_capacity))
        .release();
  return guarded("kopt_module_invoke", [&]() -> kopt_status_t {
    const kopt::rt::PlanFunction *found;
    if (kopt_status_t status =
            findFunction("kopt_module_invoke", module, function, &found))
      return status;
    if (output_capacity < found->outputs.size()) {
      *out_output_count = found->outputs.size();
      return invalidArgument(
                 std::string("kopt_module_invoke: ") + function + " returns " +
                 std::to_string(found->outputs.size()) + " output" +
                 (found->outputs.size() == 1 ? "" : "s") +
                 " but output_capacity is " + std::to_string(output_capacity))
          .release();
    }
    std::vector<const kopt::rt::HostTensor *> hostInputs;
    for (size_t i = 0; i < input_count; ++i) {
      if (!inputs[i])
        return invalidArgument(std::string(function) + ": input " +
                               std::to_string(i) + " is NULL")
            .release();
      hostInputs.push_back(&inputs[i]->tensor);
    }
    auto outputs = module->module->invoke(function, hostInputs);
    if (!outputs.isOk())
      return outputs.status().release();
    // Wrap every output before handing any out, so a failure leaks nothing.
    std::vector<std::unique_ptr<kopt_tensor_s>> handles;
    for (kopt::rt::HostTensor &output : *outputs) {
      handles.push_back(std::make_unique<kopt_tensor_s>());
      handles.back()->tensor = std::move(output);
    }
    for (size_t i = 0; i < handles.size(); ++i)
      out_outputs[i] = handles[i].release();
    *out_output_count = handles.size();
    return nullptr;
  });
}

const char *kopt_module_plan_graph_json(const kopt_module_t *module) {
  if (!module || module->module->plan().graphJson().empty())
    return nullptr;
  return module->module->plan().graphJson().c_str();
}

} // extern "C"
