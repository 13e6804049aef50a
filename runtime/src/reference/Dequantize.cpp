//===- Dequantize.cpp - kopt.dequantize -----------------------------------===//
//
// Unpacks the stored tensors of a quantized weight with the runtime's own
// decoder (rt::quant::dequantize), so the reference and the packer cannot
// disagree about a layout.
//
//===----------------------------------------------------------------------===//

#include "Kernels.h"
#include "kopt/runtime/Quantization.h"

#include <algorithm>
#include <cmath>

namespace kopt::rt::reference {

Status evalDequantize(const OpContext &ctx, std::vector<Value> &results) {
  KOPT_RETURN_IF_ERROR(ctx.checkOperandCount(2, 3));
  KOPT_RETURN_IF_ERROR(ctx.checkResultCount(1));
  const nlohmann::json *attr = ctx.rawAttr("encoding");
  if (!attr)
    return ctx.invalid("needs an 'encoding' attribute");
  StatusOr<quant::Encoding> encoding = quant::encodingFromJson(*attr);
  if (!encoding.isOk())
    return ctx.invalid(encoding.status().message());
  std::vector<quant::Part> parts = quant::partsOf(*encoding);
  if (parts.size() != ctx.numOperands())
    return ctx.invalid("the encoding is stored as " +
                       std::to_string(parts.size()) + " tensors, got " +
                       std::to_string(ctx.numOperands()));
  std::vector<HostTensor> stored;
  std::vector<const void *> data;
  std::vector<size_t> bytes;
  for (size_t i = 0; i < parts.size(); ++i) {
    const Value &operand = ctx.operand(i);
    if (operand.dtype != parts[i].dtype || operand.shape != parts[i].shape)
      return ctx.invalid("the " + parts[i].suffix + " must be " +
                         formatType(parts[i].dtype, parts[i].shape) + ", got " +
                         formatType(operand.dtype, operand.shape));
    StatusOr<HostTensor> tensor = toHostTensor(operand);
    if (!tensor.isOk())
      return ctx.error(tensor.status().code(), tensor.status().message());
    stored.push_back(std::move(*tensor));
  }
  for (const HostTensor &tensor : stored) {
    data.push_back(tensor.bytes.data());
    bytes.push_back(tensor.bytes.size());
  }
  StatusOr<std::vector<float>> weights =
      quant::dequantize(*encoding, data, bytes);
  if (!weights.isOk())
    return ctx.error(weights.status().code(), weights.status().message());
  Value out;
  KOPT_RETURN_IF_ERROR(ctx.makeValue(encoding->scale, encoding->shape, out));
  out.data.assign(weights->begin(), weights->end());
  results.push_back(std::move(out));
  return Status::ok();
}

} // namespace kopt::rt::reference

namespace kopt::rt::reference {

Status evalFakeQuant(const OpContext &ctx, std::vector<Value> &results) {
  KOPT_RETURN_IF_ERROR(ctx.checkOperandCount(1, 1));
  KOPT_RETURN_IF_ERROR(ctx.checkResultCount(1));
  KOPT_RETURN_IF_ERROR(ctx.checkFloat(0, "input"));
  std::string dtype, granularity;
  KOPT_RETURN_IF_ERROR(ctx.stringAttr("dtype", "f8E4M3FN", dtype));
  if (dtype != "f8E4M3FN")
    return ctx.invalid("dtype must be f8E4M3FN, got " + dtype);
  KOPT_RETURN_IF_ERROR(ctx.stringAttr("granularity", "token", granularity));
  if (granularity != "token" && granularity != "tensor")
    return ctx.invalid("granularity must be \"token\" or \"tensor\", got \"" +
                       granularity + "\"");
  const Value &in = ctx.operand(0);
  if (granularity == "token" && in.shape.empty())
    return ctx.invalid("per-token scales need a rank >= 1 input");
  Value out;
  KOPT_RETURN_IF_ERROR(ctx.makeValue(in.dtype, in.shape, out));
  size_t rowLength = granularity == "token" ? size_t(in.shape.back())
                                            : in.data.size();
  if (rowLength == 0)
    rowLength = 1;
  for (size_t row = 0; row * rowLength < in.data.size(); ++row) {
    size_t begin = row * rowLength,
           end = std::min(in.data.size(), begin + rowLength);
    float amax = 0.0f;
    for (size_t i = begin; i < end; ++i) { // NaN propagates, as in torch
      float a = std::fabs(static_cast<float>(in.data[i]));
      amax = std::isnan(a) || std::isnan(amax) ? NAN : std::max(amax, a);
    }
    float scale = amax > 0.0f ? amax / 448.0f : 1.0f;
    for (size_t i = begin; i < end; ++i) {
      float code = quant::e4m3ToFloat(
          quant::floatToE4M3(static_cast<float>(in.data[i]) / scale));
      out.data[i] = code * scale;
    }
  }
  results.push_back(std::move(out));
  return Status::ok();
}

} // namespace kopt::rt::reference
