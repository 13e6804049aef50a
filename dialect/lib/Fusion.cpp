//===- Fusion.cpp - What a kopt.fused group may hold ----------------------===//

#include "kopt/Dialect/Kopt/Fusion.h"
#include "kopt/Dialect/Kopt/KoptOps.h"

using namespace mlir;

namespace kopt {

Operation *firstNonLinearReader(Value value) {
  for (OpOperand &use : value.getUses())
    if (!isa<LinearOp>(use.getOwner()) || use.getOperandNumber() != 0)
      return use.getOwner();
  return nullptr;
}

bool isFusibleElementwise(Operation *op) {
  if (!isa<AddOp, SubOp, MulOp, DivOp, SiluOp, ReluOp, SigmoidOp, TanhOp,
           ExpOp, RsqrtOp, NegOp, GeluOp, ClampOp, CastOp>(op))
    return false;
  return llvm::all_of(op->getOperandTypes(), llvm::IsaPred<RankedTensorType>);
}

std::optional<EpilogueIndexing> epilogueIndexing(RankedTensorType operand,
                                                 RankedTensorType output) {
  ArrayRef<int64_t> in = operand.getShape(), out = output.getShape();
  if (in.size() > out.size() || out.empty())
    return std::nullopt;
  // Right-aligned, missing leading dims are 1.
  SmallVector<int64_t> padded(out.size() - in.size(), 1);
  padded.append(in.begin(), in.end());
  size_t last = out.size() - 1;
  auto ones = [&](size_t from, size_t to) {
    for (size_t d = from; d < to; ++d)
      if (padded[d] != 1)
        return false;
    return true;
  };
  auto same = [&](size_t from, size_t to) {
    for (size_t d = from; d < to; ++d)
      if (padded[d] != out[d])
        return false;
    return true;
  };
  if (ones(0, out.size()))
    return EpilogueIndexing::Scalar;
  if (ones(0, last) && padded[last] == out[last])
    return EpilogueIndexing::Feature;
  // Token-indexed and full operands must not grow the output; a dim of size
  // 1 in the output is the same either way.
  if (same(0, out.size()))
    return EpilogueIndexing::Full;
  if (same(0, last) && padded[last] == 1)
    return EpilogueIndexing::Token;
  return std::nullopt;
}

} // namespace kopt
