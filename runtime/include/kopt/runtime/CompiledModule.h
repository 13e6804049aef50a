//===- CompiledModule.h - A loaded CPU artifact and its plan ----*- C++ -*-===//
//
// The C++ core behind kopt_module_t: loads `model.so` and the plan beside
// it, resolves every function's entry point, binds weights from a
// checkpoint (zero-copy from the memory mapping), and invokes functions on
// host tensors, checking input shapes against the plan, allocating outputs
// from the bound symbols and turning errors the compiled code reports
// through its status buffer into Status values.
//
// The ABI of a compiled CPU artifact: for each function the shared object
// exports `void kopt_call_NAME(void **args)`; `args[i]` points to the i-th
// memref descriptor in the order of the plan's "call" list. A rank-r
// descriptor is `{void *allocated; void *aligned; int64_t offset;
// int64_t sizes[r]; int64_t strides[r];}`; the runtime passes offset 0 and
// row-major contiguous strides. The "status" argument is a rank-1 i64
// descriptor of 4 elements, zeroed before the call: status[0] != 0 reports
// a data-dependent error (1: index out of range, 2: KV-cache overflow,
// 3: integer division by zero),
// status[1] the index of the failing node in the plan graph's function,
// status[2] the offending value, status[3] the bound.
//
//===----------------------------------------------------------------------===//

#ifndef KOPT_RUNTIME_COMPILEDMODULE_H
#define KOPT_RUNTIME_COMPILEDMODULE_H

#include "kopt/runtime/Npy.h"
#include "kopt/runtime/Plan.h"
#include "kopt/runtime/Safetensors.h"

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace kopt::rt {

class CpuSharedObject;

/// Where bound weights come from.
struct WeightSource {
  /// The tensor called `name`, or nullopt when the checkpoint lacks it.
  std::function<std::optional<kopt_tensor_view_t>(const std::string &name)>
      lookup;
  /// Keeps the memory the views point into alive while bound.
  std::shared_ptr<const void> keepAlive;
  /// Names the checkpoint in errors ("'w.safetensors'").
  std::string description;

  /// A source over an opened checkpoint.
  static WeightSource fromWeightSet(std::shared_ptr<const WeightSet> weights,
                                    std::string description);
};

/// `base`, plus the stored tensors of every quantized weight `plan` reads
/// that `base` lacks, packed from their float source tensors in `base` (the
/// compiler's packing, so the bytes equal a compile-time packed checkpoint).
/// Errors name the weight: a missing or mismatched source, non-finite values.
StatusOr<WeightSource> withPackedWeights(const Plan &plan,
                                         const WeightSource &base);

/// Compile-time packing: writes every weight the plan beside `artifactPath`
/// reads, quantized ones packed from `checkpoint`, to
/// `<stem>.weights.safetensors` beside it, and makes that file the plan's
/// default weights. Tensors in `overrides` replace (or add to) the
/// checkpoint's of that name (calibration's scaled weights and input scales).
/// Returns the path written, or "" when the plan reads no quantized weight.
StatusOr<std::string>
writePackedCheckpoint(const std::string &artifactPath,
                      const std::string &checkpoint,
                      const std::map<std::string, HostTensor> &overrides = {});

/// Checks the checkpoint's `view` of `weight` (read by `function`) against
/// the plan: NOT_FOUND when absent, INVALID_ARGUMENT on a dtype or shape
/// mismatch, DATA_LOSS when its bytes do not match; else its byte size.
/// `checkpoint` names the source in messages ("the checkpoint 'w.st'").
StatusOr<size_t> checkWeightView(const PlanWeight &weight,
                                 const std::optional<kopt_tensor_view_t> &view,
                                 const std::string &function,
                                 const std::string &checkpoint);

/// Per-call options.
struct InvokeOptions {
  /// Fill outputs with 0xff bytes (NaN for floats, -1 for integers) rather
  /// than zeros before the call, so elements the compiled code does not
  /// write stand out.
  bool poisonOutputs = false;
};

/// A CPU shared object, its plan and its bound weights.
class CompiledModule {
public:
  /// Loads the plan beside `artifactPath` (Plan::planPathFor), dlopens the
  /// shared object (RTLD_NOW | RTLD_LOCAL) and resolves every function's
  /// symbol.
  static StatusOr<std::shared_ptr<CompiledModule>>
  load(const std::string &artifactPath);
  ~CompiledModule();

  const Plan &plan() const { return *plan_; }
  const std::string &artifactPath() const { return artifactPath_; }

  /// Checks that every weight of every function is in `weights` with the
  /// plan's dtype and shape, then binds them (replacing earlier weights; a
  /// failed bind keeps them). A missing weight is NOT_FOUND, a mismatch
  /// INVALID_ARGUMENT. Safe while other threads invoke: running calls keep
  /// the weights they started with.
  Status bindWeights(const WeightSource &weights);
  /// Whether weights are bound.
  bool hasWeights() const;

  /// Calls `function` on `inputs` (one per plan input, in order) and
  /// returns its outputs. Thread-safe; concurrent calls are independent.
  StatusOr<std::vector<HostTensor>>
  invoke(const std::string &function,
         const std::vector<const HostTensor *> &inputs,
         const InvokeOptions &options = {}) const;

private:
  struct BoundWeights;
  CompiledModule() = default;

  std::string artifactPath_;
  std::shared_ptr<const Plan> plan_;
  std::shared_ptr<CpuSharedObject> object_;
  std::vector<void (*)(void **)> entryPoints_; // One per plan function.
  mutable std::mutex mutex_;
  std::shared_ptr<const BoundWeights> weights_; // Guarded by mutex_.
};

} // namespace kopt::rt

#endif // KOPT_RUNTIME_COMPILEDMODULE_H
