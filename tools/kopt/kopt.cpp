//===- kopt.cpp - The kopt compiler driver --------------------------------===//
//
//   kopt model.mlir [--weights=w.safetensors] [--fuse]
//   [--quantize=int4|int8|fp8]
//        [--sparsify=2:4|block:RxC:DENSITY] [--target=...] [--emit=...] -o OUT
//
// With -o model.so (or --target=cpu --emit=obj) the CPU code generation
// pipeline follows and writes model.so plus model.plan.json beside it; with
// -o model.ptx (or --emit=ptx, --target=sm_*) the GPU pipeline writes the
// kernels as PTX (LLVM's NVPTX backend) plus model.plan.json.
// --weights=w.safetensors is checked against the model first (every
// kopt.weight present with its dtype and shape) and becomes the plan's
// default checkpoint.
//
// Parses and verifies a kopt model, runs the model pipeline the flags select
// (see Pipelines.h) followed by passes named with MLIR's pass flags, and
// writes the result. A textual `--pass-pipeline` is the whole pipeline.
// Built on MlirOptMain's configuration, so MLIR's driver flags work:
// --mlir-print-ir-after-all, --mlir-timing, --dump-pass-pipeline,
// --mlir-pass-pipeline-crash-reproducer, --verify-diagnostics,
// --split-input-file.
//
//===----------------------------------------------------------------------===//

#include "Calibration.h"
#include "Import.h"

#include "kopt/Dialect/Kopt/SparsityPattern.h"
#include "kopt/InitAll.h"
#include "kopt/runtime/CompiledModule.h"

#include "mlir/IR/AsmState.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Support/FileUtilities.h"
#include "mlir/Support/Timing.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/ToolOutputFile.h"

namespace cl = llvm::cl;

