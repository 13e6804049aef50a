//===- NormPrologue.cpp - RMS norms applied by the linears reading them ---===//

#include "NormPrologue.h"
#include "Families.h"

#include "kopt/Dialect/Kopt/Fusion.h"

using namespace mlir;

namespace kopt::gpu {

int64_t deferNormIntoReaders(RMSNormOp norm, FunctionEmitter &e) {
  if (!norm->hasAttr(kIntoReadersAttr) || norm.getResult().use_empty() ||
      firstNonLinearReader(norm.getResult()))
    return 1;
  int64_t maxRows = INT64_MAX;
  for (Operation *reader : norm.getResult().getUsers())
    maxRows = std::min(maxRows, linearPrologueRows(cast<LinearOp>(reader), e));
  if (maxRows < 1)
    return 1;
  // Static rows past the band: the readers never apply it.
  int64_t d = cast<RankedTensorType>(norm.getInput().getType()).getShape().back();
  AffineExpr rows = e.numElements(norm.getInput()).floorDiv(d);
  if (std::optional<int64_t> staticRows = staticValue(rows);
      staticRows && *staticRows > maxRows)
    return 1;
  e.setNormPrologue(norm.getResult(),
                    NormPrologue{norm.getInput(), norm.getWeight(),
                                 static_cast<double>(norm.getEpsilon()), maxRows});
  return maxRows + 1;
}

void addNormPrologueArguments(Launch &l, FunctionEmitter &e,
                              const NormPrologue &norm) {
  int64_t weight = e.bufferOf(norm.weight);
  l.buffer(weight);
  l.reads.push_back(e.bufferOf(norm.input));
  l.reads.push_back(weight);
}

std::string rmsScale(KernelText &k, const std::string &sumOfSquares,
                     int64_t kDim, double epsilon) {
  std::string mean = k.def("arith.divf " + sumOfSquares + ", " +
                           k.f(double(kDim)) + " : f32");
  std::string shifted =
      k.def("arith.addf " + mean + ", " + k.f(epsilon) + " : f32");
  return k.def("math.rsqrt " + shifted + " : f32");
}

} // namespace kopt::gpu
