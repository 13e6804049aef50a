//===- Kernels.h - Internals of the reference evaluator ---------*- C++ -*-===//
//
// Private to runtime/src/reference: the context an op kernel runs in
// (operands, declared result types, attributes, location), the shape helpers
// the kernels share, and one declaration per kernel. A kernel validates its
// operands and attributes, computes its results in double and returns them
// with their natural dtype and actual shape; the interpreter then checks them
// against the declared result types and rounds them to their dtype.
//
//===----------------------------------------------------------------------===//

#ifndef KOPT_RUNTIME_SRC_REFERENCE_KERNELS_H
#define KOPT_RUNTIME_SRC_REFERENCE_KERNELS_H

#include "kopt/runtime/Reference.h"

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <vector>

namespace kopt::rt::reference {

/// The most elements one value may have (2 GiB of doubles): a hostile shape
/// is an error, not an allocation failure.
constexpr int64_t kMaxElements = int64_t(1) << 28;

/// A type as declared in the graph: dtype and shape, -1 for a dynamic dim.
struct TensorType {
  kopt_dtype_t dtype = KOPT_DTYPE_F32;
  std::vector<int64_t> shape;
};

//===----------------------------------------------------------------------===//
// Shape helpers (Tensor.cpp)
//===----------------------------------------------------------------------===//

/// "[1, ?, 64]" (-1 prints as "?").
std::string formatShape(const std::vector<int64_t> &shape);

/// "f32[1, ?, 64]".
std::string formatType(kopt_dtype_t dtype, const std::vector<int64_t> &shape);

/// `value` as JSON text for an error message, cut short past 200 characters
/// (invalid UTF-8 replaced, never an exception).
std::string briefJson(const nlohmann::json &value);

/// An integral element value as text ("70000"), exact for any value.
std::string formatInteger(double value);

/// The element count of `shape`, or nullopt when a dim is negative or the
/// product of its non-zero dims exceeds kMaxElements (so that no product of
/// dims of a validated shape can overflow).
std::optional<int64_t> checkedElementCount(const std::vector<int64_t> &shape);

/// The product of dims [begin, end) of an already validated shape.
int64_t dimProduct(const std::vector<int64_t> &shape, size_t begin, size_t end);

/// Row-major strides of an already validated shape.
std::vector<int64_t> stridesOf(const std::vector<int64_t> &shape);

/// NumPy broadcast of two shapes; false when they are not broadcastable.
bool broadcastShapes(const std::vector<int64_t> &lhs,
                     const std::vector<int64_t> &rhs,
                     std::vector<int64_t> &result);

/// For every element of `outShape` in C order, the offset of the element of a
/// tensor of `shape` (right-aligned, size-1 dims broadcast) that it reads.
/// `shape` must broadcast to `outShape`.
std::vector<int64_t> broadcastOffsets(const std::vector<int64_t> &shape,
                                      const std::vector<int64_t> &outShape);

/// A shape seen around one axis: `outer` elements before it, `size` along
/// it, `inner` after it; element (o, j, i) is at (o * size + j) * inner + i.
struct AxisLayout {
  int64_t outer = 1;
  int64_t size = 1;
  int64_t inner = 1;

  int64_t offset(int64_t o, int64_t j, int64_t i) const {
    return (o * size + j) * inner + i;
  }
};

/// The layout of an already validated `shape` around `axis` (< rank).
AxisLayout layoutAround(const std::vector<int64_t> &shape, size_t axis);

/// The maximum of `values`, NaN if any is NaN (-inf when empty).
double nanMax(const std::vector<double> &values);

/// Whether `a` ranks before `b` in descending order where NaN is the largest
/// value (as torch.topk and torch.argmax treat NaN).
bool ranksBefore(double a, double b);

/// Decodes `count` little-endian elements of `dtype` from `bytes`.
Status decodeElements(kopt_dtype_t dtype, const uint8_t *bytes, size_t count,
                      std::vector<double> &out);

/// Parses a dtype spelling of the graph ("f32", "i1", ...): unimplemented for
/// compressed and float8 types, invalidArgument for anything else unknown.
Status parseGraphDType(const nlohmann::json &spelling, kopt_dtype_t &out);

//===----------------------------------------------------------------------===//
// OpContext (OpContext.cpp)
//===----------------------------------------------------------------------===//

/// What a kernel sees of one node: its operands, declared result types,
/// attributes and location, plus the weight set.
class OpContext {
public:
  OpContext(std::string op, std::string loc,
            std::vector<const Value *> operands,
            std::vector<TensorType> resultTypes, const nlohmann::json *attrs,
            const WeightSet *weights, const EvaluationHooks *hooks = nullptr);

