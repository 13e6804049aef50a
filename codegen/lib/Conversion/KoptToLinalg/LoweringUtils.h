//===- LoweringUtils.h - Shared helpers of the kopt lowering ----*- C++ -*-===//

#ifndef KOPT_CODEGEN_CONVERSION_KOPTTOLINALG_LOWERINGUTILS_H
#define KOPT_CODEGEN_CONVERSION_KOPTTOLINALG_LOWERINGUTILS_H

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/PatternMatch.h"

#include <functional>

namespace kopt {

/// The dims of result `resultIndex` of `op` as index values/attributes,
/// following ResultDims.h.
mlir::FailureOr<llvm::SmallVector<mlir::OpFoldResult>>
reifyResultDims(mlir::OpBuilder &b, mlir::Operation *op, unsigned resultIndex);

/// tensor.empty of `type` with `dims`.
mlir::Value createEmpty(mlir::OpBuilder &b, mlir::Location loc,
                        mlir::RankedTensorType type,
                        llvm::ArrayRef<mlir::OpFoldResult> dims);

/// A tensor of `type` and `dims` filled with `value` (a scalar of its type).
mlir::Value createFilled(mlir::OpBuilder &b, mlir::Location loc,
                         mlir::RankedTensorType type,
                         llvm::ArrayRef<mlir::OpFoldResult> dims,
                         mlir::Value value);

/// The type arithmetic happens in: f32 for 16-bit floats, else `type`.
mlir::Type computeType(mlir::Type type);

/// Converts scalar `value` to `to` (float<->float, int<->float, int<->int,
/// float->int truncating toward zero).
mlir::Value convertScalar(mlir::OpBuilder &b, mlir::Location loc,
                          mlir::Value value, mlir::Type to);

/// A float constant of `type`.
mlir::Value floatConstant(mlir::OpBuilder &b, mlir::Location loc,
                          mlir::Type type, double value);

/// The indexing map reading `operandType` (right-aligned) inside a loop nest
/// of `loopRank` dims: size-1 static dims where the loop is wider broadcast.
mlir::AffineMap broadcastMap(mlir::RankedTensorType operandType,
                             llvm::ArrayRef<int64_t> loopShape,
                             mlir::MLIRContext *context);

using ScalarBody = std::function<mlir::Value(mlir::OpBuilder &, mlir::Location,
                                             mlir::ValueRange)>;

/// A linalg.generic computing `body` elementwise over `inputs` (broadcast
/// NumPy-style to `resultType`), into a new tensor of `dims`. The body sees
/// the inputs converted to their compute type; its result is converted to
/// the result element type.
mlir::Value buildElementwise(mlir::OpBuilder &b, mlir::Location loc,
                             mlir::ValueRange inputs,
                             mlir::RankedTensorType resultType,
                             llvm::ArrayRef<mlir::OpFoldResult> dims,
                             const ScalarBody &body);

/// The ranked tensor type of `value`.
inline mlir::RankedTensorType tensorTypeOf(mlir::Value value) {
  return mlir::cast<mlir::RankedTensorType>(value.getType());
}

/// Marks a heavy linalg op to run its parallel loops on all cores.
inline void markParallel(mlir::Operation *op) {
  op->setAttr("kopt.parallel", mlir::UnitAttr::get(op->getContext()));
}

/// Parallel iterator types for `n` loops.
llvm::SmallVector<mlir::utils::IteratorType> parallelIterators(int64_t n);

} // namespace kopt


namespace kopt {

/// Combines an accumulator with one input element (both in the accumulator
/// type) inside a reduction.
using Combiner = std::function<mlir::Value(mlir::OpBuilder &, mlir::Location,
                                           mlir::Value acc, mlir::Value x)>;

/// Reduces `input` over the dims marked in `reduced` into a tensor of the
/// kept dims (in order), with element type `accType`, starting from `init`.
/// Input elements are converted to `accType` first (`prepare` may transform
/// them further, e.g. square them or subtract a per-row statistic read
/// through `extraInputs`, which are indexed by the kept dims).
mlir::Value buildReduction(mlir::OpBuilder &b, mlir::Location loc,
                           mlir::Value input, llvm::ArrayRef<bool> reduced,
                           mlir::Type accType, mlir::Value init,
                           const Combiner &combine,
                           mlir::ValueRange extraInputs = {},
                           const ScalarBody &prepare = nullptr);

/// A linalg.generic over the loops of `resultType` (dims `dims`) reading
/// each of `inputs` through its map in `maps`; the body gets the raw input
/// scalars and returns the result scalar (converted to the element type).
mlir::Value buildMapped(mlir::OpBuilder &b, mlir::Location loc,
                        mlir::ValueRange inputs,
                        llvm::ArrayRef<mlir::AffineMap> maps,
                        mlir::RankedTensorType resultType,
                        llvm::ArrayRef<mlir::OpFoldResult> dims,
                        const ScalarBody &body);

/// The map from a loop nest of `rank` dims to the dims not in `reduced`.
mlir::AffineMap keptDimsMap(llvm::ArrayRef<bool> reduced,
                            mlir::MLIRContext *context);

/// The sizes of the dims of `value` not marked in `reduced`.
llvm::SmallVector<mlir::OpFoldResult> keptDims(mlir::OpBuilder &b,
                                               mlir::Location loc,
                                               mlir::Value value,
                                               llvm::ArrayRef<bool> reduced);

/// The product of the dims of `value` marked in `reduced`, as an index.
mlir::Value reducedCount(mlir::OpBuilder &b, mlir::Location loc,
                         mlir::Value value, llvm::ArrayRef<bool> reduced);

} // namespace kopt

namespace kopt {

/// Codes the compiled code writes to status[0] (see runtime/module.h).
enum class RuntimeError : int64_t {
  IndexOutOfRange = 1,
  CacheOverflow = 2,
  DivisionByZero = 3
};

/// The function's status buffer (memref<4xi64>, the argument marked
/// `kopt.status`), or null when the function has none.
mlir::Value getStatusBuffer(mlir::Operation *op);

/// If `failed` (i1) holds, records {code, the op's plan node index, value,
/// bound} in the status buffer (first error wins). No-op without a buffer.
void reportRuntimeError(mlir::OpBuilder &b, mlir::Location loc,
                        mlir::Operation *op, mlir::Value failed,
                        RuntimeError code, mlir::Value value, mlir::Value bound);

/// Checks every element of integer tensor `indices` against [0, bound)
/// (bound: index value; [0, bound] when `inclusive`) and reports the first
/// one outside it.
void checkIndicesInRange(mlir::OpBuilder &b, mlir::Location loc,
                         mlir::Operation *op, mlir::Value indices,
                         mlir::Value bound, bool inclusive = false);

/// Reports DivisionByZero when integer tensor `divisors` holds a zero.
void checkNoZeroDivisor(mlir::OpBuilder &b, mlir::Location loc,
                        mlir::Operation *op, mlir::Value divisors);

/// `index` (any integer type) clamped into [0, bound) as an index value.
mlir::Value clampIndex(mlir::OpBuilder &b, mlir::Location loc,
                       mlir::Value index, mlir::Value bound);

} // namespace kopt

#endif // KOPT_CODEGEN_CONVERSION_KOPTTOLINALG_LOWERINGUTILS_H
