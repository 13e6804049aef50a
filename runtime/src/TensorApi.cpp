//===- TensorApi.cpp - C API of owned host tensors ------------------------===//

#include "TensorHandle.h"
#include "kopt/runtime/Plan.h"

#include <algorithm>
#include <cstring>
#include <new>

using kopt::rt::invalidArgument;
using kopt::rt::Status;

namespace {

/// Builds a tensor of `dtype` and `shape`, zero-filled or copied from `data`.
kopt_status_t createTensor(const char *api, kopt_dtype_t dtype, int32_t rank,
                           const int64_t *shape, const void *data,
                           size_t byteSize, bool copy,
                           kopt_tensor_t **out_tensor) {
  if (!out_tensor)
    return invalidArgument(std::string(api) + ": out_tensor is required")
        .release();
  *out_tensor = nullptr;
  if (rank < 0 || rank > KOPT_MAX_RANK)
    return invalidArgument(std::string(api) + ": rank " + std::to_string(rank) +
                           " is outside [0, " + std::to_string(KOPT_MAX_RANK) +
                           "]")
        .release();
  if (rank > 0 && !shape)
    return invalidArgument(std::string(api) + ": shape is required for rank " +
                           std::to_string(rank))
        .release();
  try {
    auto handle = std::make_unique<kopt_tensor_s>();
    kopt::rt::HostTensor &tensor = handle->tensor;
    tensor.dtype = dtype;
    tensor.shape.assign(shape, shape + rank);
    kopt::rt::StatusOr<size_t> bytes = kopt::rt::checkedByteSize(
        dtype, tensor.shape, std::string(api) + ": tensor");
    if (!bytes.isOk())
      return bytes.status().release();
    if (copy) {
      if (byteSize != *bytes)
        return invalidArgument(
                   std::string(api) + ": " + std::to_string(byteSize) +
                   " bytes given but a " + kopt_dtype_name(dtype) +
                   " tensor of shape " + kopt::rt::shapeText(tensor.shape) +
                   " needs " + std::to_string(*bytes))
            .release();
      if (*bytes != 0 && !data)
        return invalidArgument(std::string(api) + ": data is required")
            .release();
      const auto *begin = static_cast<const uint8_t *>(data);
      if (*bytes != 0)
        tensor.bytes.assign(begin, begin + *bytes);
    } else {
      tensor.bytes.assign(*bytes, 0);
    }
    *out_tensor = handle.release();
    return nullptr;
  } catch (const std::bad_alloc &) {
    return Status(KOPT_STATUS_RESOURCE_EXHAUSTED,
                  std::string(api) + ": out of memory")
        .release();
  } catch (const std::exception &error) {
    return Status(KOPT_STATUS_INTERNAL, std::string(api) + ": " + error.what())
        .release();
  }
}

} // namespace

extern "C" {

kopt_status_t kopt_tensor_create(kopt_dtype_t dtype, int32_t rank,
                                 const int64_t *shape,
                                 kopt_tensor_t **out_tensor) {
  return createTensor("kopt_tensor_create", dtype, rank, shape, nullptr, 0,
                      /*copy=*/false, out_tensor);
}

kopt_status_t kopt_tensor_create_copy(kopt_dtype_t dtype, int32_t rank,
                                      const int64_t *shape, const void *data,
                                      size_t byte_size,
                                      kopt_tensor_t **out_tensor) {
  return createTensor("kopt_tensor_create_copy", dtype, rank, shape, data,
                      byte_size, /*copy=*/true, out_tensor);
}

void kopt_tensor_retain(kopt_tensor_t *tensor) {
  if (tensor)
    tensor->references.fetch_add(1, std::memory_order_relaxed);
}

void kopt_tensor_release(kopt_tensor_t *tensor) {
  if (tensor && tensor->references.fetch_sub(1, std::memory_order_acq_rel) == 1)
    delete tensor;
}

kopt_dtype_t kopt_tensor_dtype(const kopt_tensor_t *tensor) {
  return tensor ? tensor->tensor.dtype : KOPT_DTYPE_F32;
}

int32_t kopt_tensor_rank(const kopt_tensor_t *tensor) {
  return tensor ? static_cast<int32_t>(tensor->tensor.shape.size()) : 0;
}

const int64_t *kopt_tensor_shape(const kopt_tensor_t *tensor) {
  if (!tensor || tensor->tensor.shape.empty())
    return nullptr;
  return tensor->tensor.shape.data();
}

int64_t kopt_tensor_element_count(const kopt_tensor_t *tensor) {
  return tensor ? tensor->tensor.numElements() : 0;
}

size_t kopt_tensor_byte_size(const kopt_tensor_t *tensor) {
  return tensor ? tensor->tensor.bytes.size() : 0;
}

void *kopt_tensor_data(kopt_tensor_t *tensor) {
  if (!tensor || tensor->tensor.bytes.empty())
    return nullptr;
  return tensor->tensor.bytes.data();
}

kopt_status_t kopt_tensor_view(const kopt_tensor_t *tensor,
                               kopt_tensor_view_t *out_view) {
  if (!tensor || !out_view)
    return invalidArgument("kopt_tensor_view: tensor and out_view are "
                           "required")
        .release();
  kopt_tensor_view_t view{};
  view.dtype = tensor->tensor.dtype;
  view.rank = static_cast<int32_t>(tensor->tensor.shape.size());
  std::copy(tensor->tensor.shape.begin(), tensor->tensor.shape.end(),
            view.shape);
  view.data =
      tensor->tensor.bytes.empty() ? nullptr : tensor->tensor.bytes.data();
  view.byte_size = tensor->tensor.bytes.size();
  *out_view = view;
  return nullptr;
}

} // extern "C"
