//===- LinearEpilogue.h - Elementwise ops a linear applies before storing -*- C++ -*-===//
//
// A kopt.fused "linear_epilogue" group runs as its linear's kernels with the
// chain of elementwise ops after the linear applied to each output element
// (token m, feature n) in registers, right before the one store. Kernels
// read the epilogue's extra operands through buffers appended after all
// their own parameters (EpilogueText declares them on first use), and their
// launches append the matching arguments (LinearEpilogue::addArguments).
// Each intermediate is rounded to its own dtype, as the unfused ops would.
//
//===----------------------------------------------------------------------===//

#ifndef KOPT_CODEGEN_GPU_LINEAREPILOGUE_H
#define KOPT_CODEGEN_GPU_LINEAREPILOGUE_H

#include "GpuEmitter.h"
#include "KernelText.h"

#include "kopt/Dialect/Kopt/Fusion.h"
#include "kopt/Dialect/Kopt/KoptOps.h"

namespace kopt::gpu {

class LinearEpilogue {
public:
  /// The epilogue of `chain` (elementwise ops, each reading the previous
  /// value, the first the linear's output or `start`, a value of its
  /// shape) yielding `result`; failure (no diagnostic) when an operand's
  /// dims do not index as the pass assumed (a dynamic dim of another
  /// symbol).
  static mlir::FailureOr<LinearEpilogue>
  build(kopt::LinearOp linear, llvm::ArrayRef<mlir::Operation *> chain,
        mlir::Value result, FunctionEmitter &e, mlir::Value start = {});

  /// The value the fused kernels write.
  mlir::Value result() const { return result_; }
  /// Appends the buffers of the extra operands to a launch.
  void addArguments(Launch &l, FunctionEmitter &e) const;

  struct Operand {
    mlir::Value value;
    EpilogueIndexing indexing;
  };
  /// The value the chain starts from (the linear's output, or `start`).
  mlir::Value linearResult() const { return linearResult_; }
  llvm::ArrayRef<mlir::Operation *> chain() const { return chain_; }
  /// The chain's operands other than the value it carries, in order.
  llvm::ArrayRef<Operand> operands() const { return operands_; }

private:
  friend class EpilogueText;
  mlir::Value result_, linearResult_;
  llvm::SmallVector<mlir::Operation *> chain_;
  llvm::SmallVector<Operand> operands_;
};

/// One kernel's use of an epilogue (or of none: the plain output cast).
class EpilogueText {
public:
  /// `epilogue` may be null; `linearType` is the linear's own output type.
  EpilogueText(KernelText &k, const LinearEpilogue *epilogue,
               std::string linearType);
  /// The element type of the output buffer.
  const std::string &outType() const { return outType_; }
  /// The accumulator `v` (f32) of output (token `m`, feature `n`) with
  /// `features` output features (all `index` values), as `outType()`.
  std::string finish(const std::string &v, const std::string &m,
                     const std::string &n, const std::string &features);

private:
  KernelText &k_;
  const LinearEpilogue *epilogue_;
  std::string linearType_, outType_;
  std::vector<std::string> buffers_;
};

/// Appends the epilogue arguments of `linear`'s kernels, if it has one, to
/// a launch (after all the kernel's own arguments).
inline void addEpilogueArguments(Launch &l, FunctionEmitter &e,
                                 mlir::Operation *linear) {
  if (const LinearEpilogue *epilogue = e.epilogueOf(linear))
    epilogue->addArguments(l, e);
}

} // namespace kopt::gpu

#endif // KOPT_CODEGEN_GPU_LINEAREPILOGUE_H
