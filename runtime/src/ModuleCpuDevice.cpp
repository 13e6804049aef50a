//===- ModuleCpuDevice.cpp - dlopen'd CPU artifacts and their calls -------===//
//
// Loading a shared object runs its constructors: an artifact is trusted to
// be the code kopt compiled, while its plan and inputs are not.
//
//===----------------------------------------------------------------------===//

#include "ModuleCpuDevice.h"

#include <cerrno>
#include <cstring>
#include <dlfcn.h>
#include <mutex>
#include <sys/stat.h>

namespace kopt::rt {
namespace {

/// dlerror() is process-wide state; serialise the calls that read it.
std::mutex &dlMutex() {
  static std::mutex mutex;
  return mutex;
}

std::string lastDlError() {
  const char *error = ::dlerror();
  return error ? error : "unknown error";
}

/// A non-null, well-aligned address for tensors without elements.
alignas(64) unsigned char emptyTensorStorage[64];

} // namespace

StatusOr<std::shared_ptr<CpuSharedObject>>
CpuSharedObject::open(const std::string &path) {
  struct stat info;
  if (::stat(path.c_str(), &info) != 0) {
    int error = errno;
    std::string message = "cannot open '" + path + "': " + std::strerror(error);
    return error == ENOENT ? notFound(message) : ioError(message);
  }
  if (!S_ISREG(info.st_mode))
    return ioError("'" + path + "' is not a regular file");
  // Without a slash dlopen would search the library path instead.
  std::string loadPath =
      path.find('/') == std::string::npos ? "./" + path : path;
  std::lock_guard<std::mutex> lock(dlMutex());
  void *handle = ::dlopen(loadPath.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle)
    return dataLoss("'" + path +
                    "' is not a loadable shared object: " + lastDlError());
  return std::shared_ptr<CpuSharedObject>(new CpuSharedObject(path, handle));
}

CpuSharedObject::~CpuSharedObject() {
  std::lock_guard<std::mutex> lock(dlMutex());
  ::dlclose(handle_);
}

StatusOr<CpuEntryPoint>
CpuSharedObject::resolve(const std::string &symbol) const {
  std::lock_guard<std::mutex> lock(dlMutex());
  ::dlerror(); // Clear any earlier error.
  void *address = ::dlsym(handle_, symbol.c_str());
  if (!address)
    return notFound("'" + path_ + "' does not export '" + symbol +
                    "' (the plan and the artifact do not match)");
  CpuEntryPoint entry;
  static_assert(sizeof(entry) == sizeof(address));
  std::memcpy(&entry, &address, sizeof(entry));
  return entry;
}

void CallFrame::addTensor(const void *data, const std::vector<int64_t> &shape) {
  size_t rank = shape.size();
  std::vector<int64_t> descriptor(3 + 2 * rank);
  void *pointer = const_cast<void *>(data ? data : emptyTensorStorage);
  static_assert(sizeof(void *) == sizeof(int64_t),
                "memref descriptors hold pointers in int64-sized fields");
  std::memcpy(&descriptor[0], &pointer, sizeof(pointer)); // allocated
  std::memcpy(&descriptor[1], &pointer, sizeof(pointer)); // aligned
  descriptor[2] = 0;                                      // offset
  int64_t stride = 1;
  for (size_t i = rank; i-- > 0;) {
    descriptor[3 + i] = shape[i];
    descriptor[3 + rank + i] = stride;
    stride *= shape[i];
  }
  descriptors_.push_back(std::move(descriptor));
}

void CallFrame::addStatus(int64_t *status) {
  addTensor(status, {static_cast<int64_t>(kStatusBufferSize)});
}

void **CallFrame::args() {
  args_.clear();
  for (std::vector<int64_t> &descriptor : descriptors_)
    args_.push_back(descriptor.data());
  return args_.data();
}

Status statusFromBuffer(const int64_t status[kStatusBufferSize],
                        const PlanFunction &function) {
  int64_t code = status[0], node = status[1], value = status[2],
          bound = status[3];
  std::string op, loc;
  if (node >= 0 && static_cast<uint64_t>(node) < function.nodes.size()) {
    op = function.nodes[node].op;
    loc = function.nodes[node].loc;
  }
  std::string who =
      op.empty() ? function.name + ": node " + std::to_string(node) : op;
  std::string at = loc.empty() ? "" : " (at " + loc + ")";
  std::string v = std::to_string(value), b = std::to_string(bound);
  // What each op reports is fixed by its lowering (codegen/lib/Conversion/
  // KoptToLinalg): the offending value and the bound it broke.
  switch (code) {
  case 1:
    if (op == "kopt.embedding")
      return outOfRange(who + ": id " + v + " is outside [0, " + b + ")" + at);
    if (op == "kopt.slice")
      return outOfRange(who + ": the slice ends at " + v +
                        ", past the dim size " + b + at);
    if (op == "kopt.topk")
      return outOfRange(who + ": k = " + v + " exceeds the dim size " + b + at);
    if (op == "kopt.attention")
      return outOfRange(who + ": kv_len " + v + " is outside [0, " + b + "]" +
                        at);
    return outOfRange(who + ": index " + v + " is outside [0, " + b + ")" + at);
  case 2:
    return outOfRange(who + ": KV cache overflow: the write ends at position " +
                      v + ", outside the cache of length " + b + at);
  case 3:
    return invalidArgument(who + ": integer division by zero" + at);
  default:
    return Status(
        KOPT_STATUS_INTERNAL,
        function.name + ": the compiled code reported unknown error code " +
            std::to_string(code) + " at node " + std::to_string(node) +
            " (values " + std::to_string(value) + ", " + std::to_string(bound) +
            ")" + at);
  }
}

} // namespace kopt::rt
