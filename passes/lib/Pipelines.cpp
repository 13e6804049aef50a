//===- Pipelines.cpp - Named kopt pass pipelines --------------------------===//
//
// Builders for the pipelines behind `kopt --fuse / --quantize / --sparsify`,
// and their registration under names `--dump-pass-pipeline` shows.
//
//===----------------------------------------------------------------------===//

#include "kopt/Passes/Pipelines.h"

#include "mlir/Pass/PassRegistry.h"
#include "mlir/Transforms/Passes.h"

namespace kopt {

void buildFusePipeline(mlir::OpPassManager &pm, bool remarks,
                       bool recognise) {
  // Fuse kopt ops into kernel-sized groups.
  KoptFusePassOptions fuse;
  fuse.remarks = remarks;
  fuse.attention = fuse.moe = recognise;
  pm.addPass(createKoptFusePass(fuse));
  // Fold and deduplicate what fusion left behind.
  pm.addPass(mlir::createCanonicalizerPass());
  pm.addPass(mlir::createCSEPass());
}

void buildQuantizePipeline(mlir::OpPassManager &pm,
                           const QuantizePipelineOptions &options) {
  if (!options.scaleInputs.empty()) {
    KoptScaleLinearInputsPassOptions scale;
    scale.weights.assign(options.scaleInputs.begin(),
                         options.scaleInputs.end());
    pm.addPass(createKoptScaleLinearInputsPass(scale));
  }
  KoptQuantizePassOptions quantize;
  quantize.mode = options.mode;
  quantize.groupSize = options.groupSize;
  quantize.symmetric = options.symmetric;
  quantize.strictGroupSize = options.strictGroupSize;
  quantize.keep.assign(options.keep.begin(), options.keep.end());
  quantize.int8.assign(options.int8.begin(), options.int8.end());
  quantize.imported.assign(options.imported.begin(), options.imported.end());
  pm.addPass(createKoptQuantizePass(quantize));
  if (options.activations != "none") {
    KoptQuantizeActivationsPassOptions activations;
    activations.granularity = options.activations;
    activations.fastAccumulation = options.fp8FastAccumulation;
    pm.addPass(createKoptQuantizeActivationsPass(activations));
  }
}

void buildSparsifyPipeline(mlir::OpPassManager &pm,
                           const SparsifyPipelineOptions &options) {
  KoptSparsifyPassOptions sparsify;
  sparsify.pattern = options.pattern;
  pm.addPass(createKoptSparsifyPass(sparsify));
}

void buildModelPipeline(mlir::OpPassManager &pm,
                        const ModelPipelineOptions &options) {
  // Normalise the input so later stages match canonical forms.
  pm.addPass(mlir::createCanonicalizerPass());
  // Raise attention and MoE written out op by op to their kopt ops first,
  // so that sparsify and quantize see (and compress) kopt.moe's experts.
  if (options.fuse) {
    KoptFusePassOptions recognise;
    recognise.epilogues = recognise.elementwise = recognise.norms = false;
    recognise.remarks = options.fuseRemarks;
    pm.addPass(createKoptFusePass(recognise));
  }
  // Prune before quantizing: scales are computed over the kept weights.
  if (!options.sparsify.empty()) {
    SparsifyPipelineOptions sparsify;
    sparsify.pattern = options.sparsify;
    buildSparsifyPipeline(pm, sparsify);
  }
  if (options.quantize != QuantMode::None ||
      !options.quantizeImported.empty()) {
    QuantizePipelineOptions quantize;
    quantize.mode = options.quantize;
    quantize.groupSize = options.groupSize;
    quantize.symmetric = options.quantizeSymmetric;
    quantize.strictGroupSize = options.strictGroupSize;
    quantize.keep = options.quantizeKeep;
    quantize.int8 = options.quantizeInt8;
    quantize.imported = options.quantizeImported;
    quantize.scaleInputs = options.quantizeScaleInputs;
    quantize.activations = options.quantizeActivations;
    quantize.fp8FastAccumulation = options.quantizeFp8FastAccumulation;
    buildQuantizePipeline(pm, quantize);
  }
  // Fuse last, over the final weight encodings.
  if (options.fuse)
    buildFusePipeline(pm, options.fuseRemarks, /*recognise=*/false);
}

void registerKoptPipelines() {
  mlir::PassPipelineRegistration<>(
      "kopt-fuse-pipeline", "The pipeline behind `kopt --fuse`",
      [](mlir::OpPassManager &pm) { buildFusePipeline(pm); });
  mlir::PassPipelineRegistration<QuantizePipelineOptions>(
      "kopt-quantize-pipeline", "The pipeline behind `kopt --quantize=MODE`",
      buildQuantizePipeline);
  mlir::PassPipelineRegistration<SparsifyPipelineOptions>(
      "kopt-sparsify-pipeline", "The pipeline behind `kopt --sparsify=PATTERN`",
      buildSparsifyPipeline);
  mlir::PassPipelineRegistration<ModelPipelineOptions>(
      "kopt-model-pipeline",
      "All model-level stages: canonicalize, sparsify, quantize, fuse",
      buildModelPipeline);
}

} // namespace kopt
