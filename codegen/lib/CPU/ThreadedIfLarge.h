//===- ThreadedIfLarge.h - Fork threads only for large CPU kernels -*- C++ -*-===//
//
// The CPU microkernels emit their loop nest twice under one scf.if: with the
// outer loop an scf.parallel (split across threads by kopt-parallelize-cpu)
// when the work is worth a fork, else as plain loops.
//
//===----------------------------------------------------------------------===//

#ifndef KOPT_CODEGEN_CPU_THREADEDIFLARGE_H
#define KOPT_CODEGEN_CPU_THREADEDIFLARGE_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "llvm/ADT/STLFunctionalExtras.h"

namespace kopt {

/// Multiply-adds below which a kernel stays on one thread.
constexpr int64_t kMinParallelWork = 1 << 22;

/// scf.if (work >= kMinParallelWork) { body(parallel = true) } else
/// { body(parallel = false) }; `body` emits at the builder it is given.
inline void
emitThreadedIfLarge(mlir::OpBuilder &b, mlir::Location loc, mlir::Value work,
                    llvm::function_ref<void(mlir::OpBuilder &, mlir::Location,
                                            bool)>
                        body) {
  mlir::Value large = mlir::arith::CmpIOp::create(
      b, loc, mlir::arith::CmpIPredicate::sge, work,
      mlir::arith::ConstantIndexOp::create(b, loc, kMinParallelWork));
  mlir::scf::IfOp::create(
      b, loc, large,
      [&](mlir::OpBuilder &tb, mlir::Location tl) {
        body(tb, tl, /*parallel=*/true);
        mlir::scf::YieldOp::create(tb, tl);
      },
      [&](mlir::OpBuilder &eb, mlir::Location el) {
        body(eb, el, /*parallel=*/false);
        mlir::scf::YieldOp::create(eb, el);
      });
}

} // namespace kopt

#endif // KOPT_CODEGEN_CPU_THREADEDIFLARGE_H
