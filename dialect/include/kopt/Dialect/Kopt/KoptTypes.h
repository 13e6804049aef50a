//===- KoptTypes.h - Compressed-weight types --------------------*- C++ -*-===//
//
// `!kopt.quantized` and `!kopt.sparse`: weights whose type carries their
// storage encoding, plus the enums those types use.
//
//===----------------------------------------------------------------------===//

#ifndef KOPT_DIALECT_KOPT_KOPTTYPES_H
#define KOPT_DIALECT_KOPT_KOPTTYPES_H

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/DialectImplementation.h"

#include "kopt/runtime/Quantization.h"

#include "kopt/Dialect/Kopt/KoptEnums.h.inc"

#define GET_ATTRDEF_CLASSES
#include "kopt/Dialect/Kopt/KoptAttrs.h.inc"

#define GET_TYPEDEF_CLASSES
#include "kopt/Dialect/Kopt/KoptTypes.h.inc"

namespace kopt {

/// The logical shape of a dense or compressed weight type, or nullopt for any
/// other type.
std::optional<llvm::ArrayRef<int64_t>> getWeightShape(mlir::Type type);

/// The element type a compressed weight decompresses to alongside `input`'s
/// activations (for a dense tensor: its element type).
mlir::Type getWeightElementType(mlir::Type type);

/// The runtime's description of `type`'s encoding (float zero points, which
/// the runtime does not pack, are a failure).
mlir::FailureOr<rt::quant::Encoding> encodingOf(QuantizedType type);

/// The tensors `type` is stored as, in order `qweight`, `scales` and, when
/// asymmetric, `zeros` (see rt::quant::partsOf).
llvm::SmallVector<mlir::RankedTensorType> partTypesOf(QuantizedType type);

} // namespace kopt

#endif // KOPT_DIALECT_KOPT_KOPTTYPES_H
