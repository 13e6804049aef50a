//===- ModulePlan.cpp - Reading, validating and binding a host plan -------===//
//
// Every field of a plan is checked before it is used: the format and
// version, the artifact, dtypes, ranks, dims and their expressions, weight
// names, and the call list (each input, weight and output exactly once,
// "status" at most once). Symbols are bound only by input dims that are a
// bare symbol, so every other use of a symbol (input expressions, output
// shapes, cost expressions) must name one of those.
//
//===----------------------------------------------------------------------===//

#include "kopt/runtime/DType.h"
#include "kopt/runtime/Json.h"
#include "kopt/runtime/Plan.h"
#include "kopt/runtime/Safetensors.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <climits>
#include <cstdint>
#include <filesystem>
#include <map>
#include <set>

namespace kopt::rt {
namespace {

using json = nlohmann::json;

/// Plans larger than this are refused rather than parsed.
constexpr size_t kMaxPlanBytes = size_t(1) << 30;

/// Reads one plan with `what` naming it in errors.
class PlanReader {
public:
  explicit PlanReader(std::string what) : what_(std::move(what)) {}

  Status bad(const std::string &where, const std::string &why) const {
    return dataLoss(what_ + ": " + (where.empty() ? "" : where + ": ") + why);
  }

  /// The member `key` of `object`, or nullptr when it is absent.
  static const json *member(const json &object, const char *key) {
    auto it = object.find(key);
    return it == object.end() ? nullptr : &*it;
  }

  StatusOr<std::string> readString(const json &object, const char *key,
                                   const std::string &where) const {
    const json *value = member(object, key);
    if (!value)
      return bad(where, "missing \"" + std::string(key) + "\"");
    if (!value->is_string() || value->get_ref<const std::string &>().empty())
      return bad(where,
                 "\"" + std::string(key) + "\" must be a non-empty string");
    return value->get<std::string>();
  }

  StatusOr<kopt_dtype_t> readDType(const json &object,
                                   const std::string &where) const {
    StatusOr<std::string> name = readString(object, "dtype", where);
    if (!name.isOk())
      return name.status();
    std::optional<kopt_dtype_t> dtype = parseDTypeName(*name);
    if (!dtype)
      return bad(where, "unknown dtype '" + *name + "'");
    return *dtype;
  }

  /// A "shape" array with at most KOPT_MAX_RANK entries.
  StatusOr<const json *> readShapeArray(const json &object,
                                        const std::string &where) const {
    const json *shape = member(object, "shape");
    if (!shape)
      return bad(where, "missing \"shape\"");
    if (!shape->is_array())
      return bad(where, "\"shape\" must be an array");
    if (shape->size() > KOPT_MAX_RANK)
      return bad(where, "rank " + std::to_string(shape->size()) +
                            " exceeds the maximum of " +
                            std::to_string(KOPT_MAX_RANK));
    return shape;
  }

  StatusOr<ShapeExpr> readDim(const json &dim, const std::string &where) const {
    if (dim.is_string()) {
      StatusOr<ShapeExpr> expr = ShapeExpr::parse(dim.get<std::string>());
      if (!expr.isOk())
        return bad(where, expr.status().message());
      std::optional<int64_t> constant = expr->constantValue();
      if (constant && *constant < 0)
        return bad(where, "dim '" + expr->text() + "' is negative");
      if (!constant && expr->symbols().empty())
        return bad(where, "'" + expr->text() + "' cannot be evaluated");
      return expr;
    }
    int64_t value;
    if (!readInt64(dim, value) || value < 0)
      return bad(where, "a dim must be a non-negative integer or a string "
                        "holding a shape expression");
    return ShapeExpr::constant(value);
  }

  StatusOr<PlanTensor> readTensor(const json &value,
                                  const std::string &where) const {
    if (!value.is_object())
      return bad(where, "must be an object with \"dtype\" and \"shape\"");
    PlanTensor tensor;
    StatusOr<kopt_dtype_t> dtype = readDType(value, where);
    if (!dtype.isOk())
      return dtype.status();
    tensor.dtype = *dtype;
    StatusOr<const json *> shape = readShapeArray(value, where);
    if (!shape.isOk())
      return shape.status();
    for (size_t i = 0; i < (*shape)->size(); ++i) {
      StatusOr<ShapeExpr> dim =
          readDim((**shape)[i], where + ".shape[" + std::to_string(i) + "]");
      if (!dim.isOk())
        return dim.status();
      tensor.dims.push_back(std::move(*dim));
    }
    return tensor;
  }

