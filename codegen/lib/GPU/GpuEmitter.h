//===- GpuEmitter.h - One function's kernels and launch schedule -*- C++ -*-===//
//
// The GPU form of a model function is a schedule the runtime interprets:
// device buffers (inputs, weights, intermediates sized by the plan's
// symbolic dims, aliases for reshapes, a status buffer) and launches (a
// kernel of the module's PTX, its grid as expressions over those symbols,
// its block size, its arguments). FunctionEmitter builds that schedule op
// by op; each kernel family (Families.h) turns one kopt op into kernels
// (written as MLIR text, see KernelText.h) and launches.
//
//===----------------------------------------------------------------------===//

#ifndef KOPT_CODEGEN_GPU_GPUEMITTER_H
#define KOPT_CODEGEN_GPU_GPUEMITTER_H

#include "kopt/Codegen/SymbolicShapes.h"
#include "kopt/Codegen/Target/GpuTarget.h"
#include "kopt/Dialect/Kopt/KoptOps.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "llvm/ADT/DenseSet.h"
#include "llvm/ADT/StringMap.h"

#include <memory>
#include <optional>
#include <string>

namespace kopt::gpu {

/// Kernels of one module, shared between identical texts.
class KernelLibrary {
public:
  explicit KernelLibrary(mlir::gpu::GPUModuleOp module) : module_(module) {}
  /// The symbol of the kernel written by `text` (which names it `@KERNEL`),
  /// parsed and added on first use; failure (with a diagnostic at `loc`)
  /// when the text does not parse.
  mlir::FailureOr<std::string> add(llvm::StringRef family,
                                   const std::string &text,
                                   mlir::Location loc);

  /// The symbol of one kernel running `kernels` side by side: part i takes
  /// the next `blocks_i` blocks (an i64 parameter appended after every
  /// part's own), its `gpu.block_id x` counting from its first. Failure
  /// (and no diagnostic) when a kernel cannot be a part: see
  /// MergeLaunches.cpp.
  mlir::FailureOr<std::string> merged(llvm::ArrayRef<std::string> kernels,
                                      mlir::Location loc);

private:
  mlir::gpu::GPUModuleOp module_;
  llvm::StringMap<std::string> byText_;
  unsigned count_ = 0;
};

class LinearEpilogue;

struct LaunchArg {
  enum class Kind { Buffer, Index };
  Kind kind;
  int64_t buffer = -1;
  mlir::AffineExpr index;
};

struct Launch {
  std::string kernel;
  mlir::AffineExpr grid[3];
  int64_t block = 128;
  int64_t sharedBytes = 0;
  int64_t node = -1;
  /// The op it runs (for dependence between launches).
  mlir::Operation *op = nullptr;
  llvm::SmallVector<LaunchArg> args;
  /// Buffers it only reads though they are not its op's operands (the
  /// input and weight of a norm its kernel applies).
  llvm::SmallVector<int64_t, 2> reads;
  /// Launched only when `guard` evaluates into [guardMin, guardMax].
  std::optional<mlir::AffineExpr> guard;
  int64_t guardMin = 0, guardMax = INT64_MAX;
  /// Launched only when the runtime runs variant `tuneVariant` of tuning
  /// group `tuneGroup` (-1: always).
  int64_t tuneGroup = -1, tuneVariant = 0;

  Launch &buffer(int64_t id) {
    args.push_back({LaunchArg::Kind::Buffer, id, {}});
    return *this;
  }
  Launch &index(mlir::AffineExpr value) {
    args.push_back({LaunchArg::Kind::Index, -1, value});
    return *this;
  }
};

struct DeviceBuffer {
  mlir::Type elementType;
  llvm::SmallVector<mlir::AffineExpr> dims;
  /// "input:I", "weight:I", "temp", "zeroed" (temp memory the runtime
  /// clears before each call), "status", or "alias:B" (same memory as
  /// buffer B, another shape).
  std::string source;
};

/// An op compiled in several tile variants, which the runtime's autotuner
/// chooses between per shape bucket (`bucket`: the op's token count).
struct TuningGroup {
  int64_t node = -1;
  std::string kernel;                  // what the tuner reports
  llvm::SmallVector<std::string> variants; // labels; 0 is the default
  mlir::AffineExpr bucket;
  std::optional<mlir::AffineExpr> bytes; // moved per call, for the roofline
  int64_t output = -1;                   // the buffer variants must agree on
};

/// An rmsnorm that the small-row kernels of the linears reading it apply
/// (NormPrologue.h): up to `maxRows` rows they read `input` and `weight`
/// instead of the norm's result, which is computed only above.
struct NormPrologue {
  mlir::Value input, weight;
  double epsilon = 0;
  int64_t maxRows = 0;
};

/// The tail of a linear's epilogue that the small-row kernels reading its
/// result apply to their activations instead (ReaderEpilogue.h): up to
/// `maxRows` rows the linear's kernels apply only `head` (null: none) and
/// write buffer `raw`, from which (and the tail's operands) the readers
/// compute each activation.
struct ReaderEpilogue {
  int64_t raw = -1;
  std::shared_ptr<const LinearEpilogue> head, epilogue;
  int64_t maxRows = 0;
};

class FunctionEmitter {
public:
  FunctionEmitter(mlir::func::FuncOp func, SymbolicShapes &shapes,
                  KernelLibrary &kernels, const GpuTarget &target,
                  llvm::ArrayRef<llvm::StringRef> weightNames);

