//===- ExportPlan.cpp - The host plan of a model --------------------------===//
//
// For every function: inputs, weights and outputs with dtype and shape, the
// entry point's argument order, and the reference graph. Dynamic dims are
// affine expressions over symbols s0, s1, ... that the inputs bind; when an
// op requires two dynamic dims to be equal (ResultDims.h), their symbols are
// unified, so the runtime checks consistency before calling compiled code.
//
//===----------------------------------------------------------------------===//

#include "kopt/Codegen/Passes.h"
#include "kopt/Codegen/ResultDims.h"
#include "kopt/Codegen/SymbolicShapes.h"
#include "kopt/Dialect/Kopt/KoptOps.h"

#include "../GPU/GpuEmitter.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/AffineExpr.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/EquivalenceClasses.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Support/JSON.h"

#include <cmath>

using namespace mlir;
namespace json = llvm::json;

namespace kopt {
#define GEN_PASS_DEF_KOPTEXPORTPLANPASS
#include "kopt/Codegen/Passes.h.inc"

namespace {

std::string dtypeOf(Type type) {
  std::string text;
  llvm::raw_string_ostream os(text);
  os << type;
  return text;
}

std::string locationOf(Location loc) {
  if (auto file = loc->findInstanceOf<FileLineColLoc>())
    return (file.getFilename().getValue() + ":" + Twine(file.getLine()) + ":" +
            Twine(file.getColumn()))
        .str();
  return "";
}

/// The JSON form of an attribute, or nullopt for attributes the reference
/// graph does not carry.
/// A double as JSON; non-finite values (not representable in JSON) as the
/// strings "nan", "inf" and "-inf", which the reference graph accepts.
json::Value doubleJson(double value) {
  if (std::isnan(value))
    return "nan";
  if (std::isinf(value))
    return value > 0 ? "inf" : "-inf";
  return value;
}

/// A quantized encoding as the runtime reads it (rt::quant::Encoding).
json::Object encodingJson(QuantizedType type) {
  return json::Object{
      {"storage", dtypeOf(type.getStorage())},
      {"group_size", type.getGroupSize()},
      {"scale", dtypeOf(type.getScale())},
      {"asymmetric", type.isAsymmetric()},
      {"layout", type.getLayout() == QuantLayout::Mma ? "mma" : "plain"},
      {"shape", json::Array(type.getShape())}};
}

std::optional<json::Value> attributeJson(Attribute attr) {
  if (auto typeAttr = dyn_cast<TypeAttr>(attr))
  {
    if (auto quantized = dyn_cast<QuantizedType>(typeAttr.getValue()))
      return json::Value(encodingJson(quantized));
    std::string text;
    llvm::raw_string_ostream os(text);
    typeAttr.getValue().print(os);
    return json::Value(text);
  }
  if (auto dictionary = dyn_cast<DictionaryAttr>(attr)) {
    json::Object object;
    for (NamedAttribute entry : dictionary)
      if (std::optional<json::Value> value = attributeJson(entry.getValue()))
        object[entry.getName().getValue()] = std::move(*value);
    return json::Value(std::move(object));
  }
  if (auto b = dyn_cast<BoolAttr>(attr))
    return json::Value(b.getValue());
  if (auto i = dyn_cast<IntegerAttr>(attr))
    return json::Value(i.getInt());
  if (auto f = dyn_cast<FloatAttr>(attr))
    return doubleJson(f.getValueAsDouble());
  if (auto s = dyn_cast<StringAttr>(attr))
    return json::Value(s.getValue().str());
  if (auto a = dyn_cast<DenseI64ArrayAttr>(attr))
    return json::Value(json::Array(a.asArrayRef()));
  if (auto a = dyn_cast<DenseF32ArrayAttr>(attr)) {
    json::Array values;
    for (float v : a.asArrayRef())
      values.push_back(doubleJson(v));
    return json::Value(std::move(values));
  }
  if (auto dense = dyn_cast<DenseElementsAttr>(attr)) {
    auto toJson = [&](auto value) -> json::Value {
      if constexpr (std::is_same_v<decltype(value), APFloat>) {
        bool lost;
        APFloat wide = value;
        wide.convert(APFloat::IEEEdouble(), APFloat::rmNearestTiesToEven,
                     &lost);
        return doubleJson(wide.convertToDouble());
      }
      else
        return value.getSExtValue();
    };
    bool isFloat = isa<FloatType>(dense.getElementType());
    if (dense.isSplat())
      return json::Object{
          {"splat", isFloat ? toJson(dense.getSplatValue<APFloat>())
                            : toJson(dense.getSplatValue<APInt>())}};
    json::Array data;
    if (isFloat)
      for (APFloat v : dense.getValues<APFloat>())
        data.push_back(toJson(v));
    else
      for (APInt v : dense.getValues<APInt>())
        data.push_back(toJson(v));
    return json::Object{{"data", std::move(data)}};
  }
  return std::nullopt;
}

struct KoptExportPlanPass : impl::KoptExportPlanPassBase<KoptExportPlanPass> {
  mlir::gpu::GPUModuleOp kernelModule;
  std::optional<gpu::KernelLibrary> library;
  std::optional<GpuTarget> target;

