//===- kopt-weights.cpp - Weights for a kopt model ------------------------===//
//
//   kopt-weights model.mlir --random --seed=N -o w.safetensors
//   kopt-weights model.mlir --check=w.safetensors
//   kopt-weights --inspect w.safetensors
//
// --random writes every kopt.weight of the model with a deterministic,
// sensibly scaled initialisation (WeightInit.h). --check verifies that a
// checkpoint (a .safetensors file or a sharded *.index.json) binds every
// weight of the model with the right dtype and shape, naming each problem.
// --inspect prints the tensors of a checkpoint with simple statistics.
//
//===----------------------------------------------------------------------===//

#include "WeightInit.h"

#include "kopt/Dialect/Kopt/KoptDialect.h"
#include "kopt/Dialect/Kopt/KoptOps.h"
#include "kopt/runtime/DType.h"
#include "kopt/runtime/Float16.h"
#include "kopt/runtime/Safetensors.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "llvm/ADT/MapVector.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/raw_ostream.h"

#include <cmath>
#include <cstring>

namespace cl = llvm::cl;
using namespace kopt;

namespace {

cl::opt<std::string> modelPath(cl::Positional, cl::desc("<model.mlir>"));
cl::opt<bool> randomInit("random", cl::desc("Write random weights for the model"));
cl::opt<uint64_t> seed("seed", cl::desc("Seed of --random"), cl::init(0));
cl::opt<std::string> outputPath("o", cl::desc("Output .safetensors"),
                                cl::value_desc("file"));
cl::opt<std::string> checkPath("check",
                               cl::desc("Check a checkpoint against the model"),
                               cl::value_desc("weights"));
cl::opt<std::string> inspectPath("inspect",
                                 cl::desc("Print the tensors of a checkpoint"),
                                 cl::value_desc("weights"));
cl::opt<bool> verbose("verbose", cl::desc("Say how each weight is initialised"));

int fail(const llvm::Twine &message) {
  llvm::errs() << "kopt-weights: error: " << message << "\n";
  return 1;
}

/// The element type of a dense weight type as a runtime dtype.
std::optional<kopt_dtype_t> runtimeDType(mlir::Type element) {
  std::string name;
  llvm::raw_string_ostream os(name);
  os << element;
  return rt::parseDTypeName(name);
}

/// Encodes `values` as `dtype` bytes (round to nearest even for floats,
/// nearest integer for integers).
std::vector<uint8_t> encode(const std::vector<double> &values,
                            kopt_dtype_t dtype) {
  std::vector<uint8_t> bytes(values.size() * rt::dtypeSize(dtype));
  uint8_t *out = bytes.data();
  for (double value : values) {
    switch (dtype) {
    case KOPT_DTYPE_F32: {
      float f = static_cast<float>(value);
      std::memcpy(out, &f, 4);
      break;
    }
    case KOPT_DTYPE_F64:
      std::memcpy(out, &value, 8);
      break;
    case KOPT_DTYPE_F16: {
      uint16_t h = rt::floatToF16(static_cast<float>(value));
      std::memcpy(out, &h, 2);
      break;
    }
    case KOPT_DTYPE_BF16: {
      uint16_t b = rt::floatToBF16(static_cast<float>(value));
      std::memcpy(out, &b, 2);
      break;
    }
    case KOPT_DTYPE_I32: {
      auto i = static_cast<int32_t>(std::lround(value));
      std::memcpy(out, &i, 4);
      break;
    }
    case KOPT_DTYPE_I64: {
      auto i = static_cast<int64_t>(std::llround(value));
      std::memcpy(out, &i, 8);
      break;
    }
    default: // i8, u8, bool, f8: small integers / zero
      *out = static_cast<uint8_t>(std::lround(value));
      break;
    }
    out += rt::dtypeSize(dtype);
  }
  return bytes;
}

/// Every distinct weight of the module, in order of first appearance.
llvm::MapVector<llvm::StringRef, WeightOp> collectWeights(mlir::ModuleOp module) {
  llvm::MapVector<llvm::StringRef, WeightOp> weights;
  module.walk([&](WeightOp op) { weights.insert({op.getName(), op}); });
  return weights;
}

int writeRandom(mlir::ModuleOp module) {
  if (outputPath.empty())
    return fail("--random needs -o <file.safetensors>");
  std::vector<rt::TensorToWrite> tensors;
  for (auto &[name, op] : collectWeights(module)) {
    auto type = mlir::dyn_cast<mlir::RankedTensorType>(op.getType());
    if (!type)
      return fail("weight '" + name + "' has compressed type " +
                  llvm::Twine(mlir::isa<QuantizedType>(op.getType())
                                  ? "!kopt.quantized"
                                  : "!kopt.sparse") +
                  "; random initialisation writes float weights only "
                  "(quantize them with kopt --quantize)");
    std::optional<kopt_dtype_t> dtype = runtimeDType(type.getElementType());
    if (!dtype)
      return fail("weight '" + name + "' has an unsupported element type");
    weights::Init init = weights::chooseInit(op);
    if (verbose)
      llvm::errs() << name << ": " << init.role << ", scale " << init.scale
                   << "\n";
    std::vector<double> values =
        weights::sample(init, seed, name.str(), type.getNumElements());
    tensors.push_back({name.str(), *dtype,
                       std::vector<int64_t>(type.getShape().begin(),
                                            type.getShape().end()),
                       encode(values, *dtype)});
  }
  rt::Status status = rt::writeSafetensors(
      outputPath, tensors,
      {{"format", "pt"},
       {"generator", "kopt-weights --random --seed=" + std::to_string(seed)}});
  if (!status.isOk())
    return fail(status.message());
  return 0;
}

std::string formatShape(llvm::ArrayRef<int64_t> shape) {
  std::string text = "[";
  for (int64_t dim : shape)
    text += (text.size() > 1 ? "x" : "") + std::to_string(dim);
  return text + "]";
}

int check(mlir::ModuleOp module) {
  auto set = rt::WeightSet::open(checkPath);
  if (!set.isOk())
    return fail(set.status().message());
  int problems = 0;
  size_t used = 0;
  for (auto &[name, op] : collectWeights(module)) {
    auto type = mlir::dyn_cast<mlir::RankedTensorType>(op.getType());
    const rt::TensorEntry *entry = (*set)->lookup(name.str());
    auto report = [&](const llvm::Twine &what) {
      llvm::errs() << "kopt-weights: error: weight '" << name << "' " << what
                   << "\n";
      ++problems;
    };
    if (!entry) {
      report("is missing from '" + checkPath + "'");
      continue;
    }
    ++used;
    if (!type)
      continue; // Compressed weights bind several tensors; checked at load.
    std::optional<kopt_dtype_t> dtype = runtimeDType(type.getElementType());
    if (!dtype || *dtype != entry->dtype)
      report("is " + llvm::Twine(rt::dtypeName(entry->dtype).data()) +
             " in the checkpoint but the model reads it as " +
             llvm::Twine(dtype ? rt::dtypeName(*dtype).data() : "?"));
    else if (llvm::ArrayRef<int64_t>(entry->shape) != type.getShape())
      report("has shape " + formatShape(entry->shape) +
             " in the checkpoint but the model reads it as " +
             formatShape(type.getShape()));
  }
  if (problems)
    return 1;
  llvm::outs() << "ok: '" << checkPath << "' binds all " << used
               << " weights of the model";
  if ((*set)->names().size() > used)
    llvm::outs() << " (" << (*set)->names().size() - used
                 << " other tensors unused)";
  llvm::outs() << "\n";
  return 0;
}

/// The value of element `i` of a float tensor as double.
double floatAt(const rt::TensorEntry &entry, int64_t i) {
  const uint8_t *p = entry.data + i * rt::dtypeSize(entry.dtype);
  switch (entry.dtype) {
  case KOPT_DTYPE_F32: {
    float f;
    std::memcpy(&f, p, 4);
    return f;
  }
  case KOPT_DTYPE_F64: {
    double d;
    std::memcpy(&d, p, 8);
    return d;
  }
  case KOPT_DTYPE_F16: {
    uint16_t h;
    std::memcpy(&h, p, 2);
    return rt::f16ToFloat(h);
  }
  case KOPT_DTYPE_BF16: {
    uint16_t b;
    std::memcpy(&b, p, 2);
    return rt::bf16ToFloat(b);
  }
  default:
    return NAN;
  }
}

int inspect() {
  auto set = rt::WeightSet::open(inspectPath);
  if (!set.isOk())
    return fail(set.status().message());
  for (const std::string &name : (*set)->names()) {
    const rt::TensorEntry &entry = *(*set)->lookup(name);
    llvm::outs() << name << " " << rt::dtypeName(entry.dtype).data() << " "
                 << formatShape(entry.shape);
    bool isFloat = entry.dtype == KOPT_DTYPE_F32 || entry.dtype == KOPT_DTYPE_F64 ||
                   entry.dtype == KOPT_DTYPE_F16 || entry.dtype == KOPT_DTYPE_BF16;
    int64_t count = entry.numElements();
    if (isFloat && count > 0) {
      double lo = INFINITY, hi = -INFINITY, sum = 0, squares = 0;
      for (int64_t i = 0; i < count; ++i) {
        double v = floatAt(entry, i);
        lo = std::min(lo, v);
        hi = std::max(hi, v);
        sum += v;
        squares += v * v;
      }
      double mean = sum / count;
      double stddev = std::sqrt(std::max(0.0, squares / count - mean * mean));
      llvm::outs() << llvm::format(" min=%.6g max=%.6g mean=%.6g std=%.6g", lo,
                                   hi, mean, stddev);
    }
    llvm::outs() << "\n";
  }
  return 0;
}

} // namespace

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  cl::ParseCommandLineOptions(argc, argv, "kopt-weights: weights for a model\n");

  if (!inspectPath.empty())
    return inspect();
  if (modelPath.empty())
    return fail("give a model (.mlir), or --inspect <weights>");
  if (randomInit == !checkPath.empty())
    return fail("choose one of --random and --check=<weights>");

  mlir::DialectRegistry registry;
  registry.insert<KoptDialect, mlir::arith::ArithDialect,
                  mlir::func::FuncDialect, mlir::tensor::TensorDialect>();
  mlir::MLIRContext context(registry);
  llvm::SourceMgr sourceMgr;
  mlir::SourceMgrDiagnosticHandler diagnostics(sourceMgr, &context);
  mlir::OwningOpRef<mlir::ModuleOp> module =
      mlir::parseSourceFile<mlir::ModuleOp>(modelPath, sourceMgr,
                                            mlir::ParserConfig(&context));
  if (!module)
    return 1; // The parser has reported why, with a location.
  return randomInit ? writeRandom(*module) : check(*module);
}
