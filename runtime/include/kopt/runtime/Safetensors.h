//===- Safetensors.h - Validated, memory-mapped safetensors -----*- C++ -*-===//
//
// Reads safetensors files (and sharded checkpoints through their
// *.safetensors.index.json) without trusting them: header length, JSON,
// dtypes, shapes, byte sizes and offsets are all checked, with arithmetic
// overflow and overlapping tensors rejected, before a byte of data is
// handed out. Also writes safetensors files.
//
//===----------------------------------------------------------------------===//

#ifndef KOPT_RUNTIME_SAFETENSORS_H
#define KOPT_RUNTIME_SAFETENSORS_H

#include "kopt/runtime/Status.h"

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

namespace kopt::rt {

/// A read-only memory mapping of a whole file.
class MappedFile {
public:
  static StatusOr<std::shared_ptr<MappedFile>> open(const std::string &path);
  ~MappedFile();
  MappedFile(const MappedFile &) = delete;
  MappedFile &operator=(const MappedFile &) = delete;

  const uint8_t *data() const { return data_; }
  size_t size() const { return size_; }
  const std::string &path() const { return path_; }

private:
  MappedFile(std::string path, const uint8_t *data, size_t size)
      : path_(std::move(path)), data_(data), size_(size) {}
  std::string path_;
  const uint8_t *data_;
  size_t size_;
};

/// One tensor of a safetensors file.
struct TensorEntry {
  std::string name;
  kopt_dtype_t dtype;
  std::vector<int64_t> shape;
  const uint8_t *data;
  size_t byteSize;

  int64_t numElements() const;
  kopt_tensor_view_t view() const;
};

/// A validated safetensors file (or an in-memory buffer with its layout).
class SafetensorsFile {
public:
  /// Maps and validates `path`.
  static StatusOr<std::shared_ptr<SafetensorsFile>>
  open(const std::string &path);
  /// Validates an already mapped file.
  static StatusOr<std::shared_ptr<SafetensorsFile>>
  parse(std::shared_ptr<MappedFile> file);

  const std::map<std::string, TensorEntry> &tensors() const { return tensors_; }
  const std::map<std::string, std::string> &metadata() const {
    return metadata_;
  }
  const std::string &path() const { return file_->path(); }

private:
  std::shared_ptr<MappedFile> file_;
  std::map<std::string, TensorEntry> tensors_;
  std::map<std::string, std::string> metadata_;
};

/// All tensors of a checkpoint: one safetensors file or the shards named by
/// a *.safetensors.index.json.
class WeightSet {
public:
  static StatusOr<std::shared_ptr<WeightSet>> open(const std::string &path);

  /// The tensor called `name`, or nullptr.
  const TensorEntry *lookup(const std::string &name) const;
  /// Every tensor name, sorted.
  const std::vector<std::string> &names() const { return names_; }

private:
  std::vector<std::shared_ptr<SafetensorsFile>> files_;
  std::map<std::string, const TensorEntry *> entries_;
  std::vector<std::string> names_;
};

/// A tensor to write: its bytes are copied as given (little-endian).
struct TensorToWrite {
  std::string name;
  kopt_dtype_t dtype;
  std::vector<int64_t> shape;
  std::vector<uint8_t> bytes;
};

/// Writes `tensors` (names must be unique) and string `metadata` to `path`,
/// atomically (a temporary file renamed over the target).
Status writeSafetensors(const std::string &path,
                        const std::vector<TensorToWrite> &tensors,
                        const std::map<std::string, std::string> &metadata);

/// Writes `path` atomically: `write` fills a temporary file beside it, which
/// is then renamed over `path` (removed again on any failure).
Status writeFileAtomically(const std::string &path,
                           const std::function<void(std::ostream &)> &write);

} // namespace kopt::rt

#endif // KOPT_RUNTIME_SAFETENSORS_H
