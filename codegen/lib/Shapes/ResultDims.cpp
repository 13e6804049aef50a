//===- ResultDims.cpp - Result dims of kopt ops from their operands -------===//
//
// The per-op rules. Static result dims are constants; dynamic ones come from
// the operand dims the op's semantics name (see spec/DIALECT.md). A dynamic
// dim never broadcasts: `?` against `N` means the `?` must be N at run time.
//
//===----------------------------------------------------------------------===//

#include "kopt/Codegen/ResultDims.h"
#include "kopt/Dialect/Kopt/KoptOps.h"
#include "kopt/Dialect/Kopt/ShapeUtils.h"

#include "mlir/IR/AffineExpr.h"
#include "mlir/IR/OpDefinition.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;

namespace kopt {
namespace {

template <typename Dim>
class Rules {
public:
  Rules(Operation *op, unsigned resultIndex, DimAlgebra<Dim> &algebra)
      : op(op), alg(algebra),
        result(cast<RankedTensorType>(op->getResult(resultIndex).getType())) {}

  /// `operand`'s dim `index`: a constant when static.
  Dim dim(Value operand, int64_t index) {
    int64_t size = cast<RankedTensorType>(operand.getType()).getDimSize(index);
    return isDynamicDim(size) ? alg.operandDim(operand, index)
                              : alg.constant(size);
  }
  int64_t rank(Value operand) {
    return cast<RankedTensorType>(operand.getType()).getRank();
  }
  /// Requires two operand dims to agree when either is dynamic.
  void equal(Value a, int64_t ai, Value b, int64_t bi) {
    auto at = cast<RankedTensorType>(a.getType());
    auto bt = cast<RankedTensorType>(b.getType());
    if (at.isDynamicDim(ai) || bt.isDynamicDim(bi))
      alg.requireEqual(dim(a, ai), dim(b, bi));
  }

  /// The result has the shape of `source` (all dims).
  LogicalResult sameAs(Value source, SmallVectorImpl<Dim> &dims) {
    for (int64_t i = 0; i < rank(source); ++i)
      dims.push_back(staticOr(i, [&] { return dim(source, i); }));
    return success();
  }

  /// NumPy broadcast of `lhs` and `rhs`, right-aligned.
  void broadcast(Value lhs, Value rhs, int64_t lhsRank, int64_t rhsRank,
                 int64_t outRank, int64_t outOffset, SmallVectorImpl<Dim> &dims) {
    auto lhsType = cast<RankedTensorType>(lhs.getType());
    auto rhsType = cast<RankedTensorType>(rhs.getType());
    for (int64_t i = 0; i < outRank; ++i) {
      int64_t li = i - (outRank - lhsRank), ri = i - (outRank - rhsRank);
      dims.push_back(staticOr(outOffset + i, [&] {
        bool lhsDynamic = li >= 0 && lhsType.isDynamicDim(li);
        bool rhsDynamic = ri >= 0 && rhsType.isDynamicDim(ri);
        if (lhsDynamic && rhsDynamic)
          alg.requireEqual(dim(lhs, li), dim(rhs, ri));
        return lhsDynamic ? dim(lhs, li) : dim(rhs, ri);
      }));
      // A dynamic dim against a static N > 1 must be N.
      if (li >= 0 && ri >= 0 && lhsType.isDynamicDim(li) !=
                                    rhsType.isDynamicDim(ri)) {
        int64_t other = lhsType.isDynamicDim(li) ? rhsType.getDimSize(ri)
                                                 : lhsType.getDimSize(li);
        if (other != 1)
          alg.requireEqual(dim(lhs, li), dim(rhs, ri));
      }
    }
  }

  /// Result dim `i`: its static size, or what `dynamic` computes.
  template <typename Fn>
  Dim staticOr(int64_t i, Fn dynamic) {
    return result.isDynamicDim(i) ? dynamic() : alg.constant(result.getDimSize(i));
  }

