//===- FuseElementwise.cpp - Trees of elementwise ops into one kernel ------===//
//
// An elementwise op whose result is not read by exactly one elementwise op
// roots a tree: every producer of its operands that is elementwise and
// read only by the tree joins it. The tree runs as one kernel over the
// root's elements, each intermediate recomputed where it is read (it was
// broadcast there) instead of written and read back.
//
//===----------------------------------------------------------------------===//

#include "FusionRules.h"
#include "kopt/Dialect/Kopt/Fusion.h"

#include "llvm/ADT/SetVector.h"

using namespace mlir;

namespace kopt {
namespace {

/// The one op reading `value` (perhaps as several operands), else null.
Operation *soleReader(Value value) {
  if (value.use_empty())
    return nullptr;
  Operation *reader = *value.getUsers().begin();
  for (Operation *user : value.getUsers())
    if (user != reader)
      return nullptr;
  return reader;
}

/// Whether `op`'s result is read by exactly one elementwise op of `body`
/// (so `op` belongs to its reader's tree rather than rooting one).
bool feedsOneElementwise(Operation *op, Block &body) {
  Operation *reader = soleReader(op->getResult(0));
  return reader && reader->getBlock() == &body && isFusibleElementwise(reader);
}

} // namespace

int fuseElementwiseTrees(Block &body, RewriterBase &rewriter, bool remarks) {
  SmallVector<Operation *> roots;
  for (Operation &op : body)
    if (isFusibleElementwise(&op) && !feedsOneElementwise(&op, body))
      roots.push_back(&op);
  int groups = 0;
  for (Operation *root : roots) {
    llvm::SetVector<Operation *> tree;
    SmallVector<Operation *> work{root};
    tree.insert(root);
    while (!work.empty()) {
      Operation *op = work.pop_back_val();
      for (Value operand : op->getOperands()) {
        Operation *producer = operand.getDefiningOp();
        if (!producer || producer->getBlock() != &body ||
            !isFusibleElementwise(producer) || tree.contains(producer))
          continue;
        if (soleReader(operand) != op) {
          if (remarks)
            producer->emitRemark("not fused into the elementwise kernel at ")
              << root->getLoc()
              << ": its result has several readers and would be recomputed";
          continue;
        }
        tree.insert(producer);
        work.push_back(producer);
      }
    }
    if (tree.size() < 2)
      continue;
    SmallVector<Operation *> ordered(tree.begin(), tree.end());
    llvm::sort(ordered, [](Operation *a, Operation *b) {
      return a->isBeforeInBlock(b);
    });
    wrapInFused(ordered, root->getResult(0), "elementwise", rewriter);
    ++groups;
  }
  return groups;
}

} // namespace kopt
