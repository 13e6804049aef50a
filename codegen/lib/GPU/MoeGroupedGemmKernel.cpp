//===- MoeGroupedGemmKernel.cpp - kopt.moe as grouped tensor-core GEMMs ---===//
//
// After routing (one expert and weight per slot = token x top_k):
//   1. moe_group counts the slots per expert in shared memory, lays the
//      experts' rows out one after another (and their 64-row tiles), and
//      scatters the slot numbers into that order.
//   2. moe_gate_up: a block owns one 64-row tile of one expert and 64 FFN
//      units; its 128 weight rows interleave gate and up rows 16 at a time
//      so that each warp holds the gate and up accumulators of the same
//      units and applies silu(g) * u in registers. A rows are the tokens'
//      rows of x, gathered by cp.async. h is stored 16-bit by sorted row.
//   3. moe_down: the same tiles over h (contiguous rows per expert) and
//      128 hidden units of Wd; each row is scaled by its slot's routing
//      weight and scattered to its slot in an f32 scratch.
//   4. moe_combine sums each token's top_k slots (fixed order, no atomics).
// Each block reads its expert's weight tile once for up to 64 rows;
// blocks of the same weight tile are adjacent in launch order (x is the
// row tile) so they share it in L2. The GEMMs are the mma.sync pipeline of
// MmaGemmKernel: 4 cp.async stages of 32-wide K slices in XOR-swizzled
// shared memory, 8 warps of 32 x 32, m16n8k16 with f32 accumulation.
//
//===----------------------------------------------------------------------===//

#include "MoeGroupedGemmKernel.h"

#include "MmaText.h"

using namespace mlir;

