//===- LinearAttentionKernels.cpp - linear_attention on the GPU -----------===//
//
// kopt.linear_attention in its recurrent form: one thread per (batch, head,
// state column c) keeps column c of the D x D state in registers (D static,
// at most 256) and walks the sequence:
//   S[:, c] = decay_h * S[:, c] + k_t * v_t[c];  o_t[c] = q_t . S[:, c]
// The D threads of a head read the same q_t and k_t (broadcast loads).
// f32 throughout; the final state is written once at the end. This is the
// form for f32 and odd head dims; 16-bit q/k/v with D = 64 or 128 take the
// chunked tensor-core kernel (ChunkedLinearAttentionKernel).
//
//===----------------------------------------------------------------------===//

#include "ChunkedLinearAttentionKernel.h"
#include "Families.h"
#include "KernelText.h"

#include "kopt/Dialect/Kopt/KoptOps.h"

using namespace mlir;

namespace kopt::gpu {
namespace {

constexpr int64_t kThreads = 128, kMaxHeadDim = 256;

std::string elementOf(Value v) {
  return typeText(cast<RankedTensorType>(v.getType()).getElementType());
}

} // namespace

LogicalResult emitLinearAttention(LinearAttentionOp op, FunctionEmitter &e) {
  auto qType = cast<RankedTensorType>(op.getQuery().getType());
  if (qType.isDynamicDim(3) || qType.getDimSize(3) > kMaxHeadDim)
    return op.emitError("linear_attention on the GPU needs a static head dim "
                        "of at most ")
           << kMaxHeadDim;
  int64_t d = qType.getDimSize(3);
  std::string t = elementOf(op.getQuery()), ot = elementOf(op.getOutput()),
              st = elementOf(op.getFinalState());
  bool hasState = static_cast<bool>(op.getState());
  std::optional<ArrayRef<float>> decay = op.getDecay();
  int64_t decayBuffer =
      decay ? e.constantBuffer(Float32Type::get(e.context()), *decay) : -1;
  auto addOperands = [&](Launch &l) {
    l.buffer(e.define(op.getOutput()))
        .buffer(e.define(op.getFinalState()))
        .buffer(e.bufferOf(op.getQuery()))
        .buffer(e.bufferOf(op.getKey()))
        .buffer(e.bufferOf(op.getValue()));
    if (hasState)
      l.buffer(e.bufferOf(op.getState()));
    if (decay)
      l.buffer(decayBuffer);
  };
  SmallVector<AffineExpr> dims = e.dims(op.getQuery());
  if (chunkedLinearAttentionApplies(e.target(), t, d)) {
    using C = ChunkedLinearAttentionShape;
    FailureOr<std::string> name = chunkedLinearAttentionKernel(e, op, t, st, d);
    if (failed(name))
      return failure();
    Launch &l = e.launch(*name, op, e.constant(d / C::columns), C::threads);
    l.grid[1] = dims[2];
    l.grid[2] = dims[0];
    l.sharedBytes = C::sharedBytes(d);
    addOperands(l);
    l.index(dims[1]).index(dims[2]);
    return success();
  }

  KernelText k(kThreads);
  std::string out = k.buffer("out", ot), stateOut = k.buffer("state_out", st),
              q = k.buffer("q", t), key = k.buffer("k", t),
              v = k.buffer("v", t);
  std::string sin = hasState ? elementOf(op.getState()) : "";
  std::string stateIn = hasState ? k.buffer("state_in", sin) : "";
  std::string decayBuf = decay ? k.buffer("decay", "f32") : "";
  std::string total = k.index("total"), seq = k.index("seq"),
              heads = k.index("heads");
  std::string g = k.globalId();
  k.line("scf.if " + k.def("arith.cmpi ult, " + g + ", " + total + " : index") +
         " {");
  std::string c = k.def("arith.remui " + g + ", " + k.c(d) + " : index");
  std::string bh = k.def("arith.divui " + g + ", " + k.c(d) + " : index");
  std::string h = k.def("arith.remui " + bh + ", " + heads + " : index");
  std::string b = k.def("arith.divui " + bh + ", " + heads + " : index");
  std::string factor =
      decay ? k.def("memref.load " + decayBuf + "[" + h + "] : memref<?xf32>")
            : k.f(1.0);
  // State column c: element r at ((bh * D) + r) * D + c.
  std::string stateBase =
      k.def("arith.addi " +
            k.def("arith.muli " + bh + ", " + k.c(d * d) + " : index") + ", " +
            c + " : index");
  std::vector<std::string> init(d), iters(d);
  std::string iterText, types;
  for (int64_t r = 0; r < d; ++r) {
    if (hasState) {
      std::string at =
          k.def("arith.addi " + stateBase + ", " + k.c(r * d) + " : index");
      init[r] = k.convert(k.def("memref.load " + stateIn + "[" + at +
                                "] : memref<?x" + sin + ">"),
                          sin, "f32");
    } else {
      init[r] = k.f(0.0);
    }
    iters[r] = k.fresh();
    iterText += (r ? ", " : "") + iters[r] + " = " + init[r];
    types += std::string(r ? ", " : "") + "f32";
  }
  std::string step = k.fresh(), final = k.fresh();
  k.line(final + ":" + std::to_string(d) + " = scf.for " + step + " = " +
         k.c(0) + " to " + seq + " step " + k.c(1) + " iter_args(" + iterText +
         ") -> (" + types + ") {");
  // Row ((b * S + t) * H + h) * D of q, k, v and the output.
  std::string bs = k.def("arith.muli " + b + ", " + seq + " : index");
  std::string row =
      k.def("arith.addi " +
            k.def("arith.muli " +
                  k.def("arith.addi " + bs + ", " + step + " : index") + ", " +
                  heads + " : index") +
            ", " + h + " : index");
  std::string base = k.def("arith.muli " + row + ", " + k.c(d) + " : index");
  auto load = [&](const std::string &mem, const std::string &at) {
    return k.convert(
        k.def("memref.load " + mem + "[" + at + "] : memref<?x" + t + ">"), t,
        "f32");
  };
  std::string vc = load(v, k.def("arith.addi " + base + ", " + c + " : index"));
  std::string o = k.f(0.0);
  std::vector<std::string> next(d);
  for (int64_t r = 0; r < d; ++r) {
    std::string at = k.def("arith.addi " + base + ", " + k.c(r) + " : index");
    std::string decayed =
        k.def("arith.mulf " + factor + ", " + iters[r] + " : f32");
    next[r] = k.def("math.fma " + load(key, at) + ", " + vc + ", " + decayed +
                    " : f32");
    o = k.def("math.fma " + load(q, at) + ", " + next[r] + ", " + o + " : f32");
  }
  k.line("memref.store " + k.convert(o, "f32", ot) + ", " + out + "[" +
         k.def("arith.addi " + base + ", " + c + " : index") + "] : memref<?x" +
         ot + ">");
  std::string yields;
  for (int64_t r = 0; r < d; ++r)
    yields += (r ? ", " : "") + next[r];
  k.line("scf.yield " + yields + " : " + types);
  k.line("}");
  for (int64_t r = 0; r < d; ++r) {
    std::string at =
        k.def("arith.addi " + stateBase + ", " + k.c(r * d) + " : index");
    k.line("memref.store " +
           k.convert(final + "#" + std::to_string(r), "f32", st) + ", " +
           stateOut + "[" + at + "] : memref<?x" + st + ">");
  }
  k.line("}");

  FailureOr<std::string> name =
      e.kernel("linear_attention", k.str("KERNEL"), op->getLoc());
  if (failed(name))
    return failure();
  AffineExpr threads = dims[0] * dims[2] * d;
  Launch &l = e.launch(*name, op, ceilDiv(threads, kThreads), kThreads);
  addOperands(l);
  l.index(threads).index(dims[1]).index(dims[2]);
  return success();
}

} // namespace kopt::gpu
