//===- GpuModule.cpp - Running a PTX artifact's launch schedule -----------===//
//
// The schedule of each plan function (kopt's GPU plan: "buffers",
// "launches", "results") is validated on load: buffer sources, ids,
// expressions, kernels present in the PTX, argument kinds. At a call, one
// device arena holds every buffer of the call (256-byte aligned slices) and
// is kept for the next call; benchmarks capture the launches once as a CUDA
// graph and replay it.
//
//===----------------------------------------------------------------------===//

#include "kopt/runtime/GpuModule.h"

#include "GpuModuleState.h"
#include "ModuleCpuDevice.h"
#include "cuda/CudaDriver.h"
#include "cuda/L2Flush.h"
#include "kopt/runtime/DType.h"
#include "kopt/runtime/Reference.h"
#include "kopt/runtime/TuningCache.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>

namespace kopt::rt {

using cuda::check;
using json = nlohmann::json;


namespace {

Status bad(const std::string &where, const std::string &why) {
  return dataLoss("plan schedule: " + where + ": " + why);
}

StatusOr<ShapeExpr> readExpr(const json &value, const std::string &where) {
  if (value.is_number_integer())
    return ShapeExpr::constant(value.get<int64_t>());
  if (!value.is_string())
    return bad(where, "must be an integer or an expression string");
  StatusOr<ShapeExpr> expr = ShapeExpr::parse(value.get<std::string>());
  if (!expr.isOk())
    return bad(where, expr.status().message());
  return expr;
}

Status readSchedule(const json &function, const PlanFunction &planFunction,
                    Schedule &schedule) {
  std::string at = "function '" + planFunction.name + "'";
  auto buffers = function.find("buffers");
  auto launches = function.find("launches");
  auto results = function.find("results");
  if (buffers == function.end() || !buffers->is_array() ||
      launches == function.end() || !launches->is_array() ||
      results == function.end() || !results->is_array())
    return bad(at, "needs \"buffers\", \"launches\" and \"results\" arrays "
                   "(was it compiled for a GPU?)");
  for (size_t i = 0; i < buffers->size(); ++i) {
    const json &b = (*buffers)[i];
    std::string where = at + ".buffers[" + std::to_string(i) + "]";
    if (!b.is_object() || !b.contains("dtype") || !b["dtype"].is_string() ||
        !b.contains("shape") || !b["shape"].is_array() ||
        !b.contains("source") || !b["source"].is_string())
      return bad(where, "needs \"dtype\", \"shape\" and \"source\"");
    ScheduleBuffer buffer;
    std::optional<kopt_dtype_t> dtype =
        parseDTypeName(b["dtype"].get<std::string>());
    if (!dtype)
      return bad(where, "unknown dtype");
    buffer.dtype = *dtype;
    if (b["shape"].size() > KOPT_MAX_RANK)
      return bad(where, "rank too large");
    for (const json &dim : b["shape"]) {
      StatusOr<ShapeExpr> e = readExpr(dim, where + ".shape");
      if (!e.isOk())
        return e.status();
      buffer.dims.push_back(std::move(*e));
    }
    std::string source = b["source"].get<std::string>();
    auto indexAfter = [&](size_t prefix, size_t limit,
                          const char *what) -> StatusOr<size_t> {
      std::string digits = source.substr(prefix);
      if (digits.empty() || digits.size() > 9 ||
          digits.find_first_not_of("0123456789") != std::string::npos)
        return bad(where, "bad source '" + source + "'");
      size_t index = std::stoul(digits);
      if (index >= limit)
        return bad(where, std::string("refers to a missing ") + what);
      return index;
    };
    bool input = source.rfind("input:", 0) == 0;
    if (input || source.rfind("weight:", 0) == 0) {
      buffer.source = input ? ScheduleBuffer::Source::Input
                            : ScheduleBuffer::Source::Weight;
      StatusOr<size_t> index =
          input ? indexAfter(6, planFunction.inputs.size(), "input")
                : indexAfter(7, planFunction.weights.size(), "weight");
      if (!index.isOk())
        return index.status();
      buffer.index = *index;
    } else if (source.rfind("alias:", 0) == 0) {
      buffer.source = ScheduleBuffer::Source::Alias;
      StatusOr<size_t> index = indexAfter(6, i, "earlier buffer");
      if (!index.isOk())
        return index.status();
      if (schedule.buffers[*index].source == ScheduleBuffer::Source::Alias)
        return bad(where, "an alias must name its root buffer");
      buffer.index = *index;
    } else if (source == "temp") {
      buffer.source = ScheduleBuffer::Source::Temp;
    } else if (source == "zeroed") {
      buffer.source = ScheduleBuffer::Source::Zeroed;
    } else if (source == "status") {
      buffer.source = ScheduleBuffer::Source::Status;
    } else if (source == "constant") {
      buffer.source = ScheduleBuffer::Source::Constant;
      int64_t count = 1;
      for (const ShapeExpr &dim : buffer.dims) {
        std::optional<int64_t> c = dim.constantValue();
        if (!c || *c < 0 || *c > (int64_t(1) << 24))
          return bad(where, "a constant needs a small static shape");
        count *= *c;
      }
      if (count > (int64_t(1) << 24))
        return bad(where, "constant too large");
      const json *value = b.contains("value") ? &b["value"] : nullptr;
      if (!value || !value->is_object())
        return bad(where, "a constant needs a \"value\" object");
      std::vector<double> values;
      auto number = [&](const json &v, double &out) {
        if (v.is_number()) {
          out = v.get<double>();
          return true;
        }
        if (v.is_string()) {
          std::string s = v.get<std::string>();
          out = s == "nan"    ? NAN
                : s == "inf"  ? INFINITY
                : s == "-inf" ? -INFINITY
                              : 0;
          return s == "nan" || s == "inf" || s == "-inf";
        }
        return false;
      };
      double splat;
      if (value->contains("splat") && number((*value)["splat"], splat)) {
        values.assign(static_cast<size_t>(count), splat);
      } else if (value->contains("data") && (*value)["data"].is_array() &&
                 (*value)["data"].size() == static_cast<size_t>(count)) {
        for (const json &v : (*value)["data"]) {
          double x;
          if (!number(v, x))
            return bad(where, "constant data must be numbers");
          values.push_back(x);
        }
      } else {
        return bad(where, "constant value must be a splat or " +
                              std::to_string(count) + " data values");
      }
      reference::Value decoded{buffer.dtype, {count}, std::move(values)};
      StatusOr<HostTensor> tensor = reference::toHostTensor(decoded);
      if (!tensor.isOk())
        return bad(where, tensor.status().message());
      buffer.constant = std::move(tensor->bytes);
    } else {
      return bad(where, "unknown source '" + source + "'");
    }
    schedule.buffers.push_back(std::move(buffer));
  }
  for (size_t i = 0; i < launches->size(); ++i) {
    const json &l = (*launches)[i];
    std::string where = at + ".launches[" + std::to_string(i) + "]";
    if (!l.is_object() || !l.contains("kernel") || !l["kernel"].is_string() ||
        !l.contains("grid") || !l["grid"].is_array() || l["grid"].size() != 3 ||
        !l.contains("block") || !l["block"].is_number_integer() ||
        !l.contains("args") || !l["args"].is_array())
      return bad(where, "needs \"kernel\", \"grid\" (3), \"block\", \"args\"");
    ScheduleLaunch launch;
    launch.kernel = l["kernel"].get<std::string>();
    for (int g = 0; g < 3; ++g) {
      StatusOr<ShapeExpr> e = readExpr(l["grid"][g], where + ".grid");
      if (!e.isOk())
        return e.status();
      launch.grid[g] = std::move(*e);
    }
    int64_t block = l["block"].get<int64_t>();
    if (block < 1 || block > 1024)
      return bad(where, "block must be in [1, 1024]");
    launch.block = static_cast<unsigned>(block);
    if (l.contains("shared_bytes") && l["shared_bytes"].is_number_integer()) {
      int64_t s = l["shared_bytes"].get<int64_t>();
      if (s < 0 || s > (1 << 20))
        return bad(where, "bad shared_bytes");
      launch.sharedBytes = static_cast<unsigned>(s);
    }
    if (l.contains("guard")) {
      const json &g = l["guard"];
      if (!g.is_object() || !g.contains("value") || !g.contains("min") ||
          !g.contains("max") || !g["min"].is_number_integer() ||
          !g["max"].is_number_integer())
        return bad(where, "guard needs value, min and max");
      StatusOr<ShapeExpr> e = readExpr(g["value"], where + ".guard");
      if (!e.isOk())
        return e.status();
      launch.guard = std::move(*e);
      launch.guardMin = g["min"].get<int64_t>();
      launch.guardMax = g["max"].get<int64_t>();
    }
    if (l.contains("tune")) {
      const json &t = l["tune"];
      if (!t.is_object() || !t.contains("group") || !t.contains("variant") ||
          !t["group"].is_number_unsigned() || !t["variant"].is_number_unsigned() ||
          t["group"].get<uint64_t>() > 1000000 ||
          t["variant"].get<uint64_t>() > 1000)
        return bad(where, "tune needs a group and a variant (unsigned)");
      launch.tuneGroup = t["group"].get<int>();
      launch.tuneVariant = t["variant"].get<int>();
    }
    for (const json &a : l["args"]) {
      ScheduleArg arg;
      if (a.is_object() && a.contains("buffer") &&
          a["buffer"].is_number_unsigned() &&
          a["buffer"].get<uint64_t>() < schedule.buffers.size()) {
        arg.kind = ScheduleArg::Kind::Buffer;
        arg.buffer = a["buffer"].get<size_t>();
      } else if (a.is_object() && a.contains("i64")) {
        StatusOr<ShapeExpr> e = readExpr(a["i64"], where + ".args");
        if (!e.isOk())
          return e.status();
        arg.kind = ScheduleArg::Kind::Index;
        arg.index = std::move(*e);
      } else {
        return bad(where, "each argument is {\"buffer\": id} or "
                          "{\"i64\": expr}");
      }
      launch.args.push_back(std::move(arg));
    }
    schedule.launches.push_back(std::move(launch));
  }
  if (auto tuning = function.find("tuning"); tuning != function.end()) {
    if (!tuning->is_array())
      return bad(at, "\"tuning\" must be an array");
    for (size_t i = 0; i < tuning->size(); ++i) {
      const json &g = (*tuning)[i];
      std::string where = at + ".tuning[" + std::to_string(i) + "]";
      if (!g.is_object() || g.value("group", uint64_t(-1)) != i ||
          !g.contains("variants") || !g["variants"].is_array() ||
          g["variants"].empty() || !g.contains("bucket") ||
          !g.contains("output") || !g["output"].is_number_unsigned() ||
          g["output"].get<uint64_t>() >= schedule.buffers.size() ||
          !g.contains("kernel") || !g["kernel"].is_string())
        return bad(where, "needs its index as \"group\", \"kernel\", "
                          "\"variants\" (labels), \"bucket\" and an "
                          "\"output\" buffer");
      TuneGroup group;
      group.node = g.value("node", int64_t(-1));
      group.kernel = g["kernel"].get<std::string>();
      for (const json &label : g["variants"]) {
        if (!label.is_string())
          return bad(where, "variant labels must be strings");
        group.variants.push_back(label.get<std::string>());
      }
      StatusOr<ShapeExpr> bucket = readExpr(g["bucket"], where + ".bucket");
      if (!bucket.isOk())
        return bucket.status();
      group.bucket = std::move(*bucket);
      if (g.contains("bytes")) {
        StatusOr<ShapeExpr> bytes = readExpr(g["bytes"], where + ".bytes");
        if (!bytes.isOk())
          return bytes.status();
        group.bytes = std::move(*bytes);
      }
      group.output = g["output"].get<size_t>();
      schedule.groups.push_back(std::move(group));
    }
  }
  for (size_t i = 0; i < schedule.launches.size(); ++i) {
    const ScheduleLaunch &l = schedule.launches[i];
    if (l.tuneGroup >= 0 &&
        (static_cast<size_t>(l.tuneGroup) >= schedule.groups.size() ||
         static_cast<size_t>(l.tuneVariant) >=
             schedule.groups[l.tuneGroup].variants.size()))
      return bad(at + ".launches[" + std::to_string(i) + "]",
                 "tune names a missing group or variant");
  }
  if (results->size() != planFunction.outputs.size())
    return bad(at, "\"results\" must name one buffer per output");
  for (const json &r : *results) {
    if (!r.is_number_unsigned() || r.get<uint64_t>() >= schedule.buffers.size())
      return bad(at, "\"results\" holds a bad buffer id");
    schedule.results.push_back(r.get<size_t>());
  }
  return Status::ok();
}

} // namespace

StatusOr<std::shared_ptr<GpuModule>>
GpuModule::load(const std::string &artifactPath, int ordinal) {
  std::string planPath = Plan::planPathFor(artifactPath);
  StatusOr<std::shared_ptr<const Plan>> plan = Plan::load(planPath);
  if (!plan.isOk())
    return plan.status();
  if ((*plan)->artifactKind() != "ptx")
    return invalidArgument("'" + artifactPath + "' is a '" +
                           (*plan)->artifactKind() +
                           "' artifact; the CUDA device runs 'ptx' artifacts");
  std::ifstream planFile(planPath, std::ios::binary),
      ptxFile(artifactPath, std::ios::binary);
  if (!ptxFile)
    return notFound("cannot read '" + artifactPath + "'");
  std::stringstream ptx, planText;
  ptx << ptxFile.rdbuf();
  planText << planFile.rdbuf();
  std::string text = ptx.str();
  KOPT_RETURN_IF_ERROR((*plan)->checkArtifact(text, artifactPath));
  json root = json::parse(planText.str(), nullptr, /*allow_exceptions=*/false);
  if (root.is_discarded() || !root.contains("functions") ||
      !root["functions"].is_array())
    return dataLoss("'" + planPath + "' is not a valid plan");

  std::shared_ptr<GpuModule> module(new GpuModule());
  module->state_ = std::make_unique<State>();
  State &s = *module->state_;
  s.plan = *plan;
  for (const PlanFunction &function : s.plan->functions()) {
    Schedule &schedule = s.schedules.emplace_back();
    const json *found = nullptr;
    for (const json &f : root["functions"])
      if (f.is_object() && f.value("name", "") == function.name)
        found = &f;
    if (!found)
      return dataLoss("plan: function '" + function.name + "' has no entry");
    KOPT_RETURN_IF_ERROR(readSchedule(*found, function, schedule));
  }

  StatusOr<const cuda::Driver *> driver = cuda::driver();
  if (!driver.isOk())
    return driver.status();
  s.d = *driver;
  int count = 0;
  KOPT_RETURN_IF_ERROR(
      check(s.d->cuDeviceGetCount(&count), "cuDeviceGetCount"));
  if (ordinal < 0 || ordinal >= count)
    return Status(KOPT_STATUS_UNAVAILABLE,
                  "no CUDA device " + std::to_string(ordinal) + " (found " +
                      std::to_string(count) + ")");
  KOPT_RETURN_IF_ERROR(
      check(s.d->cuDeviceGet(&s.device, ordinal), "cuDeviceGet"));
  KOPT_RETURN_IF_ERROR(
      check(s.d->cuDevicePrimaryCtxRetain(&s.context, s.device),
            "cuDevicePrimaryCtxRetain"));
  KOPT_RETURN_IF_ERROR(s.makeCurrent());
  char name[256] = {};
  s.d->cuDeviceGetName(name, sizeof(name) - 1, s.device);
  int major = 0, minor = 0, sms = 0;
  s.d->cuDeviceGetAttribute(&major, cuda::kAttrComputeCapabilityMajor,
                            s.device);
  s.d->cuDeviceGetAttribute(&minor, cuda::kAttrComputeCapabilityMinor,
                            s.device);
  s.d->cuDeviceGetAttribute(&sms, cuda::kAttrMultiprocessorCount, s.device);
  s.description = std::string(name) + " (sm_" + std::to_string(major) +
                  std::to_string(minor) + ", " + std::to_string(sms) + " SMs)";
  s.moduleHash = hashModule({text, planText.str()});
  s.gpuName = name;
  s.computeCapability = std::to_string(major) + "." + std::to_string(minor);
  s.d->cuDriverGetVersion(&s.driverVersion);
  s.smCount = sms;
  using DL = State::DependentLaunch;
  const char *dependent = std::getenv("KOPT_DEPENDENT_LAUNCH");
  if (s.plan->dependentLaunch() && major >= 9 && s.d->cuLaunchKernelEx)
    s.dependentLaunch = !dependent              ? DL::Auto
                        : std::string(dependent) == "0" ? DL::Off
                                                        : DL::On;
  int memoryKHz = 0, busBits = 0;
  s.d->cuDeviceGetAttribute(&memoryKHz, cuda::kAttrMemoryClockRate, s.device);
  s.d->cuDeviceGetAttribute(&busBits, cuda::kAttrGlobalMemoryBusWidth,
                            s.device);
  s.peakBandwidth = 2.0 * memoryKHz * 1e3 * busBits / 8.0; // double data rate
  KOPT_RETURN_IF_ERROR(check(
      s.d->cuModuleLoadDataEx(&s.module, text.c_str(), 0, nullptr, nullptr),
      "loading '" + artifactPath + "' (cuModuleLoadDataEx) on " +
          s.description));
  KOPT_RETURN_IF_ERROR(
      check(s.d->cuStreamCreate(&s.stream, cuda::kStreamNonBlocking),
            "cuStreamCreate"));
  for (Schedule &schedule : s.schedules) {
    for (ScheduleLaunch &launch : schedule.launches) {
      Status found = check(s.d->cuModuleGetFunction(&launch.function, s.module,
                                                    launch.kernel.c_str()),
                           "kernel '" + launch.kernel + "'");
      if (!found.isOk())
        return dataLoss("plan names kernel '" + launch.kernel +
                        "', which is not in '" + artifactPath + "'");
      // Static and dynamic shared memory above 48 KB need the opt-in.
      if (launch.sharedBytes > 0)
        KOPT_RETURN_IF_ERROR(
            check(s.d->cuFuncSetAttribute(launch.function,
                                          cuda::kFuncAttrMaxDynamicSharedBytes,
                                          static_cast<int>(launch.sharedBytes)),
                  "raising the shared memory of '" + launch.kernel + "'"));
    }
    schedule.constants.assign(schedule.buffers.size(), 0);
    for (size_t i = 0; i < schedule.buffers.size(); ++i) {
      const ScheduleBuffer &b = schedule.buffers[i];
      if (b.source != ScheduleBuffer::Source::Constant)
        continue;
      StatusOr<cuda::CUdeviceptr> p = s.allocate(b.constant.size());
      if (!p.isOk())
        return p.status();
      KOPT_RETURN_IF_ERROR(
          check(s.d->cuMemcpyHtoDAsync(*p, b.constant.data(), b.constant.size(),
                                       s.stream),
                "uploading a constant"));
      schedule.constants[i] = *p;
    }
  }
  KOPT_RETURN_IF_ERROR(
      check(s.d->cuStreamSynchronize(s.stream), "cuStreamSynchronize"));
  return module;
}

GpuModule::~GpuModule() = default;

const Plan &GpuModule::plan() const { return *state_->plan; }
const std::string &GpuModule::deviceDescription() const {
  return state_->description;
}

Status GpuModule::bindWeights(const WeightSource &given) {
  State &s = *state_;
  KOPT_RETURN_IF_ERROR(s.makeCurrent());
  StatusOr<WeightSource> packed = withPackedWeights(*s.plan, given);
  if (!packed.isOk())
    return packed.status();
  const WeightSource &weights = *packed;
  std::vector<std::vector<cuda::CUdeviceptr>> uploaded;
  std::map<std::string, cuda::CUdeviceptr> byName;
  for (const PlanFunction &function : s.plan->functions()) {
    std::vector<cuda::CUdeviceptr> &list = uploaded.emplace_back();
    for (const PlanWeight &weight : function.weights) {
      auto known = byName.find(weight.name);
      if (known != byName.end()) {
        list.push_back(known->second);
        continue;
      }
      std::optional<kopt_tensor_view_t> view = weights.lookup(weight.name);
      StatusOr<size_t> bytes =
          checkWeightView(weight, view, function.name,
                          weights.description.empty()
                              ? "the checkpoint"
                              : "the checkpoint " + weights.description);
      if (!bytes.isOk())
        return bytes.status();
      StatusOr<cuda::CUdeviceptr> p = s.allocate(*bytes);
      if (!p.isOk())
        return p.status();
      KOPT_RETURN_IF_ERROR(
          check(s.d->cuMemcpyHtoDAsync(*p, view->data, *bytes, s.stream),
                "uploading weight '" + weight.name + "'"));
      list.push_back(*p);
      byName[weight.name] = *p;
    }
  }
  KOPT_RETURN_IF_ERROR(
      check(s.d->cuStreamSynchronize(s.stream), "uploading weights"));
  s.weights = std::move(uploaded);
  for (auto &[_, call] : s.prepared)
    if (call.graph) {
      s.d->cuGraphExecDestroy(call.graph);
      call.graph = nullptr;
    }
  s.prepared.clear();
  return Status::ok();
}

/// Binds the inputs, lays out the arena and fills every launch's arguments.
Status prepare(GpuModule::State &s, size_t fi, const PlanFunction &function,
               const std::vector<const HostTensor *> &inputs,
               PreparedCall &call, Bindings &bindings) {
  const Schedule &schedule = s.schedules[fi];
  std::vector<ShapeRef> shapes;
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (!inputs[i])
      return invalidArgument(function.name + ": input " + std::to_string(i) +
                             " is null");
    StatusOr<size_t> bytes =
        checkedByteSize(inputs[i]->dtype, inputs[i]->shape,
                        function.name + ": input " + std::to_string(i));
    if (!bytes.isOk())
      return bytes.status();
    if (*bytes != inputs[i]->bytes.size())
      return invalidArgument(function.name + ": input " + std::to_string(i) +
                             " holds the wrong number of bytes");
    shapes.push_back({inputs[i]->dtype, &inputs[i]->shape});
  }
  StatusOr<Bindings> bound = function.bind(shapes);
  if (!bound.isOk())
    return bound.status();
  bindings = std::move(*bound);
  if (!function.weights.empty() && s.weights.empty())
    return invalidArgument(function.name + " reads weights but none are bound");

