//===- MmaGemmKernel.cpp - Tensor-core GEMM (mma.sync) --------------------===//
//
// Shared-memory layout: A tiles are [stage][128 m][32 k] and B tiles
// [stage][128 n][32 k] (or [stage][32 k][128 n]), each row cut into 16-byte
// chunks of 8 elements whose chunk index is XORed with a few row bits, so
// that the 8 row addresses of one ldmatrix matrix hit 8 distinct bank groups.
//
// Fragments follow the PTX m16n8k16 layouts: an A ldmatrix.x4 reads the
// 16 x 16 slab (lanes 0-15 rows at k 0, lanes 16-31 at k 8); a B
// ldmatrix.x4 reads two n8 x k16 slabs, transposed when B is [k, n].
//
//===----------------------------------------------------------------------===//

#include "MmaGemmKernel.h"

#include "GemmTiles.h"
#include "MmaText.h"

#include "llvm/ADT/STLExtras.h"

using namespace mlir;

namespace kopt::gpu {
namespace {

constexpr int64_t kStages = 3, kGroupM = 8;
constexpr int64_t kWarpTileM = 64, kWarpTileN = 32;
constexpr int64_t kMmaTilesM = kWarpTileM / 16, kMmaTilesN = kWarpTileN / 8;

/// One operand's cp.async copies for a stage: each thread copies two
/// 16-byte chunks; `row`/`chunk` are the tile coordinates (hoisted), the
/// rest is computed per K slice.
struct ChunkCopy {
  std::string tileRow, physicalColumn; // shared-memory coordinates
  std::string outer;                   // global m / n (or k-in-tile for [k, n])
  std::string inner;                   // offset along the contiguous dim
};

} // namespace

bool mmaGemmApplies(const GpuTarget &target, llvm::StringRef t,
                    std::optional<int64_t> k, std::optional<int64_t> n,
                    bool bNK) {
  if (!target.hasCpAsync || (t != "f16" && t != "bf16"))
    return false;
  if (!k || *k % 8 != 0)
    return false;
  return bNK || (n && *n % 8 == 0);
}

FailureOr<std::string> mmaGemmKernel(FunctionEmitter &e, Operation *op,
                                     const std::string &t,
                                     const std::string &ot, bool bNK, bool bias,
                                     bool nEven) {
  using S = MmaGemmShape;
  KernelText k(S::threads);
  IndexOps x{k};
  GemmTile g = gemmTile(k, t, ot, bias, S::tileM, S::tileN, kGroupM,
                        /*scales=*/nullptr, e.epilogueOf(op));
  const std::string &a = g.a, &b = g.b, &M = g.m, &N = g.n, &K = g.k;
  const std::string &row0 = g.row0, &col0 = g.col0;
  const std::string &aOff = g.aOffset, &bOff = g.bOffset;
  std::string stage = std::to_string(kStages);
  std::string aShape = stage + "x128x32x" + t;
  std::string bShape = bNK ? aShape : stage + "x32x128x" + t;
  std::string as = k.shared("as", aShape), bs = k.shared("bs", bShape);
  std::string wg = ", #gpu.address_space<workgroup>>";
  std::string aType = "memref<" + aShape + wg, bType = "memref<" + bShape + wg;
  std::string gType = "memref<?x" + t + ">";

  std::string tid = k.tid();
  std::string lane = x.rem(tid, 32), warp = x.div(tid, 32);
  std::string wm = x.div(warp, 4), wn = x.rem(warp, 4);

  // Copy coordinates: 512 chunks per operand tile, two per thread.
  auto swizzle2 = [&](const std::string &row, const std::string &chunk) {
    return x.swizzle64(row, chunk);
  };
  auto swizzle8 = [&](const std::string &row, const std::string &chunk) {
    return x.swizzle128(row, chunk);
  };
  std::vector<ChunkCopy> aCopies, bCopies;
  for (int r = 0; r < 2; ++r) {
    std::string idx = x.add(tid, k.c(S::threads * r));
    std::string row = x.div(idx, 4), chunk = x.rem(idx, 4);
    std::string inner = x.mul(chunk, k.c(8));
    aCopies.push_back({row, swizzle2(row, chunk), x.add(row0, row), inner});
    if (bNK) {
      bCopies.push_back({row, swizzle2(row, chunk), x.add(col0, row), inner});
    } else {
      std::string krow = x.div(idx, 16), nchunk = x.rem(idx, 16);
      bCopies.push_back({krow, swizzle8(krow, nchunk), krow,
                         x.add(col0, x.mul(nchunk, k.c(8)))});
    }
  }
  auto issueCopies = [&](const std::string &slot, const std::string &kTile) {
    std::string k0 = x.mul(kTile, k.c(S::tileK));
    auto copy = [&](const std::string &src, const std::string &dst,
                    const std::string &dstType, const ChunkCopy &c,
                    const std::string &at, const std::string &ok) {
      std::string safe = x.select(ok, at, k.c(0));
      std::string count = x.select(ok, k.c(8), k.c(0));
      k.def("nvgpu.device_async_copy " + src + "[" + safe + "], " + dst + "[" +
            slot + ", " + c.tileRow + ", " + c.physicalColumn + "], 8, " +
            count + " {bypassL1} : " + gType + " to " + dstType);
    };
    for (const ChunkCopy &c : aCopies) {
      std::string gk = x.add(k0, c.inner);
      std::string ok = x.both(x.lt(c.outer, M), x.lt(gk, K));
      std::string at = x.add(x.add(x.mul(c.outer, K), gk), aOff);
      copy(a, as, aType, c, at, ok);
    }
    for (const ChunkCopy &c : bCopies) {
      std::string ok, at;
      if (bNK) {
        std::string gk = x.add(k0, c.inner);
        ok = x.both(x.lt(c.outer, N), x.lt(gk, K));
        at = x.add(x.add(x.mul(c.outer, K), gk), bOff);
      } else {
        std::string gk = x.add(k0, c.outer);
        ok = x.both(x.lt(gk, K), x.lt(c.inner, N));
        at = x.add(x.add(x.mul(gk, N), c.inner), bOff);
      }
      copy(b, bs, bType, c, at, ok);
    }
    k.line("nvvm.cp.async.commit.group");
  };

  // ldmatrix row addresses (per lane; hoisted out of the K loop).
  std::string l16 = x.rem(lane, 16), hi = x.div(lane, 16);
  std::string l8 = x.rem(lane, 8), mid = x.rem(x.div(lane, 8), 2);
  std::vector<std::string> aRows;
  std::string aCols[2], bRows[2][2], bCols[2][2];
  std::string wmBase = x.mul(wm, k.c(kWarpTileM));
  for (int mt = 0; mt < kMmaTilesM; ++mt)
    aRows.push_back(x.add(wmBase, x.add(k.c(16 * mt), l16)));
  for (int ks = 0; ks < 2; ++ks)
    aCols[ks] = swizzle2(l16, x.add(k.c(2 * ks), hi));
  for (int ks = 0; ks < 2; ++ks)
    for (int np = 0; np < 2; ++np) {
      if (bNK) {
        // n = wn*32 + np*16 + lane%8 + (lane/16)*8, k chunk 2 ks + mid.
        std::string n =
            x.add(x.mul(wn, k.c(kWarpTileN)),
                  x.add(k.c(16 * np), x.add(l8, x.mul(hi, k.c(8)))));
        bRows[ks][np] = n;
        bCols[ks][np] = swizzle2(l8, x.add(k.c(2 * ks), mid));
      } else {
        // k row = 16 ks + mid*8 + lane%8, n chunk = wn*4 + np*2 + lane/16.
        std::string krow = x.add(k.c(16 * ks), x.add(x.mul(mid, k.c(8)), l8));
        std::string chunk = x.add(x.mul(wn, k.c(4)), x.add(k.c(2 * np), hi));
        bRows[ks][np] = krow;
        bCols[ks][np] = swizzle8(l8, chunk);
      }
    }

  // Accumulators: [mt][nt][4] f32.
  constexpr int kAccs = kMmaTilesM * kMmaTilesN * 4;
  auto accIndex = [](int mt, int nt, int i) {
    return (mt * kMmaTilesN + nt) * 4 + i;
  };
  std::string numK =
      k.def("arith.ceildivui " + K + ", " + k.c(S::tileK) + " : index");
  issueCopies(k.c(0), k.c(0));
  issueCopies(k.c(1), k.c(1));

  CarriedLoop loop = openCarriedLoop(k, k.c(0), numK, k.c(1),
                                     std::vector<std::string>(kAccs, k.f(0.0)));
  const std::string &kt = loop.iv;
  k.line("nvvm.cp.async.wait.group 1");
  k.line("gpu.barrier");
  issueCopies(x.rem(x.add(kt, k.c(2)), kStages), x.add(kt, k.c(2)));
  std::string slot = x.rem(kt, kStages);

  std::string fragType = "vector<4x2x" + t + ">";
  auto operands = [&](const std::string &frag) {
    return mmaOperands(k, frag, t);
  };
  std::vector<std::string> cur = loop.carried;
  for (int ks = 0; ks < 2; ++ks) {
    std::vector<std::vector<std::string>> aFrag, bFrag;
    for (int mt = 0; mt < kMmaTilesM; ++mt)
      aFrag.push_back(operands(k.def(
          "nvgpu.ldmatrix " + as + "[" + slot + ", " + aRows[mt] + ", " +
          aCols[ks] + "] {numTiles = 4 : i32, transpose = false} : " + aType +
          " -> " + fragType)));
    for (int np = 0; np < 2; ++np)
      bFrag.push_back(operands(k.def(
          "nvgpu.ldmatrix " + bs + "[" + slot + ", " + bRows[ks][np] + ", " +
          bCols[ks][np] + "] {numTiles = 4 : i32, transpose = " +
          (bNK ? "false" : "true") + "} : " + bType + " -> " + fragType)));
    mmaAccumulateTiles(k, t, aFrag, bFrag, cur);
  }
  closeCarriedLoop(k, cur);
  k.line("nvvm.cp.async.wait.group 0");

  // Epilogue: accumulator pairs (c0, c1) at row lane/4, (c2, c3) at row
  // lane/4 + 8, columns 2 (lane % 4) + {0, 1} of each m16 x n8 tile.
  std::string quadRow = x.div(lane, 4);
  std::string quadCol = x.mul(x.rem(lane, 4), k.c(2));
  std::string rowBase = x.add(row0, x.add(wmBase, quadRow));
  std::string colBase = x.add(col0, x.add(x.mul(wn, k.c(kWarpTileN)), quadCol));
  for (int mt = 0; mt < kMmaTilesM; ++mt)
    for (int half = 0; half < 2; ++half) {
      std::string row = x.add(rowBase, k.c(16 * mt + 8 * half));
      for (int nt = 0; nt < kMmaTilesN; ++nt)
        storeAccumulatorPair(k, g, nEven, row,
                             x.add(colBase, k.c(8 * nt)),
                             loop.result(accIndex(mt, nt, 2 * half)),
                             loop.result(accIndex(mt, nt, 2 * half + 1)));
    }
  return e.kernel("mma_gemm", k.str("KERNEL"), op->getLoc());
}

} // namespace kopt::gpu
