//===- FlashAttentionKernel.cpp - Tensor-core attention prefill -----------===//
//
// FlashAttention-2 on mma.sync: a block of 4 warps owns 64 queries of one
// (batch, query head); each warp 16 of them, its Q fragments held in
// registers for the whole pass. The block walks 64-key tiles of its kv head
// between the first and last visible key of its queries (causal, window and
// kv_len bounds skip whole tiles), computing S = Q K^T on the tensor cores,
// masking per element, keeping an online softmax in the exp2 domain
// (running max per row, per-thread partial sums), and O += P V with P
// re-packed from the S accumulators into A fragments without touching
// shared memory. K and V tiles go through XOR-swizzled shared memory by
// cp.async, the next tile's K load overlapping this tile's P V and the
// next V load overlapping the next S. Query tiles run in reverse so that
// the longest causal rows start first.
//
//===----------------------------------------------------------------------===//

#include "FlashAttentionKernel.h"

#include "AttentionBounds.h"
#include "MmaText.h"
#include "OnlineSoftmax.h"

#include "llvm/ADT/StringExtras.h"

#include <cmath>

using namespace mlir;

namespace kopt::gpu {
namespace {

constexpr int64_t kThreads = FlashAttentionShape::threads;
constexpr int64_t kTileQ = FlashAttentionShape::tileQ, kTileKv = kTileQ;

} // namespace

bool flashAttentionApplies(const GpuTarget &target, llvm::StringRef t,
                           int64_t d) {
  return target.hasCpAsync && tensorCoreHeadDim(t, d);
}

FailureOr<std::string> flashAttentionKernel(FunctionEmitter &e, AttentionOp op,
                                            const std::string &t,
                                            const std::string &lt, int64_t hq,
                                            int64_t hkv, int64_t d,
                                            double scale) {
  KernelText k(kThreads);
  IndexOps x{k};
  // (Named references, not structured bindings: lambdas capture them.)
  PrefillParams params = prefillParams(k, op, t, lt);
  const std::string &out = params.out, &q = params.q, &kk = params.k,
                    &v = params.v, &kvLen = params.kvLen,
                    &status = params.status, &sq = params.sq, &skv = params.skv;
  std::string tile = std::to_string(kTileQ) + "x" + std::to_string(d) + "x" + t;
  std::string qs = k.shared("qs", tile), ks = k.shared("ks", tile),
              vs = k.shared("vs", tile);
  std::string sType = "memref<" + tile + ", #gpu.address_space<workgroup>>";
  std::string gType = "memref<?x" + t + ">";
  int64_t chunksPerRow = d / 8, kSteps = d / 16, dTiles = d / 8;

  std::string tilesQ =
      k.def("arith.ceildivui " + sq + ", " + k.c(kTileQ) + " : index");
  std::string qTile =
      x.bin("arith.subi", x.bin("arith.subi", tilesQ, k.c(1)), k.bid('x'));
  std::string h = k.bid('y'), b = k.bid('z');
  std::string kvh = x.div(h, hq / hkv);
  std::string q0 = x.mul(qTile, k.c(kTileQ));
  std::string tid = k.tid();
  std::string lane = x.rem(tid, 32), warp = x.div(tid, 32);
  std::string l8 = x.rem(lane, 8), l16 = x.rem(lane, 16), hi = x.div(lane, 16);
  std::string mid = x.rem(x.div(lane, 8), 2);

  QueryBlockKeys keys = queryBlockKeys(k, e, op, kvLen, lt, b, sq, skv, status,
                                       q0, kTileQ, kTileKv);
  const std::string &firstTile = keys.firstTile, &endTile = keys.endTile;

  // cp.async of a 64 x D tile: rows of `src` at ((b * S + row) * H + head)
  // * D. Thread t copies chunk t % (D / 8) of rows t / (D / 8) + r * step:
  // the same swizzled column for every r (step is a multiple of 8).
  int64_t rowStep = kThreads / chunksPerRow;
  std::string copyRow = x.div(tid, chunksPerRow);
  std::string copyChunk = x.rem(tid, chunksPerRow);
  std::string copyColumn = x.swizzle128(copyRow, copyChunk);
  auto loadTile = [&](const std::string &src, const std::string &dst,
                      const std::string &first, const std::string &seq,
                      int64_t heads, const std::string &head) {
    std::string firstRow = x.add(first, copyRow);
    std::string base = x.add(
        x.mul(x.add(x.mul(x.add(x.mul(b, seq), firstRow), k.c(heads)), head),
              k.c(d)),
        x.mul(copyChunk, k.c(8)));
    for (int64_t r = 0; r < kTileQ / rowStep; ++r) {
      std::string ok = x.lt(x.add(firstRow, k.c(r * rowStep)), seq);
      std::string at = x.add(base, k.c(r * rowStep * heads * d));
      std::string safe = x.select(ok, at, k.c(0));
      std::string count = x.select(ok, k.c(8), k.c(0));
      k.def("nvgpu.device_async_copy " + src + "[" + safe + "], " + dst + "[" +
            x.add(copyRow, k.c(r * rowStep)) + ", " + copyColumn + "], 8, " +
            count + " {bypassL1} : " + gType + " to " + sType);
    }
    k.line("nvvm.cp.async.commit.group");
  };
  auto kvFirst = [&](const std::string &tileIndex) {
    return x.mul(tileIndex, k.c(kTileKv));
  };

  // Q fragments of this warp's 16 rows, kept in registers.
  loadTile(q, qs, q0, sq, hq, h);
  loadTile(kk, ks, kvFirst(firstTile), skv, hkv, kvh);
  loadTile(v, vs, kvFirst(firstTile), skv, hkv, kvh);
  k.line("nvvm.cp.async.wait.group 2");
  k.line("gpu.barrier");
  std::string fragType = "vector<4x2x" + t + ">";
  std::string warpRow = x.mul(warp, k.c(16));
  std::vector<std::vector<std::string>> qFrag;
  for (int64_t s = 0; s < kSteps; ++s)
    qFrag.push_back(mmaOperands(
        k,
        k.def("nvgpu.ldmatrix " + qs + "[" + x.add(warpRow, l16) + ", " +
              x.swizzle128(l16, x.add(k.c(2 * s), hi)) +
              "] {numTiles = 4 : i32, transpose = false} : " + sType + " -> " +
              fragType),
        t));

  // This thread's two query rows and their visible key ranges.
  std::string rowA = x.add(q0, x.add(warpRow, x.div(lane, 4)));
  std::string rowB = x.add(rowA, k.c(8));
  auto [loA, hiA] = keys.visible(rowA);
  auto [loB, hiB] = keys.visible(rowB);
  std::string quadCol = x.mul(x.rem(lane, 4), k.c(2));
  std::string negInf = k.f(-INFINITY);

  // Loop state: m (2 rows), l (2 per-thread partial sums), O [dTiles][4].
  std::vector<std::string> init = {negInf, negInf, k.f(0.0), k.f(0.0)};
  init.resize(4 + dTiles * 4, k.f(0.0));
  CarriedLoop loop = openCarriedLoop(k, firstTile, endTile, k.c(1), init);
  const std::string &jt = loop.iv;
  const std::vector<std::string> &state = loop.carried;
  k.line("nvvm.cp.async.wait.group 1");
  k.line("gpu.barrier");
  // S = Q K^T: 8 n-tiles of 8 keys.
  ScoreTile sAcc(kTileKv / 8);
  for (auto &tileAcc : sAcc)
    for (auto &value : tileAcc)
      value = k.f(0.0);
  for (int64_t s = 0; s < kSteps; ++s)
    for (int64_t np = 0; np < kTileKv / 16; ++np) {
      std::string key = x.add(k.c(16 * np), x.add(l8, x.mul(hi, k.c(8))));
      std::vector<std::string> kf = mmaOperands(
          k,
          k.def("nvgpu.ldmatrix " + ks + "[" + key + ", " +
                x.swizzle128(l8, x.add(k.c(2 * s), mid)) +
                "] {numTiles = 4 : i32, transpose = false} : " + sType +
                " -> " + fragType),
          t);
      for (int64_t half = 0; half < 2; ++half) {
        std::array<std::string, 4> &c = sAcc[2 * np + half];
        c = mmaSync(k, t, qFrag[s], {kf[2 * half], kf[2 * half + 1]},
                    {c[0], c[1], c[2], c[3]});
      }
    }
  k.line("gpu.barrier");
  std::string next = x.add(jt, k.c(1));
  loadTile(kk, ks, kvFirst(next), skv, hkv, kvh);

  SoftmaxStep step = onlineSoftmaxStep(
      k, sAcc, kvFirst(jt), quadCol, {loA, loB}, {hiA, hiB},
      {{{state[0], state[1]}}, {{state[2], state[3]}}}, scale);
  const auto &alpha = step.alpha;
  std::vector<std::string> yields = {step.state.max[0], step.state.max[1],
                                     step.state.sum[0], step.state.sum[1]};
  std::vector<std::string> o(dTiles * 4);
  for (int64_t i = 0; i < dTiles * 4; ++i)
    o[i] = k.def("arith.mulf " + state[4 + i] + ", " + alpha[(i % 4) / 2] +
                 " : f32");

  // O += P V.
  k.line("nvvm.cp.async.wait.group 1");
  k.line("gpu.barrier");
  for (int64_t kt = 0; kt < kTileKv / 16; ++kt) {
    const auto &c0 = sAcc[2 * kt], &c1 = sAcc[2 * kt + 1];
    std::vector<std::string> p = {
        mmaPack(k, c0[0], c0[1], t), mmaPack(k, c0[2], c0[3], t),
        mmaPack(k, c1[0], c1[1], t), mmaPack(k, c1[2], c1[3], t)};
    std::string krow = x.add(k.c(16 * kt), x.add(x.mul(mid, k.c(8)), l8));
    mmaAccumulatePV(
        k, t, p, d,
        [&](int64_t dp) {
          return k.def("nvgpu.ldmatrix " + vs + "[" + krow + ", " +
                       x.swizzle128(l8, x.add(k.c(2 * dp), hi)) +
                       "] {numTiles = 4 : i32, transpose = true} : " + sType +
                       " -> " + fragType);
        },
        o);
  }
  k.line("gpu.barrier");
  loadTile(v, vs, kvFirst(next), skv, hkv, kvh);
  yields.insert(yields.end(), o.begin(), o.end());
  closeCarriedLoop(k, yields);
  k.line("nvvm.cp.async.wait.group 0");

  // out = O / l over the quad's partial sums; rows with nothing visible
  // (l == 0) write zeros.
  std::array<std::string, 2> denom =
      softmaxDenominators(k, {loop.result(2), loop.result(3)});
  std::vector<std::string> outputs(dTiles * 4);
  for (int64_t i = 0; i < dTiles * 4; ++i)
    outputs[i] = loop.result(4 + i);
  storeNormalisedRows(k, out, t, outputs, denom, {rowA, rowB}, sq, b, h, hq, d,
                      quadCol);
  return e.kernel("flash_attention", k.str("KERNEL"), op->getLoc());
}

} // namespace kopt::gpu
