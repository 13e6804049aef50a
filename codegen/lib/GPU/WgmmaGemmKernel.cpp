//===- WgmmaGemmKernel.cpp - Hopper tensor-core GEMM (wgmma) --------------===//
//
// Shared memory, per stage: the A tile [128 m][64 k] then the B tile
// [256 n][64 k] (float8: 128 k), rows of 128 bytes whose 16-byte chunk c
// sits at c ^ (row % 8): the canonical K-major 128-byte-swizzled layout, so
// a matrix descriptor (start, stride 1024 bytes between 8-row groups,
// swizzle mode 128B) covers a 64-row slab and advancing one instruction's K
// (16 elements, float8: 32) adds 32 bytes to its start. Dynamic shared memory is 1024-byte aligned
// (kopt-extern-dynamic-shared) and stages are multiples of it.
//
// Pipeline per K slice: wait for this slice's copies, make them visible to
// the async proxy, barrier, issue the copies of a later slice (into the
// stage of a slice whose wgmma has completed), then four m64n128k16 wgmma
// per warpgroup, committed; the previous slice's group is awaited, this
// one stays in flight over the next slice's wait and barrier.
//
// Accumulators (m64n256, f32): 128 per thread; value i of warp w, lane l is
// row 16 w + l / 4 + 8 ((i % 4) / 2), column 8 (i / 4) + 2 (l % 4) + i % 2.
//
//===----------------------------------------------------------------------===//

#include "WgmmaGemmKernel.h"

#include "GemmTiles.h"

#include "llvm/ADT/StringExtras.h"

using namespace mlir;

