//===- Families.h - The kernel families of the GPU backend ------*- C++ -*-===//
//
// Each family lowers the kopt ops it owns into kernels and launches on a
// FunctionEmitter. Every function returns failure after a diagnostic on the
// op when a case is not supported.
//
//===----------------------------------------------------------------------===//

#ifndef KOPT_CODEGEN_GPU_FAMILIES_H
#define KOPT_CODEGEN_GPU_FAMILIES_H

#include "GpuEmitter.h"
#include "KernelText.h"

#include "kopt/Dialect/Kopt/KoptOps.h"

namespace kopt::gpu {

/// add/sub/mul/div with broadcasting, unary activations, clamp, cast.
mlir::LogicalResult emitElementwise(mlir::Operation *op, FunctionEmitter &e);
/// Elementwise `ops` (program order) as one kernel over the elements of
/// `result` (the last op's value, or the kopt.fused result yielding it):
/// operands from outside the group are loaded, intermediates stay in
/// registers, each rounded to its own dtype.
mlir::LogicalResult emitElementwiseGroup(llvm::ArrayRef<mlir::Operation *> ops,
                                         mlir::Value result,
                                         FunctionEmitter &e);
/// The scalar computation of elementwise `op` on operands `v` of
/// `computeType` (f32 for floats); returns the result in `computeType`.
std::string elementwiseScalar(KernelText &k, mlir::Operation *op,
                              llvm::ArrayRef<std::string> v,
                              llvm::StringRef computeType);
/// kopt.fused: one kernel per group where the group's kind has one (an
/// elementwise tree; a linear whose kernels apply its epilogue), else its
/// ops one by one.
mlir::LogicalResult emitFused(kopt::FusedOp op, FunctionEmitter &e);
/// rmsnorm, layernorm, l2norm, softmax.
mlir::LogicalResult emitNormalization(mlir::Operation *op, FunctionEmitter &e);
/// reduce_sum/mean/max, argmax.
mlir::LogicalResult emitReduction(mlir::Operation *op, FunctionEmitter &e);
/// linear and matmul: tensor-core GEMM, GEMV for small M, SIMT fallback.
mlir::LogicalResult emitLinearAlgebra(mlir::Operation *op, FunctionEmitter &e);
/// The GEMM launches of `op` (run when it has at least `minRows` rows) with
/// `weightBuffer` as its dense [N, K] weight.
mlir::LogicalResult launchLinearGemm(kopt::LinearOp op, FunctionEmitter &e,
                                     int64_t outBuffer, int64_t weightBuffer,
                                     int64_t minRows);
/// The rows up to which `op`'s kernels apply an rmsnorm of their input
/// (NormPrologue.h) or the tail of the epilogue producing it
/// (ReaderEpilogue.h); 0 when they do not (every dense kernel).
int64_t linearPrologueRows(kopt::LinearOp op, FunctionEmitter &e);
/// The same for a linear over the packed weight `weight` (fusesIntoLinear):
/// its one-token-tile band of the register-pipelined kernel, int4 codes
/// and bf16 activations only.
int64_t packedPrologueRows(kopt::LinearOp op, kopt::DequantizeOp weight,
                           FunctionEmitter &e);
/// dequantize: nothing when every reader is a linear that unpacks it in
/// registers (fusesIntoLinear), else a kernel writing the dense weight.
mlir::LogicalResult emitDequantize(kopt::DequantizeOp op, FunctionEmitter &e);
/// Whether the linears reading `op` take its packed tensors directly.
bool fusesIntoLinear(kopt::DequantizeOp op, const GpuTarget &target);
/// Whether `op` runs on the fp8 tensor cores: its input is a fake_quant and
/// its weight a plain e4m3 dequantize with one scale per row or tensor.
bool fp8LinearApplies(kopt::LinearOp op, const GpuTarget &target);
/// fake_quant: the float8 codes and scales for the fp8 linears reading it
/// (FunctionEmitter::encoded), and the rounded value for any other reader.
mlir::LogicalResult emitFakeQuant(kopt::FakeQuantOp op, FunctionEmitter &e);
/// The buffer a linear or moe reads its weight `weight` from: a dequantize
/// that only such readers use (and no linear fuses) is dequantized right
/// there into the function's shared scratch `slot`, so no dense copy of the
/// weight outlives its reader; any other value's own buffer.
mlir::FailureOr<int64_t> readWeight(FunctionEmitter &e, mlir::Value weight,
                                    int64_t slot);
/// linear over a fused dequantize: the tensor-core kernel on packed codes.
mlir::LogicalResult emitQuantizedLinear(kopt::LinearOp op,
                                        kopt::DequantizeOp weight,
                                        FunctionEmitter &e);
/// attention (prefill and decode).
mlir::LogicalResult emitAttention(mlir::Operation *op, FunctionEmitter &e);
/// topk (warp per column, k selection passes).
mlir::LogicalResult emitTopK(kopt::TopKOp op, FunctionEmitter &e);
/// moe (routing, selected experts' SwiGLU FFN, weighted combine).
mlir::LogicalResult emitMoE(kopt::MoEOp op, FunctionEmitter &e);
/// linear_attention (recurrent, state columns in registers).
mlir::LogicalResult emitLinearAttention(kopt::LinearAttentionOp op,
                                        FunctionEmitter &e);
/// embedding, rope, cache_update, reshape, transpose, concat, slice, gather.
mlir::LogicalResult emitDataMovement(mlir::Operation *op, FunctionEmitter &e);

} // namespace kopt::gpu

#endif // KOPT_CODEGEN_GPU_FAMILIES_H
