//===- FuseLinearEpilogue.cpp - Elementwise chains into their linear -------===//
//
// kopt.linear -> op -> op ... where each link is an elementwise op reading
// the previous value once and every other operand is indexed by the
// output's (token, feature) (Fusion.h: the output's shape, a feature
// vector such as a bias, a per-token value, a scalar): the GEMM applies the
// chain to each output element before its one store, so the output, and
// every intermediate of the chain, never goes to memory.
//
//===----------------------------------------------------------------------===//

#include "FusionRules.h"
#include "kopt/Dialect/Kopt/Fusion.h"

#include "llvm/ADT/StringExtras.h"

using namespace mlir;

namespace kopt {
namespace {

/// Why `user`, reading `value` (the linear's output so far), cannot extend
/// the epilogue, or "" when it can.
std::string declineReason(Operation *user, Value value,
                          RankedTensorType output) {
  auto result = cast<RankedTensorType>(user->getResult(0).getType());
  if (result.getShape() != output.getShape())
    return "it broadcasts the output to another shape";
  if (!isa<FloatType>(result.getElementType()))
    return "its result is not a float tensor";
  for (Value operand : user->getOperands()) {
    if (operand == value)
      continue;
    auto type = cast<RankedTensorType>(operand.getType());
    if (!epilogueIndexing(type, output))
      return "its operand of shape " +
             llvm::join(llvm::map_range(type.getShape(),
                                        [](int64_t d) {
                                          return d < 0 ? std::string("?")
                                                       : std::to_string(d);
                                        }),
                        "x") +
             " is not indexed by the output's token and feature";
  }
  if (llvm::count(user->getOperands(), value) > 1)
    return "it reads the output twice";
  return "";
}

} // namespace

int fuseLinearEpilogues(Block &body, RewriterBase &rewriter, bool remarks) {
  SmallVector<LinearOp> linears(body.getOps<LinearOp>());
  int groups = 0;
  for (LinearOp linear : linears) {
    auto output = cast<RankedTensorType>(linear.getType());
    SmallVector<Operation *> chain{linear};
    Value value = linear.getResult();
    while (true) {
      if (value.use_empty())
        break;
      Operation *first = *value.getUsers().begin();
      if (llvm::any_of(value.getUsers(),
                       [&](Operation *user) { return user != first; })) {
        if (remarks && llvm::any_of(value.getUsers(), isFusibleElementwise))
          chain.back()->emitRemark("the epilogue of the linear at ")
              << linear.getLoc() << " stops here: this result has "
              << std::distance(value.getUses().begin(), value.getUses().end())
              << " readers, so it must be stored";
        break;
      }
      Operation *user = *value.getUsers().begin();
      if (!isFusibleElementwise(user) || user->getBlock() != &body)
        break;
      std::string reason = declineReason(user, value, output);
      if (!reason.empty()) {
        if (remarks)
          user->emitRemark("not fused into the epilogue of the linear at ")
            << linear.getLoc() << ": " << reason;
        break;
      }
      chain.push_back(user);
      value = user->getResult(0);
    }
    if (chain.size() < 2)
      continue;
    wrapInFused(chain, value, "linear_epilogue", rewriter);
    ++groups;
  }
  return groups;
}

} // namespace kopt
