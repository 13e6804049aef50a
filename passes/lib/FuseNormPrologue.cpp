//===- FuseNormPrologue.cpp - RMS norms applied by the linears reading them ===//
//
// An rmsnorm read only as the activations of linears is marked
// `kopt.into_readers`: backends whose small-row linear kernels can scale
// their inputs by the norm's weight and each row's rsqrt(mean(x^2) + eps)
// run those rows without the norm's own kernel (the decode step's norms
// then cost no launch). The norm stays in the IR for every other row count
// and backend.
//
//===----------------------------------------------------------------------===//

#include "FusionRules.h"
#include "kopt/Dialect/Kopt/Fusion.h"

using namespace mlir;

namespace kopt {

int fuseNormPrologues(Block &body, RewriterBase &rewriter, bool remarks) {
  int marked = 0;
  for (Operation &op : body) {
    auto norm = dyn_cast<RMSNormOp>(op);
    if (!norm || norm.getResult().use_empty())
      continue;
    if (Operation *declinedAt = firstNonLinearReader(norm.getResult())) {
      if (remarks)
        norm.emitRemark("not applied by the linears reading it: read by '")
            << declinedAt->getName() << "' at " << declinedAt->getLoc();
      continue;
    }
    rewriter.modifyOpInPlace(
        norm, [&] { norm->setAttr(kIntoReadersAttr, rewriter.getUnitAttr()); });
    ++marked;
  }
  return marked;
}

} // namespace kopt
