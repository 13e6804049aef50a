//===- KoptOps.h - kopt model ops -------------------------------*- C++ -*-===//
//
// The ops of the kopt model dialect, generated from KoptOps.td.
//
//===----------------------------------------------------------------------===//

#ifndef KOPT_DIALECT_KOPT_KOPTOPS_H
#define KOPT_DIALECT_KOPT_KOPTOPS_H

#include "kopt/Dialect/Kopt/KoptDialect.h"
#include "kopt/Dialect/Kopt/KoptTypes.h"

#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/Interfaces/InferTypeOpInterface.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

namespace kopt {
/// Whether `actual` result types agree with `inferred` ones: same count, same
/// element types and ranks, and every dim equal or dynamic on either side.
bool areCompatibleTensorTypes(mlir::TypeRange inferred, mlir::TypeRange actual);

/// Verifies an op by running its shape inference with the op's location, so
/// the inference rules report their own errors, and by comparing the written
/// result types with the inferred ones, once, before InferTypeOpInterface's
/// generic check.
template <typename ConcreteType>
class VerifiedByInference
    : public mlir::OpTrait::TraitBase<ConcreteType, VerifiedByInference> {
public:
  static mlir::LogicalResult verifyTrait(mlir::Operation *op) {
    llvm::SmallVector<mlir::Type> inferred;
    if (mlir::failed(ConcreteType::inferReturnTypes(
            op->getContext(), op->getLoc(), op->getOperands(),
            op->getRawDictionaryAttrs(), op->getPropertiesStorage(),
            op->getRegions(), inferred)))
      return mlir::failure();
    if (!areCompatibleTensorTypes(inferred, op->getResultTypes()))
      return op->emitOpError("result type(s) ")
             << op->getResultTypes() << " do not match the inferred "
             << mlir::TypeRange(inferred);
    return mlir::success();
  }
};

} // namespace kopt

#define GET_OP_CLASSES
#include "kopt/Dialect/Kopt/KoptOps.h.inc"

#endif // KOPT_DIALECT_KOPT_KOPTOPS_H
