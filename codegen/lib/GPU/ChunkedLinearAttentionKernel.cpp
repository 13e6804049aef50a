//===- ChunkedLinearAttentionKernel.cpp - linear_attention on tensor cores ===//
//
// kopt.linear_attention in chunks of C = 64 positions. With the state S at
// a chunk's start and g = decay_h, position t of the chunk (0-based) gets
//   o_t = g^(t+1) q_t S + sum_{s <= t} g^(t-s) (q_t . k_s) v_s
// and the state after its L positions is
//   S' = g^L S + sum_{s < L} g^(L-1-s) k_s^T v_s,
// all matrix products: O = diag(g^(t+1)) (Q S) + (Q K^T * M) V and
// S' = g^L S + (diag(g^(L-1-s)) K)^T V, with M the causal decay mask.
//
// A block of 4 warps owns 64 state columns of one (batch, head) and walks
// the chunks in order; the state stays in registers as m16n8k16 f32
// accumulators (warp w holds rows [w D/4, (w+1) D/4)). Per chunk each warp
// computes 16 rows of Q K^T and of O; the products with S read the state
// rounded to 16 bits from shared memory (like the value operand of
// attention), while the state itself accumulates in f32. Q, K and V of the
// next chunk arrive by cp.async into the other of two XOR-swizzled stages
// while this chunk is computed. Decay powers come from a table of
// g^0..g^C, so g = 0 is exact.
//
//===----------------------------------------------------------------------===//

#include "ChunkedLinearAttentionKernel.h"

#include "MmaText.h"

using namespace mlir;

