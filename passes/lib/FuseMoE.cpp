//===- FuseMoE.cpp - Mixture of experts recognised from its dense form ----===//
//
// The Mixtral block written with every expert computed densely and the
// chosen ones gathered:
//   %p = kopt.softmax (kopt.linear %x, %router)          [T, E]
//   %w, %i = kopt.topk %p {k}                             [T, k]
//   [%w = kopt.div %w, (kopt.reduce_sum %w {axes = [-1], keepdim})]
//   %y = kopt.matmul (kopt.mul (kopt.silu (kopt.matmul %x, %wg {transpose_b})),
//                              (kopt.matmul %x, %wu {transpose_b})),
//                    %wd {transpose_b}                    [E, T, Hd]
//   %s = kopt.gather (kopt.transpose %y {[1, 0, 2]}), %i {axis = 1}
//   %o = kopt.reduce_sum (kopt.mul %s, (kopt.reshape %w : [T, k, 1])) {axes = [1]}
// becomes kopt.moe %x, %router, %wg, %wu, %wd {top_k = k, normalize_topk},
// whose kernels run each token through its k experts only. %x is [T, Hd]
// (or its [1, T, Hd] reshape in the expert matmuls), the weights [E, Hd],
// [E, F, Hd], [E, F, Hd], [E, Hd, F]; the router may be a kopt.matmul
// {transpose_b} too, and products may be written either way round. A
// combine of this shape whose other parts differ is left alone (with a
// remark, when asked).
//
//===----------------------------------------------------------------------===//

#include "FusionRules.h"

#include "llvm/ADT/SetVector.h"

using namespace mlir;

