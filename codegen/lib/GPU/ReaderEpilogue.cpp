//===- ReaderEpilogue.cpp - Linear epilogues applied by the GEMVs reading them ===//

#include "ReaderEpilogue.h"
#include "Families.h"

#include "kopt/Dialect/Kopt/Fusion.h"
#include "llvm/ADT/StringExtras.h"

using namespace mlir;

namespace kopt::gpu {

void deferEpilogueIntoReaders(LinearOp linear, const LinearEpilogue &epilogue,
                              Value result, FunctionEmitter &e) {
  std::string t = elementTypeText(result);
  if (!e.readerEpilogues() || result.use_empty() ||
      firstNonLinearReader(result))
    return;
  // The head (the unary ops before the first that reads an operand: silu)
  // stays with the linear; the tail must be products and sums, which cost
  // the readers a packed multiply or add per element (with the whole of
  // SwiGLU, silu in every reading block, the H100 decode step of
  // TinyLlama ran 17% slower).
  ArrayRef<Operation *> chain = epilogue.chain();
  size_t split = 0;
  while (split < chain.size() && chain[split]->getNumOperands() == 1)
    ++split;
  ArrayRef<Operation *> head = chain.take_front(split),
                        tail = chain.drop_front(split);
  if (tail.empty() || !llvm::all_of(tail, llvm::IsaPred<MulOp, AddOp, SubOp>))
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
  std::vector<std::string> buffers;
  for (size_t i = 0; i < epilogue.epilogue->operands().size(); ++i)
    buffers.push_back(k.buffer("pro" + std::to_string(i), t));
  const LinearEpilogue *chain = epilogue.epilogue.get();
  return [&k, chain, buffers, t](const std::string &raw,
                                 const std::string &at) {
    const std::string vt = "vector<8x" + t + ">";
    std::vector<std::string> operands;
    for (const std::string &buffer : buffers)
      operands.push_back(k.def("vector.load " + buffer + "[" + at +
                               "] {alignment = 16 : i64} : memref<?x" + t +
                               ">, " + vt));
    // One product of 16-bit floats: exact in f32, so the packed multiply
    // rounds as the epilogue would.
    if (chain->chain().size() == 1 && isa<MulOp>(chain->chain()[0]) &&
        t != "f32")
      return k.def("arith.mulf " + raw + ", " + operands[0] + " : " + vt);
    auto element = [&](const std::string &vector, int64_t i) {
      return k.convert(k.def("vector.extract " + vector + "[" +
                             std::to_string(i) + "] : " + t + " from " + vt),
                       t, "f32");
    };
    // As the epilogue: each value rounded to its dtype, read back as f32.
    auto rounded = [&](const std::string &x, const std::string &type) {
      return k.convert(k.convert(x, "f32", type), type, "f32");
    };
    std::vector<std::string> values;
    for (int64_t i = 0; i < 8; ++i) {
      std::string value = element(raw, i);
      Value carried = chain->linearResult();
      size_t next = 0;
      for (Operation *op : chain->chain()) {
        SmallVector<std::string> args;
        for (Value operand : op->getOperands())
          args.push_back(operand == carried ? value
                                            : element(operands[next++], i));
        value = rounded(elementwiseScalar(k, op, args, "f32"),
                        elementTypeText(op->getResult(0)));
        carried = op->getResult(0);
      }
      values.push_back(k.convert(value, "f32", t));
    }
    return k.def("vector.from_elements " + llvm::join(values, ", ") + " : " +
                 vt);
  };
}

} // namespace kopt::gpu
