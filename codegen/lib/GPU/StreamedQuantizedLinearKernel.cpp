//===- StreamedQuantizedLinearKernel.cpp - Packed-weight GEMV, streamed ---===//
//
// kopt.linear over `mma`-layout i4/i8 codes for a few tokens, written for
// the memory roofline:
//   - a block owns one 16-row tile and 8 * MT tokens; each of its warps owns
//     a contiguous range of the tile's 512-byte chunks (64 K of i4, 32 of
//     i8) and streams it through a private ring of `stages` slots of
//     `chunksPerStage` chunks in shared memory: every lane cp.asyncs its
//     own 16 bytes of each chunk and later reads back exactly those, so a
//     cp.async group wait orders them and no warp waits for another. The
//     bytes in flight cost no registers (H200, 28672 x 8192 i4: the stream
//     alone runs at 95% of copy bandwidth, bench/RESULTS.md);
//   - a code pair becomes a 16-bit value with one shift and one lop3:
//     (w >> s) & 0x000f000f | magic holds magic + code in both halves,
//     exactly (bf16 128 + c, f16 1024 + c);
//   - scaled weights: (pair - (magic + zero)) * scale in 16 bits, as
//     kopt.dequantize rounds it (bf16-side i8 goes through f32), so results
//     equal dequantize-then-linear; factored scales (groups of whole
//     chunks): the mma takes the exact integers code - zero (bf16 i8 bytes
//     split into their nibbles, the high one weighted 16) and each group's
//     f32 partial sum is scaled once: fewer operations, and the weight is
//     never rounded to 16 bits;
//   - the tile's scales (and zero points) are staged in shared memory while
//     the first stages are in flight; warps reduce through shared memory,
//     then bias and the output cast.
// The layout and the activation order are QuantizedLinearKernels' (the
// `mma` layout of rt::quant).
//
//===----------------------------------------------------------------------===//

#include "StreamedQuantizedLinearKernel.h"

#include "KernelText.h"
#include "MmaText.h"
#include "PackedLinearText.h"