namespace kopt {
namespace {

RankedTensorType typeOf(Value v) {
  return v ? dyn_cast<RankedTensorType>(v.getType()) : nullptr;
}

bool isAxis(int64_t axis, int64_t want, int64_t rank) {
  return axis == want || axis == want - rank;
}

/// The operand of a commutative product that `pred` accepts, and the other.
template <typename Pred>
std::optional<std::pair<Value, Value>> splitProduct(MulOp mul, Pred pred) {
  if (pred(mul.getLhs()))
    return std::make_pair(mul.getLhs(), mul.getRhs());
  if (pred(mul.getRhs()))
    return std::make_pair(mul.getRhs(), mul.getLhs());
  return std::nullopt;
}

struct Match {
  Value x, router, gate, up, down;
  int64_t topK = 0;
  bool normalize = false;
  llvm::SetVector<Operation *> ops; // everything the kopt.moe replaces
};

/// `v`, an expert matmul's lhs, as the [T, Hd] tokens: itself, or the
/// rank-2 source of its [1, T, Hd] reshape.
Value tokensOf(Value v) {
  RankedTensorType type = typeOf(v);
  if (type && type.getRank() == 2)
    return v;
  if (auto reshape = v.getDefiningOp<ReshapeOp>())
    if (type && type.getRank() == 3 && type.getDimSize(0) == 1 &&
        typeOf(reshape.getInput()) && typeOf(reshape.getInput()).getRank() == 2)
      return reshape.getInput();
  return {};
}

/// The MoE whose combine `sum` closes, or failure: with an empty reason
/// when `sum` is not a combine of gathered expert outputs at all.
FailureOr<Match> matchMoE(ReduceSumOp sum, std::string &reason) {
  Match m;
  auto product = sum.getInput().getDefiningOp<MulOp>();
  RankedTensorType productType = product ? typeOf(product.getResult()) : nullptr;
  if (!product || !productType || productType.getRank() != 3 ||
      sum.getKeepdim() || sum.getAxes().size() != 1 ||
      !isAxis(sum.getAxes()[0], 1, 3))
    return failure();
  auto parts = splitProduct(product, [](Value v) {
    return static_cast<bool>(v.getDefiningOp<GatherOp>());
  });
  if (!parts)
    return failure();
  auto gather = parts->first.getDefiningOp<GatherOp>();
  auto transpose = gather.getInput().getDefiningOp<TransposeOp>();
  MatmulOp down = transpose ? transpose.getInput().getDefiningOp<MatmulOp>()
                            : MatmulOp();
  if (!isAxis(gather.getAxis(), 1, 3) || !down ||
      transpose.getPermutation() != ArrayRef<int64_t>{1, 0, 2})
    return failure();
  // From here on the combine is MoE-shaped: say why it is not fused.
  m.ops.insert(sum);
  m.ops.insert(product);
  m.ops.insert(gather);
  m.ops.insert(transpose);
  m.ops.insert(down);

  // Routing: softmax(x @ router^T), top k, optionally renormalised.
  auto topk = gather.getIndices().getDefiningOp<TopKOp>();
  if (!topk || gather.getIndices() != topk.getIndices()) {
    reason = "the experts gathered are not the indices of a kopt.topk";
    return failure();
  }
  RankedTensorType routed = typeOf(topk.getInput());
  if (!routed || routed.getRank() != 2 || !isAxis(topk.getAxis(), 1, 2)) {
    reason = "the top-k is not over the experts of [T, E] router "
             "probabilities";
    return failure();
  }
  m.topK = topk.getK();
  m.ops.insert(topk);
  Value weights = parts->second;
  auto unsqueeze = weights.getDefiningOp<ReshapeOp>();
  Value perToken = unsqueeze ? unsqueeze.getInput() : Value();
  if (unsqueeze)
    m.ops.insert(unsqueeze);
  if (auto div = perToken ? perToken.getDefiningOp<DivOp>() : DivOp()) {
    auto total = div.getRhs().getDefiningOp<ReduceSumOp>();
    if (!total || div.getLhs() != topk.getValues() ||
        total.getInput() != topk.getValues() || !total.getKeepdim() ||
        total.getAxes().size() != 1 || !isAxis(total.getAxes()[0], 1, 2)) {
      reason = "the routing weights are divided by something other than "
               "their sum";
      return failure();
    }
    m.normalize = true;
    m.ops.insert(div);
    m.ops.insert(total);
    perToken = topk.getValues();
  }
  RankedTensorType weightsType = typeOf(weights);
  if (perToken != topk.getValues() || !weightsType ||
      weightsType.getRank() != 3 || weightsType.getDimSize(1) != m.topK ||
      weightsType.getDimSize(2) != 1) {
    reason = "the gathered outputs are not weighted by the top-k "
             "probabilities reshaped to [T, k, 1]";
    return failure();
  }
  auto softmax = topk.getInput().getDefiningOp<SoftmaxOp>();
  if (!softmax || !isAxis(softmax.getAxis(), 1, 2)) {
    reason = "the top-k does not read a softmax over the experts";
    return failure();
  }
  m.ops.insert(softmax);
  Value logits = softmax.getInput();
  if (auto linear = logits.getDefiningOp<LinearOp>()) {
    if (linear.getBias()) {
      reason = "the router has a bias";
      return failure();
    }
    m.x = linear.getInput();
    m.router = linear.getWeight();
    m.ops.insert(linear);
  } else if (auto matmul = logits.getDefiningOp<MatmulOp>();
             matmul && matmul.getTransposeB()) {
    m.x = matmul.getLhs();
    m.router = matmul.getRhs();
    m.ops.insert(matmul);
  } else {
    reason = "the router logits are not a kopt.linear (or transposed "
             "kopt.matmul) of the tokens";
    return failure();
  }

  // Experts: (silu(x Wg^T) * (x Wu^T)) Wd^T over all of them.
  auto hidden = down.getLhs().getDefiningOp<MulOp>();
  auto swiglu = hidden ? splitProduct(hidden,
                                      [](Value v) {
                                        return static_cast<bool>(
                                            v.getDefiningOp<SiluOp>());
                                      })
                       : std::nullopt;
  auto silu = swiglu ? swiglu->first.getDefiningOp<SiluOp>() : SiluOp();
  auto gate = silu ? silu.getInput().getDefiningOp<MatmulOp>() : MatmulOp();
  auto up = swiglu ? swiglu->second.getDefiningOp<MatmulOp>() : MatmulOp();
  if (!down.getTransposeB() || !gate || !up || !gate.getTransposeB() ||
      !up.getTransposeB() || gate.getLhs() != up.getLhs()) {
    reason = "the experts are not (silu(x Wg^T) * (x Wu^T)) Wd^T as "
             "transposed kopt.matmuls of the same tokens";
    return failure();
  }
  for (Operation *op : {hidden.getOperation(), silu.getOperation(),
                        gate.getOperation(), up.getOperation()})
    m.ops.insert(op);
  if (tokensOf(gate.getLhs()) != m.x) {
    reason = "the experts read other tokens than the router";
    return failure();
  }
  if (gate.getLhs() != m.x)
    m.ops.insert(gate.getLhs().getDefiningOp());
  m.gate = gate.getRhs();
  m.up = up.getRhs();
  m.down = down.getRhs();

  // Shapes: x [T, Hd], router [E, Hd], gate/up [E, F, Hd], down [E, Hd, F],
  // one element type, static E, F, Hd; the result is x's type.
  RankedTensorType x = typeOf(m.x), router = typeOf(m.router),
                   wg = typeOf(m.gate), wu = typeOf(m.up),
                   wd = typeOf(m.down);
  if (!x || !router || !wg || !wu || !wd || x.getRank() != 2 ||
      router.getRank() != 2 || wg.getRank() != 3 || wg != wu ||
      wd.getRank() != 3 || !router.hasStaticShape() ||
      !wg.hasStaticShape() || !wd.hasStaticShape()) {
    reason = "the tokens, router and expert weights are not [T, Hd], "
             "[E, Hd], [E, F, Hd] and [E, Hd, F] with static E, F, Hd";
    return failure();
  }
  int64_t e = router.getDimSize(0), hd = router.getDimSize(1),
          f = wg.getDimSize(1);
  Type element = x.getElementType();
  if (x.getDimSize(1) != hd || wg.getShape() != ArrayRef<int64_t>{e, f, hd} ||
      wd.getShape() != ArrayRef<int64_t>{e, hd, f} ||
      router.getElementType() != element || wg.getElementType() != element ||
      wd.getElementType() != element || typeOf(sum.getResult()) != x) {
    reason = "the tokens, router and expert weights are not [T, Hd], "
             "[E, Hd], [E, F, Hd] and [E, Hd, F] of one dtype";
    return failure();
  }

  // Nothing in between may be read outside the block being replaced.
  for (Operation *op : m.ops) {
    if (op == sum.getOperation())
      continue;
    for (Value result : op->getResults())
      for (Operation *user : result.getUsers())
        if (!m.ops.contains(user)) {
          reason = "an intermediate (" +
                   op->getName().getStringRef().str() +
                   ") has a reader outside the block";
          return failure();
        }
  }
  return m;
}

} // namespace

int fuseMoE(Block &body, RewriterBase &rewriter, bool remarks) {
  SmallVector<ReduceSumOp> sums(body.getOps<ReduceSumOp>());
  int fused = 0;
  for (ReduceSumOp sum : sums) {
    std::string reason;
    FailureOr<Match> m = matchMoE(sum, reason);
    if (failed(m)) {
      if (remarks && !reason.empty())
        sum.emitRemark("not fused into kopt.moe: ") << reason;
      continue;
    }
    rewriter.setInsertionPoint(sum);
    Value moe = MoEOp::create(rewriter, sum.getLoc(), sum.getType(), m->x,
                              m->router, m->gate, m->up, m->down,
                              rewriter.getI64IntegerAttr(m->topK),
                              rewriter.getBoolAttr(m->normalize));
    rewriter.replaceOp(sum, moe);
    SmallVector<Operation *> dead(m->ops.begin(), m->ops.end());
    dead.erase(llvm::find(dead, sum.getOperation()));
    llvm::sort(dead, [](Operation *a, Operation *b) {
      return b->isBeforeInBlock(a);
    });
    for (Operation *op : dead)
      rewriter.eraseOp(op);
    ++fused;
  }
  return fused;
}

} // namespace kopt
