//===- KoptToLinalg.h - Lowering kopt ops to linalg/tensor ------*- C++ -*-===//
//
// Patterns rewriting kopt ops (tensor semantics) into linalg, tensor, arith,
// math and scf ops, one file per op family. Reductions accumulate in f32;
// f16/bf16 elementwise math is computed in f32 and rounded once.
//
//===----------------------------------------------------------------------===//

#ifndef KOPT_CODEGEN_CONVERSION_KOPTTOLINALG_H
#define KOPT_CODEGEN_CONVERSION_KOPTTOLINALG_H

#include "mlir/IR/PatternMatch.h"

namespace kopt {

void populateElementwiseToLinalgPatterns(mlir::RewritePatternSet &patterns);
void populateLinearAlgebraToLinalgPatterns(mlir::RewritePatternSet &patterns);
void populateNormalizationToLinalgPatterns(mlir::RewritePatternSet &patterns);
void populateReductionToLinalgPatterns(mlir::RewritePatternSet &patterns);
void populateDataMovementToTensorPatterns(mlir::RewritePatternSet &patterns);
void populateAttentionToLinalgPatterns(mlir::RewritePatternSet &patterns);
void populateSelectionToLinalgPatterns(mlir::RewritePatternSet &patterns);
void populateDequantizeToLinalgPatterns(mlir::RewritePatternSet &patterns);
void populateFakeQuantToLinalgPatterns(mlir::RewritePatternSet &patterns);

/// Every pattern above.
void populateKoptToLinalgPatterns(mlir::RewritePatternSet &patterns);

} // namespace kopt

#endif // KOPT_CODEGEN_CONVERSION_KOPTTOLINALG_H
