//===- Quantization.h - Group-wise weight quantization and packing -*- C++ -*-===//
//
// The one implementation of kopt's weight encodings, shared by the compiler
// (packing a checkpoint at compile time), the runtime (packing a float
// checkpoint at load time, bit-identical), the reference evaluator and the
// tests. An encoding mirrors `!kopt.quantized<...>`:
//
//   storage   i4 / i8 codes with `group_size` scales along K (symmetric:
//             w = q * s; asymmetric: w = (q - z) * s), or f8E4M3FN codes
//             with w = f8 * s;
//   layout    `plain`: row-major codes (i4: two per byte, lower K in the low
//             nibble, signed when symmetric); `mma`: the GPU kernels' layout
//             (see packedByteOffset), codes unsigned with an implied zero of
//             8 / 128 when symmetric.
//
// A quantized weight `name` is stored as `name.qweight` (i8 bytes, or
// f8E4M3FN), `name.scales` ([.., N, groups] of the scale dtype, [.., 1, 1]
// per tensor) and, when asymmetric, `name.zeros` (i8, one code per byte).
//
//===----------------------------------------------------------------------===//

#ifndef KOPT_RUNTIME_QUANTIZATION_H
#define KOPT_RUNTIME_QUANTIZATION_H

#include "kopt/runtime/Status.h"
#include "kopt/runtime/runtime.h"

#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace kopt::rt::quant {

enum class Storage : uint8_t { Int4, Int8, Fp8E4M3 };
enum class Layout : uint8_t { Plain, Mma };

/// Rows of one `mma` tile and the K elements one 16-byte slice per lane
/// covers (i4: 64, i8: 32).
constexpr int64_t kMmaTileRows = 16;
constexpr int64_t kMmaTileBytes = 512;

struct Encoding {
  Storage storage = Storage::Int4;
  /// Elements of K per scale; 0 = one scale per tensor (per expert).
  int64_t groupSize = 128;
  kopt_dtype_t scale = KOPT_DTYPE_BF16;
  bool asymmetric = false;
  Layout layout = Layout::Plain;
  /// Logical [N, K] or [E, N, K].
  std::vector<int64_t> shape;

  /// Checks the combination (what `!kopt.quantized` verifies, plus the
  /// `mma` layout's group rule); INVALID_ARGUMENT naming the problem.
  Status validate() const;

  int64_t experts() const { return shape.size() == 3 ? shape[0] : 1; }
  int64_t rows() const { return shape[shape.size() - 2]; }
  int64_t cols() const { return shape.back(); }
  /// Scales per row (K / group_size; 1 per tensor).
  int64_t groups() const { return groupSize == 0 ? 1 : cols() / groupSize; }
  /// K elements per `mma` chunk (one 16-byte slice per lane).
  int64_t mmaChunk() const { return storage == Storage::Int4 ? 64 : 32; }
  /// The implied zero point of symmetric `mma` codes.
  int64_t mmaOffset() const { return storage == Storage::Int4 ? 8 : 128; }
};

/// One stored tensor of a quantized weight.
struct Part {
  std::string suffix; // "qweight", "scales", "zeros"
  kopt_dtype_t dtype;
  std::vector<int64_t> shape;
};

/// Reads the plan's JSON form of an encoding ({"storage", "group_size",
/// "scale", "asymmetric", "layout", "shape"}) and validates it.
StatusOr<Encoding> encodingFromJson(const nlohmann::json &value);

/// The tensors `encoding` is stored as, in order qweight, scales[, zeros].
std::vector<Part> partsOf(const Encoding &encoding);

/// Byte offset of logical element (expert, n, k) in `qweight`, and for i4
/// whether it sits in the high nibble.
struct CodePosition {
  int64_t byte;
  bool highNibble;
};
CodePosition codePosition(const Encoding &encoding, int64_t expert, int64_t n,
                          int64_t k);

/// A quantized weight's stored bytes, one buffer per part.
struct Packed {
  std::vector<uint8_t> qweight, scales, zeros;
};

/// Quantizes `source` (logical shape, dtype f32/f16/bf16, row-major) by
/// round-to-nearest into `encoding`. Deterministic: the compiler and the
/// runtime produce the same bytes.
StatusOr<Packed> quantize(const Encoding &encoding, kopt_dtype_t sourceDType,
                          const void *source, size_t sourceBytes);

/// The weights a packed tensor stands for, as f32 (each w = (q - z) * s
/// computed in f32 and rounded to the scale dtype, as the kernels do).
/// `parts` are the bytes of qweight, scales[, zeros].
StatusOr<std::vector<float>> dequantize(const Encoding &encoding,
                                        const std::vector<const void *> &parts,
                                        const std::vector<size_t> &partBytes);

/// float8 e4m3fn conversions (round to nearest even, saturating to +-448).
uint8_t floatToE4M3(float value);
float e4m3ToFloat(uint8_t bits);

/// "i4" / "i8" / "f8E4M3FN" and "plain" / "mma".
std::string storageName(Storage storage);
std::string layoutName(Layout layout);

} // namespace kopt::rt::quant

#endif // KOPT_RUNTIME_QUANTIZATION_H
