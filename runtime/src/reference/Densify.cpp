//===- Densify.cpp - kopt.densify -----------------------------------------===//
//
// Expands the stored tensors of a sparse weight with the runtime's own
// decoder (rt::sparse::densify), as Dequantize.cpp does for quantized ones.
//
//===----------------------------------------------------------------------===//

#include "Kernels.h"
#include "kopt/runtime/Sparsity.h"

namespace kopt::rt::reference {

Status evalDensify(const OpContext &ctx, std::vector<Value> &results) {
  KOPT_RETURN_IF_ERROR(ctx.checkOperandCount(2, 2));
  KOPT_RETURN_IF_ERROR(ctx.checkResultCount(1));
  const nlohmann::json *attr = ctx.rawAttr("encoding");
  if (!attr)
    return ctx.invalid("needs an 'encoding' attribute");
  StatusOr<sparse::Layout> layout = sparse::layoutFromJson(*attr);
  if (!layout.isOk())
    return ctx.invalid(layout.status().message());
  std::vector<quant::Part> parts = sparse::partsOf(*layout);
  std::vector<HostTensor> stored;
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
  StatusOr<std::vector<float>> weights = sparse::densify(
      *layout, stored[0].bytes.data(), stored[1].bytes.data());
  if (!weights.isOk())
    return ctx.error(weights.status().code(), weights.status().message());
  Value out;
  KOPT_RETURN_IF_ERROR(ctx.makeValue(layout->dtype, layout->shape, out));
  out.data.assign(weights->begin(), weights->end());
  results.push_back(std::move(out));
  return Status::ok();
}

} // namespace kopt::rt::reference