  size_t n = schedule.buffers.size();
  call.address.assign(n, 0);
  call.bytes.assign(n, 0);
  std::vector<size_t> offset(n, SIZE_MAX);
  size_t total = 0;
  for (size_t i = 0; i < n; ++i) {
    const ScheduleBuffer &b = schedule.buffers[i];
    std::vector<int64_t> shape;
    for (const ShapeExpr &dim : b.dims) {
      StatusOr<int64_t> v = dim.evaluate(bindings.values);
      if (!v.isOk())
        return v.status().withContext(function.name + ": buffer " +
                                      std::to_string(i));
      if (*v < 0)
        return invalidArgument(function.name + ": buffer " + std::to_string(i) +
                               " has a negative dim");
      shape.push_back(*v);
    }
    StatusOr<size_t> bytes =
        checkedByteSize(b.dtype, shape, function.name + ": buffer");
    if (!bytes.isOk())
      return bytes.status();
    call.bytes[i] = *bytes;
    switch (b.source) {
    case ScheduleBuffer::Source::Zeroed:
      break; // placed together after the others, cleared by one memset
    case ScheduleBuffer::Source::Input:
      if (*bytes != inputs[b.index]->bytes.size())
        return invalidArgument(function.name + ": input " +
                               std::to_string(b.index) +
                               " does not match its plan buffer");
      [[fallthrough]];
    case ScheduleBuffer::Source::Temp:
    case ScheduleBuffer::Source::Status:
      offset[i] = total;
      total += align(*bytes);
      break;
    case ScheduleBuffer::Source::Weight:
      call.address[i] = s.weights[fi][b.index];
      break;
    case ScheduleBuffer::Source::Constant:
      call.address[i] = schedule.constants[i];
      break;
    case ScheduleBuffer::Source::Alias:
      break;
    }
  }
  size_t zeroedStart = total;
  for (size_t i = 0; i < n; ++i)
    if (schedule.buffers[i].source == ScheduleBuffer::Source::Zeroed) {
      offset[i] = total;
      total += align(call.bytes[i]);
    }
  if (total > s.arenaBytes) {
    if (s.arena) {
      s.d->cuStreamSynchronize(s.stream);
      s.d->cuMemFree(s.arena);
      s.arena = 0;
      s.arenaBytes = 0;
      // Every captured graph pointed into the old arena.
      for (auto &[_, other] : s.prepared)
        if (other.graph) {
          s.d->cuGraphExecDestroy(other.graph);
          other.graph = nullptr;
        }
    }
    KOPT_RETURN_IF_ERROR(check(s.d->cuMemAlloc(&s.arena, total),
                               function.name + ": allocating " +
                                   std::to_string(total) +
                                   " bytes of buffers"));
    s.arenaBytes = total;
  }
  for (size_t i = 0; i < n; ++i) {
    if (offset[i] != SIZE_MAX)
      call.address[i] = s.arena + offset[i];
    else if (schedule.buffers[i].source == ScheduleBuffer::Source::Alias) {
      size_t root = schedule.buffers[i].index;
      if (call.bytes[i] != call.bytes[root])
        return invalidArgument(function.name + ": a reshape changes the size");
      call.address[i] = call.address[root];
    }
  }
  // Other functions' calls share the arena: counters start at zero.
  if (total > zeroedStart)
    KOPT_RETURN_IF_ERROR(check(s.d->cuMemsetD8Async(s.arena + zeroedStart, 0,
                                                    total - zeroedStart,
                                                    s.stream),
                               "clearing counters"));

