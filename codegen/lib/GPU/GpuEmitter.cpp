//===- GpuEmitter.cpp - One function's kernels and launch schedule --------===//

#include "GpuEmitter.h"
#include "LinearEpilogue.h"

#include "Families.h"
#include "KernelText.h"

#include "kopt/Dialect/Kopt/KoptOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Parser/Parser.h"
#include "llvm/ADT/TypeSwitch.h"

#include <cmath>

using namespace mlir;
namespace json = llvm::json;

namespace kopt::gpu {

FailureOr<std::string> KernelLibrary::add(StringRef family,
                                          const std::string &text,
                                          Location loc) {
  auto it = byText_.find(text);
  if (it != byText_.end())
    return it->second;
  std::string name = (family + "_" + Twine(count_++)).str();
  std::string named = text;
  for (size_t at = named.find("@KERNEL"); at != std::string::npos;
       at = named.find("@KERNEL", at))
    named.replace(at, 7, "@" + name);
  std::string source = "gpu.module @parsed {\n" + named + "}\n";
  ParserConfig config(module_.getContext());
  OwningOpRef<ModuleOp> parsed =
      parseSourceString<ModuleOp>(source, config, "kernel " + name);
  if (!parsed) {
    emitError(loc) << "internal error: the " << family
                   << " kernel does not parse:\n"
                   << source;
    return failure();
  }
  auto parsedModule = *parsed->getOps<mlir::gpu::GPUModuleOp>().begin();
  Block &body = module_.getBodyRegion().front();
  for (Operation &op :
       llvm::make_early_inc_range(parsedModule.getBodyRegion().front()))
    op.moveBefore(&body, body.end());
  byText_[text] = name;
  return name;
}

FunctionEmitter::FunctionEmitter(func::FuncOp func, SymbolicShapes &shapes,
                                 KernelLibrary &kernels,
                                 const GpuTarget &target,
                                 ArrayRef<StringRef> weightNames)
    : func_(func), shapes_(shapes), kernels_(kernels), target_(target) {
  for (auto [i, name] : llvm::enumerate(weightNames))
    weightIndex_[name] = i;
  for (BlockArgument arg : func.getArguments()) {
    auto type = cast<RankedTensorType>(arg.getType());
    bufferOfValue_[arg] = buffers_.size();
    buffers_.push_back({type.getElementType(),
                        llvm::to_vector(shapes_.dims[arg]),
                        "input:" + std::to_string(arg.getArgNumber())});
  }
}

SmallVector<AffineExpr> FunctionEmitter::dims(Value value) {
  auto it = shapes_.dims.find(value);
  if (it == shapes_.dims.end())
    return {};
  return it->second;
}

AffineExpr FunctionEmitter::constant(int64_t value) {
  return getAffineConstantExpr(value, context());
}

AffineExpr FunctionEmitter::product(ArrayRef<AffineExpr> dims) {
  AffineExpr result = constant(1);
  for (AffineExpr d : dims)
    result = result * d;
  return result;
}

int64_t FunctionEmitter::bufferOf(Value value) {
  auto it = bufferOfValue_.find(value);
  assert(it != bufferOfValue_.end() && "value without a buffer");
  return it->second;
}

int64_t FunctionEmitter::define(Value result) {
  if (reuseDefinitions_)
    if (auto it = bufferOfValue_.find(result); it != bufferOfValue_.end())
      return it->second;
  auto type = cast<RankedTensorType>(result.getType());
  int64_t id = buffers_.size();
  buffers_.push_back(
      {type.getElementType(), llvm::to_vector(dims(result)), "temp"});
  bufferOfValue_[result] = id;
  return id;
}

bool FunctionEmitter::updatableInPlace(Value value) {
  if (!value.hasOneUse())
    return false;
  StringRef source = buffers_[bufferOf(value)].source;
  return source == "temp" || source.starts_with("input:");
}

void FunctionEmitter::alias(Value result, Value source) {
  auto type = cast<RankedTensorType>(result.getType());
  int64_t root = bufferOf(source);
  StringRef rootSource = buffers_[root].source;
  if (rootSource.starts_with("alias:"))
    root = std::stoll(rootSource.drop_front(6).str());
  bufferOfValue_[result] = buffers_.size();
  buffers_.push_back({type.getElementType(), llvm::to_vector(dims(result)),
                      "alias:" + std::to_string(root)});
}

int64_t FunctionEmitter::scratch(Type elementType, ArrayRef<AffineExpr> dims) {
  buffers_.push_back({elementType, llvm::to_vector(dims), "temp"});
  return buffers_.size() - 1;
}

int64_t FunctionEmitter::zeroedScratch(Type elementType,
                                       ArrayRef<AffineExpr> dims) {
  buffers_.push_back({elementType, llvm::to_vector(dims), "zeroed"});
  return buffers_.size() - 1;
}

int64_t FunctionEmitter::sharedScratch(Type elementType, int64_t elements,
                                       int64_t slot) {
  auto [it, inserted] =
      sharedScratch_.try_emplace(std::make_pair(elementType, slot), -1);
  if (inserted) {
    it->second = scratch(elementType, {constant(elements)});
    return it->second;
  }
  DeviceBuffer &buffer = buffers_[it->second];
  if (elements > *staticValue(buffer.dims[0]))
    buffer.dims[0] = constant(elements);
  return it->second;
}

int64_t FunctionEmitter::constantBuffer(Type elementType,
                                        ArrayRef<float> values) {
  int64_t id = scratch(elementType, {constant(values.size())});
  buffers_[id].source = "constant";
  json::Array data;
  for (float v : values)
    data.push_back(static_cast<double>(v));
  constantValues_[id] = json::Object{{"data", std::move(data)}};
  return id;
}

int64_t FunctionEmitter::status() {
  if (status_ < 0) {
    status_ = buffers_.size();
    buffers_.push_back({IntegerType::get(context(), 64), {constant(4)},
                        "status"});
  }
  return status_;
}

int64_t FunctionEmitter::nodeOf(Operation *op) {
  if (auto node = op->getAttrOfType<IntegerAttr>("kopt.node"))
    return node.getInt();
  return -1;
}

Launch &FunctionEmitter::launch(const std::string &kernel, Operation *op,
                                AffineExpr blocksX, int64_t threads) {
  Launch &l = launches_.emplace_back();
  l.kernel = kernel;
  l.grid[0] = blocksX;
  l.grid[1] = l.grid[2] = constant(1);
  l.block = threads;
  l.node = nodeOf(op);
  l.op = op;
  return l;
}

/// A constant tensor's values for the plan.
static std::optional<json::Object> constantJson(DenseElementsAttr dense) {
  auto element = [](auto value) -> json::Value {
    if constexpr (std::is_same_v<decltype(value), APFloat>) {
      bool lost;
      APFloat wide = value;
      wide.convert(APFloat::IEEEdouble(), APFloat::rmNearestTiesToEven, &lost);
      double v = wide.convertToDouble();
      if (std::isnan(v))
        return "nan";
      if (std::isinf(v))
        return v > 0 ? "inf" : "-inf";
      return v;
    } else {
      return value.getSExtValue();
    }
  };
  bool isFloat = isa<FloatType>(dense.getElementType());
  if (dense.isSplat())
    return json::Object{{"splat", isFloat
                                      ? element(dense.getSplatValue<APFloat>())
                                      : element(dense.getSplatValue<APInt>())}};
  json::Array data;
  if (isFloat)
    for (APFloat v : dense.getValues<APFloat>())
      data.push_back(element(v));
  else
    for (APInt v : dense.getValues<APInt>())
      data.push_back(element(v));
  return json::Object{{"data", std::move(data)}};
}

LogicalResult FunctionEmitter::emit() {
  Operation *terminator = func_.getBody().front().getTerminator();
  for (Operation &op : func_.getBody().front()) {
    if (&op == terminator)
      break;
    if (failed(emitOp(&op)))
      return failure();
  }
  return success();
}

LogicalResult FunctionEmitter::emitOp(Operation *opPtr) {
  Operation &op = *opPtr;
  return llvm::TypeSwitch<Operation *, LogicalResult>(&op)
            .Case([&](WeightOp weight) -> LogicalResult {
              // The plan already refused compressed weights.
              auto type = cast<RankedTensorType>(weight.getType());
              bufferOfValue_[weight] = buffers_.size();
              buffers_.push_back(
                  {type.getElementType(), llvm::to_vector(dims(weight)),
                   "weight:" + std::to_string(
                                   weightIndex_.lookup(weight.getName()))});
              return success();
            })
            .Case([&](arith::ConstantOp constant) -> LogicalResult {
              auto dense = dyn_cast<DenseElementsAttr>(constant.getValue());
              auto type = dyn_cast<RankedTensorType>(constant.getType());
              if (!dense || !type || !type.hasStaticShape())
                return constant.emitError(
                    "only dense tensor constants run on the GPU");
              int64_t id = define(constant.getResult());
              buffers_[id].source = "constant";
              constantValues_[id] = *constantJson(dense);
              return success();
            })
            .Case<AddOp, SubOp, MulOp, DivOp, SiluOp, ReluOp, SigmoidOp,
                  TanhOp, ExpOp, RsqrtOp, NegOp, GeluOp, ClampOp, CastOp>(
                [&](Operation *o) { return emitElementwise(o, *this); })
            .Case<RMSNormOp, LayerNormOp, L2NormOp, SoftmaxOp>(
                [&](Operation *o) { return emitNormalization(o, *this); })
            .Case<ReduceMeanOp, ReduceSumOp, ReduceMaxOp, ArgmaxOp>(
                [&](Operation *o) { return emitReduction(o, *this); })
            .Case([&](DequantizeOp o) { return emitDequantize(o, *this); })
            .Case([&](FakeQuantOp o) { return emitFakeQuant(o, *this); })
            .Case([&](LinearOp o) {
              if (auto variants =
                      o->getAttrOfType<ArrayAttr>("kopt.tile_variants"))
                return emitTileVariants(o, variants);
              return emitLinearAlgebra(o, *this);
            })
            .Case<MatmulOp>(
                [&](Operation *o) { return emitLinearAlgebra(o, *this); })
            .Case<AttentionOp>(
                [&](Operation *o) { return emitAttention(o, *this); })
            .Case([&](TopKOp o) { return emitTopK(o, *this); })
            .Case([&](MoEOp o) { return emitMoE(o, *this); })
            .Case([&](LinearAttentionOp o) {
              return emitLinearAttention(o, *this);
            })
            .Case([&](FusedOp o) { return emitFused(o, *this); })
            .Case<EmbeddingOp, RopeOp, CacheUpdateOp, ReshapeOp, TransposeOp,
                  ConcatOp, SliceOp, GatherOp>(
                [&](Operation *o) { return emitDataMovement(o, *this); })
            .Default([&](Operation *o) -> LogicalResult {
              return o->emitError()
                     << "'" << o->getName()
                     << "' has no GPU kernel yet; compile this model for the "
                        "CPU (-o model.so)";
            });
}

LogicalResult FunctionEmitter::emitTileVariants(LinearOp linear,
                                                ArrayAttr variants) {
  TuningGroup group;
  group.node = nodeOf(linear);
  int64_t id = tuning_.size();
  auto wType = cast<RankedTensorType>(linear.getWeight().getType());
  int64_t n = wType.getDimSize(0), kDim = wType.getDimSize(1);
  group.bucket = numElements(linear.getInput()).floorDiv(kDim);
  std::string weightName = "?";
  int64_t weightBytes = 0;
  if (auto dequantize = linear.getWeight().getDefiningOp<DequantizeOp>()) {
    if (auto codes = dequantize.getCodes().getDefiningOp<WeightOp>())
      weightName = codes.getName().str();
    if (StringRef(weightName).ends_with(".qweight"))
      weightName.resize(weightName.size() - 8);
    for (Value part : dequantize->getOperands()) {
      auto type = cast<RankedTensorType>(part.getType());
      weightBytes += type.getNumElements() *
                     std::max<int64_t>(1, type.getElementTypeBitWidth() / 8);
    }
  }
  int64_t activationBytes =
      std::max<int64_t>(1, wType.getElementTypeBitWidth() / 8);
  group.bytes = constant(weightBytes) + group.bucket * (kDim + n) *
                                            activationBytes;
  group.kernel = "node " + std::to_string(group.node) + ": linear " +
                 std::to_string(n) + "x" + std::to_string(kDim) + " of '" +
                 weightName + "'";
  group.variants.push_back("default");
  auto tag = [&](size_t from, int64_t variant) {
    for (size_t i = from; i < launches_.size(); ++i) {
      launches_[i].tuneGroup = id;
      launches_[i].tuneVariant = variant;
    }
  };
  DictionaryAttr saved = linear->getAttrDictionary();
  linear->removeAttr("kopt.tile_variants");
  size_t first = launches_.size();
  LogicalResult emitted = emitLinearAlgebra(linear, *this);
  linear->setAttrs(saved);
  if (failed(emitted))
    return failure();
  tag(first, 0);
  Value output = epilogueApplied(linear) ? epilogues_.lookup(linear)->result()
                                         : linear.getResult();
  group.output = bufferOf(output);
  for (auto [index, variant] : llvm::enumerate(variants)) {
    auto settings = dyn_cast<DictionaryAttr>(variant);
    if (!settings)
      return linear.emitError("kopt.tile_variants must hold dictionaries of "
                              "tiling attributes");
    std::string label;
    for (NamedAttribute attr : settings) {
      linear->setAttr(attr.getName(), attr.getValue());
      std::string text;
      llvm::raw_string_ostream os(text);
      os << attr.getName().getValue() << " = " << attr.getValue();
      label += (label.empty() ? "" : ", ") + text;
    }
    linear->removeAttr("kopt.tile_variants");
    size_t from = launches_.size();
    reuseDefinitions_ = true;
    emitted = emitLinearAlgebra(linear, *this);
    reuseDefinitions_ = false;
    linear->setAttrs(saved);
    if (failed(emitted))
      return failure();
    tag(from, static_cast<int64_t>(index) + 1);
    group.variants.push_back(label);
  }
  tuning_.push_back(std::move(group));
  return success();
}

int64_t FunctionEmitter::defineOutput(Operation *linear) {
  auto it = epilogues_.find(linear);
  if (it == epilogues_.end())
    return define(linear->getResult(0));
  appliedEpilogues_.insert(linear);
  return define(it->second->result());
}

json::Object FunctionEmitter::toJson() {
  auto exprs = [&](ArrayRef<AffineExpr> list) {
    json::Array array;
    for (AffineExpr e : list)
      array.push_back(affineJson(shapes_.resolve(e)));
    return array;
  };
  json::Array buffers, launches, results;
  for (auto [id, buffer] : llvm::enumerate(buffers_)) {
    json::Object object{{"dtype", typeText(buffer.elementType)},
                        {"shape", exprs(buffer.dims)},
                        {"source", buffer.source}};
    auto it = constantValues_.find(id);
    if (it != constantValues_.end())
      object["value"] = json::Object(it->second);
    buffers.push_back(std::move(object));
  }
  for (Launch &l : launches_) {
    json::Array args;
    for (LaunchArg &arg : l.args) {
      switch (arg.kind) {
      case LaunchArg::Kind::Buffer:
        args.push_back(json::Object{{"buffer", arg.buffer}});
        break;
      case LaunchArg::Kind::Index:
        args.push_back(
            json::Object{{"i64", affineJson(shapes_.resolve(arg.index))}});
        break;
      }
    }
    json::Object object{{"kernel", l.kernel},
                        {"grid", exprs({l.grid[0], l.grid[1], l.grid[2]})},
                        {"block", l.block},
                        {"shared_bytes", l.sharedBytes},
                        {"node", l.node},
                        {"args", std::move(args)}};
    if (l.guard)
      object["guard"] = json::Object{
          {"value", affineJson(shapes_.resolve(*l.guard))},
          {"min", l.guardMin},
          {"max", l.guardMax}};
    if (l.tuneGroup >= 0)
      object["tune"] =
          json::Object{{"group", l.tuneGroup}, {"variant", l.tuneVariant}};
    launches.push_back(std::move(object));
  }
  json::Array tuning;
  for (auto [id, group] : llvm::enumerate(tuning_)) {
    json::Array variants;
    for (const std::string &label : group.variants)
      variants.push_back(label);
    json::Object object{{"group", static_cast<int64_t>(id)},
                        {"node", group.node},
                        {"kernel", group.kernel},
                        {"variants", std::move(variants)},
                        {"bucket", affineJson(shapes_.resolve(group.bucket))},
                        {"output", group.output}};
    if (group.bytes)
      object["bytes"] = affineJson(shapes_.resolve(*group.bytes));
    tuning.push_back(std::move(object));
  }
  Operation *terminator = func_.getBody().front().getTerminator();
  for (Value result : terminator->getOperands())
    results.push_back(bufferOf(result));
  json::Object function{{"buffers", std::move(buffers)},
                        {"launches", std::move(launches)},
                        {"results", std::move(results)}};
  if (!tuning.empty())
    function["tuning"] = std::move(tuning);
  return function;
}

} // namespace kopt::gpu
