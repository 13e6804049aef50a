//===- Safetensors.cpp - Validated safetensors reading and writing --------===//
//
// Format: an 8-byte little-endian header length N, N bytes of JSON mapping
// each tensor name to {dtype, shape, data_offsets: [begin, end)} (offsets
// relative to the data that follows the header), an optional
// "__metadata__" string map, then the data.
//
//===----------------------------------------------------------------------===//

#include "kopt/runtime/Safetensors.h"
#include "kopt/runtime/DType.h"
#include "kopt/runtime/Json.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <unistd.h>

namespace kopt::rt {
namespace {

using json = nlohmann::json;

/// Headers beyond this are refused rather than parsed (the reference
/// implementation uses the same bound).
constexpr uint64_t kMaxHeaderBytes = 100u << 20;

uint64_t readLittleEndian64(const uint8_t *bytes) {
  uint64_t value = 0;
  for (int i = 7; i >= 0; --i)
    value = (value << 8) | bytes[i];
  return value;
}

/// Reads a non-negative integer that fits int64.
bool readCount(const json &value, int64_t &out) {
  return readInt64(value, out) && out >= 0;
}

StatusOr<TensorEntry> parseEntry(const std::string &name, const json &entry,
                                 const uint8_t *data, uint64_t dataSize) {
  auto bad = [&](const std::string &why) {
    return dataLoss("tensor '" + name + "': " + why);
  };
  if (!entry.is_object())
    return bad("entry is not an object");
  auto dtypeIt = entry.find("dtype");
  auto shapeIt = entry.find("shape");
  auto offsetsIt = entry.find("data_offsets");
  if (dtypeIt == entry.end() || shapeIt == entry.end() ||
      offsetsIt == entry.end())
    return bad("needs 'dtype', 'shape' and 'data_offsets'");
  if (!dtypeIt->is_string())
    return bad("dtype is not a string");
  std::optional<kopt_dtype_t> dtype =
      parseSafetensorsDType(dtypeIt->get<std::string>());
  if (!dtype)
    return bad("unsupported dtype '" + dtypeIt->get<std::string>() + "'");

  TensorEntry tensor{name, *dtype, {}, nullptr, 0};
  if (!shapeIt->is_array() || shapeIt->size() > KOPT_MAX_RANK)
    return bad("shape must be an array of at most " +
               std::to_string(KOPT_MAX_RANK) + " dims");
  uint64_t elements = 1;
  for (const json &dim : *shapeIt) {
    int64_t size;
    if (!readCount(dim, size))
      return bad("shape dims must be non-negative integers");
    if (__builtin_mul_overflow(elements, static_cast<uint64_t>(size),
                               &elements))
      return bad("element count overflows");
    tensor.shape.push_back(size);
  }
  uint64_t expectedBytes;
  if (__builtin_mul_overflow(elements, dtypeSize(*dtype), &expectedBytes))
    return bad("byte size overflows");

  int64_t begin, end;
  if (!offsetsIt->is_array() || offsetsIt->size() != 2 ||
      !readCount((*offsetsIt)[0], begin) || !readCount((*offsetsIt)[1], end))
    return bad("data_offsets must be two non-negative integers");
  if (begin > end)
    return bad("data_offsets [" + std::to_string(begin) + ", " +
               std::to_string(end) + ") are reversed");
  if (static_cast<uint64_t>(end) > dataSize)
    return bad("data_offsets end " + std::to_string(end) +
               " is past the data (" + std::to_string(dataSize) +
               " bytes): truncated file?");
  if (static_cast<uint64_t>(end - begin) != expectedBytes)
    return bad("holds " + std::to_string(end - begin) + " bytes but its " +
               std::string(dtypeName(*dtype)) + " shape needs " +
               std::to_string(expectedBytes));
  tensor.data = data + begin;
  tensor.byteSize = static_cast<size_t>(expectedBytes);
  return tensor;
}

} // namespace

int64_t TensorEntry::numElements() const {
  int64_t count = 1;
  for (int64_t dim : shape)
    count *= dim;
  return count;
}

kopt_tensor_view_t TensorEntry::view() const {
  kopt_tensor_view_t view{};
  view.dtype = dtype;
  view.rank = static_cast<int32_t>(shape.size());
  std::copy(shape.begin(), shape.end(), view.shape);
  view.data = data;
  view.byte_size = byteSize;
  return view;
}

StatusOr<std::shared_ptr<SafetensorsFile>>
SafetensorsFile::open(const std::string &path) {
  StatusOr<std::shared_ptr<MappedFile>> file = MappedFile::open(path);
  if (!file.isOk())
    return file.status();
  return parse(std::move(*file));
}

StatusOr<std::shared_ptr<SafetensorsFile>>
SafetensorsFile::parse(std::shared_ptr<MappedFile> file) {
  auto fail = [&](const Status &status) {
    return status.withContext("'" + file->path() + "'");
  };
  if (file->size() < 8)
    return fail(dataLoss("file is " + std::to_string(file->size()) +
                         " bytes, shorter than the 8-byte header length"));
  uint64_t headerBytes = readLittleEndian64(file->data());
  if (headerBytes > kMaxHeaderBytes)
    return fail(dataLoss("header length " + std::to_string(headerBytes) +
                         " exceeds the " + std::to_string(kMaxHeaderBytes) +
                         "-byte limit"));
  if (headerBytes > file->size() - 8)
    return fail(dataLoss("header length " + std::to_string(headerBytes) +
                         " is past the end of the file (" +
                         std::to_string(file->size()) + " bytes)"));
  std::string_view text(reinterpret_cast<const char *>(file->data() + 8),
                        headerBytes);
  StatusOr<json> header = parseStrictJson(text, "header");
  if (!header.isOk())
    return fail(header.status());
  if (!header->is_object())
    return fail(dataLoss("header is not a JSON object"));

  auto result = std::make_shared<SafetensorsFile>();
  const uint8_t *data = file->data() + 8 + headerBytes;
  uint64_t dataSize = file->size() - 8 - headerBytes;
  std::vector<std::pair<size_t, size_t>> ranges;
  for (auto &[name, entry] : header->items()) {
    if (name == "__metadata__") {
      if (!entry.is_object())
        return fail(dataLoss("__metadata__ is not an object"));
      for (auto &[key, value] : entry.items()) {
        if (!value.is_string())
          return fail(
              dataLoss("__metadata__ value of '" + key + "' is not a string"));
        result->metadata_[key] = value.get<std::string>();
      }
      continue;
    }
    StatusOr<TensorEntry> tensor = parseEntry(name, entry, data, dataSize);
    if (!tensor.isOk())
      return fail(tensor.status());
    size_t begin = tensor->data - data;
    ranges.emplace_back(begin, begin + tensor->byteSize);
    result->tensors_.emplace(name, std::move(*tensor));
  }
  // No two tensors may share bytes.
  std::sort(ranges.begin(), ranges.end());
  for (size_t i = 1; i < ranges.size(); ++i) {
    if (ranges[i].first < ranges[i - 1].second) {
      std::string a, b;
      for (const auto &[name, tensor] : result->tensors_) {
        size_t begin = tensor.data - data;
        if (begin == ranges[i - 1].first && a.empty())
          a = name;
        else if (begin == ranges[i].first)
          b = name;
      }
      return fail(
          dataLoss("tensors '" + a + "' and '" + b + "' overlap in the data"));
    }
  }
  result->file_ = std::move(file);
  return result;
}

StatusOr<std::shared_ptr<WeightSet>> WeightSet::open(const std::string &path) {
  auto set = std::make_shared<WeightSet>();
  auto endsWith = [](const std::string &text, const std::string &suffix) {
    return text.size() >= suffix.size() &&
           text.compare(text.size() - suffix.size(), suffix.size(), suffix) ==
               0;
  };
  if (!endsWith(path, ".json")) {
    StatusOr<std::shared_ptr<SafetensorsFile>> file =
        SafetensorsFile::open(path);
    if (!file.isOk())
      return file.status();
    for (const auto &[name, tensor] : (*file)->tensors())
      set->entries_[name] = &tensor;
    set->files_.push_back(std::move(*file));
  } else {
    StatusOr<std::shared_ptr<MappedFile>> indexFile = MappedFile::open(path);
    if (!indexFile.isOk())
      return indexFile.status();
    auto fail = [&](const Status &status) {
      return status.withContext("'" + path + "'");
    };
    std::string_view text(reinterpret_cast<const char *>((*indexFile)->data()),
                          (*indexFile)->size());
    StatusOr<json> index = parseStrictJson(text, "index");
    if (!index.isOk())
      return fail(index.status());
    if (!index->is_object() || !index->contains("weight_map") ||
        !(*index)["weight_map"].is_object())
      return fail(dataLoss("index has no 'weight_map' object"));
    std::filesystem::path folder = std::filesystem::path(path).parent_path();
    std::map<std::string, std::shared_ptr<SafetensorsFile>> shards;
    for (auto &[name, shardValue] : (*index)["weight_map"].items()) {
      if (!shardValue.is_string())
        return fail(
            dataLoss("weight_map entry of '" + name + "' is not a file name"));
      std::string shard = shardValue.get<std::string>();
      std::filesystem::path shardPath(shard);
      if (shard.empty() || shardPath.is_absolute() ||
          std::any_of(shardPath.begin(), shardPath.end(),
                      [](const auto &part) { return part == ".."; }))
        return fail(dataLoss("shard '" + shard + "' of '" + name +
                             "' must be a relative path inside the "
                             "checkpoint folder"));
      auto it = shards.find(shard);
      if (it == shards.end()) {
        StatusOr<std::shared_ptr<SafetensorsFile>> file =
            SafetensorsFile::open((folder / shardPath).string());
        if (!file.isOk())
          return fail(file.status());
        it = shards.emplace(shard, std::move(*file)).first;
        set->files_.push_back(it->second);
      }
      auto tensor = it->second->tensors().find(name);
      if (tensor == it->second->tensors().end())
        return fail(dataLoss("weight_map puts '" + name + "' in '" + shard +
                             "', which does not contain it"));
      set->entries_[name] = &tensor->second;
    }
  }
  for (const auto &entry : set->entries_)
    set->names_.push_back(entry.first);
  return set;
}

const TensorEntry *WeightSet::lookup(const std::string &name) const {
  auto it = entries_.find(name);
  return it == entries_.end() ? nullptr : it->second;
}

Status writeSafetensors(const std::string &path,
                        const std::vector<TensorToWrite> &tensors,
                        const std::map<std::string, std::string> &metadata) {
  json header = json::object();
  if (!metadata.empty())
    header["__metadata__"] = metadata;
  uint64_t offset = 0;
  for (const TensorToWrite &tensor : tensors) {
    if (header.contains(tensor.name))
      return invalidArgument("tensor '" + tensor.name + "' is written twice");
    uint64_t elements = 1;
    for (int64_t dim : tensor.shape)
      elements *= static_cast<uint64_t>(dim);
    if (elements * dtypeSize(tensor.dtype) != tensor.bytes.size())
      return invalidArgument("tensor '" + tensor.name + "' has " +
                             std::to_string(tensor.bytes.size()) +
                             " bytes for its shape");
    header[tensor.name] = {
        {"dtype", std::string(safetensorsDTypeName(tensor.dtype))},
        {"shape", tensor.shape},
        {"data_offsets", {offset, offset + tensor.bytes.size()}}};
    offset += tensor.bytes.size();
  }
  std::string text = header.dump();
  // Pad the header with spaces so the data starts 8-byte aligned.
  text.append((8 - text.size() % 8) % 8, ' ');

  return writeFileAtomically(path, [&](std::ostream &out) {
    uint8_t length[8];
    for (int i = 0; i < 8; ++i)
      length[i] =
          static_cast<uint8_t>(static_cast<uint64_t>(text.size()) >> (8 * i));
    out.write(reinterpret_cast<const char *>(length), 8);
    out.write(text.data(), static_cast<std::streamsize>(text.size()));
    for (const TensorToWrite &tensor : tensors)
      out.write(reinterpret_cast<const char *>(tensor.bytes.data()),
                static_cast<std::streamsize>(tensor.bytes.size()));
  });
}

Status writeFileAtomically(const std::string &path,
                           const std::function<void(std::ostream &)> &write) {
  std::string temporary = path + ".tmp." + std::to_string(::getpid());
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    if (!out)
      return ioError("cannot write '" + temporary + "'");
    write(out);
    out.flush();
    if (!out) {
      std::remove(temporary.c_str());
      return ioError("writing '" + temporary + "' failed");
    }
  }
  if (std::rename(temporary.c_str(), path.c_str()) != 0) {
    std::string why = std::strerror(errno);
    std::remove(temporary.c_str());
    return ioError("cannot rename '" + temporary + "' to '" + path +
                   "': " + why);
  }
  return Status::ok();
}

} // namespace kopt::rt