  call.launches.clear();
  std::vector<int> variantOf(schedule.groups.size(), 0);
  for (size_t g = 0; g < schedule.groups.size(); ++g) {
    StatusOr<int64_t> rows = schedule.groups[g].bucket.evaluate(bindings.values);
    if (!rows.isOk())
      return rows.status();
    variantOf[g] = chosenVariant(s, fi, g, tuneBucket(*rows));
  }
  for (const ScheduleLaunch &launch : schedule.launches) {
    if (launch.tuneGroup >= 0 &&
        variantOf[launch.tuneGroup] != launch.tuneVariant)
      continue;
    if (launch.guard) {
      StatusOr<int64_t> g = launch.guard->evaluate(bindings.values);
      if (!g.isOk())
        return g.status();
      if (*g < launch.guardMin || *g > launch.guardMax)
        continue;
    }
    PreparedCall::Ready ready;
    ready.launch = &launch;
    bool empty = false;
    for (int g = 0; g < 3; ++g) {
      StatusOr<int64_t> v = launch.grid[g].evaluate(bindings.values);
      if (!v.isOk())
        return v.status();
      int64_t limit = g == 0 ? INT32_MAX : 65535;
      if (*v < 0 || *v > limit)
        return Status(KOPT_STATUS_OUT_OF_RANGE,
                      function.name + ": kernel '" + launch.kernel +
                          "' needs a grid of " + std::to_string(*v) +
                          " in dim " + std::to_string(g));
      empty |= *v == 0;
      ready.grid[g] = static_cast<unsigned>(*v);
    }
    if (empty)
      continue;
    for (const ScheduleArg &arg : launch.args) {
      switch (arg.kind) {
      case ScheduleArg::Kind::Buffer: {
        uint64_t p = call.address[arg.buffer];
        uint64_t elements =
            call.bytes[arg.buffer] /
            std::max<size_t>(1, dtypeSize(schedule.buffers[arg.buffer].dtype));
        // memref<?xT> descriptor: allocated, aligned, offset, size, stride.
        for (uint64_t v : {p, p, uint64_t(0), elements, uint64_t(1)})
          ready.storage.push_back(v);
        break;
      }
      case ScheduleArg::Kind::Index: {
        StatusOr<int64_t> v = arg.index->evaluate(bindings.values);
        if (!v.isOk())
          return v.status();
        ready.storage.push_back(static_cast<uint64_t>(*v));
        break;
      }
      }
    }
    call.launches.push_back(std::move(ready));
  }
  // Parameter pointers into the (now stable) storage.
  uint64_t blocks = 0;
  for (PreparedCall::Ready &ready : call.launches) {
    for (uint64_t &slot : ready.storage)
      ready.params.push_back(&slot);
    blocks += uint64_t(ready.grid[0]) * ready.grid[1] * ready.grid[2];
  }
  // Launch latency is what a call of small launches (a decode step: ~310
  // blocks per launch on TinyLlama-1.1B with merged launches and its norms
  // in the GEMVs) waits on, and dependent launch hides part of it (1.18 ->
  // 1.15 ms, H200); calls of large launches (a 512-token prefill: 470-650
  // per launch) ran 5-10% slower with it. The bound is 2.5 blocks per SM.
  bool latencyBound = 2 * blocks <= uint64_t(5 * std::max(s.smCount, 1)) *
                                        call.launches.size();
  call.dependentLaunch =
      s.dependentLaunch == GpuModule::State::DependentLaunch::On ||
      (s.dependentLaunch == GpuModule::State::DependentLaunch::Auto &&
       latencyBound);
  return Status::ok();
}