namespace {

enum class Target { Auto, SM90, SM80, SM89, CPU };
enum class Emit { Auto, MLIR, LLVM, PTX, Obj };

cl::OptionCategory koptCategory("kopt options");

cl::opt<std::string> inputFilename(cl::Positional, cl::desc("<model.mlir>"),
                                   cl::init("-"), cl::cat(koptCategory));
cl::opt<std::string> outputFilename("o", cl::desc("Output file (- = stdout)"),
                                    cl::value_desc("file"), cl::init("-"),
                                    cl::cat(koptCategory));
cl::opt<std::string> weightsFilename("weights",
                                     cl::desc("Model weights (.safetensors)"),
                                     cl::value_desc("file"),
                                     cl::cat(koptCategory));
cl::opt<bool> fuse("fuse", cl::desc("Run the fusion pipeline"),
                   cl::cat(koptCategory));
cl::opt<bool> tileVariants(
    "tile-variants",
    cl::desc("GPU: also compile the tile variants kopt-run --tune chooses "
             "from (kopt-tile-linears)"),
    cl::init(false), cl::cat(koptCategory));
cl::opt<std::string> dependentLaunch(
    "dependent-launch",
    cl::desc("sm_90+: launch each kernel while the one before it runs: "
             "'start' (default: as its blocks start), 'end' (as they "
             "finish) or 'off'"),
    cl::init("start"), cl::cat(koptCategory));
cl::opt<bool> prefetchWeights(
    "prefetch-weights",
    cl::desc("sm_90+: each quantized GEMV kernel prefetches its weight into "
             "L2 as it starts, before waiting on the kernel before it"),
    cl::init(true), cl::cat(koptCategory));
cl::opt<bool> mergeLaunches(
    "merge-launches",
    cl::desc("GPU: run consecutive launches of independent ops (a layer's "
             "q, k and v projections) as one kernel"),
    cl::init(true), cl::cat(koptCategory));
cl::opt<bool> readerEpilogues(
    "reader-epilogues",
    cl::desc("GPU: small-row int4 GEMVs compute the epilogue of the linear "
             "producing their input (SwiGLU's silu(gate) * up) as they load "
             "it, so that linear runs beside the one its epilogue reads"),
    cl::init(true), cl::cat(koptCategory));
cl::opt<bool> fuseRemarks(
    "fuse-remarks",
    cl::desc("With --fuse: a remark at every fusion declined, with the reason"),
    cl::init(false), cl::cat(koptCategory));
cl::opt<kopt::QuantMode> quantize(
    "quantize", cl::desc("Quantize weights"), cl::init(kopt::QuantMode::None),
    cl::values(clEnumValN(kopt::QuantMode::Int4, "int4", "4-bit integer"),
               clEnumValN(kopt::QuantMode::Int8, "int8", "8-bit integer"),
               clEnumValN(kopt::QuantMode::FP8, "fp8", "float8 e4m3")),
    cl::cat(koptCategory));
cl::opt<int64_t> quantizeGroupSize(
    "quantize-group-size",
    cl::desc("Elements of K per scale (-1: per output channel, 0: per tensor)"),
    cl::init(128), cl::cat(koptCategory));
cl::opt<std::string> quantizeActivations(
    "quantize-activations",
    cl::desc("Inputs of fp8 linears: token (fp8 codes, one scale per token; "
             "the default with --quantize=fp8), tensor (one scale), or none "
             "(weight-only fp8)"),
    cl::value_desc("token|tensor|none"), cl::cat(koptCategory));
cl::opt<bool> quantizeFp8FastAccumulation(
    "quantize-fp8-fast-accumulation",
    cl::desc("With fp8 activations: the GEMMs keep the tensor cores' own "
             "accumulation over all of K (faster, less precise; as "
             "torch._scaled_mm use_fast_accum) instead of adding partial "
             "sums into f32 every 256 elements"),
    cl::cat(koptCategory));
cl::opt<bool> quantizeAsymmetric(
    "quantize-asymmetric",
    cl::desc("Unsigned codes with a zero point per group (int4/int8)"),
    cl::cat(koptCategory));
cl::list<std::string>
    quantizeKeep("quantize-keep",
                 cl::desc("Weight-name globs kept in their original precision"),
                 cl::value_desc("pattern"), cl::CommaSeparated,
                 cl::cat(koptCategory));
cl::list<std::string> quantizeInt8(
    "quantize-int8",
    cl::desc("Weight-name globs quantized to int8 per channel instead"),
    cl::value_desc("pattern"), cl::CommaSeparated, cl::cat(koptCategory));
cl::opt<std::string> weightsFormat(
    "weights-format",
    cl::desc("How pre-quantized int4 layers in --weights are read: auto "
             "(GPTQ or AWQ by shape; GPTQ zero points stored minus one), "
             "gptq, gptq-v2 or awq"),
    cl::init("auto"));
cl::list<std::string> calibration(
    "calibration",
    cl::desc("One calibration sample: .npy inputs of the function, "
             "comma-separated (repeat for more samples); needs --weights"),
    cl::value_desc("x.npy,..."), cl::cat(koptCategory));
cl::opt<std::string>
    calibrationFunction("calibration-function",
                        cl::desc("Function the calibration inputs feed"),
                        cl::init("forward"), cl::cat(koptCategory));
cl::opt<bool> quantizeAwq(
    "quantize-awq",
    cl::desc("Activation-aware per-channel scaling from the calibration data"),
    cl::cat(koptCategory));
cl::opt<double> quantizeBudget(
    "quantize-budget",
    cl::desc("Average bits per quantized weight: the most sensitive layers "
             "(on the calibration data) get int8 or stay in float within it"),
    cl::value_desc("bits"), cl::cat(koptCategory));
cl::opt<std::string>
    quantizeReport("quantize-report",
                   cl::desc("Write the calibration accuracy report as JSON"),
                   cl::value_desc("file"), cl::cat(koptCategory));
cl::opt<std::string>
    sparsify("sparsify", cl::desc("Prune weights: N:M or block:RxC:DENSITY"),
             cl::value_desc("pattern"), cl::cat(koptCategory));
cl::opt<Target> target(
    "target",
    cl::desc("Code generation target (default from -o: .so is cpu, .ptx is "
             "sm_90)"),
    cl::init(Target::Auto),
    cl::values(clEnumValN(Target::SM90, "sm_90", "NVIDIA Hopper"),
               clEnumValN(Target::SM80, "sm_80", "NVIDIA Ampere"),
               clEnumValN(Target::SM89, "sm_89", "NVIDIA Ada"),
               clEnumValN(Target::CPU, "cpu", "the host CPU")),
    cl::cat(koptCategory));
cl::opt<std::string> hostCpu("cpu",
                             cl::desc("CPU to compile for with --target=cpu "
                                      "(native = this machine)"),
                             cl::init("native"), cl::cat(koptCategory));
cl::opt<Emit>
    emit("emit", cl::desc("What to write (default: from -o)"),
         cl::init(Emit::Auto),
         cl::values(clEnumValN(Emit::MLIR, "mlir", "MLIR"),
                    clEnumValN(Emit::LLVM, "llvm", "LLVM IR"),
                    clEnumValN(Emit::PTX, "ptx", "PTX"),
                    clEnumValN(Emit::Obj, "obj", "object/shared object")),
         cl::cat(koptCategory));
cl::opt<bool> cpuThreads("cpu-threads",
                         cl::desc("Run contractions on all host cores "
                                  "(OpenMP; needs libomp)"),
                         cl::init(true), cl::cat(koptCategory));
cl::opt<bool> summary("summary",
                      cl::desc("Print a model summary (stderr) after the "
                               "pipeline"),
                      cl::cat(koptCategory));

/// What the output path and --emit ask for.
Emit resolveEmit() {
  if (emit != Emit::Auto)
    return emit;
  llvm::StringRef ext = llvm::sys::path::extension(outputFilename);
  if (ext == ".ptx")
    return Emit::PTX;
  if (ext == ".so" || ext == ".o")
    return Emit::Obj;
  if (ext == ".ll")
    return Emit::LLVM;
  return Emit::MLIR;
}

/// Gives access to the pipeline MlirOptMain built from the pass flags, so the
/// alias stages can run before it.
struct KoptDriverConfig : mlir::MlirOptMainConfig {
  explicit KoptDriverConfig(mlir::MlirOptMainConfig base)
      : MlirOptMainConfig(std::move(base)) {}

