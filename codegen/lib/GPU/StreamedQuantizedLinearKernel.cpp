//===- StreamedQuantizedLinearKernel.cpp - Packed-weight GEMV, streamed ---===//
//
// kopt.linear over `mma`-layout i4/i8 codes for a few tokens, written for
// the memory roofline:
//   - a block takes an even share of all 16-row tiles (streamedLinearBlocks
//     sizes the grid to the SMs, so no partial last wave) and 8 * MT
//     tokens; each warp owns the same contiguous range of every tile's
//     512-byte chunks (64 K of i4, 32 of i8) and streams them, tile after
//     tile, through a private ring of `stages` slots of `chunksPerStage`
//     chunks in shared memory: every lane cp.asyncs its own 16 bytes of
//     each chunk and later reads back exactly those, so a cp.async group
//     wait orders them and no warp waits for another. The bytes in flight
//     cost no registers (H200, 28672 x 8192 i4: the stream alone runs at
//     95% of copy bandwidth, bench/RESULTS.md), and the ring runs on across
//     tile boundaries;
//   - a code pair becomes a 16-bit value with one shift and one lop3:
//     (w >> s) & 0x000f000f | magic holds magic + code in both halves,
//     exactly (bf16 128 + c, f16 1024 + c);
//   - scaled weights: (pair - (magic + zero)) * scale in 16 bits, as
//     kopt.dequantize rounds it (bf16-side i8 goes through f32), so results
//     equal dequantize-then-linear; factored scales (groups of whole
//     chunks): the mma takes the exact integers code - zero (bf16 i8 bytes
//     split into their nibbles, the high one weighted 16) and the f32
//     partial sums are scaled once per chunk, per stage (groups of whole
//     stages) or per tile (one scale for all of K): fewer operations, and
//     the weight is never rounded to 16 bits;
//   - scales and zero points come from global memory (L2-resident), once
//     per stage when a group holds whole stages; at each tile's end the
//     warps reduce through shared memory, then bias and the output cast.
// The layout and the activation order are QuantizedLinearKernels' (the
// `mma` layout of rt::quant).
//
//===----------------------------------------------------------------------===//

#include "StreamedQuantizedLinearKernel.h"

#include "KernelText.h"
#include "MmaText.h"
#include "PackedLinearText.h"

#include "llvm/ADT/StringExtras.h"

#include <algorithm>
#include <functional>
#include <optional>

using namespace mlir;

