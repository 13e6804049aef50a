//===- KoptShapeInference.cpp - Result types of kopt ops ------------------===//
//
// `inferReturnTypes` for every kopt op whose result follows from its operands
// and attributes. Inference is also how those ops verify dimension agreement
// (InferTypeOpInterface re-runs it on every verification), so each rule here
// reports a precise error when called with a location.
//
//===----------------------------------------------------------------------===//

#include "kopt/Dialect/Kopt/KoptOps.h"
#include "kopt/Dialect/Kopt/ShapeUtils.h"

#include "mlir/IR/Diagnostics.h"

#include <cmath>

using namespace mlir;

namespace kopt {
namespace {

/// Emits "'<op name>' op <message>" at the location, if there is one.
template <typename OpTy> struct InferError {
  std::optional<Location> loc;
  template <typename... Args> LogicalResult operator()(Args &&...args) const {
    return emitOptionalError(loc, "'", OpTy::getOperationName(), "' op ",
                             std::forward<Args>(args)...);
  }
};

RankedTensorType tensorType(Value value) {
  return value ? dyn_cast<RankedTensorType>(value.getType()) : nullptr;
}

RankedTensorType makeTensor(ArrayRef<int64_t> shape, Type element) {
  return RankedTensorType::get(shape, element);
}

/// Unpacks the ranked tensor types of `values`; false if any is not one
/// (inference called from a builder with bad operands).
template <typename... Values> bool allRanked(Values... values) {
  return (... && static_cast<bool>(tensorType(values)));
}

/// Shared checks of reductions over one axis (softmax, l2norm, argmax, topk):
/// returns the normalised axis.
template <typename OpTy>
FailureOr<int64_t> checkAxis(InferError<OpTy> error, RankedTensorType input,
                             int64_t axis) {
  std::optional<int64_t> normalized = normalizeAxis(axis, input.getRank());
  if (!normalized) {
    (void)error("axis ", axis, " is out of range for rank ", input.getRank());
    return failure();
  }
  return *normalized;
}

template <typename OpTy>
LogicalResult checkEpsilon(InferError<OpTy> error, double epsilon) {
  if (!(epsilon >= 0.0) || !std::isfinite(epsilon))
    return error("epsilon must be finite and >= 0, got ", epsilon);
  return success();
}

/// Binary elementwise ops: NumPy broadcast of the operand shapes.
template <typename OpTy>
LogicalResult inferBroadcast(std::optional<Location> loc,
                             typename OpTy::Adaptor adaptor,
                             SmallVectorImpl<Type> &types) {
  auto lhs = tensorType(adaptor.getLhs()), rhs = tensorType(adaptor.getRhs());
  if (!lhs || !rhs)
    return failure();
  auto shape = broadcastShapes(lhs.getShape(), rhs.getShape());
  if (!shape)
    return InferError<OpTy>{loc}("operands are not broadcastable: ", lhs,
                                 " and ", rhs);
  types.push_back(makeTensor(*shape, lhs.getElementType()));
  return success();
}

/// Reductions over a list of axes.
template <typename OpTy>
LogicalResult inferReduce(std::optional<Location> loc,
                          typename OpTy::Adaptor adaptor,
                          SmallVectorImpl<Type> &types) {
  InferError<OpTy> error{loc};
  auto input = tensorType(adaptor.getInput());
  if (!input)
    return failure();
  if (adaptor.getAxes().empty())
    return error("axes must not be empty");
  SmallVector<bool> reduced(input.getRank(), false);
  for (int64_t axis : adaptor.getAxes()) {
    FailureOr<int64_t> normalized = checkAxis(error, input, axis);
    if (failed(normalized))
      return failure();
    if (reduced[*normalized])
      return error("axis ", axis, " appears more than once in axes");
    reduced[*normalized] = true;
  }
  SmallVector<int64_t> shape;
  for (auto [dim, isReduced] : llvm::zip(input.getShape(), reduced)) {
    if (!isReduced)
      shape.push_back(dim);
    else if (adaptor.getKeepdim())
      shape.push_back(1);
  }
  types.push_back(makeTensor(shape, input.getElementType()));
  return success();
}

} // namespace

//===----------------------------------------------------------------------===//
// Lookup and linear algebra
//===----------------------------------------------------------------------===//

LogicalResult EmbeddingOp::inferReturnTypes(MLIRContext *,
                                            std::optional<Location> loc,
                                            Adaptor adaptor,
                                            SmallVectorImpl<Type> &types) {
  InferError<EmbeddingOp> error{loc};
  if (!allRanked(adaptor.getTable(), adaptor.getIds()))
    return failure();
  auto table = tensorType(adaptor.getTable()),
       ids = tensorType(adaptor.getIds());
  if (table.getRank() != 2)
    return error("table must have rank 2 ([V, D]), got rank ", table.getRank());
  SmallVector<int64_t> shape(ids.getShape());
  shape.push_back(table.getDimSize(1));
  types.push_back(makeTensor(shape, table.getElementType()));
  return success();
}

LogicalResult LinearOp::inferReturnTypes(MLIRContext *,
                                         std::optional<Location> loc,
                                         Adaptor adaptor,
                                         SmallVectorImpl<Type> &types) {
  InferError<LinearOp> error{loc};
  auto input = tensorType(adaptor.getInput());
  if (!input || !adaptor.getWeight())
    return failure();
  Type weightType = adaptor.getWeight().getType();
  std::optional<ArrayRef<int64_t>> weightShape = getWeightShape(weightType);
  if (!weightShape)
    return failure();
  if (input.getRank() < 1)
    return error("input must have rank >= 1 ([..., K])");
  if (weightShape->size() != 2)
    return error("weight must have shape [N, K], got rank ",
                 weightShape->size());
  int64_t n = (*weightShape)[0], k = (*weightShape)[1];
  int64_t inputK = input.getShape().back();
  if (!dimsAgree(inputK, k))
    return error("input K (", formatDim(inputK), ") does not match weight K (",
                 formatDim(k), ")");
  Type element = input.getElementType();
  if (!isa<QuantizedType>(weightType) &&
      getWeightElementType(weightType) != element)
    return error("weight element type ", getWeightElementType(weightType),
                 " does not match input element type ", element);
  if (auto bias = tensorType(adaptor.getBias())) {
    if (bias.getRank() != 1 || !dimsAgree(bias.getDimSize(0), n))
      return error("bias must have shape [N] = [", formatDim(n), "], got ",
                   bias);
    if (bias.getElementType() != element)
      return error("bias element type ", bias.getElementType(),
                   " does not match input element type ", element);
  }
  SmallVector<int64_t> shape(input.getShape().drop_back());
  shape.push_back(n);
  types.push_back(makeTensor(shape, element));
  return success();
}

LogicalResult MatmulOp::inferReturnTypes(MLIRContext *,
                                         std::optional<Location> loc,
                                         Adaptor adaptor,
                                         SmallVectorImpl<Type> &types) {
  InferError<MatmulOp> error{loc};
  auto lhs = tensorType(adaptor.getLhs()), rhs = tensorType(adaptor.getRhs());
  if (!lhs || !rhs)
    return failure();
  if (lhs.getRank() < 2 || rhs.getRank() < 2)
    return error("operands must have rank >= 2, got ", lhs.getRank(), " and ",
                 rhs.getRank());
  bool transposeB = adaptor.getTransposeB();
  int64_t m = lhs.getDimSize(lhs.getRank() - 2);
  int64_t k = lhs.getShape().back();
  int64_t rhsK = rhs.getDimSize(rhs.getRank() - (transposeB ? 1 : 2));
  int64_t n = rhs.getDimSize(rhs.getRank() - (transposeB ? 2 : 1));
  if (!dimsAgree(k, rhsK))
    return error("contraction dims disagree: lhs K = ", formatDim(k),
                 ", rhs K = ", formatDim(rhsK));
  auto batch =
      broadcastShapes(lhs.getShape().drop_back(2), rhs.getShape().drop_back(2));
  if (!batch)
    return error("batch dims are not broadcastable: ", lhs, " and ", rhs);
  batch->append({m, n});
  types.push_back(makeTensor(*batch, lhs.getElementType()));
  return success();
}

//===----------------------------------------------------------------------===//
// Elementwise
//===----------------------------------------------------------------------===//

#define KOPT_BROADCAST_INFERENCE(OP)                                           \
  LogicalResult OP::inferReturnTypes(                                          \
      MLIRContext *, std::optional<Location> loc, Adaptor adaptor,             \
      SmallVectorImpl<Type> &types) {                                          \
    return inferBroadcast<OP>(loc, adaptor, types);                            \
  }
KOPT_BROADCAST_INFERENCE(AddOp)
KOPT_BROADCAST_INFERENCE(SubOp)
KOPT_BROADCAST_INFERENCE(MulOp)
KOPT_BROADCAST_INFERENCE(DivOp)
#undef KOPT_BROADCAST_INFERENCE

//===----------------------------------------------------------------------===//
// Normalisation and reductions
//===----------------------------------------------------------------------===//

/// `[..., D]` input with `[D]` parameters (rmsnorm, layernorm).
template <typename OpTy>
static LogicalResult inferNorm(std::optional<Location> loc, Value inputValue,
                               ArrayRef<Value> params, double epsilon,
                               SmallVectorImpl<Type> &types) {
  InferError<OpTy> error{loc};
  auto input = tensorType(inputValue);
  if (!input || !llvm::all_of(params, [](Value v) { return tensorType(v); }))
    return failure();
  if (input.getRank() < 1)
    return error("input must have rank >= 1 ([..., D])");
  int64_t d = input.getShape().back();
  for (Value param : params) {
    auto type = tensorType(param);
    if (type.getRank() != 1 || !dimsAgree(type.getDimSize(0), d))
      return error("parameters must have shape [D] = [", formatDim(d),
                   "], got ", type);
  }
  if (failed(checkEpsilon(error, epsilon)))
    return failure();
  types.push_back(input);
  return success();
}

LogicalResult RMSNormOp::inferReturnTypes(MLIRContext *,
                                          std::optional<Location> loc,
                                          Adaptor adaptor,
                                          SmallVectorImpl<Type> &types) {
  return inferNorm<RMSNormOp>(loc, adaptor.getInput(), {adaptor.getWeight()},
                              adaptor.getEpsilon(), types);
}

LogicalResult LayerNormOp::inferReturnTypes(MLIRContext *,
                                            std::optional<Location> loc,
                                            Adaptor adaptor,
                                            SmallVectorImpl<Type> &types) {
  return inferNorm<LayerNormOp>(loc, adaptor.getInput(),
                                {adaptor.getWeight(), adaptor.getBias()},
                                adaptor.getEpsilon(), types);
}

LogicalResult L2NormOp::inferReturnTypes(MLIRContext *,
                                         std::optional<Location> loc,
                                         Adaptor adaptor,
                                         SmallVectorImpl<Type> &types) {
  InferError<L2NormOp> error{loc};
  auto input = tensorType(adaptor.getInput());
  if (!input)
    return failure();
  if (failed(
          checkAxis(error, input, static_cast<int64_t>(adaptor.getAxis()))) ||
      failed(checkEpsilon(error, adaptor.getEpsilon())))
    return failure();
  types.push_back(input);
  return success();
}

LogicalResult SoftmaxOp::inferReturnTypes(MLIRContext *,
                                          std::optional<Location> loc,
                                          Adaptor adaptor,
                                          SmallVectorImpl<Type> &types) {
  auto input = tensorType(adaptor.getInput());
  if (!input || failed(checkAxis(InferError<SoftmaxOp>{loc}, input,
                                 static_cast<int64_t>(adaptor.getAxis()))))
    return failure();
  types.push_back(input);
  return success();
}

#define KOPT_REDUCE_INFERENCE(OP)                                              \
  LogicalResult OP::inferReturnTypes(                                          \
      MLIRContext *, std::optional<Location> loc, Adaptor adaptor,             \
      SmallVectorImpl<Type> &types) {                                          \
    return inferReduce<OP>(loc, adaptor, types);                               \
  }
KOPT_REDUCE_INFERENCE(ReduceMeanOp)
KOPT_REDUCE_INFERENCE(ReduceSumOp)
KOPT_REDUCE_INFERENCE(ReduceMaxOp)
#undef KOPT_REDUCE_INFERENCE

LogicalResult ArgmaxOp::inferReturnTypes(MLIRContext *context,
                                         std::optional<Location> loc,
                                         Adaptor adaptor,
                                         SmallVectorImpl<Type> &types) {
  auto input = tensorType(adaptor.getInput());
  if (!input)
    return failure();
  FailureOr<int64_t> axis = checkAxis(InferError<ArgmaxOp>{loc}, input,
                                      static_cast<int64_t>(adaptor.getAxis()));
  if (failed(axis))
    return failure();
  SmallVector<int64_t> shape(input.getShape());
  if (adaptor.getKeepdim())
    shape[*axis] = 1;
  else
    shape.erase(shape.begin() + *axis);
  types.push_back(makeTensor(shape, IntegerType::get(context, 32)));
  return success();
}

LogicalResult TopKOp::inferReturnTypes(MLIRContext *context,
                                       std::optional<Location> loc,
                                       Adaptor adaptor,
                                       SmallVectorImpl<Type> &types) {
  InferError<TopKOp> error{loc};
  auto input = tensorType(adaptor.getInput());
  if (!input)
    return failure();
  FailureOr<int64_t> axis =
      checkAxis(error, input, static_cast<int64_t>(adaptor.getAxis()));
  if (failed(axis))
    return failure();
  auto k = static_cast<int64_t>(adaptor.getK());
  int64_t size = input.getDimSize(*axis);
  if (k < 1 || (!isDynamicDim(size) && k > size))
    return error("k must be in [1, ", formatDim(size), "], got ", k);
  SmallVector<int64_t> shape(input.getShape());
  shape[*axis] = k;
  types.push_back(makeTensor(shape, input.getElementType()));
  types.push_back(makeTensor(shape, IntegerType::get(context, 32)));
  return success();
}

LogicalResult GatherOp::inferReturnTypes(MLIRContext *,
                                         std::optional<Location> loc,
                                         Adaptor adaptor,
                                         SmallVectorImpl<Type> &types) {
  InferError<GatherOp> error{loc};
  auto input = tensorType(adaptor.getInput());
  auto indices = tensorType(adaptor.getIndices());
  if (!input || !indices)
    return failure();
  FailureOr<int64_t> axis =
      checkAxis(error, input, static_cast<int64_t>(adaptor.getAxis()));
  if (failed(axis))
    return failure();
  if (indices.getRank() <= *axis || indices.getRank() > input.getRank())
    return error("indices must have rank in [", *axis + 1, ", ",
                 input.getRank(), "], got ", indices.getRank());
  for (int64_t i = 0; i < indices.getRank(); ++i) {
    int64_t dim = indices.getDimSize(i), inputDim = input.getDimSize(i);
    if (i < *axis && !dimsAgree(dim, inputDim))
      return error("indices dim ", i, " (", formatDim(dim),
                   ") must match the input's (", formatDim(inputDim), ")");
    if (i > *axis && dim != 1 && !dimsAgree(dim, inputDim))
      return error("indices dim ", i, " (", formatDim(dim),
                   ") must match the input's (", formatDim(inputDim),
                   ") or be 1");
  }
  SmallVector<int64_t> shape(input.getShape());
  shape[*axis] = indices.getDimSize(*axis);
  types.push_back(makeTensor(shape, input.getElementType()));
  return success();
}

//===----------------------------------------------------------------------===//
// Shape manipulation
//===----------------------------------------------------------------------===//

LogicalResult TransposeOp::inferReturnTypes(MLIRContext *,
                                            std::optional<Location> loc,
                                            Adaptor adaptor,
                                            SmallVectorImpl<Type> &types) {
  auto input = tensorType(adaptor.getInput());
  if (!input)
    return failure();
  ArrayRef<int64_t> perm = adaptor.getPermutation();
  if (static_cast<int64_t>(perm.size()) != input.getRank() ||
      !isPermutation(perm))
    return InferError<TransposeOp>{loc}(
        "permutation must be a permutation of [0, ", input.getRank(),
        "), got [", llvm::make_range(perm.begin(), perm.end()), "]");
  SmallVector<int64_t> shape;
  for (int64_t p : perm)
    shape.push_back(input.getDimSize(p));
  types.push_back(makeTensor(shape, input.getElementType()));
  return success();
}

LogicalResult ConcatOp::inferReturnTypes(MLIRContext *,
                                         std::optional<Location> loc,
                                         Adaptor adaptor,
                                         SmallVectorImpl<Type> &types) {
  InferError<ConcatOp> error{loc};
  ValueRange inputs = adaptor.getInputs();
  if (inputs.empty())
    return error("needs at least one input");
  auto first = tensorType(inputs.front());
  if (!first)
    return failure();
  FailureOr<int64_t> axis =
      checkAxis(error, first, static_cast<int64_t>(adaptor.getAxis()));
  if (failed(axis))
    return failure();
  SmallVector<int64_t> shape(first.getShape());
  for (Value value : inputs.drop_front()) {
    auto type = tensorType(value);
    if (!type)
      return failure();
    if (type.getRank() != first.getRank())
      return error("inputs must have equal rank, got ", first, " and ", type);
    for (int64_t i = 0; i < type.getRank(); ++i) {
      int64_t dim = type.getDimSize(i);
      if (i == *axis) {
        shape[i] = isDynamicDim(shape[i]) || isDynamicDim(dim) ? kDynamicDim
                                                               : shape[i] + dim;
      } else if (!dimsAgree(shape[i], dim)) {
        return error("inputs must agree in dim ", i, " (not the axis), got ",
                     first, " and ", type);
      } else if (isDynamicDim(shape[i])) {
        shape[i] = dim;
      }
    }
  }
  types.push_back(makeTensor(shape, first.getElementType()));
  return success();
}

LogicalResult SliceOp::inferReturnTypes(MLIRContext *,
                                        std::optional<Location> loc,
                                        Adaptor adaptor,
                                        SmallVectorImpl<Type> &types) {
  InferError<SliceOp> error{loc};
  auto input = tensorType(adaptor.getInput());
  if (!input)
    return failure();
  FailureOr<int64_t> axis =
      checkAxis(error, input, static_cast<int64_t>(adaptor.getAxis()));
  if (failed(axis))
    return failure();
  auto start = static_cast<int64_t>(adaptor.getStart());
  auto size = static_cast<int64_t>(adaptor.getSize());
  if (start < 0)
    return error("start must be >= 0, got ", start);
  if (size < 1)
    return error("size must be >= 1, got ", size);
  int64_t dim = input.getDimSize(*axis);
  if (!isDynamicDim(dim) && start + size > dim)
    return error("slice [", start, ", ", start + size,
                 ") is out of bounds for dim of size ", dim);
  SmallVector<int64_t> shape(input.getShape());
  shape[*axis] = size;
  types.push_back(makeTensor(shape, input.getElementType()));
  return success();
}

//===----------------------------------------------------------------------===//
// Attention
//===----------------------------------------------------------------------===//

LogicalResult RopeOp::inferReturnTypes(MLIRContext *,
                                       std::optional<Location> loc,
                                       Adaptor adaptor,
                                       SmallVectorImpl<Type> &types) {
  InferError<RopeOp> error{loc};
  auto input = tensorType(adaptor.getInput());
  auto positions = tensorType(adaptor.getPositions());
  if (!input || !positions)
    return failure();
  if (input.getRank() != 4)
    return error("input must have rank 4 ([B, S, H, D]), got rank ",
                 input.getRank());
  if (positions.getRank() != 2 ||
      !dimsAgree(positions.getDimSize(0), input.getDimSize(0)) ||
      !dimsAgree(positions.getDimSize(1), input.getDimSize(1)))
    return error("positions must have shape [B, S] matching the input, got ",
                 positions);
  int64_t d = input.getDimSize(3);
  int64_t rotary = adaptor.getRotaryDim()
                       ? static_cast<int64_t>(*adaptor.getRotaryDim())
                       : d;
  if (!isDynamicDim(rotary) &&
      (rotary < 2 || rotary % 2 != 0 || (!isDynamicDim(d) && rotary > d)))
    return error("rotary_dim must be even and in [2, D = ", formatDim(d),
                 "], got ", rotary);
  double theta = adaptor.getTheta();
  if (!(theta > 0.0) || !std::isfinite(theta))
    return error("theta must be finite and > 0, got ", theta);
  types.push_back(input);
  return success();
}

LogicalResult AttentionOp::inferReturnTypes(MLIRContext *,
                                            std::optional<Location> loc,
                                            Adaptor adaptor,
                                            SmallVectorImpl<Type> &types) {
  InferError<AttentionOp> error{loc};
  auto q = tensorType(adaptor.getQuery()), k = tensorType(adaptor.getKey());
  if (!q || !k)
    return failure();
  if (q.getRank() != 4 || k.getRank() != 4)
    return error("query, key and value must have rank 4 ([B, S, H, D])");
  if (q.getElementType() != k.getElementType())
    return error("query and key/value element types differ: ",
                 q.getElementType(), " vs ", k.getElementType());
  if (!dimsAgree(q.getDimSize(0), k.getDimSize(0)))
    return error("batch sizes differ: query ", formatDim(q.getDimSize(0)),
                 ", key ", formatDim(k.getDimSize(0)));
  if (!dimsAgree(q.getDimSize(3), k.getDimSize(3)))
    return error("head dims differ: query ", formatDim(q.getDimSize(3)),
                 ", key ", formatDim(k.getDimSize(3)));
  int64_t hq = q.getDimSize(2), hkv = k.getDimSize(2);
  if (!isDynamicDim(hq) && !isDynamicDim(hkv) && (hkv == 0 || hq % hkv != 0))
    return error("query heads (", hq, ") must be a multiple of kv heads (", hkv,
                 ")");
  if (auto kvLen = tensorType(adaptor.getKvLen())) {
    if (kvLen.getRank() != 1 ||
        !dimsAgree(kvLen.getDimSize(0), q.getDimSize(0)))
      return error("kv_len must have shape [B], got ", kvLen);
  }
  if (auto window = static_cast<int64_t>(adaptor.getWindow()); window < 0)
    return error("window must be >= 0 (0 = no window), got ", window);
  if (std::optional<double> scale = adaptor.getScale();
      scale && (!(*scale > 0.0) || !std::isfinite(*scale)))
    return error("scale must be finite and > 0, got ", *scale);
  types.push_back(q);
  return success();
}

LogicalResult CacheUpdateOp::inferReturnTypes(MLIRContext *,
                                              std::optional<Location> loc,
                                              Adaptor adaptor,
                                              SmallVectorImpl<Type> &types) {
  InferError<CacheUpdateOp> error{loc};
  auto cache = tensorType(adaptor.getCache());
  auto update = tensorType(adaptor.getUpdate());
  auto offset = tensorType(adaptor.getOffset());
  if (!cache || !update || !offset)
    return failure();
  if (cache.getRank() != 4 || update.getRank() != 4)
    return error("cache and update must have rank 4 ([B, S, H, D])");
  if (cache.getElementType() != update.getElementType())
    return error("cache and update element types differ");
  for (int64_t i : {0, 2, 3})
    if (!dimsAgree(cache.getDimSize(i), update.getDimSize(i)))
      return error("update ", update, " must match cache ", cache,
                   " in B, H and D");
  int64_t smax = cache.getDimSize(1), s = update.getDimSize(1);
  if (!isDynamicDim(smax) && !isDynamicDim(s) && s > smax)
    return error("update length ", s, " exceeds cache length ", smax);
  if (offset.getRank() != 1 ||
      !dimsAgree(offset.getDimSize(0), cache.getDimSize(0)))
    return error("offset must have shape [B], got ", offset);
  types.push_back(cache);
  return success();
}

//===----------------------------------------------------------------------===//
// MoEOp
//===----------------------------------------------------------------------===//

LogicalResult MoEOp::inferReturnTypes(MLIRContext *,
                                      std::optional<Location> loc,
                                      Adaptor adaptor,
                                      SmallVectorImpl<Type> &types) {
  InferError<MoEOp> error{loc};
  auto input = tensorType(adaptor.getInput());
  auto router = tensorType(adaptor.getRouter());
  if (!input || !router || !adaptor.getWGate() || !adaptor.getWUp() ||
      !adaptor.getWDown())
    return failure();
  if (input.getRank() != 2)
    return error("input must have rank 2 ([T, Hd]), got rank ",
                 input.getRank());
  int64_t hidden = input.getDimSize(1);
  if (router.getRank() != 2 || !dimsAgree(router.getDimSize(1), hidden))
    return error("router must have shape [E, Hd = ", formatDim(hidden),
                 "], got ", router);
  if (router.getElementType() != input.getElementType())
    return error("router element type must match the input's");
  int64_t experts = router.getDimSize(0);
  auto gate = getWeightShape(adaptor.getWGate().getType());
  auto up = getWeightShape(adaptor.getWUp().getType());
  auto down = getWeightShape(adaptor.getWDown().getType());
  if (!gate || !up || !down)
    return failure();
  if (gate->size() != 3 || !dimsAgree((*gate)[0], experts) ||
      !dimsAgree((*gate)[2], hidden))
    return error("w_gate must have shape [E = ", formatDim(experts),
                 ", F, Hd = ", formatDim(hidden), "]");
  int64_t ffn = (*gate)[1];
  if (up->size() != 3 || !dimsAgree((*up)[0], experts) ||
      !dimsAgree((*up)[1], ffn) || !dimsAgree((*up)[2], hidden))
    return error("w_up must have the shape of w_gate [", formatDim(experts),
                 ", ", formatDim(ffn), ", ", formatDim(hidden), "]");
  if (down->size() != 3 || !dimsAgree((*down)[0], experts) ||
      !dimsAgree((*down)[1], hidden) || !dimsAgree((*down)[2], ffn))
    return error("w_down must have shape [E = ", formatDim(experts),
                 ", Hd = ", formatDim(hidden), ", F = ", formatDim(ffn), "]");
  for (Value weight :
       {adaptor.getWGate(), adaptor.getWUp(), adaptor.getWDown()})
    if (!isa<QuantizedType>(weight.getType()) &&
        getWeightElementType(weight.getType()) != input.getElementType())
      return error("expert weight element types must match the input's");
  auto topK = static_cast<int64_t>(adaptor.getTopK());
  if (topK < 1 || (!isDynamicDim(experts) && topK > experts))
    return error("top_k must be in [1, E = ", formatDim(experts), "], got ",
                 topK);
  types.push_back(input);
  return success();
}

} // namespace kopt
