//===- DType.h - Element types of runtime tensors ---------------*- C++ -*-===//
//
// kopt_dtype_t helpers: sizes, names, and the spellings used by safetensors
// and NumPy files.
//
//===----------------------------------------------------------------------===//

#ifndef KOPT_RUNTIME_DTYPE_H
#define KOPT_RUNTIME_DTYPE_H

#include "kopt/runtime/runtime.h"

#include <optional>
#include <string_view>

namespace kopt::rt {

/// Bytes per element.
size_t dtypeSize(kopt_dtype_t dtype);

/// MLIR spelling: "f32", "bf16", "f8E4M3FN", "i32", "i1", ...
std::string_view dtypeName(kopt_dtype_t dtype);

/// Parses an MLIR element type spelling.
std::optional<kopt_dtype_t> parseDTypeName(std::string_view name);

/// safetensors spelling: "F32", "BF16", "F8_E4M3", "I32", "BOOL", ...
std::string_view safetensorsDTypeName(kopt_dtype_t dtype);
std::optional<kopt_dtype_t> parseSafetensorsDType(std::string_view name);

/// Whether the dtype is a floating-point type.
bool isFloatDType(kopt_dtype_t dtype);

} // namespace kopt::rt

#endif // KOPT_RUNTIME_DTYPE_H
