//===- Quantization.h - Group-wise weight quantization and packing -*- C++
//-*-===//
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

/// K elements of one `mma` lane slice (i4: 16, i8: 8), which must share a
/// group.
constexpr int64_t mmaGranule(Storage storage) {
  return storage == Storage::Int4 ? 16 : 8;
}

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

  /// Stored size in bytes.
  size_t bytes() const;
};

/// One f32/f16/bf16 element at `at` as f32, and its rounded store.
float loadScalar(kopt_dtype_t dtype, const uint8_t *at);
void storeScalar(kopt_dtype_t dtype, float value, uint8_t *at);

/// Reads the plan's JSON form of an encoding ({"storage", "group_size",
/// "scale", "asymmetric", "layout", "shape"}) and validates it.
StatusOr<Encoding> encodingFromJson(const nlohmann::json &value);

/// The tensors `encoding` is stored as, in order qweight, scales[, zeros].
std::vector<Part> partsOf(const Encoding &encoding);

/// Where logical element (expert, n, k) is stored: `byte`, its offset in
/// the flattened `qweight`, and `shift`, the right shift of its code in that
/// byte (4 for an i4 code in the high nibble, else 0); `scale`, the offset of
/// its scale (and zero point) in the flattened `scales` (`zeros`).
///
/// Written once over any integer representation, so the code generators
/// emit this very arithmetic: `Math` provides `Int c(int64_t)`,
/// `Int add(Int, Int)` and `Int mul/div/rem(Int, int64_t)`.
template <typename Int> struct ElementAddress { Int byte, shift, scale; };

template <typename Math, typename Int>
ElementAddress<Int> elementAddress(const Encoding &e, Math &m, Int expert,
                                   Int n, Int k) {
  const int64_t rows = e.rows(), cols = e.cols();
  Int row = m.add(m.mul(expert, rows), n);
  Int scale = e.groupSize == 0
                  ? expert
                  : m.add(m.mul(row, e.groups()), m.div(k, e.groupSize));
  bool int4 = e.storage == Storage::Int4;
  if (e.layout == Layout::Plain) {
    if (!int4)
      return {m.add(m.mul(row, cols), k), m.c(0), scale};
    return {m.add(m.mul(row, (cols + 1) / 2), m.div(k, 2)),
            m.mul(m.rem(k, 2), 4), scale};
  }
  // mma: tile t = n / 16 holds rows 16t..16t+15 for all of K, in chunks of
  // 512 bytes, 16 per lane. Lane 4r + c holds rows r and r + 8 and, for
  // K-step s of the chunk, the elements the m16n8k16 A fragment slots
  // {2c, 2c+1} and {2c+8, 2c+9} take: K offsets 4s + {0, 1} and 4s + {2, 3}
  // of the lane's own K range (16c.. for i4, 8c.. for i8).
  const int64_t chunk = e.mmaChunk(), span = chunk / 4;
  const int64_t tiles = (rows + kMmaTileRows - 1) / kMmaTileRows;
  const int64_t rowBytes = (cols + chunk - 1) / chunk * kMmaTileBytes;
  Int rr = m.rem(n, kMmaTileRows), r = m.rem(rr, 8), high = m.div(rr, 8);
  Int kk = m.rem(k, chunk), lane = m.add(m.mul(r, 4), m.div(kk, span));
  Int j = m.rem(kk, span), step = m.div(j, 4), e4 = m.rem(j, 4);
  Int odd = m.rem(e4, 2), pair = m.div(e4, 2);
  Int tile = m.add(m.mul(expert, tiles), m.div(n, kMmaTileRows));
  Int base =
      m.add(m.add(m.mul(tile, rowBytes), m.mul(m.div(k, chunk), kMmaTileBytes)),
            m.mul(lane, 16));
  if (int4) {
    // Word `step`; half-word pairs p = 2 * (e4 / 2) + high, element e4 % 2
    // in the upper half: nibble at bit 16 * (e4 % 2) + 4 * p.
    Int bit = m.add(m.mul(odd, 16), m.mul(m.add(m.mul(pair, 2), high), 4));
    return {m.add(m.add(base, m.mul(step, 4)), m.div(bit, 8)), m.rem(bit, 8),
            scale};
  }
  // i8: word 2 * step + e4 / 2, byte 2 * (e4 % 2) + high.
  return {m.add(m.add(base, m.mul(m.add(m.mul(step, 2), pair), 4)),
                m.add(m.mul(odd, 2), high)),
          m.c(0), scale};
}

/// elementAddress on plain integers.
struct HostMath {
  int64_t c(int64_t v) { return v; }
  int64_t add(int64_t a, int64_t b) { return a + b; }
  int64_t mul(int64_t a, int64_t b) { return a * b; }
  int64_t div(int64_t a, int64_t b) { return a / b; }
  int64_t rem(int64_t a, int64_t b) { return a % b; }
};

inline ElementAddress<int64_t> elementAddress(const Encoding &e, int64_t expert,
                                              int64_t n, int64_t k) {
  HostMath m;
  return elementAddress(e, m, expert, n, k);
}

/// A quantized weight's stored bytes, one buffer per part.
struct Packed {
  std::vector<uint8_t> qweight, scales, zeros;
};

/// Quantizes `source` (logical shape, dtype f32/f16/bf16, row-major) by
/// round-to-nearest into `encoding`. Integer groups clip their range to the
/// fraction (1 down to 0.725) that minimizes the group's squared error.
/// Deterministic: the compiler and the runtime produce the same bytes.
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
