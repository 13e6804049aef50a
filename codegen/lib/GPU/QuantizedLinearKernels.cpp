//===- QuantizedLinearKernels.cpp - linear over packed int4/int8 weights --===//
//
// kopt.linear whose weight is a kopt.dequantize of `mma`-layout i4/i8 codes
// runs one tensor-core kernel per band of row counts M up to 128, with the
// weight as the A operand of m16n8k16 mma.sync and the activations as B, so
// tokens fill the n = 8 side and M = 1 wastes no weight traffic:
//   - a block owns R tiles of 16 weight rows (R = 1, 2 or 4) and 8 * MT
//     tokens; the warps of each tile split K, one 16-byte slice per lane per
//     chunk of 64 (i4) or 32 (i8) K elements, 2 to 8 chunks' loads issued
//     together, and the R warps of one K slice share its activations in L1;
//   - codes are dequantized in registers: i4 nibbles and f16-side i8 bytes
//     by the exponent trick ((code & mask | 0x6400), in one lop3 for one
//     token tile, minus 1024 + zero, then * scale,
//     as f16x2/bf16x2 pairs), bf16-side i8 through f32, rounding once, so
//     the weight equals kopt.dequantize's bit for bit;
//   - activations come straight from global memory (L1/L2-resident) in the
//     K order the packed layout permutes both operands into;
//   - warps reduce through shared memory; bias and the output cast follow.
// MT = 1, 2, 4, 8 variants are chosen by launch guards on M (grid.y tiles
// the tokens). From kDenseFromRows rows (or `kopt.dense_from_rows`) the same
// dequantization instead writes the dense weight once into a scratch buffer
// shared by the function's ops and the dense GEMM reads it: there the packed
// kernel's activation reads, repeated by every block of rows, cost more than
// the dequantized weight's round trip. Up to 16 tokens, i4 weights of at
// least kStreamedMinElements (or a linear carrying `kopt.gemv_tile`, with
// that tiling) run the streamed kernel (StreamedQuantizedLinearKernel.h)
// instead: its cp.async rings keep more of the weight in flight, which
// pays where the weight stream is long. Any other dequantize (plain layout, fp8,
// K not a multiple of the chunk, f32 activations, moe experts) is
// dequantized by a dequantize kernel, at each reading linear or moe into
// the shared scratch when those are its only readers (readWeight), and the
// dense kernels read it.
//
//===----------------------------------------------------------------------===//

#include "Families.h"
#include "KernelText.h"
#include "MmaText.h"
#include "NormPrologue.h"
#include "ReaderEpilogue.h"
#include "PackedLinearText.h"
#include "StreamedQuantizedLinearKernel.h"
#include "WgmmaGemmKernel.h"

#include <cmath>

using namespace mlir;

namespace kopt::gpu {
namespace {

struct Dequantizer {
  KernelText &k;
  std::string t; // f16 or bf16
  /// Mask and magic in one lop3 (one token tile: H200, 1-8% faster) or an
  /// and and an or (wider tiles: the lop3 form takes 66 registers, past the
  /// 64 that hold 4 blocks of 8 warps per SM, and ran up to 35% slower).
  bool lop3 = true;

