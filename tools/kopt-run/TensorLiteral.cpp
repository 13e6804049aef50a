//===- TensorLiteral.cpp - IREE-style tensor literals for kopt-run --------===//

#include "TensorLiteral.h"

#include "kopt/runtime/DType.h"
#include "kopt/runtime/Float16.h"
#include "kopt/runtime/Plan.h"

#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>

namespace kopt::run {
namespace {

using rt::HostTensor;
using rt::invalidArgument;
using rt::Status;
using rt::StatusOr;

/// The dtypes a literal may name.
bool literalDType(kopt_dtype_t dtype) {
  switch (dtype) {
  case KOPT_DTYPE_F32:
  case KOPT_DTYPE_F16:
  case KOPT_DTYPE_BF16:
  case KOPT_DTYPE_F64:
  case KOPT_DTYPE_I8:
  case KOPT_DTYPE_U8:
  case KOPT_DTYPE_I16:
  case KOPT_DTYPE_I32:
  case KOPT_DTYPE_I64:
  case KOPT_DTYPE_BOOL:
    return true;
  default:
    return false;
  }
}

template <typename T> void store(uint8_t *out, T value) {
  std::memcpy(out, &value, sizeof(T));
}

template <typename T> T load(const uint8_t *in) {
  T value;
  std::memcpy(&value, in, sizeof(T));
  return value;
}

/// Parses one value of `dtype` from `token` into `out` (dtypeSize bytes).
Status parseValue(const std::string &token, kopt_dtype_t dtype, uint8_t *out) {
  auto bad = [&](const std::string &why) {
    return invalidArgument("'" + token + "' " + why);
  };
  if (rt::isFloatDType(dtype)) {
    errno = 0;
    char *end = nullptr;
    double value = std::strtod(token.c_str(), &end);
    if (end != token.c_str() + token.size() || token.empty())
      return bad("is not a number");
    // strtod reports underflow with ERANGE too; only overflow is an error.
    if (errno == ERANGE && std::isinf(value))
      return bad("is out of range for f64");
    auto tooLarge = [&](double rounded) {
      return std::isinf(rounded) && std::isfinite(value);
    };
    switch (dtype) {
    case KOPT_DTYPE_F64:
      store(out, value);
      return Status::ok();
    case KOPT_DTYPE_F32:
      if (tooLarge(static_cast<float>(value)))
        return bad("is out of range for f32");
      store(out, static_cast<float>(value));
      return Status::ok();
    case KOPT_DTYPE_F16: {
      uint16_t bits = rt::floatToF16(static_cast<float>(value));
      if (tooLarge(rt::f16ToFloat(bits)))
        return bad("is out of range for f16");
      store(out, bits);
      return Status::ok();
    }
    case KOPT_DTYPE_BF16: {
      uint16_t bits = rt::floatToBF16(static_cast<float>(value));
      if (tooLarge(rt::bf16ToFloat(bits)))
        return bad("is out of range for bf16");
      store(out, bits);
      return Status::ok();
    }
    default:
      return bad("cannot be written as " + std::string(rt::dtypeName(dtype)));
    }
  }
  if (dtype == KOPT_DTYPE_BOOL) {
    if (token == "1" || token == "true")
      out[0] = 1;
    else if (token == "0" || token == "false")
      out[0] = 0;
    else
      return bad("is not an i1 (0, 1, true or false)");
    return Status::ok();
  }
  errno = 0;
  char *end = nullptr;
  long long value = std::strtoll(token.c_str(), &end, 10);
  if (end != token.c_str() + token.size() || token.empty())
    return bad("is not an integer");
  int64_t low, high;
  switch (dtype) {
  case KOPT_DTYPE_I8:
    low = INT8_MIN, high = INT8_MAX;
    break;
  case KOPT_DTYPE_U8:
    low = 0, high = UINT8_MAX;
    break;
  case KOPT_DTYPE_I16:
    low = INT16_MIN, high = INT16_MAX;
    break;
  case KOPT_DTYPE_I32:
    low = INT32_MIN, high = INT32_MAX;
    break;
  default:
    low = INT64_MIN, high = INT64_MAX;
    break;
  }
  if (errno == ERANGE || value < low || value > high)
    return bad("is out of range for " + std::string(rt::dtypeName(dtype)));
  switch (dtype) {
  case KOPT_DTYPE_I8:
    store(out, static_cast<int8_t>(value));
    break;
  case KOPT_DTYPE_U8:
    store(out, static_cast<uint8_t>(value));
    break;
  case KOPT_DTYPE_I16:
    store(out, static_cast<int16_t>(value));
    break;
  case KOPT_DTYPE_I32:
    store(out, static_cast<int32_t>(value));
    break;
  default:
    store(out, static_cast<int64_t>(value));
    break;
  }
  return Status::ok();
}

StatusOr<HostTensor> parseLiteral(const std::string &spec) {
  size_t equals = spec.find('=');
  std::string type = spec.substr(0, equals);
  HostTensor tensor;
  // "2x3xf32": dims, then the dtype after the last 'x'.
  std::vector<std::string> parts;
  size_t start = 0;
  while (true) {
    size_t x = type.find('x', start);
    parts.push_back(type.substr(start, x - start));
    if (x == std::string::npos)
      break;
    start = x + 1;
  }
  std::optional<kopt_dtype_t> dtype = rt::parseDTypeName(parts.back());
  if (!dtype || !literalDType(*dtype))
    return invalidArgument(
        "'" + type +
        "' does not end in a dtype (f32, f16, bf16, f64, i64, "
        "i32, i16, i8, ui8 or i1) after its dims, as in 2x3xf32=[1 2 3][4 5 "
        "6]");
  tensor.dtype = *dtype;
  parts.pop_back();
  if (parts.size() > KOPT_MAX_RANK)
    return invalidArgument("rank " + std::to_string(parts.size()) +
                           " exceeds the maximum of " +
                           std::to_string(KOPT_MAX_RANK));
  for (const std::string &part : parts) {
    bool digits = !part.empty() && part.size() <= 18 &&
                  part.find_first_not_of("0123456789") == std::string::npos;
    if (!digits)
      return invalidArgument("dim '" + part + "' of '" + type +
                             "' is not a non-negative integer");
    tensor.shape.push_back(std::stoll(part));
  }
  StatusOr<size_t> bytes =
      rt::checkedByteSize(tensor.dtype, tensor.shape, "a tensor");
  if (!bytes.isOk())
    return bytes.status();
  tensor.bytes.assign(*bytes, 0);
  if (equals == std::string::npos)
    return tensor;

  // Values: brackets, commas and whitespace are all separators.
  std::vector<std::string> tokens;
  std::string current;
  for (size_t i = equals + 1; i <= spec.size(); ++i) {
    char c = i < spec.size() ? spec[i] : ' ';
    if (c == '[' || c == ']' || c == ',' ||
        std::isspace(static_cast<unsigned char>(c))) {
      if (!current.empty())
        tokens.push_back(std::move(current));
      current.clear();
    } else {
      current += c;
    }
  }
  auto count = static_cast<size_t>(tensor.numElements());
  size_t width = rt::dtypeSize(tensor.dtype);
  if (tokens.size() == 1) {
    uint8_t value[8];
    KOPT_RETURN_IF_ERROR(parseValue(tokens[0], tensor.dtype, value));
    for (size_t i = 0; i < count; ++i)
      std::memcpy(tensor.bytes.data() + i * width, value, width);
    return tensor;
  }
  if (tokens.size() != count)
    return invalidArgument(std::to_string(tokens.size()) + " values for " +
                           std::to_string(count) + " elements of " +
                           rt::shapeText(tensor.shape) +
                           " (give every element, or one to fill them all)");
  for (size_t i = 0; i < count; ++i)
    KOPT_RETURN_IF_ERROR(
        parseValue(tokens[i], tensor.dtype, tensor.bytes.data() + i * width));
  return tensor;
}

double f8E4M3ToDouble(uint8_t bits) {
  double sign = bits & 0x80 ? -1.0 : 1.0;
  int exponent = (bits >> 3) & 0xf;
  int mantissa = bits & 0x7;
  if (exponent == 0xf && mantissa == 0x7)
    return std::numeric_limits<double>::quiet_NaN();
  if (exponent == 0)
    return sign * std::ldexp(mantissa, -9);
  return sign * std::ldexp(8 + mantissa, exponent - 10);
}

} // namespace

StatusOr<HostTensor> parseTensorSpec(const std::string &spec) {
  if (!spec.empty() && spec[0] == '@') {
    std::string path = spec.substr(1);
    if (path.empty())
      return invalidArgument("'@' needs a file name, as in @x.npy");
    return rt::readNpy(path);
  }
  return parseLiteral(spec);
}

double elementAsDouble(const HostTensor &tensor, size_t index) {
  const uint8_t *at = tensor.bytes.data() + index * rt::dtypeSize(tensor.dtype);
  switch (tensor.dtype) {
  case KOPT_DTYPE_F32:
    return load<float>(at);
  case KOPT_DTYPE_F16:
    return rt::f16ToFloat(load<uint16_t>(at));
  case KOPT_DTYPE_BF16:
    return rt::bf16ToFloat(load<uint16_t>(at));
  case KOPT_DTYPE_F64:
    return load<double>(at);
  case KOPT_DTYPE_F8E4M3:
    return f8E4M3ToDouble(at[0]);
  case KOPT_DTYPE_F8E5M2:
    return rt::f16ToFloat(static_cast<uint16_t>(at[0] << 8));
  case KOPT_DTYPE_I8:
    return load<int8_t>(at);
  case KOPT_DTYPE_U8:
    return at[0];
  case KOPT_DTYPE_I16:
    return load<int16_t>(at);
  case KOPT_DTYPE_I32:
    return load<int32_t>(at);
  case KOPT_DTYPE_I64:
    return static_cast<double>(load<int64_t>(at));
  case KOPT_DTYPE_BOOL:
    return at[0] != 0;
  }
  return 0;
}

std::string formatElement(const HostTensor &tensor, size_t index) {
  char text[64];
  if (tensor.dtype == KOPT_DTYPE_I64) {
    const uint8_t *at = tensor.bytes.data() + index * 8;
    std::snprintf(text, sizeof(text), "%lld",
                  static_cast<long long>(load<int64_t>(at)));
  } else if (rt::isFloatDType(tensor.dtype)) {
    double value = elementAsDouble(tensor, index);
    if (std::isnan(value)) // Never "-nan": the sign of a NaN means nothing.
      return "nan";
    std::snprintf(text, sizeof(text),
                  tensor.dtype == KOPT_DTYPE_F64 ? "%.16g" : "%.7g", value);
  } else {
    std::snprintf(text, sizeof(text), "%lld",
                  static_cast<long long>(elementAsDouble(tensor, index)));
  }
  return text;
}

std::string typeText(const HostTensor &tensor) {
  std::string text;
  for (int64_t dim : tensor.shape)
    text += std::to_string(dim) + "x";
  return text + std::string(rt::dtypeName(tensor.dtype));
}

std::string formatTensor(const HostTensor &tensor, int64_t maxElements) {
  std::string text = typeText(tensor) + "=";
  size_t rank = tensor.shape.size();
  if (rank == 0)
    return text + formatElement(tensor, 0);
  int64_t printed = 0;
  bool elided = false;
  // Row-major walk; every dim but the first opens a bracket per element.
  auto walk = [&](auto &&self, size_t dim, size_t offset) -> void {
    int64_t size = tensor.shape[dim];
    size_t stride = 1;
    for (size_t d = dim + 1; d < rank; ++d)
      stride *= static_cast<size_t>(tensor.shape[d]);
    for (int64_t i = 0; i < size && !elided; ++i) {
      if (dim + 1 == rank) {
        if (printed == maxElements) {
          text += i ? " ..." : "...";
          elided = true;
          return;
        }
        if (i)
          text += ' ';
        text += formatElement(tensor, offset + i);
        ++printed;
      } else {
        text += '[';
        self(self, dim + 1, offset + i * stride);
        text += ']';
      }
    }
  };
  walk(walk, 0, 0);
  return text;
}

HostTensor widenToF32(const HostTensor &tensor) {
  HostTensor wide;
  wide.dtype = KOPT_DTYPE_F32;
  wide.shape = tensor.shape;
  auto count = static_cast<size_t>(tensor.numElements());
  wide.bytes.resize(count * 4);
  for (size_t i = 0; i < count; ++i)
    store(wide.bytes.data() + i * 4,
          static_cast<float>(elementAsDouble(tensor, i)));
  return wide;
}

} // namespace kopt::run
