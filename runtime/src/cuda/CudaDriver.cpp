//===- CudaDriver.cpp - The CUDA driver API, loaded at run time -----------===//

#include "CudaDriver.h"

#include <dlfcn.h>

#include <mutex>

namespace kopt::rt::cuda {
namespace {

struct Loaded {
  Driver table{};
  Status status;
};

Loaded load() {
  Loaded loaded;
  void *handle = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    const char *why = dlerror();
    loaded.status = Status(
        KOPT_STATUS_UNAVAILABLE,
        std::string("no CUDA driver: cannot load libcuda.so.1") +
            (why ? std::string(" (") + why + ")" : ""));
    return loaded;
  }
  Driver &d = loaded.table;
  std::string missing;
  auto resolve = [&](auto &slot, const char *name) {
    void *symbol = dlsym(handle, name);
    if (!symbol && missing.empty())
      missing = name;
    slot = reinterpret_cast<std::remove_reference_t<decltype(slot)>>(symbol);
  };
  resolve(d.cuInit, "cuInit");
  resolve(d.cuDeviceGetCount, "cuDeviceGetCount");
  resolve(d.cuDeviceGet, "cuDeviceGet");
  resolve(d.cuDeviceGetName, "cuDeviceGetName");
  resolve(d.cuDeviceGetAttribute, "cuDeviceGetAttribute");
  resolve(d.cuDriverGetVersion, "cuDriverGetVersion");
  resolve(d.cuDevicePrimaryCtxRetain, "cuDevicePrimaryCtxRetain");
  resolve(d.cuDevicePrimaryCtxRelease, "cuDevicePrimaryCtxRelease_v2");
  resolve(d.cuCtxSetCurrent, "cuCtxSetCurrent");
  resolve(d.cuModuleLoadDataEx, "cuModuleLoadDataEx");
  resolve(d.cuModuleUnload, "cuModuleUnload");
  resolve(d.cuModuleGetFunction, "cuModuleGetFunction");
  resolve(d.cuFuncSetAttribute, "cuFuncSetAttribute");
  resolve(d.cuMemAlloc, "cuMemAlloc_v2");
  resolve(d.cuMemFree, "cuMemFree_v2");
  resolve(d.cuMemcpyHtoDAsync, "cuMemcpyHtoDAsync_v2");
  resolve(d.cuMemcpyDtoHAsync, "cuMemcpyDtoHAsync_v2");
  resolve(d.cuMemsetD8Async, "cuMemsetD8Async");
  resolve(d.cuLaunchKernel, "cuLaunchKernel");
  d.cuLaunchKernelEx = reinterpret_cast<decltype(d.cuLaunchKernelEx)>(
      dlsym(handle, "cuLaunchKernelEx"));
  resolve(d.cuStreamCreate, "cuStreamCreate");
  resolve(d.cuStreamDestroy, "cuStreamDestroy_v2");
  resolve(d.cuStreamSynchronize, "cuStreamSynchronize");
  resolve(d.cuEventCreate, "cuEventCreate");
  resolve(d.cuEventDestroy, "cuEventDestroy_v2");
  resolve(d.cuEventRecord, "cuEventRecord");
  resolve(d.cuEventSynchronize, "cuEventSynchronize");
  resolve(d.cuEventElapsedTime, "cuEventElapsedTime");
  resolve(d.cuStreamBeginCapture, "cuStreamBeginCapture_v2");
  resolve(d.cuStreamEndCapture, "cuStreamEndCapture");
  resolve(d.cuGraphInstantiateWithFlags, "cuGraphInstantiateWithFlags");
  resolve(d.cuGraphLaunch, "cuGraphLaunch");
  resolve(d.cuGraphExecDestroy, "cuGraphExecDestroy");
  resolve(d.cuGraphDestroy, "cuGraphDestroy");
  resolve(d.cuGetErrorName, "cuGetErrorName");
  resolve(d.cuGetErrorString, "cuGetErrorString");
  if (!missing.empty()) {
    loaded.status = Status(KOPT_STATUS_UNAVAILABLE,
                           "the CUDA driver lacks '" + missing +
                               "' (too old a driver?)");
    return loaded;
  }
  if (CUresult result = d.cuInit(0); result != 0) {
    const char *name = nullptr;
    d.cuGetErrorName(result, &name);
    loaded.status = Status(KOPT_STATUS_UNAVAILABLE,
                           std::string("no usable CUDA GPU: cuInit failed: ") +
                               (name ? name : "CUDA error") + " (" +
                               std::to_string(result) + ")");
  }
  return loaded;
}

} // namespace

StatusOr<const Driver *> driver() {
  static Loaded loaded = load();
  if (!loaded.status.isOk())
    return loaded.status;
  return &loaded.table;
}

Status check(CUresult result, const std::string &what) {
  if (result == 0)
    return Status::ok();
  // Any call that returned an error came through the loaded driver.
  const char *name = nullptr, *description = nullptr;
  if (StatusOr<const Driver *> d = driver(); d.isOk()) {
    (*d)->cuGetErrorName(result, &name);
    (*d)->cuGetErrorString(result, &description);
  }
  std::string message = what + " failed: " + (name ? name : "CUDA error") +
                        " (" + std::to_string(result) + ")" +
                        (description ? std::string(": ") + description : "");
  // 100: no device; 2: out of memory.
  kopt_status_code_t code = result == 100  ? KOPT_STATUS_UNAVAILABLE
                            : result == 2  ? KOPT_STATUS_RESOURCE_EXHAUSTED
                                           : KOPT_STATUS_INTERNAL;
  return Status(code, message);
}

} // namespace kopt::rt::cuda