namespace kopt::gpu {
namespace {

using S = MoeGemmShape;
constexpr int64_t kStages = 4, kWarpTile = 32;

std::string asIndex(KernelText &k, const std::string &i32) {
  return k.def("arith.index_cast " + i32 + " : i32 to index");
}

} // namespace

bool moeGroupedGemmApplies(const GpuTarget &target, llvm::StringRef t,
                           int64_t hidden, int64_t ffn, int64_t experts) {
  return target.hasCpAsync && (t == "f16" || t == "bf16") && hidden % 8 == 0 &&
         ffn % 8 == 0 && experts <= S::maxExperts;
}

FailureOr<std::string> moeGroupKernel(FunctionEmitter &e, MoEOp op,
                                      int64_t experts) {
  KernelText k(S::groupThreads);
  std::string sorted = k.buffer("sorted", "i32"),
              expertOffsets = k.buffer("expert_offsets", "i32"),
              tileOffsets = k.buffer("tile_offsets", "i32"),
              chosen = k.buffer("experts", "i32");
  std::string slots = k.index("slots");
  std::string e32 = std::to_string(experts) + "xi32";
  std::string counts = k.shared("counts", e32),
              cursor = k.shared("cursor", e32);
  std::string sType = "memref<" + e32 + ", #gpu.address_space<workgroup>>";
  std::string tid = k.tid(), step = k.c(S::groupThreads);
  std::string one = k.ci(1, "i32"), zero = k.ci(0, "i32");
  auto strided = [&](const std::string &end) {
    std::string i = k.fresh();
    k.line("scf.for " + i + " = " + tid + " to " + end + " step " + step +
           " {");
    return i;
  };
  auto expertOf = [&](const std::string &slot) {
    return asIndex(
        k, k.def("memref.load " + chosen + "[" + slot + "] : memref<?xi32>"));
  };
  std::string j = strided(k.c(experts));
  k.line("memref.store " + zero + ", " + counts + "[" + j + "] : " + sType);
  k.line("}");
  k.line("gpu.barrier");
  std::string s = strided(slots);
  k.def("memref.atomic_rmw addi " + one + ", " + counts + "[" + expertOf(s) +
        "] : (i32, " + sType + ") -> i32");
  k.line("}");
  k.line("gpu.barrier");
  k.line("scf.if " +
         k.def("arith.cmpi eq, " + tid + ", " + k.c(0) + " : index") + " {");
  std::string ex = k.fresh(), rows = k.fresh(), tiles = k.fresh(),
              ends = k.fresh();
  k.line(ends + ":2 = scf.for " + ex + " = " + k.c(0) + " to " + k.c(experts) +
         " step " + k.c(1) + " iter_args(" + rows + " = " + zero + ", " +
         tiles + " = " + zero + ") -> (i32, i32) {");
  k.line("memref.store " + rows + ", " + expertOffsets + "[" + ex +
         "] : memref<?xi32>");
  k.line("memref.store " + tiles + ", " + tileOffsets + "[" + ex +
         "] : memref<?xi32>");
  k.line("memref.store " + rows + ", " + cursor + "[" + ex + "] : " + sType);
  std::string count =
      k.def("memref.load " + counts + "[" + ex + "] : " + sType);
  std::string countTiles = k.def("arith.divui " +
                                 k.def("arith.addi " + count + ", " +
                                       k.ci(S::tileM - 1, "i32") + " : i32") +
                                 ", " + k.ci(S::tileM, "i32") + " : i32");
  k.line("scf.yield " + k.def("arith.addi " + rows + ", " + count + " : i32") +
         ", " + k.def("arith.addi " + tiles + ", " + countTiles + " : i32") +
         " : i32, i32");
  k.line("}");
  k.line("memref.store " + ends + "#0, " + expertOffsets + "[" + k.c(experts) +
         "] : memref<?xi32>");
  k.line("memref.store " + ends + "#1, " + tileOffsets + "[" + k.c(experts) +
         "] : memref<?xi32>");
  k.line("}");
  k.line("gpu.barrier");
  std::string s2 = strided(slots);
  std::string at =
      asIndex(k, k.def("memref.atomic_rmw addi " + one + ", " + cursor + "[" +
                       expertOf(s2) + "] : (i32, " + sType + ") -> i32"));
  k.line("memref.store " + k.def("arith.index_cast " + s2 + " : index to i32") +
         ", " + sorted + "[" + at + "] : memref<?xi32>");
  k.line("}");
  return e.kernel("moe_group", k.str("KERNEL"), op->getLoc());
}

FailureOr<std::string> moeGroupedGemmKernel(FunctionEmitter &e, MoEOp op,
                                            MoeGemm which, const std::string &t,
                                            int64_t hidden, int64_t ffn,
                                            int64_t experts, int64_t topK) {
  bool gateUp = which == MoeGemm::GateUp;
  KernelText k(S::threads);
  IndexOps x{k};
  std::string out = k.buffer(gateUp ? "h" : "y", gateUp ? t : "f32");
  std::string a = k.buffer(gateUp ? "x" : "h", t);
  std::string b0 = k.buffer(gateUp ? "w_gate" : "w_down", t);
  std::string b1 = gateUp ? k.buffer("w_up", t) : "";
  std::string weights = gateUp ? "" : k.buffer("weights", "f32");
  std::string sorted = k.buffer("sorted", "i32"),
              expertOffsets = k.buffer("expert_offsets", "i32"),
              tileOffsets = k.buffer("tile_offsets", "i32");
  // A is [rows, K], each expert's B [N, K]; the block's output columns
  // start at n0.
  const int64_t K = gateUp ? hidden : ffn, N = gateUp ? ffn : hidden;
  const int64_t columns = gateUp ? S::upColumns : S::downColumns;
  std::string stages = std::to_string(kStages);
  std::string aShape = stages + "x" + std::to_string(S::tileM) + "x32x" + t;
  std::string bShape = stages + "x" + std::to_string(S::tileRows) + "x32x" + t;
  std::string as = k.shared("as", aShape), bs = k.shared("bs", bShape);
  std::string wg = ", #gpu.address_space<workgroup>>";
  std::string aType = "memref<" + aShape + wg, bType = "memref<" + bShape + wg;
  std::string gType = "memref<?x" + t + ">";
  auto loadI32 = [&](const std::string &mem, const std::string &i) {
    return asIndex(k,
                   k.def("memref.load " + mem + "[" + i + "] : memref<?xi32>"));
  };

  std::string tile = k.bid('x');
  std::string n0 = x.mul(k.bid('y'), k.c(columns));
  k.line("scf.if " + x.lt(tile, loadI32(tileOffsets, k.c(experts))) + " {");
  // The expert: how many experts' tiles end at or before this one.
  std::string ex = k.fresh(), found = k.fresh(), expert = k.fresh();
  k.line(expert + " = scf.for " + ex + " = " + k.c(0) + " to " + k.c(experts) +
         " step " + k.c(1) + " iter_args(" + found + " = " + k.c(0) +
         ") -> (index) {");
  std::string ends =
      k.def("arith.cmpi ule, " + loadI32(tileOffsets, x.add(ex, k.c(1))) +
            ", " + tile + " : index");
  k.line("scf.yield " + x.select(ends, x.add(found, k.c(1)), found) +
         " : index");
  k.line("}");
  std::string rowBegin =
      x.add(loadI32(expertOffsets, expert),
            x.mul(x.bin("arith.subi", tile, loadI32(tileOffsets, expert)),
                  k.c(S::tileM)));
  std::string rowEnd = loadI32(expertOffsets, x.add(expert, k.c(1)));

  std::string tid = k.tid(), lane = x.rem(tid, 32), warp = x.div(tid, 32);
  std::string wm = x.div(warp, 4), wn = x.rem(warp, 4);

  // Copies, fixed per thread: one A chunk (row tid / 4) and two B chunks
  // (rows tid / 4 and tid / 4 + 64), 16 bytes each.
  std::string copyRow = x.div(tid, 4), copyChunk = x.rem(tid, 4);
  std::string copyColumn = x.swizzle64(copyRow, copyChunk);
  std::string inner = x.mul(copyChunk, k.c(8));
  std::string aRowPos = x.add(rowBegin, copyRow);
  std::string aRowOk = x.lt(aRowPos, rowEnd);
  std::string aBase;
  if (gateUp) {
    std::string slot = loadI32(sorted, x.select(aRowOk, aRowPos, k.c(0)));
    aBase = x.mul(x.div(slot, topK), k.c(hidden));
  } else {
    aBase = x.mul(aRowPos, k.c(ffn));
  }
  // B tile row r -> weight row: gate/up rows interleave 16 at a time
  // (r % 32 < 16: gate), unit n0 + (r / 32) * 16 + r % 16; down: n0 + r.
  std::string useUp = gateUp ? x.lt(k.c(15), x.rem(copyRow, 32)) : "";
  std::vector<std::string> bRow, bOk;
  for (int64_t rr = 0; rr < 2; ++rr) {
    std::string r = x.add(copyRow, k.c(64 * rr));
    std::string unit =
        gateUp ? x.add(n0, x.add(x.mul(x.div(r, 32), k.c(16)), x.rem(r, 16)))
               : x.add(n0, r);
    bOk.push_back(x.lt(unit, k.c(N)));
    bRow.push_back(x.mul(x.add(x.mul(expert, k.c(N)), unit), k.c(K)));
  }
  auto copy = [&](const std::string &src, const std::string &dst,
                  const std::string &dstType, const std::string &slot,
                  const std::string &row, const std::string &at,
                  const std::string &ok) {
    k.def("nvgpu.device_async_copy " + src + "[" + x.select(ok, at, k.c(0)) +
          "], " + dst + "[" + slot + ", " + row + ", " + copyColumn + "], 8, " +
          x.select(ok, k.c(8), k.c(0)) + " {bypassL1} : " + gType + " to " +
          dstType);
  };
  auto issueCopies = [&](const std::string &slot, const std::string &kTile) {
    std::string gk = x.add(x.mul(kTile, k.c(S::tileK)), inner);
    std::string kOk = x.lt(gk, k.c(K));
    copy(a, as, aType, slot, copyRow, x.add(aBase, gk), x.both(aRowOk, kOk));
    auto copyB = [&](const std::string &src) {
      for (int64_t rr = 0; rr < 2; ++rr)
        copy(src, bs, bType, slot, x.add(copyRow, k.c(64 * rr)),
             x.add(bRow[rr], gk), x.both(bOk[rr], kOk));
    };
    if (gateUp) {
      k.line("scf.if " + useUp + " {");
      copyB(b1);
      k.line("} else {");
      copyB(b0);
      k.line("}");
    } else {
      copyB(b0);
    }
    k.line("nvvm.cp.async.commit.group");
  };

  // ldmatrix addresses: A rows 32 wm + 16 mt + lane % 16 at k chunk
  // 2 ks + lane / 16; B rows 32 wn + 16 np + lane % 8 + 8 (lane / 16) at
  // k chunk 2 ks + (lane / 8) % 2.
  std::string l16 = x.rem(lane, 16), hi = x.div(lane, 16);
  std::string l8 = x.rem(lane, 8), mid = x.rem(x.div(lane, 8), 2);
  const int64_t mTiles = kWarpTile / 16, nTiles = kWarpTile / 8;
  std::string fragType = "vector<4x2x" + t + ">";
  auto ldmatrix = [&](const std::string &tileMem, const std::string &type,
                      const std::string &slot, const std::string &row,
                      const std::string &column) {
    return mmaOperands(
        k,
        k.def("nvgpu.ldmatrix " + tileMem + "[" + slot + ", " + row + ", " +
              column + "] {numTiles = 4 : i32, transpose = false} : " + type +
              " -> " + fragType),
        t);
  };

  const int64_t accs = mTiles * nTiles * 4;
  auto accIndex = [&](int64_t mt, int64_t nt, int64_t i) {
    return (mt * nTiles + nt) * 4 + i;
  };
  std::string numK = k.c((K + S::tileK - 1) / S::tileK);
  for (int64_t s = 0; s < kStages - 1; ++s)
    issueCopies(k.c(s), k.c(s));
  CarriedLoop loop = openCarriedLoop(k, k.c(0), numK, k.c(1),
                                     std::vector<std::string>(accs, k.f(0.0)));
  const std::string &kt = loop.iv;
  k.line("nvvm.cp.async.wait.group " + std::to_string(kStages - 2));
  k.line("gpu.barrier");
  std::string ahead = x.add(kt, k.c(kStages - 1));
  issueCopies(x.rem(ahead, kStages), ahead);
  std::string slot = x.rem(kt, kStages);
  std::vector<std::string> cur = loop.carried;
  for (int64_t ks = 0; ks < S::tileK / 16; ++ks) {
    std::vector<std::vector<std::string>> aFrag, bFrag;
    for (int64_t mt = 0; mt < mTiles; ++mt)
      aFrag.push_back(
          ldmatrix(as, aType, slot,
                   x.add(x.mul(wm, k.c(kWarpTile)), x.add(k.c(16 * mt), l16)),
                   x.swizzle64(l16, x.add(k.c(2 * ks), hi))));
    for (int64_t np = 0; np < nTiles / 2; ++np)
      bFrag.push_back(
          ldmatrix(bs, bType, slot,
                   x.add(x.mul(wn, k.c(kWarpTile)),
                         x.add(k.c(16 * np), x.add(l8, x.mul(hi, k.c(8))))),
                   x.swizzle64(l8, x.add(k.c(2 * ks), mid))));
    mmaAccumulateTiles(k, t, aFrag, bFrag, cur);
  }
  closeCarriedLoop(k, cur);
  k.line("nvvm.cp.async.wait.group 0");

  // Epilogue: accumulators (c0, c1) at row lane / 4 and (c2, c3) at row
  // lane / 4 + 8 of each m16 tile, weight rows 2 (lane % 4) + {0, 1} of
  // each n8 tile.
  std::string quadRow = x.div(lane, 4);
  std::string quadCol = x.mul(x.rem(lane, 4), k.c(2));
  auto value = [&](int64_t mt, int64_t nt, int64_t i) {
    return loop.result(accIndex(mt, nt, i));
  };
  for (int64_t mt = 0; mt < mTiles; ++mt)
    for (int64_t half = 0; half < 2; ++half) {
      std::string pos =
          x.add(rowBegin, x.add(x.mul(wm, k.c(kWarpTile)),
                                x.add(quadRow, k.c(16 * mt + 8 * half))));
      k.line("scf.if " + x.lt(pos, rowEnd) + " {");
      std::string slotId, scale;
      if (!gateUp) {
        slotId = loadI32(sorted, pos);
        scale = k.def("memref.load " + weights + "[" + slotId +
                      "] : memref<?xf32>");
      }
      // Gate/up: n-tiles 0, 1 are gate units, 2, 3 the same up units.
      for (int64_t nt = 0; nt < (gateUp ? 2 : nTiles); ++nt) {
        std::string column =
            gateUp ? x.add(n0, x.add(x.mul(wn, k.c(16)),
                                     x.add(k.c(8 * nt), quadCol)))
                   : x.add(n0, x.add(x.mul(wn, k.c(kWarpTile)),
                                     x.add(k.c(8 * nt), quadCol)));
        std::array<std::string, 2> v;
        for (int64_t j = 0; j < 2; ++j) {
          std::string c = value(mt, nt, 2 * half + j);
          if (gateUp) {
            // silu(g) * u = g / (1 + exp(-g)) * u.
            std::string denom =
                k.def("arith.addf " + k.f(1.0) + ", " +
                      k.def("math.exp " + k.def("arith.negf " + c + " : f32") +
                            " : f32") +
                      " : f32");
            v[j] = k.convert(
                k.def("arith.mulf " +
                      k.def("arith.divf " + c + ", " + denom + " : f32") +
                      ", " + value(mt, nt + 2, 2 * half + j) + " : f32"),
                "f32", t);
          } else {
            v[j] = k.def("arith.mulf " + c + ", " + scale + " : f32");
          }
        }
        std::string ot = gateUp ? t : "f32";
        std::string pairType = "vector<2x" + ot + ">";
        std::string pair = k.def("vector.from_elements " + v[0] + ", " + v[1] +
                                 " : " + pairType);
        std::string rowAt = x.mul(gateUp ? pos : slotId, k.c(N));
        k.line("scf.if " + x.lt(column, k.c(N)) + " {");
        k.line("vector.store " + pair + ", " + out + "[" +
               x.add(rowAt, column) + "] {alignment = " + (gateUp ? "4" : "8") +
               " : i64} : memref<?x" + ot + ">, " + pairType);
        k.line("}");
      }
      k.line("}");
    }
  k.line("}"); // tile < total
  return e.kernel(gateUp ? "moe_gate_up" : "moe_down", k.str("KERNEL"),
                  op->getLoc());
}

FailureOr<std::string> moeCombineKernel(FunctionEmitter &e, MoEOp op,
                                        const std::string &ot, int64_t hidden,
                                        int64_t topK) {
  KernelText k(256);
  IndexOps x{k};
  std::string out = k.buffer("out", ot), y = k.buffer("y", "f32");
  std::string count = k.index("count");
  std::string i = k.globalId();
  k.line("scf.if " + x.lt(i, count) + " {");
  std::string token = x.div(i, hidden), unit = x.rem(i, hidden);
  std::string sum = k.f(0.0);
  for (int64_t r = 0; r < topK; ++r) {
    std::string at =
        x.add(x.mul(x.add(x.mul(token, k.c(topK)), k.c(r)), k.c(hidden)), unit);
    sum = k.def("arith.addf " + sum + ", " +
                k.def("memref.load " + y + "[" + at + "] : memref<?xf32>") +
                " : f32");
  }
  k.line("memref.store " + k.convert(sum, "f32", ot) + ", " + out + "[" + i +
         "] : memref<?x" + ot + ">");
  k.line("}");
  return e.kernel("moe_combine", k.str("KERNEL"), op->getLoc());
}

} // namespace kopt::gpu