  /// The op name ("kopt.add").
  const std::string &op() const { return op_; }
  /// The node's location, "" when it has none.
  const std::string &loc() const { return loc_; }
  size_t numOperands() const { return operands_.size(); }
  const Value &operand(size_t index) const { return *operands_[index]; }
  size_t numResults() const { return resultTypes_.size(); }
  const TensorType &resultType(size_t index) const {
    return resultTypes_[index];
  }
  const WeightSet *weights() const { return weights_; }
  /// Whether any weights are available (a set or overrides).
  bool hasWeights() const {
    return weights_ || (hooks_ && hooks_->weightOverrides &&
                        !hooks_->weightOverrides->empty());
  }
  /// The weight called `name`: an override (viewed through `scratch`), else
  /// the weight set's entry, else nullptr.
  const TensorEntry *lookupWeight(const std::string &name,
                                  TensorEntry &scratch) const;

  /// "<op>: <message> (at <loc>)" with `code`.
  Status error(kopt_status_code_t code, const std::string &message) const;
  /// An invalidArgument error().
  Status invalid(const std::string &message) const;

  /// Checks that there are between `min` and `max` operands.
  Status checkOperandCount(size_t min, size_t max) const;
  /// Checks that exactly `count` results are declared.
  Status checkResultCount(size_t count) const;
  /// Checks that operand `index` (called `name` in errors) is floating-point.
  Status checkFloat(size_t index, const char *name) const;
  /// Checks that operand `index` is an i32 or i64 tensor (ids, positions).
  Status checkIndex(size_t index, const char *name) const;
  /// Checks that operand `index` has rank `rank`.
  Status checkRank(size_t index, const char *name, size_t rank) const;
  /// Checks that operand `index` has exactly `shape`.
  Status checkShape(size_t index, const char *name,
                    const std::vector<int64_t> &shape) const;
  /// Checks that operands `a` and `b` have the same dtype.
  Status checkSameDType(size_t a, size_t b) const;

  /// Whether attribute `name` is present (and not null).
  bool hasAttr(const char *name) const;
  /// The raw JSON of attribute `name`, or nullptr when absent.
  const nlohmann::json *rawAttr(const char *name) const;
  /// An integer attribute, or `fallback` when absent (required if none).
  Status intAttr(const char *name, std::optional<int64_t> fallback,
                 int64_t &out) const;
  /// An f32 attribute, or `fallback` when absent; either is rounded to f32
  /// as the compiler sees it.
  Status floatAttr(const char *name, std::optional<double> fallback,
                   double &out) const;
  /// A bool attribute, or `fallback` when absent.
  Status boolAttr(const char *name, bool fallback, bool &out) const;
  /// A string attribute, or `fallback` when absent.
  Status stringAttr(const char *name, const std::string &fallback,
                    std::string &out) const;
  /// A required `array<i64: ...>` attribute.
  Status intArrayAttr(const char *name, std::vector<int64_t> &out) const;
  /// An `array<f32: ...>` attribute (rounded to f32); empty when absent.
  Status floatArrayAttr(const char *name, std::vector<double> &out) const;

  /// Maps `axis` in [-rank, rank) to [0, rank).
  Status normalizeAxis(int64_t axis, size_t rank, size_t &out) const;
  /// Attribute "axis" (default `fallback`; required if none), normalised for
  /// an operand of `rank`.
  Status axisAttr(std::optional<int64_t> fallback, size_t rank,
                  size_t &out) const;