  void prependModelPipeline(const kopt::ModelPipelineOptions &options,
                            std::vector<std::string> importedWeights,
                            std::vector<std::string> orderedInputs,
                            bool withSummary,
                            std::optional<kopt::CpuCodegenOptions> codegen,
                            std::optional<kopt::GpuCodegenOptions> gpu) {
    auto userPipeline = std::move(passPipelineCallback);
    setPassPipelineSetupFn([&options, importedWeights, orderedInputs,
                            withSummary, userPipeline, codegen,
                            gpu](mlir::PassManager &pm) -> mlir::LogicalResult {
      // Act-order imports: their linears read the input reordered, through
      // a weight the importer packs.
      if (!orderedInputs.empty()) {
        kopt::KoptOrderLinearInputsPassOptions order;
        order.weights.assign(orderedInputs.begin(), orderedInputs.end());
        pm.addPass(kopt::createKoptOrderLinearInputsPass(order));
      }
      // The checkpoint is checked against the model before anything runs;
      // the alias stages follow; MLIR's own pass flags append to them (and
      // --dump-pass-pipeline prints the result).
      kopt::KoptBindWeightsPassOptions bind;
      bind.weights = weightsFilename;
      bind.imported.assign(importedWeights.begin(), importedWeights.end());
      pm.addPass(kopt::createKoptBindWeightsPass(bind));
      kopt::buildModelPipeline(pm, options);
      if (userPipeline && mlir::failed(userPipeline(pm)))
        return mlir::failure();
      if (withSummary)
        pm.addPass(kopt::createKoptModelSummaryPass());
      // Code generation writes the artifact and its plan itself.
      if (codegen)
        kopt::buildCpuCodegenPipeline(pm, *codegen);
      if (gpu)
        kopt::buildGpuCodegenPipeline(pm, *gpu);
      return mlir::success();
    });
  }
};

int fail(const llvm::Twine &message) {
  llvm::errs() << "kopt: error: " << message << "\n";
  return 1;
}

} // namespace

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  mlir::DialectRegistry registry;
  kopt::registerKoptDialects(registry);
  kopt::registerKoptPassesAndPipelines();
  mlir::MlirOptMainConfig::registerCLOptions(registry);
  mlir::registerAsmPrinterCLOptions();
  mlir::registerMLIRContextCLOptions();
  // Diagnostics point at the model's source; the whole module MLIR appends
  // to errors from deep in code generation buries them
  // (--mlir-print-op-on-diagnostic brings it back).
  if (cl::Option *printOp =
          cl::getRegisteredOptions().lookup("mlir-print-op-on-diagnostic"))
    static_cast<cl::opt<bool> *>(printOp)->setInitialValue(false);
  mlir::registerPassManagerCLOptions();
  mlir::registerDefaultTimingManagerCLOptions();
  cl::ParseCommandLineOptions(argc, argv,
                              "kopt: compile a kopt model for a GPU or CPU\n");

  Emit what = resolveEmit();
  Target chosen = target;
  if (chosen == Target::Auto)
    chosen = what == Emit::PTX    ? Target::SM90
             : what == Emit::MLIR ? Target::Auto
                                  : Target::CPU;
  if (what == Emit::PTX && chosen == Target::CPU)
    return fail("--emit=ptx needs a GPU target (--target=sm_90|sm_80|sm_89)");
  if (what == Emit::Obj && chosen != Target::CPU)
    return fail("--emit=obj is for --target=cpu; a GPU target writes PTX "
                "(-o model.ptx)");
  bool emitPtx = what == Emit::PTX;
  if (dependentLaunch != "end" && dependentLaunch != "start" &&
      dependentLaunch != "off")
    return fail("--dependent-launch takes end, start or off, not '" +
                dependentLaunch + "'");
  if (what == Emit::LLVM)
    return fail("--emit=llvm is not implemented yet; use -o model.so or "
                "--emit=mlir");
  bool emitSharedObject = what == Emit::Obj;
  if (emitSharedObject && outputFilename == "-")
    return fail("a shared object needs an output file: -o model.so");
  // Refused before compiling, not after (the linker would say it last).
  if (outputFilename != "-") {
    llvm::StringRef folder = llvm::sys::path::parent_path(outputFilename);
    if (!folder.empty() && !llvm::sys::fs::is_directory(folder))
      return fail(llvm::Twine("cannot write '") + outputFilename.getValue() +
                  "': the folder '" + folder + "' does not exist");
  }
  if (quantizeGroupSize < -1)
    return fail("--quantize-group-size must be -1 (per channel), 0 (per "
                "tensor) or positive, got " +
                llvm::Twine(quantizeGroupSize));
  if (quantizeAsymmetric && quantize == kopt::QuantMode::FP8)
    return fail("--quantize-asymmetric is for int4/int8; fp8 has no zero "
                "points");
  if (quantizeActivations.getNumOccurrences() &&
      quantize != kopt::QuantMode::FP8)
    return fail("--quantize-activations is for --quantize=fp8 (float8 "
                "activations feed the fp8 tensor cores)");
  if (quantizeActivations.getNumOccurrences() &&
      !llvm::is_contained({"token", "tensor", "none"},
                          quantizeActivations.getValue()))
    return fail("--quantize-activations takes token, tensor or none, got '" +
                quantizeActivations + "'");
  if (quantizeFp8FastAccumulation && (quantize != kopt::QuantMode::FP8 ||
                                      quantizeActivations == "none"))
    return fail("--quantize-fp8-fast-accumulation is for the fp8 GEMMs of "
                "--quantize=fp8 with fp8 activations");
  if (!quantizeKeep.empty() && quantize == kopt::QuantMode::None)
    return fail("--quantize-keep needs --quantize");
  if (!quantizeInt8.empty() && quantize == kopt::QuantMode::None)
    return fail("--quantize-int8 needs --quantize");
  // Methods that learn from data need the weights and the data.
  for (auto [flag, used] :
       {std::pair("--quantize-awq", quantizeAwq.getValue()),
        std::pair("--quantize-budget", quantizeBudget.getNumOccurrences() > 0),
        std::pair("--quantize-report", !quantizeReport.empty()),
        std::pair("--calibration", !calibration.empty())}) {
    if (!used)
      continue;
    if (quantize == kopt::QuantMode::None)
      return fail(llvm::Twine(flag) + " needs --quantize=int4|int8|fp8");
    if (weightsFilename.empty() || calibration.empty())
      return fail(llvm::Twine(flag) +
                  " learns from data: it needs the float weights "
                  "(--weights=w.safetensors) and calibration inputs "
                  "(--calibration=x.npy[,...], one per function argument)");
  }
  if (quantizeBudget.getNumOccurrences() &&
      !(quantizeBudget > 0 && quantizeBudget <= 64))
    return fail("--quantize-budget takes bits per weight in (0, 64], got " +
                llvm::Twine(std::to_string(quantizeBudget)));
  if (!calibration.empty() && !sparsify.empty())
    return fail("--calibration with --sparsify is not supported yet: the "
                "calibration compares against the dense float model");
  if (!sparsify.empty()) {
    llvm::Expected<kopt::SparsityPattern> pattern =
        kopt::SparsityPattern::parse(sparsify);
    if (!pattern)
      return fail("--sparsify: " + llvm::toString(pattern.takeError()));
  }

  // A textual --pass-pipeline replaces the whole pass manager, so it cannot
  // be combined with the stages the alias flags add.
  cl::Option *textualPipeline =
      cl::getRegisteredOptions().lookup("pass-pipeline");
  bool aliasStages =
      fuse || quantize != kopt::QuantMode::None || !sparsify.empty();
  if (textualPipeline && textualPipeline->getNumOccurrences() && aliasStages)
    return fail("--pass-pipeline is the whole pipeline and cannot be combined "
                "with --fuse/--quantize/--sparsify; spell the stages in it, "
                "e.g. builtin.module(kopt-model-pipeline{fuse=true})");

  kopt::QuantizeSettings settings;
  settings.mode = quantize;
  settings.groupSize = quantizeGroupSize;
  settings.symmetric = !quantizeAsymmetric;
  // A group size the user asked for is honoured exactly (an error where it
  // does not divide K); the default adapts per layer.
  settings.strictGroupSize = quantizeGroupSize.getNumOccurrences() > 0;
  settings.keep = quantizeKeep;
  settings.int8 = quantizeInt8;
  // fp8 defaults to w8a8 on the fp8 tensor cores: per-token activation
  // scales and per-channel weight scales (the GEMM's epilogue applies both).
  if (quantize == kopt::QuantMode::FP8) {
    settings.activations = quantizeActivations.getNumOccurrences()
                               ? quantizeActivations.getValue()
                               : std::string("token");
    if (settings.activations != "none" &&
        !quantizeGroupSize.getNumOccurrences())
      settings.groupSize = -1;
    settings.fp8FastAccumulation = quantizeFp8FastAccumulation;
  }

  std::string errorMessage;
  std::unique_ptr<llvm::MemoryBuffer> input =
      mlir::openInputFile(inputFilename, &errorMessage);
  if (!input)
    return fail(errorMessage);

  // Importing pre-quantized layers and calibration look at the model before
  // the pipeline runs, on their own parse of it.
  mlir::MLIRContext context(registry);
  llvm::SourceMgr sourceMgr;
  mlir::SourceMgrDiagnosticHandler diagnostics(sourceMgr, &context);
  mlir::OwningOpRef<mlir::ModuleOp> model;
  if (!weightsFilename.empty()) {
    sourceMgr.AddNewSourceBuffer(
        llvm::MemoryBuffer::getMemBufferCopy(input->getBuffer(),
                                             input->getBufferIdentifier()),
        llvm::SMLoc());
    model = mlir::parseSourceFile<mlir::ModuleOp>(sourceMgr, &context);
    if (!model || mlir::failed(mlir::verify(*model)))
      return 1;
  }
  kopt::rt::StatusOr<kopt::rt::quant::CheckpointFormat> format =
      kopt::rt::quant::parseCheckpointFormat(weightsFormat);
  if (!format.isOk())
    return fail("--weights-format: " + format.status().message());
  if (weightsFormat.getNumOccurrences() && weightsFilename.empty())
    return fail("--weights-format describes the --weights checkpoint; give "
                "--weights=w.safetensors");
  kopt::ImportedWeights imported;
  if (model) {
    std::optional<kopt::ImportedWeights> found = kopt::importPrequantized(
        *model, weightsFilename, *format, llvm::errs());
    if (!found)
      return 1;
    imported = std::move(*found);
    settings.imported = imported.quantizeSpecs();
    if (!imported.groups.empty() && !calibration.empty())
      return fail("--calibration needs float weights, but '" + weightsFilename +
                  "' holds " + llvm::Twine(imported.groups.size()) +
                  " pre-quantized (GPTQ/AWQ) layers");
  }

  // Calibration decides per-layer precisions and input scales before the
  // pipeline runs.
  kopt::CalibratedTensors calibrated;
  if (!calibration.empty()) {
    kopt::CalibrationRequest request;
    request.weightsPath = weightsFilename;
    request.function = calibrationFunction;
    for (llvm::StringRef sample : calibration) {
      llvm::SmallVector<llvm::StringRef> paths;
      sample.split(paths, ',', -1, /*KeepEmpty=*/false);
      request.samples.emplace_back(paths.begin(), paths.end());
    }
    request.activationAware = quantizeAwq;
    if (quantizeBudget.getNumOccurrences())
      request.budgetBits = quantizeBudget;
    request.reportPath = quantizeReport;
    std::optional<kopt::CalibratedTensors> tensors =
        kopt::calibrate(*model, settings, request, llvm::errs());
    if (!tensors)
      return 1;
    calibrated = std::move(*tensors);
  }

  kopt::ModelPipelineOptions options;
  settings.applyTo(options);
  options.fuse = fuse;
  options.fuseRemarks = fuseRemarks;
  options.sparsify = sparsify;

  KoptDriverConfig config(mlir::MlirOptMainConfig::createFromCLOptions());
  std::optional<kopt::CpuCodegenOptions> codegen;
  if (emitSharedObject)
    codegen = kopt::CpuCodegenOptions{outputFilename, hostCpu, cpuThreads};
  std::optional<kopt::GpuCodegenOptions> gpu;
  if (emitPtx)
    gpu = kopt::GpuCodegenOptions{outputFilename,
                                  chosen == Target::SM80   ? "sm_80"
                                  : chosen == Target::SM89 ? "sm_89"
                                                           : "sm_90",
                                  tileVariants, dependentLaunch,
                                  prefetchWeights, mergeLaunches,
                                  readerEpilogues};
  config.prependModelPipeline(options, imported.names(), imported.orderedInputs,
                              summary, codegen, gpu);

  // The serializers write the artifact and its plan themselves; with
  // --weights, quantized weights are then packed into
  // <stem>.weights.safetensors, which the plan names as its default.
  if (emitSharedObject || emitPtx) {
    if (mlir::failed(mlir::MlirOptMain(llvm::nulls(), std::move(input),
                                       registry, config)))
      return 1;
    if (weightsFilename.empty() || outputFilename == "-")
      return 0;
    calibrated.merge(imported.parts);
    kopt::rt::StatusOr<std::string> packed = kopt::rt::writePackedCheckpoint(
        outputFilename, weightsFilename, calibrated);
    if (!packed.isOk())
      return fail("packing the weights: " + packed.status().message());
    return 0;
  }
  std::unique_ptr<llvm::ToolOutputFile> output =
      mlir::openOutputFile(outputFilename, &errorMessage);
  if (!output)
    return fail(errorMessage);

  if (mlir::failed(
          mlir::MlirOptMain(output->os(), std::move(input), registry, config)))
    return 1;
  output->keep();
  return 0;
}