namespace kopt::gpu {
namespace {

constexpr int64_t kChunkBytes = StreamedLinearConfig::kChunkBytes;

/// A 32-bit word of two 16-bit values as vector<2xT>.
std::string pairOf(KernelText &k, const std::string &word,
                   const std::string &t) {
  std::string vec =
      k.def("vector.broadcast " + word + " : i32 to vector<1xi32>");
  return k.def("vector.bitcast " + vec + " : vector<1xi32> to vector<2x" + t +
               ">");
}

std::string int32(KernelText &k, const char *op, const std::string &a,
                  const std::string &b) {
  return k.def(std::string(op) + " " + a + ", " + b + " : i32");
}

std::string f32(KernelText &k, const char *op, const std::string &a,
                const std::string &b) {
  return k.def(std::string(op) + " " + a + ", " + b + " : f32");
}

} // namespace

int64_t StreamedLinearConfig::chunksPerWarp() const {
  int64_t perWarp = (chunks() + warps - 1) / warps;
  return (perWarp + chunksPerStage - 1) / chunksPerStage * chunksPerStage;
}

bool streamedLinearApplies(const GpuTarget &target, int64_t kDim, bool int4) {
  return target.hasCpAsync && kDim % (int4 ? 64 : 32) == 0;
}

bool factoredScalesApply(int64_t groupSize, bool int4) {
  return groupSize == 0 || groupSize % (int4 ? 64 : 32) == 0;
}

void finishStreamedTiling(StreamedLinearConfig &cfg) {
  int64_t share = (cfg.chunks() + cfg.warps - 1) / cfg.warps;
  cfg.chunksPerStage = std::max<int64_t>(1, std::min(cfg.chunksPerStage, share));
}

int64_t streamedLinearBlocks(const GpuTarget &target,
                             const StreamedLinearConfig &cfg) {
  constexpr int64_t kRegistersPerThread = 64, kDriverSharedBytes = 1024;
  int64_t threads = cfg.warps * 32;
  int64_t perSm = std::min<int64_t>(
      {target.maxThreadsPerSm / threads,
       target.sharedMemoryPerSmBytes /
           (cfg.ringBytes() + cfg.staticSharedBytes() + kDriverSharedBytes),
       target.registersPerSm / (kRegistersPerThread * threads)});
  perSm = std::max<int64_t>(perSm, 1);
  int64_t tiles = (cfg.n + 15) / 16;
  // Balance: tiles / (ceil(tiles / grid) * grid), the busy share of the
  // longest block's time; fewer blocks per SM while that gains over 10%.
  auto balance = [&](int64_t grid) {
    grid = std::min(grid, tiles);
    return double(tiles) / double((tiles + grid - 1) / grid * grid);
  };
  int64_t best = perSm;
  for (int64_t b = perSm - 1; b >= 1; --b)
    if (balance(b * target.smCount) > balance(best * target.smCount) + 0.1)
      best = b;
  return std::min(tiles, best * target.smCount);
}

FailureOr<std::string>
streamedQuantizedLinearKernel(FunctionEmitter &e, Operation *op,
                              const StreamedLinearConfig &cfg) {
  const std::string &t = cfg.t;
  const std::string vt = "vector<2x" + t + ">";
  const int64_t chunk = cfg.chunkK(), span = chunk / 4, chunks = cfg.chunks();
  const int64_t steps = cfg.int4 ? 4 : 2, mt = cfg.tokenTiles;
  const int64_t perStage = cfg.chunksPerStage, stages = cfg.stages;
  const int64_t warps = cfg.warps, perWarp = cfg.chunksPerWarp();
  const int64_t tileStages = perWarp / perStage;
  const int64_t stageBytes = perStage * kChunkBytes;
  const int64_t tiles = (cfg.n + 15) / 16, blocks = cfg.blocks;
  const bool perTensor = cfg.groupSize == 0;
  const bool whole = perTensor || cfg.groupSize == cfg.kDim;
  const bool factored = cfg.factoredScales;
  // bf16 cannot hold magic + byte exactly: scaled weights go through f32,
  // factored ones split the byte into nibbles.
  const bool i8bf16 = !cfg.int4 && t == "bf16";
  const bool viaF32 = i8bf16 && !factored;
  const int64_t magicBits = t == "bf16" ? 0x4300 : 0x6400;
  const double magic = t == "bf16" ? 128.0 : 1024.0;
  const int64_t mask = !cfg.int4 && !i8bf16 ? 0xff : 0xf;
  const double symmetricZero = cfg.int4 ? 8 : 128;

  KernelText k(warps * 32);
  IndexOps ix{k};
  EpilogueText epilogue(k, e.epilogueOf(op), cfg.ot);
  const PackedLinearBuffers buffers = packedLinearBuffers(
      k, t, epilogue.outType(), cfg.asymmetric, cfg.bias);
  const std::string &out = buffers.out, &x = buffers.x, &q = buffers.q,
                    &s = buffers.s, &z = buffers.z, &b = buffers.b,
                    &rows = buffers.rows;

  const std::string ringType = "memref<?xi8, #gpu.address_space<workgroup>>";
  std::string ring = k.def("gpu.dynamic_shared_memory : " + ringType);
  std::string red = k.shared("red", std::to_string(warps) + "x" +
                                        std::to_string(128 * mt) + "xf32");

  std::string tid = k.tid();
  std::string lane = ix.rem(tid, 32), warp = ix.div(tid, 32);
  std::string r = ix.div(lane, 4), c = ix.rem(lane, 4);
  std::string tokenBase = ix.mul(k.bid('y'), k.c(8 * mt));
  auto minIndex = [&](const std::string &a, const std::string &bound) {
    return k.def("arith.minui " + a + ", " + bound + " : index");
  };
  // This block's tiles: [firstTile, firstTile + ownTiles), an even split of
  // all tiles over the grid, so no SM waits on a last partial wave.
  std::string bid = k.bid('x');
  std::string firstTile = ix.div(ix.mul(bid, k.c(tiles)), blocks);
  std::string endTile =
      ix.div(ix.mul(ix.add(bid, k.c(1)), k.c(tiles)), blocks);
  std::string ownStages = ix.mul(
      ix.bin("arith.subi", endTile, firstTile), k.c(tileStages));
  // This warp's chunks of every tile: [start, start + perWarp), those past
  // the last chunk neither copied nor read (the test is warp-uniform).
  std::string start = ix.mul(warp, k.c(perWarp));
  auto chunkOf = [&](const std::string &stage, int64_t u) {
    return ix.add(ix.add(start, ix.mul(ix.rem(stage, tileStages),
                                       k.c(perStage))),
                  k.c(u));
  };
  auto tileOf = [&](const std::string &stage) {
    return ix.add(firstTile, ix.div(stage, tileStages));
  };
  std::string laneBytes = ix.mul(lane, k.c(16));
  std::string ringBase =
      ix.add(ix.mul(warp, k.c(stages * stageBytes)), laneBytes);
  // Every lane: its 16 bytes of each chunk of `stage` into `slot`; one
  // cp.async group per stage, empty past the block's stages.
  auto issue = [&](const std::string &slot, const std::string &stage) {
    k.line("scf.if " + ix.lt(stage, ownStages) + " {");
    std::string tileBytes = ix.mul(tileOf(stage), k.c(chunks * kChunkBytes));
    std::string to = ix.add(ringBase, ix.mul(slot, k.c(stageBytes)));
    for (int64_t u = 0; u < perStage; ++u) {
      std::string kc = chunkOf(stage, u);
      bool ragged = chunks != perWarp * warps;
      if (ragged)
        k.line("scf.if " + ix.lt(kc, k.c(chunks)) + " {");
      std::string from =
          ix.add(ix.add(tileBytes, ix.mul(kc, k.c(kChunkBytes))), laneBytes);
      k.def("nvgpu.device_async_copy " + q + "[" + from + "], " + ring + "[" +
            ix.add(to, k.c(u * kChunkBytes)) +
            "], 16 {bypassL1} : memref<?xi8> to " + ringType);
      if (ragged)
        k.line("}");
    }
    k.line("}");
    k.line("nvvm.cp.async.commit.group");
  };
  for (int64_t slot = 0; slot < stages; ++slot)
    issue(k.c(slot), k.c(slot));

  std::string scale0, zero0;
  if (perTensor) {
    scale0 =
        k.def("memref.load " + s + "[" + k.c(0) + "] : memref<?x" + t + ">");
    if (cfg.asymmetric)
      zero0 = k.def("memref.load " + z + "[" + k.c(0) + "] : memref<?xi8>");
  }

  std::vector<std::string> xBase;
  std::string lastRow = ix.bin("arith.subi", rows, k.c(1));
  for (int64_t nt = 0; nt < mt; ++nt) {
    std::string token = ix.add(tokenBase, ix.add(k.c(8 * nt), r));
    xBase.push_back(ix.add(ix.mul(minIndex(token, lastRow), k.c(cfg.kDim)),
                           ix.mul(c, k.c(span))));
  }
  std::string ones =
      pairOperand(k, pairOf(k, k.ci((t == "bf16" ? 0x3F80 : 0x3C00) * 0x10001,
                                  "i32"), t),
                t);
  // B operands of token tile nt for chunk kc: 2 per k16 step.
  auto activations = [&](const std::string &kc, int64_t nt) {
    if (cfg.probe == 2)
      return std::vector<std::string>(cfg.int4 ? 8 : 4, ones);
    return chunkActivations(k, ix, x, t, xBase[nt], kc, chunk,
                            cfg.int4 ? 2 : 1);
  };

  // The scale (T) and zero point (f32) of rows r and r + 8 of `tile` for
  // group `g` (index), from global memory (L2-resident after first use).
  struct RowParams {
    std::string scale[2];
    std::string zero[2];
  };
  auto rowParams = [&](const std::string &tile, const std::string &g) {
    RowParams p;
    for (int64_t rowB = 0; rowB < 2; ++rowB) {
      if (perTensor) {
        p.scale[rowB] = scale0;
        p.zero[rowB] = cfg.asymmetric
                           ? k.def("arith.uitofp " + zero0 + " : i8 to f32")
                           : k.f(symmetricZero);
        continue;
      }
      // Rows past N hold zero codes; clamping keeps these reads in bounds.
      std::string row = minIndex(
          ix.add(ix.mul(tile, k.c(16)), ix.add(r, k.c(8 * rowB))),
          k.c(cfg.n - 1));
      std::string at = ix.add(ix.mul(row, k.c(cfg.groups)), g);
      p.scale[rowB] =
          k.def("memref.load " + s + "[" + at + "] : memref<?x" + t + ">");
      p.zero[rowB] =
          cfg.asymmetric
              ? k.def("arith.uitofp " +
                      k.def("memref.load " + z + "[" + at +
                            "] : memref<?xi8>") +
                      " : i8 to f32")
              : k.f(symmetricZero);
    }
    return p;
  };
  auto splat = [&](const std::string &v) {
    return k.def("vector.broadcast " + v + " : " + t + " to " + vt);
  };
  // A T-pair splat of the f32 value `v` (exact when representable).
  auto splatF32 = [&](const std::string &v) {
    return splat(k.convert(v, "f32", t));
  };

  // magic + the codes at bits `shift` and 16 + `shift` of `w` (vector<2xT>).
  auto codes = [&](const std::string &w, int64_t shift) {
    std::string v = shift ? int32(k, "arith.shrui", w, k.ci(shift, "i32")) : w;
    return pairOf(k, andOr(k, v, mask * 0x10001, magicBits * 0x10001), t);
  };
  // Per-row offsets (magic + zero) as T pairs, and the f32-route values.
  struct Offsets {
    std::string pair[2];              // magic + zero
    std::string high[2], low[2];      // factored bf16 i8: 128 + zero nibble
    std::string scalePair[2];         // scaled weights: scale splats
    std::string f32Offset[2], f32Scale[2]; // viaF32
  };
  auto offsets = [&](const RowParams &p) {
    Offsets o;
    for (int64_t rowB = 0; rowB < 2; ++rowB) {
      if (viaF32) {
        o.f32Offset[rowB] =
            f32(k, "arith.addf", p.zero[rowB], k.f(8388608.0));
        o.f32Scale[rowB] = k.convert(p.scale[rowB], t, "f32");
        continue;
      }
      if (i8bf16) { // factored: zero = 16 zh + zl
        std::string zi = k.def("arith.fptoui " + p.zero[rowB] + " : f32 to i32");
        auto nibble = [&](int64_t shift) {
          std::string v = shift ? int32(k, "arith.shrui", zi, k.ci(shift, "i32")) : zi;
          v = int32(k, "arith.andi", v, k.ci(15, "i32"));
          return splatF32(f32(k, "arith.addf",
                              k.def("arith.uitofp " + v + " : i32 to f32"),
                              k.f(magic)));
        };
        o.high[rowB] = nibble(4);
        o.low[rowB] = nibble(0);
        continue;
      }
      o.pair[rowB] = splatF32(f32(k, "arith.addf", p.zero[rowB], k.f(magic)));
      if (!factored)
        o.scalePair[rowB] = splat(p.scale[rowB]);
    }
    return o;
  };
  auto centered = [&](const std::string &pair, const std::string &offset) {
    return k.def("arith.subf " + pair + ", " + offset + " : " + vt);
  };
  // The A operands of step st (4 registers; `high` gets the factored bf16
  // i8 high nibbles' operands).
  auto operands = [&](const std::vector<std::string> &w, int64_t st,
                      const Offsets &o, std::vector<std::string> &high) {
    std::vector<std::string> a;
    if (cfg.int4) {
      // Word st: nibble pairs p at bits 4p (and 16 + 4p) are rows A, B, A,
      // B of K offsets {0,1}, {0,1}, {2,3}, {2,3} of the lane's step.
      for (int64_t p = 0; p < 4; ++p) {
        int64_t rowB = p % 2;
        std::string v = centered(codes(w[st], 4 * p), o.pair[rowB]);
        if (!factored)
          v = k.def("arith.mulf " + v + ", " + o.scalePair[rowB] + " : " + vt);
        a.push_back(pairOperand(k, v, t));
      }
      return a;
    }
    // i8: words 2st, 2st + 1; bytes 0, 2 of row A, bytes 1, 3 of row B.
    for (int64_t half = 0; half < 2; ++half)
      for (int64_t rowB = 0; rowB < 2; ++rowB) {
        const std::string &word = w[2 * st + half];
        if (viaF32) {
          std::string values[2];
          for (int64_t e2 = 0; e2 < 2; ++e2) {
            int64_t shift = 16 * e2 + 8 * rowB;
            std::string v =
                shift ? int32(k, "arith.shrui", word, k.ci(shift, "i32")) : word;
            v = int32(k, "arith.andi", v, k.ci(0xff, "i32"));
            v = int32(k, "arith.ori", v, k.ci(0x4b000000, "i32"));
            std::string fv = k.def("arith.bitcast " + v + " : i32 to f32");
            fv = f32(k, "arith.subf", fv, o.f32Offset[rowB]);
            values[e2] = f32(k, "arith.mulf", fv, o.f32Scale[rowB]);
          }
          std::string pair =
              k.def("vector.from_elements " + values[0] + ", " + values[1] +
                    " : vector<2xf32>");
          pair = k.def("arith.truncf " + pair + " : vector<2xf32> to " + vt);
          a.push_back(pairOperand(k, pair, t));
          continue;
        }
        if (i8bf16) {
          a.push_back(pairOperand(
              k, centered(codes(word, 8 * rowB), o.low[rowB]), t));
          high.push_back(pairOperand(
              k, centered(codes(word, 8 * rowB + 4), o.high[rowB]), t));
          continue;
        }
        std::string v = centered(codes(word, 8 * rowB), o.pair[rowB]);
        if (!factored)
          v = k.def("arith.mulf " + v + ", " + o.scalePair[rowB] + " : " + vt);
        a.push_back(pairOperand(k, v, t));
      }
    return a;
  };
  auto mmaInto = [&](std::vector<std::string> &acc, int64_t nt,
                     const std::vector<std::string> &a,
                     const std::vector<std::string> &bRegs, int64_t st) {
    std::array<std::string, 4> d =
        mmaSync(k, t, a, {bRegs[2 * st], bRegs[2 * st + 1]},
                {acc[4 * nt], acc[4 * nt + 1], acc[4 * nt + 2],
                 acc[4 * nt + 3]});
    for (int i = 0; i < 4; ++i)
      acc[4 * nt + i] = d[i];
  };
  // The group of this lane's K slice of chunk kc.
  auto groupOf = [&](const std::string &kc) {
    if (whole)
      return k.c(0);
    return ix.div(ix.add(ix.mul(kc, k.c(chunk)), ix.mul(c, k.c(span))),
                  cfg.groupSize);
  };
  // `%r:N = scf.if cond -> (f32...) { body; yield } else { yield acc }`.
  auto guarded = [&](const std::string &cond, std::vector<std::string> &acc,
                     const std::function<void(std::vector<std::string> &)>
                         &body) {
    std::string result = k.fresh();
    k.line(result + ":" + std::to_string(acc.size()) + " = scf.if " + cond +
           " -> (" + repeatedTypes(acc.size(), "f32") + ") {");
    std::vector<std::string> next = acc;
    body(next);
    k.line("scf.yield " + llvm::join(next, ", ") + " : " +
           repeatedTypes(next.size(), "f32"));
    k.line("} else {");
    k.line("scf.yield " + llvm::join(acc, ", ") + " : " +
           repeatedTypes(acc.size(), "f32"));
    k.line("}");
    for (size_t i = 0; i < acc.size(); ++i)
      acc[i] = result + "#" + std::to_string(i);
  };

  // Chunks per scale group; a stage's chunks share one group when groups
  // hold whole stages (stages start at multiples of perStage chunks).
  const bool stageGroup =
      whole || (cfg.groupSize % chunk == 0 &&
                (cfg.groupSize / chunk) % perStage == 0);
  // Factored: partial sums are scaled once per tile (one scale for all of
  // K), per stage (groups of whole stages) or per chunk.
  const bool scaleAtEnd = factored && whole;
  const bool foldPerStage = factored && !whole && stageGroup;

  // Tiles of this block one after another; each tile's stages, the warps'
  // rings running on across tile boundaries. At a tile's end the warps'
  // sums are reduced and stored.
  std::string tileIndex = k.fresh();
  k.line("scf.for " + tileIndex + " = " + k.c(0) + " to " +
         ix.bin("arith.subi", endTile, firstTile) + " step " + k.c(1) + " {");
  std::string tile = ix.add(firstTile, tileIndex);
  std::vector<std::string> init(4 * mt, k.f(0.0));
  CarriedLoop inner = openCarriedLoop(k, k.c(0), k.c(tileStages), k.c(1), init);
  std::vector<std::string> total = inner.carried;
  std::string stageInTile = inner.iv;
  std::string stage = ix.add(ix.mul(tileIndex, k.c(tileStages)), stageInTile);
  std::string slot = ix.rem(stage, stages);
  k.line("nvvm.cp.async.wait.group " + std::to_string(stages - 1));
  std::string slotBase = ix.add(ringBase, ix.mul(slot, k.c(stageBytes)));
  std::string firstChunk =
      ix.add(start, ix.mul(stageInTile, k.c(perStage)));
  std::optional<RowParams> stageParams;
  if (stageGroup && !scaleAtEnd)
    stageParams = rowParams(tile, groupOf(firstChunk));
  std::vector<std::string> folded =
      foldPerStage ? std::vector<std::string>(4 * mt, k.f(0.0)) : total;
  // Scales the f32 partial sums `p` (4 per token tile: registers 0, 1 are
  // row A's, 2, 3 row B's) into `acc`.
  auto fold = [&](const RowParams &params, const std::vector<std::string> &p,
                  std::vector<std::string> &acc) {
    for (int64_t i = 0; i < 4 * mt; ++i)
      acc[i] = k.def("math.fma " +
                     k.convert(params.scale[(i % 4) / 2], t, "f32") + ", " +
                     p[i] + ", " + acc[i] + " : f32");
  };
  for (int64_t u = 0; u < perStage; ++u) {
    std::string kc = ix.add(firstChunk, k.c(u));
    auto body = [&](std::vector<std::string> &acc) {
      std::string v = k.def("vector.load " + ring + "[" +
                            ix.add(slotBase, k.c(u * kChunkBytes)) +
                            "] {alignment = 16 : i64} : " + ringType +
                            ", vector<16xi8>");
      std::string wv =
          k.def("vector.bitcast " + v + " : vector<16xi8> to vector<4xi32>");
      std::vector<std::string> words;
      for (int i = 0; i < 4; ++i)
        words.push_back(k.def("vector.extract " + wv + "[" +
                              std::to_string(i) +
                              "] : i32 from vector<4xi32>"));
      if (cfg.probe == 1) {
        std::string bits = words[0];
        for (int i = 1; i < 4; ++i)
          bits = int32(k, "arith.xori", bits, words[i]);
        acc[0] = f32(k, "arith.addf", acc[0],
                     k.def("arith.bitcast " + bits + " : i32 to f32"));
        return;
      }
      RowParams params = stageParams ? *stageParams
                                     : rowParams(tile, groupOf(kc));
      Offsets o = offsets(params);
      std::vector<std::vector<std::string>> bRegs;
      for (int64_t nt = 0; nt < mt; ++nt)
        bRegs.push_back(activations(kc, nt));
      // Per-chunk folds start from zero; otherwise the mma accumulates
      // straight into `acc` (the stage's or the tile's sums).
      bool perChunk = factored && !scaleAtEnd && !foldPerStage;
      std::vector<std::string> p =
          perChunk ? std::vector<std::string>(4 * mt, k.f(0.0)) : acc;
      const bool nibbles = i8bf16 && factored;
      std::vector<std::string> high =
          nibbles ? std::vector<std::string>(4 * mt, k.f(0.0))
                  : std::vector<std::string>{};
      for (int64_t st = 0; st < steps; ++st) {
        std::vector<std::string> highA;
        std::vector<std::string> a = operands(words, st, o, highA);
        for (int64_t nt = 0; nt < mt; ++nt) {
          mmaInto(p, nt, a, bRegs[nt], st);
          if (!highA.empty())
            mmaInto(high, nt, highA, bRegs[nt], st);
        }
      }
      // bf16 i8 high nibbles weigh 16.
      if (nibbles)
        for (int64_t i = 0; i < 4 * mt; ++i)
          p[i] = k.def("math.fma " + k.f(16.0) + ", " + high[i] + ", " + p[i] +
                       " : f32");
      if (perChunk)
        fold(params, p, acc);
      else
        acc = p;
    };
    if (chunks == perWarp * warps)
      body(folded);
    else
      guarded(ix.lt(kc, k.c(chunks)), folded, body);
  }
  if (foldPerStage)
    fold(*stageParams, folded, total);
  else
    total = folded;
  // Each lane refills the bytes it has just read itself.
  issue(slot, ix.add(stage, k.c(stages)));
  closeCarriedLoop(k, total);
  std::vector<std::string> sums;
  for (int64_t i = 0; i < 4 * mt; ++i)
    sums.push_back(inner.result(i));
  if (scaleAtEnd) {
    RowParams params = rowParams(tile, k.c(0));
    for (int64_t i = 0; i < 4 * mt; ++i)
      sums[i] = k.def("arith.mulf " + sums[i] + ", " +
                      k.convert(params.scale[(i % 4) / 2], t, "f32") +
                      " : f32");
  }
  PackedLinearEpilogue store{red,       out,  b,     t,  epilogue.outType(),
                             tile,      tokenBase, rows, warps, mt,
                             cfg.n};
  store.epilogue = &epilogue;
  storePackedLinear(k, ix, store, warp, lane, sums);
  // The next tile's sums reuse `red`.
  k.line("gpu.barrier");
  k.line("}");
  return e.kernel("qgemv", k.str("KERNEL"), op->getLoc());
}

} // namespace kopt::gpu
