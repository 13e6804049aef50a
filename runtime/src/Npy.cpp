//===- Npy.cpp - NumPy .npy files -----------------------------------------===//
//
// Layout: "\x93NUMPY", major and minor version bytes, a little-endian header
// length (2 bytes in 1.0, 4 in 2.0/3.0), a Python dict literal
// {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), } padded with
// spaces and a newline, then the data.
//
//===----------------------------------------------------------------------===//

#include "kopt/runtime/DType.h"
#include "kopt/runtime/Npy.h"
#include "kopt/runtime/Safetensors.h"

#include <cctype>
#include <cstring>
#include <fstream>

namespace kopt::rt {
namespace {

struct NpyDType {
  std::string_view descr;
  kopt_dtype_t dtype;
};

constexpr NpyDType kNpyDTypes[] = {
    {"<f4", KOPT_DTYPE_F32}, {"<f2", KOPT_DTYPE_F16}, {"<f8", KOPT_DTYPE_F64},
    {"|i1", KOPT_DTYPE_I8},  {"|u1", KOPT_DTYPE_U8},  {"<i2", KOPT_DTYPE_I16},
    {"<i4", KOPT_DTYPE_I32}, {"<i8", KOPT_DTYPE_I64}, {"|b1", KOPT_DTYPE_BOOL},
};

/// A cursor over the header's dict literal.
class DictParser {
public:
  explicit DictParser(std::string_view text) : text_(text) {}

