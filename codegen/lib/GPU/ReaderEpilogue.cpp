//===- ReaderEpilogue.cpp - Linear epilogues applied by the GEMVs reading them ===//

#include "ReaderEpilogue.h"
#include "Families.h"

#include "kopt/Dialect/Kopt/Fusion.h"

using namespace mlir;

namespace kopt::gpu {

void deferEpilogueIntoReaders(LinearOp linear, const LinearEpilogue &epilogue,
                              Value result, FunctionEmitter &e) {
  std::string t = elementTypeText(result);
  if (!e.readerEpilogues() || result.use_empty() ||
      firstNonLinearReader(result))
    return;
  // The head (the unary ops before the first that reads an operand: silu)
  // stays with the linear; the tail must be one product of 16-bit floats,
  // which costs the readers a packed multiply per element and rounds as
  // the epilogue would (with the whole of SwiGLU, silu in every reading
  // block, the H100 decode step of TinyLlama ran 17% slower).
  ArrayRef<Operation *> chain = epilogue.chain();
  size_t split = 0;
  while (split < chain.size() && chain[split]->getNumOperands() == 1)
    ++split;
  ArrayRef<Operation *> head = chain.take_front(split),
                        tail = chain.drop_front(split);
  if (tail.size() != 1 || !isa<MulOp>(tail[0]) || t == "f32")
    return;
  Value start = head.empty() ? Value(linear.getResult()) : head.back()->getResult(0);
  if (elementTypeText(start) != t)
    return;
  FailureOr<LinearEpilogue> tailEpilogue =
      LinearEpilogue::build(linear, tail, result, e, start);
  if (failed(tailEpilogue))
    return;
  for (const LinearEpilogue::Operand &operand : tailEpilogue->operands())
    if (operand.indexing != EpilogueIndexing::Full ||
        elementTypeText(operand.value) != t)
      return;
  std::shared_ptr<LinearEpilogue> headEpilogue;
  if (!head.empty()) {
    FailureOr<LinearEpilogue> built =
        LinearEpilogue::build(linear, head, start, e);
    if (failed(built))
      return;
    headEpilogue = std::make_shared<LinearEpilogue>(std::move(*built));
  }
  // The linear's band and every reader's must be the same rows.
  int64_t rows = linearPrologueRows(linear, e);
  if (rows < 1)
    return;
  for (Operation *reader : result.getUsers())
    if (linearPrologueRows(cast<LinearOp>(reader), e) != rows)
      return;
  int64_t n = cast<RankedTensorType>(result.getType()).getShape().back();
  if (std::optional<int64_t> staticRows =
          staticValue(e.numElements(result).floorDiv(n));
      staticRows && *staticRows > rows)
    return;
  int64_t raw = e.scratch(cast<RankedTensorType>(start.getType()).getElementType(),
                          e.dims(linear.getResult()));
  e.setReaderEpilogue(
      linear, result,
      ReaderEpilogue{raw, std::move(headEpilogue),
                     std::make_shared<LinearEpilogue>(std::move(*tailEpilogue)),
                     rows});
}

void addReaderEpilogueArguments(Launch &l, FunctionEmitter &e,
                                const ReaderEpilogue &epilogue) {
  l.reads.push_back(epilogue.raw);
  for (const LinearEpilogue::Operand &operand : epilogue.epilogue->operands()) {
    int64_t buffer = e.bufferOf(operand.value);
    l.buffer(buffer);
    l.reads.push_back(buffer);
  }
}

ActivationTransform readerEpilogueTransform(KernelText &k,
                                            const ReaderEpilogue &epilogue,
                                            const std::string &t) {
  // deferEpilogueIntoReaders leaves one product with one operand: the
  // product of two 16-bit floats is exact in f32, so the packed multiply
  // rounds as the epilogue would.
  std::string operand = k.buffer("pro0", t);
  return [&k, operand, t](const std::string &raw, const std::string &at) {
    const std::string vt = "vector<8x" + t + ">";
    std::string other = k.def("vector.load " + operand + "[" + at +
                              "] {alignment = 16 : i64} : memref<?x" + t +
                              ">, " + vt);
    return k.def("arith.mulf " + raw + ", " + other + " : " + vt);
  };
}

} // namespace kopt::gpu