  using KoptExportPlanPassBase::KoptExportPlanPassBase;

  void runOnOperation() override {
    if (!gpuTarget.empty()) {
      target = lookupGpuTarget(gpuTarget);
      if (!target) {
        getOperation().emitError("unknown GPU target '") << gpuTarget << "'";
        return signalPassFailure();
      }
      ModuleOp module = getOperation();
      module->setAttr("gpu.container_module", UnitAttr::get(&getContext()));
      OpBuilder builder(module.getBodyRegion());
      builder.setInsertionPointToEnd(module.getBody());
      kernelModule = mlir::gpu::GPUModuleOp::create(builder, module.getLoc(),
                                                    "kopt_kernels");
      library.emplace(kernelModule);
    }
    json::Array functions, graphFunctions;
    for (auto func : llvm::make_early_inc_range(
             getOperation().getOps<func::FuncOp>())) {
      if (func.isExternal())
        continue;
      if (failed(exportFunction(func, functions, graphFunctions)))
        return signalPassFailure();
    }
    if (kernelModule)
      eraseUnlaunchedKernels(functions);
    json::Object plan{
        {"format", "kopt-plan"},
        {"version", 1},
        {"functions", std::move(functions)},
        {"graph", json::Object{{"format", "kopt-graph"},
                               {"version", 1},
                               {"functions", std::move(graphFunctions)}}}};
    if (kernelModule)
      plan["gpu_target"] = gpuTarget;
    if (auto weights = getOperation()->getAttrOfType<StringAttr>("kopt.weights"))
      plan["default_weights"] = weights.getValue().str();
    std::string text;
    llvm::raw_string_ostream os(text);
    os << json::Value(std::move(plan));
    getOperation()->setAttr("kopt.plan", StringAttr::get(&getContext(), text));
  }

  /// Drops the kernels no launch names any more (parts of merged ones).
  void eraseUnlaunchedKernels(const json::Array &functions) {
    llvm::StringSet<> launched;
    for (const json::Value &function : functions)
      if (const json::Array *launches =
              function.getAsObject()->getArray("launches"))
        for (const json::Value &launch : *launches)
          if (auto kernel = launch.getAsObject()->getString("kernel"))
            launched.insert(*kernel);
    for (auto kernel : llvm::make_early_inc_range(
             kernelModule.getOps<mlir::gpu::GPUFuncOp>()))
      if (!launched.contains(kernel.getName()))
        kernel.erase();
  }

  /// The least traffic of a call (every input and weight read once, every
  /// output written once) and the flops of its matrix products, which
  /// kopt-run --benchmark turns into GB/s and TFLOP/s.
  struct FunctionCost {
    AffineExpr bytes, flops;
    bool hasFlops = false;
  };
  static std::optional<FunctionCost>
  functionCost(func::FuncOp func, ArrayRef<Operation *> graphOps,
               const llvm::MapVector<StringRef, WeightOp> &weights,
               Operation *terminator, SymbolicShapes &shapes) {
    auto elements = [&](Value value) {
      AffineExpr count = shapes.constant(1);
      for (AffineExpr dim : shapes.dims[value])
        count = count * dim;
      return count;
    };
    bool known = true;
    auto bytesOf = [&](Value value) {
      auto type = dyn_cast<RankedTensorType>(value.getType());
      if (!type || !type.getElementType().isIntOrFloat()) {
        known = false;
        return shapes.constant(0);
      }
      unsigned bits = type.getElementType().getIntOrFloatBitWidth();
      return (elements(value) * bits).ceilDiv(8);
    };
    FunctionCost cost{shapes.constant(0), shapes.constant(0)};
    for (BlockArgument arg : func.getArguments())
      cost.bytes = cost.bytes + bytesOf(arg);
    for (auto &entry : weights)
      cost.bytes = cost.bytes + bytesOf(entry.second->getResult(0));
    for (Value result : terminator->getOperands())
      cost.bytes = cost.bytes + bytesOf(result);
    auto lastDim = [&](Value value) { return shapes.dims[value].back(); };
    for (Operation *op : graphOps) {
      AffineExpr flops;
      if (auto linear = dyn_cast<LinearOp>(op))
        flops = elements(linear.getResult()) * lastDim(linear.getInput()) * 2;
      else if (auto matmul = dyn_cast<MatmulOp>(op))
        flops = elements(matmul.getResult()) * lastDim(matmul.getLhs()) * 2;
      else if (auto attention = dyn_cast<AttentionOp>(op))
        // QK^T and PV over every key position ([B,Skv,Hkv,D]); half of the
        // pairs when causal, as FlashAttention counts.
        flops = elements(attention.getQuery()) *
                shapes.dims[attention.getKey()][1] *
                (attention.getCausal() ? 2 : 4);
      if (flops) {
        cost.flops = cost.flops + flops;
        cost.hasFlops = true;
      }
    }
    if (!known)
      return std::nullopt;
    return cost;
  }

