//===- AttentionKernels.cpp - attention on the GPU ------------------------===//
//
// Decode (fewer than 16 queries): split-KV. Where the head dim splits into
// 16-byte chunks, the grouped-head kernel of DecodeAttentionKernel.h; else
// one warp per (batch, query head, query, 256-key slice): each lane owns
// D/32 dims of the query and of the accumulator; the warp walks only the visible keys of its slice (kv_len,
// causal and sliding-window bounds become loop bounds, so out-of-window
// slices cost nothing), computing each score with a shuffle reduction and
// keeping an online softmax (running max and sum) in f32; a combine kernel
// rescales the slices to the global max (for the grouped kernel over a
// static number of splits, the block finishing last does). GQA: query head h reads kv head
// h / (Hq / Hkv). A row with no visible key writes zeros.
// Prefill: on sm_90a the wgmma FlashAttention kernel
// (WgmmaAttentionKernel.h), on sm_80/89 the mma.sync one
// (FlashAttentionKernel.h), where they apply; else the same warp kernel
// over all keys. Launch guards
// on Sq pick the path at run time.
//
//===----------------------------------------------------------------------===//

#include "AttentionBounds.h"
#include "DecodeAttentionKernel.h"
#include "Families.h"
#include "FlashAttentionKernel.h"
#include "WgmmaAttentionKernel.h"
#include "KernelText.h"

#include "kopt/Dialect/Kopt/KoptOps.h"

#include <cmath>

using namespace mlir;