Status launchAll(GpuModule::State &s, PreparedCall &call) {
  cuda::CUlaunchAttribute serialization{};
  serialization.id = cuda::kLaunchAttrProgrammaticStreamSerialization;
  serialization.value.programmaticStreamSerializationAllowed = 1;
  for (PreparedCall::Ready &ready : call.launches) {
    const ScheduleLaunch &l = *ready.launch;
    if (call.dependentLaunch) {
      cuda::CUlaunchConfig config{ready.grid[0], ready.grid[1], ready.grid[2],
                                  static_cast<unsigned>(l.block), 1, 1,
                                  static_cast<unsigned>(l.sharedBytes),
                                  s.stream, &serialization, 1};
      KOPT_RETURN_IF_ERROR(check(
          s.d->cuLaunchKernelEx(&config, l.function, ready.params.data(),
                                nullptr),
          "launching '" + l.kernel + "'"));
      continue;
    }
    KOPT_RETURN_IF_ERROR(
        check(s.d->cuLaunchKernel(l.function, ready.grid[0], ready.grid[1],
                                  ready.grid[2], l.block, 1, 1, l.sharedBytes,
                                  s.stream, ready.params.data(), nullptr),
              "launching '" + l.kernel + "'"));
  }
  return Status::ok();
}

StatusOr<std::vector<double>>
timeCalls(GpuModule::State &s, cuda::L2Flush &flush, int runs,
          const std::function<Status()> &once) {
  cuda::CUevent start = nullptr, stop = nullptr;
  KOPT_RETURN_IF_ERROR(check(s.d->cuEventCreate(&start, 0), "cuEventCreate"));
  Status result = check(s.d->cuEventCreate(&stop, 0), "cuEventCreate");
  std::vector<double> times;
  for (int i = 0; i < runs && result.isOk(); ++i) {
    result = flush.flush();
    if (result.isOk())
      result = check(s.d->cuEventRecord(start, s.stream), "cuEventRecord");
    if (result.isOk())
      result = once();
    if (result.isOk())
      result = check(s.d->cuEventRecord(stop, s.stream), "cuEventRecord");
    if (result.isOk())
      result = check(s.d->cuEventSynchronize(stop), "cuEventSynchronize");
    float ms = 0;
    if (result.isOk())
      result = check(s.d->cuEventElapsedTime(&ms, start, stop),
                     "cuEventElapsedTime");
    times.push_back(ms);
  }
  s.d->cuEventDestroy(start);
  if (stop)
    s.d->cuEventDestroy(stop);
  KOPT_RETURN_IF_ERROR(result);
  std::sort(times.begin(), times.end());
  return times;
}

