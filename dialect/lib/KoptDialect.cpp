//===- KoptDialect.cpp - The kopt model dialect ---------------------------===//
//
// Registers the kopt ops, types and attributes.
//
//===----------------------------------------------------------------------===//

#include "kopt/Dialect/Kopt/KoptDialect.h"
#include "kopt/Dialect/Kopt/KoptOps.h"
#include "kopt/Dialect/Kopt/KoptTypes.h"

#include "kopt/Dialect/Kopt/KoptDialect.cpp.inc"

void kopt::KoptDialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "kopt/Dialect/Kopt/KoptOps.cpp.inc"
      >();
  registerTypes();
  registerAttributes();
}
