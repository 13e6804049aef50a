//===- DataMovementKernels.cpp - Copies, gathers and rope on the GPU ------===//
//
// One thread per output element, index arithmetic in 64-bit `index`.
// reshape is an alias of its operand's memory (row-major, no copy); concat
// is one launch per operand into its slab of the result. Indices read from
// memory (embedding ids, gather indices, cache offsets) are checked; a bad
// one is reported through the status buffer and the element written as 0.
//
//===----------------------------------------------------------------------===//

#include "Families.h"
#include "KernelText.h"

#include "kopt/Dialect/Kopt/KoptOps.h"
#include "kopt/Dialect/Kopt/ShapeUtils.h"

#include <cmath>

using namespace mlir;

namespace kopt::gpu {
namespace {

constexpr int64_t kThreads = 256;

/// Prologue: `g` = global id, inside `scf.if g < n`.
std::string open(KernelText &k, const std::string &n) {
  std::string g = k.globalId();
  std::string ok = k.def("arith.cmpi ult, " + g + ", " + n + " : index");
  k.line("scf.if " + ok + " {");
  return g;
}

FailureOr<std::string> finish(KernelText &k, FunctionEmitter &e,
                              StringRef family, Operation *op) {
  k.line("}");
  return e.kernel(family, k.str("KERNEL"), op->getLoc());
}

LogicalResult emitEmbedding(EmbeddingOp op, FunctionEmitter &e) {
  auto table = cast<RankedTensorType>(op.getTable().getType());
  int64_t vocab = table.getDimSize(0), d = table.getDimSize(1);
  std::string t = elementTypeText(op.getTable()),
              it = elementTypeText(op.getIds());
  KernelText k(kThreads);
  std::string out = k.buffer("out", t), tab = k.buffer("table", t),
              ids = k.buffer("ids", it), status = k.buffer("status", "i64");
  std::string n = k.index("n");
  std::string g = open(k, n);
  std::string tok = k.def("arith.divui " + g + ", " + k.c(d) + " : index");
  std::string col = k.def("arith.remui " + g + ", " + k.c(d) + " : index");
  std::string id = k.convert(
      k.def("memref.load " + ids + "[" + tok + "] : memref<?x" + it + ">"), it,
      "i64");
  std::string lo =
      k.def("arith.cmpi sge, " + id + ", " + k.ci(0, "i64") + " : i64");
  std::string hi =
      k.def("arith.cmpi slt, " + id + ", " + k.ci(vocab, "i64") + " : i64");
  std::string valid = k.def("arith.andi " + lo + ", " + hi + " : i1");
  std::string zero = k.convert(k.f(0.0), "f32", t);
  std::string value = k.fresh();
  k.line(value + " = scf.if " + valid + " -> (" + t + ") {");
  std::string row = k.def("arith.index_cast " + id + " : i64 to index");
  std::string base = k.def("arith.muli " + row + ", " + k.c(d) + " : index");
  std::string at = k.def("arith.addi " + base + ", " + col + " : index");
  std::string v =
      k.def("memref.load " + tab + "[" + at + "] : memref<?x" + t + ">");
  k.line("scf.yield " + v + " : " + t);
  k.line("} else {");
  k.report(status, 1, e.nodeOf(op), id, k.ci(vocab, "i64"));
  k.line("scf.yield " + zero + " : " + t);
  k.line("}");
  k.line("memref.store " + value + ", " + out + "[" + g + "] : memref<?x" + t +
         ">");
  FailureOr<std::string> name = finish(k, e, "embedding", op);
  if (failed(name))
    return failure();
  int64_t outBuffer = e.define(op.getResult());
  AffineExpr count = e.numElements(op.getResult());
  e.launch(*name, op, ceilDiv(count, kThreads), kThreads)
      .buffer(outBuffer)
      .buffer(e.bufferOf(op.getTable()))
      .buffer(e.bufferOf(op.getIds()))
      .buffer(e.status())
      .index(count);
  return success();
}

/// inv_freq in f32 exactly as HF (and the reference) computes it.
SmallVector<float> ropeFrequencies(RopeOp op) {
  int64_t d = cast<RankedTensorType>(op.getInput().getType()).getDimSize(3);
  int64_t rotary = op.getRotaryDim().value_or(d);
  float theta = static_cast<float>(op.getTheta());
  SmallVector<float> inverse;
  for (int64_t i = 0; i < rotary / 2; ++i)
    inverse.push_back(1.0f / std::pow(theta, static_cast<float>(2 * i) /
                                                 static_cast<float>(rotary)));
  return inverse;
}

/// Element `g` (an index into [B, S, H, D]) of rope(`in`) as f32: `pos`
/// holds the [B, S] positions and `freq` the op's ropeFrequencies.
std::string ropeElement(KernelText &k, RopeOp op, const std::string &in,
                        const std::string &pos, const std::string &freq,
                        const std::string &g) {
  auto type = cast<RankedTensorType>(op.getInput().getType());
  int64_t h = type.getDimSize(2), d = type.getDimSize(3);
  int64_t rotary = op.getRotaryDim().value_or(d);
  int64_t half = rotary / 2;
  std::string t = elementTypeText(op.getInput()),
              pt = elementTypeText(op.getPositions());
  std::string c = k.def("arith.remui " + g + ", " + k.c(d) + " : index");
  std::string row = k.def("arith.divui " + g + ", " + k.c(d) + " : index");
  std::string token = k.def("arith.divui " + row + ", " + k.c(h) + " : index");
  std::string v = k.convert(
      k.def("memref.load " + in + "[" + g + "] : memref<?x" + t + ">"), t,
      "f32");
  std::string rotated =
      k.def("arith.cmpi ult, " + c + ", " + k.c(rotary) + " : index");
  std::string result = k.fresh();
  k.line(result + " = scf.if " + rotated + " -> (f32) {");
  std::string first =
      k.def("arith.cmpi ult, " + c + ", " + k.c(half) + " : index");
  std::string i = k.def("arith.remui " + c + ", " + k.c(half) + " : index");
  std::string p = k.convert(
      k.def("memref.load " + pos + "[" + token + "] : memref<?x" + pt + ">"),
      pt, "f32");
  std::string f = k.def("memref.load " + freq + "[" + i + "] : memref<?xf32>");
  std::string angle = k.def("arith.mulf " + p + ", " + f + " : f32");
  std::string cs = k.def("math.cos " + angle + " : f32");
  std::string sn = k.def("math.sin " + angle + " : f32");
  // The partner element: x[c + half] for the first half, x[c - half] after.
  std::string up = k.def("arith.addi " + g + ", " + k.c(half) + " : index");
  std::string down = k.def("arith.subi " + g + ", " + k.c(half) + " : index");
  std::string at =
      k.def("arith.select " + first + ", " + up + ", " + down + " : index");
  std::string partner = k.convert(
      k.def("memref.load " + in + "[" + at + "] : memref<?x" + t + ">"), t,
      "f32");
  std::string neg = k.def("arith.negf " + partner + " : f32");
  std::string signedPartner =
      k.def("arith.select " + first + ", " + neg + ", " + partner + " : f32");
  std::string a = k.def("arith.mulf " + v + ", " + cs + " : f32");
  std::string b = k.def("arith.mulf " + signedPartner + ", " + sn + " : f32");
  k.line("scf.yield " + k.def("arith.addf " + a + ", " + b + " : f32") +
         " : f32");
  k.line("} else {");
  k.line("scf.yield " + v + " : f32");
  k.line("}");
  return result;
}

/// The in-place cache_update that computes `rope`'s result itself (rope's
/// only use is that update, so no kernel writes it), or null.
CacheUpdateOp cacheUpdateTakingRope(RopeOp rope, FunctionEmitter &e) {
  if (!rope.getResult().hasOneUse())
    return nullptr;
  auto update = dyn_cast<CacheUpdateOp>(*rope.getResult().getUsers().begin());
  if (!update || update.getUpdate() != rope.getResult() ||
      update->getBlock() != rope->getBlock())
    return nullptr;
  // The cache's buffer exists when the rope is emitted.
  Operation *cacheDef = update.getCache().getDefiningOp();
  if (cacheDef && (cacheDef->getBlock() != rope->getBlock() ||
                   !cacheDef->isBeforeInBlock(rope)))
    return nullptr;
  return e.updatableInPlace(update.getCache()) ? update : nullptr;
}

LogicalResult emitRope(RopeOp op, FunctionEmitter &e) {
  if (cacheUpdateTakingRope(op, e))
    return success(); // emitCacheUpdateInPlace computes it
  Value x = op.getInput();
  std::string t = elementTypeText(x), pt = elementTypeText(op.getPositions());
  KernelText k(kThreads);
  std::string out = k.buffer("out", t), in = k.buffer("x", t),
              pos = k.buffer("pos", pt), freq = k.buffer("freq", "f32");
  std::string n = k.index("n");
  std::string g = open(k, n);
  std::string result = ropeElement(k, op, in, pos, freq, g);
  k.line("memref.store " + k.convert(result, "f32", t) + ", " + out + "[" + g +
         "] : memref<?x" + t + ">");
  FailureOr<std::string> name = finish(k, e, "rope", op);
  if (failed(name))
    return failure();
  int64_t freqBuffer =
      e.constantBuffer(Float32Type::get(e.context()), ropeFrequencies(op));
  int64_t outBuffer = e.define(op.getResult());
  AffineExpr count = e.numElements(op.getResult());
  e.launch(*name, op, ceilDiv(count, kThreads), kThreads)
      .buffer(outBuffer)
      .buffer(e.bufferOf(x))
      .buffer(e.bufferOf(op.getPositions()))
      .buffer(freqBuffer)
      .index(count);
  return success();
}

/// cache_update in place: the result is the cache operand's memory (its only
/// use, so nothing reads the old contents later) and one thread per element
/// of `new` writes it (computing rope(k) itself where `new` is a rope only
/// it reads); a bad offset writes nothing and is reported.
LogicalResult emitCacheUpdateInPlace(CacheUpdateOp op, FunctionEmitter &e) {
  std::string t = elementTypeText(op.getCache()),
              ot = elementTypeText(op.getOffset());
  SmallVector<AffineExpr> cacheDims = e.dims(op.getCache());
  SmallVector<AffineExpr> newDims = e.dims(op.getUpdate());
  AffineExpr row = cacheDims[2] * cacheDims[3]; // H * D
  auto rope = op.getUpdate().getDefiningOp<RopeOp>();
  if (rope && cacheUpdateTakingRope(rope, e) != op)
    rope = nullptr;
  KernelText k(kThreads);
  std::string cache = k.buffer("cache", t), update = k.buffer("update", t),
              offs = k.buffer("offset", ot), status = k.buffer("status", "i64");
  std::string positions, freq;
  if (rope) {
    positions = k.buffer("pos", elementTypeText(rope.getPositions()));
    freq = k.buffer("freq", "f32");
  }
  std::string n = k.index("n"), smax = k.index("smax"), s = k.index("s"),
              hd = k.index("hd");
  std::string g = open(k, n);
  std::string inner = k.def("arith.remui " + g + ", " + hd + " : index");
  std::string pos = k.def("arith.divui " + g + ", " + hd + " : index");
  std::string si = k.def("arith.remui " + pos + ", " + s + " : index");
  std::string b = k.def("arith.divui " + pos + ", " + s + " : index");
  std::string off64 = k.convert(
      k.def("memref.load " + offs + "[" + b + "] : memref<?x" + ot + ">"), ot,
      "i64");
  std::string s64 = k.def("arith.index_cast " + s + " : index to i64");
  std::string smax64 = k.def("arith.index_cast " + smax + " : index to i64");
  std::string end = k.def("arith.addi " + off64 + ", " + s64 + " : i64");
  std::string negative =
      k.def("arith.cmpi slt, " + off64 + ", " + k.ci(0, "i64") + " : i64");
  std::string over = k.def("arith.cmpi sgt, " + end + ", " + smax64 + " : i64");
  std::string bad = k.def("arith.ori " + negative + ", " + over + " : i1");
  k.line("scf.if " + bad + " {");
  std::string first = k.def(  // one report per batch row
      "arith.andi " +
      k.def("arith.cmpi eq, " + si + ", " + k.c(0) + " : index") + ", " +
      k.def("arith.cmpi eq, " + inner + ", " + k.c(0) + " : index") + " : i1");
  k.line("scf.if " + first + " {");
  k.report(status, 2, e.nodeOf(op), end, smax64);
  k.line("}");
  k.line("} else {");
  std::string offIdx = k.def("arith.index_cast " + off64 + " : i64 to index");
  std::string cacheRow = k.def(
      "arith.addi " + k.def("arith.muli " + b + ", " + smax + " : index") +
      ", " + k.def("arith.addi " + offIdx + ", " + si + " : index") +
      " : index");
  std::string at = k.def(
      "arith.addi " + k.def("arith.muli " + cacheRow + ", " + hd + " : index") +
      ", " + inner + " : index");
  std::string value =
      rope ? k.convert(ropeElement(k, rope, update, positions, freq, g), "f32",
                       t)
           : k.def("memref.load " + update + "[" + g + "] : memref<?x" + t +
                   ">");
  k.line("memref.store " + value + ", " + cache + "[" + at + "] : memref<?x" +
         t + ">");
  k.line("}");
  FailureOr<std::string> name = finish(k, e, "cache_update", op);
  if (failed(name))
    return failure();
  e.alias(op.getResult(), op.getCache());
  AffineExpr count = e.numElements(op.getUpdate());
  Launch &l = e.launch(*name, op, ceilDiv(count, kThreads), kThreads);
  l.buffer(e.bufferOf(op.getCache()))
      .buffer(e.bufferOf(rope ? rope.getInput() : op.getUpdate()))
      .buffer(e.bufferOf(op.getOffset()))
      .buffer(e.status());
  if (rope)
    l.buffer(e.bufferOf(rope.getPositions()))
        .buffer(e.constantBuffer(Float32Type::get(e.context()),
                                 ropeFrequencies(rope)));
  l.index(count)
      .index(cacheDims[1])
      .index(newDims[1])
      .index(row);
  return success();
}

LogicalResult emitCacheUpdate(CacheUpdateOp op, FunctionEmitter &e) {
  if (e.updatableInPlace(op.getCache()))
    return emitCacheUpdateInPlace(op, e);
  std::string t = elementTypeText(op.getCache()),
              ot = elementTypeText(op.getOffset());
  SmallVector<AffineExpr> cacheDims = e.dims(op.getCache());
  SmallVector<AffineExpr> newDims = e.dims(op.getUpdate());
  AffineExpr row = cacheDims[2] * cacheDims[3]; // H * D
  KernelText k(kThreads);
  std::string out = k.buffer("out", t), cache = k.buffer("cache", t),
              update = k.buffer("update", t), offs = k.buffer("offset", ot),
              status = k.buffer("status", "i64");
  std::string n = k.index("n"), smax = k.index("smax"), s = k.index("s"),
              hd = k.index("hd");
  std::string g = open(k, n);
  std::string inner = k.def("arith.remui " + g + ", " + hd + " : index");
  std::string pos = k.def("arith.divui " + g + ", " + hd + " : index");
  std::string si = k.def("arith.remui " + pos + ", " + smax + " : index");
  std::string b = k.def("arith.divui " + pos + ", " + smax + " : index");
  std::string off64 = k.convert(
      k.def("memref.load " + offs + "[" + b + "] : memref<?x" + ot + ">"), ot,
      "i64");
  std::string s64 = k.def("arith.index_cast " + s + " : index to i64");
  std::string smax64 = k.def("arith.index_cast " + smax + " : index to i64");
  std::string end = k.def("arith.addi " + off64 + ", " + s64 + " : i64");
  std::string negative =
      k.def("arith.cmpi slt, " + off64 + ", " + k.ci(0, "i64") + " : i64");
  std::string over = k.def("arith.cmpi sgt, " + end + ", " + smax64 + " : i64");
  std::string bad = k.def("arith.ori " + negative + ", " + over + " : i1");
  std::string si64 = k.def("arith.index_cast " + si + " : index to i64");
  std::string rel = k.def("arith.subi " + si64 + ", " + off64 + " : i64");
  std::string geq =
      k.def("arith.cmpi sge, " + rel + ", " + k.ci(0, "i64") + " : i64");
  std::string lt = k.def("arith.cmpi slt, " + rel + ", " + s64 + " : i64");
  std::string inNew = k.def("arith.andi " + geq + ", " + lt + " : i1");
  std::string good =
      k.def("arith.xori " + bad + ", " + k.ci(1, "i1") + " : i1");
  std::string fromNew = k.def("arith.andi " + inNew + ", " + good + " : i1");
  std::string value = k.fresh();
  k.line(value + " = scf.if " + fromNew + " -> (" + t + ") {");
  std::string relIdx = k.def("arith.index_cast " + rel + " : i64 to index");
  std::string bs = k.def("arith.muli " + b + ", " + s + " : index");
  std::string r = k.def("arith.addi " + bs + ", " + relIdx + " : index");
  std::string rb = k.def("arith.muli " + r + ", " + hd + " : index");
  std::string at = k.def("arith.addi " + rb + ", " + inner + " : index");
  k.line("scf.yield " +
         k.def("memref.load " + update + "[" + at + "] : memref<?x" + t + ">") +
         " : " + t);
  k.line("} else {");
  k.line("scf.yield " +
         k.def("memref.load " + cache + "[" + g + "] : memref<?x" + t + ">") +
         " : " + t);
  k.line("}");
  k.line("memref.store " + value + ", " + out + "[" + g + "] : memref<?x" + t +
         ">");
  std::string first =
      k.def("arith.cmpi eq, " + si + ", " + k.c(0) + " : index");
  std::string firstInner =
      k.def("arith.cmpi eq, " + inner + ", " + k.c(0) + " : index");
  std::string reporter =
      k.def("arith.andi " + first + ", " + firstInner + " : i1");
  std::string doReport = k.def("arith.andi " + reporter + ", " + bad + " : i1");
  k.line("scf.if " + doReport + " {");
  k.report(status, 2, e.nodeOf(op), end, smax64);
  k.line("}");
  FailureOr<std::string> name = finish(k, e, "cache_update", op);
  if (failed(name))
    return failure();
  int64_t outBuffer = e.define(op.getResult());
  AffineExpr count = e.numElements(op.getResult());
  e.launch(*name, op, ceilDiv(count, kThreads), kThreads)
      .buffer(outBuffer)
      .buffer(e.bufferOf(op.getCache()))
      .buffer(e.bufferOf(op.getUpdate()))
      .buffer(e.bufferOf(op.getOffset()))
      .buffer(e.status())
      .index(count)
      .index(cacheDims[1])
      .index(newDims[1])
      .index(row);
  return success();
}

LogicalResult emitTranspose(TransposeOp op, FunctionEmitter &e) {
  Value x = op.getInput();
  ArrayRef<int64_t> perm = op.getPermutation();
  int64_t rank = perm.size();
  std::string t = elementTypeText(x);
  SmallVector<AffineExpr> inDims = e.dims(x);
  SmallVector<AffineExpr> inStrides(rank);
  AffineExpr stride = e.constant(1);
  for (int64_t d = rank - 1; d >= 0; --d) {
    inStrides[d] = stride;
    stride = stride * inDims[d];
  }
  KernelText k(kThreads);
  std::string out = k.buffer("out", t), in = k.buffer("x", t);
  std::string n = k.index("n");
  SmallVector<std::string> sizes, strides;
  for (int64_t d = 0; d < rank; ++d) {
    sizes.push_back(k.index("size" + std::to_string(d)));
    strides.push_back(k.index("stride" + std::to_string(d)));
  }
  std::string g = open(k, n);
  std::string rest = g, offset = k.c(0);
  for (int64_t d = rank - 1; d >= 0; --d) {
    std::string c = k.def("arith.remui " + rest + ", " + sizes[d] + " : index");
    rest = k.def("arith.divui " + rest + ", " + sizes[d] + " : index");
    std::string term =
        k.def("arith.muli " + c + ", " + strides[d] + " : index");
    offset = k.def("arith.addi " + offset + ", " + term + " : index");
  }
  k.line("memref.store " +
         k.def("memref.load " + in + "[" + offset + "] : memref<?x" + t + ">") +
         ", " + out + "[" + g + "] : memref<?x" + t + ">");
  FailureOr<std::string> name = finish(k, e, "transpose", op);
  if (failed(name))
    return failure();
  int64_t outBuffer = e.define(op.getResult());
  AffineExpr count = e.numElements(op.getResult());
  Launch &l = e.launch(*name, op, ceilDiv(count, kThreads), kThreads);
  l.buffer(outBuffer).buffer(e.bufferOf(x)).index(count);
  // Output dim d is input dim perm[d].
  for (int64_t d = 0; d < rank; ++d)
    l.index(inDims[perm[d]]).index(inStrides[perm[d]]);
  return success();
}

/// Copies `src` viewed as [outer, srcAxis, inner] into (or out of) a slab
/// of a [outer, dstAxis, inner] buffer starting at `start` along the axis.
FailureOr<std::string> slabKernel(FunctionEmitter &e, Operation *op,
                                  const std::string &t, bool intoDst) {
  KernelText k(kThreads);
  std::string out = k.buffer("out", t), in = k.buffer("x", t);
  std::string n = k.index("n"), inner = k.index("inner"),
              small = k.index("small"), big = k.index("big"),
              start = k.index("start");
  std::string g = open(k, n);
  // g enumerates the small (slab) shape [outer, small, inner].
  std::string i = k.def("arith.remui " + g + ", " + inner + " : index");
  std::string rest = k.def("arith.divui " + g + ", " + inner + " : index");
  std::string a = k.def("arith.remui " + rest + ", " + small + " : index");
  std::string o = k.def("arith.divui " + rest + ", " + small + " : index");
  std::string ob = k.def("arith.muli " + o + ", " + big + " : index");
  std::string as = k.def("arith.addi " + a + ", " + start + " : index");
  std::string row = k.def("arith.addi " + ob + ", " + as + " : index");
  std::string rb = k.def("arith.muli " + row + ", " + inner + " : index");
  std::string bigAt = k.def("arith.addi " + rb + ", " + i + " : index");
  std::string from = intoDst ? g : bigAt, to = intoDst ? bigAt : g;
  k.line("memref.store " +
         k.def("memref.load " + in + "[" + from + "] : memref<?x" + t + ">") +
         ", " + out + "[" + to + "] : memref<?x" + t + ">");
  return finish(k, e, intoDst ? "concat" : "slice", op);
}

LogicalResult emitConcat(ConcatOp op, FunctionEmitter &e) {
  auto type = cast<RankedTensorType>(op.getResult().getType());
  int64_t rank = type.getRank();
  int64_t axis = *normalizeAxis(op.getAxis(), rank);
  std::string t = elementTypeText(op.getResult());
  FailureOr<std::string> name = slabKernel(e, op, t, /*intoDst=*/true);
  if (failed(name))
    return failure();
  int64_t outBuffer = e.define(op.getResult());
  SmallVector<AffineExpr> outDims = e.dims(op.getResult());
  AffineExpr inner =
      e.product(ArrayRef<AffineExpr>(outDims).drop_front(axis + 1));
  AffineExpr start = e.constant(0);
  for (Value input : op->getOperands()) {
    AffineExpr size = e.dims(input)[axis];
    AffineExpr count = e.numElements(input);
    e.launch(*name, op, ceilDiv(count, kThreads), kThreads)
        .buffer(outBuffer)
        .buffer(e.bufferOf(input))
        .index(count)
        .index(inner)
        .index(size)
        .index(outDims[axis])
        .index(start);
    start = start + size;
  }
  return success();
}

LogicalResult emitSlice(SliceOp op, FunctionEmitter &e) {
  Value x = op.getInput();
  int64_t rank = cast<RankedTensorType>(x.getType()).getRank();
  int64_t axis = *normalizeAxis(op.getAxis(), rank);
  std::string t = elementTypeText(x);
  FailureOr<std::string> name = slabKernel(e, op, t, /*intoDst=*/false);
  if (failed(name))
    return failure();
  int64_t outBuffer = e.define(op.getResult());
  SmallVector<AffineExpr> inDims = e.dims(x);
  AffineExpr count = e.numElements(op.getResult());
  e.launch(*name, op, ceilDiv(count, kThreads), kThreads)
      .buffer(outBuffer)
      .buffer(e.bufferOf(x))
      .index(count)
      .index(e.product(ArrayRef<AffineExpr>(inDims).drop_front(axis + 1)))
      .index(e.dims(op.getResult())[axis])
      .index(inDims[axis])
      .index(e.constant(op.getStart()));
  return success();
}

LogicalResult emitGather(GatherOp op, FunctionEmitter &e) {
  Value x = op.getInput(), idx = op.getIndices();
  auto xType = cast<RankedTensorType>(x.getType());
  auto iType = cast<RankedTensorType>(idx.getType());
  int64_t rank = xType.getRank(), indexRank = iType.getRank();
  int64_t axis = *normalizeAxis(op.getAxis(), rank);
  std::string t = elementTypeText(x), it = elementTypeText(idx);
  SmallVector<AffineExpr> inDims = e.dims(x), outDims = e.dims(op.getResult()),
                          iDims = e.dims(idx);
  auto stridesOf = [&](ArrayRef<AffineExpr> dims) {
    SmallVector<AffineExpr> s(dims.size());
    AffineExpr stride = e.constant(1);
    for (int64_t d = dims.size() - 1; d >= 0; --d) {
      s[d] = stride;
      stride = stride * dims[d];
    }
    return s;
  };
  SmallVector<AffineExpr> inStrides = stridesOf(inDims),
                          iStrides = stridesOf(iDims);
  KernelText k(kThreads);
  std::string out = k.buffer("out", t), in = k.buffer("x", t),
              ind = k.buffer("idx", it), status = k.buffer("status", "i64");
  std::string n = k.index("n"), axisSize = k.index("axis_size");
  SmallVector<std::string> sizes, xs, is;
  for (int64_t d = 0; d < rank; ++d) {
    sizes.push_back(k.index("size" + std::to_string(d)));
    xs.push_back(k.index("xs" + std::to_string(d)));
    is.push_back(k.index("is" + std::to_string(d)));
  }
  std::string g = open(k, n);
  SmallVector<std::string> coord(rank);
  std::string rest = g;
  for (int64_t d = rank - 1; d >= 0; --d) {
    coord[d] = k.def("arith.remui " + rest + ", " + sizes[d] + " : index");
    rest = k.def("arith.divui " + rest + ", " + sizes[d] + " : index");
  }
  std::string iAt = k.c(0);
  for (int64_t d = 0; d < rank; ++d) {
    std::string term =
        k.def("arith.muli " + coord[d] + ", " + is[d] + " : index");
    iAt = k.def("arith.addi " + iAt + ", " + term + " : index");
  }
  std::string sel = k.convert(
      k.def("memref.load " + ind + "[" + iAt + "] : memref<?x" + it + ">"), it,
      "i64");
  std::string size64 =
      k.def("arith.index_cast " + axisSize + " : index to i64");
  std::string lo =
      k.def("arith.cmpi sge, " + sel + ", " + k.ci(0, "i64") + " : i64");
  std::string hi = k.def("arith.cmpi slt, " + sel + ", " + size64 + " : i64");
  std::string valid = k.def("arith.andi " + lo + ", " + hi + " : i1");
  std::string value = k.fresh();
  k.line(value + " = scf.if " + valid + " -> (" + t + ") {");
  std::string selIdx = k.def("arith.index_cast " + sel + " : i64 to index");
  std::string xAt = k.c(0);
  for (int64_t d = 0; d < rank; ++d) {
    std::string c = d == axis ? selIdx : coord[d];
    std::string term = k.def("arith.muli " + c + ", " + xs[d] + " : index");
    xAt = k.def("arith.addi " + xAt + ", " + term + " : index");
  }
  k.line("scf.yield " +
         k.def("memref.load " + in + "[" + xAt + "] : memref<?x" + t + ">") +
         " : " + t);
  k.line("} else {");
  k.report(status, 1, e.nodeOf(op), sel, size64);
  k.line("scf.yield " + k.convert(k.f(0.0), "f32", t) + " : " + t);
  k.line("}");
  k.line("memref.store " + value + ", " + out + "[" + g + "] : memref<?x" + t +
         ">");
  FailureOr<std::string> name = finish(k, e, "gather", op);
  if (failed(name))
    return failure();
  int64_t outBuffer = e.define(op.getResult());
  AffineExpr count = e.numElements(op.getResult());
  Launch &l = e.launch(*name, op, ceilDiv(count, kThreads), kThreads);
  l.buffer(outBuffer)
      .buffer(e.bufferOf(x))
      .buffer(e.bufferOf(idx))
      .buffer(e.status())
      .index(count)
      .index(inDims[axis]);
  for (int64_t d = 0; d < rank; ++d) {
    // Index strides: dims past the index rank or of size 1 after the axis
    // broadcast (stride 0).
    AffineExpr is = e.constant(0);
    if (d < indexRank &&
        (d <= axis || iType.isDynamicDim(d) || iType.getDimSize(d) != 1))
      is = iStrides[d];
    l.index(outDims[d]).index(inStrides[d]).index(is);
  }
  return success();
}

} // namespace

LogicalResult emitDataMovement(Operation *op, FunctionEmitter &e) {
  if (auto reshape = dyn_cast<ReshapeOp>(op)) {
    e.alias(reshape.getResult(), reshape.getInput());
    return success();
  }
  if (auto o = dyn_cast<EmbeddingOp>(op))
    return emitEmbedding(o, e);
  if (auto o = dyn_cast<RopeOp>(op))
    return emitRope(o, e);
  if (auto o = dyn_cast<CacheUpdateOp>(op))
    return emitCacheUpdate(o, e);
  if (auto o = dyn_cast<TransposeOp>(op))
    return emitTranspose(o, e);
  if (auto o = dyn_cast<ConcatOp>(op))
    return emitConcat(o, e);
  if (auto o = dyn_cast<SliceOp>(op))
    return emitSlice(o, e);
  return emitGather(cast<GatherOp>(op), e);
}

} // namespace kopt::gpu
