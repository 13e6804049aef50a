//===- Passes.h - kopt code generation passes -------------------*- C++ -*-===//

#ifndef KOPT_CODEGEN_PASSES_H
#define KOPT_CODEGEN_PASSES_H

#include "kopt/Dialect/Kopt/KoptDialect.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"
#include "mlir/Pass/PassManager.h"

namespace kopt {

#define GEN_PASS_DECL
#include "kopt/Codegen/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "kopt/Codegen/Passes.h.inc"

/// Options of the CPU code generation pipeline.
struct CpuCodegenOptions {
  std::string output;
  std::string cpu = "native";
  /// Run contractions on all cores (OpenMP, libomp); off: one thread.
  bool threads = true;
};

/// kopt IR -> shared object + plan: export the plan, the calling
/// convention, lower to linalg, bufferize, lower to LLVM, serialize.
void buildCpuCodegenPipeline(mlir::OpPassManager &pm,
                             const CpuCodegenOptions &options);

/// The lowering part alone (everything before serialization), for tests.
void buildCpuLoweringPipeline(mlir::OpPassManager &pm, bool threads = true);

/// Options of the GPU code generation pipeline.
struct GpuCodegenOptions {
  std::string output;          // model.ptx, or "-"
  std::string target = "sm_90"; // sm_80, sm_89, sm_90
  /// Compile tile variants the runtime's autotuner can choose from.
  bool tileVariants = false;
  /// Kernels launched while the one before runs (sm_90+): "off", "end"
  /// (the next launches as this one's blocks finish) or "start" (as they
  /// start, so it prefetches its weight meanwhile).
  std::string dependentLaunch = "start";
  /// sm_90+: kernels prefetch the weights they stream into L2 at entry
  /// (kopt-prefetch-streamed), before waiting on the previous kernel.
  bool prefetchWeights = true;
  /// Independent launches that follow one another run as one kernel.
  bool mergeLaunches = true;
  /// Small-row int4 GEMVs apply the epilogue of the linear producing their
  /// input (ReaderEpilogue.h).
  bool readerEpilogues = true;
};

/// kopt IR -> PTX + plan: export the plan with each function's kernels and
/// launch schedule, lower the kernels to NVVM, serialize them with LLVM's
/// NVPTX backend.
void buildGpuCodegenPipeline(mlir::OpPassManager &pm,
                             const GpuCodegenOptions &options);

/// Registers the dialects and external interface models code generation
/// needs (bufferization of arith/linalg/tensor/scf/func, ...).
void registerKoptCodegenDialects(mlir::DialectRegistry &registry);

/// Registers the passes and `kopt-cpu-lowering-pipeline`.
void registerKoptCodegenPassesAndPipelines();

} // namespace kopt

#endif // KOPT_CODEGEN_PASSES_H
