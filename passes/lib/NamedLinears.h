//===- NamedLinears.h - The linears reading weights given by name -*- C++ -*-===//
//
// Shared by the passes that rewrite the input of the linears reading a
// named weight (kopt-scale-linear-inputs, kopt-order-linear-inputs).
//
//===----------------------------------------------------------------------===//

#ifndef KOPT_PASSES_NAMEDLINEARS_H
#define KOPT_PASSES_NAMEDLINEARS_H

#include "kopt/Dialect/Kopt/KoptOps.h"

#include "mlir/IR/BuiltinOps.h"
#include "llvm/ADT/StringSet.h"

#include <string>

namespace kopt {

/// Every kopt.linear in `module` whose weight is a kopt.weight named in
/// `names`, in walk order; a name no linear reads is an error at the module
/// ("PASS: no kopt.linear reads a weight named 'NAME'"), then failure.
inline mlir::FailureOr<llvm::SmallVector<LinearOp>>
linearsReading(mlir::ModuleOp module, llvm::ArrayRef<std::string> names,
               llvm::StringRef pass) {
  llvm::StringSet<> wanted, seen;
  for (const std::string &name : names)
    wanted.insert(name);
  llvm::SmallVector<LinearOp> linears;
  module.walk([&](LinearOp linear) {
    auto weight = linear.getWeight().getDefiningOp<WeightOp>();
    if (weight && wanted.contains(weight.getName())) {
      linears.push_back(linear);
      seen.insert(weight.getName());
    }
  });
  bool missing = false;
  for (const std::string &name : names)
    if (!seen.contains(name)) {
      mlir::emitError(module.getLoc())
          << pass << ": no kopt.linear reads a weight named '" << name << "'";
      missing = true;
    }
  if (missing)
    return mlir::failure();
  return linears;
}

} // namespace kopt

#endif // KOPT_PASSES_NAMEDLINEARS_H