  Operation *op;
  DimAlgebra<Dim> &alg;
  RankedTensorType result;
};

template <typename Dim>
LogicalResult rulesFor(Operation *op, unsigned resultIndex,
                       DimAlgebra<Dim> &alg, SmallVectorImpl<Dim> &dims) {
  Rules<Dim> r(op, resultIndex, alg);
  auto normalized = [](int64_t axis, int64_t rank) {
    return *normalizeAxis(axis, rank);
  };
  return llvm::TypeSwitch<Operation *, LogicalResult>(op)
      .template Case<AddOp, SubOp, MulOp, DivOp>([&](auto bin) {
        Value lhs = bin.getLhs(), rhs = bin.getRhs();
        r.broadcast(lhs, rhs, r.rank(lhs), r.rank(rhs), r.result.getRank(), 0,
                    dims);
        return success();
      })
      .template Case<SiluOp, ReluOp, SigmoidOp, TanhOp, ExpOp, RsqrtOp, NegOp, GeluOp,
            ClampOp, CastOp, FakeQuantOp, SoftmaxOp, L2NormOp>(
          [&](Operation *unary) { return r.sameAs(unary->getOperand(0), dims); })
      .template Case<RMSNormOp, LayerNormOp>([&](Operation *norm) {
        Value input = norm->getOperand(0);
        for (Value param : norm->getOperands().drop_front())
          r.equal(input, r.rank(input) - 1, param, 0);
        return r.sameAs(input, dims);
      })
      .template Case<EmbeddingOp>([&](EmbeddingOp embedding) {
        Value ids = embedding.getIds();
        for (int64_t i = 0; i < r.rank(ids); ++i)
          dims.push_back(r.staticOr(i, [&] { return r.dim(ids, i); }));
        dims.push_back(alg.constant(r.result.getShape().back()));
        return success();
      })
      .template Case<LinearOp>([&](LinearOp linear) {
        Value input = linear.getInput();
        for (int64_t i = 0; i + 1 < r.rank(input); ++i)
          dims.push_back(r.staticOr(i, [&] { return r.dim(input, i); }));
        dims.push_back(alg.constant(r.result.getShape().back()));
        return success();
      })
      .template Case<MatmulOp>([&](MatmulOp matmul) {
        Value lhs = matmul.getLhs(), rhs = matmul.getRhs();
        int64_t lr = r.rank(lhs), rr = r.rank(rhs), out = r.result.getRank();
        bool tb = matmul.getTransposeB();
        r.equal(lhs, lr - 1, rhs, tb ? rr - 1 : rr - 2);
        r.broadcast(lhs, rhs, lr - 2, rr - 2, out - 2, 0, dims);
        dims.push_back(r.staticOr(out - 2, [&] { return r.dim(lhs, lr - 2); }));
        dims.push_back(r.staticOr(
            out - 1, [&] { return r.dim(rhs, tb ? rr - 2 : rr - 1); }));
        return success();
      })
      .template Case<ReduceMeanOp, ReduceSumOp, ReduceMaxOp>([&](auto reduce) {
        Value input = reduce.getInput();
        int64_t rank = r.rank(input);
        SmallVector<bool> reduced(rank, false);
        for (int64_t axis : reduce.getAxes())
          reduced[normalized(axis, rank)] = true;
        int64_t out = 0;
        for (int64_t i = 0; i < rank; ++i) {
          if (!reduced[i])
            dims.push_back(r.staticOr(out, [&] { return r.dim(input, i); }));
          else if (reduce.getKeepdim())
            dims.push_back(alg.constant(1));
          else
            continue;
          ++out;
        }
        return success();
      })
      .template Case<ArgmaxOp>([&](ArgmaxOp argmax) {
        Value input = argmax.getInput();
        int64_t rank = r.rank(input);
        int64_t axis = normalized(static_cast<int64_t>(argmax.getAxis()), rank);
        int64_t out = 0;
        for (int64_t i = 0; i < rank; ++i) {
          if (i == axis && !argmax.getKeepdim())
            continue;
          dims.push_back(i == axis ? alg.constant(1) : r.staticOr(out, [&] {
            return r.dim(input, i);
          }));
          ++out;
        }
        return success();
      })
      .template Case<TopKOp>([&](TopKOp topk) {
        Value input = topk.getInput();
        int64_t axis = normalized(static_cast<int64_t>(topk.getAxis()),
                                  r.rank(input));
        for (int64_t i = 0; i < r.rank(input); ++i)
          dims.push_back(i == axis ? alg.constant(static_cast<int64_t>(topk.getK()))
                                   : r.staticOr(i, [&] { return r.dim(input, i); }));
        return success();
      })
      .template Case<GatherOp>([&](GatherOp gather) {
        Value input = gather.getInput(), indices = gather.getIndices();
        int64_t axis = normalized(static_cast<int64_t>(gather.getAxis()),
                                  r.rank(input));
        for (int64_t i = 0; i < axis; ++i)
          r.equal(input, i, indices, i);
        for (int64_t i = 0; i < r.rank(input); ++i)
          dims.push_back(r.staticOr(i, [&] {
            return r.dim(i == axis ? indices : input, i);
          }));
        return success();
      })
      .template Case<ReshapeOp>([&](ReshapeOp reshape) {
        Value input = reshape.getInput();
        // The one dynamic dim is the element count over the static dims.
        Dim total = alg.constant(1);
        for (int64_t i = 0; i < r.rank(input); ++i)
          total = alg.mul(total, r.dim(input, i));
        int64_t known = 1;
        for (int64_t size : r.result.getShape())
          if (!isDynamicDim(size))
            known *= size;
        for (int64_t i = 0; i < r.result.getRank(); ++i)
          dims.push_back(r.staticOr(
              i, [&] { return alg.floorDiv(total, alg.constant(known)); }));
        return success();
      })
      .template Case<TransposeOp>([&](TransposeOp transpose) {
        for (auto [i, p] : llvm::enumerate(transpose.getPermutation()))
          dims.push_back(r.staticOr(
              i, [&] { return r.dim(transpose.getInput(), p); }));
        return success();
      })
      .template Case<ConcatOp>([&](ConcatOp concat) {
        ValueRange inputs = concat.getInputs();
        Value first = inputs.front();
        int64_t rank = r.rank(first);
        int64_t axis = normalized(static_cast<int64_t>(concat.getAxis()), rank);
        for (Value other : inputs.drop_front())
          for (int64_t i = 0; i < rank; ++i)
            if (i != axis)
              r.equal(first, i, other, i);
        for (int64_t i = 0; i < rank; ++i) {
          dims.push_back(r.staticOr(i, [&] {
            if (i != axis)
              return r.dim(first, i);
            Dim sum = alg.constant(0);
            for (Value input : inputs)
              sum = alg.add(sum, r.dim(input, i));
            return sum;
          }));
        }
        return success();
      })
      .template Case<SliceOp>([&](SliceOp slice) {
        int64_t axis = normalized(static_cast<int64_t>(slice.getAxis()),
                                  r.rank(slice.getInput()));
        for (int64_t i = 0; i < r.result.getRank(); ++i)
          dims.push_back(i == axis ? alg.constant(static_cast<int64_t>(slice.getSize()))
                                   : r.staticOr(i, [&] {
                                       return r.dim(slice.getInput(), i);
                                     }));
        return success();
      })
      .template Case<RopeOp>([&](RopeOp rope) {
        r.equal(rope.getInput(), 0, rope.getPositions(), 0);
        r.equal(rope.getInput(), 1, rope.getPositions(), 1);
        return r.sameAs(rope.getInput(), dims);
      })
      .template Case<AttentionOp>([&](AttentionOp attention) {
        Value q = attention.getQuery(), k = attention.getKey();
        r.equal(q, 0, k, 0);
        r.equal(q, 3, k, 3);
        if (Value kvLen = attention.getKvLen())
          r.equal(q, 0, kvLen, 0);
        return r.sameAs(q, dims);
      })
      .template Case<CacheUpdateOp>([&](CacheUpdateOp update) {
        Value cache = update.getCache(), next = update.getUpdate();
        for (int64_t i : {0, 2, 3})
          r.equal(cache, i, next, i);
        r.equal(cache, 0, update.getOffset(), 0);
        return r.sameAs(cache, dims);
      })
      .template Case<LinearAttentionOp>([&](LinearAttentionOp linear) {
        Value q = linear.getQuery();
        for (Value other : {linear.getKey(), linear.getValue()})
          for (int64_t i = 0; i < 4; ++i)
            r.equal(q, i, other, i);
        if (resultIndex == 0)
          return r.sameAs(q, dims);
        for (int64_t i : {0, 2, 3, 3})
          dims.push_back(r.staticOr(dims.size(), [&] { return r.dim(q, i); }));
        return success();
      })
      .template Case<MoEOp>([&](MoEOp moe) { return r.sameAs(moe.getInput(), dims); })
      .Default([](Operation *) { return failure(); });
}

} // namespace

template <typename Dim>
LogicalResult computeResultDims(Operation *op, unsigned resultIndex,
                                DimAlgebra<Dim> &algebra,
                                SmallVectorImpl<Dim> &dims) {
  dims.clear();
  return rulesFor(op, resultIndex, algebra, dims);
}

template LogicalResult computeResultDims<OpFoldResult>(
    Operation *, unsigned, DimAlgebra<OpFoldResult> &,
    SmallVectorImpl<OpFoldResult> &);
template LogicalResult computeResultDims<AffineExpr>(
    Operation *, unsigned, DimAlgebra<AffineExpr> &,
    SmallVectorImpl<AffineExpr> &);

} // namespace kopt
