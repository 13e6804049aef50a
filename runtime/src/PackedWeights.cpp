//===- PackedWeights.cpp - Load-time packing of quantized weights ---------===//
//
// A model compiled with --quantize but no --weights reads the stored tensors
// of each quantized weight (`name.qweight`, ...). Given a float checkpoint,
// the runtime quantizes `name` into them here, with the compiler's code, so
// the bytes equal what `kopt --weights` would have written.
//
//===----------------------------------------------------------------------===//

#include "kopt/runtime/CompiledModule.h"
#include "kopt/runtime/DType.h"
#include "kopt/runtime/Json.h"

#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

namespace kopt::rt {
namespace {

struct PackedTensor {
  kopt_dtype_t dtype;
  std::vector<int64_t> shape;
  std::vector<uint8_t> bytes;
};

kopt_tensor_view_t viewOf(kopt_dtype_t dtype, const std::vector<int64_t> &shape,
                          const std::vector<uint8_t> &bytes) {
  kopt_tensor_view_t view{};
  view.dtype = dtype;
  view.rank = static_cast<int32_t>(shape.size());
  std::copy(shape.begin(), shape.end(), view.shape);
  view.data = bytes.data();
  view.byte_size = bytes.size();
  return view;
}

struct PackedStore {
  std::map<std::string, PackedTensor> tensors;
  std::shared_ptr<const void> baseKeepAlive;
};

/// Prunes the float checkpoint tensor of `part` into its stored parts.
Status pruneInto(PackedStore &store, const SparsePart &part,
                 const std::string &function, const WeightSource &base,
                 const std::string &checkpoint) {
  const sparse::Layout &layout = part.layout;
  std::string what = "weight '" + part.source + "' (sparse, read by " +
                     function + ")";
  std::optional<kopt_tensor_view_t> source = base.lookup(part.source);
  if (!source)
    return notFound("neither '" + part.source + "." + part.part +
                    "' nor the float " + what + " to prune it from is in " +
                    checkpoint);
  std::vector<int64_t> shape(source->shape,
                             source->shape + std::max(0, source->rank));
  if (source->dtype != layout.dtype || shape != layout.shape)
    return invalidArgument(what + " is " +
                           std::string(dtypeName(source->dtype)) + " " +
                           shapeText(shape) + " in " + checkpoint +
                           " but the model needs " +
                           std::string(dtypeName(layout.dtype)) + " " +
                           shapeText(layout.shape));
  StatusOr<sparse::Packed> packed =
      sparse::prune(layout, source->dtype, source->data, source->byte_size);
  if (!packed.isOk())
    return packed.status().withContext("pruning " + what);
  std::vector<quant::Part> parts = sparse::partsOf(layout);
  std::vector<uint8_t> *bytes[] = {&packed->values, &packed->indices};
  for (size_t i = 0; i < parts.size(); ++i)
    store.tensors[part.source + "." + parts[i].suffix] =
        PackedTensor{parts[i].dtype, parts[i].shape, std::move(*bytes[i])};
  return Status::ok();
}

} // namespace

StatusOr<WeightSource> withPackedWeights(const Plan &plan,
                                         const WeightSource &base) {
  if (!base.lookup)
    return invalidArgument("bindWeights: the weight source has no lookup");
  auto store = std::make_shared<PackedStore>();
  store->baseKeepAlive = base.keepAlive;
  std::string checkpoint = base.description.empty()
                               ? "the checkpoint"
                               : "the checkpoint " + base.description;
  for (const PlanFunction &function : plan.functions())
    for (const PlanWeight &weight : function.weights) {
      if ((!weight.quantized && !weight.sparse) || base.lookup(weight.name) ||
          store->tensors.count(weight.name))
        continue;
      if (weight.sparse) {
        KOPT_RETURN_IF_ERROR(pruneInto(*store, *weight.sparse, function.name,
                                       base, checkpoint));
        continue;
      }
      const QuantizedPart &part = *weight.quantized;
      const quant::Encoding &encoding = part.encoding;
      std::string what = "weight '" + part.source + "' (" +
                         quant::storageName(encoding.storage) +
                         "-quantized, read by " + function.name + ")";
      std::optional<kopt_tensor_view_t> source = base.lookup(part.source);
      if (!source)
        return notFound("neither '" + weight.name + "' nor the float " + what +
                        " to pack it from is in " + checkpoint);
      std::vector<int64_t> shape(source->shape,
                                 source->shape + std::max(0, source->rank));
      if (source->dtype != encoding.scale || shape != encoding.shape)
        return invalidArgument(
            what + " is " + std::string(dtypeName(source->dtype)) + " " +
            shapeText(shape) + " in " + checkpoint + " but the model needs " +
            std::string(dtypeName(encoding.scale)) + " " +
            shapeText(encoding.shape));
      StatusOr<quant::Packed> packed = quant::quantize(
          encoding, source->dtype, source->data, source->byte_size);
      if (!packed.isOk())
        return packed.status().withContext("packing " + what);
      std::vector<quant::Part> parts = quant::partsOf(encoding);
      std::vector<uint8_t> *bytes[] = {&packed->qweight, &packed->scales,
                                       &packed->zeros};
      for (size_t i = 0; i < parts.size(); ++i)
        store->tensors[part.source + "." + parts[i].suffix] =
            PackedTensor{parts[i].dtype, parts[i].shape, std::move(*bytes[i])};
    }
  if (store->tensors.empty())
    return base;
  WeightSource packed;
  packed.description = base.description;
  packed.keepAlive = store;
  auto baseLookup = base.lookup;
  const PackedStore *tensors = store.get();
  packed.lookup =
      [tensors, baseLookup](
          const std::string &name) -> std::optional<kopt_tensor_view_t> {
    auto found = tensors->tensors.find(name);
    if (found == tensors->tensors.end())
      return baseLookup(name);
    const PackedTensor &tensor = found->second;
    return viewOf(tensor.dtype, tensor.shape, tensor.bytes);
  };
  return packed;
}

StatusOr<std::string>
writePackedCheckpoint(const std::string &artifactPath,
                      const std::string &checkpoint,
                      const std::map<std::string, HostTensor> &overrides) {
  std::string planPath = Plan::planPathFor(artifactPath);
  StatusOr<std::shared_ptr<const Plan>> plan = Plan::load(planPath);
  if (!plan.isOk())
    return plan.status();
  bool anyQuantized = false;
  for (const PlanFunction &function : (*plan)->functions())
    for (const PlanWeight &weight : function.weights)
      anyQuantized = anyQuantized || weight.quantized.has_value() ||
                     weight.sparse.has_value();
  if (!anyQuantized)
    return std::string();
  StatusOr<std::shared_ptr<WeightSet>> set = WeightSet::open(checkpoint);
  if (!set.isOk())
    return set.status();
  WeightSource base =
      WeightSource::fromWeightSet(std::move(*set), "'" + checkpoint + "'");
  if (!overrides.empty()) {
    auto lookup = base.lookup;
    base.lookup =
        [lookup, &overrides](
            const std::string &name) -> std::optional<kopt_tensor_view_t> {
      auto found = overrides.find(name);
      if (found == overrides.end())
        return lookup(name);
      const HostTensor &tensor = found->second;
      return viewOf(tensor.dtype, tensor.shape, tensor.bytes);
    };
  }
  StatusOr<WeightSource> packed = withPackedWeights(**plan, base);
  if (!packed.isOk())
    return packed.status();

  // Every weight the plan reads, once, in plan order.
  std::vector<TensorToWrite> tensors;
  std::set<std::string> written;
  for (const PlanFunction &function : (*plan)->functions())
    for (const PlanWeight &weight : function.weights) {
      if (!written.insert(weight.name).second)
        continue;
      std::optional<kopt_tensor_view_t> view = packed->lookup(weight.name);
      StatusOr<size_t> bytes = checkWeightView(
          weight, view, function.name, "the checkpoint '" + checkpoint + "'");
      if (!bytes.isOk())
        return bytes.status();
      const auto *begin = static_cast<const uint8_t *>(view->data);
      tensors.push_back(
          TensorToWrite{weight.name, weight.dtype, weight.shape,
                        std::vector<uint8_t>(begin, begin + *bytes)});
    }

  std::filesystem::path artifact(artifactPath);
  std::string stem = artifact.filename().string();
  if (size_t dot = stem.rfind('.'); dot != std::string::npos)
    stem.resize(dot);
  std::string fileName = stem + ".weights.safetensors";
  std::string outPath = (artifact.parent_path() / fileName).string();
  KOPT_RETURN_IF_ERROR(writeSafetensors(
      outPath, tensors,
      {{"format", "kopt-packed"}, {"packed_from", checkpoint}}));

  // Make the packed file the plan's default weights (relative to the plan,
  // so the artifact, plan and weights move together).
  std::ifstream in(planPath, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  StatusOr<nlohmann::json> root =
      parseStrictJson(text.str(), "'" + planPath + "'");
  if (!root.isOk())
    return root.status();
  (*root)["default_weights"] = fileName;
  KOPT_RETURN_IF_ERROR(writeFileAtomically(
      planPath, [&](std::ostream &out) { out << root->dump(); }));
  return outPath;
}

} // namespace kopt::rt