namespace kopt::gpu {
namespace {

using Shape = ChunkedLinearAttentionShape;
constexpr int64_t kChunk = Shape::chunk, kColumns = Shape::columns,
                  kThreads = Shape::threads, kWarps = kThreads / 32;

} // namespace

bool chunkedLinearAttentionApplies(const GpuTarget &target, llvm::StringRef t,
                                   int64_t d) {
  return target.hasCpAsync && tensorCoreHeadDim(t, d);
}

FailureOr<std::string> chunkedLinearAttentionKernel(FunctionEmitter &e,
                                                    LinearAttentionOp op,
                                                    const std::string &t,
                                                    const std::string &st,
                                                    int64_t d) {
  bool hasState = static_cast<bool>(op.getState());
  std::optional<ArrayRef<float>> decay = op.getDecay();
  KernelText k(kThreads);
  IndexOps x{k};
  std::string out = k.buffer("out", t), stateOut = k.buffer("state_out", st),
              q = k.buffer("q", t), kk = k.buffer("k", t), v = k.buffer("v", t);
  std::string stateIn = hasState ? k.buffer("state_in", st) : "";
  std::string decayBuf = decay ? k.buffer("decay", "f32") : "";
  std::string seq = k.index("seq"), headsParam = k.index("heads");
  // A static head count folds the row strides into immediates.
  int64_t staticHeads = op.getQuery().getType().getDimSize(2);
  std::string heads =
      ShapedType::isDynamic(staticHeads) ? headsParam : k.c(staticHeads);
  std::string powType = "memref<" + std::to_string(kChunk + 1) +
                        "xf32, #gpu.address_space<workgroup>>";
  std::string pw =
      decay ? k.shared("pw", std::to_string(kChunk + 1) + "xf32") : "";

  std::string tid = k.tid(), lane = x.rem(tid, 32), warp = x.div(tid, 32);
  std::string l8 = x.rem(lane, 8), l16 = x.rem(lane, 16), hi = x.div(lane, 16);
  std::string mid = x.rem(x.div(lane, 8), 2);
  std::string group = x.div(lane, 4), quadCol = x.mul(x.rem(lane, 4), k.c(2));
  std::string col0 = x.mul(k.bid('x'), k.c(kColumns));
  std::string h = k.bid('y'), b = k.bid('z');

  // Dynamic shared memory: stage s at s * stageBytes holds Q, K, V; the
  // 16-bit state follows the two stages.
  const int64_t qkBytes = kChunk * d * 2, vBytes = kChunk * kColumns * 2;
  const int64_t stageBytes = 2 * qkBytes + vBytes;
  std::string bytesType = "memref<?xi8, #gpu.address_space<workgroup>>";
  auto tileType = [&](int64_t rows, int64_t cols) {
    return "memref<" + std::to_string(rows) + "x" + std::to_string(cols) + "x" +
           t + ", #gpu.address_space<workgroup>>";
  };
  std::string qkType = tileType(kChunk, d), vType = tileType(kChunk, kColumns),
              sType = tileType(d, kColumns);
  std::string dynamic = k.def("gpu.dynamic_shared_memory : " + bytesType);
  auto view = [&](const std::string &offset, const std::string &type) {
    return k.def("memref.view " + dynamic + "[" + offset +
                 "][] : " + bytesType + " to " + type);
  };
  std::string ss = view(k.c(2 * stageBytes), sType);
  struct Stage {
    std::string q, k, v;
  };
  auto stageViews = [&](const std::string &stage) {
    std::string base = x.mul(stage, k.c(stageBytes));
    return Stage{view(base, qkType), view(x.add(base, k.c(qkBytes)), qkType),
                 view(x.add(base, k.c(2 * qkBytes)), vType)};
  };

  // Decay powers g^0 .. g^C (thread i multiplies i times; 0^0 = 1).
  if (decay) {
    int64_t n = static_cast<int64_t>(decay->size());
    std::string known = x.lt(h, k.c(n));
    std::string g =
        k.def("arith.select " + known + ", " +
              k.def("memref.load " + decayBuf + "[" +
                    x.select(known, h, k.c(0)) + "] : memref<?xf32>") +
              ", " + k.f(1.0) + " : f32");
    k.line("scf.if " + x.lt(tid, k.c(kChunk + 1)) + " {");
    std::string i = k.fresh(), p = k.fresh(), power = k.fresh();
    k.line(power + " = scf.for " + i + " = " + k.c(0) + " to " + tid +
           " step " + k.c(1) + " iter_args(" + p + " = " + k.f(1.0) +
           ") -> (f32) {");
    k.line("scf.yield " + k.def("arith.mulf " + p + ", " + g + " : f32") +
           " : f32");
    k.line("}");
    k.line("memref.store " + power + ", " + pw + "[" + tid + "] : " + powType);
    k.line("}");
  }
  auto powerAt = [&](const std::string &i) {
    return k.def("memref.load " + pw + "[" + i + "] : " + powType);
  };

  // cp.async of a chunk x `width` tile starting at sequence position
  // `first`, columns [colOffset, colOffset + width) of rows
  // ((b * S + pos) * H + h) * D; rows past S are zero-filled.
  std::string gType = "memref<?x" + t + ">";
  auto loadTile = [&](const std::string &src, const std::string &dst,
                      const std::string &dstType, int64_t width,
                      const std::string &colOffset, const std::string &first) {
    int64_t chunksPerRow = width / 8, rowStep = kThreads / chunksPerRow;
    std::string row = x.div(tid, chunksPerRow),
                chunk = x.rem(tid, chunksPerRow);
    std::string column = x.swizzle128(row, chunk);
    std::string pos = x.add(first, row);
    std::string base =
        x.add(x.mul(x.add(x.mul(x.add(x.mul(b, seq), pos), heads), h), k.c(d)),
              x.add(colOffset, x.mul(chunk, k.c(8))));
    for (int64_t r = 0; r < kChunk / rowStep; ++r) {
      std::string ok = x.lt(x.add(pos, k.c(r * rowStep)), seq);
      std::string at = x.add(base, x.mul(k.c(r * rowStep * d), heads));
      k.def("nvgpu.device_async_copy " + src + "[" + x.select(ok, at, k.c(0)) +
            "], " + dst + "[" + x.add(row, k.c(r * rowStep)) + ", " + column +
            "], 8, " + x.select(ok, k.c(8), k.c(0)) + " {bypassL1} : " + gType +
            " to " + dstType);
    }
  };
  auto loadChunk = [&](const std::string &chunkIndex,
                       const std::string &stage) {
    Stage s = stageViews(stage);
    std::string first = x.mul(chunkIndex, k.c(kChunk));
    loadTile(q, s.q, qkType, d, k.c(0), first);
    loadTile(kk, s.k, qkType, d, k.c(0), first);
    loadTile(v, s.v, vType, kColumns, col0, first);
    k.line("nvvm.cp.async.commit.group");
  };

  // State accumulators: m-tile mt (16 rows), n-tile nt (8 columns), value
  // i at row stateRow0 + 16 mt + group (+ 8 for i >= 2), column 8 nt +
  // quadCol (+ 1 for odd i).
  const int64_t mTiles = d / kWarps / 16, nTiles = kColumns / 8;
  std::string stateRow0 = x.mul(warp, k.c(d / kWarps));
  auto stateRow = [&](int64_t mt, int64_t i) {
    return x.add(stateRow0, x.add(group, k.c(16 * mt + (i >= 2 ? 8 : 0))));
  };
  // Element (row, column) of this block's state in [B, H, D, D].
  auto stateAt = [&](const std::string &row, const std::string &column) {
    return x.add(
        x.mul(x.add(x.mul(x.add(x.mul(b, heads), h), k.c(d)), row), k.c(d)),
        x.add(col0, column));
  };
  std::vector<std::string> init;
  for (int64_t mt = 0; mt < mTiles; ++mt)
    for (int64_t nt = 0; nt < nTiles; ++nt)
      for (int64_t i = 0; i < 4; ++i) {
        if (!hasState) {
          init.push_back(k.f(0.0));
          continue;
        }
        std::string at =
            stateAt(stateRow(mt, i), x.add(quadCol, k.c(8 * nt + i % 2)));
        init.push_back(k.convert(k.def("memref.load " + stateIn + "[" + at +
                                       "] : memref<?x" + st + ">"),
                                 st, "f32"));
      }

  std::string chunks =
      k.def("arith.ceildivui " + seq + ", " + k.c(kChunk) + " : index");
  loadChunk(k.c(0), k.c(0));
  CarriedLoop loop = openCarriedLoop(k, k.c(0), chunks, k.c(1), init);
  const std::string &c = loop.iv;
  const std::vector<std::string> &state = loop.carried;
  k.line("nvvm.cp.async.wait.group 0");
  k.line("gpu.barrier");
  std::string stage = x.rem(c, 2);
  loadChunk(x.add(c, k.c(1)), x.bin("arith.subi", k.c(1), stage));
  Stage tiles = stageViews(stage);
  // The state at the chunk's start, rounded to 16 bits, for Q S.
  std::string pairType = "vector<2x" + t + ">";
  for (int64_t mt = 0; mt < mTiles; ++mt)
    for (int64_t nt = 0; nt < nTiles; ++nt)
      for (int64_t half = 0; half < 2; ++half) {
        int64_t at = (mt * nTiles + nt) * 4 + 2 * half;
        std::string row = stateRow(mt, 2 * half);
        std::string pair =
            k.def("vector.from_elements " + k.convert(state[at], "f32", t) +
                  ", " + k.convert(state[at + 1], "f32", t) + " : " + pairType);
        k.line("vector.store " + pair + ", " + ss + "[" + row + ", " +
               x.add(x.swizzle128(row, k.c(nt)), quadCol) + "] : " + sType +
               ", " + pairType);
      }
  k.line("gpu.barrier");

  std::string fragType = "vector<4x2x" + t + ">";
  auto ldmatrix = [&](const std::string &tile, const std::string &type,
                      const std::string &row, const std::string &column,
                      bool transpose) {
    return k.def(
        "nvgpu.ldmatrix " + tile + "[" + row + ", " + column +
        "] {numTiles = 4 : i32, transpose = " + (transpose ? "true" : "false") +
        "} : " + type + " -> " + fragType);
  };
  // B fragments (columns [16 dp, 16 dp + 16)) of 16 rows from `firstRow`
  // of a row-major [rows][64] tile.
  auto columnFragment = [&](const std::string &tile, const std::string &type,
                            int64_t firstRow, int64_t dp) {
    return ldmatrix(tile, type,
                    x.add(k.c(firstRow), x.add(x.mul(mid, k.c(8)), l8)),
                    x.swizzle128(l8, x.add(k.c(2 * dp), hi)), true);
  };

  // This warp's 16 chunk rows t (= queries): S = Q K^T and O = Q S, both
  // over D, one 16-wide Q fragment at a time.
  std::string warpRow = x.mul(warp, k.c(16));
  std::vector<std::array<std::string, 4>> scores(kChunk / 8);
  for (auto &tileAcc : scores)
    tileAcc.fill(k.f(0.0));
  std::vector<std::string> o(nTiles * 4, k.f(0.0));
  for (int64_t s = 0; s < d / 16; ++s) {
    std::vector<std::string> qFrag =
        mmaOperands(k,
                    ldmatrix(tiles.q, qkType, x.add(warpRow, l16),
                             x.swizzle128(l16, x.add(k.c(2 * s), hi)), false),
                    t);
    for (int64_t np = 0; np < kChunk / 16; ++np) {
      std::vector<std::string> kf = mmaOperands(
          k,
          ldmatrix(tiles.k, qkType,
                   x.add(k.c(16 * np), x.add(l8, x.mul(hi, k.c(8)))),
                   x.swizzle128(l8, x.add(k.c(2 * s), mid)), false),
          t);
      for (int64_t half = 0; half < 2; ++half) {
        auto &acc = scores[2 * np + half];
        acc = mmaSync(k, t, qFrag, {kf[2 * half], kf[2 * half + 1]},
                      {acc[0], acc[1], acc[2], acc[3]});
      }
    }
    mmaAccumulatePV(
        k, t, qFrag, kColumns,
        [&](int64_t dp) { return columnFragment(ss, sType, 16 * s, dp); }, o);
  }
  // O = diag(g^(t+1)) (Q S) so far.
  std::array<std::string, 2> rows = {x.add(warpRow, group),
                                     x.add(warpRow, x.add(group, k.c(8)))};
  if (decay) {
    std::array<std::string, 2> rowScale = {powerAt(x.add(rows[0], k.c(1))),
                                           powerAt(x.add(rows[1], k.c(1)))};
    for (int64_t i = 0; i < nTiles * 4; ++i)
      o[i] =
          k.def("arith.mulf " + o[i] + ", " + rowScale[(i % 4) / 2] + " : f32");
  }
  // O += (S * M) V, M[t][s] = g^(t-s) for s <= t, else 0.
  for (int64_t nt = 0; nt < kChunk / 8; ++nt)
    for (int64_t i = 0; i < 4; ++i) {
      const std::string &row = rows[i / 2];
      std::string column = x.add(quadCol, k.c(8 * nt + i % 2));
      std::string visible =
          k.def("arith.cmpi ule, " + column + ", " + row + " : index");
      std::string value = scores[nt][i];
      if (decay)
        value = k.def("arith.mulf " + value + ", " +
                      powerAt(x.select(
                          visible, x.bin("arith.subi", row, column), k.c(0))) +
                      " : f32");
      scores[nt][i] = k.def("arith.select " + visible + ", " + value + ", " +
                            k.f(0.0) + " : f32");
    }
  for (int64_t kt = 0; kt < kChunk / 16; ++kt) {
    const auto &c0 = scores[2 * kt], &c1 = scores[2 * kt + 1];
    std::vector<std::string> p = {
        mmaPack(k, c0[0], c0[1], t), mmaPack(k, c0[2], c0[3], t),
        mmaPack(k, c1[0], c1[1], t), mmaPack(k, c1[2], c1[3], t)};
    mmaAccumulatePV(
        k, t, p, kColumns,
        [&](int64_t dp) { return columnFragment(tiles.v, vType, 16 * kt, dp); },
        o);
  }
  std::string first = x.mul(c, k.c(kChunk));
  for (int r = 0; r < 2; ++r) {
    std::string pos = x.add(first, rows[r]);
    k.line("scf.if " + x.lt(pos, seq) + " {");
    std::string base =
        x.add(x.mul(x.add(x.mul(x.add(x.mul(b, seq), pos), heads), h), k.c(d)),
              x.add(col0, quadCol));
    for (int64_t nt = 0; nt < nTiles; ++nt) {
      std::string pair = k.def(
          "vector.from_elements " + k.convert(o[4 * nt + 2 * r], "f32", t) +
          ", " + k.convert(o[4 * nt + 2 * r + 1], "f32", t) + " : " + pairType);
      k.line("vector.store " + pair + ", " + out + "[" +
             x.add(base, k.c(8 * nt)) + "] {alignment = 4 : i64} : " + gType +
             ", " + pairType);
    }
    k.line("}");
  }

  // S' = g^L S + (diag(g^(L-1-s)) K)^T V over the chunk's L positions.
  std::vector<std::string> next = state;
  std::string length = k.def("arith.minui " + k.c(kChunk) + ", " +
                             x.bin("arith.subi", seq, first) + " : index");
  if (decay) {
    std::string carry = powerAt(length);
    for (std::string &value : next)
      value = k.def("arith.mulf " + value + ", " + carry + " : f32");
  }
  // The factor of chunk position `s`: g^(L-1-s), 0 past L.
  auto keyScale = [&](const std::string &s) {
    std::string inside = x.lt(s, length);
    std::string power = powerAt(x.select(
        inside, x.bin("arith.subi", x.bin("arith.subi", length, k.c(1)), s),
        k.c(0)));
    return k.def("arith.select " + inside + ", " + power + ", " + k.f(0.0) +
                 " : f32");
  };
  // The two 16-bit values of A-operand register `reg` scaled by f0, f1, as
  // one register or, for an f32 state, a rounded part and its remainder
  // (so the scaled keys keep ~16 more bits).
  bool splitKeys = st == "f32";
  auto scalePair = [&](const std::string &reg, const std::string &f0,
                       const std::string &f1) {
    std::string pair = reg;
    if (t == "bf16")
      pair = k.def("vector.bitcast " +
                   k.def("vector.from_elements " + reg + " : vector<1xi32>") +
                   " : vector<1xi32> to vector<2xbf16>");
    std::array<std::string, 2> scaled;
    for (int i = 0; i < 2; ++i)
      scaled[i] = k.def(
          "arith.mulf " +
          k.convert(k.def("vector.extract " + pair + "[" + std::to_string(i) +
                          "] : " + t + " from " + pairType),
                    t, "f32") +
          ", " + (i ? f1 : f0) + " : f32");
    std::vector<std::string> parts = {mmaPack(k, scaled[0], scaled[1], t)};
    if (splitKeys) {
      std::array<std::string, 2> rest;
      for (int i = 0; i < 2; ++i)
        rest[i] = k.def("arith.subf " + scaled[i] + ", " +
                        k.convert(k.convert(scaled[i], "f32", t), t, "f32") +
                        " : f32");
      parts.push_back(mmaPack(k, rest[0], rest[1], t));
    }
    return parts;
  };
  for (int64_t ks = 0; ks < kChunk / 16; ++ks) {
    std::vector<std::string> vFrag;
    for (int64_t dp = 0; dp < kColumns / 16; ++dp)
      vFrag.push_back(columnFragment(tiles.v, vType, 16 * ks, dp));
    // Positions of this thread's A values: 16 ks + quadCol (+1), +8 (+1).
    std::array<std::string, 4> factors;
    if (decay)
      for (int i = 0; i < 4; ++i)
        factors[i] =
            keyScale(x.add(quadCol, k.c(16 * ks + (i >= 2 ? 8 : 0) + i % 2)));
    for (int64_t mt = 0; mt < mTiles; ++mt) {
      std::string dChunk = x.add(x.div(stateRow0, 8), k.c(2 * mt));
      std::vector<std::string> a = mmaOperands(
          k,
          ldmatrix(tiles.k, qkType,
                   x.add(k.c(16 * ks), x.add(x.mul(hi, k.c(8)), l8)),
                   x.swizzle128(l8, x.add(dChunk, mid)), true),
          t);
      std::vector<std::vector<std::string>> operands = {a};
      if (decay) {
        operands.assign(splitKeys ? 2 : 1, std::vector<std::string>(4));
        for (int r = 0; r < 4; ++r) {
          int lowPair = r < 2 ? 0 : 2;
          std::vector<std::string> parts =
              scalePair(a[r], factors[lowPair], factors[lowPair + 1]);
          for (size_t part = 0; part < parts.size(); ++part)
            operands[part][r] = parts[part];
        }
      }
      std::vector<std::string> acc(next.begin() + mt * nTiles * 4,
                                   next.begin() + (mt + 1) * nTiles * 4);
      for (const auto &operand : operands)
        mmaAccumulatePV(
            k, t, operand, kColumns, [&](int64_t dp) { return vFrag[dp]; },
            acc);
      std::copy(acc.begin(), acc.end(), next.begin() + mt * nTiles * 4);
    }
  }
  closeCarriedLoop(k, next);
  k.line("nvvm.cp.async.wait.group 0");

  // The final state, one pair of columns per store.
  std::string stPair = "vector<2x" + st + ">";
  int64_t stBytes = st == "f32" ? 4 : 2;
  for (int64_t mt = 0; mt < mTiles; ++mt)
    for (int64_t nt = 0; nt < nTiles; ++nt)
      for (int64_t half = 0; half < 2; ++half) {
        int64_t at = (mt * nTiles + nt) * 4 + 2 * half;
        std::string pair = k.def(
            "vector.from_elements " + k.convert(loop.result(at), "f32", st) +
            ", " + k.convert(loop.result(at + 1), "f32", st) + " : " + stPair);
        k.line("vector.store " + pair + ", " + stateOut + "[" +
               stateAt(stateRow(mt, 2 * half), x.add(quadCol, k.c(8 * nt))) +
               "] {alignment = " + std::to_string(2 * stBytes) +
               " : i64} : memref<?x" + st + ">, " + stPair);
      }
  return e.kernel("linear_attention_chunked", k.str("KERNEL"), op->getLoc());
}

} // namespace kopt::gpu