  StatusOr<PlanWeight> readWeight(const json &value,
                                  const std::string &where) const {
    if (!value.is_object())
      return bad(where, "must be an object with \"name\", \"dtype\" and "
                        "\"shape\"");
    PlanWeight weight;
    StatusOr<std::string> name = readString(value, "name", where);
    if (!name.isOk())
      return name.status();
    weight.name = std::move(*name);
    StatusOr<kopt_dtype_t> dtype = readDType(value, where);
    if (!dtype.isOk())
      return dtype.status();
    weight.dtype = *dtype;
    StatusOr<const json *> shape = readShapeArray(value, where);
    if (!shape.isOk())
      return shape.status();
    for (const json &dim : **shape) {
      int64_t size;
      if (!readInt64(dim, size) || size < 0)
        return bad(where, "weight '" + weight.name +
                              "' must have a static shape of non-negative "
                              "integers");
      weight.shape.push_back(size);
    }
    StatusOr<size_t> bytes = checkedByteSize(weight.dtype, weight.shape,
                                             "weight '" + weight.name + "'");
    if (!bytes.isOk())
      return bad(where, bytes.status().message());
    if (const json *quantized = member(value, "quantized")) {
      StatusOr<QuantizedPart> part = readQuantizedPart(*quantized, weight);
      if (!part.isOk())
        return bad(where,
                   "weight '" + weight.name + "': " + part.status().message());
      weight.quantized = std::move(*part);
    }
    if (const json *sparse = member(value, "sparse")) {
      StatusOr<SparsePart> part = readSparsePart(*sparse, weight);
      if (!part.isOk())
        return bad(where,
                   "weight '" + weight.name + "': " + part.status().message());
      weight.sparse = std::move(*part);
    }
    return weight;
  }

  /// The "quantized" object of a weight: its source, which part it is, and
  /// an encoding whose stored form of that part is this weight's type.
  StatusOr<QuantizedPart> readQuantizedPart(const json &value,
                                            const PlanWeight &weight) const {
    StatusOr<quant::Encoding> encoding = quant::encodingFromJson(value);
    if (!encoding.isOk())
      return encoding.status();
    QuantizedPart part;
    part.encoding = std::move(*encoding);
    KOPT_RETURN_IF_ERROR(readPartOf(value, weight, "quantized",
                                    quant::partsOf(part.encoding), part.source,
                                    part.part));
    return part;
  }

  /// The "sparse" object of a weight, as readQuantizedPart.
  StatusOr<SparsePart> readSparsePart(const json &value,
                                      const PlanWeight &weight) const {
    StatusOr<sparse::Layout> layout = sparse::layoutFromJson(value);
    if (!layout.isOk())
      return layout.status();
    SparsePart part;
    part.layout = std::move(*layout);
    KOPT_RETURN_IF_ERROR(readPartOf(value, weight, "sparse",
                                    sparse::partsOf(part.layout), part.source,
                                    part.part));
    return part;
  }

  /// The "source" and "part" of a compressed weight's stored tensor, checked
  /// against the parts its layout stores.
  static Status readPartOf(const json &value, const PlanWeight &weight,
                           const char *kind,
                           const std::vector<quant::Part> &stored,
                           std::string &source, std::string &partName) {
    auto sourceIt = value.find("source");
    auto name = value.find("part");
    if (sourceIt == value.end() || !sourceIt->is_string() ||
        sourceIt->get_ref<const std::string &>().empty() ||
        name == value.end() || !name->is_string())
      return invalidArgument("\"" + std::string(kind) +
                             "\" needs a \"source\" and a \"part\" name");
    source = sourceIt->get<std::string>();
    partName = name->get<std::string>();
    if (weight.name != source + "." + partName)
      return invalidArgument("a " + std::string(kind) +
                             " part is named '<source>.<part>' ('" + source +
                             "." + partName + "')");
    for (const quant::Part &part : stored) {
      if (part.suffix != partName)
        continue;
      if (part.dtype != weight.dtype || part.shape != weight.shape)
        return invalidArgument("its layout stores the " + partName + " as " +
                               std::string(dtypeName(part.dtype)) + " " +
                               shapeText(part.shape) + ", not " +
                               std::string(dtypeName(weight.dtype)) + " " +
                               shapeText(weight.shape));
      return Status::ok();
    }
    return invalidArgument("its layout has no part '" + partName + "'");
  }

