//===- Pipelines.h - Named kopt pass pipelines ------------------*- C++ -*-===//
//
// The pipelines the `kopt` flags `--fuse`, `--quantize=` and `--sparsify=`
// stand for, as builders over typed options, registered under
// `kopt-fuse-pipeline`, `kopt-quantize-pipeline`, `kopt-sparsify-pipeline`
// and `kopt-model-pipeline` (all stages, in order).
//
//===----------------------------------------------------------------------===//

#ifndef KOPT_PASSES_PIPELINES_H
#define KOPT_PASSES_PIPELINES_H

#include "kopt/Passes/Passes.h"

#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassOptions.h"

#include <string>

namespace kopt {

struct QuantizePipelineOptions
    : mlir::PassPipelineOptions<QuantizePipelineOptions> {
  Option<QuantMode> mode{
      *this, "mode", llvm::cl::desc("Weight encoding"),
      llvm::cl::init(QuantMode::Int4),
      llvm::cl::values(
          clEnumValN(QuantMode::None, "none", "only the imported weights"),
          clEnumValN(QuantMode::Int4, "int4", "4-bit integer"),
          clEnumValN(QuantMode::Int8, "int8", "8-bit integer"),
          clEnumValN(QuantMode::FP8, "fp8", "float8 e4m3"))};
  Option<int64_t> groupSize{
      *this, "group-size",
      llvm::cl::desc("Elements of K per scale (-1 per channel, 0 per tensor)"),
      llvm::cl::init(128)};
  Option<bool> strictGroupSize{
      *this, "strict-group-size",
      llvm::cl::desc("A group size that does not divide K is an error"),
      llvm::cl::init(false)};
  Option<bool> symmetric{*this, "symmetric",
                         llvm::cl::desc("Symmetric codes (no zero points)"),
                         llvm::cl::init(true)};
  ListOption<std::string> keep{
      *this, "keep",
      llvm::cl::desc("Weight-name globs kept in their original precision")};
  ListOption<std::string> int8{
      *this, "int8",
      llvm::cl::desc("Weight-name globs quantized to int8 per channel")};
  ListOption<std::string> imported{
      *this, "imported",
      llvm::cl::desc("NAME:GROUP of weights imported pre-quantized "
                     "(GPTQ/AWQ int4)")};
  Option<std::string> activations{
      *this, "activations",
      llvm::cl::desc("Inputs of fp8 linears: none (bf16), token or tensor "
                     "(fp8 codes with one scale per token / per tensor)"),
      llvm::cl::init("none")};
  Option<bool> fp8FastAccumulation{
      *this, "fp8-fast-accumulation",
      llvm::cl::desc("fp8 GEMMs keep the tensor cores' own accumulation"),
      llvm::cl::init(false)};
  ListOption<std::string> scaleInputs{
      *this, "scale-inputs",
      llvm::cl::desc("Weights whose linears get per-channel input scales "
                     "(activation-aware quantization)")};
};

struct SparsifyPipelineOptions
    : mlir::PassPipelineOptions<SparsifyPipelineOptions> {
  Option<std::string> pattern{
      *this, "pattern",
      llvm::cl::desc("Sparsity pattern: N:M or block:RxC:DENSITY"),
      llvm::cl::init("2:4")};
};

/// Options of the whole model-level pipeline; each stage is off by default.
struct ModelPipelineOptions : mlir::PassPipelineOptions<ModelPipelineOptions> {
  Option<bool> fuse{*this, "fuse", llvm::cl::desc("Run the fusion stage"),
                    llvm::cl::init(false)};
  Option<bool> fuseRemarks{
      *this, "fuse-remarks",
      llvm::cl::desc("Remark at every fusion declined, with the reason"),
      llvm::cl::init(false)};
  Option<QuantMode> quantize{
      *this, "quantize", llvm::cl::desc("Weight encoding (none: keep)"),
      llvm::cl::init(QuantMode::None),
      llvm::cl::values(clEnumValN(QuantMode::None, "none", "no quantization"),
                       clEnumValN(QuantMode::Int4, "int4", "4-bit integer"),
                       clEnumValN(QuantMode::Int8, "int8", "8-bit integer"),
                       clEnumValN(QuantMode::FP8, "fp8", "float8 e4m3"))};
  Option<int64_t> groupSize{*this, "group-size",
                            llvm::cl::desc("Quantization group size"),
                            llvm::cl::init(128)};
  Option<bool> strictGroupSize{
      *this, "strict-group-size",
      llvm::cl::desc("A group size that does not divide K is an error"),
      llvm::cl::init(false)};
  Option<bool> quantizeSymmetric{
      *this, "quantize-symmetric",
      llvm::cl::desc("Symmetric quantization codes (no zero points)"),
      llvm::cl::init(true)};
  ListOption<std::string> quantizeKeep{
      *this, "quantize-keep",
      llvm::cl::desc("Weight-name globs kept in their original precision")};
  ListOption<std::string> quantizeInt8{
      *this, "quantize-int8",
      llvm::cl::desc("Weight-name globs quantized to int8 per channel")};
  ListOption<std::string> quantizeImported{
      *this, "quantize-imported",
      llvm::cl::desc("NAME:GROUP of weights imported pre-quantized "
                     "(GPTQ/AWQ int4); runs the quantize stage even "
                     "without a mode")};
  Option<std::string> quantizeActivations{
      *this, "quantize-activations",
      llvm::cl::desc("Inputs of fp8 linears: none, token or tensor scales"),
      llvm::cl::init("none")};
  Option<bool> quantizeFp8FastAccumulation{
      *this, "quantize-fp8-fast-accumulation",
      llvm::cl::desc("fp8 GEMMs keep the tensor cores' own accumulation"),
      llvm::cl::init(false)};
  ListOption<std::string> quantizeScaleInputs{
      *this, "quantize-scale-inputs",
      llvm::cl::desc("Weights whose linears get per-channel input scales "
                     "(activation-aware quantization)")};
  Option<std::string> sparsify{
      *this, "sparsify",
      llvm::cl::desc("Sparsity pattern N:M or block:RxC:DENSITY (empty: no)"),
      llvm::cl::init("")};
};

/// `--fuse`: fusion (with a remark at every fusion declined when
/// `remarks`), then cleanup of what fusion exposed. Without `recognise`,
/// attention and MoE are not raised (the model pipeline does that before
/// compressing weights).
void buildFusePipeline(mlir::OpPassManager &pm, bool remarks = false,
                       bool recognise = true);

/// `--quantize=MODE`: per-channel input scaling where activation-aware
/// quantization chose it, then weight quantization.
void buildQuantizePipeline(mlir::OpPassManager &pm,
                           const QuantizePipelineOptions &options);

/// `--sparsify=PATTERN`: structured pruning.
void buildSparsifyPipeline(mlir::OpPassManager &pm,
                           const SparsifyPipelineOptions &options);

/// Every enabled stage in order: canonicalize, sparsify, quantize, fuse.
void buildModelPipeline(mlir::OpPassManager &pm,
                        const ModelPipelineOptions &options);

/// Registers the named pipelines with MLIR's pass registry.
void registerKoptPipelines();

} // namespace kopt

#endif // KOPT_PASSES_PIPELINES_H
