//===- FusedKernels.cpp - kopt.fused groups on the GPU --------------------===//
//
// An "elementwise" group is one kernel over its result's elements
// (emitElementwiseGroup). A "linear_epilogue" group runs its linear's
// kernels with the chain after the linear as their epilogue
// (LinearEpilogue.h), which the small-row kernels reading the group may
// apply instead (ReaderEpilogue.h); ops of the body that are neither (a cast the weight
// expansion put before the linear) run first, on their own. Any group the
// kernels cannot take runs op by op, with the same results.
//
//===----------------------------------------------------------------------===//

#include "Families.h"
#include "LinearEpilogue.h"
#include "ReaderEpilogue.h"

using namespace mlir;

namespace kopt::gpu {
namespace {

/// Runs every op of the body on its own and binds the group's results to
/// the buffers of what the body yields.
LogicalResult emitOneByOne(FusedOp op, FunctionEmitter &e,
                           ArrayRef<Operation *> skip = {}) {
  for (Operation &inner : op.getBody().front().without_terminator())
    if (!llvm::is_contained(skip, &inner) && failed(e.emitOp(&inner)))
      return failure();
  for (auto [result, yielded] :
       llvm::zip(op.getResults(), op.getYield().getValues()))
    e.bind(result, e.bufferOf(yielded));
  return success();
}

/// The linear of the group and the chain of elementwise ops reading its
/// output, one after the other, up to what the body yields.
std::optional<std::pair<LinearOp, SmallVector<Operation *>>>
epilogueChain(FusedOp op) {
  auto linears = op.getBody().front().getOps<LinearOp>();
  if (std::distance(linears.begin(), linears.end()) != 1)
    return std::nullopt;
  LinearOp linear = *linears.begin();
  SmallVector<Operation *> chain;
  Value value = linear.getResult();
  Value yielded = op.getYield().getValues()[0];
  while (value != yielded) {
    if (!value.hasOneUse())
      return std::nullopt;
    Operation *user = *value.getUsers().begin();
    if (!isFusibleElementwise(user) || user->getParentOp() != op)
      return std::nullopt;
    chain.push_back(user);
    value = user->getResult(0);
  }
  return std::make_pair(linear, std::move(chain));
}

} // namespace

LogicalResult emitFused(FusedOp op, FunctionEmitter &e) {
  if (op.getNumResults() != 1)
    return emitOneByOne(op, e);
  Block &body = op.getBody().front();
  if (op.getKind() == "elementwise") {
    SmallVector<Operation *> ops;
    for (Operation &inner : body.without_terminator())
      ops.push_back(&inner);
    if (llvm::all_of(ops, isFusibleElementwise) &&
        ops.back()->getResult(0) == op.getYield().getValues()[0])
      return emitElementwiseGroup(ops, op.getResult(0), e);
    return emitOneByOne(op, e);
  }
  auto found = epilogueChain(op);
  if (!found)
    return emitOneByOne(op, e);
  auto &[linear, chain] = *found;
  FailureOr<LinearEpilogue> epilogue =
      LinearEpilogue::build(linear, chain, op.getResult(0), e);
  if (failed(epilogue))
    return emitOneByOne(op, e);
  // What the weight expansion put in the body runs before the linear.
  SmallVector<Operation *> kernelOps{linear.getOperation()};
  kernelOps.append(chain.begin(), chain.end());
  for (Operation &inner : body.without_terminator())
    if (!llvm::is_contained(kernelOps, &inner) && failed(e.emitOp(&inner)))
      return failure();
  e.setEpilogue(linear, &*epilogue);
  deferEpilogueIntoReaders(linear, *epilogue, op.getResult(0), e);
  LogicalResult emitted = e.emitOp(linear);
  e.setEpilogue(linear, nullptr);
  if (failed(emitted))
    return failure();
  if (e.epilogueApplied(linear))
    return success();
  // The linear's kernels wrote its own output: the chain runs after it.
  for (Operation *inner : chain)
    if (failed(e.emitOp(inner)))
      return failure();
  e.bind(op.getResult(0), e.bufferOf(op.getYield().getValues()[0]));
  return success();
}

} // namespace kopt::gpu