  /// A list of tensors or weights under `key`; absent means empty unless
  /// `required`.
  template <typename T, typename ReadFn>
  Status readList(const json &function, const char *key,
                  const std::string &where, bool required, ReadFn read,
                  std::vector<T> &out) const {
    const json *list = member(function, key);
    if (!list) {
      if (required)
        return bad(where, "missing \"" + std::string(key) + "\"");
      return Status::ok();
    }
    if (!list->is_array())
      return bad(where, "\"" + std::string(key) + "\" must be an array");
    for (size_t i = 0; i < list->size(); ++i) {
      auto item = (this->*read)((*list)[i], where + "." + key + "[" +
                                                std::to_string(i) + "]");
      if (!item.isOk())
        return item.status();
      out.push_back(std::move(*item));
    }
    return Status::ok();
  }

  Status readCall(const json &function, const std::string &where,
                  PlanFunction &out) const {
    const json *call = member(function, "call");
    if (!call)
      return bad(where, "missing \"call\"");
    if (!call->is_array())
      return bad(where, "\"call\" must be an array of strings");
    std::vector<unsigned> inputUses(out.inputs.size()),
        weightUses(out.weights.size()), outputUses(out.outputs.size());
    unsigned statusUses = 0;
    for (size_t i = 0; i < call->size(); ++i) {
      std::string at = where + ".call[" + std::to_string(i) + "]";
      const json &entry = (*call)[i];
      if (!entry.is_string())
        return bad(at, "must be a string such as \"input:0\"");
      const std::string &text = entry.get_ref<const std::string &>();
      if (text == "status") {
        if (++statusUses > 1)
          return bad(at, "\"status\" appears more than once");
        out.call.push_back({PlanCallArg::Kind::Status, 0});
        continue;
      }
      size_t colon = text.find(':');
      std::string kind = text.substr(0, colon);
      std::string digits =
          colon == std::string::npos ? "" : text.substr(colon + 1);
      std::vector<unsigned> *uses = kind == "input"    ? &inputUses
                                    : kind == "weight" ? &weightUses
                                    : kind == "output" ? &outputUses
                                                       : nullptr;
      bool numeric = !digits.empty() && digits.size() <= 9 &&
                     std::all_of(digits.begin(), digits.end(),
                                 [](char c) { return c >= '0' && c <= '9'; }) &&
                     (digits.size() == 1 || digits[0] != '0');
      if (!uses || !numeric)
        return bad(at, "'" + text +
                           "' is not \"input:N\", \"weight:N\", "
                           "\"output:N\" or \"status\"");
      size_t index = std::stoul(digits);
      if (index >= uses->size())
        return bad(at, "'" + text + "' refers to a missing " + kind +
                           " (the function has " +
                           std::to_string(uses->size()) + ")");
      if (++(*uses)[index] > 1)
        return bad(at, "'" + text + "' appears more than once");
      PlanCallArg::Kind argKind = kind == "input" ? PlanCallArg::Kind::Input
                                  : kind == "weight"
                                      ? PlanCallArg::Kind::Weight
                                      : PlanCallArg::Kind::Output;
      out.call.push_back({argKind, index});
    }
    auto checkAllUsed = [&](const std::vector<unsigned> &uses,
                            const char *kind) -> Status {
      for (size_t i = 0; i < uses.size(); ++i)
        if (uses[i] == 0)
          return bad(where + ".call", std::string("does not pass ") + kind +
                                          ":" + std::to_string(i));
      return Status::ok();
    };
    KOPT_RETURN_IF_ERROR(checkAllUsed(inputUses, "input"));
    KOPT_RETURN_IF_ERROR(checkAllUsed(weightUses, "weight"));
    KOPT_RETURN_IF_ERROR(checkAllUsed(outputUses, "output"));
    return Status::ok();
  }

  StatusOr<std::optional<ShapeExpr>> readCost(const json &function,
                                              const char *key,
                                              const std::string &where) const {
    const json *value = member(function, key);
    if (!value || value->is_null())
      return std::optional<ShapeExpr>();
    StatusOr<ShapeExpr> expr = readDim(*value, where + "." + key);
    if (!expr.isOk())
      return expr.status();
    return std::optional<ShapeExpr>(std::move(*expr));
  }