/// Queues the copies of `call`'s results to the host (valid once the
/// stream is synchronized).
static StatusOr<std::vector<HostTensor>>
downloadResults(GpuModule::State &s, const PlanFunction &function,
                const Schedule &schedule, PreparedCall &call,
                const Bindings &bindings) {
  std::vector<HostTensor> outputs(function.outputs.size());
  for (size_t i = 0; i < outputs.size(); ++i) {
    StatusOr<std::vector<int64_t>> shape = function.outputShape(i, bindings);
    if (!shape.isOk())
      return shape.status();
    size_t buffer = schedule.results[i];
    outputs[i].dtype = function.outputs[i].dtype;
    outputs[i].shape = std::move(*shape);
    outputs[i].bytes.resize(call.bytes[buffer]);
    if (outputs[i].numElements() * dtypeSize(outputs[i].dtype) !=
        call.bytes[buffer])
      return dataLoss(function.name + ": result " + std::to_string(i) +
                      " does not match its plan buffer");
    KOPT_RETURN_IF_ERROR(check(
        s.d->cuMemcpyDtoHAsync(outputs[i].bytes.data(), call.address[buffer],
                               call.bytes[buffer], s.stream),
        "downloading result " + std::to_string(i)));
  }
  return outputs;
}

StatusOr<std::vector<HostTensor>>
GpuModule::invoke(const std::string &name,
                  const std::vector<const HostTensor *> &inputs,
                  const InvokeOptions &options) {
  State &s = *state_;
  const PlanFunction *function = s.plan->find(name);
  if (!function)
    return notFound("the module has no function '" + name + "' (it has " +
                    s.plan->functionList() + ")");
  size_t fi = function - s.plan->functions().data();
  KOPT_RETURN_IF_ERROR(s.makeCurrent());
  PreparedCall call;
  Bindings bindings;
  KOPT_RETURN_IF_ERROR(prepare(s, fi, *function, inputs, call, bindings));
  const Schedule &schedule = s.schedules[fi];
  size_t statusBuffer = SIZE_MAX;
  for (size_t i = 0; i < schedule.buffers.size(); ++i) {
    const ScheduleBuffer &b = schedule.buffers[i];
    if (b.source == ScheduleBuffer::Source::Input)
      KOPT_RETURN_IF_ERROR(check(
          s.d->cuMemcpyHtoDAsync(call.address[i], inputs[b.index]->bytes.data(),
                                 call.bytes[i], s.stream),
          "uploading input " + std::to_string(b.index)));
    if (b.source == ScheduleBuffer::Source::Status) {
      statusBuffer = i;
      KOPT_RETURN_IF_ERROR(check(
          s.d->cuMemsetD8Async(call.address[i], 0, call.bytes[i], s.stream),
          "clearing the status buffer"));
    }
    if (b.source == ScheduleBuffer::Source::Temp && options.poisonOutputs)
      KOPT_RETURN_IF_ERROR(check(
          s.d->cuMemsetD8Async(call.address[i], 0xff, call.bytes[i], s.stream),
          "poisoning buffers"));
  }
  KOPT_RETURN_IF_ERROR(launchAll(s, call));
  StatusOr<std::vector<HostTensor>> outputs =
      downloadResults(s, *function, schedule, call, bindings);
  if (!outputs.isOk())
    return outputs.status();
  int64_t status[kStatusBufferSize] = {0, 0, 0, 0};
  if (statusBuffer != SIZE_MAX)
    KOPT_RETURN_IF_ERROR(
        check(s.d->cuMemcpyDtoHAsync(status, call.address[statusBuffer],
                                     sizeof(status), s.stream),
              "reading the status buffer"));
  KOPT_RETURN_IF_ERROR(
      check(s.d->cuStreamSynchronize(s.stream), name + " on " + s.description));
  if (status[0] != 0)
    return statusFromBuffer(status, *function);
  return std::move(outputs);
}