  void skipSpace() {
    while (pos_ < text_.size() && std::isspace(static_cast<unsigned char>(text_[pos_])))
      ++pos_;
  }
  bool consume(char c) {
    skipSpace();
    if (pos_ < text_.size() && text_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }
  bool peek(char c) {
    skipSpace();
    return pos_ < text_.size() && text_[pos_] == c;
  }
  bool readString(std::string &out) {
    skipSpace();
    if (pos_ >= text_.size() || (text_[pos_] != '\'' && text_[pos_] != '"'))
      return false;
    char quote = text_[pos_++];
    size_t end = text_.find(quote, pos_);
    if (end == std::string_view::npos)
      return false;
    out = std::string(text_.substr(pos_, end - pos_));
    pos_ = end + 1;
    return true;
  }
  bool readWord(std::string &out) {
    skipSpace();
    size_t start = pos_;
    while (pos_ < text_.size() && std::isalnum(static_cast<unsigned char>(text_[pos_])))
      ++pos_;
    out = std::string(text_.substr(start, pos_ - start));
    return !out.empty();
  }
  bool readInt(int64_t &out) {
    skipSpace();
    size_t start = pos_;
    out = 0;
    while (pos_ < text_.size() && std::isdigit(static_cast<unsigned char>(text_[pos_]))) {
      if (__builtin_mul_overflow(out, 10, &out) ||
          __builtin_add_overflow(out, text_[pos_] - '0', &out))
        return false;
      ++pos_;
    }
    // Python may print shapes of numpy ints with an 'L' suffix (py2).
    if (pos_ < text_.size() && text_[pos_] == 'L')
      ++pos_;
    return pos_ > start;
  }

private:
  std::string_view text_;
  size_t pos_ = 0;
};

} // namespace

int64_t HostTensor::numElements() const {
  int64_t count = 1;
  for (int64_t dim : shape)
    count *= dim;
  return count;
}

StatusOr<HostTensor> parseNpy(const uint8_t *data, size_t size,
                              const std::string &what) {
  auto bad = [&](const std::string &why) { return dataLoss(what + ": " + why); };
  static const char kMagic[] = "\x93NUMPY";
  if (size < 10 || std::memcmp(data, kMagic, 6) != 0)
    return bad("not a .npy file (bad magic)");
  uint8_t major = data[6];
  size_t headerLength, offset;
  if (major == 1) {
    headerLength = data[8] | (data[9] << 8);
    offset = 10;
  } else if (major == 2 || major == 3) {
    if (size < 12)
      return bad("truncated header");
    headerLength = static_cast<size_t>(data[8]) | (data[9] << 8) |
                   (static_cast<size_t>(data[10]) << 16) |
                   (static_cast<size_t>(data[11]) << 24);
    offset = 12;
  } else {
    return bad("unsupported .npy version " + std::to_string(major));
  }
  if (headerLength > size - offset)
    return bad("header runs past the end of the file");

  DictParser parser(std::string_view(
      reinterpret_cast<const char *>(data + offset), headerLength));
  HostTensor tensor;
  std::string descr;
  bool haveDescr = false, haveOrder = false, haveShape = false;
  if (!parser.consume('{'))
    return bad("header is not a dict");
  while (!parser.consume('}')) {
    std::string key;
    if (!parser.readString(key) || !parser.consume(':'))
      return bad("malformed header dict");
    if (key == "descr") {
      if (!parser.readString(descr))
        return bad("'descr' is not a string (structured dtypes are not supported)");
      haveDescr = true;
    } else if (key == "fortran_order") {
      std::string word;
      if (!parser.readWord(word) || (word != "True" && word != "False"))
        return bad("'fortran_order' is not True or False");
      if (word == "True")
        return unimplemented(what + ": Fortran-order arrays are not supported; "
                                    "save with np.ascontiguousarray");
      haveOrder = true;
    } else if (key == "shape") {
      if (!parser.consume('('))
        return bad("'shape' is not a tuple");
      while (!parser.consume(')')) {
        int64_t dim;
        if (!parser.readInt(dim))
          return bad("'shape' holds a non-integer");
        tensor.shape.push_back(dim);
        if (!parser.consume(',') && !parser.peek(')'))
          return bad("malformed 'shape'");
      }
      haveShape = true;
    } else {
      return bad("unexpected header key '" + key + "'");
    }
    if (!parser.consume(',') && !parser.peek('}'))
      return bad("malformed header dict");
  }
  if (!haveDescr || !haveOrder || !haveShape)
    return bad("header needs 'descr', 'fortran_order' and 'shape'");
  if (tensor.shape.size() > KOPT_MAX_RANK)
    return bad("rank " + std::to_string(tensor.shape.size()) +
               " exceeds the maximum of " + std::to_string(KOPT_MAX_RANK));
  const NpyDType *found = nullptr;
  for (const NpyDType &entry : kNpyDTypes)
    if (entry.descr == descr ||
        (entry.descr[0] == '<' && descr.size() == 3 && descr[0] == '=' &&
         descr.substr(1) == entry.descr.substr(1)))
      found = &entry;
  if (!found) {
    if (!descr.empty() && descr[0] == '>')
      return unimplemented(what + ": big-endian dtype '" + descr +
                           "' is not supported");
    return unimplemented(what + ": unsupported dtype '" + descr + "'");
  }
  tensor.dtype = found->dtype;

  uint64_t bytes = dtypeSize(tensor.dtype);
  for (int64_t dim : tensor.shape)
    if (__builtin_mul_overflow(bytes, static_cast<uint64_t>(dim), &bytes))
      return bad("shape overflows");
  size_t dataOffset = offset + headerLength;
  if (bytes != size - dataOffset)
    return bad("holds " + std::to_string(size - dataOffset) +
               " data bytes but its shape needs " + std::to_string(bytes));
  tensor.bytes.assign(data + dataOffset, data + size);
  return tensor;
}

StatusOr<HostTensor> readNpy(const std::string &path) {
  StatusOr<std::shared_ptr<MappedFile>> file = MappedFile::open(path);
  if (!file.isOk())
    return file.status();
  return parseNpy((*file)->data(), (*file)->size(), "'" + path + "'");
}

StatusOr<std::vector<uint8_t>> encodeNpy(const HostTensor &tensor) {
  const NpyDType *found = nullptr;
  for (const NpyDType &entry : kNpyDTypes)
    if (entry.dtype == tensor.dtype)
      found = &entry;
  if (!found)
    return unimplemented(std::string(dtypeName(tensor.dtype)) +
                         " has no NumPy dtype; cast to f32 first");
  // Python tuple syntax: "()", "(5,)", "(2, 3)".
  std::string dims;
  for (size_t i = 0; i < tensor.shape.size(); ++i)
    dims += (i ? ", " : "") + std::to_string(tensor.shape[i]);
  if (tensor.shape.size() == 1)
    dims += ",";
  std::string header = "{'descr': '" + std::string(found->descr) +
                       "', 'fortran_order': False, 'shape': (" + dims + ")";
  header += ", }";
  // Pad so the data starts 64-byte aligned; the header ends in a newline.
  size_t total = 10 + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header += '\n';
  std::vector<uint8_t> out = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0,
                              static_cast<uint8_t>(header.size() & 0xff),
                              static_cast<uint8_t>(header.size() >> 8)};
  out.insert(out.end(), header.begin(), header.end());
  out.insert(out.end(), tensor.bytes.begin(), tensor.bytes.end());
  return out;
}

Status writeNpy(const std::string &path, const HostTensor &tensor) {
  StatusOr<std::vector<uint8_t>> encoded = encodeNpy(tensor);
  if (!encoded.isOk())
    return encoded.status();
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char *>(encoded->data()),
            static_cast<std::streamsize>(encoded->size()));
  if (!out)
    return ioError("cannot write '" + path + "'");
  return Status::ok();
}

} // namespace kopt::rt
