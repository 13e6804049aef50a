//===- Sparsity.cpp - Structured pruning and sparse weight storage --------===//

#include "kopt/runtime/Sparsity.h"

#include "kopt/runtime/DType.h"
#include "kopt/runtime/Plan.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>

namespace kopt::rt::sparse {
namespace {

/// The positions of the `count` largest `score`s among `n`, ascending; ties
/// keep the lower position.
std::vector<int64_t> largest(const std::vector<float> &score, int64_t count) {
  std::vector<int64_t> order(score.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
    return score[a] > score[b];
  });
  order.resize(count);
  std::sort(order.begin(), order.end());
  return order;
}

} // namespace

int64_t Layout::blocksKept(double density, int64_t blocksPerBand) {
  int64_t kept = static_cast<int64_t>(std::llround(density * blocksPerBand));
  return std::clamp<int64_t>(kept, 1, std::max<int64_t>(1, blocksPerBand));
}

int64_t Layout::keptPerRow() const {
  return kind == Kind::NOfM ? cols() / group * kept : keptBlocks;
}

Status Layout::validate() const {
  if (shape.size() != 2 || shape[0] <= 0 || shape[1] <= 0 ||
      shape[0] > (int64_t(1) << 31) || shape[1] > (int64_t(1) << 31) ||
      shape[0] * shape[1] > (int64_t(1) << 40))
    return invalidArgument("a sparse weight has a shape [N, K] of dims in "
                           "[1, 2^31], got " +
                           shapeText(shape));
  if (dtype != KOPT_DTYPE_F32 && dtype != KOPT_DTYPE_F16 &&
      dtype != KOPT_DTYPE_BF16)
    return invalidArgument("sparse weights are f32, f16 or bf16, got " +
                           std::string(dtypeName(dtype)));
  if (kind == Kind::NOfM) {
    if (kept <= 0 || group <= kept || group > 64)
      return invalidArgument("N:M sparsity needs 0 < N < M <= 64, got " +
                             std::to_string(kept) + ":" +
                             std::to_string(group));
    if (cols() % group != 0)
      return invalidArgument("N:M sparsity needs K divisible by M = " +
                             std::to_string(group) +
                             ", got K = " + std::to_string(cols()));
    return Status::ok();
  }
  if (blockRows <= 0 || blockCols <= 0 || rows() % blockRows != 0 ||
      cols() % blockCols != 0)
    return invalidArgument("block sparsity needs R x C blocks tiling " +
                           shapeText(shape) + ", got " +
                           std::to_string(blockRows) + "x" +
                           std::to_string(blockCols));
  if (keptBlocks <= 0 || keptBlocks > cols() / blockCols)
    return invalidArgument("block sparsity keeps 1 to " +
                           std::to_string(cols() / blockCols) +
                           " blocks of a band, got " +
                           std::to_string(keptBlocks));
  return Status::ok();
}

StatusOr<Layout> layoutFromJson(const nlohmann::json &value) {
  auto bad = [](const std::string &what) {
    return invalidArgument("sparse layout: " + what);
  };
  if (!value.is_object())
    return bad("must be an object");
  auto integer = [&](const char *key, int64_t &out) {
    auto it = value.find(key);
    if (it == value.end() || !it->is_number_integer())
      return false;
    out = it->get<int64_t>();
    return true;
  };
  Layout layout;
  auto kind = value.find("kind");
  if (kind == value.end() || !kind->is_string() ||
      (*kind != "n:m" && *kind != "block"))
    return bad("\"kind\" must be \"n:m\" or \"block\"");
  if (*kind == "n:m") {
    if (!integer("kept", layout.kept) || !integer("group", layout.group))
      return bad("N:M needs integer \"kept\" and \"group\"");
  } else {
    layout.kind = Layout::Kind::Block;
    if (!integer("block_rows", layout.blockRows) ||
        !integer("block_cols", layout.blockCols) ||
        !integer("kept_blocks", layout.keptBlocks))
      return bad("block needs integer \"block_rows\", \"block_cols\" and "
                 "\"kept_blocks\"");
  }
  auto dtype = value.find("dtype");
  std::optional<kopt_dtype_t> parsed =
      dtype != value.end() && dtype->is_string()
          ? parseDTypeName(dtype->get_ref<const std::string &>())
          : std::nullopt;
  if (!parsed)
    return bad("\"dtype\" must name a dtype");
  layout.dtype = *parsed;
  auto shape = value.find("shape");
  if (shape == value.end() || !shape->is_array())
    return bad("\"shape\" must be an array");
  for (const nlohmann::json &dim : *shape) {
    if (!dim.is_number_integer())
      return bad("\"shape\" must hold integers");
    layout.shape.push_back(dim.get<int64_t>());
  }
  KOPT_RETURN_IF_ERROR(layout.validate());
  return layout;
}

std::vector<quant::Part> partsOf(const Layout &layout) {
  int64_t n = layout.rows(), k = layout.cols();
  if (layout.kind == Layout::Kind::NOfM) {
    std::vector<int64_t> shape{n, layout.keptPerRow()};
    return {{"values", layout.dtype, shape}, {"indices", KOPT_DTYPE_I8, shape}};
  }
  int64_t bands = n / layout.blockRows;
  return {{"values",
           layout.dtype,
           {bands, layout.keptBlocks, layout.blockRows, layout.blockCols}},
          {"indices", KOPT_DTYPE_I32, {bands, k / layout.blockCols}}};
}

