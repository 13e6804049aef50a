//===- DType.cpp - Element types of runtime tensors -----------------------===//

#include "kopt/runtime/DType.h"

namespace kopt::rt {
namespace {

struct DTypeInfo {
  kopt_dtype_t dtype;
  size_t size;
  std::string_view mlirName;
  std::string_view safetensorsName;
  bool isFloat;
};

constexpr DTypeInfo kDTypes[] = {
    {KOPT_DTYPE_F32, 4, "f32", "F32", true},
    {KOPT_DTYPE_F16, 2, "f16", "F16", true},
    {KOPT_DTYPE_BF16, 2, "bf16", "BF16", true},
    {KOPT_DTYPE_F64, 8, "f64", "F64", true},
    {KOPT_DTYPE_F8E4M3, 1, "f8E4M3FN", "F8_E4M3", true},
    {KOPT_DTYPE_F8E5M2, 1, "f8E5M2", "F8_E5M2", true},
    {KOPT_DTYPE_I8, 1, "i8", "I8", false},
    {KOPT_DTYPE_U8, 1, "ui8", "U8", false},
    {KOPT_DTYPE_I16, 2, "i16", "I16", false},
    {KOPT_DTYPE_I32, 4, "i32", "I32", false},
    {KOPT_DTYPE_I64, 8, "i64", "I64", false},
    {KOPT_DTYPE_BOOL, 1, "i1", "BOOL", false},
};

const DTypeInfo *find(kopt_dtype_t dtype) {
  for (const DTypeInfo &info : kDTypes)
    if (info.dtype == dtype)
      return &info;
  return nullptr;
}

} // namespace

size_t dtypeSize(kopt_dtype_t dtype) {
  const DTypeInfo *info = find(dtype);
  return info ? info->size : 0;
}

std::string_view dtypeName(kopt_dtype_t dtype) {
  const DTypeInfo *info = find(dtype);
  return info ? info->mlirName : "unknown";
}

std::optional<kopt_dtype_t> parseDTypeName(std::string_view name) {
  for (const DTypeInfo &info : kDTypes)
    if (info.mlirName == name)
      return info.dtype;
  return std::nullopt;
}

std::string_view safetensorsDTypeName(kopt_dtype_t dtype) {
  const DTypeInfo *info = find(dtype);
  return info ? info->safetensorsName : "unknown";
}

std::optional<kopt_dtype_t> parseSafetensorsDType(std::string_view name) {
  for (const DTypeInfo &info : kDTypes)
    if (info.safetensorsName == name)
      return info.dtype;
  return std::nullopt;
}

bool isFloatDType(kopt_dtype_t dtype) {
  const DTypeInfo *info = find(dtype);
  return info && info->isFloat;
}

} // namespace kopt::rt

extern "C" {
size_t kopt_dtype_size(kopt_dtype_t dtype) { return kopt::rt::dtypeSize(dtype); }
const char *kopt_dtype_name(kopt_dtype_t dtype) {
  return kopt::rt::dtypeName(dtype).data();
}
} // extern "C"