  /// A zero-filled value of `dtype` and `shape`; an error if it would be too
  /// large.
  Status makeValue(kopt_dtype_t dtype, std::vector<int64_t> shape,
                   Value &out) const;

private:
  std::string op_;
  std::string loc_;
  std::vector<const Value *> operands_;
  std::vector<TensorType> resultTypes_;
  const nlohmann::json *attrs_;
  const WeightSet *weights_;
  const EvaluationHooks *hooks_;
};

/// An op's implementation: fills `results` (one Value per declared result).
using Kernel = Status (*)(const OpContext &ctx, std::vector<Value> &results);

//===----------------------------------------------------------------------===//
// Kernels
//===----------------------------------------------------------------------===//

// Constants.cpp
/// kopt.weight: the named tensor of the weight set.
Status evalWeight(const OpContext &ctx, std::vector<Value> &results);
/// arith.constant: {"splat": x} or {"data": [...]}.
Status evalConstant(const OpContext &ctx, std::vector<Value> &results);

// Elementwise.cpp
/// kopt.add/sub/mul/div with NumPy broadcasting.
Status evalBinary(const OpContext &ctx, std::vector<Value> &results);
/// kopt.silu/relu/sigmoid/tanh/exp/rsqrt/neg/gelu.
Status evalUnary(const OpContext &ctx, std::vector<Value> &results);
/// kopt.clamp.
Status evalClamp(const OpContext &ctx, std::vector<Value> &results);
/// kopt.cast.
Status evalCast(const OpContext &ctx, std::vector<Value> &results);

// Reductions.cpp
/// kopt.rmsnorm.
Status evalRMSNorm(const OpContext &ctx, std::vector<Value> &results);
/// kopt.layernorm.
Status evalLayerNorm(const OpContext &ctx, std::vector<Value> &results);
/// kopt.l2norm.
Status evalL2Norm(const OpContext &ctx, std::vector<Value> &results);
/// kopt.softmax.
Status evalSoftmax(const OpContext &ctx, std::vector<Value> &results);
/// kopt.reduce_mean/reduce_sum/reduce_max.
Status evalReduce(const OpContext &ctx, std::vector<Value> &results);
/// kopt.argmax.
Status evalArgmax(const OpContext &ctx, std::vector<Value> &results);
/// kopt.topk.
Status evalTopK(const OpContext &ctx, std::vector<Value> &results);

// LinearAlgebra.cpp
/// kopt.embedding.
Status evalEmbedding(const OpContext &ctx, std::vector<Value> &results);
/// kopt.linear.
Status evalLinear(const OpContext &ctx, std::vector<Value> &results);
/// kopt.matmul.
Status evalMatmul(const OpContext &ctx, std::vector<Value> &results);

// Shape.cpp
/// kopt.reshape.
Status evalReshape(const OpContext &ctx, std::vector<Value> &results);
/// kopt.transpose.
Status evalTranspose(const OpContext &ctx, std::vector<Value> &results);
/// kopt.concat.
Status evalConcat(const OpContext &ctx, std::vector<Value> &results);
/// kopt.slice.
Status evalSlice(const OpContext &ctx, std::vector<Value> &results);
/// kopt.gather.
Status evalGather(const OpContext &ctx, std::vector<Value> &results);

// Attention.cpp
/// kopt.rope.
Status evalRope(const OpContext &ctx, std::vector<Value> &results);
/// kopt.attention.
Status evalAttention(const OpContext &ctx, std::vector<Value> &results);
/// kopt.cache_update.
Status evalCacheUpdate(const OpContext &ctx, std::vector<Value> &results);
/// kopt.linear_attention.
Status evalLinearAttention(const OpContext &ctx, std::vector<Value> &results);

// Dequantize.cpp
/// kopt.dequantize.
Status evalDequantize(const OpContext &ctx, std::vector<Value> &results);
Status evalDensify(const OpContext &ctx, std::vector<Value> &results);
Status evalFakeQuant(const OpContext &ctx, std::vector<Value> &results);

// MoE.cpp
/// kopt.moe.
Status evalMoE(const OpContext &ctx, std::vector<Value> &results);

} // namespace kopt::rt::reference

#endif // KOPT_RUNTIME_SRC_REFERENCE_KERNELS_H