  /// Every symbol used outside a bare input dim must be bound by one.
  Status checkSymbols(const PlanFunction &function,
                      const std::string &where) const {
    std::set<unsigned> bindable;
    for (const PlanTensor &input : function.inputs)
      for (const ShapeExpr &dim : input.dims)
        if (std::optional<unsigned> symbol = dim.bareSymbol())
          bindable.insert(*symbol);
    auto check = [&](const ShapeExpr &expr, const std::string &at) -> Status {
      for (unsigned symbol : expr.symbols())
        if (!bindable.count(symbol))
          return bad(at, "symbol s" + std::to_string(symbol) + " in '" +
                             expr.text() +
                             "' is not bound by any input dim (only input "
                             "dims that are a bare symbol bind one)");
      return Status::ok();
    };
    auto checkTensors = [&](const std::vector<PlanTensor> &tensors,
                            const char *kind) -> Status {
      for (size_t i = 0; i < tensors.size(); ++i)
        for (size_t d = 0; d < tensors[i].dims.size(); ++d)
          KOPT_RETURN_IF_ERROR(check(
              tensors[i].dims[d], where + "." + kind + "[" + std::to_string(i) +
                                      "].shape[" + std::to_string(d) + "]"));
      return Status::ok();
    };
    KOPT_RETURN_IF_ERROR(checkTensors(function.inputs, "inputs"));
    KOPT_RETURN_IF_ERROR(checkTensors(function.outputs, "outputs"));
    if (function.flops)
      KOPT_RETURN_IF_ERROR(check(*function.flops, where + ".flops"));
    if (function.bytes)
      KOPT_RETURN_IF_ERROR(check(*function.bytes, where + ".bytes"));
    return Status::ok();
  }

