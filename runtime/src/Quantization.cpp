//===- Quantization.cpp - Group-wise weight quantization and packing ------===//

#include "kopt/runtime/Quantization.h"

#include "kopt/runtime/DType.h"
#include "kopt/runtime/Float16.h"
#include "kopt/runtime/Plan.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>

namespace kopt::rt::quant {
namespace {

int64_t ceilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

bool isIntStorage(Storage storage) { return storage != Storage::Fp8E4M3; }

/// Fractions of a group's range tried as its clipping range, best first on
/// ties.
constexpr float kClipRatios[] = {1.0f,  0.975f, 0.95f, 0.925f, 0.9f,  0.875f,
                                 0.85f, 0.825f, 0.8f,  0.775f, 0.75f, 0.725f};

/// The largest code magnitude (symmetric) or code (asymmetric).
int64_t codeMax(Storage storage, bool asymmetric) {
  int64_t bits = storage == Storage::Int4 ? 4 : 8;
  return asymmetric ? (int64_t(1) << bits) - 1 : (int64_t(1) << (bits - 1)) - 1;
}

float roundTo(kopt_dtype_t dtype, float value) {
  switch (dtype) {
  case KOPT_DTYPE_F16:
    return f16ToFloat(floatToF16(value));
  case KOPT_DTYPE_BF16:
    return bf16ToFloat(floatToBF16(value));
  default:
    return value;
  }
}

/// Round half to even, as std::nearbyint in the default mode, but inline:
/// adding and subtracting 1.5 * 2^23 leaves the nearest integer (exact for
/// |x| < 2^22; larger values are integers already or beyond any code).
inline float roundToEven(float x) {
  constexpr float kMagic = 12582912.0f;
  return std::fabs(x) < 4194304.0f ? (x + kMagic) - kMagic : x;
}

/// The integer code of `w` against `scale` and `zero`, clamped to
/// [lowest, highest] (a zero scale codes `zero`).
inline float codeFor(float w, float scale, float zero, float lowest,
                     float highest) {
  float q = scale == 0.0f ? 0.0f : roundToEven(w / scale);
  return std::min(std::max(q + zero, lowest), highest);
}

/// Sum of squared errors of `values[0, count)` coded by codeFor.
double squaredError(const float *values, int64_t count, float scale, float zero,
                    float lowest, float highest) {
  double total = 0;
  for (int64_t begin = 0; begin < count; begin += 256) {
    int64_t end = std::min(count, begin + 256);
    float partial = 0;
    for (int64_t i = begin; i < end; ++i) {
      float q = codeFor(values[i], scale, zero, lowest, highest);
      float diff = (q - zero) * scale - values[i];
      partial += diff * diff;
    }
    total += partial;
  }
  return total;
}

} // namespace

std::string storageName(Storage storage) {
  switch (storage) {
  case Storage::Int4:
    return "i4";
  case Storage::Int8:
    return "i8";
  case Storage::Fp8E4M3:
    return "f8E4M3FN";
  }
  return "?";
}

std::string layoutName(Layout layout) {
  return layout == Layout::Mma ? "mma" : "plain";
}

Status Encoding::validate() const {
  if (shape.size() != 2 && shape.size() != 3)
    return invalidArgument("a quantized weight has shape [N, K] or [E, N, K], "
                           "got " +
                           shapeText(shape));
  int64_t elements = 1;
  for (int64_t dim : shape) {
    if (dim <= 0 || dim > (int64_t(1) << 31))
      return invalidArgument(
          "quantized weight dims must be in [1, 2^31], got " +
          shapeText(shape));
    elements *= dim;
    if (elements > (int64_t(1) << 40))
      return invalidArgument("quantized weight " + shapeText(shape) +
                             " is too large");
  }
  if (scale != KOPT_DTYPE_F32 && scale != KOPT_DTYPE_F16 &&
      scale != KOPT_DTYPE_BF16)
    return invalidArgument(
        "quantization scales must be f32, f16 or bf16, got " +
        std::string(dtypeName(scale)));
  if (groupSize < 0 || (groupSize > 0 && cols() % groupSize != 0))
    return invalidArgument("group size " + std::to_string(groupSize) +
                           " does not divide K = " + std::to_string(cols()));
  if (asymmetric && !isIntStorage(storage))
    return invalidArgument("zero points need integer (i4/i8) storage");
  if (layout == Layout::Mma) {
    if (!isIntStorage(storage))
      return invalidArgument("layout 'mma' is defined for i4 and i8 only");
    if (groupSize != 0 && groupSize != cols() &&
        groupSize % mmaGranule(storage) != 0)
      return invalidArgument("layout 'mma' needs a group size that is a "
                             "multiple of " +
                             std::to_string(mmaGranule(storage)) +
                             ", K itself or 0, got " +
                             std::to_string(groupSize));
  }
  return Status::ok();
}

StatusOr<Encoding> encodingFromJson(const nlohmann::json &value) {
  auto bad = [](const std::string &what) {
    return invalidArgument("quantized encoding: " + what);
  };
  if (!value.is_object())
    return bad("must be an object");
  Encoding encoding;
  auto text = [&](const char *key) -> const std::string * {
    auto it = value.find(key);
    return it != value.end() && it->is_string()
               ? &it->get_ref<const std::string &>()
               : nullptr;
  };
  const std::string *storage = text("storage");
  if (!storage ||
      (*storage != "i4" && *storage != "i8" && *storage != "f8E4M3FN"))
    return bad("\"storage\" must be \"i4\", \"i8\" or \"f8E4M3FN\"");
  encoding.storage = *storage == "i4"   ? Storage::Int4
                     : *storage == "i8" ? Storage::Int8
                                        : Storage::Fp8E4M3;
  auto group = value.find("group_size");
  if (group == value.end() || !group->is_number_integer())
    return bad("\"group_size\" must be an integer");
  encoding.groupSize = group->get<int64_t>();
  const std::string *scale = text("scale");
  std::optional<kopt_dtype_t> scaleType =
      scale ? parseDTypeName(*scale) : std::nullopt;
  if (!scaleType)
    return bad("\"scale\" must name a dtype");
  encoding.scale = *scaleType;
  auto asymmetric = value.find("asymmetric");
  if (asymmetric == value.end() || !asymmetric->is_boolean())
    return bad("\"asymmetric\" must be true or false");
  encoding.asymmetric = asymmetric->get<bool>();
  const std::string *layout = text("layout");
  if (!layout || (*layout != "plain" && *layout != "mma"))
    return bad("\"layout\" must be \"plain\" or \"mma\"");
  encoding.layout = *layout == "mma" ? Layout::Mma : Layout::Plain;
  auto shape = value.find("shape");
  if (shape == value.end() || !shape->is_array() || shape->size() > 3)
    return bad("\"shape\" must be [N, K] or [E, N, K]");
  for (const nlohmann::json &dim : *shape) {
    if (!dim.is_number_integer())
      return bad("\"shape\" must hold integers");
    encoding.shape.push_back(dim.get<int64_t>());
  }
  KOPT_RETURN_IF_ERROR(encoding.validate());
  return encoding;
}

void storeScalar(kopt_dtype_t dtype, float value, uint8_t *at) {
  if (dtype == KOPT_DTYPE_F32) {
    std::memcpy(at, &value, 4);
    return;
  }
  uint16_t bits =
      dtype == KOPT_DTYPE_F16 ? floatToF16(value) : floatToBF16(value);
  std::memcpy(at, &bits, 2);
}

float loadScalar(kopt_dtype_t dtype, const uint8_t *at) {
  if (dtype == KOPT_DTYPE_F32) {
    float value;
    std::memcpy(&value, at, 4);
    return value;
  }
  uint16_t bits;
  std::memcpy(&bits, at, 2);
  return dtype == KOPT_DTYPE_F16 ? f16ToFloat(bits) : bf16ToFloat(bits);
}

size_t Part::bytes() const {
  size_t n = 1;
  for (int64_t dim : shape)
    n *= static_cast<size_t>(dim);
  return n * dtypeSize(dtype);
}

std::vector<Part> partsOf(const Encoding &encoding) {
  std::vector<int64_t> lead(encoding.shape.begin(), encoding.shape.end() - 2);
  int64_t n = encoding.rows(), k = encoding.cols();
  auto with = [&](int64_t a, int64_t b) {
    std::vector<int64_t> shape = lead;
    shape.push_back(a);
    shape.push_back(b);
    return shape;
  };
  std::vector<Part> parts;
  if (encoding.layout == Layout::Mma)
    parts.push_back({"qweight", KOPT_DTYPE_I8,
                     with(ceilDiv(n, kMmaTileRows),
                          ceilDiv(k, encoding.mmaChunk()) * kMmaTileBytes)});
  else if (encoding.storage == Storage::Int4)
    parts.push_back({"qweight", KOPT_DTYPE_I8, with(n, ceilDiv(k, 2))});
  else
    parts.push_back({"qweight",
                     encoding.storage == Storage::Fp8E4M3 ? KOPT_DTYPE_F8E4M3
                                                          : KOPT_DTYPE_I8,
                     with(n, k)});
  std::vector<int64_t> scaleShape =
      encoding.groupSize == 0 ? with(1, 1) : with(n, encoding.groups());
  parts.push_back({"scales", encoding.scale, scaleShape});
  if (encoding.asymmetric)
    parts.push_back({"zeros", KOPT_DTYPE_I8, scaleShape});
  return parts;
}

uint8_t floatToE4M3(float value) {
  uint8_t sign = std::signbit(value) ? 0x80 : 0;
  float a = std::fabs(value);
  if (std::isnan(value))
    return 0x7f;
  if (a >= 448.0f)
    return sign | 0x7e;
  if (a < 0.015625f) { // below 2^-6: subnormal steps of 2^-9
    auto q = static_cast<uint8_t>(std::nearbyint(a * 512.0f));
    return sign | q; // q == 8 is the smallest normal, 0x08
  }
  int exponent;
  float fraction = std::frexp(a, &exponent); // a = fraction * 2^exponent
  int e = exponent - 1;                      // a = (2 * fraction) * 2^e
  auto m = static_cast<int>(std::nearbyint((2.0f * fraction - 1.0f) * 8.0f));
  if (m == 8) {
    m = 0;
    ++e;
  }
  int biased = e + 7;
  uint8_t bits = static_cast<uint8_t>((biased << 3) | m);
  return sign | std::min<uint8_t>(bits, 0x7e);
}

float e4m3ToFloat(uint8_t bits) {
  float sign = (bits & 0x80) ? -1.0f : 1.0f;
  int exponent = (bits >> 3) & 0xf, mantissa = bits & 7;
  if (exponent == 15 && mantissa == 7)
    return std::nanf("");
  if (exponent == 0)
    return sign * std::ldexp(static_cast<float>(mantissa), -9);
  return sign * std::ldexp(1.0f + mantissa / 8.0f, exponent - 7);
}

StatusOr<Packed> quantize(const Encoding &encoding, kopt_dtype_t sourceDType,
                          const void *source, size_t sourceBytes) {
  KOPT_RETURN_IF_ERROR(encoding.validate());
  if (sourceDType != KOPT_DTYPE_F32 && sourceDType != KOPT_DTYPE_F16 &&
      sourceDType != KOPT_DTYPE_BF16)
    return invalidArgument("only f32, f16 and bf16 weights can be quantized, "
                           "got " +
                           std::string(dtypeName(sourceDType)));
  int64_t experts = encoding.experts(), rows = encoding.rows(),
          cols = encoding.cols();
  int64_t count = experts * rows * cols;
  if (sourceBytes != static_cast<size_t>(count) * dtypeSize(sourceDType) ||
      (count && !source))
    return dataLoss("the weight holds " + std::to_string(sourceBytes) +
                    " bytes, not the " +
                    std::to_string(count * dtypeSize(sourceDType)) + " its " +
                    shapeText(encoding.shape) + " " +
                    std::string(dtypeName(sourceDType)) + " shape needs");
  const auto *bytes = static_cast<const uint8_t *>(source);
  size_t width = dtypeSize(sourceDType);
  auto at = [&](int64_t i) {
    return loadScalar(sourceDType, bytes + i * width);
  };

  std::vector<Part> parts = partsOf(encoding);
  Packed packed;
  bool mma = encoding.layout == Layout::Mma;
  uint8_t fill = 0;
  if (mma && !encoding.asymmetric)
    fill = encoding.storage == Storage::Int4 ? 0x88 : 0x80;
  packed.qweight.assign(parts[0].bytes(), fill);
  packed.scales.assign(parts[1].bytes(), 0);
  if (encoding.asymmetric)
    packed.zeros.assign(parts[2].bytes(), 0);

  // Pass 1: each group's range -> its scale (rounded to the scale dtype, so
  // codes are computed against the scale the kernels will read) and zero.
  int64_t scaleCount =
      experts * (encoding.groupSize == 0 ? 1 : rows) * encoding.groups();
  std::vector<float> lo(scaleCount, 0.0f), hi(scaleCount, 0.0f);
  for (int64_t e = 0; e < experts; ++e)
    for (int64_t n = 0; n < rows; ++n)
      for (int64_t k = 0; k < cols; ++k) {
        float w = at((e * rows + n) * cols + k);
        if (!std::isfinite(w))
          return invalidArgument(
              "the weight has a non-finite value at [" + std::to_string(n) +
              ", " + std::to_string(k) + "]" +
              (experts > 1 ? " of expert " + std::to_string(e)
                           : std::string()));
        int64_t g = elementAddress(encoding, e, n, k).scale;
        lo[g] = std::min(lo[g], w);
        hi[g] = std::max(hi[g], w);
      }
  int64_t qmax = codeMax(encoding.storage, encoding.asymmetric);
  size_t scaleWidth = dtypeSize(encoding.scale);
  // Integer codes: each group's range is shrunk by the clip ratio of
  // kClipRatios that minimizes the group's squared error (ratio 1 wins ties,
  // so exactly representable data round-trips). Outliers then cost a clipped
  // weight instead of a coarser step for the whole group.
  auto scaleFor = [&](int64_t g, float clip) {
    float scale;
    if (encoding.storage == Storage::Fp8E4M3)
      scale = std::max(-lo[g], hi[g]) / 448.0f;
    else if (encoding.asymmetric)
      scale = clip * (hi[g] - lo[g]) / static_cast<float>(qmax);
    else
      scale = clip * std::max(-lo[g], hi[g]) / static_cast<float>(qmax);
    scale = roundTo(encoding.scale, scale);
    if (encoding.asymmetric && scale == 0.0f)
      scale = roundTo(encoding.scale, 1.0f);
    return scale;
  };
  auto zeroFor = [&](int64_t g, float clip, float scale) {
    return std::clamp(std::nearbyint(-clip * lo[g] / scale), 0.0f,
                      static_cast<float>(qmax));
  };
  // Codes span [0, qmax] with a zero point, else [-qmax - 1, qmax].
  float lowest = encoding.asymmetric ? 0.0f : -qmax - 1.0f;
  float highest = static_cast<float>(qmax);
  std::vector<float> clips(scaleCount, 1.0f);
  if (isIntStorage(encoding.storage)) {
    // Groups are contiguous runs of a row (or, per tensor, all of an
    // expert), so each is scored from a float copy in one tight loop.
    int64_t span = encoding.groupSize == 0 ? rows * cols : encoding.groupSize;
    std::vector<float> values(span);
    std::vector<double> best(scaleCount, 0.0);
    for (int64_t start = 0; start < experts * rows * cols;) {
      int64_t row = start / cols, k = start % cols;
      int64_t count = encoding.groupSize == 0 ? span : std::min(span, cols - k);
      int64_t g = encoding.groupSize == 0
                      ? start / span
                      : row * encoding.groups() + k / encoding.groupSize;
      for (int64_t i = 0; i < count; ++i)
        values[i] = at(start + i);
      for (float clip : kClipRatios) {
        float scale = scaleFor(g, clip);
        float zero = encoding.asymmetric ? zeroFor(g, clip, scale) : 0.0f;
        double error =
            squaredError(values.data(), count, scale, zero, lowest, highest);
        if (clip == kClipRatios[0] || error < best[g]) {
          best[g] = error;
          clips[g] = clip;
        }
      }
      start += count;
    }
  }
  std::vector<float> scales(scaleCount), zeros(scaleCount, 0.0f);
  for (int64_t g = 0; g < scaleCount; ++g) {
    float scale = scaleFor(g, clips[g]);
    scales[g] = scale;
    storeScalar(encoding.scale, scale, &packed.scales[g * scaleWidth]);
    if (encoding.asymmetric) {
      zeros[g] = zeroFor(g, clips[g], scale);
      packed.zeros[g] = static_cast<uint8_t>(zeros[g]);
    }
  }

  // Pass 2: codes.
  for (int64_t e = 0; e < experts; ++e)
    for (int64_t n = 0; n < rows; ++n)
      for (int64_t k = 0; k < cols; ++k) {
        float w = at((e * rows + n) * cols + k);
        ElementAddress<int64_t> at = elementAddress(encoding, e, n, k);
        int64_t g = at.scale;
        if (encoding.storage == Storage::Fp8E4M3) {
          packed.qweight[at.byte] =
              scales[g] == 0.0f ? 0 : floatToE4M3(w / scales[g]);
          continue;
        }
        auto q = static_cast<int64_t>(
            codeFor(w, scales[g], zeros[g], lowest, highest));
        int64_t stored = q;
        if (mma && !encoding.asymmetric)
          stored = q + encoding.mmaOffset();
        uint8_t code = static_cast<uint8_t>(stored);
        if (encoding.storage == Storage::Int4) {
          code &= 0xf;
          uint8_t &byte = packed.qweight[at.byte];
          byte = static_cast<uint8_t>((byte & ~(0xf << at.shift)) |
                                      code << at.shift);
        } else {
          packed.qweight[at.byte] = code;
        }
      }
  return packed;
}

StatusOr<std::vector<float>> dequantize(const Encoding &encoding,
                                        const std::vector<const void *> &parts,
                                        const std::vector<size_t> &partBytes) {
  KOPT_RETURN_IF_ERROR(encoding.validate());
  std::vector<Part> expected = partsOf(encoding);
  if (parts.size() != expected.size() || partBytes.size() != expected.size())
    return invalidArgument(
        "a " + std::string(encoding.asymmetric ? "asymmetric" : "symmetric") +
        " quantized weight has " + std::to_string(expected.size()) +
        " parts, got " + std::to_string(parts.size()));
  for (size_t i = 0; i < expected.size(); ++i) {
    int64_t n = 1;
    for (int64_t dim : expected[i].shape)
      n *= dim;
    if (partBytes[i] != static_cast<size_t>(n) * dtypeSize(expected[i].dtype) ||
        (n && !parts[i]))
      return dataLoss("the " + expected[i].suffix + " of a quantized weight " +
                      "holds " + std::to_string(partBytes[i]) +
                      " bytes, not what " + shapeText(expected[i].shape) +
                      " needs");
  }
  const auto *codes = static_cast<const uint8_t *>(parts[0]);
  const auto *scales = static_cast<const uint8_t *>(parts[1]);
  const auto *zeros =
      encoding.asymmetric ? static_cast<const uint8_t *>(parts[2]) : nullptr;
  int64_t experts = encoding.experts(), rows = encoding.rows(),
          cols = encoding.cols();
  size_t scaleWidth = dtypeSize(encoding.scale);
  bool mma = encoding.layout == Layout::Mma;
  std::vector<float> out(static_cast<size_t>(experts * rows * cols));
  for (int64_t e = 0; e < experts; ++e)
    for (int64_t n = 0; n < rows; ++n)
      for (int64_t k = 0; k < cols; ++k) {
        ElementAddress<int64_t> at = elementAddress(encoding, e, n, k);
        int64_t g = at.scale;
        float scale = loadScalar(encoding.scale, scales + g * scaleWidth);
        uint8_t byte = codes[at.byte];
        float value;
        if (encoding.storage == Storage::Fp8E4M3) {
          value = e4m3ToFloat(byte) * scale;
        } else {
          int64_t code = byte;
          if (encoding.storage == Storage::Int4)
            code = (byte >> at.shift) & 0xf;
          int64_t zero = 0;
          if (encoding.asymmetric)
            zero = zeros[g];
          else if (mma)
            zero = encoding.mmaOffset();
          else if (encoding.storage == Storage::Int4)
            code = code >= 8 ? code - 16 : code; // signed nibble
          else
            code = static_cast<int8_t>(byte);
          value = static_cast<float>(code - zero) * scale;
        }
        out[(e * rows + n) * cols + k] = roundTo(encoding.scale, value);
      }
  return out;
}

} // namespace kopt::rt::quant
