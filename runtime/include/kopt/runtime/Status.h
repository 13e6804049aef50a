//===- Status.h - Status and StatusOr for the kopt runtime ------*- C++ -*-===//
//
// The C++ side of kopt_status_t: a code plus a message, and StatusOr<T> for
// functions that return a value or a failure. No exceptions cross this API.
//
//===----------------------------------------------------------------------===//

#ifndef KOPT_RUNTIME_STATUS_H
#define KOPT_RUNTIME_STATUS_H

#include "kopt/runtime/runtime.h"

#include <cassert>
#include <optional>
#include <string>
#include <utility>

namespace kopt::rt {

class [[nodiscard]] Status {
public:
  Status() = default;
  Status(kopt_status_code_t code, std::string message)
      : code_(code), message_(std::move(message)) {}

  static Status ok() { return Status(); }

  bool isOk() const { return code_ == KOPT_STATUS_OK; }
  kopt_status_code_t code() const { return code_; }
  const std::string &message() const { return message_; }

  /// Prefixes the message with context ("loading w.safetensors: ...").
  Status withContext(const std::string &context) const {
    if (isOk())
      return *this;
    return Status(code_, context + ": " + message_);
  }

  /// Transfers to the C API (nullptr when OK).
  kopt_status_t release() const;

private:
  kopt_status_code_t code_ = KOPT_STATUS_OK;
  std::string message_;
};

inline Status invalidArgument(std::string message) {
  return Status(KOPT_STATUS_INVALID_ARGUMENT, std::move(message));
}
inline Status notFound(std::string message) {
  return Status(KOPT_STATUS_NOT_FOUND, std::move(message));
}
inline Status outOfRange(std::string message) {
  return Status(KOPT_STATUS_OUT_OF_RANGE, std::move(message));
}
inline Status dataLoss(std::string message) {
  return Status(KOPT_STATUS_DATA_LOSS, std::move(message));
}
inline Status ioError(std::string message) {
  return Status(KOPT_STATUS_IO_ERROR, std::move(message));
}
inline Status unimplemented(std::string message) {
  return Status(KOPT_STATUS_UNIMPLEMENTED, std::move(message));
}

/// A value or the Status that explains why there is none.
template <typename T>
class [[nodiscard]] StatusOr {
public:
  StatusOr(T value) : value_(std::move(value)) {}
  StatusOr(Status status) : status_(std::move(status)) {
    assert(!status_.isOk() && "StatusOr needs a value or an error");
  }

  bool isOk() const { return value_.has_value(); }
  const Status &status() const { return status_; }
  T &value() { return *value_; }
  const T &value() const { return *value_; }
  T &operator*() { return *value_; }
  T *operator->() { return &*value_; }
  const T *operator->() const { return &*value_; }

private:
  Status status_;
  std::optional<T> value_;
};

} // namespace kopt::rt

/// Returns the status of `expr` from the enclosing function if it failed.
#define KOPT_RETURN_IF_ERROR(expr)                                             \
  do {                                                                         \
    ::kopt::rt::Status kopt_status_ = (expr);                                  \
    if (!kopt_status_.isOk())                                                  \
      return kopt_status_;                                                     \
  } while (false)

#endif // KOPT_RUNTIME_STATUS_H
