//===- FuseAttention.cpp - Attention recognised from its unfused form -----===//
//
// softmax(Q K^T * c [+ M]) V over [B, H, S, D] tensors, written as
//   kopt.matmul %q, %k {transpose_b}  ->  kopt.mul by (or kopt.div by) a
//   scalar constant  ->  kopt.add of a constant mask (optional)  ->
//   kopt.softmax over the last axis  ->  kopt.matmul with %v
// becomes kopt.attention on the [B, S, H, D] transposes (its kernels never
// materialise the Sq x Skv scores) and a transpose of its result back. The
// mask must be a constant of shape [..., Sq, Skv] (leading dims 1) that is
// 0 where key j <= i + Skv - Sq and at most -1e30 (or -inf) elsewhere:
// causal; all zeros: none. Any other mask, a scale that is not a constant
// scalar, scores or probabilities read elsewhere, or shapes that do not
// agree are left alone (with a remark, when asked).
//
//===----------------------------------------------------------------------===//

#include "FusionRules.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/BuiltinAttributes.h"

using namespace mlir;

namespace kopt {
namespace {

/// The value of a splat scalar constant (any shape of one element, or a
/// splat), if `value` is one.
std::optional<double> scalarConstant(Value value) {
  auto constant = value.getDefiningOp<arith::ConstantOp>();
  if (!constant)
    return std::nullopt;
  auto dense = dyn_cast<DenseFPElementsAttr>(constant.getValue());
  if (!dense || !dense.isSplat())
    return std::nullopt;
  return dense.getSplatValue<APFloat>().convertToDouble();
}

/// Whether a constant mask [..., Sq, Skv] is causal (true), all zeros
/// (false), or neither (nullopt).
std::optional<bool> maskKind(Value mask, int64_t sq, int64_t skv) {
  auto constant = mask.getDefiningOp<arith::ConstantOp>();
  auto type = dyn_cast<RankedTensorType>(mask.getType());
  if (!constant || !type || !type.hasStaticShape() || type.getRank() < 2)
    return std::nullopt;
  ArrayRef<int64_t> shape = type.getShape();
  if (shape[shape.size() - 2] != sq || shape.back() != skv ||
      llvm::any_of(shape.drop_back(2), [](int64_t d) { return d != 1; }))
    return std::nullopt;
  auto dense = dyn_cast<DenseFPElementsAttr>(constant.getValue());
  if (!dense)
    return std::nullopt;
  bool causal = false;
  int64_t index = 0;
  for (APFloat v : dense.getValues<APFloat>()) {
    int64_t i = index / skv, j = index % skv;
    ++index;
    double x = v.convertToDouble();
    bool visible = j <= i + skv - sq;
    if (visible && x != 0.0)
      return std::nullopt;
    if (!visible) {
      if (!(x <= -1e30))
        return std::nullopt;
      causal = true;
    }
  }
  return causal;
}

struct Match {
  MatmulOp scores, output;
  SoftmaxOp softmax;
  double scale = 1.0;
  bool causal = false;
  SmallVector<Operation *> ops; // scores .. output, in order
};

/// The attention that `output` (a matmul) closes, or the reason there is
/// none (nullopt reason: not a softmax-times-matmul at all).
FailureOr<Match> matchAttention(MatmulOp output, std::string &reason) {
  Match m;
  m.output = output;
  m.softmax = output.getLhs().getDefiningOp<SoftmaxOp>();
  if (!m.softmax || output.getTransposeB())
    return failure();
  auto rank = cast<RankedTensorType>(m.softmax.getType()).getRank();
  if (m.softmax.getAxis() != -1 && m.softmax.getAxis() != rank - 1) {
    reason = "the softmax is not over the keys (last axis)";
    return failure();
  }
  if (!m.softmax.getResult().hasOneUse()) {
    reason = "the probabilities have another reader";
    return failure();
  }
  SmallVector<Operation *> chain{m.softmax};
  Value x = m.softmax.getInput();
  std::optional<Value> mask;
  if (auto add = x.getDefiningOp<AddOp>()) {
    mask = add.getRhs();
    x = add.getLhs();
    chain.push_back(add);
  }
  if (auto mul = x.getDefiningOp<MulOp>()) {
    std::optional<double> c = scalarConstant(mul.getRhs());
    Value scores = mul.getLhs();
    if (!c) {
      c = scalarConstant(mul.getLhs());
      scores = mul.getRhs();
    }
    if (!c) {
      reason = "the scores are scaled by a tensor, not a constant scalar";
      return failure();
    }
    m.scale = *c;
    x = scores;
    chain.push_back(mul);
  } else if (auto div = x.getDefiningOp<DivOp>()) {
    std::optional<double> c = scalarConstant(div.getRhs());
    if (!c || *c == 0.0) {
      reason = "the scores are divided by a tensor, not a constant scalar";
      return failure();
    }
    m.scale = 1.0 / *c;
    x = div.getLhs();
    chain.push_back(div);
  }
  m.scores = x.getDefiningOp<MatmulOp>();
  if (!m.scores || !m.scores.getTransposeB()) {
    reason = "the scores are not a matmul of the queries and the transposed "
             "keys";
    return failure();
  }
  chain.push_back(m.scores);
  for (Operation *op : ArrayRef(chain).drop_front())
    if (!op->getResult(0).hasOneUse()) {
      reason = "an intermediate of the scores has another reader";
      return failure();
    }
  auto q = cast<RankedTensorType>(m.scores.getLhs().getType());
  auto k = cast<RankedTensorType>(m.scores.getRhs().getType());
  auto v = cast<RankedTensorType>(output.getRhs().getType());
  auto o = cast<RankedTensorType>(output.getType());
  if (q.getRank() != 4 || k.getShape() != v.getShape() ||
      q.getElementType() != k.getElementType() ||
      q.getElementType() != v.getElementType() || o != q ||
      q.getShape().take_front(2) != k.getShape().take_front(2) ||
      q.getShape()[3] != k.getShape()[3] ||
      llvm::any_of(q.getShape().take_front(2), ShapedType::isDynamic)) {
    reason = "queries, keys and values are not [B, H, S, D] of one dtype and "
             "static B, H";
    return failure();
  }
  if (mask) {
    int64_t sq = q.getShape()[2], skv = k.getShape()[2];
    std::optional<bool> kind =
        ShapedType::isDynamic(sq) || ShapedType::isDynamic(skv)
            ? std::nullopt
            : maskKind(*mask, sq, skv);
    if (!kind) {
      reason = "the mask is not a constant causal (or all-zero) mask";
      return failure();
    }
    m.causal = *kind;
  }
  m.ops.assign(chain.rbegin(), chain.rend());
  m.ops.push_back(output);
  return m;
}

/// [B, H, S, D] <-> [B, S, H, D].
Value swapHeadsAndSequence(Value x, Location loc, RewriterBase &rewriter) {
  auto type = cast<RankedTensorType>(x.getType());
  SmallVector<int64_t> shape(type.getShape());
  std::swap(shape[1], shape[2]);
  return TransposeOp::create(rewriter, loc, type.clone(shape), x,
                             rewriter.getDenseI64ArrayAttr({0, 2, 1, 3}));
}

} // namespace

int fuseAttention(Block &body, RewriterBase &rewriter, bool remarks) {
  SmallVector<MatmulOp> outputs(body.getOps<MatmulOp>());
  int fused = 0;
  for (MatmulOp output : outputs) {
    std::string reason;
    FailureOr<Match> m = matchAttention(output, reason);
    if (failed(m)) {
      if (remarks && !reason.empty())
        output.emitRemark("not fused into kopt.attention: ") << reason;
      continue;
    }
    Location loc = output.getLoc();
    rewriter.setInsertionPoint(output);
    Value q = swapHeadsAndSequence(m->scores.getLhs(), loc, rewriter);
    Value k = swapHeadsAndSequence(m->scores.getRhs(), loc, rewriter);
    Value v = swapHeadsAndSequence(output.getRhs(), loc, rewriter);
    Value attention = AttentionOp::create(
        rewriter, loc, q.getType(), q, k, v, /*kv_len=*/Value(),
        rewriter.getBoolAttr(m->causal), rewriter.getI64IntegerAttr(0),
        rewriter.getF32FloatAttr(m->scale));
    rewriter.replaceOp(output, swapHeadsAndSequence(attention, loc, rewriter));
    for (Operation *op : llvm::reverse(ArrayRef(m->ops).drop_back()))
      rewriter.eraseOp(op);
    ++fused;
  }
  return fused;
}

} // namespace kopt