#include <algorithm>

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
  int64_t chunks = cfg.chunks();
  bool whole = cfg.groupSize == 0 || cfg.groupSize == cfg.kDim;
  int64_t perGroup = whole ? chunks : cfg.groupSize / cfg.chunkK();
  int64_t u = std::max<int64_t>(1, std::min(cfg.chunksPerStage, chunks));
  auto fits = [&](int64_t v) {
    return chunks % v == 0 && (!cfg.factoredScales || whole ||
                               perGroup % v == 0 || v % perGroup == 0);
  };
  while (u > 1 && !fits(u))
    --u;
  cfg.chunksPerStage = u;
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
  const int64_t stageBytes = perStage * kChunkBytes;
  const bool perTensor = cfg.groupSize == 0;
  const bool whole = perTensor || cfg.groupSize == cfg.kDim;
  const bool factored = cfg.factoredScales;
  // Factored: chunks between two scale applications.
  const int64_t perGroup = whole ? chunks : cfg.groupSize / chunk;
  const int64_t fold = whole ? perStage : std::min(perGroup, perStage);
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
  const PackedLinearBuffers buffers =
      packedLinearBuffers(k, t, cfg.ot, cfg.asymmetric, cfg.bias);
  const std::string &out = buffers.out, &x = buffers.x, &q = buffers.q,
                    &s = buffers.s, &z = buffers.z, &b = buffers.b,
                    &rows = buffers.rows;

  const std::string wg = ", #gpu.address_space<workgroup>>";
  const std::string ringType = "memref<?xi8" + wg;
  std::string ring = k.def("gpu.dynamic_shared_memory : " + ringType);
  // Scales of the tile's 16 rows, rows `stride` elements apart.
  const int64_t stride = cfg.scaleStride();
  std::string scaleType =
      "memref<" + std::to_string(16 * stride) + "x" + t + wg;
  std::string zeroType = "memref<" + std::to_string(16 * stride) + "xi8" + wg;
  std::string sc =
      perTensor ? "" : k.shared("sc", std::to_string(16 * stride) + "x" + t);
  std::string zp = !perTensor && cfg.asymmetric
                       ? k.shared("zp", std::to_string(16 * stride) + "xi8")
                       : "";
  std::string red = k.shared("red", std::to_string(warps) + "x" +
                                        std::to_string(128 * mt) + "xf32");

  std::string tid = k.tid();
  std::string lane = ix.rem(tid, 32), warp = ix.div(tid, 32);
  std::string r = ix.div(lane, 4), c = ix.rem(lane, 4);
  std::string tile = k.bid('x');
  std::string tokenBase = ix.mul(k.bid('y'), k.c(8 * mt));
  auto minIndex = [&](const std::string &a, const std::string &bound) {
    return k.def("arith.minui " + a + ", " + bound + " : index");
  };

  // This warp's chunks: [start, start + warpStages * perStage) of the tile.
  std::string start = ix.mul(warp, k.c(perWarp));
  std::string owned = minIndex(
      ix.bin("arith.subi", k.c(chunks), minIndex(start, k.c(chunks))),
      k.c(perWarp));
  std::string warpStages = ix.div(owned, perStage);
  std::string streamBase =
      ix.add(ix.mul(ix.add(ix.mul(tile, k.c(chunks)), start), k.c(kChunkBytes)),
             ix.mul(lane, k.c(16)));
  std::string ringBase =
      ix.add(ix.mul(warp, k.c(stages * stageBytes)), ix.mul(lane, k.c(16)));
  // Every lane: its 16 bytes of each chunk of `stage` into `slot`; one
  // cp.async group per stage, empty past the warp's range.
  auto issue = [&](const std::string &slot, const std::string &stage) {
    k.line("scf.if " + ix.lt(stage, warpStages) + " {");
    std::string from = ix.add(streamBase, ix.mul(stage, k.c(stageBytes)));
    std::string to = ix.add(ringBase, ix.mul(slot, k.c(stageBytes)));
    for (int64_t u = 0; u < perStage; ++u)
      k.def("nvgpu.device_async_copy " + q + "[" +
            ix.add(from, k.c(u * kChunkBytes)) + "], " + ring + "[" +
            ix.add(to, k.c(u * kChunkBytes)) +
            "], 16 {bypassL1} : memref<?xi8> to " + ringType);
    k.line("}");
    k.line("nvvm.cp.async.commit.group");
  };
  for (int64_t slot = 0; slot < stages; ++slot)
    issue(k.c(slot), k.c(slot));

  // The tile's scales (and zero points) while the first stages arrive.
  std::string scale0, zero0;
  if (perTensor) {
    scale0 =
        k.def("memref.load " + s + "[" + k.c(0) + "] : memref<?x" + t + ">");
    if (cfg.asymmetric)
      zero0 =
          k.def("memref.load " + z + "[" + k.c(0) + "] : memref<?xi8>");
  } else {
    std::string i = k.fresh();
    k.line("scf.for " + i + " = " + tid + " to " + k.c(16 * cfg.groups) +
           " step " + k.c(warps * 32) + " {");
    std::string row = ix.div(i, cfg.groups), g = ix.rem(i, cfg.groups);
    std::string globalRow = ix.add(ix.mul(tile, k.c(16)), row);
    std::string from =
        ix.select(ix.lt(globalRow, k.c(cfg.n)),
                  ix.add(ix.mul(globalRow, k.c(cfg.groups)), g), k.c(0));
    std::string to = ix.add(ix.mul(row, k.c(stride)), g);
    k.line("memref.store " +
           k.def("memref.load " + s + "[" + from + "] : memref<?x" + t + ">") +
           ", " + sc + "[" + to + "] : " + scaleType);
    if (cfg.asymmetric)
      k.line("memref.store " +
             k.def("memref.load " + z + "[" + from + "] : memref<?xi8>") +
             ", " + zp + "[" + to + "] : " + zeroType);
    k.line("}");
  }
  k.line("gpu.barrier");

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

  // The scale and zero point of rows r and r + 8 for group `g` (index).
  struct RowParams {
    std::string scale[2]; // T
    std::string zero[2];  // f32
  };
  auto rowParams = [&](const std::string &g) {
    RowParams p;
    for (int64_t rowB = 0; rowB < 2; ++rowB) {
      if (perTensor) {
        p.scale[rowB] = scale0;
        p.zero[rowB] = cfg.asymmetric
                           ? k.def("arith.uitofp " + zero0 + " : i8 to f32")
                           : k.f(symmetricZero);
        continue;
      }
      std::string at = ix.add(ix.mul(ix.add(r, k.c(8 * rowB)), k.c(stride)), g);
      p.scale[rowB] =
          k.def("memref.load " + sc + "[" + at + "] : " + scaleType);
      p.zero[rowB] =
          cfg.asymmetric
              ? k.def("arith.uitofp " +
                      k.def("memref.load " + zp + "[" + at + "] : " +
                            zeroType) +
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

  std::string magicWord = k.ci(magicBits * 0x10001, "i32");
  std::string maskWord = k.ci(mask * 0x10001, "i32");
  // magic + the codes at bits `shift` and 16 + `shift` of `w` (vector<2xT>).
  auto codes = [&](const std::string &w, int64_t shift) {
    std::string v = shift ? int32(k, "arith.shrui", w, k.ci(shift, "i32")) : w;
    return pairOf(
        k, int32(k, "arith.ori", int32(k, "arith.andi", v, maskWord), magicWord),
        t);
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

  // Main loop over this warp's stages. Scaled weights accumulate even and
  // odd k16 steps into two sets (two mma dependency chains, not one).
  std::vector<std::string> zeros(4 * mt, k.f(0.0));
  std::vector<std::string> init(8 * mt, k.f(0.0));
  CarriedLoop main = openCarriedLoop(k, k.c(0), warpStages, k.c(1), init);
  std::vector<std::string> total(main.carried.begin(),
                                 main.carried.begin() + 4 * mt);
  std::vector<std::string> odd(main.carried.begin() + 4 * mt,
                               main.carried.end());
  std::string stage = main.iv;
  std::string slot = ix.rem(stage, stages);
  std::string firstChunk = ix.add(start, ix.mul(stage, k.c(perStage)));
  k.line("nvvm.cp.async.wait.group " + std::to_string(stages - 1));
  std::string slotBase = ix.add(ringBase, ix.mul(slot, k.c(stageBytes)));
  std::vector<std::vector<std::string>> words(perStage);
  for (int64_t u = 0; u < perStage; ++u) {
    std::string v = k.def("vector.load " + ring + "[" +
                          ix.add(slotBase, k.c(u * kChunkBytes)) +
                          "] {alignment = 16 : i64} : " + ringType +
                          ", vector<16xi8>");
    std::string w =
        k.def("vector.bitcast " + v + " : vector<16xi8> to vector<4xi32>");
    for (int i = 0; i < 4; ++i)
      words[u].push_back(k.def("vector.extract " + w + "[" +
                               std::to_string(i) +
                               "] : i32 from vector<4xi32>"));
  }
  if (cfg.probe == 1) {
    std::string bits = words[0][0];
    for (int64_t u = 0; u < perStage; ++u)
      for (int i = 0; i < 4; ++i)
        bits = int32(k, "arith.xori", bits, words[u][i]);
    total[0] = f32(k, "arith.addf", total[0],
                   k.def("arith.bitcast " + bits + " : i32 to f32"));
  }
  std::vector<std::string> p, high;
  for (int64_t u = 0; u < perStage && cfg.probe != 1; ++u) {
    std::string kc = ix.add(firstChunk, k.c(u));
    if (factored && u % fold == 0) {
      p = zeros;
      high = i8bf16 ? zeros : std::vector<std::string>{};
    }
    Offsets o = offsets(rowParams(groupOf(kc)));
    std::vector<std::vector<std::string>> bRegs;
    for (int64_t nt = 0; nt < mt; ++nt)
      bRegs.push_back(activations(kc, nt));
    for (int64_t st = 0; st < steps; ++st) {
      std::vector<std::string> highA;
      std::vector<std::string> a = operands(words[u], st, o, highA);
      for (int64_t nt = 0; nt < mt; ++nt) {
        mmaInto(factored ? p : st % 2 ? odd : total, nt, a, bRegs[nt], st);
        if (!highA.empty())
          mmaInto(high, nt, highA, bRegs[nt], st);
      }
    }
    if (factored && u % fold == fold - 1) {
      RowParams params = rowParams(groupOf(kc));
      for (int64_t i = 0; i < 4 * mt; ++i) {
        std::string sum =
            i8bf16 ? k.def("math.fma " + k.f(16.0) + ", " + high[i] + ", " +
                           p[i] + " : f32")
                   : p[i];
        total[i] = k.def("math.fma " +
                         k.convert(params.scale[(i % 4) / 2], t, "f32") +
                         ", " + sum + ", " + total[i] + " : f32");
      }
    }
  }
  // Each lane refills the bytes it has just read itself.
  issue(slot, ix.add(stage, k.c(stages)));
  total.insert(total.end(), odd.begin(), odd.end());
  closeCarriedLoop(k, total);

  std::vector<std::string> sums;
  for (int64_t i = 0; i < 4 * mt; ++i)
    sums.push_back(
        f32(k, "arith.addf", main.result(i), main.result(4 * mt + i)));
  storePackedLinear(k, ix,
                    {red, out, b, t, cfg.ot, tile, tokenBase, rows, warps, mt,
                     cfg.n},
                    warp, lane, sums);
  return e.kernel("qgemv", k.str("KERNEL"), op->getLoc());
}

} // namespace kopt::gpu
