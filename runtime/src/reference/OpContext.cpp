//===- OpContext.cpp - What a reference kernel sees of its node -----------===//
//
// Error messages that name the op and its location, operand checks, and
// typed access to the node's JSON attributes with the dialect's defaults.
// Attributes are untrusted: a wrong JSON kind is an error, never an
// exception.
//
//===----------------------------------------------------------------------===//

#include "Kernels.h"

#include "kopt/runtime/DType.h"

#include <cmath>
#include <limits>

namespace kopt::rt::reference {
namespace {

/// Reads a JSON integer that fits int64 (no exception on any input).
bool readInt64(const nlohmann::json &value, int64_t &out) {
  if (value.is_number_unsigned()) {
    uint64_t u = value.get<uint64_t>();
    if (u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
      return false;
    out = static_cast<int64_t>(u);
    return true;
  }
  if (value.is_number_integer()) {
    out = value.get<int64_t>();
    return true;
  }
  return false;
}

/// Reads a JSON number, or one of the strings "nan", "inf", "-inf" (JSON has
/// no spelling for them), as an f32 attribute value.
bool readF32(const nlohmann::json &value, double &out) {
  if (value.is_number()) {
    out = static_cast<double>(static_cast<float>(value.get<double>()));
    return true;
  }
  if (value.is_string()) {
    const std::string &text = value.get_ref<const std::string &>();
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

} // namespace

OpContext::OpContext(std::string op, std::string loc,
                     std::vector<const Value *> operands,
                     std::vector<TensorType> resultTypes,
                     const nlohmann::json *attrs, const WeightSet *weights,
                     const EvaluationHooks *hooks)
    : op_(std::move(op)), loc_(std::move(loc)), operands_(std::move(operands)),
      resultTypes_(std::move(resultTypes)), attrs_(attrs), weights_(weights),
      hooks_(hooks) {}

const TensorEntry *OpContext::lookupWeight(const std::string &name,
                                           TensorEntry &scratch) const {
  if (hooks_ && hooks_->weightOverrides) {
    auto found = hooks_->weightOverrides->find(name);
    if (found != hooks_->weightOverrides->end()) {
      const HostTensor &tensor = found->second;
      scratch = TensorEntry{name, tensor.dtype, tensor.shape,
                            tensor.bytes.data(), tensor.bytes.size()};
      return &scratch;
    }
  }
  return weights_ ? weights_->lookup(name) : nullptr;
}

Status OpContext::error(kopt_status_code_t code,
                        const std::string &message) const {
  std::string text = op_ + ": " + message;
  if (!loc_.empty())
    text += " (at " + loc_ + ")";
  return Status(code, text);
}

Status OpContext::invalid(const std::string &message) const {
  return error(KOPT_STATUS_INVALID_ARGUMENT, message);
}

Status OpContext::checkOperandCount(size_t min, size_t max) const {
  if (operands_.size() >= min && operands_.size() <= max)
    return Status::ok();
  std::string expected =
      min == max ? std::to_string(min)
                 : std::to_string(min) + " to " + std::to_string(max);
  return invalid("expects " + expected + " operands, got " +
                 std::to_string(operands_.size()));
}

Status OpContext::checkResultCount(size_t count) const {
  if (resultTypes_.size() == count)
    return Status::ok();
  return invalid("expects " + std::to_string(count) + " results, got " +
                 std::to_string(resultTypes_.size()));
}

Status OpContext::checkFloat(size_t index, const char *name) const {
  kopt_dtype_t dtype = operand(index).dtype;
  if (isFloatDType(dtype))
    return Status::ok();
  return invalid(std::string(name) + " must be floating-point, got " +
                 std::string(dtypeName(dtype)));
}

Status OpContext::checkIndex(size_t index, const char *name) const {
  kopt_dtype_t dtype = operand(index).dtype;
  if (dtype == KOPT_DTYPE_I32 || dtype == KOPT_DTYPE_I64)
    return Status::ok();
  return invalid(std::string(name) + " must be i32 or i64, got " +
                 std::string(dtypeName(dtype)));
}

Status OpContext::checkRank(size_t index, const char *name, size_t rank) const {
  const Value &value = operand(index);
  if (value.shape.size() == rank)
    return Status::ok();
  return invalid(std::string(name) + " must have rank " + std::to_string(rank) +
                 ", got " + formatShape(value.shape));
}

Status OpContext::checkShape(size_t index, const char *name,
                             const std::vector<int64_t> &shape) const {
  const Value &value = operand(index);
  if (value.shape == shape)
    return Status::ok();
  return invalid(std::string(name) + " must have shape " + formatShape(shape) +
                 ", got " + formatShape(value.shape));
}

Status OpContext::checkSameDType(size_t a, size_t b) const {
  kopt_dtype_t lhs = operand(a).dtype, rhs = operand(b).dtype;
  if (lhs == rhs)
    return Status::ok();
  return invalid("operand dtypes differ: " + std::string(dtypeName(lhs)) +
                 " and " + std::string(dtypeName(rhs)));
}

bool OpContext::hasAttr(const char *name) const {
  if (!attrs_ || !attrs_->is_object())
    return false;
  auto it = attrs_->find(name);
  return it != attrs_->end() && !it->is_null();
}

const nlohmann::json *OpContext::rawAttr(const char *name) const {
  return hasAttr(name) ? &attrs_->at(name) : nullptr;
}

Status OpContext::intAttr(const char *name, std::optional<int64_t> fallback,
                          int64_t &out) const {
  if (!hasAttr(name)) {
    if (!fallback)
      return invalid(std::string("missing integer attribute '") + name + "'");
    out = *fallback;
    return Status::ok();
  }
  if (!readInt64(attrs_->at(name), out))
    return invalid(std::string("attribute '") + name +
                   "' must be an integer, got " + briefJson(attrs_->at(name)));
  return Status::ok();
}

Status OpContext::floatAttr(const char *name, std::optional<double> fallback,
                            double &out) const {
  if (!hasAttr(name)) {
    if (!fallback)
      return invalid(std::string("missing float attribute '") + name + "'");
    out = static_cast<double>(static_cast<float>(*fallback));
    return Status::ok();
  }
  if (!readF32(attrs_->at(name), out))
    return invalid(std::string("attribute '") + name +
                   "' must be a number, got " + briefJson(attrs_->at(name)));
  return Status::ok();
}

Status OpContext::boolAttr(const char *name, bool fallback, bool &out) const {
  if (!hasAttr(name)) {
    out = fallback;
    return Status::ok();
  }
  const nlohmann::json &value = attrs_->at(name);
  if (!value.is_boolean())
    return invalid(std::string("attribute '") + name +
                   "' must be true or false, got " + briefJson(value));
  out = value.get<bool>();
  return Status::ok();
}

Status OpContext::stringAttr(const char *name, const std::string &fallback,
                             std::string &out) const {
  if (!hasAttr(name)) {
    out = fallback;
    return Status::ok();
  }
  const nlohmann::json &value = attrs_->at(name);
  if (!value.is_string())
    return invalid(std::string("attribute '") + name +
                   "' must be a string, got " + briefJson(value));
  out = value.get<std::string>();
  return Status::ok();
}

Status OpContext::intArrayAttr(const char *name,
                               std::vector<int64_t> &out) const {
  if (!hasAttr(name))
    return invalid(std::string("missing array attribute '") + name + "'");
  const nlohmann::json &value = attrs_->at(name);
  if (!value.is_array())
    return invalid(std::string("attribute '") + name +
                   "' must be an array of integers, got " + briefJson(value));
  out.clear();
  for (const nlohmann::json &element : value) {
    int64_t v;
    if (!readInt64(element, v))
      return invalid(std::string("attribute '") + name +
                     "' must be an array of integers, got " + briefJson(value));
    out.push_back(v);
  }
  return Status::ok();
}

Status OpContext::floatArrayAttr(const char *name,
                                 std::vector<double> &out) const {
  out.clear();
  if (!hasAttr(name))
    return Status::ok();
  const nlohmann::json &value = attrs_->at(name);
  if (!value.is_array())
    return invalid(std::string("attribute '") + name +
                   "' must be an array of numbers, got " + briefJson(value));
  for (const nlohmann::json &element : value) {
    double v;
    if (!readF32(element, v))
      return invalid(std::string("attribute '") + name +
                     "' must be an array of numbers, got " + briefJson(value));
    out.push_back(v);
  }
  return Status::ok();
}

Status OpContext::normalizeAxis(int64_t axis, size_t rank, size_t &out) const {
  auto r = static_cast<int64_t>(rank);
  if (axis < -r || axis >= r)
    return invalid("axis " + std::to_string(axis) +
                   " is out of range for rank " + std::to_string(rank));
  out = static_cast<size_t>(axis < 0 ? axis + r : axis);
  return Status::ok();
}

Status OpContext::axisAttr(std::optional<int64_t> fallback, size_t rank,
                           size_t &out) const {
  int64_t axis;
  KOPT_RETURN_IF_ERROR(intAttr("axis", fallback, axis));
  return normalizeAxis(axis, rank, out);
}

Status OpContext::makeValue(kopt_dtype_t dtype, std::vector<int64_t> shape,
                            Value &out) const {
  std::optional<int64_t> count = checkedElementCount(shape);
  if (!count)
    return error(KOPT_STATUS_RESOURCE_EXHAUSTED,
                 "result shape " + formatShape(shape) +
                     " is invalid or exceeds the reference evaluator's limit "
                     "of " +
                     std::to_string(kMaxElements) + " elements");
  out.dtype = dtype;
  out.shape = std::move(shape);
  out.data.assign(static_cast<size_t>(*count), 0.0);
  return Status::ok();
}

} // namespace kopt::rt::reference
