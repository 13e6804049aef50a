//===- Npy.h - NumPy .npy files ---------------------------------*- C++ -*-===//
//
// Reads and writes NumPy's .npy format (versions 1.0 to 3.0), little-endian,
// C order, for the dtypes kopt tensors use. Every header field is validated.
//
//===----------------------------------------------------------------------===//

#ifndef KOPT_RUNTIME_NPY_H
#define KOPT_RUNTIME_NPY_H

#include "kopt/runtime/Status.h"

#include <cstdint>
#include <string>
#include <vector>

namespace kopt::rt {

/// A host tensor: dtype, shape and its bytes in C order.
struct HostTensor {
  kopt_dtype_t dtype = KOPT_DTYPE_F32;
  std::vector<int64_t> shape;
  std::vector<uint8_t> bytes;

  int64_t numElements() const;
};

/// Parses .npy bytes; `what` names the source in errors.
StatusOr<HostTensor> parseNpy(const uint8_t *data, size_t size,
                              const std::string &what);
StatusOr<HostTensor> readNpy(const std::string &path);

/// The .npy encoding of `tensor` (bf16 and f8 have no NumPy dtype: error).
StatusOr<std::vector<uint8_t>> encodeNpy(const HostTensor &tensor);
Status writeNpy(const std::string &path, const HostTensor &tensor);

} // namespace kopt::rt

#endif // KOPT_RUNTIME_NPY_H
