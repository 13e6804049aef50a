//===- Sparsity.h - Structured pruning and sparse weight storage -*- C++ -*-===//
//
// The one implementation of `!kopt.sparse` weights, shared by the compiler
// (pruning a checkpoint at compile time), the runtime (pruning a float
// checkpoint at load time, bit-identical), the reference evaluator and the
// tests. A sparse weight `name` of logical shape [N, K] is stored as:
//
//   N:M          `name.values` [N, K/M*N'] of the weight dtype (the N' kept
//                elements of every group of M along K, in K order) and
//                `name.indices` [N, K/M*N'] i8 (each value's position in its
//                group, ascending within the group);
//   block:RxC:D  `name.values` [N/R, B, R, C] (the B kept blocks of each
//                band of R rows, in K order) and `name.indices` [N/R, K/C]
//                i32 (each block's slot in values, or -1 when pruned).
//                Every band keeps B = max(1, round(D * K/C)) blocks, so the
//                stored shape is static.
//
// Pruning is by magnitude: N:M keeps the N' largest |w| of each group, a
// band keeps the B blocks of largest sum of squares; ties keep the lower K.
//
//===----------------------------------------------------------------------===//

#ifndef KOPT_RUNTIME_SPARSITY_H
#define KOPT_RUNTIME_SPARSITY_H

#include "kopt/runtime/Quantization.h"
#include "kopt/runtime/Status.h"
#include "kopt/runtime/runtime.h"

#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace kopt::rt::sparse {

struct Layout {
  enum class Kind : uint8_t { NOfM, Block };
  Kind kind = Kind::NOfM;
  /// N:M: `kept` non-zeros in every `group` elements along K.
  int64_t kept = 2, group = 4;
  /// block:RxC:DENSITY: R x C blocks, `keptBlocks` of each band of R rows.
  int64_t blockRows = 0, blockCols = 0, keptBlocks = 0;
  kopt_dtype_t dtype = KOPT_DTYPE_F32;
  /// Logical [N, K].
  std::vector<int64_t> shape;

  /// The blocks of a band `density` keeps: max(1, round(density * blocks)).
  static int64_t blocksKept(double density, int64_t blocksPerBand);
  /// Checks dims, dtype, counts and that the pattern tiles the shape;
  /// INVALID_ARGUMENT naming the problem.
  Status validate() const;

  int64_t rows() const { return shape[0]; }
  int64_t cols() const { return shape[1]; }
  /// Stored values per row (N:M), or kept blocks per band (block).
  int64_t keptPerRow() const;
};

/// Reads the plan's JSON form ({"kind": "n:m", "kept", "group"} or
/// {"kind": "block", "block_rows", "block_cols", "kept_blocks"}, plus
/// "dtype" and "shape") and validates it.
StatusOr<Layout> layoutFromJson(const nlohmann::json &value);

/// The tensors a sparse weight is stored as: values, then indices.
std::vector<quant::Part> partsOf(const Layout &layout);

/// Stored bytes of a pruned weight, one buffer per part.
struct Packed {
  std::vector<uint8_t> values, indices;
};

/// Prunes the dense [N, K] weight at `data` (of `dtype`, which must be the
/// layout's) by magnitude into the stored parts.
StatusOr<Packed> prune(const Layout &layout, kopt_dtype_t dtype,
                       const void *data, size_t byteSize);

/// The dense weight (as f32) the stored parts stand for; INVALID_ARGUMENT on
/// an index out of its range.
StatusOr<std::vector<float>> densify(const Layout &layout,
                                     const uint8_t *values,
                                     const uint8_t *indices);

} // namespace kopt::rt::sparse

#endif // KOPT_RUNTIME_SPARSITY_H