StatusOr<GpuTimings>
GpuModule::benchmark(const std::string &name,
                     const std::vector<const HostTensor *> &inputs, int runs,
                     bool useGraph) {
  State &s = *state_;
  const PlanFunction *function = s.plan->find(name);
  if (!function)
    return notFound("the module has no function '" + name + "'");
  size_t fi = function - s.plan->functions().data();
  KOPT_RETURN_IF_ERROR(s.makeCurrent());
  PreparedCall &call = s.prepared[fi];
  if (call.graph) {
    s.d->cuGraphExecDestroy(call.graph);
    call.graph = nullptr;
  }
  Bindings bindings;
  KOPT_RETURN_IF_ERROR(prepare(s, fi, *function, inputs, call, bindings));
  const Schedule &schedule = s.schedules[fi];
  for (size_t i = 0; i < schedule.buffers.size(); ++i) {
    const ScheduleBuffer &b = schedule.buffers[i];
    if (b.source == ScheduleBuffer::Source::Input)
      KOPT_RETURN_IF_ERROR(check(
          s.d->cuMemcpyHtoDAsync(call.address[i], inputs[b.index]->bytes.data(),
                                 call.bytes[i], s.stream),
          "uploading input"));
  }
  GpuTimings timings;
  timings.launchesPerCall = call.launches.size();
  if (useGraph) {
    cuda::CUgraph graph = nullptr;
    KOPT_RETURN_IF_ERROR(check(
        s.d->cuStreamBeginCapture(s.stream, cuda::kCaptureModeThreadLocal),
        "cuStreamBeginCapture"));
    Status launched = launchAll(s, call);
    Status ended =
        check(s.d->cuStreamEndCapture(s.stream, &graph), "cuStreamEndCapture");
    KOPT_RETURN_IF_ERROR(launched);
    KOPT_RETURN_IF_ERROR(ended);
    Status made = check(s.d->cuGraphInstantiateWithFlags(&call.graph, graph, 0),
                        "cuGraphInstantiate");
    s.d->cuGraphDestroy(graph);
    KOPT_RETURN_IF_ERROR(made);
    timings.graph = true;
  }
  auto once = [&]() -> Status {
    if (call.graph)
      return check(s.d->cuGraphLaunch(call.graph, s.stream), "cuGraphLaunch");
    return launchAll(s, call);
  };
  // L2 is left cold and clean before each timed run (cuda/L2Flush.h): a
  // weight that fits L2 must not be timed from it.
  StatusOr<cuda::L2Flush> flush =
      cuda::L2Flush::create(*s.d, s.device, s.stream);
  KOPT_RETURN_IF_ERROR(flush.status());
  // The results of the first call and of the last must agree: state a
  // call leaves behind (counters) must not change the next one's.
  KOPT_RETURN_IF_ERROR(once());
  StatusOr<std::vector<HostTensor>> first =
      downloadResults(s, *function, schedule, call, bindings);
  KOPT_RETURN_IF_ERROR(first.status());
  for (int i = 0; i < 2; ++i)
    KOPT_RETURN_IF_ERROR(once());
  StatusOr<std::vector<double>> times = timeCalls(s, *flush, runs, once);
  KOPT_RETURN_IF_ERROR(times.status());
  StatusOr<std::vector<HostTensor>> last =
      downloadResults(s, *function, schedule, call, bindings);
  KOPT_RETURN_IF_ERROR(last.status());
  KOPT_RETURN_IF_ERROR(check(s.d->cuStreamSynchronize(s.stream),
                             name + " on " + s.description));
  for (size_t i = 0; i < first->size(); ++i)
    if ((*first)[i].bytes != (*last)[i].bytes)
      return dataLoss(name + ": result " + std::to_string(i) +
                      " of the last timed call differs from the first call's");
  timings.milliseconds = std::move(*times);
  return timings;
}

} // namespace kopt::rt
