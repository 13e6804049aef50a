//===- Tensor.cpp - Values, dtype rounding and shapes of the evaluator ----===//
//
// The reference evaluator's value type: rounding a double to an element
// type the way a PyTorch cast does, decoding and encoding little-endian
// tensor bytes, and the shape arithmetic (element counts, strides, NumPy
// broadcasting) the kernels share.
//
//===----------------------------------------------------------------------===//

#include "Kernels.h"
#include "kopt/runtime/Quantization.h"

#include "kopt/runtime/DType.h"
#include "kopt/runtime/Float16.h"

#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>

namespace kopt::rt::reference {
namespace {

/// Truncates toward zero and wraps into a `bits`-wide integer (signed or
/// not), as a C++ integer conversion of the truncated value does; NaN,
/// infinities and magnitudes of 2^63 and more give the type's minimum (the
/// x86 "integer indefinite" value PyTorch's CPU casts produce).
double wrapInteger(double value, int bits, bool isSigned) {
  double minimum = isSigned ? -std::ldexp(1.0, bits - 1) : 0.0;
  if (!std::isfinite(value))
    return minimum;
  double truncated = std::trunc(value);
  double limit = isSigned ? std::ldexp(1.0, bits - 1) : std::ldexp(1.0, bits);
  if (truncated >= minimum && truncated < limit)
    return truncated;
  if (!(std::fabs(truncated) < std::ldexp(1.0, 63)))
    return minimum;
  uint64_t wrapped = static_cast<uint64_t>(static_cast<int64_t>(truncated));
  if (bits < 64)
    wrapped &= (uint64_t(1) << bits) - 1;
  if (isSigned && bits < 64 && (wrapped >> (bits - 1)) & 1)
    return static_cast<double>(wrapped) - std::ldexp(1.0, bits);
  return static_cast<double>(wrapped);
}

template <typename T> T readLE(const uint8_t *bytes) {
  T value;
  std::memcpy(&value, bytes, sizeof(T));
  return value;
}

template <typename T> void writeLE(uint8_t *bytes, T value) {
  std::memcpy(bytes, &value, sizeof(T));
}

} // namespace

int64_t Value::numElements() const {
  int64_t count = 1;
  for (int64_t dim : shape)
    count *= dim;
  return count;
}

double roundToDType(double value, kopt_dtype_t dtype) {
  switch (dtype) {
  case KOPT_DTYPE_F64:
    return value;
  case KOPT_DTYPE_F32:
    return static_cast<double>(static_cast<float>(value));
  case KOPT_DTYPE_F16:
    return f16ToFloat(floatToF16(static_cast<float>(value)));
  case KOPT_DTYPE_BF16:
    return bf16ToFloat(floatToBF16(static_cast<float>(value)));
  case KOPT_DTYPE_BOOL:
    return value != 0.0 ? 1.0 : 0.0;
  case KOPT_DTYPE_I8:
    return wrapInteger(value, 8, true);
  case KOPT_DTYPE_U8:
    return wrapInteger(value, 8, false);
  case KOPT_DTYPE_F8E4M3:
    return quant::e4m3ToFloat(quant::floatToE4M3(static_cast<float>(value)));
  case KOPT_DTYPE_I16:
    return wrapInteger(value, 16, true);
  case KOPT_DTYPE_I32:
    return wrapInteger(value, 32, true);
  case KOPT_DTYPE_I64:
    return wrapInteger(value, 64, true);
  default:
    return value;
  }
}

bool isSupportedDType(kopt_dtype_t dtype) {
  switch (dtype) {
  case KOPT_DTYPE_F32:
  case KOPT_DTYPE_F16:
  case KOPT_DTYPE_BF16:
  case KOPT_DTYPE_F64:
  case KOPT_DTYPE_BOOL:
  case KOPT_DTYPE_I8:
  case KOPT_DTYPE_U8:
  case KOPT_DTYPE_I16:
  case KOPT_DTYPE_I32:
  case KOPT_DTYPE_I64:
  case KOPT_DTYPE_F8E4M3:
    return true;
  default:
    return false;
  }
}

Status decodeElements(kopt_dtype_t dtype, const uint8_t *bytes, size_t count,
                      std::vector<double> &out) {
  if (!isSupportedDType(dtype))
    return unimplemented("the reference evaluator does not support dtype " +
                         std::string(dtypeName(dtype)));
  size_t size = dtypeSize(dtype);
  out.resize(count);
  for (size_t i = 0; i < count; ++i) {
    const uint8_t *p = bytes + i * size;
    double v = 0.0;
    switch (dtype) {
    case KOPT_DTYPE_F32:
      v = readLE<float>(p);
      break;
    case KOPT_DTYPE_F16:
      v = f16ToFloat(readLE<uint16_t>(p));
      break;
    case KOPT_DTYPE_BF16:
      v = bf16ToFloat(readLE<uint16_t>(p));
      break;
    case KOPT_DTYPE_F64:
      v = readLE<double>(p);
      break;
    case KOPT_DTYPE_BOOL:
      v = p[0] != 0 ? 1.0 : 0.0;
      break;
    case KOPT_DTYPE_I8:
      v = readLE<int8_t>(p);
      break;
    case KOPT_DTYPE_U8:
      v = p[0];
      break;
    case KOPT_DTYPE_F8E4M3:
      v = quant::e4m3ToFloat(p[0]);
      break;
    case KOPT_DTYPE_I16:
      v = readLE<int16_t>(p);
      break;
    case KOPT_DTYPE_I32:
      v = readLE<int32_t>(p);
      break;
    case KOPT_DTYPE_I64:
      v = static_cast<double>(readLE<int64_t>(p));
      break;
    default:
      break;
    }
    out[i] = v;
  }
  return Status::ok();
}

StatusOr<Value> toValue(const HostTensor &tensor) {
  if (!isSupportedDType(tensor.dtype))
    return unimplemented("the reference evaluator does not support dtype " +
                         std::string(dtypeName(tensor.dtype)));
  std::optional<int64_t> count = checkedElementCount(tensor.shape);
  if (!count)
    return invalidArgument("tensor shape " + formatShape(tensor.shape) +
                           " is invalid or too large");
  size_t expected = static_cast<size_t>(*count) * dtypeSize(tensor.dtype);
  if (tensor.bytes.size() != expected)
    return invalidArgument("tensor " + formatType(tensor.dtype, tensor.shape) +
                           " needs " + std::to_string(expected) +
                           " bytes, got " +
                           std::to_string(tensor.bytes.size()));
  Value value;
  value.dtype = tensor.dtype;
  value.shape = tensor.shape;
  KOPT_RETURN_IF_ERROR(decodeElements(tensor.dtype, tensor.bytes.data(),
                                      static_cast<size_t>(*count), value.data));
  return value;
}

StatusOr<HostTensor> toHostTensor(const Value &value) {
  if (!isSupportedDType(value.dtype))
    return unimplemented("the reference evaluator does not support dtype " +
                         std::string(dtypeName(value.dtype)));
  std::optional<int64_t> count = checkedElementCount(value.shape);
  if (!count || static_cast<size_t>(*count) != value.data.size())
    return invalidArgument("value shape " + formatShape(value.shape) +
                           " does not match its " +
                           std::to_string(value.data.size()) + " elements");
  HostTensor tensor;
  tensor.dtype = value.dtype;
  tensor.shape = value.shape;
  size_t size = dtypeSize(value.dtype);
  tensor.bytes.resize(value.data.size() * size);
  for (size_t i = 0; i < value.data.size(); ++i) {
    uint8_t *p = tensor.bytes.data() + i * size;
    double v = roundToDType(value.data[i], value.dtype);
    switch (value.dtype) {
    case KOPT_DTYPE_F32:
      writeLE<float>(p, static_cast<float>(v));
      break;
    case KOPT_DTYPE_F16:
      writeLE<uint16_t>(p, floatToF16(static_cast<float>(v)));
      break;
    case KOPT_DTYPE_BF16:
      writeLE<uint16_t>(p, floatToBF16(static_cast<float>(v)));
      break;
    case KOPT_DTYPE_F64:
      writeLE<double>(p, v);
      break;
    case KOPT_DTYPE_BOOL:
      p[0] = v != 0.0 ? 1 : 0;
      break;
    case KOPT_DTYPE_I8:
      writeLE<int8_t>(p, static_cast<int8_t>(v));
      break;
    case KOPT_DTYPE_U8:
      p[0] = static_cast<uint8_t>(v);
      break;
    case KOPT_DTYPE_F8E4M3:
      p[0] = quant::floatToE4M3(static_cast<float>(v));
      break;
    case KOPT_DTYPE_I16:
      writeLE<int16_t>(p, static_cast<int16_t>(v));
      break;
    case KOPT_DTYPE_I32:
      writeLE<int32_t>(p, static_cast<int32_t>(v));
      break;
    case KOPT_DTYPE_I64:
      writeLE<int64_t>(p, static_cast<int64_t>(v));
      break;
    default:
      break;
    }
  }
  return tensor;
}

Status parseGraphDType(const nlohmann::json &spelling, kopt_dtype_t &out) {
  if (!spelling.is_string())
    return invalidArgument("dtype must be a string, got " +
                           briefJson(spelling));
  const std::string &name = spelling.get_ref<const std::string &>();
  std::optional<kopt_dtype_t> dtype = parseDTypeName(name);
  if (!dtype) {
    if (!name.empty() && name[0] == '!')
      return unimplemented("the reference evaluator does not support the "
                           "compressed type '" +
                           name + "'");
    return invalidArgument("unknown dtype '" + name + "'");
  }
  if (!isSupportedDType(*dtype))
    return unimplemented("the reference evaluator does not support dtype " +
                         name);
  out = *dtype;
  return Status::ok();
}

std::string formatShape(const std::vector<int64_t> &shape) {
  std::string text = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i)
      text += ", ";
    text += shape[i] == -1 ? "?" : std::to_string(shape[i]);
  }
  return text + "]";
}

