//===- Fusion.h - What a kopt.fused group may hold --------------*- C++ -*-===//
//
// The rules shared by kopt-fuse, which forms kopt.fused groups, and the
// backends, which turn a group into one kernel: which ops count as
// elementwise, which norms their readers may apply, and how an operand of
// a linear's epilogue is indexed from the output element (token, feature)
// it meets.
//
//===----------------------------------------------------------------------===//

#ifndef KOPT_DIALECT_KOPT_FUSION_H
#define KOPT_DIALECT_KOPT_FUSION_H

#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Operation.h"

#include <optional>

namespace kopt {

/// add/sub/mul/div, the unary activations, gelu, clamp and cast on ranked
/// tensors: ops whose every result element reads only the operand elements
/// at the same (broadcast) position.
bool isFusibleElementwise(mlir::Operation *op);

/// The unit attribute kopt-fuse sets on an rmsnorm read only as linears'
/// activations: a backend may apply the norm in those linears' kernels
/// (for the row counts where they can) instead of running it.
inline constexpr const char kIntoReadersAttr[] = "kopt.into_readers";

/// The first op reading `value` other than as a linear's activation
/// (operand 0), or null when every reader is one.
mlir::Operation *firstNonLinearReader(mlir::Value value);

/// How an epilogue operand broadcast against a linear's output
/// [tokens..., N] is read for output element (token m, feature n).
enum class EpilogueIndexing {
  Full,    // the output's shape: element m * N + n
  Feature, // [N] or [1, ..., 1, N]: element n
  Token,   // [tokens..., 1]: element m
  Scalar,  // one element: element 0
};

/// The indexing of `operand` against `output`, or nullopt when it
/// broadcasts some other way (along some token dims only) or when a
/// dynamic dim would make it ambiguous (a `?` meeting a `?` counts as the
/// same size, as NumPy broadcasting of the two requires unless one is 1,
/// which the kernel rejects at run time like the unfused op).
std::optional<EpilogueIndexing>
epilogueIndexing(mlir::RankedTensorType operand,
                 mlir::RankedTensorType output);

} // namespace kopt

#endif // KOPT_DIALECT_KOPT_FUSION_H
