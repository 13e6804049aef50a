//===- GpuTuning.cpp - The autotuner: tile variants timed on the GPU ------===//
//
// A tuned group's variants all write the same output buffer from the same
// inputs, and the arena keeps every buffer of a call, so after one full call
// each variant's launches can be replayed alone: run once and compared with
// the default's output, then timed (L2 flushed clean before each call,
// device events around the launches). Decisions hold per (function, group,
// token-count bucket) in this process and in the tuning cache.
//
//===----------------------------------------------------------------------===//

#include "GpuModuleState.h"
#include "cuda/L2Flush.h"
#include "kopt/runtime/DType.h"
#include "kopt/runtime/Float16.h"
#include "kopt/runtime/TuningCache.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <sstream>

#ifndef KOPT_VERSION_STRING
#define KOPT_VERSION_STRING "unknown"
#endif

namespace kopt::rt {

using cuda::check;

namespace {

TuningKey keyFor(const GpuModule::State &s, const PlanFunction &function,
                 const TuneGroup &group, int64_t bucket) {
  TuningKey key;
  key.moduleHash = s.moduleHash;
  key.function = function.name;
  key.kernel = group.kernel;
  key.shapes = "rows<=" + std::to_string(bucket);
  key.gpu = s.gpuName;
  key.computeCapability = s.computeCapability;
  key.driverVersion = s.driverVersion;
  key.koptVersion = KOPT_VERSION_STRING;
  return key;
}

TuningCache cacheOf(const GpuModule::State &s) {
  return TuningCache(s.tuningCacheDirectory.empty()
                         ? TuningCache::defaultDirectory()
                         : s.tuningCacheDirectory);
}

/// Element `i` of `bytes` (of `dtype`) as a double.
double element(const std::vector<uint8_t> &bytes, kopt_dtype_t dtype,
               size_t i) {
  switch (dtype) {
  case KOPT_DTYPE_F32: {
    float v;
    std::memcpy(&v, bytes.data() + 4 * i, 4);
    return v;
  }
  case KOPT_DTYPE_F16:
  case KOPT_DTYPE_BF16: {
    uint16_t v;
    std::memcpy(&v, bytes.data() + 2 * i, 2);
    return dtype == KOPT_DTYPE_F16 ? f16ToFloat(v) : bf16ToFloat(v);
  }
  default:
    return static_cast<double>(bytes[i * dtypeSize(dtype)]);
  }
}

/// "" when `actual` matches `expected` within the tolerance of `dtype`
/// (variants sum in other orders and, for 16-bit outputs, may round the
/// other way); else where it does not.
std::string mismatch(const std::vector<uint8_t> &expected,
                     const std::vector<uint8_t> &actual, kopt_dtype_t dtype) {
  if (expected.size() != actual.size())
    return "output sizes differ";
  double tol = dtype == KOPT_DTYPE_BF16 ? 3e-2
               : dtype == KOPT_DTYPE_F16 ? 4e-3
               : dtype == KOPT_DTYPE_F32 ? 1e-4
                                         : 0.0;
  size_t count = expected.size() / std::max<size_t>(1, dtypeSize(dtype));
  for (size_t i = 0; i < count; ++i) {
    double e = element(expected, dtype, i), a = element(actual, dtype, i);
    if (std::isnan(e) && std::isnan(a))
      continue;
    if (!(std::fabs(a - e) <= tol * (1 + std::fabs(e)))) {
      std::ostringstream os;
      os << "output element " << i << " is " << a << ", the default's " << e;
      return os.str();
    }
  }
  return "";
}

} // namespace

int64_t tuneBucket(int64_t rows) {
  int64_t bucket = 1;
  while (bucket < rows && bucket < (int64_t(1) << 40))
    bucket *= 2;
  return bucket;
}

int chosenVariant(GpuModule::State &s, size_t fi, size_t group,
                  int64_t bucket) {
  std::map<int64_t, int> &decided = s.choices[{fi, group}];
  if (auto it = decided.find(bucket); it != decided.end())
    return it->second;
  int variant = 0;
  const TuneGroup &g = s.schedules[fi].groups[group];
  if (s.useTuningCache && g.variants.size() > 1) {
    std::optional<TuningRecord> record =
        cacheOf(s).lookup(keyFor(s, s.plan->functions()[fi], g, bucket));
    if (record && record->variant >= 0 &&
        static_cast<size_t>(record->variant) < g.variants.size())
      variant = record->variant;
  }
  decided[bucket] = variant;
  return variant;
}

void GpuModule::setTuningCache(bool enabled, const std::string &directory) {
  state_->useTuningCache = enabled;
  state_->tuningCacheDirectory = directory;
  state_->choices.clear();
}

StatusOr<TuneReport>
GpuModule::tune(const std::string &name,
                const std::vector<const HostTensor *> &inputs,
                const TuneOptions &options) {
  State &s = *state_;
  const PlanFunction *function = s.plan->find(name);
  if (!function)
    return notFound("the module has no function '" + name + "'");
  size_t fi = function - s.plan->functions().data();
  const Schedule &schedule = s.schedules[fi];
  KOPT_RETURN_IF_ERROR(s.makeCurrent());
  // One full call with the current decisions leaves every buffer filled.
  StatusOr<std::vector<HostTensor>> first = invoke(name, inputs);
  if (!first.isOk())
    return first.status().withContext("the call before tuning");
  PreparedCall probe;
  Bindings bindings;
  KOPT_RETURN_IF_ERROR(prepare(s, fi, *function, inputs, probe, bindings));

  TuneReport report;
  std::vector<TuningRecord> records;
  StatusOr<cuda::L2Flush> flush =
      cuda::L2Flush::create(*s.d, s.device, s.stream);
  KOPT_RETURN_IF_ERROR(flush.status());

  // The groups that run at these shapes, in schedule order.
  std::vector<size_t> groups;
  for (const PreparedCall::Ready &ready : probe.launches)
    if (ready.launch->tuneGroup >= 0 &&
        std::find(groups.begin(), groups.end(),
                  static_cast<size_t>(ready.launch->tuneGroup)) == groups.end())
      groups.push_back(ready.launch->tuneGroup);
  report.groups = groups.size();
  for (size_t done = 0; done < groups.size(); ++done) {
    size_t g = groups[done];
    const TuneGroup &group = schedule.groups[g];
    StatusOr<int64_t> rows = group.bucket.evaluate(bindings.values);
    KOPT_RETURN_IF_ERROR(rows.status());
    int64_t bucket = tuneBucket(*rows);
    TuningKey key = keyFor(s, *function, group, bucket);
    std::string bucketText = key.shapes;
    if (group.variants.size() < 2)
      continue;
    if (!options.force && s.useTuningCache) {
      if (std::optional<TuningRecord> hit = cacheOf(s).lookup(key);
          hit && static_cast<size_t>(hit->variant) < group.variants.size()) {
        s.choices[{fi, g}][bucket] = hit->variant;
        ++report.fromCache;
        if (options.progress)
          options.progress(name + ": " + group.kernel + " (" + bucketText +
                           "): cached, variant " +
                           std::to_string(hit->variant) + " (" +
                           group.variants[hit->variant] + ")");
        continue;
      }
    }
    double bytes = 0;
    if (group.bytes) {
      StatusOr<int64_t> b = group.bytes->evaluate(bindings.values);
      if (b.isOk())
        bytes = static_cast<double>(*b);
    }
    std::vector<uint8_t> reference;
    size_t firstTrial = report.trials.size();
    int best = -1;
    for (size_t v = 0; v < group.variants.size(); ++v) {
      TuneTrial trial;
      trial.function = name;
      trial.kernel = group.kernel;
      trial.bucket = bucketText;
      trial.variant = group.variants[v];
      trial.index = static_cast<int>(v);
      s.choices[{fi, g}][bucket] = static_cast<int>(v);
      PreparedCall call;
      Bindings unused;
      KOPT_RETURN_IF_ERROR(prepare(s, fi, *function, inputs, call, unused));
      PreparedCall only;
      only.address = call.address;
      only.bytes = call.bytes;
      for (PreparedCall::Ready &ready : call.launches)
        if (ready.launch->tuneGroup == static_cast<int>(g))
          only.launches.push_back(std::move(ready));
      for (PreparedCall::Ready &ready : only.launches) {
        ready.params.clear();
        for (uint64_t &slot : ready.storage)
          ready.params.push_back(&slot);
      }
      Status ran = launchAll(s, only);
      if (ran.isOk())
        ran = check(s.d->cuStreamSynchronize(s.stream), "running the variant");
      std::vector<uint8_t> output(call.bytes[group.output]);
      if (ran.isOk())
        ran = check(s.d->cuMemcpyDtoHAsync(output.data(),
                                           call.address[group.output],
                                           output.size(), s.stream),
                    "reading the variant's output");
      if (ran.isOk())
        ran = check(s.d->cuStreamSynchronize(s.stream),
                    "reading the variant's output");
      if (!ran.isOk()) {
        // A fault poisons the context: nothing further can run.
        trial.failure = ran.message();
        report.trials.push_back(trial);
        if (v == 0)
          return ran.withContext("the default variant of " + group.kernel);
        continue;
      }
      if (v == 0)
        reference = output;
      else
        trial.failure = mismatch(reference, output,
                                 schedule.buffers[group.output].dtype);
      if (trial.failure.empty()) {
        auto once = [&] { return launchAll(s, only); };
        Status timed = Status::ok();
        for (int i = 0; i < 2 && timed.isOk(); ++i)
          timed = once();
        StatusOr<std::vector<double>> times =
            timed.isOk() ? timeCalls(s, *flush, options.runs, once)
                         : StatusOr<std::vector<double>>(timed);
        if (!times.isOk()) {
          trial.failure = times.status().message();
        } else {
          trial.medianMs = (*times)[times->size() / 2];
          if (bytes > 0 && s.peakBandwidth > 0 && trial.medianMs > 0)
            trial.rooflinePercent =
                100.0 * bytes / (trial.medianMs * 1e-3) / s.peakBandwidth;
          if (best < 0 ||
              trial.medianMs < report.trials[firstTrial + best].medianMs)
            best = static_cast<int>(v);
        }
      }
      report.trials.push_back(trial);
      if (options.progress) {
        std::ostringstream line;
        line.setf(std::ios::fixed);
        line.precision(1);
        line << name << ": " << group.kernel << " (" << bucketText
             << "): trial " << v + 1 << "/" << group.variants.size() << " ["
             << trial.variant << "] ";
        if (!trial.failure.empty())
          line << "failed: " << trial.failure;
        else
          line << trial.medianMs * 1e3 << " us";
        if (trial.rooflinePercent >= 0)
          line << " (" << trial.rooflinePercent << "% of roofline)";
        if (best >= 0)
          line << "; best " << report.trials[firstTrial + best].medianMs * 1e3
               << " us [" << group.variants[best] << "]";
        line << "; group " << done + 1 << "/" << groups.size();
        options.progress(line.str());
      }
    }
    if (best < 0)
      best = 0;
    s.choices[{fi, g}][bucket] = best;
    report.trials[firstTrial + best].chosen = true;
    ++report.tuned;
    TuningRecord record;
    record.key = key;
    record.variant = best;
    record.label = group.variants[best];
    for (size_t t = firstTrial; t < report.trials.size(); ++t)
      record.medianMs.push_back(report.trials[t].medianMs);
    records.push_back(std::move(record));
  }
  // Captured graphs hold the launches of the old decisions.
  for (auto &[_, call] : s.prepared)
    if (call.graph) {
      s.d->cuGraphExecDestroy(call.graph);
      call.graph = nullptr;
    }
  if (s.useTuningCache && !records.empty()) {
    Status stored = cacheOf(s).store(records);
    if (!stored.isOk())
      return stored.withContext("writing the tuning cache");
  }
  return report;
}

} // namespace kopt::rt