  LogicalResult exportFunction(func::FuncOp func, json::Array &functions,
                               json::Array &graphFunctions) {
    SymbolicShapes shapes(&getContext());
    llvm::DenseMap<Value, int64_t> ids;
    int64_t nextId = 0;
    json::Array inputs, graphArgs;
    for (BlockArgument arg : func.getArguments()) {
      if (!isa<RankedTensorType>(arg.getType()))
        return func.emitError("argument types must be ranked tensors");
      shapes.bindArgument(arg);
      ids[arg] = nextId++;
    }

    // Derive every value's dims, in order, and number the nodes.
    json::Array nodes;
    llvm::MapVector<StringRef, WeightOp> weights;
    int64_t nodeIndex = 0;
    Operation *terminator = func.getBody().front().getTerminator();
    // The ops of the reference graph: kopt.fused groups contribute the ops
    // of their bodies (their results are the values the bodies yield).
    SmallVector<Operation *> graphOps;
    for (Operation &op : func.getBody().front()) {
      if (&op == terminator)
        break;
      if (auto fused = dyn_cast<FusedOp>(op)) {
        for (Operation &inner : fused.getBody().front().without_terminator())
          graphOps.push_back(&inner);
        continue;
      }
      graphOps.push_back(&op);
    }
    for (Operation *opPtr : graphOps) {
      Operation &op = *opPtr;
      if (auto weight = dyn_cast<WeightOp>(op))
        weights.insert({weight.getName(), weight});
      for (auto [index, result] : llvm::enumerate(op.getResults())) {
        auto type = dyn_cast<RankedTensorType>(result.getType());
        if (!type)
          continue;
        SmallVector<AffineExpr> dims;
        if (type.hasStaticShape()) {
          for (int64_t size : type.getShape())
            dims.push_back(shapes.constant(size));
        } else if (failed(computeResultDims<AffineExpr>(&op, index, shapes,
                                                        dims))) {
          return op.emitError("cannot derive the dynamic result dims of this "
                              "op for the host plan");
        }
        shapes.dims[result] = dims;
      }
      if (shapes.failed)
        return op.emitError("an operand has no known shape");
      op.setAttr("kopt.node",
                 IntegerAttr::get(IntegerType::get(&getContext(), 64),
                                  nodeIndex++));
      // A group takes the dims of what it yields, and the node of its last
      // op (which its launches are reported as).
      if (auto fused = dyn_cast<FusedOp>(op.getParentOp());
          fused && op.getNextNode() == fused.getYield()) {
        for (auto [result, yielded] :
             llvm::zip(fused.getResults(), fused.getYield().getValues()))
          shapes.dims[result] = shapes.dims[yielded];
        fused->setAttr("kopt.node", op.getAttr("kopt.node"));
      }
    }

    auto typeJson = [&](Value value) {
      json::Object object{{"value", ids[value]}};
      auto type = cast<RankedTensorType>(value.getType());
      object["dtype"] = dtypeOf(type.getElementType());
      json::Array shape;
      for (int64_t size : type.getShape())
        shape.push_back(ShapedType::isDynamic(size) ? -1 : size);
      object["shape"] = std::move(shape);
      return object;
    };
    for (BlockArgument arg : func.getArguments()) {
      inputs.push_back(json::Object{{"dtype", dtypeOf(cast<RankedTensorType>(
                                                   arg.getType())
                                                   .getElementType())},
                                    {"shape", shapes.shapeJson(arg)}});
      graphArgs.push_back(typeJson(arg));
    }
    for (Operation *opPtr : graphOps) {
      Operation &op = *opPtr;
      json::Object node{{"op", op.getName().getStringRef().str()}};
      json::Array operands, results;
      for (Value operand : op.getOperands())
        operands.push_back(ids.lookup(operand));
      for (Value result : op.getResults()) {
        ids[result] = nextId++;
        if (isa<RankedTensorType>(result.getType()))
          results.push_back(typeJson(result));
        else
          results.push_back(json::Object{{"value", ids[result]},
                                         {"type", dtypeOf(result.getType())}});
      }
      json::Object attrs;
      for (NamedAttribute attr : op.getAttrs()) {
        if (attr.getName() == "kopt.node")
          continue;
        if (std::optional<json::Value> value = attributeJson(attr.getValue()))
          attrs[attr.getName().getValue()] = std::move(*value);
      }
      node["operands"] = std::move(operands);
      node["results"] = std::move(results);
      node["attrs"] = std::move(attrs);
      std::string loc = locationOf(op.getLoc());
      if (!loc.empty())
        node["loc"] = loc;
      nodes.push_back(std::move(node));
      if (auto fused = dyn_cast<FusedOp>(op.getParentOp());
          fused && op.getNextNode() == fused.getYield())
        for (auto [result, yielded] :
             llvm::zip(fused.getResults(), fused.getYield().getValues()))
          ids[result] = ids.lookup(yielded);
    }

    json::Array outputs, graphResults, weightList, call;
    for (Value result : terminator->getOperands()) {
      auto type = dyn_cast<RankedTensorType>(result.getType());
      if (!type)
        return terminator->emitError("function results must be tensors");
      outputs.push_back(json::Object{{"dtype", dtypeOf(type.getElementType())},
                                     {"shape", shapes.shapeJson(result)}});
      graphResults.push_back(ids.lookup(result));
    }
    for (auto &[name, op] : weights) {
      auto type = dyn_cast<RankedTensorType>(op.getType());
      if (!type)
        return op.emitError("compressed weights are not in the host plan yet");
      json::Array shape(type.getShape());
      json::Object entry{{"name", name.str()},
                         {"dtype", dtypeOf(type.getElementType())},
                         {"shape", std::move(shape)}};
      // A stored tensor of a quantized weight: what the runtime needs to
      // pack it from the float checkpoint tensor `source`.
      if (auto part = op->getAttrOfType<DictionaryAttr>("kopt.quantized_part")) {
        auto source = part.getAs<StringAttr>("source");
        auto partName = part.getAs<StringAttr>("part");
        auto encoding = part.getAs<TypeAttr>("encoding");
        if (!source || !partName || !encoding ||
            !isa<QuantizedType>(encoding.getValue()))
          return op.emitError("malformed kopt.quantized_part attribute");
        json::Object quantized =
            encodingJson(cast<QuantizedType>(encoding.getValue()));
        quantized["source"] = source.getValue().str();
        quantized["part"] = partName.getValue().str();
        entry["quantized"] = std::move(quantized);
      }
      weightList.push_back(std::move(entry));
    }
    for (size_t i = 0; i < inputs.size(); ++i)
      call.push_back("input:" + std::to_string(i));
    for (size_t i = 0; i < weightList.size(); ++i)
      call.push_back("weight:" + std::to_string(i));
    for (size_t i = 0; i < outputs.size(); ++i)
      call.push_back("output:" + std::to_string(i));
    call.push_back("status");

    std::string name = func.getSymName().str();
    std::optional<FunctionCost> cost =
        functionCost(func, graphOps, weights, terminator, shapes);
    json::Object function{{"name", name},
                          {"symbol", "kopt_call_" + name},
                          {"inputs", std::move(inputs)},
                          {"weights", std::move(weightList)},
                          {"outputs", std::move(outputs)},
                          {"call", std::move(call)}};
    if (cost) {
      function["bytes"] = shapes.exprJson(cost->bytes);
      if (cost->hasFlops)
        function["flops"] = shapes.exprJson(cost->flops);
    }
    if (library) {
      SmallVector<StringRef> weightNames;
      for (auto &entry : weights)
        weightNames.push_back(entry.first);
      gpu::FunctionEmitter emitter(func, shapes, *library, *target,
                                   weightNames);
      emitter.setReaderEpilogues(readerEpilogues);
      if (failed(emitter.emit()))
        return failure();
      if (mergeLaunches)
        emitter.mergeIndependentLaunches();
      for (auto &entry : emitter.toJson())
        function[entry.first] = std::move(entry.second);
    }
    functions.push_back(std::move(function));
    graphFunctions.push_back(json::Object{{"name", name},
                                          {"args", std::move(graphArgs)},
                                          {"results", std::move(graphResults)},
                                          {"nodes", std::move(nodes)}});
    return success();
  }
};

} // namespace
} // namespace kopt
