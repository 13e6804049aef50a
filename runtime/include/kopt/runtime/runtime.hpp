//===- runtime.hpp - Thin C++ wrapper over the kopt C API -------*- C++ -*-===//
//
// RAII handles over kopt_* objects; errors come back as kopt::Error values
// (code + message), never as exceptions.
//
//===----------------------------------------------------------------------===//

#ifndef KOPT_RUNTIME_RUNTIME_HPP
#define KOPT_RUNTIME_RUNTIME_HPP

#include "kopt/runtime/runtime.h"

#include <string>
#include <utility>

namespace kopt {

/// A failed call: its code and message.
struct Error {
  kopt_status_code_t code = KOPT_STATUS_OK;
  std::string message;
  explicit operator bool() const { return code != KOPT_STATUS_OK; }
};

/// Takes ownership of a C status.
inline Error toError(kopt_status_t status) {
  Error error{kopt_status_code(status), kopt_status_message(status)};
  kopt_status_free(status);
  return error;
}

/// A loaded checkpoint.
class Weights {
public:
  Weights() = default;
  ~Weights() { kopt_weights_release(handle_); }
  Weights(const Weights &other) : handle_(other.handle_) {
    kopt_weights_retain(handle_);
  }
  Weights &operator=(Weights other) {
    std::swap(handle_, other.handle_);
    return *this;
  }

  static Error open(const std::string &path, Weights &out) {
    kopt_weights_t *handle = nullptr;
    Error error = toError(kopt_weights_open(path.c_str(), &handle));
    if (!error)
      out = Weights(handle);
    return error;
  }

  size_t size() const { return kopt_weights_count(handle_); }
  Error lookup(const std::string &name, kopt_tensor_view_t &view) const {
    return toError(kopt_weights_lookup(handle_, name.c_str(), &view));
  }
  kopt_weights_t *get() const { return handle_; }

private:
  explicit Weights(kopt_weights_t *handle) : handle_(handle) {}
  kopt_weights_t *handle_ = nullptr;
};

} // namespace kopt

#endif // KOPT_RUNTIME_RUNTIME_HPP
