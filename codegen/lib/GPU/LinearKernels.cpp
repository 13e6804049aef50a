//===- LinearKernels.cpp - linear and matmul on the GPU -------------------===//
//
// kopt.linear (y[m, n] = sum_k x[m, k] w[n, k] + b[n]) has two variants,
// chosen at launch from the dynamic row count M:
//   - GEMV (M <= 8): one warp per output feature n; each lane streams
//     16-byte slices of w's row (K % 8 == 0 for 16-bit types) with fused
//     multiply-adds in f32 and the warp reduces with shuffles; rows of x
//     are re-read from cache.
//   - GEMM (M > 8): the tensor-core GEMM (MmaGemmKernel.h) for f16/bf16
//     operands with K a multiple of 8; otherwise a SIMT GEMM of 64 x 64
//     output tiles per 256-thread block, 4 x 4 outputs per thread, 16-wide
//     K slices of x and w staged through shared memory, f32 accumulation.
// kopt.matmul runs the batched form of the same GEMMs with broadcast batch
// strides.
//
//===----------------------------------------------------------------------===//

#include "Families.h"
#include "Fp8GemvKernel.h"
#include "KernelText.h"
#include "LinearEpilogue.h"
#include "MmaGemmKernel.h"
#include "WgmmaGemmKernel.h"

#include "kopt/Dialect/Kopt/KoptOps.h"

using namespace mlir;

