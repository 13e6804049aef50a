//===- Interpreter.cpp - Walks a kopt graph with the reference kernels ----===//
//
// Validates the graph JSON (format, version, functions, value ids, types),
// binds the inputs to the function's arguments, runs each node's kernel in
// order, checks every result against its declared type (dtype, rank, static
// dims), rounds it to its dtype, and returns the function's results.
//
//===----------------------------------------------------------------------===//

#include "Kernels.h"

#include "kopt/runtime/DType.h"
#include "kopt/runtime/Json.h"

#include <map>
#include <new>
#include <unordered_map>

namespace kopt::rt::reference {
namespace {

using json = nlohmann::json;

/// Every op the evaluator implements.
const std::map<std::string, Kernel> &kernelTable() {
  static const std::map<std::string, Kernel> table = {
      {"kopt.weight", evalWeight},
      {"arith.constant", evalConstant},
      {"kopt.embedding", evalEmbedding},
      {"kopt.linear", evalLinear},
      {"kopt.dequantize", evalDequantize},
      {"kopt.densify", evalDensify},
      {"kopt.fake_quant", evalFakeQuant},
      {"kopt.matmul", evalMatmul},
      {"kopt.add", evalBinary},
      {"kopt.sub", evalBinary},
      {"kopt.mul", evalBinary},
      {"kopt.div", evalBinary},
      {"kopt.silu", evalUnary},
      {"kopt.relu", evalUnary},
      {"kopt.sigmoid", evalUnary},
      {"kopt.tanh", evalUnary},
      {"kopt.exp", evalUnary},
      {"kopt.rsqrt", evalUnary},
      {"kopt.neg", evalUnary},
      {"kopt.gelu", evalUnary},
      {"kopt.clamp", evalClamp},
      {"kopt.cast", evalCast},
      {"kopt.rmsnorm", evalRMSNorm},
      {"kopt.layernorm", evalLayerNorm},
      {"kopt.l2norm", evalL2Norm},
      {"kopt.softmax", evalSoftmax},
      {"kopt.reduce_mean", evalReduce},
      {"kopt.reduce_sum", evalReduce},
      {"kopt.reduce_max", evalReduce},
      {"kopt.argmax", evalArgmax},
      {"kopt.topk", evalTopK},
      {"kopt.gather", evalGather},
      {"kopt.reshape", evalReshape},
      {"kopt.transpose", evalTranspose},
      {"kopt.concat", evalConcat},
      {"kopt.slice", evalSlice},
      {"kopt.rope", evalRope},
      {"kopt.attention", evalAttention},
      {"kopt.cache_update", evalCacheUpdate},
      {"kopt.linear_attention", evalLinearAttention},
      {"kopt.moe", evalMoE},
  };
  return table;
}

/// Parses {"value": id, "dtype": "f32", "shape": [..]} (`what` names it in
/// errors).
Status parseTypedValue(const json &entry, const std::string &what, int64_t &id,
                       TensorType &type) {
  if (!entry.is_object())
    return invalidArgument(what + " must be an object, got " +
                           briefJson(entry));
  auto value = entry.find("value");
  if (value == entry.end() || !readInt64(*value, id))
    return invalidArgument(what + " needs an integer 'value'");
  auto dtype = entry.find("dtype");
  if (dtype == entry.end())
    return invalidArgument(what + " needs a 'dtype'");
  Status status = parseGraphDType(*dtype, type.dtype);
  if (!status.isOk())
    return status.withContext(what);
  auto shape = entry.find("shape");
  if (shape == entry.end() || !shape->is_array())
    return invalidArgument(what + " needs a 'shape' array");
  type.shape.clear();
  for (const json &dim : *shape) {
    int64_t d;
    if (!readInt64(dim, d) || d < -1)
      return invalidArgument(what + " has an invalid shape " +
                             briefJson(*shape) +
                             " (dims are >= 0, or -1 when dynamic)");
    type.shape.push_back(d);
  }
  return Status::ok();
}

/// Whether `shape` is an instance of the declared `pattern` (-1 matches any
/// size).
bool matchesDeclared(const std::vector<int64_t> &shape,
                     const std::vector<int64_t> &pattern) {
  if (shape.size() != pattern.size())
    return false;
  for (size_t i = 0; i < shape.size(); ++i)
    if (pattern[i] != -1 && pattern[i] != shape[i])
      return false;
  return true;
}

/// One evaluation of one function.
class Interpreter {
public:
  Interpreter(const WeightSet *weights, const EvaluationHooks *hooks)
      : weights_(weights), hooks_(hooks) {}

