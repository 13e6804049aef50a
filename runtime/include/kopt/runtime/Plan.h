//===- Plan.h - The host plan of a compiled artifact ------------*- C++ -*-===//
//
// `model.plan.json` sits beside a compiled artifact (`model.so`) and says
// what the runtime needs to call it: each function's symbol, its inputs,
// weights and outputs with dtypes and (symbolic) shapes, the order of the
// call's arguments, cost expressions for benchmarks, and an opaque
// reference graph. A plan is untrusted: every field is validated on load,
// and input shapes are checked against it on every call.
//
//   {"format": "kopt-plan", "version": 1,
//    "artifact": {"kind": "cpu-shared-object", "file": "model.so"},
//    "default_weights": "w.safetensors",
//    "functions": [{"name": "forward", "symbol": "kopt_call_forward",
//      "inputs":  [{"dtype": "i32", "shape": [1, "s0"]}],
//      "weights": [{"name": "emb", "dtype": "f32", "shape": [512, 256]}],
//      "outputs": [{"dtype": "f32", "shape": [1, "s0", 256]}],
//      "call": ["input:0", "weight:0", "output:0", "status"],
//      "flops": "s0 * 2 * 256", "bytes": "s0 * 1024 + 524288"}],
//    "graph": {...}}
//
//===----------------------------------------------------------------------===//

#ifndef KOPT_RUNTIME_PLAN_H
#define KOPT_RUNTIME_PLAN_H

#include "kopt/runtime/Quantization.h"
#include "kopt/runtime/ShapeExpr.h"
#include "kopt/runtime/Sparsity.h"

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kopt::rt {

/// The only plan version this runtime reads.
constexpr int kPlanVersion = 1;

/// The artifact kind of a CPU shared object.
constexpr const char *kCpuSharedObjectKind = "cpu-shared-object";

/// An input or output: its dtype and one expression per dim.
struct PlanTensor {
  kopt_dtype_t dtype = KOPT_DTYPE_F32;
  std::vector<ShapeExpr> dims;

  /// "[1xs0x(s0 * 2)]".
  std::string shapeText() const;
};

/// A weight the function reads from the checkpoint; shapes are static.
/// A weight that is one stored tensor (`part`) of the quantized form of the
/// float checkpoint tensor `source`.
struct QuantizedPart {
  std::string source;
  std::string part; // "qweight", "scales" or "zeros"
  quant::Encoding encoding;
};

/// A weight that is one stored tensor (`part`) of the pruned form of the
/// float checkpoint tensor `source`.
struct SparsePart {
  std::string source;
  std::string part; // "values" or "indices"
  sparse::Layout layout;
};

struct PlanWeight {
  std::string name;
  kopt_dtype_t dtype = KOPT_DTYPE_F32;
  std::vector<int64_t> shape;
  /// Set when the runtime may pack this weight from a float checkpoint.
  std::optional<QuantizedPart> quantized;
  /// Set when the runtime may prune this weight from a float checkpoint.
  std::optional<SparsePart> sparse;
};

/// One argument of the compiled call.
struct PlanCallArg {
  enum class Kind : uint8_t { Input, Weight, Output, Status };
  Kind kind;
  size_t index; // Into inputs, weights or outputs; 0 for Status.
};

/// A node of the reference graph, kept to explain errors the compiled code
/// reports through its status buffer.
struct PlanNodeInfo {
  std::string op;  // "kopt.embedding", or empty when the graph lacks it.
  std::string loc; // "model.mlir:5:10", or empty.
};

/// The shape of one actual tensor, for binding.
struct ShapeRef {
  kopt_dtype_t dtype;
  const std::vector<int64_t> *shape;
};

/// Symbol values bound from a call's inputs.
struct Bindings {
  SymbolValues values;
  /// For each bound symbol, the input that bound it.
  std::vector<size_t> boundBy;
};

/// One function of the plan.
struct PlanFunction {
  std::string name;
  std::string symbol;
  std::vector<PlanTensor> inputs;
  std::vector<PlanWeight> weights;
  std::vector<PlanTensor> outputs;
  std::vector<PlanCallArg> call;
  std::optional<ShapeExpr> flops, bytes;
  /// The graph's nodes of this function (empty when the graph has none).
  std::vector<PlanNodeInfo> nodes;

  /// Checks the count, dtypes, ranks and dims of `inputs` against the plan
  /// and binds the symbols; errors name the function, the input, and the
  /// expected and actual shapes.
  StatusOr<Bindings> bind(const std::vector<ShapeRef> &inputs) const;
  /// The shape of output `index` under `bindings` (every dim >= 0).
  StatusOr<std::vector<int64_t>> outputShape(size_t index,
                                             const Bindings &bindings) const;
  /// A cost expression ("flops" or "bytes") under `bindings`, if present.
  std::optional<double> cost(const std::optional<ShapeExpr> &expr,
                             const Bindings &bindings) const;
};

/// A validated plan.
class Plan {
public:
  /// Where the plan of `artifactPath` lives: "dir/model.so" ->
  /// "dir/model.plan.json" (the last extension of the file name is replaced,
  /// as llvm::sys::path::replace_extension does when kopt writes it).
  static std::string planPathFor(const std::string &artifactPath);

  /// Reads and validates the plan at `path`; relative paths inside it are
  /// resolved against its folder.
  static StatusOr<std::shared_ptr<const Plan>> load(const std::string &path);
  /// Validates plan text; `folder` resolves relative paths and `what` names
  /// the source in errors.
  static StatusOr<std::shared_ptr<const Plan>> parse(std::string_view text,
                                                     const std::string &folder,
                                                     const std::string &what);

  const std::string &artifactKind() const { return artifactKind_; }
  const std::string &artifactFile() const { return artifactFile_; }
  /// Refuses `bytes` (the artifact read from `path`) unless they are the size
  /// and digest the plan records ("bytes", "fnv1a64"); plans written by hand
  /// may record neither, and then any artifact passes.
  Status checkArtifact(std::string_view bytes, const std::string &path) const;
  /// The default checkpoint, resolved against the plan's folder; empty when
  /// the plan names none.
  const std::string &defaultWeights() const { return defaultWeights_; }
  const std::vector<PlanFunction> &functions() const { return functions_; }
  /// The function called `name`, or nullptr.
  const PlanFunction *find(const std::string &name) const;
  /// The names of all functions, comma separated (for error messages).
  std::string functionList() const;
  /// The raw "graph" section re-serialised as JSON; empty when absent.
  const std::string &graphJson() const { return graphJson_; }
  /// Whether every kernel starts with griddepcontrol.wait, so that it may be
  /// launched while the kernel before it runs ("dependent_launch").
  bool dependentLaunch() const { return dependentLaunch_; }

private:
  std::string artifactKind_, artifactFile_, defaultWeights_, graphJson_;
  int64_t artifactBytes_ = -1; // -1: not recorded
  std::string artifactDigest_; // empty: not recorded
  std::string what_;           // names the plan in errors
  bool dependentLaunch_ = false;
  std::vector<PlanFunction> functions_;
};

/// "[2x3]" for a concrete shape ("[]" for a scalar).
std::string shapeText(const std::vector<int64_t> &shape);

/// The number of elements of `shape` and its bytes with `dtype`, or an error
/// naming `what` when a dim is negative or the size overflows.
StatusOr<size_t> checkedByteSize(kopt_dtype_t dtype,
                                 const std::vector<int64_t> &shape,
                                 const std::string &what);

} // namespace kopt::rt

#endif // KOPT_RUNTIME_PLAN_H
