//===- Calibration.cpp - kopt --calibration: data-driven quantization -----===//

#include "Calibration.h"

#include "kopt/Codegen/Passes.h"
#include "kopt/Dialect/Kopt/KoptOps.h"
#include "kopt/runtime/DType.h"
#include "kopt/runtime/QuantCalibration.h"
#include "kopt/runtime/Reference.h"
#include "kopt/runtime/Safetensors.h"

#include "mlir/Pass/PassManager.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/raw_ostream.h"

#include <nlohmann/json.hpp>

#include <cmath>
#include <fstream>

namespace kopt {

using rt::Status;
using rt::StatusOr;

void QuantizeSettings::applyTo(ModelPipelineOptions &options) const {
  options.quantize = mode;
  options.groupSize = groupSize;
  options.strictGroupSize = strictGroupSize;
  options.quantizeSymmetric = symmetric;
  options.quantizeKeep = keep;
  options.quantizeInt8 = int8;
  options.quantizeScaleInputs = scaleInputs;
  options.quantizeActivations = activations;
  options.quantizeFp8FastAccumulation = fp8FastAccumulation;
  options.quantizeImported = imported;
}

namespace {

using nlohmann::json;
namespace quant = rt::quant;
namespace ref = rt::reference;

/// Calibration rows kept per layer: enough to rank layers and fit scales,
/// few enough that every candidate's output error stays cheap.
constexpr int64_t kMaxRows = 256;

std::nullopt_t fail(const llvm::Twine &message) {
  llvm::errs() << "kopt: error: " << message << "\n";
  return std::nullopt;
}

/// `model` through the model pipeline under `settings` (float: none), on a
/// clone; with `graph`, also expanded and exported as the reference graph.
mlir::OwningOpRef<mlir::ModuleOp>
lower(mlir::ModuleOp model, const QuantizeSettings *settings, bool graph) {
  mlir::OwningOpRef<mlir::ModuleOp> clone(model.clone());
  mlir::PassManager pm(model.getContext());
  ModelPipelineOptions options;
  if (settings)
    settings->applyTo(options);
  buildModelPipeline(pm, options);
  if (graph) {
    pm.addPass(createKoptExpandQuantizedWeightsPass());
    pm.addPass(createKoptExportPlanPass());
  }
  if (mlir::failed(pm.run(*clone)))
    return nullptr;
  return clone;
}

std::optional<json> graphOf(mlir::ModuleOp model,
                            const QuantizeSettings *settings) {
  mlir::OwningOpRef<mlir::ModuleOp> lowered = lower(model, settings, true);
  if (!lowered)
    return fail("calibration: could not export the model's graph");
  auto plan = (*lowered)->getAttrOfType<mlir::StringAttr>("kopt.plan");
  json parsed =
      plan ? json::parse(plan.getValue().str(), nullptr, false) : json();
  if (!parsed.is_object() || !parsed.contains("graph"))
    return fail("calibration: the exported plan has no graph");
  return parsed["graph"];
}

/// The encoding every quantized weight gets under `settings`.
std::optional<std::map<std::string, quant::Encoding>>
encodingsOf(mlir::ModuleOp model, const QuantizeSettings &settings) {
  mlir::OwningOpRef<mlir::ModuleOp> lowered = lower(model, &settings, false);
  if (!lowered)
    return std::nullopt;
  std::map<std::string, quant::Encoding> encodings;
  bool ok = true;
  lowered->walk([&](WeightOp weight) {
    auto type = llvm::dyn_cast<QuantizedType>(weight.getType());
    if (!type)
      return;
    mlir::FailureOr<quant::Encoding> encoding = encodingOf(type);
    if (mlir::failed(encoding)) {
      ok = false;
      return;
    }
    encodings[weight.getName().str()] = *encoding;
  });
  if (!ok)
    return fail("calibration: a quantized weight has no packable encoding");
  return encodings;
}

std::string escapeGlob(llvm::StringRef name) {
  std::string escaped;
  for (char c : name) {
    if (llvm::StringRef("*?[]{}\\").contains(c))
      escaped += '\\';
    escaped += c;
  }
  return escaped;
}

std::string describe(const quant::Encoding &encoding) {
  std::string text = quant::storageName(encoding.storage);
  if (encoding.groupSize == 0)
    text += " per-tensor";
  else if (encoding.groupSize == encoding.cols())
    text += " per-channel";
  else
    text += " g" + std::to_string(encoding.groupSize);
  if (encoding.asymmetric)
    text += " asym";
  return text;
}

/// What one evaluation recorded: every linear's output (in graph order) and
/// weight name (float graph only), and the inputs of named linears.
struct Trace {
  std::vector<std::string> linearWeights;
  std::vector<std::vector<double>> linearOutputs;
  std::vector<ref::Value> results;
};

struct LayerInputs {
  quant::Matrix x;
  kopt_dtype_t dtype = KOPT_DTYPE_F32;
  size_t order = 0; ///< Of its first linear in the graph.
};

std::optional<Trace> evaluate(const json &graph, const std::string &function,
                              const std::vector<ref::Value> &inputs,
                              const rt::WeightSet &weights,
                              const CalibratedTensors *overrides,
                              std::map<std::string, LayerInputs> *capture) {
  Trace trace;
  std::map<int64_t, std::string> weightNames;
  ref::EvaluationHooks hooks;
  hooks.weightOverrides = overrides;
  hooks.afterNode = [&](const json &node,
                        const std::vector<const ref::Value *> &operands,
                        const std::vector<ref::Value> &results) {
    // The interpreter has validated the node's operands and results.
    std::string op = node.value("op", "");
    if (op == "kopt.weight" && results.size() == 1) {
      auto attrs = node.find("attrs");
      if (attrs != node.end() && attrs->is_object())
        weightNames[node["results"][0].value("value", int64_t(-1))] =
            attrs->value("name", "");
      return;
    }
    if (op != "kopt.linear" || operands.size() < 2 || results.empty())
      return;
    std::string name;
    if (auto found = weightNames.find(node["operands"][1].get<int64_t>());
        found != weightNames.end())
      name = found->second;
    trace.linearWeights.push_back(name);
    trace.linearOutputs.push_back(results[0].data);
    if (!capture || name.empty())
      return;
    const ref::Value &x = *operands[0];
    int64_t k = x.shape.empty() ? 1 : x.shape.back();
    auto [slot, inserted] = capture->try_emplace(name);
    LayerInputs &layer = slot->second;
    if (inserted)
      layer.order = capture->size() - 1;
    layer.dtype = x.dtype;
    layer.x.cols = k;
    for (int64_t row = 0; row * k < static_cast<int64_t>(x.data.size()) &&
                          layer.x.rows < kMaxRows;
         ++row, ++layer.x.rows)
      for (int64_t c = 0; c < k; ++c)
        layer.x.data.push_back(static_cast<float>(x.data[row * k + c]));
  };
  StatusOr<std::vector<ref::Value>> results =
      ref::evaluateValues(graph, function, inputs, &weights, &hooks);
  if (!results.isOk())
    return fail("calibration: evaluating the model: " +
                results.status().message());
  trace.results = std::move(*results);
  return trace;
}

std::optional<quant::Matrix> weightMatrix(const rt::WeightSet &weights,
                                          const std::string &name) {
  const rt::TensorEntry *entry = weights.lookup(name);
  if (!entry || entry->shape.size() != 2)
    return std::nullopt;
  rt::HostTensor tensor{
      entry->dtype, entry->shape,
      std::vector<uint8_t>(entry->data, entry->data + entry->byteSize)};
  StatusOr<ref::Value> value = ref::toValue(tensor);
  if (!value.isOk())
    return std::nullopt;
  quant::Matrix matrix{entry->shape[0], entry->shape[1], {}};
  matrix.data.assign(value->data.begin(), value->data.end());
  return matrix;
}

StatusOr<rt::HostTensor> hostTensor(kopt_dtype_t dtype,
                                    std::vector<int64_t> shape,
                                    const std::vector<float> &values) {
  ref::Value value{dtype, std::move(shape),
                   std::vector<double>(values.begin(), values.end())};
  return ref::toHostTensor(value);
}

/// The quantized model's outputs against the float model's on every sample.
struct Measurement {
  std::vector<rt::OutputErrorSum> perLinear, perResult;
  std::vector<int64_t> agreements, positions;
  std::vector<std::string> linearNames;