StatusOr<Packed> prune(const Layout &layout, kopt_dtype_t dtype,
                       const void *data, size_t byteSize) {
  KOPT_RETURN_IF_ERROR(layout.validate());
  if (dtype != layout.dtype)
    return invalidArgument("the weight is " + std::string(dtypeName(dtype)) +
                           " but its sparse layout stores " +
                           std::string(dtypeName(layout.dtype)));
  int64_t n = layout.rows(), k = layout.cols();
  size_t width = dtypeSize(dtype);
  if (byteSize != static_cast<size_t>(n * k) * width || !data)
    return dataLoss("the weight holds " + std::to_string(byteSize) +
                    " bytes, not the " + std::to_string(n * k * width) +
                    " its " + shapeText(layout.shape) + " " +
                    std::string(dtypeName(dtype)) + " shape needs");
  const auto *bytes = static_cast<const uint8_t *>(data);
  auto at = [&](int64_t row, int64_t col) {
    return quant::loadScalar(dtype, bytes + (row * k + col) * width);
  };
  std::vector<quant::Part> parts = partsOf(layout);
  Packed packed;
  packed.values.assign(parts[0].bytes(), 0);
  packed.indices.assign(parts[1].bytes(), 0);
  auto copyValue = [&](int64_t row, int64_t col, int64_t slot) {
    std::memcpy(packed.values.data() + slot * width,
                bytes + (row * k + col) * width, width);
  };
  if (layout.kind == Layout::Kind::NOfM) {
    int64_t m = layout.group, perRow = layout.keptPerRow();
    std::vector<float> magnitude(m);
    for (int64_t row = 0; row < n; ++row)
      for (int64_t g = 0; g < k / m; ++g) {
        for (int64_t i = 0; i < m; ++i)
          magnitude[i] = std::fabs(at(row, g * m + i));
        std::vector<int64_t> keep = largest(magnitude, layout.kept);
        for (int64_t t = 0; t < layout.kept; ++t) {
          int64_t slot = row * perRow + g * layout.kept + t;
          copyValue(row, g * m + keep[t], slot);
          packed.indices[slot] = static_cast<uint8_t>(keep[t]);
        }
      }
    return packed;
  }
  int64_t r = layout.blockRows, c = layout.blockCols, blocks = k / c;
  std::vector<int32_t> map(blocks);
  std::vector<float> energy(blocks);
  for (int64_t band = 0; band < n / r; ++band) {
    for (int64_t b = 0; b < blocks; ++b) {
      double sum = 0;
      for (int64_t i = 0; i < r; ++i)
        for (int64_t j = 0; j < c; ++j) {
          double v = at(band * r + i, b * c + j);
          sum += v * v;
        }
      energy[b] = static_cast<float>(sum);
    }
    std::fill(map.begin(), map.end(), -1);
    std::vector<int64_t> keep = largest(energy, layout.keptBlocks);
    for (int64_t slot = 0; slot < layout.keptBlocks; ++slot) {
      int64_t b = keep[slot];
      map[b] = static_cast<int32_t>(slot);
      for (int64_t i = 0; i < r; ++i)
        for (int64_t j = 0; j < c; ++j)
          copyValue(band * r + i, b * c + j,
                    ((band * layout.keptBlocks + slot) * r + i) * c + j);
    }
    std::memcpy(packed.indices.data() + band * blocks * 4, map.data(),
                blocks * 4);
  }
  return packed;
}

StatusOr<std::vector<float>> densify(const Layout &layout,
                                     const uint8_t *values,
                                     const uint8_t *indices) {
  KOPT_RETURN_IF_ERROR(layout.validate());
  int64_t n = layout.rows(), k = layout.cols();
  size_t width = dtypeSize(layout.dtype);
  std::vector<float> dense(static_cast<size_t>(n * k), 0.0f);
  auto value = [&](int64_t slot) {
    return quant::loadScalar(layout.dtype, values + slot * width);
  };
  if (layout.kind == Layout::Kind::NOfM) {
    int64_t m = layout.group, perRow = layout.keptPerRow();
    for (int64_t row = 0; row < n; ++row)
      for (int64_t slot = 0; slot < perRow; ++slot) {
        int64_t position = indices[row * perRow + slot];
        if (position >= m)
          return invalidArgument("sparse index " + std::to_string(position) +
                                 " is outside its group of " +
                                 std::to_string(m));
        int64_t col = slot / layout.kept * m + position;
        dense[row * k + col] = value(row * perRow + slot);
      }
    return dense;
  }
  int64_t r = layout.blockRows, c = layout.blockCols, blocks = k / c;
  for (int64_t band = 0; band < n / r; ++band)
    for (int64_t b = 0; b < blocks; ++b) {
      int32_t slot;
      std::memcpy(&slot, indices + (band * blocks + b) * 4, 4);
      if (slot < 0)
        continue;
      if (slot >= layout.keptBlocks)
        return invalidArgument("sparse block slot " + std::to_string(slot) +
                               " is outside the " +
                               std::to_string(layout.keptBlocks) + " kept");
      for (int64_t i = 0; i < r; ++i)
        for (int64_t j = 0; j < c; ++j)
          dense[(band * r + i) * k + b * c + j] =
              value(((band * layout.keptBlocks + slot) * r + i) * c + j);
    }
  return dense;
}

} // namespace kopt::rt::sparse
