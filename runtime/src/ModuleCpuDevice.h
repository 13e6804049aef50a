//===- ModuleCpuDevice.h - dlopen'd CPU artifacts and their calls -*- C++ -*-=//
//
// Private to the runtime: the shared object of a compiled CPU artifact,
// the memref descriptors of one call, and the translation of the status
// buffer the compiled code fills into a Status.
//
//===----------------------------------------------------------------------===//

#ifndef KOPT_RUNTIME_SRC_MODULECPUDEVICE_H
#define KOPT_RUNTIME_SRC_MODULECPUDEVICE_H

#include "kopt/runtime/Plan.h"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace kopt::rt {

/// The entry point of one compiled function.
using CpuEntryPoint = void (*)(void **args);

/// A shared object opened with dlopen(RTLD_NOW | RTLD_LOCAL), closed when
/// the last reference goes.
class CpuSharedObject {
public:
  static StatusOr<std::shared_ptr<CpuSharedObject>>
  open(const std::string &path);
  ~CpuSharedObject();
  CpuSharedObject(const CpuSharedObject &) = delete;
  CpuSharedObject &operator=(const CpuSharedObject &) = delete;

  /// The function `symbol`; NOT_FOUND when the object does not export it.
  StatusOr<CpuEntryPoint> resolve(const std::string &symbol) const;
  const std::string &path() const { return path_; }

private:
  CpuSharedObject(std::string path, void *handle)
      : path_(std::move(path)), handle_(handle) {}
  std::string path_;
  void *handle_;
};

/// The memref descriptors of one call, in order.
class CallFrame {
public:
  /// A contiguous row-major tensor at `data` (not written through for
  /// inputs and weights; the ABI has no const).
  void addTensor(const void *data, const std::vector<int64_t> &shape);
  /// The rank-1 i64 status buffer of 4 elements.
  void addStatus(int64_t *status);
  /// The argument array for the entry point; valid until the next add.
  void **args();

private:
  std::vector<std::vector<int64_t>> descriptors_;
  std::vector<void *> args_;
};

/// Elements of the status buffer.
constexpr size_t kStatusBufferSize = 4;

/// The error the compiled code reported in `status` (status[0] != 0), with
/// the op and location of the failing node when the plan's graph has them.
Status statusFromBuffer(const int64_t status[kStatusBufferSize],
                        const PlanFunction &function);

} // namespace kopt::rt

#endif // KOPT_RUNTIME_SRC_MODULECPUDEVICE_H
