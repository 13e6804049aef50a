//===- InitAll.h - Register everything kopt tools need ----------*- C++ -*-===//
//
// The dialects a kopt model may use and the passes and pipelines kopt tools
// expose, registered in one place so `kopt` and `kopt-opt` agree.
//
//===----------------------------------------------------------------------===//

#ifndef KOPT_INITALL_H
#define KOPT_INITALL_H

#include "kopt/Codegen/Passes.h"
#include "kopt/Dialect/Kopt/KoptDialect.h"
#include "kopt/Passes/Passes.h"
#include "kopt/Passes/Pipelines.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/Transforms/Passes.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/Transforms/Passes.h"

namespace kopt {

/// Dialects of model input (kopt ops in func.func, scalars from arith) and
/// of the code generation pipeline.
inline void registerKoptDialects(mlir::DialectRegistry &registry) {
  registry.insert<KoptDialect, mlir::arith::ArithDialect,
                  mlir::func::FuncDialect, mlir::tensor::TensorDialect>();
  registerKoptCodegenDialects(registry);
}

/// kopt's passes and named pipelines, plus MLIR's generic transforms
/// (canonicalize, cse, ...) and bufferization passes.
inline void registerKoptPassesAndPipelines() {
  registerKoptPasses();
  registerKoptPipelines();
  registerKoptCodegenPassesAndPipelines();
  mlir::registerTransformsPasses();
  mlir::bufferization::registerBufferizationPasses();
}

} // namespace kopt

#endif // KOPT_INITALL_H
