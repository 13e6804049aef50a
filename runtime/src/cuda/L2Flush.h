//===- L2Flush.h - Leaving L2 cold and clean between timed runs -*- C++ -*-===//
//
// A timed run must not find its weights in L2, nor pay for the flush: a
// memset flush leaves L2 full of dirty lines whose write-back then shares
// HBM with the timed kernel (tens of MB on an H200, a large part of a
// small kernel's traffic). L2Flush instead reads a buffer larger than L2
// with a small built-in kernel, so L2 holds clean lines of it.
//
//===----------------------------------------------------------------------===//

#ifndef KOPT_RUNTIME_SRC_CUDA_L2FLUSH_H
#define KOPT_RUNTIME_SRC_CUDA_L2FLUSH_H

#include "CudaDriver.h"

namespace kopt::rt::cuda {

class L2Flush {
public:
  /// Allocates the buffer and loads the read kernel in the current context.
  static StatusOr<L2Flush> create(const Driver &d, CUdevice device,
                                  CUstream stream);
  L2Flush(L2Flush &&other) noexcept;
  L2Flush &operator=(L2Flush &&) = delete;
  ~L2Flush();

  /// Enqueues one full read of the buffer on the stream.
  Status flush();

private:
  L2Flush(const Driver &d, CUstream stream) : d_(&d), stream_(stream) {}
  const Driver *d_;
  CUstream stream_;
  CUmodule module_ = nullptr;
  CUfunction read_ = nullptr;
  CUdeviceptr buffer_ = 0, sink_ = 0;
  int blocks_ = 0;
};

} // namespace kopt::rt::cuda

#endif // KOPT_RUNTIME_SRC_CUDA_L2FLUSH_H