namespace kopt::gpu {

namespace {

/// Keys per split of the decode kernel.
constexpr int64_t kSplitKeys = 256;
/// Query counts from which prefill kernels run (below: split-KV decode).
constexpr int64_t kLongQueries = FlashAttentionShape::minQueries;

/// out[row, d] from the splits' (max, sum, accumulator): a thread per
/// output element rescales every split to the global max.
FailureOr<std::string> combineKernel(FunctionEmitter &e, AttentionOp op,
                                     const std::string &t, int64_t d,
                                     std::optional<int64_t> staticSplits) {
  KernelText k(128);
  std::string out = k.buffer("out", t), partMax = k.buffer("part_max", "f32"),
              partSum = k.buffer("part_sum", "f32"),
              partAcc = k.buffer("part_acc", "f32");
  std::string total = k.index("total"), splits = k.index("splits");
  std::string g = k.globalId();
  k.line("scf.if " + k.def("arith.cmpi ult, " + g + ", " + total + " : index") +
         " {");
  std::string row = k.def("arith.divui " + g + ", " + k.c(d) + " : index");
  std::string dim = k.def("arith.remui " + g + ", " + k.c(d) + " : index");
  std::string first = k.def("arith.muli " + row + ", " + splits + " : index");
  auto load = [&](const std::string &buffer, const std::string &split,
                  bool acc) {
    std::string at = k.def("arith.addi " + first + ", " + split + " : index");
    if (acc)
      at = k.def("arith.addi " +
                 k.def("arith.muli " + at + ", " + k.c(d) + " : index") +
                 ", " + dim + " : index");
    return k.def("memref.load " + buffer + "[" + at + "] : memref<?xf32>");
  };
  auto safeMax = [&](const std::string &maxV) {
    std::string none = k.def("arith.cmpf oeq, " + maxV + ", " +
                             k.f(-INFINITY) + " : f32");
    return k.def("arith.select " + none + ", " + k.f(0.0) + ", " + maxV +
                 " : f32");
  };
  std::string sum, accumulated;
  if (staticSplits && *staticSplits <= 64) {
    // Few splits known at compile time: every load is issued up front.
    std::vector<std::string> maxes, sums, accs;
    std::string maxV = k.f(-INFINITY);
    for (int64_t s = 0; s < *staticSplits; ++s) {
      maxes.push_back(load(partMax, k.c(s), false));
      sums.push_back(load(partSum, k.c(s), false));
      accs.push_back(load(partAcc, k.c(s), true));
      maxV = k.def("arith.maximumf " + maxV + ", " + maxes.back() + " : f32");
    }
    std::string safe = safeMax(maxV);
    sum = k.f(0.0), accumulated = k.f(0.0);
    for (int64_t s = 0; s < *staticSplits; ++s) {
      std::string w = k.def(
          "math.exp " +
          k.def("arith.subf " + maxes[s] + ", " + safe + " : f32") + " : f32");
      sum = k.def("math.fma " + sums[s] + ", " + w + ", " + sum + " : f32");
      accumulated = k.def("math.fma " + accs[s] + ", " + w + ", " +
                          accumulated + " : f32");
    }
  } else {
    std::string s = k.fresh(), m = k.fresh(), maxV = k.fresh();
    k.line(maxV + " = scf.for " + s + " = " + k.c(0) + " to " + splits +
           " step " + k.c(1) + " iter_args(" + m + " = " + k.f(-INFINITY) +
           ") -> (f32) {");
    k.line("scf.yield " +
           k.def("arith.maximumf " + m + ", " + load(partMax, s, false) +
                 " : f32") +
           " : f32");
    k.line("}");
    std::string safe = safeMax(maxV);
    std::string s2 = k.fresh(), l = k.fresh(), acc = k.fresh(),
                sums = k.fresh();
    k.line(sums + ":2 = scf.for " + s2 + " = " + k.c(0) + " to " + splits +
           " step " + k.c(1) + " iter_args(" + l + " = " + k.f(0.0) + ", " +
           acc + " = " + k.f(0.0) + ") -> (f32, f32) {");
    std::string w = k.def(
        "math.exp " +
        k.def("arith.subf " + load(partMax, s2, false) + ", " + safe +
              " : f32") +
        " : f32");
    k.line("scf.yield " +
           k.def("math.fma " + load(partSum, s2, false) + ", " + w + ", " + l +
                 " : f32") +
           ", " +
           k.def("math.fma " + load(partAcc, s2, true) + ", " + w + ", " +
                 acc + " : f32") +
           " : f32, f32");
    k.line("}");
    sum = sums + "#0";
    accumulated = sums + "#1";
  }
  std::string empty =
      k.def("arith.cmpf oeq, " + sum + ", " + k.f(0.0) + " : f32");
  std::string denom = k.def("arith.select " + empty + ", " + k.f(1.0) + ", " +
                            sum + " : f32");
  std::string value =
      k.def("arith.divf " + accumulated + ", " + denom + " : f32");
  k.line("memref.store " + k.convert(value, "f32", t) + ", " + out + "[" + g +
         "] : memref<?x" + t + ">");
  k.line("}");
  return e.kernel("attention_combine", k.str("KERNEL"), op->getLoc());
}

} // namespace

LogicalResult emitAttention(Operation *o, FunctionEmitter &e) {
  auto op = cast<AttentionOp>(o);
  auto qType = cast<RankedTensorType>(op.getQuery().getType());
  auto kType = cast<RankedTensorType>(op.getKey().getType());
  int64_t hq = qType.getDimSize(2), d = qType.getDimSize(3);
  int64_t hkv = kType.getDimSize(2);
  int64_t perLane = (d + 31) / 32;
  double scale = op.getScale().value_or(1.0 / std::sqrt(double(d)));
  std::string t = typeText(qType.getElementType());
  std::string lt = op.getKvLen()
                       ? typeText(cast<RankedTensorType>(
                                      op.getKvLen().getType())
                                      .getElementType())
                       : "i32";
  constexpr int64_t warps = 4;
  // split: each warp walks one kSplitKeys-slice of the keys and writes its
  // unnormalised (max, sum, accumulator) to f32 scratch for the combine
  // kernel; else it walks all keys and writes the output.
  auto warpKernel = [&](bool split) -> FailureOr<std::string> {
  KernelText k(warps * 32);
  std::string out, partMax, partSum, partAcc;
  if (split) {
    partMax = k.buffer("part_max", "f32");
    partSum = k.buffer("part_sum", "f32");
    partAcc = k.buffer("part_acc", "f32");
  } else {
    out = k.buffer("out", t);
  }
  std::string q = k.buffer("q", t), kk = k.buffer("k", t), v = k.buffer("v", t);
  std::string kvLen = op.getKvLen() ? k.buffer("kv_len", lt) : "";
  std::string status = k.buffer("status", "i64");
  std::string rows = k.index("rows"), sq = k.index("sq"), skv = k.index("skv");
  std::string splits = split ? k.index("splits") : "";
  std::string lane = k.def("arith.remui " + k.tid() + ", " + k.c(32) +
                           " : index");
  std::string warp = k.def("arith.divui " + k.tid() + ", " + k.c(32) +
                           " : index");
  std::string wb = k.def("arith.muli " + k.bid('x') + ", " + k.c(warps) +
                         " : index");
  std::string gw = k.def("arith.addi " + wb + ", " + warp + " : index");
  std::string row = gw, part;
  if (split) {
    row = k.def("arith.divui " + gw + ", " + splits + " : index");
    part = k.def("arith.remui " + gw + ", " + splits + " : index");
  }
  std::string ok = k.def("arith.cmpi ult, " + row + ", " + rows + " : index");
  k.line("scf.if " + ok + " {");
  // row = ((b * Sq) + i) * Hq + h
  std::string h = k.def("arith.remui " + row + ", " + k.c(hq) + " : index");
  std::string bi = k.def("arith.divui " + row + ", " + k.c(hq) + " : index");
  std::string i = k.def("arith.remui " + bi + ", " + sq + " : index");
  std::string b = k.def("arith.divui " + bi + ", " + sq + " : index");
  std::string kvh = k.def("arith.divui " + h + ", " + k.c(hq / hkv) +
                          " : index");
  std::string len64 = visibleLength(k, e, op, kvLen, lt, b, skv, status);
  // p = L - Sq + i (may be negative: then no key is visible when causal).
  std::string sq64 = k.def("arith.index_cast " + sq + " : index to i64");
  std::string i64v = k.def("arith.index_cast " + i + " : index to i64");
  std::string p = k.def("arith.addi " +
                        k.def("arith.subi " + len64 + ", " + sq64 + " : i64") +
                        ", " + i64v + " : i64");
  auto [lo64, hi64] = visibleKeys(k, op, len64, p);
  std::string hiClamped =
      k.def("arith.maxsi " + hi64 + ", " + lo64 + " : i64");
  std::string lo = k.def("arith.index_cast " + lo64 + " : i64 to index");
  std::string hi = k.def("arith.index_cast " + hiClamped + " : i64 to index");

  if (split) {
    std::string first = k.def("arith.muli " + part + ", " + k.c(kSplitKeys) +
                              " : index");
    std::string last = k.def("arith.addi " + first + ", " + k.c(kSplitKeys) +
                             " : index");
    lo = k.def("arith.maxui " + lo + ", " + first + " : index");
    hi = k.def("arith.minui " + hi + ", " + last + " : index");
    hi = k.def("arith.maxui " + hi + ", " + lo + " : index");
  }
  // Query slice of this lane, pre-scaled.
  std::string qBase = k.def("arith.muli " + row + ", " + k.c(d) + " : index");
  SmallVector<std::string> qv, dimOk;
  SmallVector<std::string> dims;
  for (int64_t j = 0; j < perLane; ++j) {
    std::string dd = k.def("arith.addi " + lane + ", " + k.c(32 * j) + " : index");
    dims.push_back(dd);
    bool full = 32 * (j + 1) <= d;
    std::string inDim =
        full ? "" : k.def("arith.cmpi ult, " + dd + ", " + k.c(d) + " : index");
    dimOk.push_back(inDim);
    std::string at = k.def("arith.addi " + qBase + ", " + dd + " : index");
    std::string value =
        full ? k.convert(k.def("memref.load " + q + "[" + at + "] : memref<?x" +
                               t + ">"),
                         t, "f32")
             : k.loadOr(q, at, inDim, t);
    qv.push_back(k.def("arith.mulf " + value + ", " + k.f(scale) + " : f32"));
  }
  // kv row base: ((b * Skv + j) * Hkv + kvh) * D
  std::string bs = k.def("arith.muli " + b + ", " + skv + " : index");
  std::string j = k.fresh(), m = k.fresh(), l = k.fresh(), res = k.fresh();
  SmallVector<std::string> acc;
  std::string iter = m + " = " + k.f(-INFINITY) + ", " + l + " = " + k.f(0.0);
  std::string types = "f32, f32";
  for (int64_t x = 0; x < perLane; ++x) {
    acc.push_back(k.fresh());
    iter += ", " + acc.back() + " = " + k.f(0.0);
    types += ", f32";
  }
  k.line(res + ":" + std::to_string(2 + perLane) + " = scf.for " + j + " = " +
         lo + " to " + hi + " step " + k.c(1) + " iter_args(" + iter +
         ") -> (" + types + ") {");
  std::string r0 = k.def("arith.addi " + bs + ", " + j + " : index");
  std::string r1 = k.def("arith.muli " + r0 + ", " + k.c(hkv) + " : index");
  std::string r2 = k.def("arith.addi " + r1 + ", " + kvh + " : index");
  std::string kvBase = k.def("arith.muli " + r2 + ", " + k.c(d) + " : index");
  auto loadKv = [&](const std::string &mem, int64_t x) {
    std::string at = k.def("arith.addi " + kvBase + ", " + dims[x] + " : index");
    if (dimOk[x].empty())
      return k.convert(
          k.def("memref.load " + mem + "[" + at + "] : memref<?x" + t + ">"), t,
          "f32");
    return k.loadOr(mem, at, dimOk[x], t);
  };
  std::string dot = k.f(0.0);
  for (int64_t x = 0; x < perLane; ++x)
    dot = k.def("math.fma " + qv[x] + ", " + loadKv(kk, x) + ", " + dot +
                " : f32");
  dot = k.warpReduce(dot, "arith.addf");
  std::string mNew = k.def("arith.maximumf " + m + ", " + dot + " : f32");
  std::string corr = k.def(
      "math.exp " + k.def("arith.subf " + m + ", " + mNew + " : f32") + " : f32");
  std::string pj = k.def(
      "math.exp " + k.def("arith.subf " + dot + ", " + mNew + " : f32") +
      " : f32");
  std::string lScaled = k.def("arith.mulf " + l + ", " + corr + " : f32");
  std::string lNew = k.def("arith.addf " + lScaled + ", " + pj + " : f32");
  std::string yields = mNew + ", " + lNew;
  for (int64_t x = 0; x < perLane; ++x) {
    std::string vv = loadKv(v, x);
    std::string scaled = k.def("arith.mulf " + acc[x] + ", " + corr + " : f32");
    yields += ", " + k.def("math.fma " + pj + ", " + vv + ", " + scaled + " : f32");
  }
  k.line("scf.yield " + yields + " : " + types);
  k.line("}");
  if (split) {
    std::string leader =
        k.def("arith.cmpi eq, " + lane + ", " + k.c(0) + " : index");
    k.line("scf.if " + leader + " {");
    k.line("memref.store " + res + "#0, " + partMax + "[" + gw +
           "] : memref<?xf32>");
    k.line("memref.store " + res + "#1, " + partSum + "[" + gw +
           "] : memref<?xf32>");
    k.line("}");
    std::string accBase = k.def("arith.muli " + gw + ", " + k.c(d) + " : index");
    for (int64_t x = 0; x < perLane; ++x) {
      std::string at = k.def("arith.addi " + accBase + ", " + dims[x] + " : index");
      std::string st = "memref.store " + res + "#" + std::to_string(2 + x) +
                       ", " + partAcc + "[" + at + "] : memref<?xf32>";
      if (!dimOk[x].empty())
        k.line("scf.if " + dimOk[x] + " {");
      k.line(st);
      if (!dimOk[x].empty())
        k.line("}");
    }
    k.line("}");
    return e.kernel("attention_split", k.str("KERNEL"), op->getLoc());
  }
  // out = acc / l, or 0 when no key was visible (l == 0).
  std::string lFinal = res + "#1";
  std::string empty =
      k.def("arith.cmpf oeq, " + lFinal + ", " + k.f(0.0) + " : f32");
  std::string denom =
      k.def("arith.select " + empty + ", " + k.f(1.0) + ", " + lFinal + " : f32");
  for (int64_t x = 0; x < perLane; ++x) {
    std::string value = k.def("arith.divf " + res + "#" + std::to_string(2 + x) +
                              ", " + denom + " : f32");
    std::string at = k.def("arith.addi " + qBase + ", " + dims[x] + " : index");
    std::string st = "memref.store " + k.convert(value, "f32", t) + ", " + out +
                     "[" + at + "] : memref<?x" + t + ">";
    if (dimOk[x].empty()) {
      k.line(st);
    } else {
      k.line("scf.if " + dimOk[x] + " {");
      k.line(st);
      k.line("}");
    }
  }
  k.line("}");

  return e.kernel("attention", k.str("KERNEL"), op->getLoc());
  };
  int64_t outBuffer = e.define(op.getResult());
  SmallVector<AffineExpr> qDims = e.dims(op.getQuery()),
                       kDims = e.dims(op.getKey());
  AffineExpr rowsExpr = qDims[0] * qDims[1] * hq;
  auto addOperands = [&](Launch &l) {
    l.buffer(e.bufferOf(op.getQuery()))
        .buffer(e.bufferOf(op.getKey()))
        .buffer(e.bufferOf(op.getValue()));
    if (op.getKvLen())
      l.buffer(e.bufferOf(op.getKvLen()));
    l.buffer(e.status());
  };
  // Decode (Sq < kLongQueries): split-KV blocks (or warps), then the
  // combine kernel; grouped blocks over a single split write the output.
  std::optional<int64_t> staticSq = staticValue(qDims[1]);
  if (!staticSq || *staticSq < kLongQueries) {
    using D = DecodeAttentionShape;
    bool grouped = decodeAttentionApplies(t, d);
    bool mma = grouped && decodeAttentionUsesMma(e.target(), t, d, hq / hkv);
    // Blocks per split: one for each row group, batch row and kv head
    // (dynamic dims counted as 1).
    int64_t columns =
        llvm::divideCeil(staticValue(qDims[1]).value_or(1) * (hq / hkv),
                         D::rows(hq / hkv)) *
        staticValue(qDims[0]).value_or(1) * hkv;
    int64_t warpKeys =
        D::warpKeys(mma, staticValue(kDims[1]).value_or(D::maxWarpKeys(mma) * D::warps),
                    columns, e.target().smCount);
    AffineExpr splits =
        ceilDiv(kDims[1], grouped ? D::warps * warpKeys : kSplitKeys);
    std::optional<int64_t> staticSplits = staticValue(splits);
    bool direct = grouped && staticSplits == 1;
    // Static splits: the block finishing last combines them (no combine
    // launch).
    bool combines = grouped && !direct && staticSplits &&
                    *staticSplits <= D::maxCombinedSplits;
    using Output = DecodeAttentionOutput;
    Output output = direct     ? Output::Direct
                    : combines ? Output::LastBlockCombines
                               : Output::Partials;
    FailureOr<std::string> splitName =
        grouped ? decodeAttentionKernel(e, op, t, lt, hq, hkv, d, scale,
                                        output, combines ? *staticSplits : 0,
                                        warpKeys)
                : warpKernel(/*split=*/true);
    if (failed(splitName))
      return failure();
    Launch &l =
        grouped ? e.launch(*splitName, op, splits, D::threads)
                : e.launch(*splitName, op, ceilDiv(rowsExpr * splits, warps),
                           warps * 32);
    l.guard = qDims[1];
    l.guardMax = kLongQueries - 1;
    if (grouped) {
      l.sharedBytes = D::sharedBytes(mma, d);
      l.grid[1] = ceilDiv(qDims[1] * (hq / hkv), D::rows(hq / hkv));
      l.grid[2] = qDims[0] * hkv;
    }
    if (direct) {
      l.buffer(outBuffer);
      addOperands(l);
      l.index(qDims[1]).index(kDims[1]).index(splits);
    } else {
      // Scratch for at most kLongQueries - 1 queries (it is sized whatever
      // the guard decides at launch).
      int64_t maxSq = staticSq ? *staticSq : kLongQueries - 1;
      AffineExpr decodeRows = qDims[0] * maxSq * hq;
      Type f32 = Float32Type::get(e.context());
      int64_t partMax = e.scratch(f32, {decodeRows, splits});
      int64_t partSum = e.scratch(f32, {decodeRows, splits});
      int64_t partAcc = e.scratch(f32, {decodeRows, splits, e.constant(d)});
      if (combines) {
        // A counter per (row group, batch x kv head).
        int64_t rowGroups =
            llvm::divideCeil(maxSq * (hq / hkv), D::rows(hq / hkv));
        int64_t counters =
            e.zeroedScratch(IntegerType::get(e.context(), 32),
                            {qDims[0] * (hkv * rowGroups)});
        l.buffer(outBuffer).buffer(partMax).buffer(partSum).buffer(partAcc)
            .buffer(counters);
        addOperands(l);
        l.index(qDims[1]).index(kDims[1]).index(splits);
      } else {
        FailureOr<std::string> combineName =
            combineKernel(e, op, t, d, staticSplits);
        if (failed(combineName))
          return failure();
        l.buffer(partMax).buffer(partSum).buffer(partAcc);
        addOperands(l);
        if (!grouped)
          l.index(rowsExpr);
        l.index(qDims[1]).index(kDims[1]).index(splits);
        Launch &c =
            e.launch(*combineName, op, ceilDiv(rowsExpr * d, 128), 128);
        c.buffer(outBuffer).buffer(partMax).buffer(partSum).buffer(partAcc)
            .index(rowsExpr * d).index(splits);
        c.guard = qDims[1];
        c.guardMax = kLongQueries - 1;
      }
    }
  }
  if (staticSq && *staticSq < kLongQueries)
    return success();
  // The tensor-core prefill kernels: grid (ceil(Sq / tileQ), Hq, B).
  auto launchPrefill = [&](FailureOr<std::string> name, int64_t tileQ,
                           int64_t threads,
                           int64_t sharedBytes) -> LogicalResult {
    if (failed(name))
      return failure();
    Launch &l = e.launch(*name, op, ceilDiv(qDims[1], tileQ), threads);
    l.grid[1] = e.constant(hq);
    l.grid[2] = qDims[0];
    l.sharedBytes = sharedBytes;
    l.buffer(outBuffer);
    addOperands(l);
    l.index(qDims[1]).index(kDims[1]);
    l.guard = qDims[1];
    l.guardMin = kLongQueries;
    return success();
  };
  if (wgmmaAttentionApplies(e.target(), t, d)) {
    using W = WgmmaAttentionShape;
    return launchPrefill(wgmmaAttentionKernel(e, op, t, lt, hq, hkv, d, scale),
                         W::tileQ, W::threads, W::sharedBytes(d));
  }
  if (flashAttentionApplies(e.target(), t, d)) {
    using F = FlashAttentionShape;
    return launchPrefill(flashAttentionKernel(e, op, t, lt, hq, hkv, d, scale),
                         F::tileQ, F::threads, 0);
  }
  FailureOr<std::string> name = warpKernel(/*split=*/false);
  if (failed(name))
    return failure();
  Launch &l = e.launch(*name, op, ceilDiv(rowsExpr, warps), warps * 32);
  l.buffer(outBuffer);
  addOperands(l);
  l.index(rowsExpr).index(qDims[1]).index(kDims[1]);
  l.guard = qDims[1];
  l.guardMin = kLongQueries;
  return success();
}

} // namespace kopt::gpu
