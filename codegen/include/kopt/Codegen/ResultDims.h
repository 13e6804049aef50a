//===- ResultDims.h - Result dims of kopt ops from their operands -*- C++ -*-===//
//
// One statement of how every dim of every kopt op result follows from the
// op's operands, written once over an abstract "dim algebra" and used twice:
// with IR values when lowering (tensor.dim, arith on index), and with affine
// expressions over symbols when writing the host plan (so the runtime can
// size outputs). Equalities the op requires between dynamic dims are
// reported to the algebra (the plan turns them into checks).
//
//===----------------------------------------------------------------------===//

#ifndef KOPT_CODEGEN_RESULTDIMS_H
#define KOPT_CODEGEN_RESULTDIMS_H

#include "mlir/IR/Operation.h"
#include "mlir/IR/Value.h"
#include "llvm/ADT/SmallVector.h"

namespace kopt {

/// Arithmetic on dims of type `Dim`.
template <typename Dim>
class DimAlgebra {
public:
  virtual ~DimAlgebra() = default;
  virtual Dim constant(int64_t value) = 0;
  /// Dim `index` of `operand` (a ranked tensor).
  virtual Dim operandDim(mlir::Value operand, int64_t index) = 0;
  virtual Dim add(Dim lhs, Dim rhs) = 0;
  virtual Dim mul(Dim lhs, Dim rhs) = 0;
  virtual Dim floorDiv(Dim lhs, Dim rhs) = 0;
  /// The op is only defined when `lhs == rhs` (both possibly dynamic).
  virtual void requireEqual(Dim lhs, Dim rhs) {}
};

/// Computes every dim of result `resultIndex` of kopt op `op`. Fails (without
/// a diagnostic) for ops it does not know.
template <typename Dim>
mlir::LogicalResult computeResultDims(mlir::Operation *op, unsigned resultIndex,
                                      DimAlgebra<Dim> &algebra,
                                      llvm::SmallVectorImpl<Dim> &dims);

} // namespace kopt

#endif // KOPT_CODEGEN_RESULTDIMS_H
