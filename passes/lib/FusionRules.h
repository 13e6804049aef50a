//===- FusionRules.h - The rules of kopt-fuse -------------------*- C++ -*-===//
//
// Each rule finds the groups of one kind in a function body and wraps each
// group in a kopt.fused op; it emits a remark at every op where the group
// could have grown in principle but did not, with the reason, when asked.
//
//===----------------------------------------------------------------------===//

#ifndef KOPT_PASSES_FUSIONRULES_H
#define KOPT_PASSES_FUSIONRULES_H

#include "kopt/Dialect/Kopt/KoptOps.h"

#include "mlir/IR/PatternMatch.h"

namespace kopt {

/// softmax(Q K^T * c [+ causal mask]) V over [B, H, S, D] matmuls ->
/// kopt.attention on the transposes. Returns the number rewritten.
int fuseAttention(mlir::Block &body, mlir::RewriterBase &rewriter,
                  bool remarks);

/// The Mixtral block written densely (every expert's SwiGLU as batched
/// matmuls, the top-k gathered and weighted) -> kopt.moe. Returns the
/// number rewritten.
int fuseMoE(mlir::Block &body, mlir::RewriterBase &rewriter, bool remarks);

/// A linear and the elementwise chain reading its output ->
/// kopt.fused "linear_epilogue". Returns the number of groups formed.
int fuseLinearEpilogues(mlir::Block &body, mlir::RewriterBase &rewriter,
                        bool remarks);

/// Trees of elementwise ops (each intermediate read once, inside the tree)
/// -> kopt.fused "elementwise". Returns the number of groups formed.
int fuseElementwiseTrees(mlir::Block &body, mlir::RewriterBase &rewriter,
                         bool remarks);

/// Marks every rmsnorm read only as linears' activations with
/// `kIntoReadersAttr` (their small-row kernels may apply it). Returns the
/// number marked.
int fuseNormPrologues(mlir::Block &body, mlir::RewriterBase &rewriter,
                      bool remarks);

/// Moves `ops` (in program order, all in one block, the last producing
/// `result`; no value they define is used outside them but `result`) into
/// a new kopt.fused `kind` placed where the last op was; returns it.
FusedOp wrapInFused(llvm::ArrayRef<mlir::Operation *> ops, mlir::Value result,
                    llvm::StringRef kind, mlir::RewriterBase &rewriter);

} // namespace kopt

#endif // KOPT_PASSES_FUSIONRULES_H