std::string formatType(kopt_dtype_t dtype, const std::vector<int64_t> &shape) {
  return std::string(dtypeName(dtype)) + formatShape(shape);
}

double nanMax(const std::vector<double> &values) {
  double best = -INFINITY;
  for (double v : values) {
    if (std::isnan(v))
      return v;
    if (v > best)
      best = v;
  }
  return best;
}

bool ranksBefore(double a, double b) {
  if (std::isnan(a))
    return !std::isnan(b);
  return !std::isnan(b) && a > b;
}

std::string briefJson(const nlohmann::json &value) {
  std::string text =
      value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  if (text.size() > 200)
    text = text.substr(0, 200) + "...";
  return text;
}

std::string formatInteger(double value) {
  if (std::fabs(value) < std::ldexp(1.0, 63) && value == std::trunc(value))
    return std::to_string(static_cast<int64_t>(value));
  char text[64];
  std::snprintf(text, sizeof(text), "%.17g", value);
  return text;
}

std::optional<int64_t> checkedElementCount(const std::vector<int64_t> &shape) {
  // The product of the non-zero dims is bounded too, so that no partial
  // product of a validated shape can overflow, even when a zero dim makes
  // the element count 0.
  int64_t nonZeroProduct = 1;
  bool hasZero = false;
  for (int64_t dim : shape) {
    if (dim < 0)
      return std::nullopt;
    if (dim == 0) {
      hasZero = true;
      continue;
    }
    if (nonZeroProduct > kMaxElements / dim)
      return std::nullopt;
    nonZeroProduct *= dim;
  }
  return hasZero ? 0 : nonZeroProduct;
}

