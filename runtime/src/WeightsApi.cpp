//===- WeightsApi.cpp - C API over WeightSet ------------------------------===//

#include "kopt/runtime/Safetensors.h"

#include <atomic>
#include <new>

struct kopt_weights_s {
  std::shared_ptr<kopt::rt::WeightSet> set;
  std::atomic<int> references{1};
};

using kopt::rt::invalidArgument;
using kopt::rt::Status;

extern "C" {

kopt_status_t kopt_weights_open(const char *path,
                                 kopt_weights_t **out_weights) {
  if (!path || !out_weights)
    return invalidArgument("kopt_weights_open: path and out_weights are "
                           "required")
        .release();
  *out_weights = nullptr;
  try {
    auto set = kopt::rt::WeightSet::open(path);
    if (!set.isOk())
      return set.status().release();
    auto *weights = new kopt_weights_s;
    weights->set = std::move(*set);
    *out_weights = weights;
    return nullptr;
  } catch (const std::bad_alloc &) {
    return Status(KOPT_STATUS_RESOURCE_EXHAUSTED,
                  std::string("out of memory loading '") + path + "'")
        .release();
  } catch (const std::exception &error) {
    return Status(KOPT_STATUS_INTERNAL,
                  std::string("loading '") + path + "': " + error.what())
        .release();
  }
}

void kopt_weights_retain(kopt_weights_t *weights) {
  if (weights)
    weights->references.fetch_add(1, std::memory_order_relaxed);
}

void kopt_weights_release(kopt_weights_t *weights) {
  if (weights && weights->references.fetch_sub(1, std::memory_order_acq_rel) == 1)
    delete weights;
}

size_t kopt_weights_count(const kopt_weights_t *weights) {
  return weights ? weights->set->names().size() : 0;
}

kopt_status_t kopt_weights_name(const kopt_weights_t *weights, size_t index,
                                const char **out_name) {
  if (!weights || !out_name)
    return invalidArgument("kopt_weights_name: weights and out_name are "
                           "required")
        .release();
  const auto &names = weights->set->names();
  if (index >= names.size())
    return Status(KOPT_STATUS_OUT_OF_RANGE,
                  "weight index " + std::to_string(index) + " is past the " +
                      std::to_string(names.size()) + " tensors")
        .release();
  *out_name = names[index].c_str();
  return nullptr;
}

kopt_status_t kopt_weights_lookup(const kopt_weights_t *weights,
                                  const char *name,
                                  kopt_tensor_view_t *out_view) {
  if (!weights || !name || !out_view)
    return invalidArgument("kopt_weights_lookup: weights, name and out_view "
                           "are required")
        .release();
  const kopt::rt::TensorEntry *entry = weights->set->lookup(name);
  if (!entry)
    return kopt::rt::notFound(std::string("weight '") + name +
                              "' is not in the checkpoint")
        .release();
  *out_view = entry->view();
  return nullptr;
}

} // extern "C"
