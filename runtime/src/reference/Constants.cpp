//===- Constants.cpp - kopt.weight and arith.constant ---------------------===//
//
// The leaves of a graph: named weights read from the WeightSet (checked
// against their declared dtype and shape) and constants whose elements are
// in the node's attributes.
//
//===----------------------------------------------------------------------===//

#include "Kernels.h"
#include "kopt/runtime/Quantization.h"
#include "kopt/runtime/Sparsity.h"

#include "kopt/runtime/DType.h"

#include <cmath>
#include <limits>

namespace kopt::rt::reference {
namespace {

/// Whether the declared shape has no dynamic dim.
bool isStatic(const std::vector<int64_t> &shape) {
  for (int64_t dim : shape)
    if (dim < 0)
      return false;
  return true;
}

/// Reads one constant element: a number, a bool, or "nan"/"inf"/"-inf".
bool readElement(const nlohmann::json &element, double &out) {
  if (element.is_boolean()) {
    out = element.get<bool>() ? 1.0 : 0.0;
    return true;
  }
  if (element.is_number()) {
    out = element.get<double>();
    return true;
  }
  if (element.is_string()) {
    const std::string &text = element.get_ref<const std::string &>();
    if (text == "nan" || text == "NaN") {
      out = std::numeric_limits<double>::quiet_NaN();
      return true;
    }
    if (text == "inf" || text == "+inf" || text == "-inf") {
      out = text == "-inf" ? -INFINITY : INFINITY;
      return true;
    }
  }
  return false;
}

/// Nesting deeper than this is refused (a tensor has at most this rank).
constexpr int kMaxNesting = 64;

/// Appends the elements of a (possibly nested) JSON array in C order; false
/// on a non-number, more than `limit` elements, or too deep a nesting.
bool flatten(const nlohmann::json &data, std::vector<double> &out, size_t limit,
             int depth = 0) {
  if (depth > kMaxNesting)
    return false;
  for (const nlohmann::json &element : data) {
    if (out.size() > limit)
      return false;
    if (element.is_array()) {
      if (!flatten(element, out, limit, depth + 1))
        return false;
      continue;
    }
    double v;
    if (!readElement(element, v))
      return false;
    out.push_back(v);
  }
  return true;
}

/// The float weight `sourceName` a compressed weight is packed from, checked
/// to be `dtype` `shape`.
StatusOr<const TensorEntry *> packingSource(const OpContext &ctx,
                                            const std::string &name,
                                            const std::string &sourceName,
                                            kopt_dtype_t dtype,
                                            const std::vector<int64_t> &shape,
                                            TensorEntry &scratch) {
  const TensorEntry *entry = ctx.lookupWeight(sourceName, scratch);
  if (!entry)
    return ctx.error(KOPT_STATUS_NOT_FOUND,
                     "neither '" + name + "' nor the float weight '" +
                         sourceName + "' to pack it from is in the weight set");
  if (entry->dtype != dtype || entry->shape != shape)
    return ctx.invalid("weight '" + sourceName + "' is " +
                       formatType(entry->dtype, entry->shape) +
                       " in the weight set but its compressed form needs " +
                       formatType(dtype, shape));
  return entry;
}

/// A stored tensor of a quantized or sparse weight the weight set lacks,
/// packed from its float source as the runtime does at load time.
Status packedWeight(const OpContext &ctx, const std::string &name,
                    const TensorType &declared, const char *attrName,
                    std::vector<Value> &results) {
  const nlohmann::json &part = *ctx.rawAttr(attrName);
  auto source = part.find("source"), which = part.find("part"),
       encodingJson = part.find("encoding");
  if (!part.is_object() || source == part.end() || !source->is_string() ||
      which == part.end() || !which->is_string() || encodingJson == part.end())
    return ctx.invalid("weight '" + name + "' has a malformed " +
                       std::string(attrName) + " attribute");
  std::string sourceName = source->get<std::string>();
  TensorEntry scratch;
  std::vector<quant::Part> parts;
  std::vector<std::vector<uint8_t>> bytes;
  Status packing = Status::ok();
  if (std::string(attrName) == "kopt.quantized_part") {
    StatusOr<quant::Encoding> encoding = quant::encodingFromJson(*encodingJson);
    if (!encoding.isOk())
      return ctx.invalid(encoding.status().message());
    StatusOr<const TensorEntry *> entry =
        packingSource(ctx, name, sourceName, encoding->scale, encoding->shape,
                      scratch);
    if (!entry.isOk())
      return entry.status();
    StatusOr<quant::Packed> packed = quant::quantize(
        *encoding, (*entry)->dtype, (*entry)->data, (*entry)->byteSize);
    if (!packed.isOk())
      packing = packed.status();
    else
      bytes = {std::move(packed->qweight), std::move(packed->scales),
               std::move(packed->zeros)};
    parts = quant::partsOf(*encoding);
  } else {
    StatusOr<sparse::Layout> layout = sparse::layoutFromJson(*encodingJson);
    if (!layout.isOk())
      return ctx.invalid(layout.status().message());
    StatusOr<const TensorEntry *> entry = packingSource(
        ctx, name, sourceName, layout->dtype, layout->shape, scratch);
    if (!entry.isOk())
      return entry.status();
    StatusOr<sparse::Packed> packed = sparse::prune(
        *layout, (*entry)->dtype, (*entry)->data, (*entry)->byteSize);
    if (!packed.isOk())
      packing = packed.status();
    else
      bytes = {std::move(packed->values), std::move(packed->indices)};
    parts = sparse::partsOf(*layout);
  }
  if (!packing.isOk())
    return ctx.error(packing.code(),
                     "packing '" + sourceName + "': " + packing.message());
  for (size_t i = 0; i < parts.size(); ++i) {
    if (parts[i].suffix != which->get<std::string>())
      continue;
    if (parts[i].dtype != declared.dtype || parts[i].shape != declared.shape)
      return ctx.invalid("weight '" + name + "' is declared " +
                         formatType(declared.dtype, declared.shape) +
                         " but its encoding stores " +
                         formatType(parts[i].dtype, parts[i].shape));
    Value value;
    KOPT_RETURN_IF_ERROR(ctx.makeValue(declared.dtype, declared.shape, value));
    Status status = decodeElements(declared.dtype, bytes[i].data(),
                                   value.data.size(), value.data);
    if (!status.isOk())
      return ctx.error(status.code(), status.message());
    results.push_back(std::move(value));
    return Status::ok();
  }
  return ctx.invalid("weight '" + name + "': the encoding has no part '" +
                     which->get<std::string>() + "'");
}

} // namespace

Status evalWeight(const OpContext &ctx, std::vector<Value> &results) {
  KOPT_RETURN_IF_ERROR(ctx.checkOperandCount(0, 0));
  KOPT_RETURN_IF_ERROR(ctx.checkResultCount(1));
  std::string name;
  KOPT_RETURN_IF_ERROR(ctx.stringAttr("name", "", name));
  if (name.empty())
    return ctx.invalid("needs a non-empty 'name' attribute");
  const TensorType &declared = ctx.resultType(0);
  if (!isStatic(declared.shape))
    return ctx.invalid("weight '" + name + "' must have a static shape, got " +
                       formatShape(declared.shape));
  if (!ctx.hasWeights())
    return ctx.error(KOPT_STATUS_NOT_FOUND,
                     "weight '" + name +
                         "' is needed but no weights were given");
  TensorEntry scratch;
  const TensorEntry *entry = ctx.lookupWeight(name, scratch);
  for (const char *attrName : {"kopt.quantized_part", "kopt.sparse_part"})
    if (!entry && ctx.hasAttr(attrName))
      return packedWeight(ctx, name, declared, attrName, results);
  if (!entry)
    return ctx.error(KOPT_STATUS_NOT_FOUND,
                     "weight '" + name + "' is not in the weight set");
  if (entry->dtype != declared.dtype || entry->shape != declared.shape)
    return ctx.invalid("weight '" + name + "' is " +
                       formatType(entry->dtype, entry->shape) +
                       " in the weight set but the graph declares " +
                       formatType(declared.dtype, declared.shape));
  Value value;
  KOPT_RETURN_IF_ERROR(ctx.makeValue(declared.dtype, declared.shape, value));
  size_t count = value.data.size();
  if (entry->byteSize != count * dtypeSize(entry->dtype))
    return ctx.error(KOPT_STATUS_DATA_LOSS,
                     "weight '" + name + "' has " +
                         std::to_string(entry->byteSize) + " bytes, expected " +
                         std::to_string(count * dtypeSize(entry->dtype)));
  Status status = decodeElements(entry->dtype, entry->data, count, value.data);
  if (!status.isOk())
    return ctx.error(status.code(), status.message());
  results.push_back(std::move(value));
  return Status::ok();
}

Status evalConstant(const OpContext &ctx, std::vector<Value> &results) {
  KOPT_RETURN_IF_ERROR(ctx.checkOperandCount(0, 0));
  KOPT_RETURN_IF_ERROR(ctx.checkResultCount(1));
  const TensorType &declared = ctx.resultType(0);
  if (!isStatic(declared.shape))
    return ctx.invalid("constant must have a static shape, got " +
                       formatShape(declared.shape));
  Value value;
  KOPT_RETURN_IF_ERROR(ctx.makeValue(declared.dtype, declared.shape, value));
  const nlohmann::json *attr = ctx.rawAttr("value");
  if (!attr || !attr->is_object())
    return ctx.invalid("needs a 'value' attribute {\"splat\": x} or "
                       "{\"data\": [...]}");
  auto splat = attr->find("splat");
  auto data = attr->find("data");
  if (splat != attr->end() && data == attr->end()) {
    double element;
    if (!readElement(*splat, element))
      return ctx.invalid("'splat' must be a number, got " + briefJson(*splat));
    for (double &v : value.data)
      v = element;
  } else if (data != attr->end() && splat == attr->end() && data->is_array()) {
    std::vector<double> elements;
    if (!flatten(*data, elements, value.data.size()) ||
        elements.size() != value.data.size())
      return ctx.invalid("'data' must hold " +
                         std::to_string(value.data.size()) + " numbers for " +
                         formatType(declared.dtype, declared.shape));
    value.data = std::move(elements);
  } else {
    return ctx.invalid("'value' must be {\"splat\": x} or {\"data\": [...]}, "
                       "got " +
                       briefJson(*attr));
  }
  results.push_back(std::move(value));
  return Status::ok();
}

} // namespace kopt::rt::reference
