//===- SelectionKernels.cpp - topk on the GPU -----------------------------===//
//
// kopt.topk: one warp per column of the [outer, R, inner] view. Pass j of k
// finds the element ranking first among those ranking after pass j-1's pick
// (torch.topk's order: larger first, NaN above all, ties to the lower
// index), each lane scanning a strided share of the column and the warp
// combining (value, index) pairs with xor shuffles. No scratch memory and
// no sorting network: k * R / 32 steps per lane, suited to the small k of
// sampling and routing. A dynamic R smaller than k is a reported error.
//
//===----------------------------------------------------------------------===//

#include "Families.h"
#include "KernelText.h"

#include "kopt/Dialect/Kopt/KoptOps.h"
#include "kopt/Dialect/Kopt/ShapeUtils.h"

using namespace mlir;

namespace kopt::gpu {
namespace {

constexpr int64_t kWarps = 8;

/// The type a column is compared in: f32 for floats, i32 or i64 for ints.
std::string compareType(const std::string &t) {
  if (isFloatText(t))
    return "f32";
  return t == "i64" ? "i64" : "i32";
}

} // namespace

LogicalResult emitTopK(TopKOp op, FunctionEmitter &e) {
  Value x = op.getInput();
  auto type = cast<RankedTensorType>(x.getType());
  int64_t axis = *normalizeAxis(op.getAxis(), type.getRank());
  std::string t = typeText(type.getElementType());
  std::string ct = compareType(t);
  SmallVector<AffineExpr> dims = e.dims(x);
  AffineExpr inner = e.product(ArrayRef<AffineExpr>(dims).drop_front(axis + 1));
  AffineExpr columns =
      e.product(ArrayRef<AffineExpr>(dims).take_front(axis)) * inner;
  int64_t kCount = static_cast<int64_t>(op.getK());

  KernelText k(kWarps * 32);
  std::string values = k.buffer("values", t), indices = k.buffer("indices", "i32"),
              in = k.buffer("x", t), status = k.buffer("status", "i64");
  std::string nCols = k.index("columns"), nInner = k.index("inner"),
              size = k.index("size");
  std::string lane = k.def("arith.remui " + k.tid() + ", " + k.c(32) + " : index");
  std::string warp = k.def("arith.divui " + k.tid() + ", " + k.c(32) + " : index");
  std::string first = k.def("arith.muli " + k.bid('x') + ", " + k.c(kWarps) +
                            " : index");
  std::string col = k.def("arith.addi " + first + ", " + warp + " : index");
  std::string tooShort = k.def("arith.cmpi ult, " + size + ", " + k.c(kCount) +
                               " : index");
  std::string reporter = k.def(
      "arith.andi " + tooShort +
      ", " + k.def("arith.cmpi eq, " + k.globalId() + ", " + k.c(0) + " : index") +
      " : i1");
  k.line("scf.if " + reporter + " {");
  k.report(status, 1, e.nodeOf(op), k.ci(kCount, "i64"),
           k.def("arith.index_cast " + size + " : index to i64"));
  k.line("}");
  std::string run = k.def(
      "arith.andi " + k.def("arith.cmpi ult, " + col + ", " + nCols + " : index") +
      ", " + k.def("arith.xori " + tooShort + ", " + k.ci(1, "i1") + " : i1") +
      " : i1");
  k.line("scf.if " + run + " {");
  std::string o = k.def("arith.divui " + col + ", " + nInner + " : index");
  std::string i = k.def("arith.remui " + col + ", " + nInner + " : index");
  std::string span = k.def("arith.muli " + size + ", " + nInner + " : index");
  std::string base = k.def("arith.addi " +
                           k.def("arith.muli " + o + ", " + span + " : index") +
                           ", " + i + " : index");
  std::string outSpan = k.def("arith.muli " + k.c(kCount) + ", " + nInner +
                              " : index");
  std::string outBase = k.def(
      "arith.addi " + k.def("arith.muli " + o + ", " + outSpan + " : index") +
      ", " + i + " : index");
  std::string zero = isFloatText(t) ? k.f(0.0) : k.ci(0, ct);
  std::string falseV = k.ci(0, "i1"), trueV = k.ci(1, "i1");

  std::string j = k.fresh(), pv = k.fresh(), pi = k.fresh(), has = k.fresh();
  std::string passes = k.fresh();
  k.line(passes + ":3 = scf.for " + j + " = " + k.c(0) + " to " + k.c(kCount) +
         " step " + k.c(1) + " iter_args(" + pv + " = " + zero + ", " + pi +
         " = " + k.c(0) + ", " + has + " = " + falseV + ") -> (" + ct +
         ", index, i1) {");
  // This lane's best among the elements ranking after the previous pick.
  std::string r = k.fresh(), bv = k.fresh(), bi = k.fresh(), bok = k.fresh();
  std::string scan = k.fresh();
  k.line(scan + ":3 = scf.for " + r + " = " + lane + " to " + size + " step " +
         k.c(32) + " iter_args(" + bv + " = " + zero + ", " + bi + " = " +
         k.c(0) + ", " + bok + " = " + falseV + ") -> (" + ct +
         ", index, i1) {");
  std::string at = k.def(
      "arith.addi " + base + ", " +
      k.def("arith.muli " + r + ", " + nInner + " : index") + " : index");
  std::string v = k.convert(
      k.def("memref.load " + in + "[" + at + "] : memref<?x" + t + ">"), t, ct);
  std::string take = k.selectionTakes(v, r, bv, bi, bok, pv, pi, has, ct);
  k.line("scf.yield " +
         k.def("arith.select " + take + ", " + v + ", " + bv + " : " + ct) +
         ", " + k.def("arith.select " + take + ", " + r + ", " + bi + " : index") +
         ", " + k.def("arith.ori " + take + ", " + bok + " : i1") + " : " + ct +
         ", index, i1");
  k.line("}");
  // Combine across the warp: every lane ends with the warp's best.
  std::string wv = scan + "#0", wi = scan + "#1", wok = scan + "#2";
  for (int offset = 16; offset >= 1; offset /= 2) {
    std::string ov = k.shuffleXor(wv, offset, ct);
    std::string oi = k.def("arith.index_cast " +
                           k.shuffleXor(k.def("arith.index_cast " + wi +
                                              " : index to i32"),
                                        offset, "i32") +
                           " : i32 to index");
    std::string ook = k.def(
        "arith.trunci " +
        k.shuffleXor(k.def("arith.extui " + wok + " : i1 to i32"), offset,
                     "i32") +
        " : i32 to i1");
    std::string mineMissing = k.def("arith.xori " + wok + ", " + trueV + " : i1");
    std::string better = k.def("arith.ori " + mineMissing + ", " +
                               k.rankedBefore(ov, oi, wv, wi, ct) + " : i1");
    std::string takeOther = k.def("arith.andi " + ook + ", " + better + " : i1");
    wv = k.def("arith.select " + takeOther + ", " + ov + ", " + wv + " : " + ct);
    wi = k.def("arith.select " + takeOther + ", " + oi + ", " + wi + " : index");
    wok = k.def("arith.ori " + takeOther + ", " + wok + " : i1");
  }
  std::string leader = k.def("arith.cmpi eq, " + lane + ", " + k.c(0) + " : index");
  k.line("scf.if " + leader + " {");
  std::string src = k.def(
      "arith.addi " + base + ", " +
      k.def("arith.muli " + wi + ", " + nInner + " : index") + " : index");
  std::string dst = k.def(
      "arith.addi " + outBase + ", " +
      k.def("arith.muli " + j + ", " + nInner + " : index") + " : index");
  // The original element, bit for bit (f64 would not survive f32).
  std::string original =
      k.def("memref.load " + in + "[" + src + "] : memref<?x" + t + ">");
  k.line("memref.store " + original + ", " + values + "[" + dst +
         "] : memref<?x" + t + ">");
  k.line("memref.store " + k.def("arith.index_cast " + wi + " : index to i32") +
         ", " + indices + "[" + dst + "] : memref<?xi32>");
  k.line("}");
  k.line("scf.yield " + wv + ", " + wi + ", " + trueV + " : " + ct +
         ", index, i1");
  k.line("}");
  k.line("}");

  FailureOr<std::string> name = e.kernel("topk", k.str("KERNEL"), op->getLoc());
  if (failed(name))
    return failure();
  int64_t valuesBuffer = e.define(op.getValues());
  int64_t indicesBuffer = e.define(op.getIndices());
  Launch &l = e.launch(*name, op, ceilDiv(columns, kWarps), kWarps * 32);
  l.buffer(valuesBuffer).buffer(indicesBuffer).buffer(e.bufferOf(x))
      .buffer(e.status()).index(columns).index(inner).index(dims[axis]);
  return success();
}

} // namespace kopt::gpu
