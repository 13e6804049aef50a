//===- ModelSummary.cpp - Print a summary of a kopt model -----------------===//
//
// Per function: signature and dynamic dims, op counts by kind. Per module:
// the distinct weights it binds, their parameters and storage bytes.
//
//===----------------------------------------------------------------------===//

#include "kopt/Dialect/Kopt/KoptOps.h"
#include "kopt/Passes/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "llvm/ADT/MapVector.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/raw_ostream.h"

#include <map>

namespace kopt {
#define GEN_PASS_DEF_KOPTMODELSUMMARYPASS
#include "kopt/Passes/Passes.h.inc"

namespace {

/// Parameters and storage bytes of one weight type.
struct WeightSize {
  int64_t parameters = 0;
  int64_t bytes = 0;
};

int64_t product(llvm::ArrayRef<int64_t> shape) {
  int64_t count = 1;
  for (int64_t dim : shape)
    count *= dim;
  return count;
}

int64_t bitsToBytes(int64_t bits) { return (bits + 7) / 8; }

WeightSize sizeOf(mlir::Type type) {
  WeightSize size;
  if (auto tensor = mlir::dyn_cast<mlir::RankedTensorType>(type)) {
    size.parameters = product(tensor.getShape());
    size.bytes = bitsToBytes(size.parameters *
                             tensor.getElementType().getIntOrFloatBitWidth());
  } else if (auto quantized = mlir::dyn_cast<QuantizedType>(type)) {
    size.parameters = product(quantized.getShape());
    int64_t groups = quantized.getGroupSize() == 0
                         ? 1
                         : size.parameters / quantized.getGroupSize();
    int64_t bits =
        size.parameters * quantized.getStorage().getIntOrFloatBitWidth() +
        groups * quantized.getScale().getIntOrFloatBitWidth();
    if (mlir::Type zero = quantized.getZeroPoint())
      bits += groups * zero.getIntOrFloatBitWidth();
    size.bytes = bitsToBytes(bits);
  } else if (auto sparse = mlir::dyn_cast<SparseType>(type)) {
    // Logical parameters; the compressed size depends on the packing.
    size.parameters = product(sparse.getShape());
    size.bytes = bitsToBytes(size.parameters *
                             sparse.getElement().getIntOrFloatBitWidth());
  }
  return size;
}

void printDynamicDims(llvm::raw_ostream &os, llvm::StringRef prefix,
                      mlir::TypeRange types, bool &any) {
  for (auto [index, type] : llvm::enumerate(types)) {
    auto tensor = mlir::dyn_cast<mlir::RankedTensorType>(type);
    if (!tensor)
      continue;
    for (auto [dim, size] : llvm::enumerate(tensor.getShape())) {
      if (!mlir::ShapedType::isDynamic(size))
        continue;
      os << (any ? ", " : " ") << prefix << index << "[" << dim << "]";
      any = true;
    }
  }
}

struct KoptModelSummaryPass
    : impl::KoptModelSummaryPassBase<KoptModelSummaryPass> {
  void runOnOperation() override {
    mlir::ModuleOp module = getOperation();
    llvm::raw_ostream &os = llvm::errs();
    os << "kopt model summary: "
       << (module.getSymName() ? "@" + module.getSymName()->str()
                               : std::string("<unnamed module>"))
       << "\n";

    for (auto func : module.getOps<mlir::func::FuncOp>()) {
      os << "  func @" << func.getSymName() << " : " << func.getFunctionType()
         << "\n    dynamic dims:";
      bool anyDynamic = false;
      printDynamicDims(os, "arg", func.getArgumentTypes(), anyDynamic);
      printDynamicDims(os, "result", func.getResultTypes(), anyDynamic);
      os << (anyDynamic ? "\n" : " none\n");

      std::map<std::string, int64_t> opCounts;
      int64_t total = 0;
      func.walk([&](mlir::Operation *op) {
        if (op == func.getOperation())
          return;
        ++opCounts[op->getName().getStringRef().str()];
        ++total;
      });
      os << "    ops: " << total << "\n";
      for (const auto &[name, count] : opCounts)
        os << "      " << name << ": " << count << "\n";
    }

    // Distinct weights by name (a weight may be read in several places).
    llvm::MapVector<llvm::StringRef, mlir::Type> weights;
    module.walk([&](WeightOp op) {
      weights.insert({op.getName(), op.getType()});
    });
    WeightSize total;
    for (const auto &entry : weights) {
      WeightSize size = sizeOf(entry.second);
      total.parameters += size.parameters;
      total.bytes += size.bytes;
    }
    os << "  weights: " << weights.size() << " tensors, " << total.parameters
       << " parameters, "
       << llvm::format("%.2f", static_cast<double>(total.bytes) / (1 << 20))
       << " MiB\n";
    markAllAnalysesPreserved();
  }
};

} // namespace
} // namespace kopt
