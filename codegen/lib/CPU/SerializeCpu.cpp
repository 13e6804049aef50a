//===- SerializeCpu.cpp - LLVM dialect -> shared object + plan ------------===//
//
// Translates the module to LLVM IR, adds one `kopt_call_<fn>(void **args)`
// entry point per model function (args[i] points to the i-th memref
// descriptor, in the plan's call order), optimizes for the target CPU,
// emits an object file and links it into a shared object with the system
// compiler driver. The plan goes beside it as <stem>.plan.json.
//
//===----------------------------------------------------------------------===//

#include "kopt/Codegen/Passes.h"
#include "kopt/runtime/ArtifactDigest.h"

#include "mlir/Target/LLVMIR/Dialect/Builtin/BuiltinToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/LLVMIR/LLVMToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/OpenMP/OpenMPToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Export.h"
#include "llvm/IR/IRBuilder.h"
#include "llvm/IR/LegacyPassManager.h"
#include "llvm/IR/Module.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/Passes/PassBuilder.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FileUtilities.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Support/ToolOutputFile.h"
#include "mlir/Support/FileUtilities.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/TargetParser/SubtargetFeature.h"
#include "llvm/Target/TargetMachine.h"
#include "llvm/TargetParser/Host.h"

using namespace mlir;

namespace kopt {
#define GEN_PASS_DEF_KOPTSERIALIZECPUPASS
#include "kopt/Codegen/Passes.h.inc"

namespace {

/// `kopt_call_<name>(void **args)` calling `_mlir_ciface_<name>` with
/// args[0..n).
LogicalResult addEntryPoint(llvm::Module &module, StringRef name,
                            size_t expectedArgs, Location loc) {
  llvm::Function *ciface = module.getFunction(("_mlir_ciface_" + name).str());
  if (!ciface)
    return emitError(loc) << "no C interface for function '" << name << "'";
  if (!ciface->getReturnType()->isVoidTy() ||
      ciface->arg_size() != expectedArgs)
    return emitError(loc) << "function '" << name
                          << "' does not have the plan's calling convention ("
                          << ciface->arg_size() << " arguments, expected "
                          << expectedArgs << ", results must be written to "
                          << "output arguments)";
  llvm::LLVMContext &context = module.getContext();
  auto *ptr = llvm::PointerType::getUnqual(context);
  auto *type = llvm::FunctionType::get(llvm::Type::getVoidTy(context), {ptr},
                                       /*isVarArg=*/false);
  auto *entry = llvm::Function::Create(type, llvm::GlobalValue::ExternalLinkage,
                                       ("kopt_call_" + name).str(), module);
  llvm::IRBuilder<> builder(llvm::BasicBlock::Create(context, "entry", entry));
  SmallVector<llvm::Value *> args;
  for (unsigned i = 0; i < ciface->arg_size(); ++i) {
    llvm::Value *slot =
        builder.CreateConstGEP1_64(ptr, entry->getArg(0), i);
    args.push_back(builder.CreateLoad(ptr, slot));
  }
  builder.CreateCall(ciface, args);
  builder.CreateRetVoid();
  return success();
}

/// Defines `__truncsfbf2` (f32 -> bf16, round to nearest even, NaNs kept
/// quiet) in `module`, hidden: LLVM calls it for bf16 values it holds as
/// f32 on CPUs without bf16 conversions, and Debian 12's libgcc (GCC 12)
/// does not provide it.
void addBf16Truncation(llvm::Module &module) {
  constexpr llvm::StringLiteral name = "__truncsfbf2";
  if (llvm::Function *existing = module.getFunction(name);
      existing && !existing->isDeclaration())
    return;
  llvm::LLVMContext &context = module.getContext();
  auto *i32 = llvm::Type::getInt32Ty(context);
  auto *type = llvm::FunctionType::get(llvm::Type::getBFloatTy(context),
                                       {llvm::Type::getFloatTy(context)},
                                       /*isVarArg=*/false);
  auto *function = llvm::cast<llvm::Function>(
      module.getOrInsertFunction(name, type).getCallee());
  function->setLinkage(llvm::GlobalValue::WeakODRLinkage);
  function->setVisibility(llvm::GlobalValue::HiddenVisibility);
  llvm::IRBuilder<> b(llvm::BasicBlock::Create(context, "entry", function));
  llvm::Value *bits = b.CreateBitCast(function->getArg(0), i32);
  llvm::Value *high = b.CreateLShr(bits, 16);
  llvm::Value *bias =
      b.CreateAdd(b.CreateAnd(high, 1), llvm::ConstantInt::get(i32, 0x7fff));
  llvm::Value *rounded = b.CreateLShr(b.CreateAdd(bits, bias), 16);
  llvm::Value *isNan = b.CreateICmpUGT(
      b.CreateAnd(bits, 0x7fffffff), llvm::ConstantInt::get(i32, 0x7f800000));
  llvm::Value *quiet = b.CreateOr(high, 0x40);
  llvm::Value *result = b.CreateSelect(isNan, quiet, rounded);
  b.CreateRet(b.CreateBitCast(b.CreateTrunc(result, b.getInt16Ty()),
                              llvm::Type::getBFloatTy(context)));
}

/// Optimizes `module` and returns its object code for `machine`.
std::string compileToObject(llvm::Module &module, llvm::TargetMachine &machine,
                            unsigned optLevel) {
  llvm::LoopAnalysisManager loops;
  llvm::FunctionAnalysisManager functions;
  llvm::CGSCCAnalysisManager cgscc;
  llvm::ModuleAnalysisManager modules;
  llvm::PassBuilder builder(&machine);
  builder.registerModuleAnalyses(modules);
  builder.registerCGSCCAnalyses(cgscc);
  builder.registerFunctionAnalyses(functions);
  builder.registerLoopAnalyses(loops);
  builder.crossRegisterProxies(loops, functions, cgscc, modules);
  llvm::OptimizationLevel level = optLevel >= 3   ? llvm::OptimizationLevel::O3
                                  : optLevel == 2 ? llvm::OptimizationLevel::O2
                                  : optLevel == 1 ? llvm::OptimizationLevel::O1
                                                  : llvm::OptimizationLevel::O0;
  if (optLevel > 0)
    builder.buildPerModuleDefaultPipeline(level).run(module, modules);

  SmallVector<char> object;
  llvm::raw_svector_ostream os(object);
  llvm::legacy::PassManager codegen;
  machine.addPassesToEmitFile(codegen, os, nullptr,
                              llvm::CodeGenFileType::ObjectFile);
  codegen.run(module);
  return std::string(object.begin(), object.end());
}

struct KoptSerializeCpuPass
    : impl::KoptSerializeCpuPassBase<KoptSerializeCpuPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    Location loc = module.getLoc();
    if (output.empty()) {
      emitError(loc) << "kopt-serialize-cpu needs output=<file.so>";
      return signalPassFailure();
    }
    auto planText = module->getAttrOfType<StringAttr>("kopt.plan");
    if (!planText) {
      emitError(loc) << "kopt-serialize-cpu needs the kopt.plan attribute "
                        "(run kopt-export-plan first)";
      return signalPassFailure();
    }
    llvm::Expected<llvm::json::Value> plan = llvm::json::parse(planText.getValue());
    if (!plan) {
      emitError(loc) << "malformed kopt.plan: " << llvm::toString(plan.takeError());
      return signalPassFailure();
    }
    // kopt attributes have no LLVM IR meaning.
    module->walk([](Operation *op) {
      for (NamedAttribute attr : llvm::to_vector(op->getDiscardableAttrs()))
        if (attr.getName().getValue().starts_with("kopt."))
          op->removeDiscardableAttr(attr.getName());
    });