  /// Emits every op; failure after a diagnostic on the op that has no GPU
  /// lowering.
  mlir::LogicalResult emit();
  /// Runs consecutive launches of independent ops that share a block shape
  /// (and launch guard) as one launch of a merged kernel (MergeLaunches.cpp).
  void mergeIndependentLaunches();
  /// "buffers", "launches" and "results" of the plan function.
  llvm::json::Object toJson();

  /// Emits one op (a top-level op, or one of a kopt.fused body).
  mlir::LogicalResult emitOp(mlir::Operation *op);

  // ---- For kernel families ----
  const GpuTarget &target() const { return target_; }
  mlir::MLIRContext *context() { return func_.getContext(); }
  /// The buffer holding `value`.
  int64_t bufferOf(mlir::Value value);
  /// A new buffer for `result` (an op result).
  int64_t define(mlir::Value result);
  /// `value` lives in `buffer` (a kopt.fused result in its body's).
  void bind(mlir::Value value, int64_t buffer) {
    bufferOfValue_[value] = buffer;
  }
  /// The epilogue the kernels of `linear` apply to each output (null when
  /// none), see LinearEpilogue.h.
  const LinearEpilogue *epilogueOf(mlir::Operation *linear) const {
    return epilogues_.lookup(linear);
  }
  void setEpilogue(mlir::Operation *linear, const LinearEpilogue *epilogue) {
    if (epilogue)
      epilogues_[linear] = epilogue;
    else
      epilogues_.erase(linear);
  }
  /// The norm prologue the small-row kernels reading `value` (an rmsnorm's
  /// result) apply, or null.
  const NormPrologue *normPrologueOf(mlir::Value value) const {
    auto it = normPrologues_.find(value);
    return it == normPrologues_.end() ? nullptr : &it->second;
  }
  void setNormPrologue(mlir::Value normResult, NormPrologue prologue) {
    normPrologues_[normResult] = prologue;
  }
  /// The epilogue the small-row kernels reading `value` (a linear
  /// epilogue's result) apply, or null.
  const ReaderEpilogue *readerEpilogueOf(mlir::Value value) const {
    auto it = readerEpilogues_.find(value);
    return it == readerEpilogues_.end() ? nullptr : &it->second;
  }
  /// The same, seen from the linear whose small-row kernels skip it.
  const ReaderEpilogue *rawOutputOf(mlir::Operation *linear) const {
    auto it = rawOutputs_.find(linear);
    return it == rawOutputs_.end() ? nullptr : &it->second;
  }
  /// Whether epilogues may move into their readers at all.
  bool readerEpilogues() const { return readerEpiloguesEnabled_; }
  void setReaderEpilogues(bool enabled) { readerEpiloguesEnabled_ = enabled; }
  void setReaderEpilogue(mlir::Operation *linear, mlir::Value result,
                         ReaderEpilogue epilogue) {
    rawOutputs_[linear] = epilogue;
    readerEpilogues_[result] = std::move(epilogue);
  }
  /// The launches appended from index `first` on (to guard an op's).
  llvm::MutableArrayRef<Launch> launchesFrom(size_t first) {
    return llvm::MutableArrayRef<Launch>(launches_).drop_front(first);
  }
  size_t launchCount() const { return launches_.size(); }
  /// The output buffer of `linear`'s kernels: its epilogue's result (which
  /// marks the epilogue applied) or its own.
  int64_t defineOutput(mlir::Operation *linear);
  bool epilogueApplied(mlir::Operation *linear) const {
    return appliedEpilogues_.contains(linear);
  }
  /// Whether an op may overwrite `value`'s memory: it is its only use, and
  /// the memory is a function input or an op's own result (not a weight, a
  /// constant or memory another value shares).
  bool updatableInPlace(mlir::Value value);
  /// `result` is `source`'s memory with another shape (row-major reshape).
  void alias(mlir::Value result, mlir::Value source);
  /// A scratch buffer of `elementType` with `dims`.
  int64_t scratch(mlir::Type elementType,
                  llvm::ArrayRef<mlir::AffineExpr> dims);
  /// Counters that start every call at zero and that the kernels using
  /// them leave zero (a "zeroed" buffer).
  int64_t zeroedScratch(mlir::Type elementType,
                        llvm::ArrayRef<mlir::AffineExpr> dims);
  /// The function's scratch buffer `slot` of `elementType` for values that
  /// live only across one op's launches (a dense weight dequantized for the
  /// GEMM after it), grown to hold at least `elements`. Launches run in
  /// order on one stream, so every op may overwrite it.
  int64_t sharedScratch(mlir::Type elementType, int64_t elements,
                        int64_t slot = 0);
  /// Buffers an op publishes beside its result `value` for readers that
  /// take an encoded form of it (a fake_quant's float8 codes and scales).
  void setEncoded(mlir::Value value, llvm::ArrayRef<int64_t> buffers) {
    encoded_[value].assign(buffers.begin(), buffers.end());
  }
  llvm::ArrayRef<int64_t> encoded(mlir::Value value) const {
    auto it = encoded_.find(value);
    return it == encoded_.end() ? llvm::ArrayRef<int64_t>() : it->second;
  }
  /// A constant f32 buffer holding `values` (uploaded once).
  int64_t constantBuffer(mlir::Type elementType, llvm::ArrayRef<float> values);
  /// The status buffer (4 x i64: code, node, value, bound).
  int64_t status();
  /// Whether two dims are equal once the plan's unifications apply.
  bool sameDim(mlir::AffineExpr a, mlir::AffineExpr b) {
    return shapes_.same(a, b);
  }
  /// The dims of a tensor value.
  llvm::SmallVector<mlir::AffineExpr> dims(mlir::Value value);
  mlir::AffineExpr constant(int64_t value);
  mlir::AffineExpr product(llvm::ArrayRef<mlir::AffineExpr> dims);
  mlir::AffineExpr numElements(mlir::Value value) {
    return product(dims(value));
  }
  /// The node index of `op` in the plan graph.
  int64_t nodeOf(mlir::Operation *op);
  /// Adds (or reuses) a kernel; see KernelLibrary::add.
  mlir::FailureOr<std::string> kernel(llvm::StringRef family,
                                      const std::string &text,
                                      mlir::Location loc) {
    return kernels_.add(family, text, loc);
  }
  /// Appends a launch of `kernel` for `op` with a 1-D grid of `blocks`.
  Launch &launch(const std::string &kernel, mlir::Operation *op,
                 mlir::AffineExpr blocksX, int64_t threads);

private:
  mlir::func::FuncOp func_;
  SymbolicShapes &shapes_;
  KernelLibrary &kernels_;
  const GpuTarget &target_;
  llvm::SmallVector<DeviceBuffer> buffers_;
  llvm::SmallVector<Launch> launches_;
  llvm::DenseMap<mlir::Value, int64_t> bufferOfValue_;
  llvm::StringMap<int64_t> weightIndex_;
  llvm::DenseMap<int64_t, llvm::json::Object> constantValues_;
  llvm::DenseMap<std::pair<mlir::Type, int64_t>, int64_t> sharedScratch_;
  llvm::DenseMap<mlir::Value, llvm::SmallVector<int64_t, 2>> encoded_;
  /// A linear in every variant of its `kopt.tile_variants`.
  mlir::LogicalResult emitTileVariants(kopt::LinearOp linear,
                                       mlir::ArrayAttr variants);

  llvm::SmallVector<TuningGroup> tuning_;
  /// While emitting a second variant: define() returns existing buffers.
  bool reuseDefinitions_ = false;
  llvm::DenseMap<mlir::Operation *, const LinearEpilogue *> epilogues_;
  llvm::DenseSet<mlir::Operation *> appliedEpilogues_;
  llvm::DenseMap<mlir::Value, NormPrologue> normPrologues_;
  llvm::DenseMap<mlir::Value, ReaderEpilogue> readerEpilogues_;
  llvm::DenseMap<mlir::Operation *, ReaderEpilogue> rawOutputs_;
  bool readerEpiloguesEnabled_ = true;
  int64_t status_ = -1;
};

/// ceil(a / b) for a constant b > 0.
/// The value of `expr` when it is a constant.
inline std::optional<int64_t> staticValue(mlir::AffineExpr expr) {
  if (auto c = mlir::dyn_cast<mlir::AffineConstantExpr>(expr))
    return c.getValue();
  return std::nullopt;
}
inline mlir::AffineExpr ceilDiv(mlir::AffineExpr a, int64_t b) {
  return a.ceilDiv(b);
}

} // namespace kopt::gpu

#endif // KOPT_CODEGEN_GPU_GPUEMITTER_H