  StatusOr<PlanFunction> readFunction(const json &value,
                                      const std::string &where) const {
    if (!value.is_object())
      return bad(where, "must be an object");
    PlanFunction function;
    StatusOr<std::string> name = readString(value, "name", where);
    if (!name.isOk())
      return name.status();
    function.name = std::move(*name);
    if (std::any_of(function.name.begin(), function.name.end(), [](char c) {
          return static_cast<unsigned char>(c) < 0x20;
        }))
      return bad(where, "the function name holds a control character");
    std::string at = where + " ('" + function.name + "')";
    StatusOr<std::string> symbol = readString(value, "symbol", at);
    if (!symbol.isOk())
      return symbol.status();
    function.symbol = std::move(*symbol);
    bool identifier =
        !std::isdigit(static_cast<unsigned char>(function.symbol[0])) &&
        std::all_of(function.symbol.begin(), function.symbol.end(), [](char c) {
          return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
        });
    if (!identifier)
      return bad(at, "symbol '" + function.symbol + "' is not a C identifier");
    KOPT_RETURN_IF_ERROR(readList(value, "inputs", at, /*required=*/true,
                                  &PlanReader::readTensor, function.inputs));
    KOPT_RETURN_IF_ERROR(readList(value, "weights", at, /*required=*/false,
                                  &PlanReader::readWeight, function.weights));
    KOPT_RETURN_IF_ERROR(readList(value, "outputs", at, /*required=*/true,
                                  &PlanReader::readTensor, function.outputs));
    std::set<std::string> weightNames;
    for (const PlanWeight &weight : function.weights)
      if (!weightNames.insert(weight.name).second)
        return bad(at, "weight '" + weight.name + "' is listed twice");
    KOPT_RETURN_IF_ERROR(readCall(value, at, function));
    StatusOr<std::optional<ShapeExpr>> flops = readCost(value, "flops", at);
    if (!flops.isOk())
      return flops.status();
    function.flops = std::move(*flops);
    StatusOr<std::optional<ShapeExpr>> bytes = readCost(value, "bytes", at);
    if (!bytes.isOk())
      return bytes.status();
    function.bytes = std::move(*bytes);
    KOPT_RETURN_IF_ERROR(checkSymbols(function, at));
    return function;
  }

private:
  std::string what_;
};

/// The op and loc of each node of `function` in the reference graph, when
/// the graph has the expected layout; nothing otherwise.
std::vector<PlanNodeInfo> graphNodes(const json &graph,
                                     const std::string &function) {
  std::vector<PlanNodeInfo> nodes;
  if (!graph.is_object())
    return nodes;
  auto functions = graph.find("functions");
  if (functions == graph.end() || !functions->is_array())
    return nodes;
  for (const json &candidate : *functions) {
    if (!candidate.is_object())
      continue;
    auto name = candidate.find("name");
    if (name == candidate.end() || !name->is_string() ||
        name->get_ref<const std::string &>() != function)
      continue;
    auto list = candidate.find("nodes");
    if (list == candidate.end() || !list->is_array())
      return nodes;
    for (const json &node : *list) {
      PlanNodeInfo info;
      if (node.is_object()) {
        auto op = node.find("op");
        if (op != node.end() && op->is_string())
          info.op = op->get<std::string>();
        auto loc = node.find("loc");
        if (loc != node.end() && loc->is_string())
          info.loc = loc->get<std::string>();
      }
      nodes.push_back(std::move(info));
    }
    return nodes;
  }
  return nodes;
}

} // namespace

std::string shapeText(const std::vector<int64_t> &shape) {
  std::string text = "[";
  for (size_t i = 0; i < shape.size(); ++i)
    text += (i ? "x" : "") + std::to_string(shape[i]);
  return text + "]";
}

std::string PlanTensor::shapeText() const {
  std::string text = "[";
  for (size_t i = 0; i < dims.size(); ++i)
    text += (i ? "x" : "") + dims[i].displayText();
  return text + "]";
}

StatusOr<size_t> checkedByteSize(kopt_dtype_t dtype,
                                 const std::vector<int64_t> &shape,
                                 const std::string &what) {
  uint64_t bytes = dtypeSize(dtype);
  if (bytes == 0)
    return invalidArgument(what + " has an unknown dtype");
  for (int64_t dim : shape) {
    if (dim < 0)
      return invalidArgument(what + " has a negative dim in " +
                             rt::shapeText(shape));
    if (__builtin_mul_overflow(bytes, static_cast<uint64_t>(dim), &bytes))
      return outOfRange(what + " of shape " + rt::shapeText(shape) +
                        " is too large to address");
  }
  if (bytes > static_cast<uint64_t>(PTRDIFF_MAX))
    return outOfRange(what + " of shape " + rt::shapeText(shape) +
                      " is too large to address");
  return static_cast<size_t>(bytes);
}

StatusOr<Bindings>
PlanFunction::bind(const std::vector<ShapeRef> &actual) const {
  if (actual.size() != inputs.size())
    return invalidArgument(name + " takes " + std::to_string(inputs.size()) +
                           " input" + (inputs.size() == 1 ? "" : "s") +
                           " but " + std::to_string(actual.size()) +
                           (actual.size() == 1 ? " was" : " were") + " given");
  Bindings bindings;
  // "with s0 = 5 (bound by input 0)" for the symbols `expected` mentions
  // that are bound so far.
  auto boundSymbols = [&](const PlanTensor &expected) {
    std::string text;
    std::set<unsigned> seen;
    for (const ShapeExpr &dim : expected.dims)
      for (unsigned s : dim.symbols())
        if (s < bindings.values.size() && bindings.values[s] &&
            seen.insert(s).second)
          text += std::string(text.empty() ? " with " : ", ") + "s" +
                  std::to_string(s) + " = " +
                  std::to_string(*bindings.values[s]) + " (bound by input " +
                  std::to_string(bindings.boundBy[s]) + ")";
    return text;
  };
  auto mismatch = [&](size_t index) {
    return invalidArgument(
        name + ": input " + std::to_string(index) + " has shape " +
        rt::shapeText(*actual[index].shape) + " but the plan requires " +
        inputs[index].shapeText() + boundSymbols(inputs[index]));
  };
  for (size_t i = 0; i < inputs.size(); ++i) {
    const PlanTensor &expected = inputs[i];
    const std::vector<int64_t> &shape = *actual[i].shape;
    if (actual[i].dtype != expected.dtype)
      return invalidArgument(
          name + ": input " + std::to_string(i) + " has dtype " +
          std::string(dtypeName(actual[i].dtype)) + " but the plan requires " +
          std::string(dtypeName(expected.dtype)));
    if (shape.size() != expected.dims.size())
      return invalidArgument(
          name + ": input " + std::to_string(i) + " has rank " +
          std::to_string(shape.size()) + " (shape " + rt::shapeText(shape) +
          ") but the plan requires rank " +
          std::to_string(expected.dims.size()) + " " + expected.shapeText());
    for (size_t d = 0; d < shape.size(); ++d) {
      const ShapeExpr &dim = expected.dims[d];
      if (std::optional<unsigned> bare = dim.bareSymbol()) {
        if (*bare >= bindings.values.size()) {
          bindings.values.resize(*bare + 1);
          bindings.boundBy.resize(*bare + 1);
        }
        if (!bindings.values[*bare]) {
          bindings.values[*bare] = shape[d];
          bindings.boundBy[*bare] = i;
        } else if (*bindings.values[*bare] != shape[d]) {
          return mismatch(i);
        }
      } else if (std::optional<int64_t> constant = dim.constantValue()) {
        if (*constant != shape[d])
          return mismatch(i);
      }
    }
  }
  // Dims that are expressions, now that every symbol is bound.
  for (size_t i = 0; i < inputs.size(); ++i) {
    const std::vector<int64_t> &shape = *actual[i].shape;
    for (size_t d = 0; d < shape.size(); ++d) {
      const ShapeExpr &dim = inputs[i].dims[d];
      if (dim.bareSymbol() || dim.symbols().empty())
        continue;
      StatusOr<int64_t> value = dim.evaluate(bindings.values);
      if (!value.isOk())
        return invalidArgument(name + ": input " + std::to_string(i) + " dim " +
                               std::to_string(d) + ": " +
                               value.status().message());
      if (*value != shape[d])
        return mismatch(i);
    }
  }
  return bindings;
}

StatusOr<std::vector<int64_t>>
PlanFunction::outputShape(size_t index, const Bindings &bindings) const {
  const PlanTensor &output = outputs.at(index);
  std::vector<int64_t> shape;
  for (size_t d = 0; d < output.dims.size(); ++d) {
    StatusOr<int64_t> value = output.dims[d].evaluate(bindings.values);
    if (!value.isOk())
      return Status(value.status().code(),
                    name + ": output " + std::to_string(index) + " dim " +
                        std::to_string(d) + ": " + value.status().message());
    if (*value < 0)
      return invalidArgument(name + ": output " + std::to_string(index) +
                             " dim " + std::to_string(d) + " '" +
                             output.dims[d].text() + "' is " +
                             std::to_string(*value) +
                             " for these inputs; a dim cannot be negative");
    shape.push_back(*value);
  }
  return shape;
}

std::optional<double> PlanFunction::cost(const std::optional<ShapeExpr> &expr,
                                         const Bindings &bindings) const {
  if (!expr)
    return std::nullopt;
  StatusOr<int64_t> value = expr->evaluate(bindings.values);
  if (!value.isOk() || *value < 0)
    return std::nullopt;
  return static_cast<double>(*value);
}

std::string Plan::planPathFor(const std::string &artifactPath) {
  std::filesystem::path path(artifactPath);
  std::string stem = path.filename().string();
  // As llvm::sys::path::replace_extension, which kopt writes it with.
  size_t dot = stem.rfind('.');
  if (dot != std::string::npos)
    stem.resize(dot);
  return (path.parent_path() / (stem + ".plan.json")).string();
}

StatusOr<std::shared_ptr<const Plan>> Plan::load(const std::string &path) {
  StatusOr<std::shared_ptr<MappedFile>> file = MappedFile::open(path);
  if (!file.isOk()) {
    if (file.status().code() == KOPT_STATUS_NOT_FOUND)
      return notFound("plan '" + path + "' not found: " +
                      "a compiled artifact needs the plan kopt writes beside "
                      "it");
    return file.status();
  }
  if ((*file)->size() > kMaxPlanBytes)
    return dataLoss("plan '" + path + "' is larger than " +
                    std::to_string(kMaxPlanBytes) + " bytes");
  std::string_view text(reinterpret_cast<const char *>((*file)->data()),
                        (*file)->size());
  std::string folder = std::filesystem::path(path).parent_path().string();
  return parse(text, folder, "plan '" + path + "'");
}

StatusOr<std::shared_ptr<const Plan>> Plan::parse(std::string_view text,
                                                  const std::string &folder,
                                                  const std::string &what) {
  StatusOr<json> parsed = parseStrictJson(text, what);
  if (!parsed.isOk())
    return parsed.status();
  const json &root = *parsed;
  PlanReader reader(what);
  if (!root.is_object())
    return reader.bad("", "is not a JSON object");

  const json *format = PlanReader::member(root, "format");
  if (!format || !format->is_string() || *format != "kopt-plan")
    return reader.bad("", "\"format\" must be \"kopt-plan\"");
  const json *version = PlanReader::member(root, "version");
  int64_t versionNumber;
  if (!version || !readInt64(*version, versionNumber))
    return reader.bad("", "\"version\" must be an integer");
  if (versionNumber != kPlanVersion)
    return unimplemented(what + ": plan version " +
                         std::to_string(versionNumber) +
                         " is not supported (this runtime reads version " +
                         std::to_string(kPlanVersion) + ")");

  auto plan = std::make_shared<Plan>();
  const json *artifact = PlanReader::member(root, "artifact");
  if (!artifact || !artifact->is_object())
    return reader.bad("", "\"artifact\" must be an object with \"kind\" and "
                          "\"file\"");
  StatusOr<std::string> kind = reader.readString(*artifact, "kind", "artifact");
  if (!kind.isOk())
    return kind.status();
  plan->artifactKind_ = std::move(*kind);
  StatusOr<std::string> file = reader.readString(*artifact, "file", "artifact");
  if (!file.isOk())
    return file.status();
  plan->artifactFile_ = std::move(*file);
  plan->what_ = what;
  if (const json *bytes = PlanReader::member(*artifact, "bytes")) {
    if (!readInt64(*bytes, plan->artifactBytes_) || plan->artifactBytes_ < 0)
      return reader.bad("artifact", "\"bytes\" must be a non-negative integer");
  }
  if (const json *digest = PlanReader::member(*artifact, "fnv1a64")) {
    if (!digest->is_string() || digest->get_ref<const std::string &>().size() !=
                                    16 ||
        digest->get_ref<const std::string &>().find_first_not_of(
            "0123456789abcdef") != std::string::npos)
      return reader.bad("artifact",
                        "\"fnv1a64\" must be 16 lowercase hex digits");
    plan->artifactDigest_ = digest->get<std::string>();
  }

  if (const json *weights = PlanReader::member(root, "default_weights");
      weights && !weights->is_null()) {
    if (!weights->is_string() ||
        weights->get_ref<const std::string &>().empty())
      return reader.bad("", "\"default_weights\" must be null or a non-empty "
                            "path");
    std::filesystem::path weightsPath(weights->get<std::string>());
    plan->defaultWeights_ =
        weightsPath.is_absolute() || folder.empty()
            ? weightsPath.string()
            : (std::filesystem::path(folder) / weightsPath).string();
  }

  if (const json *dependent = PlanReader::member(root, "dependent_launch")) {
    if (!dependent->is_boolean())
      return reader.bad("", "\"dependent_launch\" must be true or false");
    plan->dependentLaunch_ = dependent->get<bool>();
  }

  const json *functions = PlanReader::member(root, "functions");
  if (!functions || !functions->is_array() || functions->empty())
    return reader.bad("", "\"functions\" must be a non-empty array");
  const json *graph = PlanReader::member(root, "graph");
  std::set<std::string> names, symbols;
  for (size_t i = 0; i < functions->size(); ++i) {
    std::string where = "functions[" + std::to_string(i) + "]";
    StatusOr<PlanFunction> function =
        reader.readFunction((*functions)[i], where);
    if (!function.isOk())
      return function.status();
    if (!names.insert(function->name).second)
      return reader.bad(where,
                        "function '" + function->name + "' is defined twice");
    if (!symbols.insert(function->symbol).second)
      return reader.bad(where, "symbol '" + function->symbol +
                                   "' is used by two functions");
    if (graph)
      function->nodes = graphNodes(*graph, function->name);
    plan->functions_.push_back(std::move(*function));
  }
  if (graph && !graph->is_null())
    plan->graphJson_ =
        graph->dump(-1, ' ', false, json::error_handler_t::replace);
  return std::shared_ptr<const Plan>(std::move(plan));
}

const PlanFunction *Plan::find(const std::string &name) const {
  for (const PlanFunction &function : functions_)
    if (function.name == name)
      return &function;
  return nullptr;
}

std::string Plan::functionList() const {
  std::string list;
  for (const PlanFunction &function : functions_)
    list += (list.empty() ? "" : ", ") + function.name;
  return list;
}

} // namespace kopt::rt