    registerBuiltinDialectTranslation(getContext());
    registerLLVMDialectTranslation(getContext());
    registerOpenMPDialectTranslation(getContext());
    llvm::LLVMContext llvmContext;
    std::unique_ptr<llvm::Module> llvmModule =
        translateModuleToLLVMIR(module, llvmContext, "kopt");
    if (!llvmModule) {
      emitError(loc) << "translation to LLVM IR failed";
      return signalPassFailure();
    }

    llvm::json::Object *root = plan->getAsObject();
    llvm::json::Array *functions = root ? root->getArray("functions") : nullptr;
    if (!functions) {
      emitError(loc) << "kopt.plan has no functions";
      return signalPassFailure();
    }
    for (llvm::json::Value &function : *functions) {
      llvm::json::Object *object = function.getAsObject();
      std::optional<StringRef> name = object->getString("name");
      llvm::json::Array *call = object->getArray("call");
      if (!name || !call ||
          failed(addEntryPoint(*llvmModule, *name, call->size(), loc)))
        return signalPassFailure();
    }

    // Only the entry points are exported: a model function called `select`
    // or `exp` must not be interposed by (or interpose) the C library.
    for (llvm::Function &function : *llvmModule)
      if (!function.isDeclaration() &&
          !function.getName().starts_with("kopt_call_"))
        function.setLinkage(llvm::GlobalValue::InternalLinkage);
    addBf16Truncation(*llvmModule);

