//===- WgmmaAttentionKernel.cpp - Hopper attention prefill (wgmma) --------===//
//
// FlashAttention on warpgroup MMA. A block of two warpgroups owns 128
// queries of one (batch, query head), 64 per warpgroup, and walks 128-key
// tiles of its kv head between the first and last key its queries see.
//
// Shared memory (dynamic, 1024-byte aligned): slot 0 holds Q, slots 1-2 two
// K stages, slots 3-4 two V stages, each [D / 64][128 rows][64] in the
// 128-byte swizzle (chunk ^ row % 8). Q and K are K-major operands of
// S = Q K^T (descriptor stride 1024 bytes per 8 rows, a K step of 16 adds
// 32 bytes, the second 64 columns sit 16 KB on); V is the MN-major B of
// O += P V (transposed descriptor: 1024 bytes per 8 keys, 16 KB between
// 64-column halves, a K step of 16 keys adds 2 KB). P stays in registers:
// the S accumulators of two 8-key column blocks are exactly the A
// fragment of a k16 step, packed to 16 bits.
//
// Per tile j, the two products overlap the softmax: S_j is issued, then
// P_{j-1} V_{j-1}; the softmax of S_j runs while the P V product is on the
// tensor cores, and O is rescaled once it lands. The warpgroups take turns
// issuing (named barriers), so one's softmax also overlaps the other's
// products. Copies are cp.async from every thread, one tile ahead, tracked
// by mbarriers instead of block-wide barriers: iteration r waits for load
// group r (K_j, V_{j-1}) and for every thread to have finished iteration
// r - 1, then issues group r + 1 (K_{j+1}, V_j) into the stages tile j - 1
// used.
//
// wgmma writes its registers asynchronously, so the values it produces
// pass through an empty asm after the wait that completes them: LLVM must
// not read them earlier.
//
//===----------------------------------------------------------------------===//

#include "WgmmaAttentionKernel.h"

#include "AttentionBounds.h"
#include "MmaText.h"
#include "OnlineSoftmax.h"

#include "llvm/ADT/StringExtras.h"

#include <cmath>

using namespace mlir;