  /// Squared relative error summed over results: what calibration minimizes.
  double outputError() const {
    double total = 0;
    for (const rt::OutputErrorSum &sum : perResult)
      total += std::pow(sum.result().relativeL2, 2);
    return total;
  }
};

std::optional<Measurement>
measure(mlir::ModuleOp model, const QuantizeSettings &settings,
        const json &floatGraph,
        const std::vector<std::vector<ref::Value>> &samples,
        const std::string &function, const rt::WeightSet &weights,
        const CalibratedTensors &tensors) {
  std::optional<json> quantizedGraph = graphOf(model, &settings);
  if (!quantizedGraph)
    return std::nullopt;
  Measurement m;
  for (const std::vector<ref::Value> &sample : samples) {
    std::optional<Trace> exact =
        evaluate(floatGraph, function, sample, weights, nullptr, nullptr);
    std::optional<Trace> approx =
        evaluate(*quantizedGraph, function, sample, weights, &tensors, nullptr);
    if (!exact || !approx)
      return std::nullopt;
    // Linears line up one to one (quantization adds no linear).
    if (exact->linearOutputs.size() == approx->linearOutputs.size()) {
      m.perLinear.resize(exact->linearOutputs.size());
      m.linearNames = exact->linearWeights;
      for (size_t i = 0; i < m.perLinear.size(); ++i)
        m.perLinear[i].add(exact->linearOutputs[i], approx->linearOutputs[i]);
    }
    size_t count = exact->results.size();
    m.perResult.resize(count);
    m.agreements.resize(count, 0);
    m.positions.resize(count, 0);
    for (size_t r = 0; r < count && r < approx->results.size(); ++r) {
      const ref::Value &y = exact->results[r], &yq = approx->results[r];
      m.perResult[r].add(y.data, yq.data);
      // Top-1 agreement along the last dim (next-token logits).
      int64_t last = y.shape.empty() ? 1 : y.shape.back();
      if (last < 2 || !rt::isFloatDType(y.dtype) ||
          y.data.size() != yq.data.size())
        continue;
      for (size_t row = 0; (row + 1) * last <= y.data.size(); ++row) {
        auto begin = y.data.begin() + row * last;
        auto beginQ = yq.data.begin() + row * last;
        m.agreements[r] += std::max_element(begin, begin + last) - begin ==
                           std::max_element(beginQ, beginQ + last) - beginQ;
        ++m.positions[r];
      }
    }
  }
  return m;
}

/// One quantized layer seen on calibration data.
struct Layer {
  std::string name;
  kopt_dtype_t weightDType = KOPT_DTYPE_F32;
  int64_t elements = 0;
  quant::Encoding base;
  std::optional<quant::Encoding> int8;
  bool calibrated = false;
  quant::PrecisionOption baseOption, int8Option, keepOption;
  std::optional<quant::ActivationAwareScales> scales;
  size_t choice = 0; // 0 base, then int8 (when offered), then keep.
  std::string encodingText;
  double bits = 0, localRelativeL2 = 0;
};

} // namespace

std::optional<CalibratedTensors> calibrate(mlir::ModuleOp model,
                                           QuantizeSettings &settings,
                                           const CalibrationRequest &request,
                                           llvm::raw_ostream &log) {
  StatusOr<std::shared_ptr<rt::WeightSet>> opened =
      rt::WeightSet::open(request.weightsPath);
  if (!opened.isOk())
    return fail("calibration: " + opened.status().message());
  const rt::WeightSet &weights = **opened;

  std::vector<std::vector<ref::Value>> samples;
  for (const std::vector<std::string> &paths : request.samples) {
    std::vector<ref::Value> inputs;
    for (std::string path : paths) {
      if (!path.empty() && path[0] == '@')
        path.erase(0, 1);
      StatusOr<rt::HostTensor> tensor = rt::readNpy(path);
      if (!tensor.isOk())
        return fail("--calibration: " + tensor.status().message());
      StatusOr<ref::Value> value = ref::toValue(*tensor);
      if (!value.isOk())
        return fail("--calibration: '" + path +
                    "': " + value.status().message());
      inputs.push_back(std::move(*value));
    }
    samples.push_back(std::move(inputs));
  }

  // 1. The float model on every sample: what each quantized linear reads.
  std::optional<json> floatGraph = graphOf(model, nullptr);
  if (!floatGraph)
    return std::nullopt;
  std::map<std::string, LayerInputs> inputs;
  for (const std::vector<ref::Value> &sample : samples)
    if (!evaluate(*floatGraph, request.function, sample, weights, nullptr,
                  &inputs))
      return std::nullopt;

  // 2. Each layer's options: the requested encoding (activation-aware if
  // asked), int8 per channel, and its float dtype.
  auto baseEncodings = encodingsOf(model, settings);
  if (!baseEncodings)
    return std::nullopt;
  QuantizeSettings asInt8 = settings;
  asInt8.int8 = {"*"};
  std::optional<std::map<std::string, quant::Encoding>> int8Encodings;
  if (settings.mode == QuantMode::Int4)
    int8Encodings = encodingsOf(model, asInt8);
  std::vector<Layer> layers;
  for (auto &[name, encoding] : *baseEncodings) {
    Layer layer;
    layer.name = name;
    layer.base = encoding;
    layer.elements = encoding.experts() * encoding.rows() * encoding.cols();
    if (const rt::TensorEntry *entry = weights.lookup(name))
      layer.weightDType = entry->dtype;
    layer.baseOption.bitsPerWeight = quant::bitsPerWeight(encoding);
    layer.keepOption.bitsPerWeight = rt::dtypeSize(layer.weightDType) * 8.0;
    auto found = inputs.find(name);
    std::optional<quant::Matrix> w = weightMatrix(weights, name);
    if (found != inputs.end() && w && found->second.x.cols == w->cols) {
      const LayerInputs &x = found->second;
      layer.calibrated = true;
      // The output error of `w` packed into `as`, on this layer's inputs.
      auto plainError =
          [&](const quant::Encoding &as) -> StatusOr<rt::OutputError> {
        StatusOr<quant::Matrix> restored = quant::fakeQuantize(as, *w);
        if (!restored.isOk())
          return restored.status();
        return quant::linearOutputError(x.x, *w, x.x, *restored);
      };
      StatusOr<rt::OutputError> baseError = rt::OutputError();
      if (request.activationAware) {
        StatusOr<quant::ActivationAwareScales> scales =
            quant::searchActivationAwareScales(encoding, layer.weightDType,
                                               x.dtype, x.x, *w);
        if (!scales.isOk())
          return fail("calibration of '" + name +
                      "': " + scales.status().message());
        baseError = scales->error;
        if (scales->alpha > 0)
          layer.scales = std::move(*scales);
      } else {
        baseError = plainError(encoding);
      }
      if (!baseError.isOk())
        return fail("calibration of '" + name +
                    "': " + baseError.status().message());
      layer.baseOption.relativeL2 = baseError->relativeL2;
      layer.localRelativeL2 = baseError->relativeL2;
      if (int8Encodings && int8Encodings->count(name)) {
        layer.int8 = int8Encodings->at(name);
        StatusOr<rt::OutputError> int8Error = plainError(*layer.int8);
        if (!int8Error.isOk())
          return fail("calibration of '" + name +
                      "': " + int8Error.status().message());
        layer.int8Option.bitsPerWeight = quant::bitsPerWeight(*layer.int8);
        layer.int8Option.relativeL2 = int8Error->relativeL2;
      }
    }
    layers.push_back(std::move(layer));
  }
  // Report in graph order; weights no calibrated linear reads go last.
  auto rank = [&](const Layer &layer) {
    auto found = inputs.find(layer.name);
    return found == inputs.end() ? inputs.size() : found->second.order;
  };
  std::stable_sort(
      layers.begin(), layers.end(),
      [&](const Layer &a, const Layer &b) { return rank(a) < rank(b); });

  // 3. The size-budgeted policy.
  if (request.budgetBits) {
    std::vector<quant::LayerPrecisions> choices;
    for (const Layer &layer : layers) {
      quant::LayerPrecisions precisions{layer.elements, {layer.baseOption}};
      if (layer.calibrated) {
        if (layer.int8)
          precisions.options.push_back(layer.int8Option);
        precisions.options.push_back(layer.keepOption);
      }
      choices.push_back(std::move(precisions));
    }
    StatusOr<std::vector<size_t>> chosen =
        quant::choosePrecisions(choices, *request.budgetBits);
    if (!chosen.isOk())
      return fail("--quantize-budget: " + chosen.status().message());
    for (size_t i = 0; i < layers.size(); ++i)
      layers[i].choice = (*chosen)[i];
  }

  CalibratedTensors tensors;
  double totalBits = 0, totalElements = 0;
  for (Layer &layer : layers) {
    bool int8 = layer.choice == 1 && layer.int8;
    bool kept = layer.choice > 0 && !int8;
    if (int8) {
      settings.int8.push_back(escapeGlob(layer.name));
      layer.encodingText = describe(*layer.int8);
      layer.bits = layer.int8Option.bitsPerWeight;
      layer.localRelativeL2 = layer.int8Option.relativeL2;
    } else if (kept) {
      settings.keep.push_back(escapeGlob(layer.name));
      layer.encodingText =
          "kept " + std::string(rt::dtypeName(layer.weightDType));
      layer.bits = layer.keepOption.bitsPerWeight;
      layer.localRelativeL2 = 0;
    } else {
      layer.encodingText = describe(layer.base);
      layer.bits = layer.baseOption.bitsPerWeight;
      if (layer.scales) {
        // AWQ: the stored weight is w * scale, the input x / scale.
        settings.scaleInputs.push_back(layer.name);
        layer.encodingText += llvm::formatv(" awq {0:F1}", layer.scales->alpha);
        StatusOr<rt::HostTensor> scaled = hostTensor(
            layer.weightDType, {layer.base.rows(), layer.base.cols()},
            layer.scales->scaledWeight.data);
        StatusOr<rt::HostTensor> inverse =
            hostTensor(inputs.at(layer.name).dtype, {layer.base.cols()},
                       layer.scales->inverse);
        if (!scaled.isOk() || !inverse.isOk())
          return fail("calibration of '" + layer.name + "': " +
                      (scaled.isOk() ? inverse : scaled).status().message());
        tensors[layer.name] = std::move(*scaled);
        tensors[layer.name + ".input_scale"] = std::move(*inverse);
      }
    }
    totalBits += layer.bits * layer.elements;
    totalElements += layer.elements;
  }

  // 4. The final quantized model against the float one. Activation-aware
  // scales that fitted each layer but do not help the whole model's output
  // are dropped.
  std::optional<Measurement> measured =
      measure(model, settings, *floatGraph, samples, request.function, weights,
              tensors);
  if (!measured)
    return std::nullopt;
  bool awqDropped = false;
  if (!settings.scaleInputs.empty()) {
    QuantizeSettings plain = settings;
    plain.scaleInputs.clear();
    std::optional<Measurement> without = measure(
        model, plain, *floatGraph, samples, request.function, weights, {});
    if (!without)
      return std::nullopt;
    if (without->outputError() <= measured->outputError()) {
      settings = plain;
      tensors.clear();
      measured = std::move(without);
      awqDropped = true;
      for (Layer &layer : layers)
        if (layer.scales) {
          layer.encodingText = describe(layer.base);
          layer.localRelativeL2 = layer.scales->plainError.relativeL2;
        }
    }
  }
  const std::vector<rt::OutputErrorSum> &perLinear = measured->perLinear,
                                        &perResult = measured->perResult;
  const std::vector<int64_t> &agreements = measured->agreements,
                             &positions = measured->positions;
  const std::vector<std::string> &linearNames = measured->linearNames;

  json report = {
      {"function", request.function},
      {"samples", samples.size()},
      {"activation_aware", request.activationAware},
      {"bits_per_weight", totalElements > 0 ? totalBits / totalElements : 0.0}};
  if (request.budgetBits)
    report["budget_bits"] = *request.budgetBits;
  if (request.activationAware)
    report["activation_aware_applied"] = !awqDropped;
  log << "kopt: quantization report: " << samples.size()
      << " calibration sample(s) of @" << request.function << ", "
      << layers.size() << " quantized weights, "
      << llvm::format("%.3f",
                      totalElements > 0 ? totalBits / totalElements : 0.0)
      << " bits/weight";
  if (request.budgetBits)
    log << " (budget " << llvm::format("%.3f", *request.budgetBits) << ")";
  log << "\n";
  if (awqDropped)
    log << "  activation-aware scales did not improve the model's output on "
           "the calibration data: not applied\n";
  log << "  " << llvm::left_justify("weight", 44)
      << llvm::left_justify("encoding", 24) << "  bits  layer rel L2"
      << "  in-model rel L2  cosine\n";
  json layerReports = json::array();
  for (const Layer &layer : layers) {
    rt::OutputErrorSum inModel;
    for (size_t i = 0; i < linearNames.size(); ++i)
      if (linearNames[i] == layer.name)
        inModel.merge(perLinear[i]);
    json entry = {{"weight", layer.name},
                  {"encoding", layer.encodingText},
                  {"bits", layer.bits},
                  {"calibrated", layer.calibrated}};
    log << "  " << llvm::left_justify(layer.name, 44)
        << llvm::left_justify(layer.encodingText, 24)
        << llvm::format("%6.2f", layer.bits);
    if (layer.calibrated) {
      entry["layer_rel_l2"] = layer.localRelativeL2;
      log << llvm::format("  %12.5f", layer.localRelativeL2);
    } else {
      log << "             -";
    }
    if (inModel.norm > 0) {
      rt::OutputError error = inModel.result();
      entry["in_model_rel_l2"] = error.relativeL2;
      entry["in_model_cosine"] = error.cosine;
      log << llvm::format("  %15.5f  %.5f", error.relativeL2, error.cosine);
    }
    log << "\n";
    layerReports.push_back(std::move(entry));
  }
  report["layers"] = std::move(layerReports);
  json results = json::array();
  for (size_t r = 0; r < perResult.size(); ++r) {
    rt::OutputError error = perResult[r].result();
    json entry = {
        {"result", r}, {"rel_l2", error.relativeL2}, {"cosine", error.cosine}};
    log << "  whole model, result[" << r << "]: rel L2 "
        << llvm::format("%.5f", error.relativeL2) << ", cosine "
        << llvm::format("%.5f", error.cosine);
    if (positions[r] > 0) {
      entry["top1_agreement"] = double(agreements[r]) / positions[r];
      entry["positions"] = positions[r];
      log << ", top-1 agreement " << agreements[r] << "/" << positions[r]
          << llvm::format(" (%.1f%%)", 100.0 * agreements[r] / positions[r]);
    }
    log << "\n";
    results.push_back(std::move(entry));
  }
  report["model"] = std::move(results);
  if (!request.reportPath.empty()) {
    Status written =
        rt::writeFileAtomically(request.reportPath, [&](std::ostream &out) {
          out << report.dump(2) << "\n";
        });
    if (!written.isOk())
      return fail("--quantize-report: " + written.message());
  }
  return tensors;
}

} // namespace kopt
