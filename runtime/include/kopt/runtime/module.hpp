//===- module.hpp - C++ wrappers of modules and tensors ---------*- C++ -*-===//
//
// RAII handles over kopt_tensor_t and kopt_module_t (module.h); errors come
// back as kopt::Error values, never as exceptions.
//
//   kopt::Module module;
//   if (kopt::Error error = kopt::Module::load("model.so", module)) ...
//   kopt::Weights weights;
//   kopt::Weights::open("w.safetensors", weights);
//   module.bindWeights(weights);
//   kopt::Tensor ids;
//   std::vector<int32_t> tokens = {5, 6, 7};
//   kopt::Tensor::fromData(KOPT_DTYPE_I32, {1, 3}, tokens, ids);
//   std::vector<kopt::Tensor> outputs;
//   module.invoke("forward", {ids}, outputs);
//
//===----------------------------------------------------------------------===//

#ifndef KOPT_RUNTIME_MODULE_HPP
#define KOPT_RUNTIME_MODULE_HPP

#include "kopt/runtime/module.h"
#include "kopt/runtime/runtime.hpp"

#include <string>
#include <utility>
#include <vector>

namespace kopt {

/// An owned host tensor (reference counted: copies share the data).
class Tensor {
public:
  Tensor() = default;
  ~Tensor() { kopt_tensor_release(handle_); }
  Tensor(const Tensor &other) : handle_(other.handle_) {
    kopt_tensor_retain(handle_);
  }
  Tensor(Tensor &&other) noexcept
      : handle_(std::exchange(other.handle_, nullptr)) {}
  Tensor &operator=(Tensor other) {
    std::swap(handle_, other.handle_);
    return *this;
  }

  /// A zero-filled tensor.
  static Error zeros(kopt_dtype_t dtype, const std::vector<int64_t> &shape,
                     Tensor &out) {
    kopt_tensor_t *handle = nullptr;
    Error error = toError(kopt_tensor_create(
        dtype, static_cast<int32_t>(shape.size()), shape.data(), &handle));
    if (!error)
      out = adopt(handle);
    return error;
  }
  /// A tensor holding a copy of `byteSize` bytes at `data`.
  static Error fromBytes(kopt_dtype_t dtype, const std::vector<int64_t> &shape,
                         const void *data, size_t byteSize, Tensor &out) {
    kopt_tensor_t *handle = nullptr;
    Error error = toError(
        kopt_tensor_create_copy(dtype, static_cast<int32_t>(shape.size()),
                                shape.data(), data, byteSize, &handle));
    if (!error)
      out = adopt(handle);
    return error;
  }
  /// A tensor holding a copy of `values` (their type must match `dtype`).
  template <typename T>
  static Error fromData(kopt_dtype_t dtype, const std::vector<int64_t> &shape,
                        const std::vector<T> &values, Tensor &out) {
    return fromBytes(dtype, shape, values.data(), values.size() * sizeof(T),
                     out);
  }
  /// Takes over one reference to `handle`.
  static Tensor adopt(kopt_tensor_t *handle) { return Tensor(handle); }

  explicit operator bool() const { return handle_ != nullptr; }
  kopt_dtype_t dtype() const { return kopt_tensor_dtype(handle_); }
  std::vector<int64_t> shape() const {
    const int64_t *dims = kopt_tensor_shape(handle_);
    return dims ? std::vector<int64_t>(dims, dims + kopt_tensor_rank(handle_))
                : std::vector<int64_t>();
  }
  int64_t elementCount() const { return kopt_tensor_element_count(handle_); }
  size_t byteSize() const { return kopt_tensor_byte_size(handle_); }
  void *data() const { return kopt_tensor_data(handle_); }
  /// The elements as `T` (whose size must match the dtype's).
  template <typename T> std::vector<T> values() const {
    const T *begin = static_cast<const T *>(data());
    return begin ? std::vector<T>(begin, begin + byteSize() / sizeof(T))
                 : std::vector<T>();
  }
  kopt_tensor_t *get() const { return handle_; }

private:
  explicit Tensor(kopt_tensor_t *handle) : handle_(handle) {}
  kopt_tensor_t *handle_ = nullptr;
};

/// A loaded compiled module.
class Module {
public:
  Module() = default;
  ~Module() { kopt_module_release(handle_); }
  Module(const Module &other) : handle_(other.handle_) {
    kopt_module_retain(handle_);
  }
  Module(Module &&other) noexcept
      : handle_(std::exchange(other.handle_, nullptr)) {}
  Module &operator=(Module other) {
    std::swap(handle_, other.handle_);
    return *this;
  }

  static Error load(const std::string &artifactPath, Module &out) {
    kopt_module_t *handle = nullptr;
    Error error = toError(kopt_module_load(artifactPath.c_str(), &handle));
    if (!error)
      out = Module(handle);
    return error;
  }

  Error bindWeights(const Weights &weights) {
    return toError(kopt_module_bind_weights(handle_, weights.get()));
  }
  /// The plan's default checkpoint, or "" when it names none.
  std::string defaultWeights() const {
    const char *path = kopt_module_default_weights(handle_);
    return path ? path : "";
  }

  std::vector<std::string> functionNames() const {
    std::vector<std::string> names;
    for (size_t i = 0, e = kopt_module_function_count(handle_); i < e; ++i) {
      const char *name = nullptr;
      if (kopt_status_t status = kopt_module_function_name(handle_, i, &name))
        kopt_status_free(status);
      else
        names.emplace_back(name);
    }
    return names;
  }
  Error signature(const std::string &function,
                  kopt_function_signature_t &out) const {
    return toError(
        kopt_module_function_signature(handle_, function.c_str(), &out));
  }
  Error inputSpec(const std::string &function, size_t index,
                  kopt_tensor_spec_t &out) const {
    return toError(
        kopt_module_function_input(handle_, function.c_str(), index, &out));
  }
  Error outputSpec(const std::string &function, size_t index,
                   kopt_tensor_spec_t &out) const {
    return toError(
        kopt_module_function_output(handle_, function.c_str(), index, &out));
  }

  /// Calls `function`; `outputs` receives its results.
  Error invoke(const std::string &function, const std::vector<Tensor> &inputs,
               std::vector<Tensor> &outputs) const {
    std::vector<kopt_tensor_t *> handles;
    for (const Tensor &input : inputs)
      handles.push_back(input.get());
    kopt_function_signature_t signature{};
    if (Error error = this->signature(function, signature))
      return error;
    std::vector<kopt_tensor_t *> results(signature.output_count);
    size_t count = 0;
    Error error = toError(kopt_module_invoke(
        handle_, function.c_str(), handles.data(), handles.size(),
        results.data(), results.size(), &count));
    outputs.clear();
    if (!error)
      for (size_t i = 0; i < count; ++i)
        outputs.push_back(Tensor::adopt(results[i]));
    return error;
  }

  /// The plan's reference graph as JSON, or "" when it has none.
  std::string graphJson() const {
    const char *json = kopt_module_plan_graph_json(handle_);
    return json ? json : "";
  }
  kopt_module_t *get() const { return handle_; }

private:
  explicit Module(kopt_module_t *handle) : handle_(handle) {}
  kopt_module_t *handle_ = nullptr;
};

} // namespace kopt

#endif // KOPT_RUNTIME_MODULE_HPP