namespace kopt::gpu {
namespace {

using W = WgmmaAttentionShape;
constexpr int64_t kRowBytes = 128; // a swizzle atom row: 64 16-bit values
constexpr int64_t kHalfBytes = W::tileKv * kRowBytes;
constexpr int64_t kKeySteps = W::tileKv / 16;

std::vector<std::string> unpack(KernelText &k, const std::string &value,
                                int64_t n, llvm::StringRef type = "f32") {
  std::vector<std::string> values;
  for (int64_t i = 0; i < n; ++i)
    values.push_back(k.def("llvm.extractvalue " + value + "[" +
                           std::to_string(i) + "] : " + structType(n, type)));
  return values;
}

/// `values` (f32) redefined by an empty asm with side effects: uses after
/// it cannot move above earlier waits.
std::vector<std::string> pinned(KernelText &k,
                                const std::vector<std::string> &values) {
  int64_t n = values.size();
  std::string constraints, types;
  for (int64_t i = 0; i < n; ++i)
    constraints += (i ? ",=f" : "=f");
  for (int64_t i = 0; i < n; ++i) {
    constraints += "," + std::to_string(i);
    types += (i ? ", f32" : "f32");
  }
  return unpack(
      k,
      k.def("llvm.inline_asm has_side_effects asm_dialect = att \"\", \"" +
            constraints + "\" " + llvm::join(values, ", ") + " : (" + types +
            ") -> " + structType(n, "f32")),
      n);
}

/// Two f32 of one row as the 16-bit pair of an A fragment register (i32).
std::string packPair(KernelText &k, const std::string &lo,
                     const std::string &hi, const std::string &t) {
  std::string pair =
      k.def("vector.from_elements " + k.convert(lo, "f32", t) + ", " +
            k.convert(hi, "f32", t) + " : vector<2x" + t + ">");
  std::string word = k.def("vector.bitcast " + pair + " : vector<2x" + t +
                           "> to vector<1xi32>");
  return k.def("vector.extract " + word + "[0] : i32 from vector<1xi32>");
}

/// acc += A B for wgmma m64nNk16 with A from registers (`a`: 4 i32) and B
/// an MN-major shared-memory operand (`descriptor`). The NVVM op takes A
/// only through a descriptor, hence the asm.
std::vector<std::string> wgmmaRegisterA(KernelText &k, const std::string &t,
                                        int64_t n,
                                        const std::vector<std::string> &a,
                                        const std::string &descriptor,
                                        const std::vector<std::string> &acc) {
  int64_t values = acc.size();
  std::string outs, ins = "{";
  for (int64_t i = 0; i < values; ++i)
    outs += (i ? ", $" : "{$") + std::to_string(i);
  for (int64_t i = 0; i < 4; ++i)
    ins += (i ? ", $" : "$") + std::to_string(values + i);
  std::string text =
      "{ .reg .pred p; setp.ne.b32 p, 1, 0; wgmma.mma_async.sync.aligned.m64n" +
      std::to_string(n) + "k16.f32." + t + "." + t + " " + outs + "}, " + ins +
      "}, $" + std::to_string(values + 4) + ", p, 1, 1, 1; }";
  std::string constraints, types = "i32, i32, i32, i32, i64";
  for (int64_t i = 0; i < values; ++i)
    constraints += (i ? ",=f" : "=f");
  constraints += ",r,r,r,r,l";
  for (int64_t i = 0; i < values; ++i) {
    constraints += "," + std::to_string(i);
    types += ", f32";
  }
  std::string result =
      k.def("llvm.inline_asm has_side_effects asm_dialect = att \"" + text +
            "\", \"" + constraints + "\" " + llvm::join(a, ", ") + ", " +
            descriptor + ", " + llvm::join(acc, ", ") + " : (" + types +
            ") -> " + structType(values, "f32"));
  return unpack(k, result, values);
}

} // namespace

bool wgmmaAttentionApplies(const GpuTarget &target, llvm::StringRef t,
                           int64_t d) {
  return target.hasWgmma && tensorCoreHeadDim(t, d);
}

FailureOr<std::string> wgmmaAttentionKernel(FunctionEmitter &e, AttentionOp op,
                                            const std::string &t,
                                            const std::string &lt, int64_t hq,
                                            int64_t hkv, int64_t d,
                                            double scale) {
  KernelText k(W::threads);
  IndexOps x{k};
  // (Named references, not structured bindings: lambdas capture them.)
  PrefillParams params = prefillParams(k, op, t, lt);
  const std::string &out = params.out, &q = params.q, &kk = params.k,
                    &v = params.v, &kvLen = params.kvLen,
                    &status = params.status, &sq = params.sq, &skv = params.skv;
  const int64_t halves = d / 64, tileBytes = W::tileBytes(d);
  const int64_t sValues = W::tileKv / 2, oValues = d / 2;
  std::string gType = "memref<?x" + t + ">";
  std::string bytesType = "memref<?xi8, #gpu.address_space<workgroup>>";
  std::string tilesType = "memref<5x" + std::to_string(halves) + "x" +
                          std::to_string(W::tileKv) + "x64x" + t +
                          ", #gpu.address_space<workgroup>>";
  std::string dynamic = k.def("gpu.dynamic_shared_memory : " + bytesType);
  std::string tiles = k.def("memref.view " + dynamic + "[" + k.c(0) +
                            "][] : " + bytesType + " to " + tilesType);

  std::string tilesQ =
      k.def("arith.ceildivui " + sq + ", " + k.c(W::tileQ) + " : index");
  std::string qTile =
      x.bin("arith.subi", x.bin("arith.subi", tilesQ, k.c(1)), k.bid('x'));
  std::string h = k.bid('y'), b = k.bid('z');
  std::string kvh = x.div(h, hq / hkv);
  std::string q0 = x.mul(qTile, k.c(W::tileQ));
  std::string tid = k.tid();
  std::string warpgroup = x.div(tid, 128);
  std::string lane = x.rem(tid, 32), warp = x.rem(x.div(tid, 32), 4);
  QueryBlockKeys keys = queryBlockKeys(k, e, op, kvLen, lt, b, sq, skv, status,
                                       q0, W::tileQ, W::tileKv);

  // cp.async of 128 rows of `src` at ((b * S + row) * H + head) * D: thread
  // t copies chunk t % (D / 8) of rows t / (D / 8) + r * step (the same
  // swizzled column for every r: step is a multiple of 8).
  const int64_t chunksPerRow = d / 8, rowStep = W::threads / chunksPerRow;
  std::string copyRow = x.div(tid, chunksPerRow);
  std::string copyChunk = x.rem(tid, chunksPerRow);
  std::string copyHalf = x.div(copyChunk, 8);
  std::string copyColumn = x.swizzle128(copyRow, x.rem(copyChunk, 8));
  auto loadTile = [&](const std::string &src, const std::string &slot,
                      const std::string &first, const std::string &seq,
                      int64_t heads, const std::string &head) {
    std::string firstRow = x.add(first, copyRow);
    std::string base = x.add(
        x.mul(x.add(x.mul(x.add(x.mul(b, seq), firstRow), k.c(heads)), head),
              k.c(d)),
        x.mul(copyChunk, k.c(8)));
    for (int64_t r = 0; r < W::tileKv / rowStep; ++r) {
      std::string ok = x.lt(x.add(firstRow, k.c(r * rowStep)), seq);
      std::string at = x.add(base, k.c(r * rowStep * heads * d));
      k.def("nvgpu.device_async_copy " + src + "[" + x.select(ok, at, k.c(0)) +
            "], " + tiles + "[" + slot + ", " + copyHalf + ", " +
            x.add(copyRow, k.c(r * rowStep)) + ", " + copyColumn + "], 8, " +
            x.select(ok, k.c(8), k.c(0)) + " {bypassL1} : " + gType + " to " +
            tilesType);
    }
  };
  auto kvFirst = [&](const std::string &tile) {
    return x.mul(tile, k.c(W::tileKv));
  };
  // K tile r (relative to the first) in slot 1 + r % 2, V tile r in 3 + r % 2.
  auto stageSlot = [&](int64_t first, const std::string &r) {
    return x.add(k.c(first), x.rem(r, 2));
  };

  // Matrix descriptors: bits 0-13 start address >> 4, 16-29 leading byte
  // offset >> 4, 32-45 stride byte offset >> 4, 62-63 swizzle (1: 128B).
  std::string address =
      k.def("arith.shrui " +
            k.def("arith.andi " +
                  k.def("arith.index_cast " +
                        k.def("memref.extract_aligned_pointer_as_index " +
                              tiles + " : " + tilesType + " -> index") +
                        " : index to i64") +
                  ", " + k.ci(0x3FFFF, "i64") + " : i64") +
            ", " + k.ci(4, "i64") + " : i64");
  auto baseDescriptor = [&](int64_t leadingBytes) {
    return k.def("arith.ori " + address + ", " +
                 k.ci((leadingBytes >> 4 << 16) | (int64_t(1024 >> 4) << 32) |
                          (int64_t(1) << 62),
                      "i64") +
                 " : i64");
  };
  std::string kMajor = baseDescriptor(16), mnMajor = baseDescriptor(kHalfBytes);
  auto descriptor = [&](const std::string &base, const std::string &slot,
                        int64_t bytes) {
    std::string slotOffset =
        k.def("arith.index_cast " + x.mul(slot, k.c(tileBytes >> 4)) +
              " : index to i64");
    return k.def("arith.addi " +
                 k.def("arith.addi " + base + ", " + slotOffset + " : i64") +
                 ", " + k.ci(bytes >> 4, "i64") + " : i64");
  };
  // This warpgroup's 64 query rows start 8 KB into each Q half.
  std::string qBase = k.def("arith.addi " + kMajor + ", " +
                            k.def("arith.index_cast " +
                                  x.mul(warpgroup, k.c(64 * kRowBytes >> 4)) +
                                  " : index to i64") +
                            " : i64");
  // K step s of the head dim: half s / 4, 32 bytes per step within it.
  auto headDimBytes = [](int64_t s) { return s / 4 * kHalfBytes + s % 4 * 32; };
  std::string sType = structType(sValues, "f32");

  // P V for the tile in V stage `slot`: A fragments from `p` (4 per k16
  // step of keys), accumulating into `o`.
  auto pv = [&](const std::vector<std::string> &p, const std::string &slot,
                std::vector<std::string> o) {
    for (int64_t step = 0; step < kKeySteps; ++step)
      o = wgmmaRegisterA(k, t, d,
                         {p.begin() + 4 * step, p.begin() + 4 * step + 4},
                         descriptor(mnMajor, slot, step * 16 * kRowBytes), o);
    return o;
  };

  // mbarriers: full[s] completes when every thread's copies of load group
  // s (mod 2) have landed, empty[s] when every thread finished iteration s
  // (mod 2) and with it the stages load group s + 2 overwrites.
  std::string bars = k.shared("bars", "4xi64");
  std::string barBase =
      k.def("arith.index_cast " +
            k.def("memref.extract_aligned_pointer_as_index " + bars +
                  " : memref<4xi64, #gpu.address_space<workgroup>> -> index") +
            " : index to i64");
  auto barrier = [&](int64_t kind, const std::string &index) {
    std::string at =
        k.def("arith.index_cast " + x.mul(x.add(k.c(2 * kind), index), k.c(8)) +
              " : index to i64");
    return k.def("llvm.inttoptr " +
                 k.def("arith.addi " + barBase + ", " + at + " : i64") +
                 " : i64 to !llvm.ptr<3>");
  };
  auto waitPhase = [&](int64_t kind, const std::string &r) {
    std::string parity =
        k.def("arith.index_cast " + x.rem(x.div(r, 2), 2) + " : index to i32");
    k.line("nvvm.mbarrier.try_wait.parity " + barrier(kind, x.rem(r, 2)) +
           ", " + parity + ", " + k.ci(10000000, "i32") +
           " : !llvm.ptr<3>, i32, i32");
  };
  constexpr int64_t kFull = 0, kEmpty = 1;
  k.line("scf.if " +
         k.def("arith.cmpi eq, " + tid + ", " + k.c(0) + " : index") + " {");
  for (int64_t kind : {kFull, kEmpty})
    for (int64_t stage = 0; stage < 2; ++stage)
      k.line("nvvm.mbarrier.init " + barrier(kind, k.c(stage)) + ", " +
             k.ci(W::threads, "i32") + " : !llvm.ptr<3>, i32");
  k.line("}");
  k.line("gpu.barrier");

  // Load group 0: Q and the first K tile.
  loadTile(q, k.c(0), q0, sq, hq, h);
  loadTile(kk, k.c(1), kvFirst(keys.firstTile), skv, hkv, kvh);
  k.line("nvvm.cp.async.mbarrier.arrive " + barrier(kFull, k.c(0)) +
         " {noinc = true} : !llvm.ptr<3>");

  // The warpgroups take turns issuing their products (named barriers 1
  // and 2): one's softmax runs while the other's products occupy the
  // tensor cores. The second goes second.
  std::string groupThreads = k.ci(W::threads, "i32");
  std::string ownTurn =
      k.def("arith.index_cast " + x.add(warpgroup, k.c(1)) + " : index to i32");
  std::string otherTurn =
      k.def("arith.index_cast " + x.bin("arith.subi", k.c(2), warpgroup) +
            " : index to i32");
  std::string second =
      k.def("arith.cmpi eq, " + warpgroup + ", " + k.c(1) + " : index");
  k.line("scf.if " + second + " {");
  k.line("nvvm.barrier.arrive id = " + otherTurn +
         " number_of_threads = " + groupThreads);
  k.line("}");

  // This thread's two query rows and their visible key ranges.
  std::string rowA = x.add(x.add(q0, x.mul(warpgroup, k.c(64))),
                           x.add(x.mul(warp, k.c(16)), x.div(lane, 4)));
  std::string rowB = x.add(rowA, k.c(8));
  auto [loA, hiA] = keys.visible(rowA);
  auto [loB, hiB] = keys.visible(rowB);
  std::string quadCol = x.mul(x.rem(lane, 4), k.c(2));

  // Loop state: max (2), sum (2), O (D / 2), P of the previous tile (64 /
  // 2 words).
  const int64_t pWords = sValues / 2;
  std::vector<std::string> state, init;
  std::string types;
  auto addState = [&](const std::string &value, llvm::StringRef type) {
    state.push_back(k.fresh());
    init.push_back(value);
    types += (types.empty() ? "" : ", ") + type.str();
  };
  for (int r = 0; r < 2; ++r)
    addState(k.f(-INFINITY), "f32");
  for (int r = 0; r < 2; ++r)
    addState(k.f(0.0), "f32");
  for (int64_t i = 0; i < oValues; ++i)
    addState(k.f(0.0), "f32");
  for (int64_t i = 0; i < pWords; ++i)
    addState(k.ci(0, "i32"), "i32");
  std::string iter;
  for (size_t i = 0; i < state.size(); ++i)
    iter += (i ? ", " : "") + state[i] + " = " + init[i];
  auto slice = [](const std::vector<std::string> &v, int64_t from,
                  int64_t count) {
    return std::vector<std::string>(v.begin() + from, v.begin() + from + count);
  };

  std::string tileCount = x.bin("arith.subi", keys.endTile, keys.firstTile);
  std::string rt = k.fresh(), result = k.fresh();
  k.line(result + ":" + std::to_string(state.size()) + " = scf.for " + rt +
         " = " + k.c(0) + " to " + tileCount + " step " + k.c(1) +
         " iter_args(" + iter + ") -> (" + types + ") {");
  std::string jt = x.add(keys.firstTile, rt);
  // K_j and V_{j-1} (load group r) are in; the stages of group r + 1 are
  // free once everyone finished iteration r - 1.
  waitPhase(kFull, rt);
  k.line("nvvm.fence.proxy {kind = #nvvm.proxy_kind<async.shared>, space = "
         "#nvvm.shared_space<cta>}");
  std::string notFirst =
      k.def("arith.cmpi ugt, " + rt + ", " + k.c(0) + " : index");
  std::string previous = x.bin("arith.subi", rt, k.c(1));
  k.line("scf.if " + notFirst + " {");
  waitPhase(kEmpty, previous);
  k.line("}");
  std::string next = x.add(rt, k.c(1));
  loadTile(kk, stageSlot(1, next), kvFirst(x.add(jt, k.c(1))), skv, hkv, kvh);
  loadTile(v, stageSlot(3, rt), kvFirst(jt), skv, hkv, kvh);
  k.line("nvvm.cp.async.mbarrier.arrive " + barrier(kFull, x.rem(next, 2)) +
         " {noinc = true} : !llvm.ptr<3>");
  k.line("nvvm.barrier id = " + ownTurn +
         " number_of_threads = " + groupThreads);

  // S_j = Q K_j^T.
  k.line("nvvm.wgmma.fence.aligned");
  std::string s = k.def("llvm.mlir.undef : " + sType);
  std::string kSlot = stageSlot(1, rt);
  for (int64_t step = 0; step < d / 16; ++step)
    s = k.def("nvvm.wgmma.mma_async " +
              descriptor(qBase, k.c(0), headDimBytes(step)) + ", " +
              descriptor(kMajor, kSlot, headDimBytes(step)) + ", " + s +
              ", #nvvm.shape<m = 64, n = " + std::to_string(W::tileKv) +
              ", k = 16>, D[<f32>, <" + (step ? "one" : "zero") +
              ">, <wrapped>], A[<" + t + ">, <one>, <row>], B[<" + t +
              ">, <one>, <col>] : " + sType + " -> " + sType);
  k.line("nvvm.wgmma.commit.group.sync.aligned");

  // O += P_{j-1} V_{j-1}, from the second tile on.
  std::vector<std::string> o = slice(state, 4, oValues);
  std::vector<std::string> pPrev = slice(state, 4 + oValues, pWords);
  std::string oTypes = repeatedTypes(oValues, "f32");
  std::string accumulated = k.fresh();
  k.line(accumulated + ":" + std::to_string(oValues) + " = scf.if " + notFirst +
         " -> (" + oTypes + ") {");
  k.line("scf.yield " + llvm::join(pv(pPrev, stageSlot(3, previous), o), ", ") +
         " : " + oTypes);
  k.line("} else {");
  k.line("scf.yield " + llvm::join(o, ", ") + " : " + oTypes);
  k.line("}");
  k.line("nvvm.wgmma.commit.group.sync.aligned");
  k.line("nvvm.barrier.arrive id = " + otherTurn +
         " number_of_threads = " + groupThreads);
  for (int64_t i = 0; i < oValues; ++i)
    o[i] = accumulated + "#" + std::to_string(i);

  // Softmax of S_j while the P V product runs.
  k.line("nvvm.wgmma.wait.group.sync.aligned 1");
  std::vector<std::string> sv = pinned(k, unpack(k, s, sValues));
  ScoreTile scores(W::tileKv / 8);
  for (int64_t nt = 0; nt < W::tileKv / 8; ++nt)
    for (int64_t i = 0; i < 4; ++i)
      scores[nt][i] = sv[4 * nt + i];
  SoftmaxStep step = onlineSoftmaxStep(
      k, scores, kvFirst(jt), quadCol, {loA, loB}, {hiA, hiB},
      {{{state[0], state[1]}}, {{state[2], state[3]}}}, scale);
  std::vector<std::string> p;
  for (int64_t nt = 0; nt < W::tileKv / 8; ++nt)
    for (int64_t half = 0; half < 2; ++half)
      p.push_back(
          packPair(k, scores[nt][2 * half], scores[nt][2 * half + 1], t));

  k.line("nvvm.wgmma.wait.group.sync.aligned 0");
  o = pinned(k, o);
  for (int64_t i = 0; i < oValues; ++i)
    o[i] =
        k.def("arith.mulf " + o[i] + ", " + step.alpha[(i % 4) / 2] + " : f32");
  std::vector<std::string> yields = {step.state.max[0], step.state.max[1],
                                     step.state.sum[0], step.state.sum[1]};
  yields.insert(yields.end(), o.begin(), o.end());
  yields.insert(yields.end(), p.begin(), p.end());
  k.line("nvvm.mbarrier.arrive " + barrier(kEmpty, x.rem(rt, 2)) +
         " : !llvm.ptr<3> -> i64");
  k.line("scf.yield " + llvm::join(yields, ", ") + " : " + types);
  k.line("}");
  // The first warpgroup takes the turn the second passed it last.
  k.line("scf.if " +
         k.def("arith.cmpi eq, " + warpgroup + ", " + k.c(0) + " : index") +
         " {");
  k.line("nvvm.barrier id = " + ownTurn +
         " number_of_threads = " + groupThreads);
  k.line("}");

  // The last tile's P V, once its V stage (load group n) is complete.
  std::string last = k.fresh();
  k.line(last + ":" + std::to_string(oValues) + " = scf.if " +
         k.def("arith.cmpi ugt, " + tileCount + ", " + k.c(0) + " : index") +
         " -> (" + oTypes + ") {");
  waitPhase(kFull, tileCount);
  k.line("nvvm.fence.proxy {kind = #nvvm.proxy_kind<async.shared>, space = "
         "#nvvm.shared_space<cta>}");
  std::vector<std::string> finalO, finalP;
  for (int64_t i = 0; i < oValues; ++i)
    finalO.push_back(result + "#" + std::to_string(4 + i));
  for (int64_t i = 0; i < pWords; ++i)
    finalP.push_back(result + "#" + std::to_string(4 + oValues + i));
  k.line("nvvm.wgmma.fence.aligned");
  std::vector<std::string> lastO =
      pv(finalP, stageSlot(3, x.bin("arith.subi", tileCount, k.c(1))), finalO);
  k.line("nvvm.wgmma.commit.group.sync.aligned");
  k.line("nvvm.wgmma.wait.group.sync.aligned 0");
  k.line("scf.yield " + llvm::join(pinned(k, lastO), ", ") + " : " + oTypes);
  k.line("} else {");
  k.line("scf.yield " + llvm::join(finalO, ", ") + " : " + oTypes);
  k.line("}");

  std::array<std::string, 2> denom =
      softmaxDenominators(k, {result + "#2", result + "#3"});
  std::vector<std::string> outputs;
  for (int64_t i = 0; i < oValues; ++i)
    outputs.push_back(last + "#" + std::to_string(i));
  storeNormalisedRows(k, out, t, outputs, denom, {rowA, rowB}, sq, b, h, hq, d,
                      quadCol);
  return e.kernel("wgmma_attention", k.str("KERNEL"), op->getLoc());
}

} // namespace kopt::gpu
