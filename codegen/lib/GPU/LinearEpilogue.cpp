//===- LinearEpilogue.cpp - Elementwise ops a linear applies before storing ===//

#include "LinearEpilogue.h"
#include "Families.h"

using namespace mlir;

namespace kopt::gpu {

FailureOr<LinearEpilogue> LinearEpilogue::build(LinearOp linear,
                                                ArrayRef<Operation *> chain,
                                                Value result,
                                                FunctionEmitter &e,
                                                Value start) {
  LinearEpilogue epilogue;
  epilogue.result_ = result;
  epilogue.linearResult_ = start ? start : linear.getResult();
  epilogue.chain_.assign(chain.begin(), chain.end());
  auto output = cast<RankedTensorType>(linear.getType());
  SmallVector<AffineExpr> outDims = e.dims(linear.getResult());
  Value value = epilogue.linearResult_;
  for (Operation *op : chain) {
    if (!isFusibleElementwise(op) ||
        !isa<FloatType>(getElementTypeOrSelf(op->getResult(0).getType())) ||
        llvm::count(op->getOperands(), value) != 1)
      return failure();
    for (Value operand : op->getOperands()) {
      if (operand == value)
        continue;
      auto type = cast<RankedTensorType>(operand.getType());
      std::optional<EpilogueIndexing> indexing =
          epilogueIndexing(type, output);
      if (!indexing)
        return failure();
      // The dims the indexing relies on must be the output's, symbolically.
      SmallVector<AffineExpr> dims = e.dims(operand);
      int64_t offset = output.getRank() - type.getRank();
      for (int64_t d = 0; d < type.getRank(); ++d)
        if (type.isDynamicDim(d) && !e.sameDim(dims[d], outDims[d + offset]))
          return failure();
      epilogue.operands_.push_back({operand, *indexing});
    }
    value = op->getResult(0);
  }
  return epilogue;
}

void LinearEpilogue::addArguments(Launch &l, FunctionEmitter &e) const {
  for (const Operand &operand : operands_)
    l.buffer(e.bufferOf(operand.value));
}

EpilogueText::EpilogueText(KernelText &k, const LinearEpilogue *epilogue,
                           std::string linearType)
    : k_(k), epilogue_(epilogue), linearType_(std::move(linearType)) {
  outType_ = epilogue ? elementTypeText(epilogue->result_) : linearType_;
}

std::string EpilogueText::finish(const std::string &v, const std::string &m,
                                 const std::string &n,
                                 const std::string &features) {
  if (!epilogue_)
    return k_.convert(v, "f32", linearType_);
  if (buffers_.empty())
    for (auto [i, operand] : llvm::enumerate(epilogue_->operands_))
      buffers_.push_back(k_.buffer("epi" + std::to_string(i),
                                   elementTypeText(operand.value)));
  IndexOps ix{k_};
  // As the unfused ops: each value rounded to its dtype, read back as f32.
  auto rounded = [&](const std::string &x, const std::string &type) {
    return k_.convert(k_.convert(x, "f32", type), type, "f32");
  };
  std::string value = rounded(v, linearType_);
  size_t next = 0;
  Value chained = epilogue_->linearResult_;
  for (Operation *op : epilogue_->chain_) {
    SmallVector<std::string> args;
    for (Value operand : op->getOperands()) {
      if (operand == chained) {
        args.push_back(value);
        continue;
      }
      const LinearEpilogue::Operand &extra = epilogue_->operands_[next];
      const std::string &buffer = buffers_[next++];
      std::string at;
      switch (extra.indexing) {
      case EpilogueIndexing::Full:
        at = ix.add(ix.mul(m, features), n);
        break;
      case EpilogueIndexing::Feature:
        at = n;
        break;
      case EpilogueIndexing::Token:
        at = m;
        break;
      case EpilogueIndexing::Scalar:
        at = k_.c(0);
        break;
      }
      std::string type = elementTypeText(extra.value);
      args.push_back(k_.convert(k_.def("memref.load " + buffer + "[" + at +
                                       "] : memref<?x" + type + ">"),
                                type, "f32"));
    }
    value = rounded(elementwiseScalar(k_, op, args, "f32"),
                    elementTypeText(op->getResult(0)));
    chained = op->getResult(0);
  }
  return k_.convert(value, "f32", outType_);
}

} // namespace kopt::gpu
