//===- MoeKernels.cpp - The Mixtral MoE block on the GPU ------------------===//
//
// kopt.moe in three launches, every sum in f32:
//   1. route: a warp per token computes the E router logits (lane-strided
//      dot products, shuffle reduction); lane 0 takes the softmax and picks
//      the top_k experts in torch.topk order (ties to the lower expert),
//      writing each slot's expert and weight (renormalised if asked).
//   2. up: a warp per (slot, FFN unit) computes silu(x Wg_e^T) * (x Wu_e^T)
//      for the slot's expert only, into an f32 scratch [T * top_k, F].
//   3. down: a warp per (token, hidden unit) sums over the token's slots
//      weight * (h Wd_e^T) and writes the result once (no atomics).
// Only the selected experts' weights are read. Each slot streams its
// expert's rows (GEMV-style): the decode shape. From two tokens on, 16-bit
// MoE blocks run steps 2 and 3 as grouped tensor-core GEMMs over each
// expert's routed rows instead (MoeGroupedGemmKernel), reading every
// selected expert's weights once per 64 routed rows.
//
//===----------------------------------------------------------------------===//

#include "Families.h"
#include "KernelText.h"
#include "MoeGroupedGemmKernel.h"

#include "kopt/Dialect/Kopt/KoptOps.h"

using namespace mlir;