namespace kopt::gpu {
namespace {

using S = WgmmaGemmShape;
constexpr int64_t kGroupM = 8;
constexpr int64_t kChunksPerRow = 8; // 16-byte chunks in a 128-byte row
// The B tile follows the A tile; descriptors need 1024-byte-aligned tiles.
static_assert(S::tileM * S::tileK * 2 % 1024 == 0, "B tile alignment");

} // namespace

bool wgmmaGemmApplies(const GpuTarget &target, llvm::StringRef t,
                      std::optional<int64_t> k, bool bNK) {
  return target.hasWgmma && bNK && (t == "f16" || t == "bf16") && k &&
         *k % 8 == 0;
}

bool wgmmaFp8GemmApplies(const GpuTarget &target, std::optional<int64_t> k) {
  return target.hasWgmma && k && *k % 16 == 0;
}

FailureOr<std::string> wgmmaGemmKernel(FunctionEmitter &e, Operation *op,
                                       const std::string &operandType,
                                       const std::string &ot, bool bias,
                                       bool nEven, int64_t tileN,
                                       const GemmScales *fp8,
                                       int64_t promoteSlices,
                                       bool oneRowTile) {
  const bool promote = promoteSlices > 0;
  const int64_t accumulators = tileN / 2; // m64 x tileN f32 over 128 threads
  const int64_t stageBytes = S::stageBytes(tileN), stages = S::stages(tileN, oneRowTile);
  // Elements per 16-byte chunk, per K slice (128 bytes) and per instruction.
  const int64_t chunkElements = fp8 ? 16 : 8, sliceK = 8 * chunkElements,
                mmaK = fp8 ? 32 : 16;
  const std::string t = fp8 ? "i8" : operandType;
  const std::string mmaType = fp8 ? "e4m3" : operandType;
  KernelText k(S::threads);
  IndexOps x{k};
  GemmTile g = gemmTile(k, t, ot, bias, S::tileM, tileN, kGroupM, fp8,
                        e.epilogueOf(op));
  const std::string gType = "memref<?x" + t + ">";
  const std::string bytesType = "memref<?xi8, #gpu.address_space<workgroup>>";
  const std::string tilesType =
      "memref<" + std::to_string(stages) + "x" +
      std::to_string(S::tileM + tileN) + "x" + std::to_string(sliceK) + "x" +
      t + ", #gpu.address_space<workgroup>>";
  std::string dynamic = k.def("gpu.dynamic_shared_memory : " + bytesType);
  // [stage][row: A's tileM, then B's tileN][k]
  std::string tiles = k.def("memref.view " + dynamic + "[" + k.c(0) +
                            "][] : " + bytesType + " to " + tilesType);

  std::string tid = k.tid();
  std::string warpgroup = x.div(tid, 128);
  std::string lane = x.rem(tid, 32), warp = x.rem(x.div(tid, 32), 4);

  // Copies: (tileM + tileN) rows x 8 chunks per stage, each thread the
  // same chunk column of rows tid / 8 + 32 r.
  std::string copyRow = x.div(tid, kChunksPerRow);
  std::string copyChunk = x.rem(tid, kChunksPerRow);
  std::string copyColumn =
      x.mul(x.xorc(copyChunk, x.rem(copyRow, 8)), k.c(chunkElements));
  constexpr int64_t rowStep = S::threads / kChunksPerRow;
  auto issueCopies = [&](const std::string &stage, const std::string &slice) {
    std::string k0 = x.add(x.mul(slice, k.c(sliceK)),
                           x.mul(copyChunk, k.c(chunkElements)));
    std::string kOk = x.lt(k0, g.k);
    for (int64_t operand = 0; operand < 2; ++operand) {
      const std::string &src = operand ? g.b : g.a;
      const std::string &bound = operand ? g.n : g.m;
      const std::string &first = operand ? g.col0 : g.row0;
      const std::string &offset = operand ? g.bOffset : g.aOffset;
      int64_t rows = operand ? tileN : S::tileM;
      for (int64_t r = 0; r < rows / rowStep; ++r) {
        std::string tileRow = x.add(copyRow, k.c(r * rowStep));
        std::string outer = x.add(first, tileRow);
        std::string ok = x.both(x.lt(outer, bound), kOk);
        std::string at = x.add(x.add(x.mul(outer, g.k), k0), offset);
        k.def("nvgpu.device_async_copy " + src + "[" +
              x.select(ok, at, k.c(0)) + "], " + tiles + "[" + stage + ", " +
              (operand ? x.add(tileRow, k.c(S::tileM)) : tileRow) + ", " +
              copyColumn + "], " + std::to_string(chunkElements) + ", " +
              x.select(ok, k.c(chunkElements), k.c(0)) +
              " {bypassL1} : " + gType +
              " to " + tilesType);
      }
    }
    k.line("nvvm.cp.async.commit.group");
  };

  // Matrix descriptors: bits 0-13 start address >> 4, 16-29 leading byte
  // offset >> 4 (unused by swizzled K-major layouts: 1), 32-45 stride byte
  // offset >> 4 (1024 bytes between 8-row groups), 62-63 swizzle (1: 128B).
  std::string base = k.def(
      "arith.index_cast " +
      k.def("memref.extract_aligned_pointer_as_index " + tiles + " : " +
            tilesType + " -> index") +
      " : index to i64");
  std::string fields =
      k.ci((int64_t(1) << 16) | (int64_t(1024 >> 4) << 32) | (int64_t(1) << 62),
           "i64");
  std::string baseDescriptor = k.def(
      "arith.ori " +
      k.def("arith.shrui " +
            k.def("arith.andi " + base + ", " + k.ci(0x3FFFF, "i64") +
                  " : i64") +
            ", " + k.ci(4, "i64") + " : i64") +
      ", " + fields + " : i64");
  // This warpgroup's A slab starts 64 rows (8 KB) into the A tile.
  std::string wgOffset = k.def(
      "arith.index_cast " + x.mul(warpgroup, k.c(64 * 128 >> 4)) +
      " : index to i64");
  auto descriptor = [&](const std::string &stageOffset, int64_t operand,
                        int64_t kStep) {
    int64_t fixed = (operand * S::tileM * S::tileK * 2 + kStep * 32) >> 4;
    std::string d = k.def("arith.addi " + baseDescriptor + ", " +
                          stageOffset + " : i64");
    if (operand == 0)
      d = k.def("arith.addi " + d + ", " + wgOffset + " : i64");
    return k.def("arith.addi " + d + ", " + k.ci(fixed, "i64") + " : i64");
  };

  std::string accType = structType(accumulators, "f32");

  std::string slices = k.def("arith.ceildivui " + g.k + ", " +
                             k.c(sliceK) + " : index");
  // Copies run `ahead` slices ahead; the stage they overwrite was read by
  // the wgmma of slice kt - 1 - mmasInFlight, complete in every warpgroup
  // once past the barrier.
  const int64_t ahead = stages - 1 - S::mmasInFlight;
  for (int64_t s = 0; s < ahead; ++s)
    issueCopies(k.c(s), k.c(s));
  // The loop runs over runs of `run` slices (1 unless promoted; a partial
  // last run reads zero-filled slices past K). Promoted: each run sums into
  // fresh accumulators, added to the running f32 sums once complete (the
  // tensor cores' own fp8 accumulation keeps fewer bits).
  const int64_t run = promote ? promoteSlices : 1;
  std::string runs =
      run == 1 ? slices
               : k.def("arith.ceildivui " + slices + ", " + k.c(run) +
                       " : index");
  std::string r = k.fresh(), accIn = k.fresh(), result = k.fresh();
  std::string zero = k.def("llvm.mlir.zero : " + accType);
  k.line(result + " = scf.for " + r + " = " + k.c(0) + " to " + runs +
         " step " + k.c(1) + " iter_args(" + accIn + " = " + zero + ") -> (" +
         accType + ") {");
  std::string acc = promote ? zero : accIn;
  for (int64_t j = 0; j < run; ++j) {
    std::string kt = x.add(x.mul(r, k.c(run)), k.c(j));
    k.line("nvvm.cp.async.wait.group " + std::to_string(ahead - 1));
    k.line("nvvm.fence.proxy {kind = #nvvm.proxy_kind<async.shared>, space "
           "= #nvvm.shared_space<cta>}");
    k.line("gpu.barrier");
    std::string next = x.add(kt, k.c(ahead));
    issueCopies(x.rem(next, stages), next);
    std::string stage = x.rem(kt, stages);
    std::string stageOffset = k.def(
        "arith.index_cast " + x.mul(stage, k.c(stageBytes >> 4)) +
        " : index to i64");
    k.line("nvvm.wgmma.fence.aligned");
    for (int64_t kStep = 0; kStep < sliceK / mmaK; ++kStep)
      acc = k.def("nvvm.wgmma.mma_async " +
                  descriptor(stageOffset, 0, kStep) + ", " +
                  descriptor(stageOffset, 1, kStep) + ", " + acc +
                  ", #nvvm.shape<m = 64, n = " + std::to_string(tileN) +
                  ", k = " + std::to_string(mmaK) +
                  ">, D[<f32>, <one>, <wrapped>], A[<" + mmaType +
                  ">, <one>, <row>], B[<" + mmaType + ">, <one>, <col>] : " +
                  accType + " -> " + accType);
    k.line("nvvm.wgmma.commit.group.sync.aligned");
    bool promoteNow = promote && j == run - 1;
    k.line("nvvm.wgmma.wait.group.sync.aligned " +
           std::to_string(promoteNow ? 0 : S::mmasInFlight));
    if (promoteNow) {
      std::string sum = accIn;
      for (int64_t i = 0; i < accumulators; ++i) {
        std::string at = "[" + std::to_string(i) + "] : " + accType;
        std::string total = k.def(
            "arith.addf " + k.def("llvm.extractvalue " + accIn + at) + ", " +
            k.def("llvm.extractvalue " + acc + at) + " : f32");
        sum = k.def("llvm.insertvalue " + total + ", " + sum + at);
      }
      acc = sum;
    }
  }
  k.line("scf.yield " + acc + " : " + accType);
  k.line("}");
  k.line("nvvm.wgmma.wait.group.sync.aligned 0");
  k.line("nvvm.cp.async.wait.group 0");

  std::string rowBase =
      x.add(x.add(g.row0, x.mul(warpgroup, k.c(64))),
            x.add(x.mul(warp, k.c(16)), x.div(lane, 4)));
  std::string colBase = x.add(g.col0, x.mul(x.rem(lane, 4), k.c(2)));
  auto value = [&](int64_t i) {
    return k.def("llvm.extractvalue " + result + "[" + std::to_string(i) +
                 "] : " + accType);
  };
  for (int64_t nt = 0; nt < tileN / 8; ++nt)
    for (int64_t half = 0; half < 2; ++half)
      storeAccumulatorPair(k, g, nEven,
                           x.add(rowBase, k.c(8 * half)),
                           x.add(colBase, k.c(8 * nt)),
                           value(4 * nt + 2 * half),
                           value(4 * nt + 2 * half + 1));
  return e.kernel(!fp8      ? "wgmma_gemm"
                  : promote ? "wgmma_gemm_f8"
                            : "wgmma_gemm_f8_fast",
                  k.str("KERNEL"),
                  op->getLoc());
}

} // namespace kopt::gpu
