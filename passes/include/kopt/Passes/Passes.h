//===- Passes.h - kopt model-level passes -----------------------*- C++ -*-===//
//
// Declarations of the passes in Passes.td and their registration.
//
//===----------------------------------------------------------------------===//

#ifndef KOPT_PASSES_PASSES_H
#define KOPT_PASSES_PASSES_H

#include "kopt/Dialect/Kopt/KoptDialect.h"
#include "kopt/Dialect/Kopt/KoptTypes.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"

#include <memory>

namespace kopt {

/// Weight encodings of `--quantize` (None: weights keep their precision).
enum class QuantMode { None, Int4, Int8, FP8 };

#define GEN_PASS_DECL
#include "kopt/Passes/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "kopt/Passes/Passes.h.inc"

} // namespace kopt

#endif // KOPT_PASSES_PASSES_H
