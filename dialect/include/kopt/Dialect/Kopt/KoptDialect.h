//===- KoptDialect.h - The kopt model dialect -------------------*- C++ -*-===//
//
// Declares the kopt dialect. Include KoptOps.h for the ops and KoptTypes.h for
// the compressed-weight types.
//
//===----------------------------------------------------------------------===//

#ifndef KOPT_DIALECT_KOPT_KOPTDIALECT_H
#define KOPT_DIALECT_KOPT_KOPTDIALECT_H

#include "mlir/IR/Dialect.h"

#include "kopt/Dialect/Kopt/KoptDialect.h.inc"

#endif // KOPT_DIALECT_KOPT_KOPTDIALECT_H
