//===- Pipeline.cpp - The GPU code generation pipeline --------------------===//
//
// kopt IR -> the plan with each function's launch schedule and a gpu.module
// of kernels (kopt-export-plan{gpu-target}) -> NVVM -> PTX through LLVM's
// NVPTX backend (gpu-module-to-binary, format=isa) -> model.ptx + plan.
//
//===----------------------------------------------------------------------===//

#include "kopt/Codegen/Passes.h"
#include "kopt/Codegen/Target/GpuTarget.h"

#include "mlir/Conversion/Passes.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/GPU/Transforms/Passes.h"
#include "mlir/Dialect/LLVMIR/Transforms/Passes.h"
#include "mlir/Dialect/MemRef/Transforms/Passes.h"
#include "mlir/Transforms/Passes.h"

#include <cstdlib>

using namespace mlir;

namespace kopt {
namespace {

/// The CUDA toolkit whose libdevice the kernels link: $CUDA_HOME when set,
/// else the toolkit found when kopt was built.
std::string cudaToolkitPath() {
  if (const char *home = std::getenv("CUDA_HOME"); home && *home)
    return home;
  return KOPT_CUDA_TOOLKIT_DIR;
}

} // namespace

void buildGpuCodegenPipeline(OpPassManager &pm,
                             const GpuCodegenOptions &options) {
  pm.addPass(createKoptExpandQuantizedWeightsPass());
  if (options.tileVariants) {
    KoptTileLinearsPassOptions tile;
    tile.gpuTarget = options.target;
    pm.addPass(createKoptTileLinearsPass(tile));
  }
  KoptExportPlanPassOptions plan;
  plan.gpuTarget = options.target;
  plan.mergeLaunches = options.mergeLaunches;
  plan.readerEpilogues = options.readerEpilogues;
  pm.addPass(createKoptExportPlanPass(plan));

  std::optional<GpuTarget> target = lookupGpuTarget(options.target);
  if (target && target->hasDependentLaunch() &&
      options.dependentLaunch != "off") {
    KoptDependentLaunchPassOptions dependent;
    dependent.earlyTrigger = options.dependentLaunch == "start";
    pm.addPass(createKoptDependentLaunchPass(dependent));
  }
  OpPassManager &kernels = pm.nest<gpu::GPUModuleOp>();
  // Half of L2: what stays resident until the kernel reads it.
  KoptPrefetchStreamedPassOptions prefetch;
  prefetch.maxBytes = target && target->hasTma && options.prefetchWeights
                          ? target->l2Bytes / 2
                          : 0;
  kernels.addPass(createKoptPrefetchStreamedPass(prefetch));
  kernels.addPass(createCanonicalizerPass());
  kernels.addPass(createCSEPass());
  kernels.addPass(createConvertNVGPUToNVVMPass());
  kernels.addPass(createSCFToControlFlowPass());
  kernels.addPass(memref::createExpandStridedMetadataPass());
  kernels.addPass(createLowerAffinePass());
  kernels.addPass(createConvertGpuOpsToNVVMOps());
  kernels.addPass(createKoptExternDynamicSharedPass());
  kernels.addPass(createConvertNVVMToLLVMPass());
  kernels.addPass(createReconcileUnrealizedCastsPass());

  GpuNVVMAttachTargetOptions attach;
  // Hopper kernels use wgmma, which needs the architecture-specific
  // sm_90a (it runs on sm_90 parts only).
  attach.chip = target && target->hasWgmma ? options.target + "a"
                                           : options.target;
  // PTX 8.0 (CUDA 12.0) covers sm_90 and everything kopt emits.
  attach.features = "+ptx80";
  attach.optLevel = 3;
  pm.addPass(createGpuNVVMAttachTarget(attach));
  GpuModuleToBinaryPassOptions binary;
  binary.compilationTarget = "isa";
  binary.toolkitPath = cudaToolkitPath();
  pm.addPass(createGpuModuleToBinaryPass(binary));

  KoptSerializePtxPassOptions serialize;
  serialize.output = options.output;
  pm.addPass(createKoptSerializePtxPass(serialize));
}

} // namespace kopt
