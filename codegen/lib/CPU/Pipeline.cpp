//===- Pipeline.cpp - The CPU code generation pipeline --------------------===//

#include "kopt/Codegen/Passes.h"

#include "mlir/Conversion/Passes.h"
#include "mlir/Dialect/Arith/Transforms/Passes.h"
#include "mlir/Dialect/Bufferization/Pipelines/Passes.h"
#include "mlir/Dialect/Bufferization/Transforms/Passes.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/Passes.h"
#include "mlir/Dialect/MemRef/Transforms/Passes.h"
#include "mlir/Dialect/SCF/Transforms/Passes.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Transforms/Passes.h"

using namespace mlir;

namespace kopt {

void buildCpuLoweringPipeline(OpPassManager &pm, bool threads) {
  // The plan describes the kopt-level functions, so it comes first.
  pm.addPass(createKoptInlineFusedPass());
  pm.addPass(createKoptExpandQuantizedWeightsPass());
  pm.addPass(createKoptExportPlanPass());
  pm.addPass(createKoptPrepareCpuAbiPass());
  pm.addPass(createConvertKoptToLinalgPass());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());

  // Tensors -> buffers. Results are copied into the output arguments
  // (eliminate-empty-tensors would write them in place, but its analysis
  // does not know that output arguments are writable).
  bufferization::OneShotBufferizePassOptions bufferize;
  bufferize.bufferizeFunctionBoundaries = true;
  // Loop-carried state (linear attention) may be a fresh buffer per step.
  bufferize.allowReturnAllocsFromLoops = true;
  bufferize.functionBoundaryTypeConversion =
      bufferization::LayoutMapOption::IdentityLayoutMap;
  pm.addPass(bufferization::createOneShotBufferizePass(bufferize));
  pm.addPass(bufferization::createDropEquivalentBufferResultsPass());
  bufferization::buildBufferDeallocationPipeline(pm);
  pm.addPass(createKoptLowerMemRefCopiesPass());
  // Per-head attention loops become parallel loops (OpenMP with threads).
  pm.addPass(createForallToParallelLoopPass());

  // Loops (parallel ones for the marked contractions), then LLVM.
  pm.addNestedPass<func::FuncOp>(createKoptLinearMicrokernelPass());
  pm.addNestedPass<func::FuncOp>(createKoptQuantizedLinearMicrokernelPass());
  if (threads)
    pm.addNestedPass<func::FuncOp>(createKoptParallelizeCpuPass());
  pm.addNestedPass<func::FuncOp>(createConvertLinalgToLoopsPass());
  pm.addPass(createLowerAffinePass());
  pm.addPass(memref::createExpandStridedMetadataPass());
  pm.addPass(createLowerAffinePass());
  if (threads) {
    pm.addPass(createConvertSCFToOpenMPPass());
    // The memref.alloca_scope wrappers of loop bodies hold no allocas;
    // scf-to-cf would otherwise split them into several blocks.
    pm.addPass(createKoptInlineAllocaScopesPass());
    pm.addPass(createCanonicalizerPass());
  }
  pm.addPass(createConvertVectorToSCFPass());
  pm.addPass(createSCFToControlFlowPass());
  // f32 -> bf16 as integer rounding: LLVM otherwise calls __truncsfbf2 on
  // CPUs without bf16 conversions, which Debian 12's libgcc lacks.
  arith::ArithExpandOpsPassOptions expand;
  expand.includeBf16 = true;
  pm.addPass(arith::createArithExpandOpsPass(expand));
  pm.addPass(createConvertMathToLLVMPass());
  pm.addPass(createConvertMathToLibmPass());
  pm.addPass(createConvertVectorToLLVMPass());
  pm.addPass(createFinalizeMemRefToLLVMConversionPass());
  pm.addPass(createArithToLLVMConversionPass());
  pm.addPass(createConvertIndexToLLVMPass());
  pm.addPass(createConvertFuncToLLVMPass());
  pm.addPass(createConvertControlFlowToLLVMPass());
  if (threads)
    pm.addPass(createConvertOpenMPToLLVMPass());
  pm.addPass(createReconcileUnrealizedCastsPass());
}

void buildCpuCodegenPipeline(OpPassManager &pm,
                             const CpuCodegenOptions &options) {
  buildCpuLoweringPipeline(pm, options.threads);
  KoptSerializeCpuPassOptions serialize;
  serialize.output = options.output;
  serialize.cpu = options.cpu;
  pm.addPass(createKoptSerializeCpuPass(serialize));
}

void registerKoptCodegenPassesAndPipelines() {
  registerKoptCodegenPasses();
  PassPipelineRegistration<>(
      "kopt-cpu-lowering-pipeline",
      "kopt IR to the LLVM dialect for the host CPU (before serialization)",
      [](OpPassManager &pm) { buildCpuLoweringPipeline(pm); });
}

} // namespace kopt