  Status run(const json &function, const std::string &name,
             const std::vector<Value> &inputs, std::vector<Value> &results);

private:
  Status bindArguments(const json &function, const std::string &name,
                       const std::vector<Value> &inputs);
  Status runNode(const json &node, size_t index, bool &returned,
                 std::vector<int64_t> &returnIds);
  Status define(int64_t id, Value value, const std::string &what);

  const WeightSet *weights_;
  const EvaluationHooks *hooks_;
  std::unordered_map<int64_t, Value> values_;
};

Status Interpreter::define(int64_t id, Value value, const std::string &what) {
  if (!values_.emplace(id, std::move(value)).second)
    return invalidArgument(what + ": value " + std::to_string(id) +
                           " is defined more than once");
  return Status::ok();
}

Status Interpreter::bindArguments(const json &function, const std::string &name,
                                  const std::vector<Value> &inputs) {
  auto args = function.find("args");
  if (args == function.end() || !args->is_array())
    return invalidArgument(name + ": function needs an 'args' array");
  if (args->size() != inputs.size())
    return invalidArgument(name + ": expects " + std::to_string(args->size()) +
                           " inputs, got " + std::to_string(inputs.size()));
  for (size_t i = 0; i < inputs.size(); ++i) {
    std::string what = name + ": argument " + std::to_string(i);
    int64_t id;
    TensorType type;
    KOPT_RETURN_IF_ERROR(parseTypedValue((*args)[i], what, id, type));
    const Value &input = inputs[i];
    if (input.dtype != type.dtype)
      return invalidArgument(what + " must be " +
                             formatType(type.dtype, type.shape) + ", got " +
                             std::string(dtypeName(input.dtype)));
    std::optional<int64_t> count = checkedElementCount(input.shape);
    if (!count)
      return invalidArgument(what + ": shape " + formatShape(input.shape) +
                             " is invalid or exceeds the reference "
                             "evaluator's limit of " +
                             std::to_string(kMaxElements) + " elements");
    if (static_cast<size_t>(*count) != input.data.size())
      return invalidArgument(what + ": shape " + formatShape(input.shape) +
                             " does not match its " +
                             std::to_string(input.data.size()) + " elements");
    if (!matchesDeclared(input.shape, type.shape))
      return invalidArgument(what + " must have shape " +
                             formatShape(type.shape) + " (rank " +
                             std::to_string(type.shape.size()) + "), got " +
                             formatShape(input.shape));
    Value value = input;
    for (double &element : value.data)
      element = roundToDType(element, value.dtype);
    KOPT_RETURN_IF_ERROR(define(id, std::move(value), what));
  }
  return Status::ok();
}

Status Interpreter::runNode(const json &node, size_t index, bool &returned,
                            std::vector<int64_t> &returnIds) {
  std::string where = "node " + std::to_string(index);
  if (!node.is_object())
    return invalidArgument(where + " must be an object");
  auto opField = node.find("op");
  if (opField == node.end() || !opField->is_string())
    return invalidArgument(where + " needs an 'op' string");
  std::string op = opField->get<std::string>();
  std::string loc;
  if (auto locField = node.find("loc");
      locField != node.end() && !locField->is_null()) {
    if (!locField->is_string())
      return invalidArgument(where + " (" + op + "): 'loc' must be a string");
    loc = locField->get<std::string>();
  }
  std::string at = loc.empty() ? "" : " (at " + loc + ")";
  if (returned)
    return invalidArgument(op + ": no op may follow func.return" + at);

  // Operands.
  std::vector<int64_t> operandIds;
  if (auto operands = node.find("operands");
      operands != node.end() && !operands->is_null()) {
    if (!operands->is_array())
      return invalidArgument(op + ": 'operands' must be an array" + at);
    for (const json &operand : *operands) {
      int64_t id;
      if (!readInt64(operand, id))
        return invalidArgument(op + ": operands must be value ids, got " +
                               briefJson(*operands) + at);
      operandIds.push_back(id);
    }
  }
  std::vector<const Value *> operands;
  for (size_t i = 0; i < operandIds.size(); ++i) {
    auto it = values_.find(operandIds[i]);
    if (it == values_.end())
      return invalidArgument(op + ": operand " + std::to_string(i) +
                             " (value " + std::to_string(operandIds[i]) +
                             ") is not defined before its use" + at);
    operands.push_back(&it->second);
  }

  if (op == "func.return") {
    returned = true;
    returnIds = operandIds;
    return Status::ok();
  }

  // Declared results.
  std::vector<int64_t> resultIds;
  std::vector<TensorType> resultTypes;
  if (auto results = node.find("results");
      results != node.end() && !results->is_null()) {
    if (!results->is_array())
      return invalidArgument(op + ": 'results' must be an array" + at);
    for (size_t i = 0; i < results->size(); ++i) {
      int64_t id;
      TensorType type;
      KOPT_RETURN_IF_ERROR(parseTypedValue(
          (*results)[i], op + ": result " + std::to_string(i) + at, id, type));
      resultIds.push_back(id);
      resultTypes.push_back(std::move(type));
    }
  }

  const json *attrs = nullptr;
  if (auto attrField = node.find("attrs");
      attrField != node.end() && !attrField->is_null()) {
    if (!attrField->is_object())
      return invalidArgument(op + ": 'attrs' must be an object" + at);
    attrs = &*attrField;
  }

  auto kernel = kernelTable().find(op);
  if (kernel == kernelTable().end())
    return unimplemented(op +
                         ": the reference evaluator does not implement "
                         "this op" +
                         at);

  OpContext ctx(op, loc, operands, resultTypes, attrs, weights_, hooks_);
  std::vector<Value> results;
  KOPT_RETURN_IF_ERROR(kernel->second(ctx, results));
  if (results.size() != resultTypes.size())
    return ctx.invalid("declares " + std::to_string(resultTypes.size()) +
                       " results but computes " +
                       std::to_string(results.size()));
  for (size_t i = 0; i < results.size(); ++i) {
    Value &result = results[i];
    const TensorType &declared = resultTypes[i];
    std::optional<int64_t> count = checkedElementCount(result.shape);
    if (!count || static_cast<size_t>(*count) != result.data.size())
      return ctx.error(KOPT_STATUS_INTERNAL,
                       "result " + std::to_string(i) +
                           " has an inconsistent shape (a bug in kopt)");
    if (result.dtype != declared.dtype ||
        !matchesDeclared(result.shape, declared.shape))
      return ctx.invalid("result " + std::to_string(i) + " is declared " +
                         formatType(declared.dtype, declared.shape) +
                         " but computes " +
                         formatType(result.dtype, result.shape));
    for (double &element : result.data)
      element = roundToDType(element, result.dtype);
  }
  if (hooks_ && hooks_->afterNode)
    hooks_->afterNode(node, operands, results);
  for (size_t i = 0; i < results.size(); ++i)
    KOPT_RETURN_IF_ERROR(define(resultIds[i], std::move(results[i]), op + at));
  return Status::ok();
}

Status Interpreter::run(const json &function, const std::string &name,
                        const std::vector<Value> &inputs,
                        std::vector<Value> &results) {
  KOPT_RETURN_IF_ERROR(bindArguments(function, name, inputs));
  auto nodes = function.find("nodes");
  if (nodes == function.end() || !nodes->is_array())
    return invalidArgument(name + ": function needs a 'nodes' array");
  bool returned = false;
  std::vector<int64_t> returnIds;
  for (size_t i = 0; i < nodes->size(); ++i)
    KOPT_RETURN_IF_ERROR(runNode((*nodes)[i], i, returned, returnIds));

  std::vector<int64_t> resultIds;
  auto declared = function.find("results");
  if (declared != function.end() && !declared->is_null()) {
    if (!declared->is_array())
      return invalidArgument(name + ": 'results' must be an array");
    for (const json &entry : *declared) {
      int64_t id;
      const json &idField =
          entry.is_object() && entry.contains("value") ? entry["value"] : entry;
      if (!readInt64(idField, id))
        return invalidArgument(name + ": 'results' must list value ids, got " +
                               briefJson(*declared));
      resultIds.push_back(id);
    }
    if (returned && resultIds != returnIds)
      return invalidArgument(name + ": func.return and 'results' disagree");
  } else if (returned) {
    resultIds = returnIds;
  } else {
    return invalidArgument(name +
                           ": function has neither 'results' nor func.return");
  }

  for (int64_t id : resultIds) {
    auto it = values_.find(id);
    if (it == values_.end())
      return invalidArgument(name + ": result value " + std::to_string(id) +
                             " is never defined");
    results.push_back(it->second);
  }
  return Status::ok();
}

/// Finds function `name` after checking the graph's header.
Status findFunction(const json &graph, const std::string &name,
                    const json *&out) {
  if (!graph.is_object())
    return invalidArgument("graph: must be a JSON object");
  auto format = graph.find("format");
  if (format == graph.end() || !format->is_string() ||
      format->get<std::string>() != "kopt-graph")
    return invalidArgument("graph: 'format' must be \"kopt-graph\"");
  auto version = graph.find("version");
  int64_t v;
  if (version == graph.end() || !readInt64(*version, v))
    return invalidArgument("graph: needs an integer 'version'");
  if (v != 1)
    return unimplemented("graph: version " + std::to_string(v) +
                         " is not supported (this evaluator reads version 1)");
  auto functions = graph.find("functions");
  if (functions == graph.end() || !functions->is_array())
    return invalidArgument("graph: needs a 'functions' array");
  std::string available;
  for (const json &function : *functions) {
    if (!function.is_object())
      return invalidArgument("graph: every function must be an object");
    auto fname = function.find("name");
    if (fname == function.end() || !fname->is_string())
      return invalidArgument("graph: every function needs a 'name' string");
    if (fname->get<std::string>() == name) {
      out = &function;
      return Status::ok();
    }
    available += (available.empty() ? "" : ", ") + fname->get<std::string>();
  }
  return notFound("graph: no function named '" + name + "' (it has: " +
                  (available.empty() ? "none" : available) + ")");
}

} // namespace

StatusOr<nlohmann::json> parseGraph(std::string_view text) {
  json graph = json::parse(text.begin(), text.end(), nullptr,
                           /*allow_exceptions=*/false);
  if (graph.is_discarded())
    return invalidArgument("graph: malformed JSON");
  return graph;
}

StatusOr<std::vector<Value>> evaluateValues(const nlohmann::json &graph,
                                            const std::string &name,
                                            const std::vector<Value> &inputs,
                                            const WeightSet *weights,
                                            const EvaluationHooks *hooks) {
  // Every JSON access above is checked first; this is only a safety net so
  // that nothing escapes as an exception.
  try {
    const json *function = nullptr;
    KOPT_RETURN_IF_ERROR(findFunction(graph, name, function));
    Interpreter interpreter(weights, hooks);
    std::vector<Value> results;
    KOPT_RETURN_IF_ERROR(interpreter.run(*function, name, inputs, results));
    return results;
  } catch (const std::bad_alloc &) {
    return Status(KOPT_STATUS_RESOURCE_EXHAUSTED,
                  name + ": out of memory during reference evaluation");
  } catch (const std::exception &e) {
    return invalidArgument(name + ": malformed graph (" + e.what() + ")");
  }
}

StatusOr<std::vector<HostTensor>>
evaluate(const nlohmann::json &graph, const std::string &name,
         const std::vector<HostTensor> &inputs, const WeightSet *weights) {
  std::vector<Value> values;
  for (size_t i = 0; i < inputs.size(); ++i) {
    StatusOr<Value> value = toValue(inputs[i]);
    if (!value.isOk())
      return value.status().withContext(name + ": input " + std::to_string(i));
    values.push_back(std::move(*value));
  }
  StatusOr<std::vector<Value>> results =
      evaluateValues(graph, name, values, weights);
  if (!results.isOk())
    return results.status();
  std::vector<HostTensor> tensors;
  for (const Value &result : *results) {
    StatusOr<HostTensor> tensor = toHostTensor(result);
    if (!tensor.isOk())
      return tensor.status();
    tensors.push_back(std::move(*tensor));
  }
  return tensors;
}

} // namespace kopt::rt::reference
