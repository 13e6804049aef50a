//===- ReductionKernels.cpp - reduce_* and argmax on the GPU --------------===//
//
// One thread per output element. reduce_sum/mean/max walk every reduced
// element (any set of axes) through the reduced dims' sizes and strides;
// argmax walks its axis of the [outer, R, inner] view. Floats accumulate in
// f32, integers in i64. argmax ranks NaN above everything and keeps the
// first maximum, as PyTorch does.
//
//===----------------------------------------------------------------------===//

#include "Families.h"
#include "KernelText.h"

#include "kopt/Dialect/Kopt/KoptOps.h"
#include "kopt/Dialect/Kopt/ShapeUtils.h"

using namespace mlir;

namespace kopt::gpu {
namespace {

constexpr int64_t kThreads = 128;

LogicalResult emitReduce(Operation *op, FunctionEmitter &e,
                         ArrayRef<int64_t> axesAttr) {
  Value x = op->getOperand(0);
  auto type = cast<RankedTensorType>(x.getType());
  int64_t rank = type.getRank();
  std::string t = typeText(type.getElementType());
  bool isFloat = isFloatText(t);
  std::string acc = isFloat ? "f32" : "i64";
  bool isMax = isa<ReduceMaxOp>(op), isMean = isa<ReduceMeanOp>(op);
  SmallVector<bool> reduced(rank, false);
  for (int64_t a : axesAttr)
    reduced[*normalizeAxis(a, rank)] = true;
  SmallVector<AffineExpr> dims = e.dims(x);
  SmallVector<AffineExpr> strides(rank);
  AffineExpr stride = e.constant(1);
  for (int64_t d = rank - 1; d >= 0; --d) {
    strides[d] = stride;
    stride = stride * dims[d];
  }
  SmallVector<int64_t> kept, red;
  for (int64_t d = 0; d < rank; ++d)
    (reduced[d] ? red : kept).push_back(d);

  KernelText k(kThreads);
  std::string out = k.buffer("out", t), in = k.buffer("x", t);
  std::string n = k.index("outputs"), count = k.index("count");
  SmallVector<std::string> keptSize, keptStride, redSize, redStride;
  for (int64_t d : kept) {
    keptSize.push_back(k.index("ks" + std::to_string(d)));
    keptStride.push_back(k.index("kt" + std::to_string(d)));
  }
  for (int64_t d : red) {
    redSize.push_back(k.index("rs" + std::to_string(d)));
    redStride.push_back(k.index("rt" + std::to_string(d)));
  }
  std::string g = k.globalId();
  std::string ok = k.def("arith.cmpi ult, " + g + ", " + n + " : index");
  k.line("scf.if " + ok + " {");
  // Base offset of this output's slice.
  std::string base = k.c(0), rest = g;
  for (int64_t i = kept.size() - 1; i >= 0; --i) {
    std::string c = k.def("arith.remui " + rest + ", " + keptSize[i] + " : index");
    rest = k.def("arith.divui " + rest + ", " + keptSize[i] + " : index");
    std::string term = k.def("arith.muli " + c + ", " + keptStride[i] + " : index");
    base = k.def("arith.addi " + base + ", " + term + " : index");
  }
  std::string init = isMax ? (isFloat ? k.f(-INFINITY)
                                      : k.ci(INT64_MIN, "i64"))
                           : (isFloat ? k.f(0.0) : k.ci(0, "i64"));
  std::string r = k.fresh(), a = k.fresh(), result = k.fresh();
  k.line(result + " = scf.for " + r + " = " + k.c(0) + " to " + count +
         " step " + k.c(1) + " iter_args(" + a + " = " + init + ") -> (" + acc +
         ") {");
  std::string offset = base, rr = r;
  for (int64_t i = red.size() - 1; i >= 0; --i) {
    std::string c = k.def("arith.remui " + rr + ", " + redSize[i] + " : index");
    rr = k.def("arith.divui " + rr + ", " + redSize[i] + " : index");
    std::string term = k.def("arith.muli " + c + ", " + redStride[i] + " : index");
    offset = k.def("arith.addi " + offset + ", " + term + " : index");
  }
  std::string v = k.convert(
      k.def("memref.load " + in + "[" + offset + "] : memref<?x" + t + ">"), t,
      acc);
  std::string next =
      isMax ? k.def((isFloat ? "arith.maximumf " : "arith.maxsi ") + a + ", " +
                    v + " : " + acc)
            : k.def((isFloat ? "arith.addf " : "arith.addi ") + a + ", " + v +
                    " : " + acc);
  k.line("scf.yield " + next + " : " + acc);
  k.line("}");
  std::string value = result;
  if (isMean) {
    std::string c64 = k.def("arith.index_cast " + count + " : index to i64");
    if (isFloat) {
      std::string cf = k.def("arith.sitofp " + c64 + " : i64 to f32");
      value = k.def("arith.divf " + value + ", " + cf + " : f32");
    } else {
      // Integer mean truncates (an empty reduction gives 0).
      std::string one = k.ci(1, "i64");
      std::string safe = k.def("arith.maxsi " + c64 + ", " + one + " : i64");
      value = k.def("arith.divsi " + value + ", " + safe + " : i64");
    }
  }
  k.line("memref.store " + k.convert(value, acc, t) + ", " + out + "[" + g +
         "] : memref<?x" + t + ">");
  k.line("}");

  FailureOr<std::string> name =
      e.kernel("reduce", k.str("KERNEL"), op->getLoc());
  if (failed(name))
    return failure();
  int64_t outBuffer = e.define(op->getResult(0));
  AffineExpr outputs = e.constant(1), reducedCount = e.constant(1);
  for (int64_t d : kept)
    outputs = outputs * dims[d];
  for (int64_t d : red)
    reducedCount = reducedCount * dims[d];
  Launch &l = e.launch(*name, op, ceilDiv(outputs, kThreads), kThreads);
  l.buffer(outBuffer).buffer(e.bufferOf(x)).index(outputs).index(reducedCount);
  for (int64_t d : kept)
    l.index(dims[d]).index(strides[d]);
  for (int64_t d : red)
    l.index(dims[d]).index(strides[d]);
  return success();
}

LogicalResult emitArgmax(ArgmaxOp op, FunctionEmitter &e) {
  Value x = op.getInput();
  auto type = cast<RankedTensorType>(x.getType());
  int64_t rank = type.getRank();
  int64_t axis = *normalizeAxis(op.getAxis(), rank);
  std::string t = typeText(type.getElementType());
  bool isFloat = isFloatText(t);
  std::string ct = isFloat ? "f32" : t;
  SmallVector<AffineExpr> dims = e.dims(x);
  AffineExpr inner = e.product(ArrayRef<AffineExpr>(dims).drop_front(axis + 1));
  AffineExpr columns = e.product(ArrayRef<AffineExpr>(dims).take_front(axis)) * inner;

  KernelText k(kThreads);
  std::string out = k.buffer("out", "i32"), in = k.buffer("x", t);
  std::string nCols = k.index("columns"), nInner = k.index("inner"),
              size = k.index("size");
  std::string g = k.globalId();
  std::string ok = k.def("arith.cmpi ult, " + g + ", " + nCols + " : index");
  k.line("scf.if " + ok + " {");
  std::string o = k.def("arith.divui " + g + ", " + nInner + " : index");
  std::string i = k.def("arith.remui " + g + ", " + nInner + " : index");
  std::string span = k.def("arith.muli " + size + ", " + nInner + " : index");
  std::string ob = k.def("arith.muli " + o + ", " + span + " : index");
  std::string base = k.def("arith.addi " + ob + ", " + i + " : index");
  std::string first = k.convert(
      k.def("memref.load " + in + "[" + base + "] : memref<?x" + t + ">"), t,
      ct);
  std::string j = k.fresh(), bestV = k.fresh(), bestI = k.fresh(),
              res = k.fresh();
  k.line(res + ":2 = scf.for " + j + " = " + k.c(1) + " to " + size +
         " step " + k.c(1) + " iter_args(" + bestV + " = " + first + ", " +
         bestI + " = " + k.c(0) + ") -> (" + ct + ", index) {");
  std::string off = k.def("arith.muli " + j + ", " + nInner + " : index");
  std::string at = k.def("arith.addi " + base + ", " + off + " : index");
  std::string v = k.convert(
      k.def("memref.load " + in + "[" + at + "] : memref<?x" + t + ">"), t, ct);
  std::string better;
  if (isFloat) {
    // v ranks before best: best is not NaN and (v is NaN or v > best).
    std::string gt = k.def("arith.cmpf ogt, " + v + ", " + bestV + " : f32");
    std::string vNan = k.def("arith.cmpf uno, " + v + ", " + v + " : f32");
    std::string bNan =
        k.def("arith.cmpf uno, " + bestV + ", " + bestV + " : f32");
    std::string either = k.def("arith.ori " + gt + ", " + vNan + " : i1");
    std::string notB = k.def("arith.xori " + bNan + ", " +
                             k.ci(1, "i1") + " : i1");
    better = k.def("arith.andi " + either + ", " + notB + " : i1");
  } else {
    better = k.def("arith.cmpi sgt, " + v + ", " + bestV + " : " + ct);
  }
  std::string nv =
      k.def("arith.select " + better + ", " + v + ", " + bestV + " : " + ct);
  std::string ni =
      k.def("arith.select " + better + ", " + j + ", " + bestI + " : index");
  k.line("scf.yield " + nv + ", " + ni + " : " + ct + ", index");
  k.line("}");
  std::string idx =
      k.def("arith.index_cast " + res + "#1 : index to i32");
  k.line("memref.store " + idx + ", " + out + "[" + g + "] : memref<?xi32>");
  k.line("}");

  FailureOr<std::string> name =
      e.kernel("argmax", k.str("KERNEL"), op->getLoc());
  if (failed(name))
    return failure();
  int64_t outBuffer = e.define(op.getResult());
  Launch &l = e.launch(*name, op, ceilDiv(columns, kThreads), kThreads);
  l.buffer(outBuffer).buffer(e.bufferOf(x)).index(columns).index(inner).index(
      dims[axis]);
  return success();
}

} // namespace

LogicalResult emitReduction(Operation *op, FunctionEmitter &e) {
  if (auto argmax = dyn_cast<ArgmaxOp>(op))
    return emitArgmax(argmax, e);
  ArrayRef<int64_t> axes;
  if (auto r = dyn_cast<ReduceSumOp>(op))
    axes = r.getAxes();
  else if (auto r = dyn_cast<ReduceMeanOp>(op))
    axes = r.getAxes();
  else
    axes = cast<ReduceMaxOp>(op).getAxes();
  return emitReduce(op, e, axes);
}

} // namespace kopt::gpu
