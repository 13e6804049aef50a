//===- Reference.h - The reference evaluator of kopt graphs -----*- C++ -*-===//
//
// An independent, plainly written interpreter of a kopt model graph on the
// host: the numerical oracle every test compares against, and the engine of
// `kopt-run --device=reference`. Every op is computed in double with plain
// loops, then rounded to its result dtype, following the PyTorch expressions
// of the dialect spec. It never trusts the graph or the inputs: every failure
// is a Status naming the op and its location, never a crash.
//
// The graph is the JSON the compiler emits:
//
//   {"format": "kopt-graph", "version": 1, "functions": [{
//      "name": "forward",
//      "args": [{"value": 0, "dtype": "i32", "shape": [1, -1]}],
//      "results": [3],
//      "nodes": [{"op": "kopt.embedding", "operands": [2, 0],
//                 "results": [{"value": 3, "dtype": "f32", "shape": [1, -1,
//                 64]}], "attrs": {}, "loc": "model.mlir:5:10"}, ...]}]}
//
// where -1 is a dynamic dim. No LLVM/MLIR dependency.
//
//===----------------------------------------------------------------------===//

#ifndef KOPT_RUNTIME_REFERENCE_H
#define KOPT_RUNTIME_REFERENCE_H

#include "kopt/runtime/Npy.h"
#include "kopt/runtime/Safetensors.h"
#include "kopt/runtime/Status.h"

#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace kopt::rt::reference {

/// A value during evaluation: dtype, shape, and elements held as double in C
/// order. Elements are always exactly representable in `dtype` once an op has
/// produced them (i64 beyond 2^53 excepted: doubles cannot hold them).
struct Value {
  kopt_dtype_t dtype = KOPT_DTYPE_F32;
  std::vector<int64_t> shape;
  std::vector<double> data;

  /// The product of the dims (1 for a 0-d value).
  int64_t numElements() const;
};

/// Rounds `value` to the nearest element of `dtype` as a PyTorch cast does:
/// f32 by a C cast; f16 and bf16 through f32, then round to nearest even;
/// integers truncate toward zero and wrap modulo 2^bits (NaN, infinities and
/// values beyond +-2^63 give the type's minimum, as x86 does); i1 is
/// `value != 0` (so NaN is true); f8E4M3FN rounds to nearest even and
/// saturates. Unsupported dtypes (f8E5M2) return `value`.
double roundToDType(double value, kopt_dtype_t dtype);

/// Whether the reference evaluator handles `dtype`: f32, f16, bf16, f64, i1,
/// i8, ui8, i16, i32, i64 and f8E4M3FN (not f8E5M2).
bool isSupportedDType(kopt_dtype_t dtype);

/// Decodes a host tensor's little-endian bytes.
StatusOr<Value> toValue(const HostTensor &tensor);

/// Encodes `value` as a host tensor of its dtype (rounding each element).
StatusOr<HostTensor> toHostTensor(const Value &value);

/// Parses graph JSON text without exceptions; malformed text is an
/// invalidArgument error with the parser's position.
StatusOr<nlohmann::json> parseGraph(std::string_view text);

/// What an evaluation may substitute and observe (calibration reads every
/// linear's inputs and evaluates a model under changed weights).
struct EvaluationHooks {
  /// Tensors read in place of (or besides) the weight set's of that name
  /// (not owned; may be null).
  const std::map<std::string, HostTensor> *weightOverrides = nullptr;
  /// Called after each node with its JSON, its operands and its results.
  std::function<void(const nlohmann::json &node,
                     const std::vector<const Value *> &operands,
                     const std::vector<Value> &results)>
      afterNode;
};

/// Evaluates function `name` of `graph` on `inputs` (one per function
/// argument, in order), reading kopt.weight tensors from `weights` (may be
/// nullptr when the graph has no weights). Returns one Value per result.
StatusOr<std::vector<Value>>
evaluateValues(const nlohmann::json &graph, const std::string &name,
               const std::vector<Value> &inputs, const WeightSet *weights,
               const EvaluationHooks *hooks = nullptr);

/// As evaluateValues, on host tensors: one HostTensor per function argument
/// in, one per result out.
StatusOr<std::vector<HostTensor>>
evaluate(const nlohmann::json &graph, const std::string &name,
         const std::vector<HostTensor> &inputs, const WeightSet *weights);

} // namespace kopt::rt::reference

#endif // KOPT_RUNTIME_REFERENCE_H