int64_t dimProduct(const std::vector<int64_t> &shape, size_t begin,
                   size_t end) {
  int64_t product = 1;
  for (size_t i = begin; i < end; ++i)
    product *= shape[i];
  return product;
}

AxisLayout layoutAround(const std::vector<int64_t> &shape, size_t axis) {
  AxisLayout layout;
  layout.outer = dimProduct(shape, 0, axis);
  layout.size = shape[axis];
  layout.inner = dimProduct(shape, axis + 1, shape.size());
  return layout;
}

std::vector<int64_t> stridesOf(const std::vector<int64_t> &shape) {
  std::vector<int64_t> strides(shape.size(), 1);
  for (size_t i = shape.size(); i-- > 1;)
    strides[i - 1] = strides[i] * shape[i];
  return strides;
}

bool broadcastShapes(const std::vector<int64_t> &lhs,
                     const std::vector<int64_t> &rhs,
                     std::vector<int64_t> &result) {
  size_t rank = std::max(lhs.size(), rhs.size());
  result.assign(rank, 1);
  for (size_t i = 0; i < rank; ++i) {
    int64_t a = i < lhs.size() ? lhs[lhs.size() - 1 - i] : 1;
    int64_t b = i < rhs.size() ? rhs[rhs.size() - 1 - i] : 1;
    if (a != b && a != 1 && b != 1)
      return false;
    result[rank - 1 - i] = a == 1 ? b : a;
  }
  return true;
}

std::vector<int64_t> broadcastOffsets(const std::vector<int64_t> &shape,
                                      const std::vector<int64_t> &outShape) {
  size_t rank = outShape.size();
  // Strides of `shape` aligned to the output's dims; 0 where broadcast.
  std::vector<int64_t> sourceStrides(rank, 0);
  std::vector<int64_t> strides = stridesOf(shape);
  for (size_t i = 0; i < shape.size(); ++i) {
    size_t outDim = rank - shape.size() + i;
    sourceStrides[outDim] = shape[i] == 1 ? 0 : strides[i];
  }
  int64_t count = dimProduct(outShape, 0, rank);
  std::vector<int64_t> offsets(static_cast<size_t>(count));
  std::vector<int64_t> index(rank, 0);
  for (int64_t linear = 0; linear < count; ++linear) {
    int64_t offset = 0;
    for (size_t d = 0; d < rank; ++d)
      offset += index[d] * sourceStrides[d];
    offsets[linear] = offset;
    // Advance the multi-index in C order.
    for (size_t d = rank; d-- > 0;) {
      if (++index[d] < outShape[d])
        break;
      index[d] = 0;
    }
  }
  return offsets;
}

} // namespace kopt::rt::reference