    // Target machine for the host (or the requested CPU).
    llvm::InitializeNativeTarget();
    llvm::InitializeNativeTargetAsmPrinter();
    llvm::Triple triple(llvm::sys::getDefaultTargetTriple());
    std::string error;
    const llvm::Target *target = llvm::TargetRegistry::lookupTarget(triple, error);
    if (!target) {
      emitError(loc) << "no LLVM target for " << triple.str() << ": " << error;
      return signalPassFailure();
    }
    std::string cpuName = cpu == "native" ? llvm::sys::getHostCPUName().str()
                                          : std::string(cpu);
    std::string features;
    if (cpu == "native") {
      llvm::SubtargetFeatures subtarget;
      for (const auto &feature : llvm::sys::getHostCPUFeatures())
        subtarget.AddFeature(feature.first(), feature.second);
      features = subtarget.getString();
    }
    std::unique_ptr<llvm::TargetMachine> machine(target->createTargetMachine(
        triple, cpuName, features, llvm::TargetOptions(), llvm::Reloc::PIC_,
        std::nullopt, llvm::CodeGenOptLevel::Aggressive));
    llvmModule->setDataLayout(machine->createDataLayout());
    llvmModule->setTargetTriple(triple);
    std::string object = compileToObject(*llvmModule, *machine, optLevel);

    // Parallel regions call into LLVM's OpenMP runtime.
    bool needsOpenMP = llvmModule->getFunction("__kmpc_fork_call") != nullptr;
    if (failed(link(object, needsOpenMP, loc)) || failed(writePlan(*plan, loc)))
      return signalPassFailure();
  }

  /// Links `object` into the shared object `output` (with libomp when the
  /// code has parallel regions).
  LogicalResult link(StringRef object, bool needsOpenMP, Location loc) {
    SmallString<128> objectPath;
    int fd;
    if (llvm::sys::fs::createTemporaryFile("kopt", "o", fd, objectPath))
      return emitError(loc) << "cannot create a temporary object file";
    {
      llvm::raw_fd_ostream os(fd, /*shouldClose=*/true);
      os << object;
    }
    llvm::FileRemover removeObject(objectPath);
    llvm::ErrorOr<std::string> compiler = llvm::sys::findProgramByName("cc");
    if (!compiler)
      return emitError(loc) << "no C compiler driver 'cc' on PATH to link "
                               "the shared object";
    SmallString<128> outputPath(output);
    std::string libraryDir = KOPT_LLVM_LIBRARY_DIR;
    std::string rpath = "-Wl,-rpath," + libraryDir;
    std::string searchPath = "-L" + libraryDir;
    SmallVector<StringRef> args{*compiler, "-shared", "-o", outputPath.str(),
                                objectPath.str(), "-lm"};
    if (needsOpenMP) {
      if (!llvm::sys::fs::exists(libraryDir + "/libomp.so"))
        return emitError(loc) << "parallel code needs LLVM's OpenMP runtime "
                                 "(libomp-22-dev, " << libraryDir
                              << "/libomp.so); install it or compile with "
                                 "--cpu-threads=false";
      args.append({searchPath, "-lomp", rpath});
    }
    std::string message;
    int status = llvm::sys::ExecuteAndWait(*compiler, args, std::nullopt, {}, 0,
                                           0, &message);
    if (status != 0)
      return emitError(loc) << "linking '" << output << "' failed"
                            << (message.empty() ? "" : ": ") << message;
    return success();
  }

  /// Writes the plan beside the artifact, naming it.
  LogicalResult writePlan(llvm::json::Value plan, Location loc) {
    llvm::ErrorOr<std::unique_ptr<llvm::MemoryBuffer>> linked =
        llvm::MemoryBuffer::getFile(output, /*IsText=*/false,
                                    /*RequiresNullTerminator=*/false);
    if (!linked)
      return emitError(loc) << "cannot read back '" << output
                            << "': " << linked.getError().message();
    StringRef image = (*linked)->getBuffer();
    llvm::json::Object &root = *plan.getAsObject();
    root["artifact"] = llvm::json::Object{
        {"kind", "cpu-shared-object"},
        {"file", llvm::sys::path::filename(output).str()},
        {"bytes", static_cast<int64_t>(image.size())},
        {"fnv1a64",
         rt::artifactDigest(std::string_view(image.data(), image.size()))}};
    SmallString<128> planPath(output);
    llvm::sys::path::replace_extension(planPath, "plan.json");
    std::string error;
    auto file = openOutputFile(planPath, &error);
    if (!file)
      return emitError(loc) << "cannot write the plan: " << error;
    file->os() << llvm::formatv("{0:2}", plan) << "\n";
    file->keep();
    return success();
  }
};

} // namespace
} // namespace kopt