  std::string i32(int64_t v) { return k.ci(v, "i32"); }
  std::string op(const char *name, const std::string &a, const std::string &b,
                 const std::string &type = "i32") {
    return k.def(std::string(name) + " " + a + ", " + b + " : " + type);
  }
  /// The pair (bits `shift`.. of both 16-bit halves of `w`, masked by
  /// `mask`) | magic, as vector<2xT>.
  std::string magicPair(const std::string &w, int64_t shift, int64_t mask) {
    std::string v = shift ? op("arith.shrui", w, i32(shift)) : w;
    int64_t magic = t == "f16" ? 0x6400 : 0x4300;
    if (lop3) {
      v = andOr(k, v, mask * 0x10001, 0x10001 * magic);
    } else {
      v = op("arith.andi", v, i32(mask * 0x10001));
      v = op("arith.ori", v, i32(0x10001 * magic));
    }
    std::string vec =
        k.def("vector.broadcast " + v + " : i32 to vector<1xi32>");
    return k.def("vector.bitcast " + vec + " : vector<1xi32> to vector<2x" + t +
                 ">");
  }
  /// (pair - offset) * scale, both vector<2xT> splats.
  std::string apply(const std::string &pair, const std::string &offset,
                    const std::string &scale) {
    std::string vt = "vector<2x" + t + ">";
    std::string centered =
        k.def("arith.subf " + pair + ", " + offset + " : " + vt);
    return k.def("arith.mulf " + centered + ", " + scale + " : " + vt);
  }
};

/// Token tiles (of 8) up to which the streamed kernel runs.
constexpr int64_t kStreamedMaxTokenTiles = 2;
/// i4 weights from this many elements stream by default (H200, int4 g128
/// bf16, bench/RESULTS.md: 28672 x 8192 at 1 and 16 tokens runs 10% faster
/// streamed; 8192 x 8192 and smaller ties or loses).
constexpr int64_t kStreamedMinElements = int64_t(1) << 27;

/// The streamed kernel's measured default tiling for a band, if it takes
/// this linear: 8 warps, 4 stages of 2 chunks, factored scales for up to 8
/// tokens; 16 warps with scaled weights for 9 to 16.
std::optional<StreamedLinearConfig>
defaultStreamedTiling(const GpuTarget &target, const PackedLinearProblem &p) {
  if (!p.int4 || p.tokenTiles > kStreamedMaxTokenTiles ||
      p.n * p.kDim < kStreamedMinElements ||
      !streamedLinearApplies(target, p.kDim, p.int4))
    return std::nullopt;
  StreamedLinearConfig cfg;
  bool one = p.tokenTiles == 1;
  cfg.warps = one ? 8 : 16;
  cfg.stages = 4;
  cfg.chunksPerStage = 2;
  cfg.factoredScales = one && factoredScalesApply(p.groupSize, p.int4);
  return cfg;
}

struct QuantizedLinearConfig : PackedLinearProblem {
  int64_t warps = 8;    // rowTiles x the warps splitting K
  int64_t rowTiles = 1; // tiles of 16 weight rows per block
  int64_t unroll = 4;   // chunks whose loads are issued together
  /// Writes the dense weight (out[row, k], T) instead of the product: the
  /// prologue of the wide-band path (dequantized once, then the dense GEMM).
  bool materialize = false;
  /// The rmsnorm the kernel applies to its activations (x is the norm's
  /// input, its weight g the parameter after `rows`), or null.
  const NormPrologue *norm = nullptr;
  /// The epilogue of the linear producing x that the kernel applies to its
  /// activations (x is that linear's raw output, the epilogue's operands
  /// the parameters after `rows`), or null.
  const ReaderEpilogue *inputEpilogue = nullptr;
  /// Applies only the head of the linear's epilogue and writes the raw
  /// output: its readers apply the rest.
  const ReaderEpilogue *rawOutput = nullptr;
};

/// Warps, row tiles and unroll per variant, from H200 timings of the int4
/// g128 and int8 per-channel bf16 shapes of bench/gpu/qgemv.sh
/// (bench/RESULTS.md): 16 warps where the grid is small (N <= 4096) or the
/// token band wide (M > 32), 8 chunks in flight for int8 GEMV, 2 for int4 at
/// M <= 16; several row tiles per block, whose warps share the activations
/// through L1, for the 64-token band (and int4's 32): 4 x 4 warps with N >=
/// 8192, 2 x 8 for int8 with N <= 4096.
void chooseWarpsAndUnroll(QuantizedLinearConfig &cfg) {
  int64_t tiles = (cfg.n + 15) / 16;
  cfg.rowTiles = 1;
  if (tiles >= 512 && (cfg.tokenTiles == 8 ||
                       (cfg.tokenTiles == 4 && cfg.int4))) {
    cfg.rowTiles = 4;
    cfg.warps = 16;
    cfg.unroll = 2;
    return;
  }
  if (tiles <= 256 && cfg.tokenTiles == 8 && !cfg.int4) {
    cfg.rowTiles = 2;
    cfg.warps = 16;
    cfg.unroll = 2;
    return;
  }
  cfg.warps = tiles <= 256 || cfg.tokenTiles >= 8 ? 16 : 8;
  cfg.unroll = 4;
  if (cfg.tokenTiles == 1 && !cfg.int4) {
    cfg.warps = 8;
    cfg.unroll = 8;
  } else if (cfg.tokenTiles == 2 && cfg.int4 && tiles > 256) {
    cfg.unroll = 2;
  }
}

FailureOr<std::string> quantizedLinearKernel(FunctionEmitter &e, Operation *op,
                                             const QuantizedLinearConfig &cfg) {
  const std::string &t = cfg.t;
  const int64_t chunk = cfg.int4 ? 64 : 32, span = chunk / 4;
  const int64_t chunks = cfg.kDim / chunk, mt = cfg.tokenTiles;
  const int64_t steps = cfg.int4 ? 4 : 2;
  KernelText k(cfg.warps * 32);
  IndexOps ix{k};
  EpilogueText epilogue(k,
                        cfg.materialize ? nullptr
                        : cfg.rawOutput ? cfg.rawOutput->head.get()
                                        : e.epilogueOf(op),
                        cfg.ot);
  PackedLinearBuffers buffers;
  if (cfg.materialize) {
    buffers.out = k.buffer("out", t);
    buffers.q = k.buffer("q", "i8");
    buffers.s = k.buffer("s", t);
    if (cfg.asymmetric)
      buffers.z = k.buffer("z", "i8");
  } else {
    buffers = packedLinearBuffers(k, t, epilogue.outType(), cfg.asymmetric,
                                  cfg.bias);
  }
  const std::string &out = buffers.out, &x = buffers.x, &q = buffers.q,
                    &s = buffers.s, &z = buffers.z, &b = buffers.b,
                    &rows = buffers.rows;
  const int64_t tokens = 8 * mt;
  std::string g = cfg.norm ? k.buffer("g", t) : "";
  ActivationTransform transform =
      cfg.inputEpilogue ? readerEpilogueTransform(k, *cfg.inputEpilogue, t)
                        : nullptr;
  std::string red =
      cfg.materialize
          ? ""
          : k.shared("red", std::to_string(cfg.warps) + "x" +
                                std::to_string(128 * mt) + "xf32");

  // Warp w works on row tile w % rowTiles and takes every kWarps-th chunk of
  // K from w / rowTiles on: the rowTiles warps of one K slice read the same
  // activations at about the same time, so all but the first hit in L1.
  const int64_t kWarps = cfg.warps / cfg.rowTiles;
  const int64_t packedTiles = (cfg.n + 15) / 16;
  std::string lane = ix.rem(k.tid(), 32), warp = ix.div(k.tid(), 32);
  std::string kWarp = ix.div(warp, cfg.rowTiles);
  std::string r = ix.div(lane, 4), c = ix.rem(lane, 4);
  std::string firstTile = ix.mul(k.bid('x'), k.c(cfg.rowTiles));
  std::string tile = ix.add(firstTile, ix.rem(warp, cfg.rowTiles));
  std::string tokenBase = ix.mul(k.bid('y'), k.c(8 * mt));
  auto minIndex = [&](const std::string &a, const std::string &bnd) {
    return k.def("arith.minui " + a + ", " + bnd + " : index");
  };
  // Rows past N hold zero-valued codes; clamping only keeps scale reads in
  // bounds (their outputs are not stored).
  std::string rowA = ix.add(ix.mul(tile, k.c(16)), r);
  std::string rowB = ix.add(rowA, k.c(8));
  std::string rowAc = minIndex(rowA, k.c(cfg.n - 1));
  std::string rowBc = minIndex(rowB, k.c(cfg.n - 1));
  std::vector<std::string> xBase;
  for (int64_t nt = 0; nt < mt && !cfg.materialize; ++nt) {
    std::string lastRow = ix.bin("arith.subi", rows, k.c(1));
    std::string token = ix.add(tokenBase, ix.add(k.c(8 * nt), r));
    xBase.push_back(ix.add(ix.mul(minIndex(token, lastRow), k.c(cfg.kDim)),
                           ix.mul(c, k.c(span))));
  }
  // A last block's tiles past N read the last tile (not stored).
  std::string qBase =
      ix.add(ix.mul(minIndex(tile, k.c(packedTiles - 1)), k.c(chunks * 512)),
             ix.mul(lane, k.c(16)));
  std::string vt = "vector<2x" + t + ">";
  Dequantizer dq{k, t, mt == 1};
  int64_t magic = t == "f16" ? 0x6400 : 0x4300;

  // Scale (and offset) splats of rows A and B for one chunk's group.
  struct GroupValues {
    std::string scaleA, scaleB, offsetA, offsetB; // vector<2xT> (or f32)
  };
  bool viaF32 = !cfg.int4 && t == "bf16";
  // The global loads of one chunk: the lane's 4 code words, the scales (T)
  // and, when asymmetric, the zero points (i8) of rows A and B.
  struct ChunkLoads {
    std::vector<std::string> words;
    std::array<std::string, 2> scales, zeros;
  };
  auto loadChunk = [&](const std::string &kc) {
    ChunkLoads loads;
    std::string at = ix.add(qBase, ix.mul(kc, k.c(512)));
    std::string v =
        k.def("vector.load " + q + "[" + at +
              "] {alignment = 16 : i64} : memref<?xi8>, vector<16xi8>");
    std::string w =
        k.def("vector.bitcast " + v + " : vector<16xi8> to vector<4xi32>");
    for (int i = 0; i < 4; ++i)
      loads.words.push_back(k.def("vector.extract " + w + "[" +
                                  std::to_string(i) +
                                  "] : i32 from vector<4xi32>"));
    std::string group = k.c(0);
    if (cfg.groupSize > 0) {
      std::string kAbs = ix.add(ix.mul(kc, k.c(chunk)), ix.mul(c, k.c(span)));
      group = ix.div(kAbs, cfg.groupSize);
    }
    const std::string rows2[2] = {rowAc, rowBc};
    for (int i = 0; i < 2; ++i) {
      std::string idx = cfg.groupSize == 0
                            ? k.c(0)
                            : ix.add(ix.mul(rows2[i], k.c(cfg.groups)), group);
      loads.scales[i] =
          k.def("memref.load " + s + "[" + idx + "] : memref<?x" + t + ">");
      if (cfg.asymmetric)
        loads.zeros[i] =
            k.def("memref.load " + z + "[" + idx + "] : memref<?xi8>");
    }
    return loads;
  };
  int64_t symmetricZero = cfg.int4 ? 8 : 128;
  auto groupValues = [&](const ChunkLoads &loads) {
    GroupValues g;
    auto scale = [&](const std::string &v) {
      if (viaF32)
        return k.convert(v, t, "f32");
      return k.def("vector.broadcast " + v + " : " + t + " to " + vt);
    };
    g.scaleA = scale(loads.scales[0]);
    g.scaleB = scale(loads.scales[1]);
    auto offset = [&](int64_t which) {
      if (viaF32) {
        // 2^23 + zero: the f32 exponent-trick base.
        if (!cfg.asymmetric)
          return k.f(8388608.0 + symmetricZero);
        std::string zf =
            k.def("arith.uitofp " + loads.zeros[which] + " : i8 to f32");
        return k.def("arith.addf " + zf + ", " + k.f(8388608.0) + " : f32");
      }
      if (!cfg.asymmetric)
        return k.def("arith.constant dense<" +
                     std::to_string(1024 * (t == "f16") + 128 * (t == "bf16") +
                                    symmetricZero) +
                     ".0> : " + vt);
      std::string z32 =
          k.def("arith.extui " + loads.zeros[which] + " : i8 to i32");
      std::string bits = dq.op("arith.addi", z32, dq.i32(magic));
      std::string both = dq.op("arith.muli", bits, dq.i32(0x10001));
      std::string vec =
          k.def("vector.broadcast " + both + " : i32 to vector<1xi32>");
      return k.def("vector.bitcast " + vec + " : vector<1xi32> to " + vt);
    };
    g.offsetA = offset(0);
    g.offsetB = offset(1);
    return g;
  };

  // The A operands (4 per k16 step, as vector<2xT> pairs) of one 16-byte
  // slice `words`.
  auto dequantize = [&](const std::vector<std::string> &words,
                        const GroupValues &g) {
    std::vector<std::vector<std::string>> a(steps);
    for (int64_t st = 0; st < steps; ++st) {
      if (cfg.int4) {
        // Word st: nibble pairs p = 0..3 at bits 4p / 16 + 4p are rows
        // A, B, A, B of K offsets {0,1}, {0,1}, {2,3}, {2,3}.
        for (int64_t p = 0; p < 4; ++p) {
          std::string pair = dq.magicPair(words[st], 4 * p, 0xf);
          bool rowAPair = p % 2 == 0;
          a[st].push_back(dq.apply(pair, rowAPair ? g.offsetA : g.offsetB,
                                   rowAPair ? g.scaleA : g.scaleB));
        }
        continue;
      }
      // i8: words 2st and 2st + 1; bytes 0, 2 are row A, bytes 1, 3 row B.
      for (int64_t half = 0; half < 2; ++half) {
        const std::string &w = words[2 * st + half];
        for (int64_t rowSel = 0; rowSel < 2; ++rowSel) {
          const std::string &scale = rowSel ? g.scaleB : g.scaleA;
          const std::string &offset = rowSel ? g.offsetB : g.offsetA;
          if (!viaF32) {
            std::string pair = dq.magicPair(w, 8 * rowSel, 0xff);
            a[st].push_back(dq.apply(pair, offset, scale));
            continue;
          }
          std::string values[2];
          for (int64_t e2 = 0; e2 < 2; ++e2) {
            int64_t shift = 16 * e2 + 8 * rowSel;
            std::string v = shift ? dq.op("arith.shrui", w, dq.i32(shift)) : w;
            v = dq.op("arith.andi", v, dq.i32(0xff));
            v = dq.op("arith.ori", v, dq.i32(0x4b000000));
            std::string f = k.def("arith.bitcast " + v + " : i32 to f32");
            f = k.def("arith.subf " + f + ", " + offset + " : f32");
            values[e2] = k.def("arith.mulf " + f + ", " + scale + " : f32");
          }
          std::string pair = k.def("vector.from_elements " + values[0] + ", " +
                                   values[1] + " : vector<2xf32>");
          pair = k.def("arith.truncf " + pair + " : vector<2xf32> to " + vt);
          a[st].push_back(pair);
        }
      }
      // Order: a0a1 (A, lo), a2a3 (B, lo), a4a5 (A, hi), a6a7 (B, hi).
    }
    return a;
  };

  // B operands of token tile nt: 2 per k16 step (with the norm, x * g,
  // and the sum of x's squares in `*squares`).
  auto loadActivations = [&](const std::string &kc, int64_t nt,
                             std::string *squares) {
    return chunkActivations(k, ix, x, t, xBase[nt], kc, chunk,
                            cfg.int4 ? 2 : 1, g, ix.mul(c, k.c(span)),
                            squares, transform);
  };
  // Stores the lane's dequantized K span of rows A and B: pairs j = 0, 2 of
  // each step are row A's K offsets 4 st + {0, 1}, {2, 3}; j = 1, 3 row B's.
  auto storeDense = [&](const std::string &kc,
                        const std::vector<std::vector<std::string>> &pairs) {
    for (int64_t rowSel = 0; rowSel < 2; ++rowSel) {
      std::string words;
      for (int64_t st = 0; st < steps; ++st)
        for (int64_t j : {rowSel, rowSel + 2})
          words += (words.empty() ? "" : ", ") +
                   k.def("vector.extract " +
                         k.def("vector.bitcast " + pairs[st][j] + " : " + vt +
                               " to vector<1xi32>") +
                         "[0] : i32 from vector<1xi32>");
      std::string vec = k.def("vector.from_elements " + words + " : vector<" +
                              std::to_string(2 * steps) + "xi32>");
      vec = k.def("vector.bitcast " + vec + " : vector<" +
                  std::to_string(2 * steps) + "xi32> to vector<" +
                  std::to_string(span) + "x" + t + ">");
      std::string row = rowSel ? rowB : rowA;
      if (cfg.n % 16)
        k.line("scf.if " + ix.lt(row, k.c(cfg.n)) + " {");
      std::string at = ix.add(ix.mul(row, k.c(cfg.kDim)),
                              ix.add(ix.mul(kc, k.c(chunk)), ix.mul(c, k.c(span))));
      k.line("vector.store " + vec + ", " + out + "[" + at +
             "] {alignment = 16 : i64} : memref<?x" + t + ">, vector<" +
             std::to_string(span) + "x" + t + ">");
      if (cfg.n % 16)
        k.line("}");
    }
  };
  // Dequantizes chunk `kc` from its `loads` and accumulates it.
  auto compute = [&](const std::string &kc, const ChunkLoads &loads,
                     std::vector<std::string> &acc) {
    std::vector<std::vector<std::string>> a =
        dequantize(loads.words, groupValues(loads));
    if (cfg.materialize) {
      storeDense(kc, a);
      return;
    }
    for (std::vector<std::string> &stepPairs : a)
      for (std::string &pair : stepPairs)
        pair = pairOperand(k, pair, t);
    for (int64_t nt = 0; nt < mt; ++nt) {
      std::string squares;
      std::vector<std::string> bRegs =
          loadActivations(kc, nt, cfg.norm ? &squares : nullptr);
      if (cfg.norm)
        acc[4 * mt + nt] = k.def("arith.addf " + acc[4 * mt + nt] + ", " +
                                 squares + " : f32");
      for (int64_t st = 0; st < steps; ++st) {
        std::array<std::string, 4> d = mmaSync(
            k, t, a[st], {bRegs[2 * st], bRegs[2 * st + 1]},
            {acc[4 * nt], acc[4 * nt + 1], acc[4 * nt + 2], acc[4 * nt + 3]});
        for (int i = 0; i < 4; ++i)
          acc[4 * nt + i] = d[i];
      }
    }
  };
  // Main loop: passes of cfg.unroll chunks per warp, each pass's loads issued
  // together before any of them is dequantized. (Carrying the next pass's
  // loads across iterations measured slower for int4 at M = 1.)
  // 4 fragment registers per token tile, then (with the norm) each token
  // tile's partial sum of squares.
  std::vector<std::string> acc(
      cfg.materialize ? 0 : (cfg.norm ? 5 : 4) * mt, k.f(0.0));
  int64_t perPass = kWarps * cfg.unroll;
  int64_t mainEnd = chunks / perPass * perPass;
  CarriedLoop main =
      openCarriedLoop(k, kWarp, k.c(mainEnd), k.c(perPass), acc);
  std::vector<std::string> carried = main.carried;
  std::vector<ChunkLoads> passLoads;
  for (int64_t u = 0; u < cfg.unroll; ++u)
    passLoads.push_back(loadChunk(ix.add(main.iv, k.c(u * kWarps))));
  for (int64_t u = 0; u < cfg.unroll; ++u)
    compute(ix.add(main.iv, k.c(u * kWarps)), passLoads[u], carried);
  closeCarriedLoop(k, carried);
  for (size_t i = 0; i < acc.size(); ++i)
    acc[i] = main.result(i);
  CarriedLoop tail = openCarriedLoop(k, ix.add(kWarp, k.c(mainEnd)),
                                     k.c(chunks), k.c(kWarps), acc);
  acc = tail.carried;
  compute(tail.iv, loadChunk(tail.iv), acc);
  closeCarriedLoop(k, acc);
  if (cfg.materialize)
    return e.kernel("qdequantize", k.str("KERNEL"), op->getLoc());

  std::vector<std::string> sums;
  for (int64_t i = 0; i < 4 * mt; ++i)
    sums.push_back(tail.result(i));
  std::string squares;
  if (cfg.norm) {
    // Token lane / 4's partial sums over the 4 lanes holding its K slices,
    // into squares[k warp][token]; warps of other row tiles loaded the same.
    squares = k.shared("squares", std::to_string(kWarps) + "x" +
                                      std::to_string(tokens) + "xf32");
    std::string first = k.def("arith.cmpi eq, " + c + ", " + k.c(0) + " : index");
    if (cfg.rowTiles > 1)
      first = ix.both(first, k.def("arith.cmpi eq, " +
                                   ix.rem(warp, cfg.rowTiles) + ", " +
                                   k.c(0) + " : index"));
    for (int64_t nt = 0; nt < mt; ++nt) {
      std::string v = tail.result(4 * mt + nt);
      for (int offset : {1, 2})
        v = k.def("arith.addf " + v + ", " + k.shuffleXor(v, offset) + " : f32");
      k.line("scf.if " + first + " {");
      k.line("memref.store " + v + ", " + squares + "[" + kWarp + ", " +
             ix.add(k.c(8 * nt), r) + "] : memref<" + std::to_string(kWarps) +
             "x" + std::to_string(tokens) + "xf32, #gpu.address_space<workgroup>>");
      k.line("}");
    }
  }
  PackedLinearEpilogue store{red,  out,       b,         t,  epilogue.outType(),
                             firstTile, tokenBase, rows, cfg.warps, mt,
                             cfg.n,     cfg.rowTiles};
  store.epilogue = &epilogue;
  if (cfg.norm) {
    store.rowSumOfSquares = squares;
    store.sumOfSquaresParts = kWarps;
    store.normDim = cfg.kDim;
    store.epsilon = cfg.norm->epsilon;
  }
  storePackedLinear(k, ix, store, warp, lane, sums);
  return e.kernel("qlinear", k.str("KERNEL"), op->getLoc());
}

/// rt::quant::elementAddress's arithmetic as `index` ops in kernel text.
struct TextMath {
  IndexOps &ix;
  std::string c(int64_t v) { return ix.k.c(v); }
  std::string add(const std::string &a, const std::string &b) {
    return ix.add(a, b);
  }
  std::string mul(const std::string &a, int64_t b) { return ix.mul(a, c(b)); }
  std::string div(const std::string &a, int64_t b) { return ix.div(a, b); }
  std::string rem(const std::string &a, int64_t b) { return ix.rem(a, b); }
};

/// The dense weight of `op`, one thread per element, at the addresses
/// rt::quant::elementAddress gives.
FailureOr<std::string> dequantizeKernel(FunctionEmitter &e, DequantizeOp op,
                                        const rt::quant::Encoding &enc) {
  std::string t = elementTypeText(op.getResult());
  KernelText k(256);
  IndexOps ix{k};
  bool fp8 = enc.storage == rt::quant::Storage::Fp8E4M3;
  std::string out = k.buffer("out", t);
  std::string q = k.buffer("q", "i8"), s = k.buffer("s", t);
  std::string z = enc.asymmetric ? k.buffer("z", "i8") : "";
  int64_t cols = enc.cols();
  int64_t total = enc.experts() * enc.rows() * cols;
  std::string id = k.globalId();
  k.line("scf.if " + ix.lt(id, k.c(total)) + " {");
  std::string en = ix.div(id, cols);
  TextMath m{ix};
  rt::quant::ElementAddress<std::string> address = rt::quant::elementAddress(
      enc, m, ix.div(en, enc.rows()), ix.rem(en, enc.rows()), ix.rem(id, cols));
  std::string group = address.scale;
  std::string scale = k.convert(
      k.def("memref.load " + s + "[" + group + "] : memref<?x" + t + ">"), t,
      "f32");
  std::string value;
  if (fp8) {
    // e4m3fn bits: (8 + m) 2^(e - 10), or m 2^-9 when e = 0; 0x7f is NaN.
    std::string raw = k.def("memref.load " + q + "[" + id + "] : memref<?xi8>");
    std::string b = k.def("arith.extui " + raw + " : i8 to i32");
    auto i = [&](int64_t v) { return k.ci(v, "i32"); };
    auto iop = [&](const char *op, const std::string &a, const std::string &c) {
      return k.def(std::string(op) + " " + a + ", " + c + " : i32");
    };
    std::string e8 = iop("arith.andi", iop("arith.shrui", b, i(3)), i(15));
    std::string m8 = iop("arith.andi", b, i(7));
    std::string normal = iop(
        "arith.ori", iop("arith.shli", iop("arith.addi", e8, i(120)), i(23)),
        iop("arith.shli", m8, i(20)));
    std::string normalF = k.def("arith.bitcast " + normal + " : i32 to f32");
    std::string subF =
        k.def("arith.mulf " + k.def("arith.sitofp " + m8 + " : i32 to f32") +
              ", " + k.f(1.0 / 512) + " : f32");
    std::string isSub = k.def("arith.cmpi eq, " + e8 + ", " + i(0) + " : i32");
    std::string mag = k.def("arith.select " + isSub + ", " + subF + ", " +
                            normalF + " : f32");
    std::string isNan = k.def("arith.cmpi eq, " + iop("arith.andi", b, i(127)) +
                              ", " + i(127) + " : i32");
    mag = k.def("arith.select " + isNan + ", " + k.f(NAN) + ", " + mag +
                " : f32");
    std::string negative =
        k.def("arith.cmpi ne, " + iop("arith.andi", b, i(128)) + ", " + i(0) +
              " : i32");
    std::string neg = k.def("arith.negf " + mag + " : f32");
    value =
        k.def("arith.select " + negative + ", " + neg + ", " + mag + " : f32");
  } else {
    bool int4 = enc.storage == rt::quant::Storage::Int4;
    bool mma = enc.layout == rt::quant::Layout::Mma;
    std::string byte = address.byte, shift = address.shift;
    std::string raw =
        k.def("memref.load " + q + "[" + byte + "] : memref<?xi8>");
    std::string word = k.def("arith.extui " + raw + " : i8 to i32");
    std::string sh = k.def("arith.index_cast " + shift + " : index to i32");
    std::string code = k.def("arith.shrui " + word + ", " + sh + " : i32");
    if (int4)
      code = k.def("arith.andi " + code + ", " + k.ci(15, "i32") + " : i32");
    std::string zero;
    if (enc.asymmetric) {
      std::string zi =
          k.def("memref.load " + z + "[" + group + "] : memref<?xi8>");
      zero = k.def("arith.extui " + zi + " : i8 to i32");
    } else if (mma) {
      zero = k.ci(enc.mmaOffset(), "i32");
    } else {
      int64_t bits = int4 ? 4 : 8;
      std::string negative = k.def("arith.cmpi uge, " + code + ", " +
                                   k.ci(1 << (bits - 1), "i32") + " : i32");
      zero = k.def("arith.select " + negative + ", " + k.ci(1 << bits, "i32") +
                   ", " + k.ci(0, "i32") + " : i32");
    }
    std::string centered = k.def("arith.subi " + code + ", " + zero + " : i32");
    value = k.def("arith.sitofp " + centered + " : i32 to f32");
  }
  std::string product = k.def("arith.mulf " + value + ", " + scale + " : f32");
  k.line("memref.store " + k.convert(product, "f32", t) + ", " + out + "[" +
         id + "] : memref<?x" + t + ">");
  k.line("}");
  return e.kernel("dequantize", k.str("KERNEL"), op->getLoc());
}

/// The streamed kernel's tiling when `op` asks for it with
/// `kopt.gemv_tile = array<i64: warps, stages, chunks_per_stage[, flags[,
/// blocks_per_sm]]>` (flags: 4 factored scales; 1 and 2 timing probes with
/// wrong results; blocks per SM 0: streamedLinearBlocks chooses);
/// none (the register-pipelined kernel, the measured default) otherwise.
FailureOr<std::optional<StreamedLinearConfig>>
streamedTiling(LinearOp op, const GpuTarget &target,
               const rt::quant::Encoding &enc) {
  if (!op->hasAttr("kopt.gemv_tile"))
    return std::optional<StreamedLinearConfig>();
  auto attr = op->getAttrOfType<DenseI64ArrayAttr>("kopt.gemv_tile");
  if (!attr)
    return op.emitError("kopt.gemv_tile must be array<i64: warps, stages, "
                        "chunks_per_stage[, flags[, blocks_per_sm]]>");
  ArrayRef<int64_t> v = attr.asArrayRef();
  if (v.size() < 3 || v.size() > 5 || v[0] < 1 || v[0] > 32 || v[1] < 1 ||
      v[1] > 16 || v[2] < 1 || v[2] > 16 ||
      (v.size() >= 4 && (v[3] < 0 || v[3] > 7 || (v[3] & 3) == 3)) ||
      (v.size() == 5 && (v[4] < 0 || v[4] > 32)))
    return op.emitError("kopt.gemv_tile wants warps in [1, 32], stages and "
                        "chunks per stage in [1, 16], flags 0-2 | 4, blocks "
                        "per SM in [0, 32]");
  bool int4 = enc.storage == rt::quant::Storage::Int4;
  if (!streamedLinearApplies(target, enc.cols(), int4))
    return op.emitError("kopt.gemv_tile: the streamed kernel needs cp.async "
                        "(sm_80+)");
  StreamedLinearConfig cfg;
  cfg.warps = v[0];
  cfg.stages = v[1];
  cfg.chunksPerStage = v[2];
  int64_t flags = v.size() > 3 ? v[3] : 0;
  cfg.probe = flags & 3;
  cfg.blocksPerSm = v.size() > 4 ? v[4] : 0;
  cfg.factoredScales = flags & 4;
  if (cfg.factoredScales &&
      !factoredScalesApply(enc.groupSize, int4))
    return op.emitError("kopt.gemv_tile: factored scales need groups of "
                        "whole chunks (")
           << enc.mmaChunk() << " K), not " << enc.groupSize;
  return std::optional<StreamedLinearConfig>(cfg);
}

/// The packed kernel's tiling when `op` fixes it with `kopt.qlinear_tile =
/// array<i64: row_tiles, k_warps, unroll>` (every band), else none (the
/// measured defaults of chooseWarpsAndUnroll).
struct PackedTiling {
  int64_t rowTiles, kWarps, unroll;
};
FailureOr<std::optional<PackedTiling>> packedTiling(LinearOp op) {
  Attribute attr = op->getAttr("kopt.qlinear_tile");
  if (!attr)
    return std::optional<PackedTiling>();
  auto array = dyn_cast<DenseI64ArrayAttr>(attr);
  ArrayRef<int64_t> v;
  if (array)
    v = array.asArrayRef();
  if (v.size() != 3 || v[0] < 1 || v[0] > 16 || v[1] < 1 || v[1] > 32 ||
      v[0] * v[1] > 32 || v[2] < 1 || v[2] > 16)
    return op.emitError("kopt.qlinear_tile must be array<i64: row_tiles, "
                        "k_warps, unroll> with row_tiles in [1, 16], at most "
                        "32 warps and unroll in [1, 16]");
  return std::optional<PackedTiling>(PackedTiling{v[0], v[1], v[2]});
}

/// Rows from which a linear over packed weights dequantizes them once and
/// runs the dense GEMM, from H200 timings (bench/RESULTS.md, "Wide token
/// bands"): the packed kernel's time grows with the tokens, the dense
/// path's hardly does up to 128 rows (the GEMM's skinny-M tiles); at 128
/// they are within 5% but for 8192 x 8192 (packed 1.26x faster for int8),
/// at 512 the dense path is 2-2.6x faster.
constexpr int64_t kDenseFromRows = 129;

/// `kopt.dense_from_rows` (an i64 >= 1: the rows from which the dense path
/// runs) when given, else the measured default.
FailureOr<int64_t> denseFromRows(LinearOp op) {
  Attribute attr = op->getAttr("kopt.dense_from_rows");
  if (!attr)
    return kDenseFromRows;
  auto value = dyn_cast<IntegerAttr>(attr);
  if (!value || !value.getType().isInteger(64) || value.getInt() < 1)
    return op.emitError("kopt.dense_from_rows must be a positive i64");
  return value.getInt();
}

} // namespace

bool fp8LinearApplies(LinearOp op, const GpuTarget &target) {
  auto weight = op.getWeight().getDefiningOp<DequantizeOp>();
  if (!weight || !op.getInput().getDefiningOp<FakeQuantOp>())
    return false;
  FailureOr<rt::quant::Encoding> enc = encodingOf(weight.getEncodingType());
  Type activation =
      cast<RankedTensorType>(op.getInput().getType()).getElementType();
  return succeeded(enc) && enc->storage == rt::quant::Storage::Fp8E4M3 &&
         enc->layout == rt::quant::Layout::Plain && enc->shape.size() == 2 &&
         enc->groups() == 1 && !activation.isF32() &&
         wgmmaFp8GemmApplies(target, enc->cols());
}

bool fusesIntoLinear(DequantizeOp op, const GpuTarget &target) {
  if (!op->use_empty() && llvm::all_of(op->getUses(), [&](OpOperand &use) {
        auto linear = dyn_cast<LinearOp>(use.getOwner());
        return linear && use.getOperandNumber() == 1 &&
               fp8LinearApplies(linear, target);
      }))
    return true;
  FailureOr<rt::quant::Encoding> enc = encodingOf(op.getEncodingType());
  if (failed(enc) || enc->layout != rt::quant::Layout::Mma ||
      enc->shape.size() != 2 || enc->cols() % enc->mmaChunk() != 0)
    return false;
  Type scale = op.getEncodingType().getScale();
  if (!scale.isF16() && !scale.isBF16())
    return false;
  return !op->use_empty() && llvm::all_of(op->getUses(), [&](OpOperand &use) {
    auto linear = dyn_cast<LinearOp>(use.getOwner());
    return linear && use.getOperandNumber() == 1 &&
           cast<RankedTensorType>(linear.getInput().getType())
                   .getElementType() == scale;
  });
}

/// Whether every reader of `op` (not fused into linears) is a linear's or
/// moe's weight operand, which readWeight dequantizes at the reader.
bool dequantizesAtReaders(DequantizeOp op, const GpuTarget &target) {
  if (fusesIntoLinear(op, target) || op->use_empty())
    return false;
  return llvm::all_of(op->getUses(), [&](OpOperand &use) {
    Operation *owner = use.getOwner();
    if (auto linear = dyn_cast<LinearOp>(owner))
      return use.getOperandNumber() == 1 && !fp8LinearApplies(linear, target);
    if (auto moe = dyn_cast<MoEOp>(owner))
      return use.get() != moe.getInput() && use.get() != moe.getRouter();
    return false;
  });
}

/// Appends the dequantize kernel's launch writing `op`'s dense weight into
/// buffer `out`.
LogicalResult launchDequantize(DequantizeOp op, FunctionEmitter &e,
                               int64_t out) {
  FailureOr<rt::quant::Encoding> enc = encodingOf(op.getEncodingType());
  if (failed(enc))
    return op.emitError("this encoding has no GPU kernel");
  FailureOr<std::string> kernel = dequantizeKernel(e, op, *enc);
  if (failed(kernel))
    return failure();
  int64_t total = enc->experts() * enc->rows() * enc->cols();
  Launch &l = e.launch(*kernel, op, e.constant((total + 255) / 256), 256);
  l.buffer(out)
      .buffer(e.bufferOf(op.getCodes()))
      .buffer(e.bufferOf(op.getScales()));
  if (op.getZeros())
    l.buffer(e.bufferOf(op.getZeros()));
  return success();
}

LogicalResult emitDequantize(DequantizeOp op, FunctionEmitter &e) {
  // Fused: each reading linear unpacks in registers; at readers: each
  // reader dequantizes into the shared scratch (readWeight).
  if (fusesIntoLinear(op, e.target()) || dequantizesAtReaders(op, e.target()))
    return success();
  return launchDequantize(op, e, e.define(op.getResult()));
}

FailureOr<int64_t> readWeight(FunctionEmitter &e, Value weight, int64_t slot) {
  auto dequantize = weight.getDefiningOp<DequantizeOp>();
  if (!dequantize || !dequantizesAtReaders(dequantize, e.target()))
    return e.bufferOf(weight);
  auto type = cast<RankedTensorType>(weight.getType());
  int64_t scratch =
      e.sharedScratch(type.getElementType(), type.getNumElements(), slot);
  if (failed(launchDequantize(dequantize, e, scratch)))
    return failure();
  return scratch;
}

int64_t packedPrologueRows(LinearOp op, DequantizeOp weight,
                           FunctionEmitter &e) {
  // f16 products x * g could overflow before the row's scale applies.
  // int8 codes: the H200 numerics of the int8 kernel with the norm failed
  // from 2 tokens on (bench/RESULTS.md), so its readers keep the norm.
  if (elementTypeText(op.getInput()) != "bf16" ||
      op->hasAttr("kopt.gemv_tile"))
    return 0;
  int64_t denseFrom = kDenseFromRows;
  if (Attribute attr = op->getAttr("kopt.dense_from_rows")) {
    auto value = dyn_cast<IntegerAttr>(attr);
    if (!value || value.getInt() < 1)
      return 0; // emitQuantizedLinear reports it
    denseFrom = value.getInt();
  }
  FailureOr<rt::quant::Encoding> enc = encodingOf(weight.getEncodingType());
  if (failed(enc))
    return 0;
  PackedLinearProblem band;
  band.n = enc->rows();
  band.kDim = enc->cols();
  band.groupSize = enc->groupSize;
  band.int4 = enc->storage == rt::quant::Storage::Int4;
  band.tokenTiles = 1;
  if (!band.int4)
    return 0;
  if (!op->hasAttr("kopt.qlinear_tile") &&
      defaultStreamedTiling(e.target(), band))
    return 0;
  return std::min<int64_t>(8, denseFrom - 1);
}

LogicalResult emitQuantizedLinear(LinearOp op, DequantizeOp weight,
                                  FunctionEmitter &e) {
  rt::quant::Encoding enc = *encodingOf(weight.getEncodingType());
  QuantizedLinearConfig cfg;
  cfg.n = enc.rows();
  cfg.kDim = enc.cols();
  cfg.groupSize = enc.groupSize;
  cfg.groups = enc.groups();
  cfg.int4 = enc.storage == rt::quant::Storage::Int4;
  cfg.asymmetric = enc.asymmetric;
  cfg.bias = static_cast<bool>(op.getBias());
  cfg.t = elementTypeText(op.getInput());
  cfg.ot = elementTypeText(op.getResult());
  FailureOr<std::optional<StreamedLinearConfig>> streamed =
      streamedTiling(op, e.target(), enc);
  if (failed(streamed))
    return failure();
  FailureOr<int64_t> denseFrom = denseFromRows(op);
  FailureOr<std::optional<PackedTiling>> tiling = packedTiling(op);
  if (failed(denseFrom) || failed(tiling))
    return failure();
  AffineExpr rows = e.numElements(op.getInput()).floorDiv(cfg.kDim);
  int64_t outBuffer = e.defineOutput(op);
  const NormPrologue *norm = e.normPrologueOf(op.getInput());
  const ReaderEpilogue *inputEpilogue = e.readerEpilogueOf(op.getInput());
  const ReaderEpilogue *rawOutput = e.rawOutputOf(op);
  struct Variant {
    int64_t tokenTiles, lo, hi;
  };
  const Variant variants[] = {
      {1, 1, 8}, {2, 9, 16}, {4, 17, 32}, {8, 33, INT64_MAX}};
  for (Variant v : variants) {
    v.hi = std::min(v.hi, *denseFrom - 1);
    if (v.lo > v.hi)
      continue;
    cfg.tokenTiles = v.tokenTiles;
    cfg.rowTiles = 1;
    cfg.norm = nullptr;
    cfg.inputEpilogue = nullptr;
    cfg.rawOutput = nullptr;
    FailureOr<std::string> kernel;
    int64_t threads = 0, sharedBytes = 0;
    int64_t tiles = (cfg.n + 15) / 16;
    int64_t gridX = tiles;
    std::optional<StreamedLinearConfig> streamedBand =
        *streamed ? *streamed
                  : (*tiling ? std::nullopt
                             : defaultStreamedTiling(e.target(), cfg));
    if (streamedBand && v.tokenTiles <= kStreamedMaxTokenTiles) {
      StreamedLinearConfig s = *streamedBand;
      static_cast<PackedLinearProblem &>(s) = cfg;
      finishStreamedTiling(s);
      int64_t shared = s.ringBytes() + s.staticSharedBytes();
      if (shared > e.target().sharedMemoryPerBlockBytes)
        return op.emitError("kopt.gemv_tile: ")
               << shared << " bytes of shared memory exceed the "
               << e.target().sharedMemoryPerBlockBytes << " a block may take";
      s.blocks = s.blocksPerSm > 0
                     ? std::min(tiles, s.blocksPerSm * e.target().smCount)
                     : streamedLinearBlocks(e.target(), s);
      kernel = streamedQuantizedLinearKernel(e, op, s);
      gridX = s.blocks;
      threads = s.warps * 32;
      sharedBytes = s.ringBytes();
    } else {
      chooseWarpsAndUnroll(cfg);
      if (*tiling) {
        cfg.rowTiles = (*tiling)->rowTiles;
        cfg.warps = cfg.rowTiles * (*tiling)->kWarps;
        cfg.unroll = (*tiling)->unroll;
      }
      // packedPrologueRows promised the norm (and the epilogues of linears
      // producing the input, or reading the output) to this band only.
      if (v.tokenTiles == 1) {
        cfg.norm = norm;
        cfg.inputEpilogue = inputEpilogue;
        cfg.rawOutput = rawOutput;
      }
      kernel = quantizedLinearKernel(e, op, cfg);
      gridX = (tiles + cfg.rowTiles - 1) / cfg.rowTiles;
      threads = cfg.warps * 32;
    }
    if (failed(kernel))
      return failure();
    Launch &l = e.launch(*kernel, op, e.constant(gridX), threads);
    l.sharedBytes = sharedBytes;
    l.grid[1] = ceilDiv(rows, 8 * v.tokenTiles);
    l.buffer(cfg.rawOutput ? rawOutput->raw : outBuffer)
        .buffer(cfg.norm            ? e.bufferOf(cfg.norm->input)
                : cfg.inputEpilogue ? cfg.inputEpilogue->raw
                                    : e.bufferOf(op.getInput()))
        .buffer(e.bufferOf(weight.getCodes()))
        .buffer(e.bufferOf(weight.getScales()));
    if (weight.getZeros())
      l.buffer(e.bufferOf(weight.getZeros()));
    if (cfg.bias)
      l.buffer(e.bufferOf(op.getBias()));
    l.index(rows);
    if (cfg.norm)
      addNormPrologueArguments(l, e, *cfg.norm);
    if (cfg.inputEpilogue)
      addReaderEpilogueArguments(l, e, *cfg.inputEpilogue);
    if (!cfg.rawOutput)
      addEpilogueArguments(l, e, op);
    else if (cfg.rawOutput->head)
      cfg.rawOutput->head->addArguments(l, e);
    l.guard = rows;
    l.guardMin = v.lo;
    l.guardMax = v.hi;
  }
  if (*denseFrom == INT64_MAX)
    return success();
  // Wide bands: the weight dequantized once into the function's scratch,
  // then the dense GEMM, which the tensor cores run at full rate.
  cfg.materialize = true;
  cfg.tokenTiles = 1;
  cfg.rowTiles = 1;
  cfg.warps = 8;
  cfg.unroll = 4;
  FailureOr<std::string> kernel = quantizedLinearKernel(e, op, cfg);
  if (failed(kernel))
    return failure();
  int64_t dense = e.sharedScratch(
      cast<RankedTensorType>(weight.getType()).getElementType(),
      cfg.n * cfg.kDim);
  Launch &l = e.launch(*kernel, op, e.constant((cfg.n + 15) / 16),
                       cfg.warps * 32);
  l.buffer(dense)
      .buffer(e.bufferOf(weight.getCodes()))
      .buffer(e.bufferOf(weight.getScales()));
  if (weight.getZeros())
    l.buffer(e.bufferOf(weight.getZeros()));
  l.guard = rows;
  l.guardMin = *denseFrom;
  return launchLinearGemm(op, e, outBuffer, dense, *denseFrom);
}

} // namespace kopt::gpu
