//===- TuningCache.cpp - Autotuning results that persist across runs ------===//

#include "kopt/runtime/TuningCache.h"

#include "kopt/runtime/ArtifactDigest.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <iostream>
#include <sstream>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

namespace kopt::rt {

using json = nlohmann::json;

namespace {

constexpr const char *kFormat = "kopt-tuning";
constexpr int kVersion = 1;

json keyJson(const TuningKey &k) {
  return json{{"module", k.moduleHash},       {"function", k.function},
              {"kernel", k.kernel},           {"shapes", k.shapes},
              {"gpu", k.gpu},                 {"compute_capability", k.computeCapability},
              {"driver", k.driverVersion},    {"kopt", k.koptVersion}};
}

std::optional<TuningKey> keyFrom(const json &j) {
  if (!j.is_object())
    return std::nullopt;
  TuningKey k;
  auto text = [&](const char *name, std::string &out) {
    auto it = j.find(name);
    if (it == j.end() || !it->is_string())
      return false;
    out = it->get<std::string>();
    return true;
  };
  auto driver = j.find("driver");
  if (!text("module", k.moduleHash) || !text("function", k.function) ||
      !text("kernel", k.kernel) || !text("shapes", k.shapes) ||
      !text("gpu", k.gpu) || !text("compute_capability", k.computeCapability) ||
      !text("kopt", k.koptVersion) || driver == j.end() ||
      !driver->is_number_integer())
    return std::nullopt;
  k.driverVersion = driver->get<int>();
  return k;
}

/// Creates `path` and its parents (like mkdir -p).
Status makeDirectories(const std::string &path) {
  std::string prefix;
  std::stringstream parts(path);
  std::string part;
  if (!path.empty() && path[0] == '/')
    prefix = "/";
  while (std::getline(parts, part, '/')) {
    if (part.empty())
      continue;
    prefix += part + "/";
    if (::mkdir(prefix.c_str(), 0755) != 0 && errno != EEXIST)
      return Status(KOPT_STATUS_IO_ERROR, "cannot create the cache directory '" +
                                              prefix + "': " +
                                              std::strerror(errno));
  }
  return Status::ok();
}

} // namespace

bool TuningKey::operator==(const TuningKey &o) const {
  return moduleHash == o.moduleHash && function == o.function &&
         kernel == o.kernel && shapes == o.shapes && gpu == o.gpu &&
         computeCapability == o.computeCapability &&
         driverVersion == o.driverVersion && koptVersion == o.koptVersion;
}

std::string hashModule(const std::vector<std::string> &parts) {
  uint64_t h = kFnv1aOffset;
  for (const std::string &part : parts)
    h = fnv1a64("\xff", fnv1a64(part, h)); // 0xff separates the parts
  return hexDigest(h);
}

std::string TuningCache::defaultDirectory() {
  if (const char *dir = std::getenv("KOPT_CACHE_DIR"); dir && *dir)
    return dir;
  if (const char *xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg)
    return std::string(xdg) + "/kopt";
  const char *home = std::getenv("HOME");
  return std::string(home && *home ? home : ".") + "/.cache/kopt";
}

TuningCache::TuningCache(std::string directory, Warn warn)
    : directory_(std::move(directory)), warn_(std::move(warn)) {
  if (!warn_)
    warn_ = [](const std::string &line) {
      std::cerr << "kopt: warning: " << line << "\n";
    };
}

void TuningCache::warnOnce(const std::string &line) {
  if (warned_.insert(line).second)
    warn_(line);
}

std::string TuningCache::pathFor(const std::string &moduleHash) const {
  return directory_ + "/tuning/" + moduleHash + ".json";
}

std::vector<TuningRecord> TuningCache::read(const std::string &path) {
  std::vector<TuningRecord> records;
  std::ifstream file(path);
  if (!file)
    return records; // a miss, not an error
  json root = json::parse(file, nullptr, /*allow_exceptions=*/false);
  if (root.is_discarded() || !root.is_object() ||
      root.value("format", "") != kFormat || !root.contains("entries") ||
      !root["entries"].is_array()) {
    warnOnce("ignoring the corrupt tuning cache '" + path +
          "' (not a kopt-tuning file); it is rebuilt on the next write");
    return records;
  }
  if (root.value("version", 0) != kVersion) {
    warnOnce("ignoring the tuning cache '" + path +
             "' of another format version");
    return records;
  }
  for (const json &entry : root["entries"]) {
    std::optional<TuningKey> key =
        entry.is_object() && entry.contains("key") ? keyFrom(entry["key"])
                                                   : std::nullopt;
    auto variant = entry.is_object() ? entry.find("variant") : entry.end();
    if (!key || variant == entry.end() || !variant->is_number_integer() ||
        variant->get<int>() < 0) {
      warnOnce("ignoring a corrupt entry of the tuning cache '" + path + "'");
      continue;
    }
    TuningRecord record;
    record.key = std::move(*key);
    record.variant = variant->get<int>();
    record.label = entry.value("label", "");
    if (entry.contains("median_ms") && entry["median_ms"].is_array())
      for (const json &t : entry["median_ms"])
        record.medianMs.push_back(t.is_number() ? t.get<double>() : -1.0);
    records.push_back(std::move(record));
  }
  return records;
}

std::optional<TuningRecord> TuningCache::lookup(const TuningKey &key) {
  for (TuningRecord &record : read(pathFor(key.moduleHash)))
    if (record.key == key)
      return record;
  return std::nullopt;
}

Status TuningCache::store(const std::vector<TuningRecord> &records) {
  // One file per module; group the records by it.
  std::vector<std::string> hashes;
  for (const TuningRecord &r : records)
    if (std::find(hashes.begin(), hashes.end(), r.key.moduleHash) ==
        hashes.end())
      hashes.push_back(r.key.moduleHash);
  KOPT_RETURN_IF_ERROR(makeDirectories(directory_ + "/tuning"));
  static std::atomic<unsigned> counter{0};
  for (const std::string &hash : hashes) {
    std::string path = pathFor(hash);
    std::string lockPath = path + ".lock";
    int lock = ::open(lockPath.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (lock < 0)
      return Status(KOPT_STATUS_IO_ERROR, "cannot open '" + lockPath +
                                              "': " + std::strerror(errno));
    ::flock(lock, LOCK_EX);
    std::vector<TuningRecord> merged = read(path);
    for (const TuningRecord &r : records) {
      if (r.key.moduleHash != hash)
        continue;
      auto same = std::find_if(merged.begin(), merged.end(),
                               [&](const TuningRecord &m) { return m.key == r.key; });
      if (same != merged.end())
        *same = r;
      else
        merged.push_back(r);
    }
    json entries = json::array();
    for (const TuningRecord &r : merged) {
      json times = json::array();
      for (double t : r.medianMs)
        times.push_back(t);
      entries.push_back(json{{"key", keyJson(r.key)},
                             {"variant", r.variant},
                             {"label", r.label},
                             {"median_ms", times}});
    }
    json root{{"format", kFormat}, {"version", kVersion}, {"entries", entries}};
    std::string temp = path + ".tmp." + std::to_string(::getpid()) + "." +
                       std::to_string(counter++);
    Status written = Status::ok();
    {
      std::ofstream out(temp, std::ios::trunc);
      out << root.dump(1) << "\n";
      out.flush();
      if (!out)
        written = Status(KOPT_STATUS_IO_ERROR, "cannot write '" + temp + "'");
    }
    if (written.isOk() && std::rename(temp.c_str(), path.c_str()) != 0)
      written = Status(KOPT_STATUS_IO_ERROR, "cannot replace '" + path +
                                                 "': " + std::strerror(errno));
    if (!written.isOk())
      std::remove(temp.c_str());
    ::flock(lock, LOCK_UN);
    ::close(lock);
    KOPT_RETURN_IF_ERROR(written);
  }
  return Status::ok();
}

} // namespace kopt::rt
