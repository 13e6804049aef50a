//===- Dequantize.cpp - kopt.dequantize -----------------------------------===//
//
// Unpacks the stored tensors of a quantized weight with the runtime's own
// decoder (rt::quant::dequantize), so the reference and the packer cannot
// disagree about a layout.
//
//===----------------------------------------------------------------------===//

#include "Kernels.h"
#include "kopt/runtime/Quantization.h"

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