namespace kopt::gpu {
namespace {

/// Largest M the GEMV variant takes.
constexpr int64_t kGemvMaxRows = 8;
/// K elements of fp8 products the tensor cores sum before f32 takes over.
constexpr int64_t kFp8PromoteK = 256;

FailureOr<std::string> gemvKernel(FunctionEmitter &e, Operation *op,
                                  const std::string &t, const std::string &ot,
                                  int64_t n, int64_t kDim, bool bias) {
  constexpr int64_t warps = 8;
  KernelText k(warps * 32);
  bool vectorized = t != "f32" ? kDim % 8 == 0 : kDim % 4 == 0;
  int64_t width = vectorized ? (t == "f32" ? 4 : 8) : 1;
  std::string vt = "vector<" + std::to_string(width) + "x" + t + ">";
  std::string vf = "vector<" + std::to_string(width) + "xf32>";
  EpilogueText epilogue(k, e.epilogueOf(op), ot);
  // The weight is not prefetched into L2 (kopt-prefetch-streamed): 16-bit
  // weights stream at the bandwidth already, and TinyLlama's bf16 decode
  // step ran 4% slower with the prefetch (H200).
  std::string out = k.buffer("out", epilogue.outType()), x = k.buffer("x", t),
              w = k.buffer("w", t);
  std::string b = bias ? k.buffer("b", t) : "";
  std::string rows = k.index("rows");
  std::string lane =
      k.def("arith.remui " + k.tid() + ", " + k.c(32) + " : index");
  std::string warp =
      k.def("arith.divui " + k.tid() + ", " + k.c(32) + " : index");
  std::string nb =
      k.def("arith.muli " + k.bid('x') + ", " + k.c(warps) + " : index");
  std::string row = k.def("arith.addi " + nb + ", " + warp + " : index");
  std::string ok = k.def("arith.cmpi ult, " + row + ", " + k.c(n) + " : index");
  k.line("scf.if " + ok + " {");
  std::string wBase =
      k.def("arith.muli " + row + ", " + k.c(kDim) + " : index");
  std::string start =
      k.def("arith.muli " + lane + ", " + k.c(width) + " : index");
  std::string m = k.fresh();
  k.line("scf.for " + m + " = " + k.c(0) + " to " + rows + " step " + k.c(1) +
         " {");
  std::string xBase = k.def("arith.muli " + m + ", " + k.c(kDim) + " : index");
  std::string zero = k.def("arith.constant dense<0.0> : " + vf);
  std::string align = std::to_string(width * (t == "f32" ? 4 : 2));
  // acc + w[at..] * x[at..] over `width` elements from element kk.
  auto step = [&](const std::string &kk, const std::string &acc) {
    std::string wAt = k.def("arith.addi " + wBase + ", " + kk + " : index");
    std::string xAt = k.def("arith.addi " + xBase + ", " + kk + " : index");
    std::string wv, xv;
    if (vectorized) {
      wv = k.def("vector.load " + w + "[" + wAt + "] {alignment = " + align +
                 " : i64} : memref<?x" + t + ">, " + vt);
      xv = k.def("vector.load " + x + "[" + xAt + "] {alignment = " + align +
                 " : i64} : memref<?x" + t + ">, " + vt);
      if (t != "f32") {
        wv = k.def("arith.extf " + wv + " : " + vt + " to " + vf);
        xv = k.def("arith.extf " + xv + " : " + vt + " to " + vf);
      }
    } else {
      std::string ws = k.convert(
          k.def("memref.load " + w + "[" + wAt + "] : memref<?x" + t + ">"), t,
          "f32");
      std::string xs = k.convert(
          k.def("memref.load " + x + "[" + xAt + "] : memref<?x" + t + ">"), t,
          "f32");
      wv = k.def("vector.broadcast " + ws + " : f32 to " + vf);
      xv = k.def("vector.broadcast " + xs + " : f32 to " + vf);
    }
    return k.def("vector.fma " + wv + ", " + xv + ", " + acc + " : " + vf);
  };
  // Four warp-wide steps per iteration, then the rest one at a time.
  std::string sum =
      unrolledStridedSum(k, start, kDim, 32 * width, 4, zero, vf, step);
  std::string partial =
      k.def("vector.reduction <add>, " + sum + " : " + vf + " into f32");
  std::string v = k.warpReduce(partial, "arith.addf");
  std::string leader =
      k.def("arith.cmpi eq, " + lane + ", " + k.c(0) + " : index");
  k.line("scf.if " + leader + " {");
  if (bias) {
    std::string bv = k.convert(
        k.def("memref.load " + b + "[" + row + "] : memref<?x" + t + ">"), t,
        "f32");
    v = k.def("arith.addf " + v + ", " + bv + " : f32");
  }
  std::string om = k.def("arith.muli " + m + ", " + k.c(n) + " : index");
  std::string oAt = k.def("arith.addi " + om + ", " + row + " : index");
  k.line("memref.store " + epilogue.finish(v, m, row, k.c(n)) + ", " + out +
         "[" + oAt + "] : memref<?x" + epilogue.outType() + ">");
  k.line("}");
  k.line("}"); // m
  k.line("}"); // row ok
  return e.kernel("gemv", k.str("KERNEL"), op->getLoc());
}

/// Tiled SIMT GEMM: C[batch, m, n] = sum_k A[batch, m, k] B[batch, n, k]
/// (bTransposed = B stored [n, k]) or B[batch, k, n]; batch offsets from
/// strides given at launch; optional bias over n.
FailureOr<std::string> gemmKernel(FunctionEmitter &e, Operation *op,
                                  const std::string &t, const std::string &ot,
                                  bool bNK, bool bias) {
  constexpr int64_t tile = 64, kt = 16, threads = 256;
  KernelText k(threads);
  EpilogueText epilogue(k, e.epilogueOf(op), ot);
  std::string out = k.buffer("out", epilogue.outType()), a = k.buffer("a", t),
              bm = k.buffer("b", t);
  std::string bb = bias ? k.buffer("bias", t) : "";
  std::string M = k.index("m"), N = k.index("n"), K = k.index("k"),
              aBatch = k.index("a_batch"), bBatch = k.index("b_batch"),
              aMod = k.index("a_mod"), bMod = k.index("b_mod");
  std::string as =
      k.shared("as", std::to_string(kt) + "x" + std::to_string(tile) + "xf32");
  std::string bs =
      k.shared("bs", std::to_string(kt) + "x" + std::to_string(tile) + "xf32");
  std::string smem = ", #gpu.address_space<workgroup>>";
  std::string smemType = "memref<" + std::to_string(kt) + "x" +
                         std::to_string(tile) + "xf32" + smem;
  std::string batch = k.bid('z');
  std::string row0 =
      k.def("arith.muli " + k.bid('y') + ", " + k.c(tile) + " : index");
  std::string col0 =
      k.def("arith.muli " + k.bid('x') + ", " + k.c(tile) + " : index");
  std::string ty =
      k.def("arith.divui " + k.tid() + ", " + k.c(16) + " : index");
  std::string tx =
      k.def("arith.remui " + k.tid() + ", " + k.c(16) + " : index");
  // Operands broadcast over leading batch dims: batch index modulo theirs.
  std::string aIdx = k.def("arith.remui " + batch + ", " + aMod + " : index");
  std::string bIdx = k.def("arith.remui " + batch + ", " + bMod + " : index");
  std::string aOff = k.def("arith.muli " + aIdx + ", " + aBatch + " : index");
  std::string bOff = k.def("arith.muli " + bIdx + ", " + bBatch + " : index");
  std::string mn = k.def("arith.muli " + M + ", " + N + " : index");
  std::string cOff = k.def("arith.muli " + batch + ", " + mn + " : index");
  // Accumulators: 4 x 4 per thread, rows ty + 16 i, cols tx + 16 j.
  std::vector<std::string> init(16, k.f(0.0));
  std::string kk = k.fresh();
  std::vector<std::string> accs(16);
  for (auto &x : accs)
    x = k.fresh();
  std::string res = k.fresh();
  std::string iter, types;
  for (int i = 0; i < 16; ++i) {
    iter += (i ? ", " : "") + accs[i] + " = " + init[i];
    types += std::string(i ? ", " : "") + "f32";
  }
  k.line(res + ":16 = scf.for " + kk + " = " + k.c(0) + " to " + K + " step " +
         k.c(kt) + " iter_args(" + iter + ") -> (" + types + ") {");
  // Stage: 64 x 16 of A and of B, 4 elements per thread each.
  for (int r = 0; r < 4; ++r) {
    // Element e = tid + 256 r of the 64 x 16 slab: row e / 16, kcol e % 16.
    std::string eidx =
        k.def("arith.addi " + k.tid() + ", " + k.c(256 * r) + " : index");
    std::string rr = k.def("arith.divui " + eidx + ", " + k.c(kt) + " : index");
    std::string kc = k.def("arith.remui " + eidx + ", " + k.c(kt) + " : index");
    std::string gk = k.def("arith.addi " + kk + ", " + kc + " : index");
    std::string kOk = k.def("arith.cmpi ult, " + gk + ", " + K + " : index");
    // A: row0 + rr, k = gk
    std::string gm = k.def("arith.addi " + row0 + ", " + rr + " : index");
    std::string mOk = k.def("arith.cmpi ult, " + gm + ", " + M + " : index");
    std::string aOk = k.def("arith.andi " + mOk + ", " + kOk + " : i1");
    std::string aRow = k.def("arith.muli " + gm + ", " + K + " : index");
    std::string aAt0 = k.def("arith.addi " + aRow + ", " + gk + " : index");
    std::string aAt = k.def("arith.addi " + aAt0 + ", " + aOff + " : index");
    std::string av = k.loadOr(a, aAt, aOk, t);
    k.line("memref.store " + av + ", " + as + "[" + kc + ", " + rr +
           "] : " + smemType);
    // B: col0 + rr (n), k = gk
    std::string gn = k.def("arith.addi " + col0 + ", " + rr + " : index");
    std::string nOk = k.def("arith.cmpi ult, " + gn + ", " + N + " : index");
    std::string bOk = k.def("arith.andi " + nOk + ", " + kOk + " : i1");
    std::string bAt0;
    if (bNK) {
      std::string bRow = k.def("arith.muli " + gn + ", " + K + " : index");
      bAt0 = k.def("arith.addi " + bRow + ", " + gk + " : index");
    } else {
      std::string bRow = k.def("arith.muli " + gk + ", " + N + " : index");
      bAt0 = k.def("arith.addi " + bRow + ", " + gn + " : index");
    }
    std::string bAt = k.def("arith.addi " + bAt0 + ", " + bOff + " : index");
    std::string bv = k.loadOr(bm, bAt, bOk, t);
    k.line("memref.store " + bv + ", " + bs + "[" + kc + ", " + rr +
           "] : " + smemType);
  }
  k.line("gpu.barrier");
  std::string inner = k.fresh();
  std::vector<std::string> inAcc(16), outAcc(16);
  for (auto &x : inAcc)
    x = k.fresh();
  std::string innerRes = k.fresh();
  iter.clear();
  for (int i = 0; i < 16; ++i)
    iter += (i ? ", " : "") + inAcc[i] + " = " + accs[i];
  k.line(innerRes + ":16 = scf.for " + inner + " = " + k.c(0) + " to " +
         k.c(kt) + " step " + k.c(1) + " iter_args(" + iter + ") -> (" + types +
         ") {");
  std::vector<std::string> av(4), bv(4);
  for (int i = 0; i < 4; ++i) {
    std::string r = k.def("arith.addi " + ty + ", " + k.c(16 * i) + " : index");
    av[i] =
        k.def("memref.load " + as + "[" + inner + ", " + r + "] : " + smemType);
    std::string c = k.def("arith.addi " + tx + ", " + k.c(16 * i) + " : index");
    bv[i] =
        k.def("memref.load " + bs + "[" + inner + ", " + c + "] : " + smemType);
  }
  std::string yields;
  for (int i = 0; i < 4; ++i)
    for (int j = 0; j < 4; ++j) {
      std::string f = k.def("math.fma " + av[i] + ", " + bv[j] + ", " +
                            inAcc[i * 4 + j] + " : f32");
      yields += (yields.empty() ? "" : ", ") + f;
    }
  k.line("scf.yield " + yields + " : " + types);
  k.line("}");
  k.line("gpu.barrier");
  std::string outer;
  for (int i = 0; i < 16; ++i)
    outer += (i ? ", " : "") + innerRes + "#" + std::to_string(i);
  k.line("scf.yield " + outer + " : " + types);
  k.line("}");
  for (int i = 0; i < 4; ++i)
    for (int j = 0; j < 4; ++j) {
      std::string r0 =
          k.def("arith.addi " + ty + ", " + k.c(16 * i) + " : index");
      std::string r = k.def("arith.addi " + row0 + ", " + r0 + " : index");
      std::string c0 =
          k.def("arith.addi " + tx + ", " + k.c(16 * j) + " : index");
      std::string c = k.def("arith.addi " + col0 + ", " + c0 + " : index");
      std::string rOk = k.def("arith.cmpi ult, " + r + ", " + M + " : index");
      std::string cOk = k.def("arith.cmpi ult, " + c + ", " + N + " : index");
      std::string ok = k.def("arith.andi " + rOk + ", " + cOk + " : i1");
      k.line("scf.if " + ok + " {");
      std::string v = res + "#" + std::to_string(i * 4 + j);
      if (bias) {
        std::string bval = k.convert(
            k.def("memref.load " + bb + "[" + c + "] : memref<?x" + t + ">"), t,
            "f32");
        v = k.def("arith.addf " + v + ", " + bval + " : f32");
      }
      std::string rn = k.def("arith.muli " + r + ", " + N + " : index");
      std::string at0 = k.def("arith.addi " + rn + ", " + c + " : index");
      std::string at = k.def("arith.addi " + at0 + ", " + cOff + " : index");
      k.line("memref.store " + epilogue.finish(v, r, c, N) + ", " + out + "[" +
             at + "] : memref<?x" + epilogue.outType() + ">");
      k.line("}");
    }
  return e.kernel("gemm", k.str("KERNEL"), op->getLoc());
}

/// The wgmma GEMM's tile width and row bands: [lo, hi] row ranges (from
/// `minRows`), each with the widest of 256 / 128 / 64 columns whose grid at
/// the band's fewest rows still fills every SM once, else 64 (wave
/// quantisation: a 2048-wide product of 512 rows gets 128 blocks of 64
/// columns, not 32 of 256). Bands follow the row tiles 1, 2, 4, ..., 64,
/// more; neighbours of one width merge, except the first (one row tile,
/// deeper pipelined). Without a static N or batch:
/// 128 wide up to 128 rows, then 256.
struct WgmmaBand {
  int64_t lo, hi, tileN;
};
llvm::SmallVector<WgmmaBand> wgmmaBands(const GpuTarget &target,
                                        std::optional<int64_t> n,
                                        std::optional<int64_t> batch,
                                        int64_t minRows, int64_t maxTileN) {
  using S = WgmmaGemmShape;
  llvm::SmallVector<WgmmaBand> bands;
  auto add = [&](int64_t lo, int64_t hi, int64_t tileN) {
    tileN = std::min(tileN, maxTileN);
    lo = std::max(lo, minRows);
    if (lo > hi)
      return;
    // The one-row-tile band stays apart: it runs a deeper pipeline.
    if (!bands.empty() && bands.back().tileN == tileN &&
        bands.back().hi > S::tileM)
      bands.back().hi = hi;
    else
      bands.push_back({lo, hi, tileN});
  };
  if (!n || !batch) {
    add(0, S::narrowMaxRows, S::narrowTileN);
    add(S::narrowMaxRows + 1, INT64_MAX, S::wideTileN);
    return bands;
  }
  int64_t lo = 0;
  for (int64_t tiles : {1, 2, 4, 8, 16, 32, 64, 0}) {
    int64_t hi = tiles ? tiles * S::tileM : INT64_MAX;
    int64_t fewestTiles = std::max<int64_t>(1, (std::max(lo, minRows) +
                                                S::tileM - 1) / S::tileM);
    int64_t tileN = S::minTileN;
    for (int64_t width : {S::wideTileN, S::narrowTileN})
      if (fewestTiles * ((*n + width - 1) / width) * *batch >=
          target.smCount) {
        tileN = width;
        break;
      }
    add(lo, hi, tileN);
    lo = hi + 1;
  }
  return bands;
}

/// Launches of the best GEMM kernel for the problem, each given its
/// arguments by `addArguments` and run when M is in [minRows, inf): the
/// wgmma kernel where it applies (tile widths by row band, wgmmaBands),
/// else the mma.sync one, else the SIMT one. With `fp8` scales, the wgmma
/// kernel over e4m3 operands (the caller checked wgmmaFp8GemmApplies),
/// promoting its sums to f32 every `promoteSlices` K slices (0: never).
LogicalResult launchGemm(FunctionEmitter &e, Operation *op,
                         const std::string &t, const std::string &ot, bool bNK,
                         bool bias, AffineExpr m, AffineExpr n, AffineExpr kDim,
                         AffineExpr batch, int64_t minRows,
                         llvm::function_ref<void(Launch &)> addArguments,
                         const GemmScales *fp8 = nullptr,
                         int64_t promoteSlices = 0) {
  std::optional<int64_t> staticN = staticValue(n), staticM = staticValue(m);
  bool nEven = staticN && *staticN % 2 == 0;
  auto guarded = [&](Launch &l, int64_t lo, int64_t hi) {
    addArguments(l);
    l.guard = m;
    l.guardMin = lo;
    l.guardMax = hi;
  };
  if (fp8 || wgmmaGemmApplies(e.target(), t, staticValue(kDim), bNK)) {
    using S = WgmmaGemmShape;
    bool promote = fp8 && promoteSlices > 0;
    for (const WgmmaBand &band :
         wgmmaBands(e.target(), staticN, staticValue(batch), minRows,
                    promote ? S::promotedMaxTileN : S::wideTileN)) {
      if (staticM && (*staticM < band.lo || *staticM > band.hi))
        continue;
      bool oneRowTile = band.hi <= S::tileM;
      FailureOr<std::string> kernel =
          wgmmaGemmKernel(e, op, t, ot, bias, nEven, band.tileN, fp8,
                          promote ? promoteSlices : 0, oneRowTile);
      if (failed(kernel))
        return failure();
      Launch &l = e.launch(*kernel, op,
                           ceilDiv(m, S::tileM) * ceilDiv(n, band.tileN),
                           S::threads);
      l.grid[2] = batch;
      l.sharedBytes = S::sharedBytes(band.tileN, oneRowTile);
      guarded(l, band.lo, band.hi);
    }
    return success();
  }
  if (mmaGemmApplies(e.target(), t, staticValue(kDim), staticN, bNK)) {
    FailureOr<std::string> kernel =
        mmaGemmKernel(e, op, t, ot, bNK, bias, nEven);
    if (failed(kernel))
      return failure();
    using S = MmaGemmShape;
    Launch &l = e.launch(
        *kernel, op, ceilDiv(m, S::tileM) * ceilDiv(n, S::tileN), S::threads);
    l.grid[2] = batch;
    guarded(l, minRows, INT64_MAX);
    return success();
  }
  FailureOr<std::string> kernel = gemmKernel(e, op, t, ot, bNK, bias);
  if (failed(kernel))
    return failure();
  Launch &l = e.launch(*kernel, op, ceilDiv(n, 64), 256);
  l.grid[1] = ceilDiv(m, 64);
  l.grid[2] = batch;
  guarded(l, minRows, INT64_MAX);
  return success();
}

/// The GEMM ABI's trailing indices for a linear: m, n, k, no batch strides,
/// one batch.
void addLinearGemmIndices(Launch &l, FunctionEmitter &e, AffineExpr rows,
                          int64_t n, int64_t kDim) {
  l.index(rows)
      .index(e.constant(n))
      .index(e.constant(kDim))
      .index(e.constant(0))
      .index(e.constant(0))
      .index(e.constant(1))
      .index(e.constant(1));
}

} // namespace

LogicalResult launchLinearGemm(LinearOp op, FunctionEmitter &e,
                               int64_t outBuffer, int64_t weightBuffer,
                               int64_t minRows) {
  auto wType = cast<RankedTensorType>(op.getWeight().getType());
  int64_t n = wType.getDimSize(0), kDim = wType.getDimSize(1);
  bool bias = static_cast<bool>(op.getBias());
  AffineExpr rows = e.numElements(op.getInput()).floorDiv(kDim);
  return launchGemm(e, op, elementTypeText(op.getInput()),
                    elementTypeText(op.getResult()), /*bNK=*/true, bias, rows,
                    e.constant(n), e.constant(kDim), e.constant(1), minRows,
                    [&](Launch &large) {
                      large.buffer(outBuffer)
                          .buffer(e.bufferOf(op.getInput()))
                          .buffer(weightBuffer);
                      if (bias)
                        large.buffer(e.bufferOf(op.getBias()));
                      addLinearGemmIndices(large, e, rows, n, kDim);
                      addEpilogueArguments(large, e, op);
                    });
}

namespace {

/// A linear over fake_quant activations and an e4m3 weight (one scale per
/// row or per tensor): up to fp8GemvMaxRows rows the fp8 GEMV, then the fp8
/// wgmma GEMM, over both operands' codes, scaled in their epilogues. The
/// tensor cores' fp8 sums keep fewer bits than f32, so the GEMM adds them
/// into f32 registers every kFp8PromoteK elements of K;
/// `kopt.fp8_promote_every = N` (a multiple of 128, or 0: never, the
/// tensor cores' own accumulation over all of K) changes that.
LogicalResult emitFp8Linear(LinearOp op, FunctionEmitter &e) {
  int64_t promoteK = kFp8PromoteK;
  if (Attribute every = op->getAttr("kopt.fp8_promote_every")) {
    auto value = dyn_cast<IntegerAttr>(every);
    if (!value || value.getInt() < 0 || value.getInt() % 128 != 0)
      return op.emitError("kopt.fp8_promote_every must be a non-negative "
                          "multiple of 128 (K elements), got ")
             << every;
    promoteK = value.getInt();
  }
  auto weight = op.getWeight().getDefiningOp<DequantizeOp>();
  auto activations = op.getInput().getDefiningOp<FakeQuantOp>();
  ArrayRef<int64_t> codes = e.encoded(activations.getResult());
  if (codes.size() != 2)
    return op.emitError("the fp8 activations of this linear were not "
                        "encoded (internal error)");
  QuantizedType encoding = weight.getEncodingType();
  int64_t n = encoding.getShape()[0], kDim = encoding.getShape()[1];
  bool bias = static_cast<bool>(op.getBias());
  GemmScales scales{elementTypeText(weight.getScales()),
                    activations.getGranularity() == "token",
                    encoding.getGroupSize() != 0,
                    bias ? elementTypeText(op.getBias()) : "f32"};
  AffineExpr rows = e.numElements(op.getInput()).floorDiv(kDim);
  int64_t outBuffer = e.defineOutput(op);
  std::string ot = elementTypeText(op.getResult());
  // Both kernels take out, a, b, a_scale, b_scale, [bias] first.
  auto addOperands = [&](Launch &l) {
    l.buffer(outBuffer)
        .buffer(codes[0])
        .buffer(e.bufferOf(weight.getCodes()))
        .buffer(codes[1])
        .buffer(e.bufferOf(weight.getScales()));
    if (bias)
      l.buffer(e.bufferOf(op.getBias()));
  };
  // Up to fp8GemvMaxRows rows: a warp per output feature.
  FailureOr<std::string> gemv = fp8GemvKernel(e, op, ot, n, kDim, bias, scales);
  if (failed(gemv))
    return failure();
  Launch &small = e.launch(
      *gemv, op, e.constant((n + fp8GemvWarps - 1) / fp8GemvWarps),
      fp8GemvWarps * 32);
  addOperands(small);
  small.index(rows);
  addEpilogueArguments(small, e, op);
  small.guard = rows;
  small.guardMin = 1;
  small.guardMax = fp8GemvMaxRows;
  return launchGemm(
      e, op, "i8", ot, /*bNK=*/true, bias, rows,
      e.constant(n), e.constant(kDim), e.constant(1),
      /*minRows=*/fp8GemvMaxRows + 1,
      [&](Launch &l) {
        addOperands(l);
        addLinearGemmIndices(l, e, rows, n, kDim);
        addEpilogueArguments(l, e, op);
      },
      &scales, promoteK / 128);
}

} // namespace

int64_t linearPrologueRows(LinearOp op, FunctionEmitter &e) {
  if (op->hasAttr("kopt.tile_variants") || fp8LinearApplies(op, e.target()))
    return 0;
  if (auto packed = op.getWeight().getDefiningOp<DequantizeOp>();
      packed && fusesIntoLinear(packed, e.target()))
    return packedPrologueRows(op, packed, e);
  // The dense GEMV streams its 16-bit weight at the bandwidth already; with
  // the norm applied (x * g per element, the row's sum of squares from the
  // same loads) TinyLlama's bf16 decode step ran 13% slower on the H200
  // (1.006 -> 1.139 ms) than with the norms' own kernels.
  return 0;
}

namespace {

LogicalResult emitLinear(LinearOp op, FunctionEmitter &e) {
  if (fp8LinearApplies(op, e.target()))
    return emitFp8Linear(op, e);
  if (auto packed = op.getWeight().getDefiningOp<DequantizeOp>();
      packed && fusesIntoLinear(packed, e.target()))
    return emitQuantizedLinear(op, packed, e);
  auto wType = cast<RankedTensorType>(op.getWeight().getType());
  int64_t n = wType.getDimSize(0), kDim = wType.getDimSize(1);
  std::string t = elementTypeText(op.getInput()),
              ot = elementTypeText(op.getResult());
  bool bias = static_cast<bool>(op.getBias());
  AffineExpr rows = e.numElements(op.getInput()).floorDiv(kDim);
  FailureOr<int64_t> weight = readWeight(e, op.getWeight(), /*slot=*/0);
  if (failed(weight))
    return failure();
  int64_t outBuffer = e.defineOutput(op);

  FailureOr<std::string> gemv = gemvKernel(e, op, t, ot, n, kDim, bias);
  if (failed(gemv))
    return failure();
  Launch &small = e.launch(*gemv, op, e.constant((n + 7) / 8), 256);
  small.buffer(outBuffer)
      .buffer(e.bufferOf(op.getInput()))
      .buffer(*weight);
  if (bias)
    small.buffer(e.bufferOf(op.getBias()));
  small.index(rows);
  addEpilogueArguments(small, e, op);
  small.guard = rows;
  small.guardMin = 1;
  small.guardMax = kGemvMaxRows;

  return launchLinearGemm(op, e, outBuffer, *weight, kGemvMaxRows + 1);
}

LogicalResult emitMatmul(MatmulOp op, FunctionEmitter &e) {
  auto aType = cast<RankedTensorType>(op.getLhs().getType());
  auto bType = cast<RankedTensorType>(op.getRhs().getType());
  auto cType = cast<RankedTensorType>(op.getResult().getType());
  SmallVector<AffineExpr> aDims = e.dims(op.getLhs()),
                          bDims = e.dims(op.getRhs()),
                          cDims = e.dims(op.getResult());
  int64_t cRank = cType.getRank();
  bool bNK = op.getTransposeB();
  AffineExpr M = cDims[cRank - 2], N = cDims[cRank - 1],
             K = aDims[aType.getRank() - 1];
  // Batch: the result's batch dims flattened. An operand's batch dims must
  // equal the result's trailing ones (missing leading dims broadcast: the
  // batch index is taken modulo the operand's batch count), or all be 1.
  AffineExpr batch = e.product(ArrayRef<AffineExpr>(cDims).drop_back(2));
  struct BatchLayout {
    AffineExpr mod, stride;
  };
  auto layoutOf = [&](RankedTensorType type,
                      ArrayRef<AffineExpr> dims) -> std::optional<BatchLayout> {
    int64_t rank = type.getRank(), offset = cRank - rank;
    bool allOne = true;
    for (int64_t d = 0; d < rank - 2; ++d)
      allOne &= !type.isDynamicDim(d) && type.getDimSize(d) == 1;
    if (allOne)
      return BatchLayout{e.constant(1), e.constant(0)};
    for (int64_t d = 0; d < rank - 2; ++d)
      if (type.getDimSize(d) != cType.getDimSize(d + offset) ||
          (type.isDynamicDim(d) && dims[d] != cDims[d + offset]))
        return std::nullopt;
    return BatchLayout{e.product(dims.drop_back(2)),
                       dims[rank - 2] * dims[rank - 1]};
  };
  std::optional<BatchLayout> aLayout = layoutOf(aType, aDims);
  std::optional<BatchLayout> bLayout = layoutOf(bType, bDims);
  if (!aLayout || !bLayout)
    return op.emitError("matmul with size-1 batch dims broadcast between "
                        "others has no GPU kernel yet");
  std::string t = elementTypeText(op.getLhs()),
              ot = elementTypeText(op.getResult());
  int64_t outBuffer = e.define(op.getResult());
  return launchGemm(e, op, t, ot, bNK, /*bias=*/false, M, N, K, batch,
                    /*minRows=*/0, [&](Launch &l) {
                      l.buffer(outBuffer)
                          .buffer(e.bufferOf(op.getLhs()))
                          .buffer(e.bufferOf(op.getRhs()))
                          .index(M)
                          .index(N)
                          .index(K)
                          .index(aLayout->stride)
                          .index(bLayout->stride)
                          .index(aLayout->mod)
                          .index(bLayout->mod);
                    });
}

} // namespace

LogicalResult emitLinearAlgebra(Operation *op, FunctionEmitter &e) {
  if (auto linear = dyn_cast<LinearOp>(op))
    return emitLinear(linear, e);
  return emitMatmul(cast<MatmulOp>(op), e);
}

} // namespace kopt::gpu