namespace kopt::gpu {
namespace {

constexpr int64_t kWarps = 8;

struct Warp {
  std::string lane, warp;
};

Warp warpOf(KernelText &k) {
  return {k.def("arith.remui " + k.tid() + ", " + k.c(32) + " : index"),
          k.def("arith.divui " + k.tid() + ", " + k.c(32) + " : index")};
}

/// sum_i a[aBase + i] * b[bBase + i] over i < n, reduced across the warp
/// (every lane gets it). `aType`/`bType` are element types. When n and the
/// bases are multiples of 8, each lane loads 8 consecutive elements per
/// step (16-byte loads of 16-bit weights), else one.
std::string warpDot(KernelText &k, const std::string &lane,
                    const std::string &a, const std::string &aType,
                    const std::string &aBase, const std::string &b,
                    const std::string &bType, const std::string &bBase,
                    int64_t n) {
  const int64_t width = n % 8 == 0 ? 8 : 1;
  IndexOps x{k};
  std::string vf32 = "vector<" + std::to_string(width) + "xf32>";
  auto load = [&](const std::string &mem, const std::string &type,
                  const std::string &at) {
    if (width == 1)
      return k.convert(
          k.def("memref.load " + mem + "[" + at + "] : memref<?x" + type + ">"),
          type, "f32");
    std::string vt = "vector<8x" + type + ">";
    std::string align = type == "f32" ? "32" : "16";
    std::string v =
        k.def("vector.load " + mem + "[" + at + "] {alignment = " + align +
              " : i64} : memref<?x" + type + ">, " + vt);
    if (type == "f32")
      return v;
    return k.def("arith.extf " + v + " : " + vt + " to " + vf32);
  };
  std::string zero =
      width == 1 ? k.f(0.0) : k.def("arith.constant dense<0.0> : " + vf32);
  std::string i = k.fresh(), acc = k.fresh(), sum = k.fresh();
  std::string type = width == 1 ? "f32" : vf32;
  k.line(sum + " = scf.for " + i + " = " + x.mul(lane, k.c(width)) + " to " +
         k.c(n) + " step " + k.c(32 * width) + " iter_args(" + acc + " = " +
         zero + ") -> (" + type + ") {");
  std::string av = load(a, aType, x.add(aBase, i));
  std::string bv = load(b, bType, x.add(bBase, i));
  k.line("scf.yield " +
         k.def("math.fma " + av + ", " + bv + ", " + acc + " : " + type) +
         " : " + type);
  k.line("}");
  std::string total = width == 1 ? sum
                                 : k.def("vector.reduction <add>, " + sum +
                                         " : " + vf32 + " into f32");
  return k.warpReduce(total, "arith.addf");
}

FailureOr<std::string> routeKernel(FunctionEmitter &e, MoEOp op,
                                   const std::string &t, int64_t hidden,
                                   int64_t experts, int64_t topK,
                                   bool normalize) {
  KernelText k(kWarps * 32);
  IndexOps ix{k};
  std::string weights = k.buffer("weights", "f32"),
              chosen = k.buffer("experts", "i32"),
              logits = k.buffer("logits", "f32"), x = k.buffer("x", t),
              router = k.buffer("router", t);
  std::string tokens = k.index("tokens");
  Warp w = warpOf(k);
  std::string token = ix.add(ix.mul(k.bid('x'), k.c(kWarps)), w.warp);
  k.line("scf.if " +
         k.def("arith.cmpi ult, " + token + ", " + tokens + " : index") + " {");
  std::string xBase = ix.mul(token, k.c(hidden));
  std::string lBase = ix.mul(token, k.c(experts));
  std::string leader =
      k.def("arith.cmpi eq, " + w.lane + ", " + k.c(0) + " : index");
  std::string ex = k.fresh();
  k.line("scf.for " + ex + " = " + k.c(0) + " to " + k.c(experts) + " step " +
         k.c(1) + " {");
  std::string logit = warpDot(k, w.lane, x, t, xBase, router, t,
                              ix.mul(ex, k.c(hidden)), hidden);
  k.line("scf.if " + leader + " {");
  k.line("memref.store " + logit + ", " + logits + "[" + ix.add(lBase, ex) +
         "] : memref<?xf32>");
  k.line("}");
  k.line("}");

  // Lane 0: softmax statistics, then top_k passes over the logits.
  k.line("scf.if " + leader + " {");
  auto logitAt = [&](const std::string &at) {
    return k.def("memref.load " + logits + "[" + ix.add(lBase, at) +
                 "] : memref<?xf32>");
  };
  std::string j = k.fresh(), m = k.fresh(), maxV = k.fresh();
  k.line(maxV + " = scf.for " + j + " = " + k.c(0) + " to " + k.c(experts) +
         " step " + k.c(1) + " iter_args(" + m + " = " + k.f(-INFINITY) +
         ") -> (f32) {");
  k.line("scf.yield " +
         k.def("arith.maximumf " + m + ", " + logitAt(j) + " : f32") +
         " : f32");
  k.line("}");
  std::string j2 = k.fresh(), s = k.fresh(), total = k.fresh();
  k.line(total + " = scf.for " + j2 + " = " + k.c(0) + " to " + k.c(experts) +
         " step " + k.c(1) + " iter_args(" + s + " = " + k.f(0.0) +
         ") -> (f32) {");
  std::string ez = k.def(
      "math.exp " +
      k.def("arith.subf " + logitAt(j2) + ", " + maxV + " : f32") + " : f32");
  k.line("scf.yield " + k.def("arith.addf " + s + ", " + ez + " : f32") +
         " : f32");
  k.line("}");
  std::string trueV = k.ci(1, "i1"), falseV = k.ci(0, "i1");
  std::string slotBase = ix.mul(token, k.c(topK));
  std::string r = k.fresh(), pv = k.fresh(), pi = k.fresh(), has = k.fresh(),
              sel = k.fresh(), picks = k.fresh();
  k.line(picks + ":4 = scf.for " + r + " = " + k.c(0) + " to " + k.c(topK) +
         " step " + k.c(1) + " iter_args(" + pv + " = " + k.f(0.0) + ", " + pi +
         " = " + k.c(0) + ", " + has + " = " + falseV + ", " + sel + " = " +
         k.f(0.0) + ") -> (f32, index, i1, f32) {");
  std::string q = k.fresh(), bv = k.fresh(), bi = k.fresh(), bok = k.fresh(),
              best = k.fresh();
  k.line(best + ":3 = scf.for " + q + " = " + k.c(0) + " to " + k.c(experts) +
         " step " + k.c(1) + " iter_args(" + bv + " = " + k.f(0.0) + ", " + bi +
         " = " + k.c(0) + ", " + bok + " = " + falseV +
         ") -> (f32, index, i1) {");
  std::string v = logitAt(q);
  std::string take = k.selectionTakes(v, q, bv, bi, bok, pv, pi, has, "f32");
  k.line(
      "scf.yield " +
      k.def("arith.select " + take + ", " + v + ", " + bv + " : f32") + ", " +
      k.def("arith.select " + take + ", " + q + ", " + bi + " : index") + ", " +
      k.def("arith.ori " + take + ", " + bok + " : i1") + " : f32, index, i1");
  k.line("}");
  std::string p = k.def(
      "arith.divf " +
      k.def("math.exp " +
            k.def("arith.subf " + best + "#0, " + maxV + " : f32") + " : f32") +
      ", " + total + " : f32");
  std::string slot = ix.add(slotBase, r);
  k.line("memref.store " + p + ", " + weights + "[" + slot +
         "] : memref<?xf32>");
  k.line("memref.store " +
         k.def("arith.index_cast " + best + "#1 : index to i32") + ", " +
         chosen + "[" + slot + "] : memref<?xi32>");
  k.line("scf.yield " + best + "#0, " + best + "#1, " + trueV + ", " +
         k.def("arith.addf " + sel + ", " + p + " : f32") +
         " : f32, index, i1, f32");
  k.line("}");
  if (normalize) {
    std::string r2 = k.fresh();
    k.line("scf.for " + r2 + " = " + k.c(0) + " to " + k.c(topK) + " step " +
           k.c(1) + " {");
    std::string at = ix.add(slotBase, r2);
    std::string wv =
        k.def("memref.load " + weights + "[" + at + "] : memref<?xf32>");
    k.line("memref.store " +
           k.def("arith.divf " + wv + ", " + picks + "#3 : f32") + ", " +
           weights + "[" + at + "] : memref<?xf32>");
    k.line("}");
  }
  k.line("}"); // leader
  k.line("}"); // token
  return e.kernel("moe_route", k.str("KERNEL"), op->getLoc());
}

FailureOr<std::string> upKernel(FunctionEmitter &e, MoEOp op,
                                const std::string &t, int64_t hidden,
                                int64_t ffn, int64_t topK) {
  KernelText k(kWarps * 32);
  IndexOps ix{k};
  std::string h = k.buffer("h", "f32"), x = k.buffer("x", t),
              gate = k.buffer("gate", t), up = k.buffer("up", t),
              chosen = k.buffer("experts", "i32");
  Warp w = warpOf(k);
  std::string unit = ix.add(ix.mul(k.bid('y'), k.c(kWarps)), w.warp);
  std::string slot = k.bid('x');
  k.line("scf.if " +
         k.def("arith.cmpi ult, " + unit + ", " + k.c(ffn) + " : index") +
         " {");
  std::string token =
      k.def("arith.divui " + slot + ", " + k.c(topK) + " : index");
  std::string expert =
      k.def("arith.index_cast " +
            k.def("memref.load " + chosen + "[" + slot + "] : memref<?xi32>") +
            " : i32 to index");
  std::string xBase = ix.mul(token, k.c(hidden));
  std::string row = ix.add(ix.mul(expert, k.c(ffn)), unit);
  std::string wBase = ix.mul(row, k.c(hidden));
  std::string g = warpDot(k, w.lane, x, t, xBase, gate, t, wBase, hidden);
  std::string u = warpDot(k, w.lane, x, t, xBase, up, t, wBase, hidden);
  // silu(g) * u = g / (1 + exp(-g)) * u.
  std::string denom = k.def(
      "arith.addf " + k.f(1.0) + ", " +
      k.def("math.exp " + k.def("arith.negf " + g + " : f32") + " : f32") +
      " : f32");
  std::string act =
      k.def("arith.mulf " + k.def("arith.divf " + g + ", " + denom + " : f32") +
            ", " + u + " : f32");
  k.line("scf.if " +
         k.def("arith.cmpi eq, " + w.lane + ", " + k.c(0) + " : index") + " {");
  k.line("memref.store " + act + ", " + h + "[" +
         ix.add(ix.mul(slot, k.c(ffn)), unit) + "] : memref<?xf32>");
  k.line("}");
  k.line("}");
  return e.kernel("moe_up", k.str("KERNEL"), op->getLoc());
}

FailureOr<std::string> downKernel(FunctionEmitter &e, MoEOp op,
                                  const std::string &t, const std::string &ot,
                                  int64_t hidden, int64_t ffn, int64_t topK) {
  KernelText k(kWarps * 32);
  IndexOps ix{k};
  std::string out = k.buffer("out", ot), h = k.buffer("h", "f32"),
              down = k.buffer("down", t), weights = k.buffer("weights", "f32"),
              chosen = k.buffer("experts", "i32");
  Warp w = warpOf(k);
  std::string unit = ix.add(ix.mul(k.bid('y'), k.c(kWarps)), w.warp);
  std::string token = k.bid('x');
  k.line("scf.if " +
         k.def("arith.cmpi ult, " + unit + ", " + k.c(hidden) + " : index") +
         " {");
  std::string r = k.fresh(), acc = k.fresh(), sum = k.fresh();
  k.line(sum + " = scf.for " + r + " = " + k.c(0) + " to " + k.c(topK) +
         " step " + k.c(1) + " iter_args(" + acc + " = " + k.f(0.0) +
         ") -> (f32) {");
  std::string slot = ix.add(ix.mul(token, k.c(topK)), r);
  std::string expert =
      k.def("arith.index_cast " +
            k.def("memref.load " + chosen + "[" + slot + "] : memref<?xi32>") +
            " : i32 to index");
  std::string row = ix.add(ix.mul(expert, k.c(hidden)), unit);
  std::string dot = warpDot(k, w.lane, h, "f32", ix.mul(slot, k.c(ffn)), down,
                            t, ix.mul(row, k.c(ffn)), ffn);
  std::string weight =
      k.def("memref.load " + weights + "[" + slot + "] : memref<?xf32>");
  k.line("scf.yield " +
         k.def("math.fma " + weight + ", " + dot + ", " + acc + " : f32") +
         " : f32");
  k.line("}");
  k.line("scf.if " +
         k.def("arith.cmpi eq, " + w.lane + ", " + k.c(0) + " : index") + " {");
  k.line("memref.store " + k.convert(sum, "f32", ot) + ", " + out + "[" +
         ix.add(ix.mul(token, k.c(hidden)), unit) + "] : memref<?x" + ot + ">");
  k.line("}");
  k.line("}");
  return e.kernel("moe_down", k.str("KERNEL"), op->getLoc());
}

} // namespace

LogicalResult emitMoE(MoEOp op, FunctionEmitter &e) {
  auto xType = cast<RankedTensorType>(op.getInput().getType());
  auto gateType = cast<RankedTensorType>(op.getWGate().getType());
  std::string t = typeText(xType.getElementType());
  // The verifier already ties the weights' element types to the input's,
  // and compressed weights stop at the plan; the kernels need static shapes.
  for (Value w : std::initializer_list<Value>{op.getRouter(), op.getWGate(),
                                              op.getWUp(), op.getWDown()})
    if (!cast<RankedTensorType>(w.getType()).hasStaticShape())
      return op.emitError("moe on the GPU needs static expert weight shapes");
  int64_t experts = gateType.getDimSize(0), ffn = gateType.getDimSize(1),
          hidden = gateType.getDimSize(2);
  int64_t topK = static_cast<int64_t>(op.getTopK());
  std::string ot = typeText(
      cast<RankedTensorType>(op.getResult().getType()).getElementType());
  AffineExpr tokens = e.dims(op.getInput())[0];

  FailureOr<std::string> route =
      routeKernel(e, op, t, hidden, experts, topK, op.getNormalizeTopk());
  if (failed(route))
    return failure();
  MLIRContext *ctx = e.context();
  Type f32 = Float32Type::get(ctx), i32 = IntegerType::get(ctx, 32);
  AffineExpr slots = tokens * topK;
  int64_t weights = e.scratch(f32, {tokens, e.constant(topK)});
  int64_t chosen = e.scratch(i32, {tokens, e.constant(topK)});
  int64_t logits = e.scratch(f32, {tokens, e.constant(experts)});
  int64_t x = e.bufferOf(op.getInput());
  FailureOr<int64_t> gateRead = readWeight(e, op.getWGate(), 0),
                     upRead = readWeight(e, op.getWUp(), 1),
                     downRead = readWeight(e, op.getWDown(), 2);
  if (failed(gateRead) || failed(upRead) || failed(downRead))
    return failure();
  int64_t gate = *gateRead, upW = *upRead, downW = *downRead,
          router = e.bufferOf(op.getRouter());
  int64_t out = e.define(op.getResult());
  e.launch(*route, op, ceilDiv(tokens, kWarps), kWarps * 32)
      .buffer(weights)
      .buffer(chosen)
      .buffer(logits)
      .buffer(x)
      .buffer(router)
      .index(tokens);

  // Which path runs: decided here for a static token count, else by launch
  // guards on it.
  using G = MoeGemmShape;
  auto staticTokens = dyn_cast<AffineConstantExpr>(tokens);
  bool grouped = moeGroupedGemmApplies(e.target(), t, hidden, ffn, experts);
  bool needGemv =
      !grouped || !staticTokens || staticTokens.getValue() < G::minTokens;
  bool needGrouped =
      grouped && (!staticTokens || staticTokens.getValue() >= G::minTokens);
  auto guard = [&](Launch &l, bool groupedPath) {
    if (!needGemv || !needGrouped)
      return;
    l.guard = tokens;
    (groupedPath ? l.guardMin : l.guardMax) =
        groupedPath ? G::minTokens : G::minTokens - 1;
  };

  if (needGemv) {
    FailureOr<std::string> up = upKernel(e, op, t, hidden, ffn, topK);
    FailureOr<std::string> down = downKernel(e, op, t, ot, hidden, ffn, topK);
    if (failed(up) || failed(down))
      return failure();
    int64_t h = e.scratch(f32, {slots, e.constant(ffn)});
    // Slots and tokens on x (up to 2^31 - 1 blocks), units on y.
    Launch &upLaunch = e.launch(*up, op, slots, kWarps * 32);
    upLaunch.grid[1] = e.constant((ffn + kWarps - 1) / kWarps);
    upLaunch.buffer(h).buffer(x).buffer(gate).buffer(upW).buffer(chosen);
    guard(upLaunch, false);
    Launch &downLaunch = e.launch(*down, op, tokens, kWarps * 32);
    downLaunch.grid[1] = e.constant((hidden + kWarps - 1) / kWarps);
    downLaunch.buffer(out).buffer(h).buffer(downW).buffer(weights).buffer(
        chosen);
    guard(downLaunch, false);
  }
  if (!needGrouped)
    return success();
  FailureOr<std::string> group = moeGroupKernel(e, op, experts);
  FailureOr<std::string> gateUp = moeGroupedGemmKernel(
      e, op, MoeGemm::GateUp, t, hidden, ffn, experts, topK);
  FailureOr<std::string> down =
      moeGroupedGemmKernel(e, op, MoeGemm::Down, t, hidden, ffn, experts, topK);
  FailureOr<std::string> combine = moeCombineKernel(e, op, ot, hidden, topK);
  if (failed(group) || failed(gateUp) || failed(down) || failed(combine))
    return failure();
  int64_t sorted = e.scratch(i32, {slots});
  int64_t expertOffsets = e.scratch(i32, {e.constant(experts + 1)});
  int64_t tileOffsets = e.scratch(i32, {e.constant(experts + 1)});
  int64_t h = e.scratch(xType.getElementType(), {slots, e.constant(ffn)});
  int64_t y = e.scratch(f32, {slots, e.constant(hidden)});
  Launch &groupLaunch = e.launch(*group, op, e.constant(1), G::groupThreads);
  groupLaunch.buffer(sorted)
      .buffer(expertOffsets)
      .buffer(tileOffsets)
      .buffer(chosen)
      .index(slots);
  guard(groupLaunch, true);
  // Row tiles on x (at most one partial tile per expert beyond the full
  // ones), output columns on y.
  AffineExpr maxTiles = ceilDiv(slots + experts * (G::tileM - 1), G::tileM);
  Launch &upLaunch = e.launch(*gateUp, op, maxTiles, G::threads);
  upLaunch.grid[1] = e.constant((ffn + G::upColumns - 1) / G::upColumns);
  upLaunch.buffer(h)
      .buffer(x)
      .buffer(gate)
      .buffer(upW)
      .buffer(sorted)
      .buffer(expertOffsets)
      .buffer(tileOffsets);
  guard(upLaunch, true);
  Launch &downLaunch = e.launch(*down, op, maxTiles, G::threads);
  downLaunch.grid[1] =
      e.constant((hidden + G::downColumns - 1) / G::downColumns);
  downLaunch.buffer(y)
      .buffer(h)
      .buffer(downW)
      .buffer(weights)
      .buffer(sorted)
      .buffer(expertOffsets)
      .buffer(tileOffsets);
  guard(downLaunch, true);
  Launch &combineLaunch =
      e.launch(*combine, op, ceilDiv(tokens * hidden, 256), 256);
  combineLaunch.buffer(out).buffer(y).index(tokens * hidden);
  guard(combineLaunch, true);
  return success();
}

} // namespace kopt::gpu
