//===- TensorHandle.h - What a kopt_tensor_t is -----------------*- C++ -*-===//
//
// Private to the runtime's C API sources: a reference-counted HostTensor.
//
//===----------------------------------------------------------------------===//

#ifndef KOPT_RUNTIME_SRC_TENSORHANDLE_H
#define KOPT_RUNTIME_SRC_TENSORHANDLE_H

#include "kopt/runtime/Npy.h"
#include "kopt/runtime/module.h"

#include <atomic>

struct kopt_tensor_s {
  kopt::rt::HostTensor tensor;
  std::atomic<int> references{1};
};

#endif // KOPT_RUNTIME_SRC_TENSORHANDLE_H
