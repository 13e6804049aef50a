//===- Status.cpp - Status and the C status API ---------------------------===//

#include "kopt/runtime/Status.h"

#include <new>

struct kopt_status_s {
  kopt_status_code_t code;
  std::string message;
};

/// Returned when even the status cannot be allocated; never freed.
static kopt_status_s outOfMemoryStatus{KOPT_STATUS_RESOURCE_EXHAUSTED,
                                       "out of memory"};

namespace kopt::rt {

kopt_status_t Status::release() const {
  if (isOk())
    return nullptr;
  auto *status = new (std::nothrow) kopt_status_s{code_, message_};
  return status ? status : &outOfMemoryStatus;
}

} // namespace kopt::rt

extern "C" {

kopt_status_code_t kopt_status_code(kopt_status_t status) {
  return status ? status->code : KOPT_STATUS_OK;
}

const char *kopt_status_message(kopt_status_t status) {
  return status ? status->message.c_str() : "";
}

void kopt_status_free(kopt_status_t status) {
  if (status != &outOfMemoryStatus)
    delete status;
}

const char *kopt_status_code_name(kopt_status_code_t code) {
  switch (code) {
  case KOPT_STATUS_OK:
    return "OK";
  case KOPT_STATUS_INVALID_ARGUMENT:
    return "INVALID_ARGUMENT";
  case KOPT_STATUS_NOT_FOUND:
    return "NOT_FOUND";
  case KOPT_STATUS_OUT_OF_RANGE:
    return "OUT_OF_RANGE";
  case KOPT_STATUS_DATA_LOSS:
    return "DATA_LOSS";
  case KOPT_STATUS_UNAVAILABLE:
    return "UNAVAILABLE";
  case KOPT_STATUS_UNIMPLEMENTED:
    return "UNIMPLEMENTED";
  case KOPT_STATUS_RESOURCE_EXHAUSTED:
    return "RESOURCE_EXHAUSTED";
  case KOPT_STATUS_IO_ERROR:
    return "IO_ERROR";
  case KOPT_STATUS_INTERNAL:
    return "INTERNAL";
  }
  return "UNKNOWN";
}

} // extern "C"
