//===- NormalizationKernels.cpp - Norms and softmax on the GPU ------------===//
//
// Over the last axis (every norm, and softmax/l2norm with axis = -1): one
// block per row; threads stride over the row, partial sums and maxima are
// combined through warp shuffles and shared memory in f32, and a last pass
// writes the row. Over another axis (softmax, l2norm): the tensor is viewed
// as [outer, R, inner] and one thread owns one (outer, inner) column.
//
//===----------------------------------------------------------------------===//

#include "Families.h"
#include "KernelText.h"
#include "NormPrologue.h"

#include "kopt/Dialect/Kopt/KoptOps.h"
#include "kopt/Dialect/Kopt/ShapeUtils.h"

using namespace mlir;

namespace kopt::gpu {
namespace {

/// Threads per row for rows of `d` elements.
int64_t rowThreads(int64_t d) { return d >= 2048 ? 256 : 128; }

/// `for j in [tid, D) step T` accumulating f32 `init` with `step(j, acc)`.
std::string rowLoop(KernelText &k, const std::string &d,
                    const std::string &init,
                    const std::function<std::string(const std::string &,
                                                    const std::string &)> &step) {
  std::string j = k.fresh(), acc = k.fresh(), result = k.fresh();
  k.line(result + " = scf.for " + j + " = " + k.tid() + " to " + d + " step " +
         k.c(k.threads()) + " iter_args(" + acc + " = " + init +
         ") -> (f32) {");
  std::string next = step(j, acc);
  k.line("scf.yield " + next + " : f32");
  k.line("}");
  return result;
}

std::string load(KernelText &k, const std::string &mem, const std::string &at,
                 const std::string &type) {
  std::string v =
      k.def("memref.load " + mem + "[" + at + "] : memref<?x" + type + ">");
  return k.convert(v, type, "f32");
}

void store(KernelText &k, const std::string &value, const std::string &mem,
           const std::string &at, const std::string &type) {
  std::string v = k.convert(value, "f32", type);
  k.line("memref.store " + v + ", " + mem + "[" + at + "] : memref<?x" + type +
         ">");
}

/// The normalized axis of softmax/l2norm; the last one for the norms.
int64_t axisOf(Operation *op, int64_t rank) {
  int64_t axis = -1;
  if (auto s = dyn_cast<SoftmaxOp>(op))
    axis = s.getAxis();
  else if (auto l = dyn_cast<L2NormOp>(op))
    axis = l.getAxis();
  return *normalizeAxis(axis, rank);
}

/// `for j in [tid, D) step T`: out[base + j] = f(x[base + j], j).
void rowWrite(KernelText &k, const std::string &d,
              const std::function<std::string(const std::string &)> &at,
              const std::function<std::string(const std::string &value,
                                              const std::string &j)> &f,
              const std::string &in, const std::string &out,
              const std::string &t, const std::string &ot) {
  std::string j = k.fresh();
  k.line("scf.for " + j + " = " + k.tid() + " to " + d + " step " +
         k.c(k.threads()) + " {");
  std::string idx = at(j);
  store(k, f(load(k, in, idx, t), j), out, idx, ot);
  k.line("}");
}

int64_t bytesOf(llvm::StringRef t) {
  return t == "f64" ? 8 : t == "f32" ? 4 : 2;
}

/// A float vector of `n` elements converted from `from` to `to` elements.
std::string convertVector(KernelText &k, const std::string &v,
                          llvm::StringRef from, llvm::StringRef to, int64_t n) {
  if (from == to)
    return v;
  auto vt = [&](llvm::StringRef e) {
    return "vector<" + std::to_string(n) + "x" + e.str() + ">";
  };
  if (bytesOf(from) == bytesOf(to)) // f16 <-> bf16 through f32
    return convertVector(k, convertVector(k, v, from, "f32", n), "f32", to, n);
  return k.def((bytesOf(from) < bytesOf(to) ? "arith.extf " : "arith.truncf ") +
               v + " : " + vt(from) + " to " + vt(to));
}

/// Threads for the register-resident RMSNorm of rows of `d` elements of
/// `t`: each thread loads d / threads elements as 16-byte vectors once;
/// 0 when d does not split so.
int64_t residentRowThreads(int64_t d, llvm::StringRef t) {
  int64_t vec = 16 / bytesOf(t);
  int64_t threads = rowThreads(d);
  while (threads > 32 && d % (threads * vec) != 0)
    threads /= 2;
  bool fits = d % (threads * vec) == 0 && d / (threads * vec) <= 8;
  return fits ? threads : 0;
}

/// RMSNorm with the row in registers: x and w are loaded once (16 bytes per
/// thread per vector, all issued before the reduction), summed, and the
/// normalized row written from registers. Same rounding as the loop form.
LogicalResult emitResidentRmsNorm(RMSNormOp op, FunctionEmitter &e,
                                  int64_t threads) {
  Value x = op.getInput();
  std::string t = elementTypeText(x), wt = elementTypeText(op.getWeight()),
              ot = elementTypeText(op.getResult());
  int64_t d = cast<RankedTensorType>(x.getType()).getShape().back();
  int64_t vec = 16 / bytesOf(t), perThread = d / (threads * vec);
  auto vt = [&](llvm::StringRef el) {
    return "vector<" + std::to_string(vec) + "x" + el.str() + ">";
  };
  auto align = [&](llvm::StringRef el) {
    return std::to_string(std::min<int64_t>(16, vec * bytesOf(el)));
  };
  KernelText k(threads);
  std::string out = k.buffer("out", ot), in = k.buffer("x", t),
              w = k.buffer("w", wt);
  std::string scratch = k.shared("red", "32xf32");
  std::string base =
      k.def("arith.muli " + k.bid('x') + ", " + k.c(d) + " : index");
  SmallVector<std::string> columns, xs, ws;
  std::string partial = k.f(0.0);
  for (int64_t i = 0; i < perThread; ++i) {
    std::string lane = k.def("arith.addi " + k.tid() + ", " +
                             k.c(i * threads) + " : index");
    std::string col = k.def("arith.muli " + lane + ", " + k.c(vec) + " : index");
    std::string at = k.def("arith.addi " + base + ", " + col + " : index");
    columns.push_back(col);
    xs.push_back(k.def("vector.load " + in + "[" + at + "] {alignment = " +
                       align(t) + " : i64} : memref<?x" + t + ">, " + vt(t)));
    ws.push_back(k.def("vector.load " + w + "[" + col + "] {alignment = " +
                       align(wt) + " : i64} : memref<?x" + wt + ">, " +
                       vt(wt)));
  }
  for (int64_t i = 0; i < perThread; ++i) {
    xs[i] = convertVector(k, xs[i], t, "f32", vec);
    std::string sq =
        k.def("arith.mulf " + xs[i] + ", " + xs[i] + " : " + vt("f32"));
    std::string sum = k.def("vector.reduction <add>, " + sq + " : " +
                            vt("f32") + " into f32");
    partial = k.def("arith.addf " + partial + ", " + sum + " : f32");
  }
  std::string total = k.blockReduce(partial, "arith.addf", scratch);
  std::string r = k.def("vector.broadcast " +
                        rmsScale(k, total, d, op.getEpsilon()) + " : f32 to " +
                        vt("f32"));
  for (int64_t i = 0; i < perThread; ++i) {
    std::string n = k.def("arith.mulf " + xs[i] + ", " + r + " : " + vt("f32"));
    // HF: (x * r).to(x.dtype) * w
    std::string rounded = convertVector(
        k, convertVector(k, n, "f32", t, vec), t, "f32", vec);
    std::string y = k.def("arith.mulf " + rounded + ", " +
                          convertVector(k, ws[i], wt, "f32", vec) + " : " +
                          vt("f32"));
    std::string at =
        k.def("arith.addi " + base + ", " + columns[i] + " : index");
    k.line("vector.store " + convertVector(k, y, "f32", ot, vec) + ", " + out +
           "[" + at + "] {alignment = " + align(ot) + " : i64} : memref<?x" +
           ot + ">, " + vt(ot));
  }
  FailureOr<std::string> name =
      e.kernel("rownorm", k.str("KERNEL"), op->getLoc());
  if (failed(name))
    return failure();
  int64_t outBuffer = e.define(op.getResult());
  AffineExpr rows = e.numElements(x).floorDiv(d);
  e.launch(*name, op, rows, threads)
      .buffer(outBuffer)
      .buffer(e.bufferOf(x))
      .buffer(e.bufferOf(op.getWeight()));
  return success();
}

LogicalResult emitRowKernel(Operation *op, FunctionEmitter &e) {
  if (auto rms = dyn_cast<RMSNormOp>(op)) {
    int64_t d = cast<RankedTensorType>(rms.getInput().getType()).getShape().back();
    if (int64_t threads = residentRowThreads(d, elementTypeText(rms.getInput())))
      return emitResidentRmsNorm(rms, e, threads);
  }
  Value x = op->getOperand(0);
  auto type = cast<RankedTensorType>(x.getType());
  std::string t = typeText(type.getElementType());
  std::string ot = typeText(
      cast<RankedTensorType>(op->getResult(0).getType()).getElementType());
  int64_t d = type.getShape().back();
  int64_t threads = rowThreads(d);
  KernelText k(threads);
  std::string out = k.buffer("out", ot);
  std::string in = k.buffer("x", t);
  std::string w, b, wt;
  if (isa<RMSNormOp, LayerNormOp>(op)) {
    wt = typeText(
        cast<RankedTensorType>(op->getOperand(1).getType()).getElementType());
    w = k.buffer("w", wt);
    if (isa<LayerNormOp>(op))
      b = k.buffer("b", wt);
  }
  std::string scratch = k.shared("red", "32xf32");
  std::string dim = k.c(d);
  std::string row = k.bid('x');
  std::string base = k.def("arith.muli " + row + ", " + dim + " : index");
  auto at = [&](const std::string &j) {
    return k.def("arith.addi " + base + ", " + j + " : index");
  };

  if (auto rms = dyn_cast<RMSNormOp>(op)) {
    std::string sum = rowLoop(k, dim, k.f(0.0), [&](auto j, auto acc) {
      std::string v = load(k, in, at(j), t);
      std::string sq = k.def("arith.mulf " + v + ", " + v + " : f32");
      return k.def("arith.addf " + acc + ", " + sq + " : f32");
    });
    std::string total = k.blockReduce(sum, "arith.addf", scratch);
    std::string r = rmsScale(k, total, d, rms.getEpsilon());
    rowWrite(k, dim, at, [&](auto v, auto j) {
      std::string n = k.def("arith.mulf " + v + ", " + r + " : f32");
      // HF: (x * r).to(x.dtype) * w
      std::string rounded = k.convert(k.convert(n, "f32", t), t, "f32");
      return k.def("arith.mulf " + rounded + ", " + load(k, w, j, wt) +
                   " : f32");
    }, in, out, t, ot);
  } else if (auto ln = dyn_cast<LayerNormOp>(op)) {
    std::string sum = rowLoop(k, dim, k.f(0.0), [&](auto j, auto acc) {
      std::string v = load(k, in, at(j), t);
      return k.def("arith.addf " + acc + ", " + v + " : f32");
    });
    std::string total = k.blockReduce(sum, "arith.addf", scratch);
    std::string mean =
        k.def("arith.divf " + total + ", " + k.f(double(d)) + " : f32");
    std::string var = rowLoop(k, dim, k.f(0.0), [&](auto j, auto acc) {
      std::string v = load(k, in, at(j), t);
      std::string c = k.def("arith.subf " + v + ", " + mean + " : f32");
      std::string sq = k.def("arith.mulf " + c + ", " + c + " : f32");
      return k.def("arith.addf " + acc + ", " + sq + " : f32");
    });
    std::string varTotal = k.blockReduce(var, "arith.addf", scratch);
    std::string varMean =
        k.def("arith.divf " + varTotal + ", " + k.f(double(d)) + " : f32");
    std::string shifted = k.def("arith.addf " + varMean + ", " +
                                k.f(ln.getEpsilon()) +
                                " : f32");
    std::string r = k.def("math.rsqrt " + shifted + " : f32");
    rowWrite(k, dim, at, [&](auto v, auto j) {
      std::string c = k.def("arith.subf " + v + ", " + mean + " : f32");
      std::string n = k.def("arith.mulf " + c + ", " + r + " : f32");
      std::string wv = load(k, w, j, wt), bv = load(k, b, j, wt);
      return k.def("math.fma " + n + ", " + wv + ", " + bv + " : f32");
    }, in, out, t, ot);
  } else if (auto l2 = dyn_cast<L2NormOp>(op)) {
    std::string sum = rowLoop(k, dim, k.f(0.0), [&](auto j, auto acc) {
      std::string v = load(k, in, at(j), t);
      std::string sq = k.def("arith.mulf " + v + ", " + v + " : f32");
      return k.def("arith.addf " + acc + ", " + sq + " : f32");
    });
    std::string total = k.blockReduce(sum, "arith.addf", scratch);
    std::string norm = k.def("math.sqrt " + total + " : f32");
    std::string denom = k.def("arith.maximumf " + norm + ", " +
                              k.f(l2.getEpsilon()) +
                              " : f32");
    rowWrite(k, dim, at, [&](auto v, auto) {
      return k.def("arith.divf " + v + ", " + denom + " : f32");
    }, in, out, t, ot);
  } else { // softmax
    std::string max = rowLoop(k, dim, k.f(-INFINITY), [&](auto j, auto acc) {
      std::string v = load(k, in, at(j), t);
      return k.def("arith.maximumf " + acc + ", " + v + " : f32");
    });
    std::string rowMax = k.blockReduce(max, "arith.maximumf", scratch);
    std::string sum = rowLoop(k, dim, k.f(0.0), [&](auto j, auto acc) {
      std::string v = load(k, in, at(j), t);
      std::string s = k.def("arith.subf " + v + ", " + rowMax + " : f32");
      std::string ex = k.def("math.exp " + s + " : f32");
      return k.def("arith.addf " + acc + ", " + ex + " : f32");
    });
    std::string total = k.blockReduce(sum, "arith.addf", scratch);
    rowWrite(k, dim, at, [&](auto v, auto) {
      std::string s = k.def("arith.subf " + v + ", " + rowMax + " : f32");
      std::string ex = k.def("math.exp " + s + " : f32");
      return k.def("arith.divf " + ex + ", " + total + " : f32");
    }, in, out, t, ot);
  }

  FailureOr<std::string> name =
      e.kernel("rownorm", k.str("KERNEL"), op->getLoc());
  if (failed(name))
    return failure();
  int64_t outBuffer = e.define(op->getResult(0));
  AffineExpr rows = e.numElements(x).floorDiv(d);
  Launch &l = e.launch(*name, op, rows, threads);
  l.buffer(outBuffer);
  for (Value operand : op->getOperands())
    l.buffer(e.bufferOf(operand));
  return success();
}

/// softmax / l2norm over a non-last axis: one thread per (outer, inner).
LogicalResult emitColumnKernel(Operation *op, FunctionEmitter &e,
                               int64_t axis) {
  Value x = op->getOperand(0);
  auto type = cast<RankedTensorType>(x.getType());
  std::string t = typeText(type.getElementType());
  std::string ot = typeText(
      cast<RankedTensorType>(op->getResult(0).getType()).getElementType());
  SmallVector<AffineExpr> dims = e.dims(x);
  AffineExpr inner = e.product(ArrayRef<AffineExpr>(dims).drop_front(axis + 1));
  AffineExpr size = dims[axis];
  AffineExpr columns = e.product(ArrayRef<AffineExpr>(dims).take_front(axis)) * inner;

  KernelText k(128);
  std::string out = k.buffer("out", ot), in = k.buffer("x", t);
  std::string nCols = k.index("columns"), nInner = k.index("inner"),
              r = k.index("size");
  std::string g = k.globalId();
  std::string ok = k.def("arith.cmpi ult, " + g + ", " + nCols + " : index");
  k.line("scf.if " + ok + " {");
  std::string o = k.def("arith.divui " + g + ", " + nInner + " : index");
  std::string i = k.def("arith.remui " + g + ", " + nInner + " : index");
  std::string span = k.def("arith.muli " + r + ", " + nInner + " : index");
  std::string ob = k.def("arith.muli " + o + ", " + span + " : index");
  std::string base = k.def("arith.addi " + ob + ", " + i + " : index");
  auto at = [&](const std::string &j) {
    std::string off = k.def("arith.muli " + j + ", " + nInner + " : index");
    return k.def("arith.addi " + base + ", " + off + " : index");
  };
  auto loop = [&](const std::string &init, auto step) {
    std::string j = k.fresh(), acc = k.fresh(), res = k.fresh();
    k.line(res + " = scf.for " + j + " = " + k.c(0) + " to " + r + " step " +
           k.c(1) + " iter_args(" + acc + " = " + init + ") -> (f32) {");
    k.line("scf.yield " + step(j, acc) + " : f32");
    k.line("}");
    return res;
  };
  std::string scale; // the final per-element op: v -> f(v)
  std::string maxV;
  if (isa<SoftmaxOp>(op)) {
    maxV = loop(k.f(-INFINITY), [&](auto j, auto acc) {
      return k.def("arith.maximumf " + acc + ", " + load(k, in, at(j), t) +
                   " : f32");
    });
    scale = loop(k.f(0.0), [&](auto j, auto acc) {
      std::string s = k.def("arith.subf " + load(k, in, at(j), t) + ", " +
                            maxV + " : f32");
      return k.def("arith.addf " + acc + ", " + k.def("math.exp " + s + " : f32") +
                   " : f32");
    });
  } else {
    std::string sum = loop(k.f(0.0), [&](auto j, auto acc) {
      std::string v = load(k, in, at(j), t);
      std::string sq = k.def("arith.mulf " + v + ", " + v + " : f32");
      return k.def("arith.addf " + acc + ", " + sq + " : f32");
    });
    std::string norm = k.def("math.sqrt " + sum + " : f32");
    scale = k.def("arith.maximumf " + norm + ", " +
                  k.f(cast<L2NormOp>(op).getEpsilon()) +
                  " : f32");
  }
  std::string j = k.fresh();
  k.line("scf.for " + j + " = " + k.c(0) + " to " + r + " step " + k.c(1) +
         " {");
  std::string idx = at(j);
  std::string v = load(k, in, idx, t);
  if (!maxV.empty())
    v = k.def("math.exp " +
              k.def("arith.subf " + v + ", " + maxV + " : f32") + " : f32");
  store(k, k.def("arith.divf " + v + ", " + scale + " : f32"), out, idx, ot);
  k.line("}");
  k.line("}");

  FailureOr<std::string> name =
      e.kernel("colnorm", k.str("KERNEL"), op->getLoc());
  if (failed(name))
    return failure();
  int64_t outBuffer = e.define(op->getResult(0));
  Launch &l = e.launch(*name, op, ceilDiv(columns, 128), 128);
  l.buffer(outBuffer).buffer(e.bufferOf(x)).index(columns).index(inner).index(
      size);
  return success();
}

} // namespace

LogicalResult emitNormalization(Operation *op, FunctionEmitter &e) {
  auto type = cast<RankedTensorType>(op->getOperand(0).getType());
  int64_t rank = type.getRank();
  if (rank == 0)
    return op->emitError("normalizing a 0-d tensor has no GPU kernel");
  int64_t axis = axisOf(op, rank);
  if (axis == rank - 1 && !type.isDynamicDim(rank - 1)) {
    auto rms = dyn_cast<RMSNormOp>(op);
    int64_t fromRows = rms ? deferNormIntoReaders(rms, e) : 1;
    size_t first = e.launchCount();
    if (failed(emitRowKernel(op, e)))
      return failure();
    // Below `fromRows` the reading linears apply the norm themselves.
    if (fromRows > 1)
      for (Launch &l : e.launchesFrom(first)) {
        l.guard = e.numElements(op->getOperand(0))
                      .floorDiv(type.getShape().back());
        l.guardMin = fromRows;
      }
    return success();
  }
  if (isa<SoftmaxOp, L2NormOp>(op))
    return emitColumnKernel(op, e, axis);
  return op->emitError("normalizing over a dynamic last dim has no GPU "
                       "kernel yet");
}

} // namespace kopt::gpu
