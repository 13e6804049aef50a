//===- QuantizedWeights.h - Packed weights in the CPU lowering ---*- C++ -*-===//
//
// kopt.dequantize's element formula, shared by its own lowering (the dense
// weight) and by kopt.linear's, which reads `mma`-layout i4/i8 parts
// directly for few tokens (LinearAlgebraToLinalg.cpp; the CPU vector
// kernel of QuantizedLinearMicrokernel.cpp).
//
//===----------------------------------------------------------------------===//

#ifndef KOPT_CODEGEN_CONVERSION_KOPTTOLINALG_QUANTIZEDWEIGHTS_H
#define KOPT_CODEGEN_CONVERSION_KOPTTOLINALG_QUANTIZEDWEIGHTS_H

#include "kopt/Dialect/Kopt/KoptOps.h"
#include "kopt/runtime/Quantization.h"

#include "mlir/IR/Builders.h"

namespace kopt {

/// A static packed part as a rank-1 tensor; null stays null.
mlir::Value flattenParts(mlir::OpBuilder &b, mlir::Location loc,
                         mlir::Value value);

/// Element (expert, n, k) of the dequantized weight in `scaleType`, read
/// from the flattened parts (`zeros` may be null) as the runtime's
/// reference does: (code - zero) * scale in f32, rounded once.
mlir::Value dequantizedElement(mlir::OpBuilder &b, mlir::Location loc,
                               const rt::quant::Encoding &encoding,
                               mlir::Value codes, mlir::Value scales,
                               mlir::Value zeros, mlir::Value expert,
                               mlir::Value n, mlir::Value k,
                               mlir::Type scaleType);

/// The dense weight `op` stands for.
mlir::Value buildDequantized(mlir::OpBuilder &b, DequantizeOp op);

/// Whether kopt.linear reads weights of this encoding packed: 2-D `mma`
/// layout i4/i8 with K a multiple of the chunk.
bool linearReadsPacked(const rt::quant::Encoding &encoding);
/// Whether every user of `op` is a linear reading it packed as its weight.
bool linearsReadPacked(DequantizeOp op);

} // namespace kopt

#endif // KOPT_CODEGEN_CONVERSION_KOPTTOLINALG_QUANTIZEDWEIGHTS_H
