//===- DecodeAttentionKernel.cpp - Split-KV decode attention --------------===//
//
// Decode reads every cached key and value once and does little arithmetic
// with each, so the kernel is built for bandwidth: a block owns a split of
// the keys of one (batch, kv head) and up to 8 query rows that share that
// kv head (GQA: the grouped heads of every query), so each key and value is
// read once for all of them. A key row is split into 16-byte chunks, a lane
// per chunk (lanes per key rounded up to a power of two), so one load per
// lane fetches a key and a warp covers 32 / lanes keys per step; an
// iteration takes four steps, its keys and values copied by cp.async into
// the warp's shared-memory stages three iterations ahead. Scores reduce over
// the key's lanes with xor shuffles; each lane keeps an online softmax per row
// (exp2 domain) for the keys of its slot. At the end the slots of a warp merge
// through shuffles, the warps of the block through shared memory, and the block
// writes its split's (max, sum, accumulator) for the combine kernel, or,
// over a static number of splits, the block finishing last combines them
// (combineInLastBlock). Key
// bounds (kv_len, causal, window) become loop bounds per block and masks
// per row, so a split outside every row's range costs one bounds check.
//
// With 16-bit K/V, D = 64 or 128 and several query heads per kv head, the
// dot products run on the tensor cores instead (mmaLoopAndPublish): the
// block's rows are the M of m16n8k16 products over 16-key steps, with the
// FlashAttention online softmax on the accumulators; fewer instructions
// per key let each warp walk 256 keys, so a split is 1024 keys.
//
//===----------------------------------------------------------------------===//

#include "DecodeAttentionKernel.h"

#include "AttentionBounds.h"
#include "KernelText.h"
#include "MmaText.h"
#include "OnlineSoftmax.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/MathExtras.h"

#include <cmath>

using namespace mlir;

namespace kopt::gpu {
namespace {

using S = DecodeAttentionShape;
constexpr int64_t kUnroll = S::steps;
/// Shared-memory stages per warp (iterations in flight + the one in use).
constexpr int64_t kStages = S::stages;

int64_t chunkElements(llvm::StringRef t) { return t == "f32" ? 4 : 8; }

/// A fence ordering this thread's memory accesses (and, after a barrier,
/// its block's) before and after it for the whole GPU.
void gpuFence(KernelText &k) {
  k.line("llvm.inline_asm has_side_effects asm_dialect = att "
         "\"fence.acq_rel.gpu;\", \"~{memory}\" : () -> ()");
}

/// `buffer`[at] (f32) read from L2, past this SM's L1, which may hold
/// lines other blocks have since written.
std::string loadFromL2(KernelText &k, IndexOps &x, const std::string &buffer,
                       const std::string &at) {
  std::string base = k.def("memref.extract_aligned_pointer_as_index " +
                           buffer + " : memref<?xf32> -> index");
  std::string address = k.def("arith.index_cast " +
                              x.add(base, x.mul(at, k.c(4))) +
                              " : index to i64");
  return k.def("llvm.inline_asm has_side_effects asm_dialect = att "
               "\"ld.global.cg.f32 $0, [$1];\", \"=f,l\" " +
               address + " : (i64) -> f32");
}

/// Opens a loop giving each thread the (block row r, dim) outputs it owns
/// whose row exists: `scf.for` over rows x d, then `scf.if`; the caller
/// closes both. Returns r, dim and the output row.
template <typename OutputRow>
std::tuple<std::string, std::string, std::string>
openOutputLoop(KernelText &k, IndexOps &x, const std::string &tid,
               int64_t rows, int64_t d, OutputRow outputRow) {
  std::string idx = k.fresh();
  k.line("scf.for " + idx + " = " + tid + " to " + k.c(rows * d) + " step " +
         k.c(S::threads) + " {");
  std::string r = x.div(idx, d), dim = x.rem(idx, d);
  auto [row, ok, i] = outputRow(r);
  (void)i;
  k.line("scf.if " + ok + " {");
  return {r, dim, row};
}

/// After the block's partials are stored: the block that finishes its
/// (row group, batch x kv head) column last (a counter per column, which
/// it resets for the next call) combines every split's partials into
/// `out`, as the combine kernel would: per row, split weights
/// exp(m_s - M) / sum_s l_s exp(m_s - M) in shared memory, then each output
/// the weighted sum of the splits' accumulators.
template <typename OutputRow>
void combineInLastBlock(KernelText &k, IndexOps &x, const std::string &out,
                        const std::string &partMax, const std::string &partSum,
                        const std::string &partAcc,
                        const std::string &counters, const std::string &tid,
                        const std::string &rowGroup, const std::string &bkv,
                        const std::string &splits, const std::string &totalRows,
                        OutputRow outputRow, const std::string &t, int64_t d,
                        int64_t rows, int64_t splitCount) {
  std::string flag = k.shared("last_block", "1xi32");
  std::string flagType = "memref<1xi32, #gpu.address_space<workgroup>>";
  // The split weights reuse the start of the (1024-byte aligned) dynamic
  // shared memory, whose key and value stages are done with: LLVM pairs
  // adjacent stores into 8-byte ones that a 4-byte aligned static array
  // would not honour.
  std::string weightsType = "memref<" + std::to_string(rows) + "x" +
                            std::to_string(splitCount) +
                            "xf32, #gpu.address_space<workgroup>>";
  const std::string bytesType = "memref<?xi8, #gpu.address_space<workgroup>>";
  std::string weights = k.def(
      "memref.view " +
      k.def("gpu.dynamic_shared_memory : " + bytesType) + "[" + k.c(0) +
      "][] : " + bytesType + " to " + weightsType);
  std::string zero = k.ci(0, "i32");
  k.line("gpu.barrier");
  std::string first =
      k.def("arith.cmpi eq, " + tid + ", " + k.c(0) + " : index");
  k.line("scf.if " + first + " {");
  gpuFence(k);
  std::string rowGroups = x.div(x.add(totalRows, k.c(rows - 1)), rows);
  std::string column = x.add(x.mul(bkv, rowGroups), rowGroup);
  std::string before =
      k.def("memref.atomic_rmw addi " + k.ci(1, "i32") + ", " + counters +
            "[" + column + "] : (i32, memref<?xi32>) -> i32");
  std::string lastSplit =
      k.def("arith.index_cast " + x.bin("arith.subi", splits, k.c(1)) +
            " : index to i32");
  std::string isLast =
      k.def("arith.cmpi eq, " + before + ", " + lastSplit + " : i32");
  k.line("scf.if " + isLast + " {");
  k.line("memref.store " + zero + ", " + counters + "[" + column +
         "] : memref<?xi32>");
  k.line("}");
  gpuFence(k);
  k.line("memref.store " + k.def("arith.extui " + isLast + " : i1 to i32") +
         ", " + flag + "[" + k.c(0) + "] : " + flagType);
  k.line("}");
  k.line("gpu.barrier");
  std::string last = k.def(
      "arith.cmpi ne, " +
      k.def("memref.load " + flag + "[" + k.c(0) + "] : " + flagType) + ", " +
      zero + " : i32");
  k.line("scf.if " + last + " {");
  // Split weights, a thread per row.
  k.line("scf.if " + x.lt(tid, k.c(rows)) + " {");
  {
    auto [row, ok, i] = outputRow(tid);
    (void)i;
    k.line("scf.if " + ok + " {");
    std::string firstPart = x.mul(row, splits);
    SmallVector<std::string> maxes, sums;
    std::string top = k.f(-INFINITY);
    for (int64_t s = 0; s < splitCount; ++s) {
      std::string at = x.add(firstPart, k.c(s));
      maxes.push_back(loadFromL2(k, x, partMax, at));
      sums.push_back(loadFromL2(k, x, partSum, at));
      top = k.def("arith.maximumf " + top + ", " + maxes.back() + " : f32");
    }
    std::string safe = k.def(
        "arith.select " +
        k.def("arith.cmpf oeq, " + top + ", " + k.f(-INFINITY) + " : f32") +
        ", " + k.f(0.0) + ", " + top + " : f32");
    SmallVector<std::string> scales;
    std::string total = k.f(0.0);
    for (int64_t s = 0; s < splitCount; ++s) {
      scales.push_back(k.def(
          "math.exp " +
          k.def("arith.subf " + maxes[s] + ", " + safe + " : f32") + " : f32"));
      total = k.def("math.fma " + sums[s] + ", " + scales[s] + ", " + total +
                    " : f32");
    }
    std::string denom = k.def(
        "arith.select " +
        k.def("arith.cmpf oeq, " + total + ", " + k.f(0.0) + " : f32") + ", " +
        k.f(1.0) + ", " + total + " : f32");
    for (int64_t s = 0; s < splitCount; ++s)
      k.line("memref.store " +
             k.def("arith.divf " + scales[s] + ", " + denom + " : f32") +
             ", " + weights + "[" + tid + ", " + k.c(s) + "] : " +
             weightsType);
    k.line("}");
  }
  k.line("}");
  k.line("gpu.barrier");
  // Outputs, a thread per (row, dim).
  auto [r, dim, row] = openOutputLoop(k, x, tid, rows, d, outputRow);
  std::string value = k.f(0.0);
  std::string firstPart = x.mul(row, splits);
  for (int64_t s = 0; s < splitCount; ++s) {
    std::string part = x.add(firstPart, k.c(s));
    std::string acc =
        loadFromL2(k, x, partAcc, x.add(x.mul(part, k.c(d)), dim));
    std::string w = k.def("memref.load " + weights + "[" + r + ", " +
                          k.c(s) + "] : " + weightsType);
    value = k.def("math.fma " + acc + ", " + w + ", " + value + " : f32");
  }
  k.line("memref.store " + k.convert(value, "f32", t) + ", " + out + "[" +
         x.add(x.mul(row, k.c(d)), dim) + "] : memref<?x" + t + ">");
  k.line("}");
  k.line("}");
  k.line("}");
}

} // namespace

bool decodeAttentionApplies(llvm::StringRef t, int64_t d) {
  if (t != "f32" && t != "f16" && t != "bf16")
    return false;
  int64_t vec = chunkElements(t);
  return d % vec == 0 && d / vec <= 32;
}

bool decodeAttentionUsesMma(const GpuTarget &target, llvm::StringRef t,
                            int64_t d, int64_t group) {
  return target.hasCpAsync && tensorCoreHeadDim(t, d) && group > 1;
}

FailureOr<std::string> decodeAttentionKernel(FunctionEmitter &e, AttentionOp op,
                                             const std::string &t,
                                             const std::string &lt, int64_t hq,
                                             int64_t hkv, int64_t d,
                                             double scale,
                                             DecodeAttentionOutput output,
                                             int64_t combinedSplits,
                                             int64_t warpKeys) {
  const bool direct = output == DecodeAttentionOutput::Direct;
  const bool combines = output == DecodeAttentionOutput::LastBlockCombines;
  KernelText k(S::threads);
  IndexOps x{k};
  const int64_t vec = chunkElements(t), chunks = d / vec;
  const int64_t lanesPerKey = llvm::PowerOf2Ceil(chunks);
  const int64_t keysPerStep = 32 / lanesPerKey;
  const int64_t group = hq / hkv, rows = S::rows(group);
  const bool useMma = decodeAttentionUsesMma(e.target(), t, d, group);
  const std::string vt = "vector<" + std::to_string(vec) + "x" + t + ">";
  const std::string vf = "vector<" + std::to_string(vec) + "xf32>";
  const std::string gType = "memref<?x" + t + ">";
  const std::string align = "{alignment = 16 : i64}";

  std::string out, partMax, partSum, partAcc, counters;
  if (direct || combines)
    out = k.buffer("out", t);
  if (!direct) {
    partMax = k.buffer("part_max", "f32");
    partSum = k.buffer("part_sum", "f32");
    partAcc = k.buffer("part_acc", "f32");
  }
  if (combines)
    counters = k.buffer("counters", "i32");
  std::string q = k.buffer("q", t), kk = k.buffer("k", t), v = k.buffer("v", t);
  std::string kvLen = op.getKvLen() ? k.buffer("kv_len", lt) : "";
  std::string status = k.buffer("status", "i64");
  std::string sq = k.index("sq"), skv = k.index("skv"),
              splits = k.index("splits");
  std::string rowsText = std::to_string(rows);
  std::string ms =
      k.shared("ms", std::to_string(S::warps) + "x" + rowsText + "xf32");
  std::string ls =
      k.shared("ls", std::to_string(S::warps) + "x" + rowsText + "xf32");
  std::string accs =
      k.shared("accs", std::to_string(S::warps) + "x" + rowsText + "x" +
                           std::to_string(d) + "xf32");
  std::string sharedRows = "memref<" + std::to_string(S::warps) + "x" +
                           rowsText + "xf32, #gpu.address_space<workgroup>>";
  std::string sharedAcc = "memref<" + std::to_string(S::warps) + "x" +
                          rowsText + "x" + std::to_string(d) +
                          "xf32, #gpu.address_space<workgroup>>";

  std::string split = k.bid('x'), rowGroup = k.bid('y'), bkv = k.bid('z');
  std::string b = x.div(bkv, hkv), kvh = x.rem(bkv, hkv);
  std::string tid = k.tid();
  std::string lane = x.rem(tid, 32), warp = x.div(tid, 32);
  std::string slot = x.div(lane, lanesPerKey), chunk = x.rem(lane, lanesPerKey);
  std::string chunkOk = chunks == lanesPerKey ? k.def("arith.constant true")
                                              : x.lt(chunk, k.c(chunks));
  std::string dOff = x.mul(x.select(chunkOk, chunk, k.c(0)), k.c(vec));

  std::string len64 = visibleLength(k, e, op, kvLen, lt, b, skv, status);
  std::string sq64 = k.def("arith.index_cast " + sq + " : index to i64");
  std::string shift = k.def("arith.subi " + len64 + ", " + sq64 + " : i64");
  std::string totalRows = x.mul(sq, k.c(group));
  std::string firstRow = x.mul(rowGroup, k.c(rows));

  // The output row ((b * Sq + i) * Hq + h) of block row `r` (index), with
  // whether it exists.
  auto outputRow = [&](const std::string &r) {
    std::string rr = x.add(firstRow, r);
    std::string ok = x.lt(rr, totalRows);
    std::string safe = x.select(ok, rr, k.c(0));
    std::string i = x.div(safe, group);
    std::string h = x.add(x.mul(kvh, k.c(group)), x.rem(safe, group));
    std::string row = x.add(x.mul(x.add(x.mul(b, sq), i), k.c(hq)), h);
    return std::make_tuple(row, ok, i);
  };

  // Per row: visible keys [lo, hi) (empty rows: [big, 0)) and the lane's
  // query chunk, pre-scaled into the exp2 domain.
  double log2e = 1.4426950408889634;
  std::string qScale =
      k.def("vector.broadcast " + k.f(scale * log2e) + " : f32 to " + vf);
  std::string zeroVec = k.def("arith.constant dense<0.0> : " + vf);
  // Visible keys [lo, hi) of block row `r` (index; empty, or a row that
  // does not exist or `exists` (i1) denies: [big, 0)), with its output row.
  auto rowBounds = [&](const std::string &r, const std::string &exists) {
    auto [row, ok, i] = outputRow(r);
    if (!exists.empty())
      ok = x.both(ok, exists);
    std::string p =
        k.def("arith.addi " + shift + ", " +
              k.def("arith.index_cast " + i + " : index to i64") + " : i64");
    auto [lo64, hi64] = visibleKeys(k, op, len64, p);
    std::string empty =
        k.def("arith.ori " +
              k.def("arith.xori " + ok + ", " + k.def("arith.constant true") +
                    " : i1") +
              ", " + k.def("arith.cmpi sle, " + hi64 + ", " + lo64 + " : i64") +
              " : i1");
    std::string lo =
        k.def("arith.index_cast " +
              k.def("arith.select " + empty + ", " +
                    k.ci(int64_t(1) << 40, "i64") + ", " + lo64 + " : i64") +
              " : i64 to index");
    std::string hi = k.def("arith.index_cast " +
                           k.def("arith.select " + empty + ", " +
                                 k.ci(0, "i64") + ", " + hi64 + " : i64") +
                           " : i64 to index");
    return std::make_tuple(lo, hi, row, ok);
  };
  SmallVector<SmallVector<std::string>> qs(rows);
  std::string blockLo, blockHi;
  for (int64_t r = 0; r < rows; ++r) {
    auto [lo, hi, row, ok] = rowBounds(k.c(r), "");
    blockLo = r == 0 ? lo : x.bin("arith.minui", blockLo, lo);
    blockHi = r == 0 ? hi : x.bin("arith.maxui", blockHi, hi);
    std::string qv =
        k.def("vector.load " + q + "[" + x.add(x.mul(row, k.c(d)), dOff) +
              "] " + align + " : " + gType + ", " + vt);
    if (t != "f32")
      qv = k.def("arith.extf " + qv + " : " + vt + " to " + vf);
    qv = k.def("arith.mulf " + qv + ", " + qScale + " : " + vf);
    qv = k.def("arith.select " + x.both(ok, chunkOk) + ", " + qv + ", " +
               zeroVec + " : " + vf);
    for (int64_t c = 0; c < vec; ++c)
      qs[r].push_back(k.def("vector.extract " + qv + "[" + std::to_string(c) +
                            "] : f32 from " + vf));
  }

  // This warp's keys: its slice of the split, within the rows' union.
  std::string sliceLo = x.add(x.mul(split, k.c(S::warps * warpKeys)),
                              x.mul(warp, k.c(warpKeys)));
  std::string sliceHi = x.add(sliceLo, k.c(warpKeys));
  std::string lo = x.bin("arith.maxui", blockLo, sliceLo);
  std::string hi = x.bin("arith.minui", blockHi, sliceHi);
  hi = x.bin("arith.maxui", hi, lo);
  // Element offset of key j: (b * Skv + j) * Hkv * D + kvh * D + dOff.
  std::string keyStride = k.c(hkv * d);
  std::string base =
      x.add(x.add(x.mul(x.mul(b, skv), keyStride), x.mul(kvh, k.c(d))), dOff);

  std::string minusInf = k.f(-INFINITY);
  // A running max that is still -inf (nothing visible) as 0, so that
  // exponents stay finite (exp2(-inf - 0) = 0).
  auto finiteOrZero = [&](const std::string &m) {
    return k.def("arith.select " +
                 k.def("arith.cmpf oeq, " + m + ", " + minusInf + " : f32") +
                 ", " + k.f(0.0) + ", " + m + " : f32");
  };
  // The key and value stages: the two halves of the dynamic shared memory
  // as `stageType`.
  auto stageViews = [&](const std::string &stageType) {
    const std::string bytesType = "memref<?xi8, #gpu.address_space<workgroup>>";
    std::string dynamic = k.def("gpu.dynamic_shared_memory : " + bytesType);
    auto view = [&](int64_t offset) {
      return k.def("memref.view " + dynamic + "[" + k.c(offset) +
                   "][] : " + bytesType + " to " + stageType);
    };
    return std::make_pair(view(0), view(S::sharedBytes(useMma, d) / 2));
  };
  // Tensor-core dots: the block's rows, padded to 16, are the M of
  // m16n8k16 products over 16-key steps, S = Q K^T with Q fragments held in
  // registers and K read by ldmatrix, O += P V with P re-packed from the S
  // accumulators and V read transposed; the FlashAttention online softmax
  // (OnlineSoftmax.h) runs on the accumulators. Keys and values travel by
  // cp.async through per-warp stages, rows of D in the 128-byte swizzle.
  auto mmaLoopAndPublish = [&]() {
    const int64_t keys = S::mmaKeys, stages = S::mmaStages;
    const int64_t kSteps = d / 16, dTiles = d / 8, chunksPerRow = d / 8;
    const int64_t keyStep = 32 / chunksPerRow;
    std::string l8 = x.rem(lane, 8), hiHalf = x.div(lane, 16);
    std::string mid = x.rem(x.div(lane, 8), 2);
    std::string quadRow = x.div(lane, 4);
    std::string quadCol = x.mul(x.rem(lane, 4), k.c(2));
    std::string operandType = t == "bf16" ? "i32" : "vector<2x" + t + ">";
    std::string pairType = "vector<2x" + t + ">";
    std::string zeroPair = k.def("arith.constant dense<0.0> : " + pairType);
    auto toI64 = [&](const std::string &value) {
      return k.def("arith.index_cast " + value + " : index to i64");
    };
    // The thread's rows quadRow and quadRow + 8: visible keys within the
    // warp's [lo, hi), and Q fragments (zero for padding rows).
    std::array<std::string, 2> rowLo, rowHi, qAt, qOk;
    for (int r = 0; r < 2; ++r) {
      std::string blockRow = x.add(quadRow, k.c(8 * r));
      auto [rLo, rHi, row, ok] = rowBounds(blockRow, x.lt(blockRow, k.c(rows)));
      rowLo[r] = toI64(x.bin("arith.maxui", rLo, lo));
      rowHi[r] = toI64(x.bin("arith.minui", rHi, hi));
      qAt[r] = x.add(x.mul(row, k.c(d)), quadCol);
      qOk[r] = ok;
    }
    std::vector<std::vector<std::string>> qFrag(kSteps);
    for (int64_t s = 0; s < kSteps; ++s)
      for (int64_t half = 0; half < 2; ++half)
        for (int r = 0; r < 2; ++r) {
          std::string pair = k.def(
              "vector.load " + q + "[" + x.add(qAt[r], k.c(16 * s + 8 * half)) +
              "] {alignment = 4 : i64} : " + gType + ", " + pairType);
          pair = k.def("arith.select " + qOk[r] + ", " + pair + ", " +
                       zeroPair + " : " + pairType);
          if (t == "bf16")
            pair = k.def("vector.extract " +
                         k.def("vector.bitcast " + pair +
                               " : vector<2xbf16> to vector<1xi32>") +
                         "[0] : i32 from vector<1xi32>");
          qFrag[s].push_back(pair);
        }

    const std::string stageType =
        "memref<" + std::to_string(stages) + "x" + std::to_string(S::warps) +
        "x" + std::to_string(keys) + "x" + std::to_string(d) + "x" + t +
        ", #gpu.address_space<workgroup>>";
    auto [kStage, vStage] = stageViews(stageType);
    // Lane l copies chunk l % (D / 8) of keys l / (D / 8) + r * keyStep.
    std::string copyKey = x.div(lane, chunksPerRow);
    std::string copyChunk = x.rem(lane, chunksPerRow);
    std::string kvBase =
        x.add(x.add(x.mul(x.mul(b, skv), keyStride), x.mul(kvh, k.c(d))),
              x.mul(copyChunk, k.c(8)));
    auto issueCopies = [&](const std::string &start, const std::string &stage) {
      for (int64_t r = 0; r < keys / keyStep; ++r) {
        std::string tileKey = x.add(copyKey, k.c(r * keyStep));
        std::string key = x.add(start, tileKey);
        std::string ok = x.lt(key, hi);
        std::string at =
            x.add(kvBase, x.mul(x.select(ok, key, k.c(0)), keyStride));
        std::string count = x.select(ok, k.c(8), k.c(0));
        for (auto [src, dst] : {std::pair(kk, kStage), std::pair(v, vStage)})
          k.def("nvgpu.device_async_copy " + src + "[" + at + "], " + dst +
                "[" + stage + ", " + warp + ", " + tileKey + ", " +
                x.swizzle128(tileKey, copyChunk) + "], 8, " + count +
                " {bypassL1} : " + gType + " to " + stageType);
      }
      k.line("nvvm.cp.async.commit.group");
    };

    // Loop state: max and partial sum of the two rows, O [dTiles][4].
    std::vector<std::string> init = {k.f(-INFINITY), k.f(-INFINITY)};
    init.resize(4 + dTiles * 4, k.f(0.0));
    for (int64_t s = 0; s + 1 < stages; ++s)
      issueCopies(x.add(lo, k.c(s * keys)), k.c(s));
    CarriedLoop loop = openCarriedLoop(k, lo, hi, k.c(keys), init);
    const std::string &jt = loop.iv;
    const std::vector<std::string> &state = loop.carried;
    std::string it = x.div(x.bin("arith.subi", jt, lo), keys);
    // Every lane is done reading the stage the copies overwrite.
    k.line("nvvm.bar.warp.sync " + k.ci(-1, "i32") + " : i32");
    issueCopies(x.add(jt, k.c((stages - 1) * keys)),
                x.rem(x.add(it, k.c(stages - 1)), stages));
    k.line("nvvm.cp.async.wait.group " + std::to_string(stages - 1));
    // ldmatrix reads chunks other lanes copied.
    k.line("nvvm.bar.warp.sync " + k.ci(-1, "i32") + " : i32");
    std::string stage = x.rem(it, stages);
    std::string fragType = "vector<4x2x" + t + ">";
    ScoreTile scores(2);
    for (auto &tile : scores)
      for (auto &value : tile)
        value = k.f(0.0);
    std::string key = x.add(l8, x.mul(hiHalf, k.c(8)));
    for (int64_t s = 0; s < kSteps; ++s) {
      std::vector<std::string> kf = mmaOperands(
          k,
          k.def("nvgpu.ldmatrix " + kStage + "[" + stage + ", " + warp + ", " +
                key + ", " + x.swizzle128(l8, x.add(k.c(2 * s), mid)) +
                "] {numTiles = 4 : i32, transpose = false} : " + stageType +
                " -> " + fragType),
          t);
      for (int64_t half = 0; half < 2; ++half) {
        auto &c = scores[half];
        c = mmaSync(k, t, qFrag[s], {kf[2 * half], kf[2 * half + 1]},
                    {c[0], c[1], c[2], c[3]});
      }
    }
    SoftmaxStep step = onlineSoftmaxStep(
        k, scores, jt, quadCol, rowLo, rowHi,
        {{{state[0], state[1]}}, {{state[2], state[3]}}}, scale);
    std::vector<std::string> o(dTiles * 4);
    for (int64_t i = 0; i < dTiles * 4; ++i)
      o[i] = k.def("arith.mulf " + state[4 + i] + ", " +
                   step.alpha[(i % 4) / 2] + " : f32");
    std::vector<std::string> p = {mmaPack(k, scores[0][0], scores[0][1], t),
                                  mmaPack(k, scores[0][2], scores[0][3], t),
                                  mmaPack(k, scores[1][0], scores[1][1], t),
                                  mmaPack(k, scores[1][2], scores[1][3], t)};
    std::string valueRow = x.add(x.mul(mid, k.c(8)), l8);
    mmaAccumulatePV(
        k, t, p, d,
        [&](int64_t dp) {
          return k.def(
              "nvgpu.ldmatrix " + vStage + "[" + stage + ", " + warp + ", " +
              valueRow + ", " + x.swizzle128(l8, x.add(k.c(2 * dp), hiHalf)) +
              "] {numTiles = 4 : i32, transpose = true} : " + stageType +
              " -> " + fragType);
        },
        o);
    std::vector<std::string> yields = {step.state.max[0], step.state.max[1],
                                       step.state.sum[0], step.state.sum[1]};
    yields.insert(yields.end(), o.begin(), o.end());
    closeCarriedLoop(k, yields);
    k.line("nvvm.cp.async.wait.group 0");

    // Publish the warp's rows: max, the quad's summed partial sums, O.
    std::string quadLeader =
        k.def("arith.cmpi eq, " + x.rem(lane, 4) + ", " + k.c(0) + " : index");
    for (int r = 0; r < 2; ++r) {
      std::string sum = loop.result(2 + r);
      for (int offset = 1; offset <= 2; offset *= 2)
        sum = k.def("arith.addf " + sum + ", " + k.shuffleXor(sum, offset) +
                    " : f32");
      std::string blockRow = x.add(quadRow, k.c(8 * r));
      k.line("scf.if " + x.lt(blockRow, k.c(rows)) + " {");
      k.line("scf.if " + quadLeader + " {");
      k.line("memref.store " + loop.result(r) + ", " + ms + "[" + warp + ", " +
             blockRow + "] : " + sharedRows);
      k.line("memref.store " + sum + ", " + ls + "[" + warp + ", " + blockRow +
             "] : " + sharedRows);
      k.line("}");
      for (int64_t nt = 0; nt < dTiles; ++nt)
        for (int64_t i = 0; i < 2; ++i)
          k.line("memref.store " + loop.result(4 + 4 * nt + 2 * r + i) + ", " +
                 accs + "[" + warp + ", " + blockRow + ", " +
                 x.add(quadCol, k.c(8 * nt + i)) + "] : " + sharedAcc);
      k.line("}");
    }
  };

  if (useMma) {
    mmaLoopAndPublish();
  } else {
    // Scores: every lane holds partial dots of all (row, step) pairs; a
    // transposed butterfly over the key's lanes (each exchange sends half the
    // values) leaves each lane `owned` complete scores, pair
    // base + o for o < owned. Owners keep the online softmax of their pairs
    // (the steps of a row share one running max), and shuffle each pair's
    // probability to the lanes that accumulate values.
    const int64_t pairs = rows * kUnroll;
    const int64_t paddedPairs = llvm::PowerOf2Ceil(pairs);
    const int64_t owned = std::max<int64_t>(paddedPairs / lanesPerKey, 1);
    // log2 of pairs per lane before the reduction over lanes per key
    // (negative: several lanes own one pair).
    const int64_t ownedShift = int64_t(llvm::Log2_64(paddedPairs)) -
                               int64_t(llvm::Log2_64(lanesPerKey));
    const int64_t stepBits = llvm::Log2_64(kUnroll);
    // The lane within the key group owning pair `pair` (its register: pair %
    // owned).
    auto ownerOf = [&](int64_t pair) {
      return ownedShift >= 0 ? pair / owned : pair << -ownedShift;
    };
    std::string pairBase = ownedShift >= 0
                               ? x.mul(chunk, k.c(owned))
                               : x.div(chunk, int64_t(1) << -ownedShift);
    std::string groupLane0 = x.mul(slot, k.c(lanesPerKey));
    SmallVector<std::string> ownStep(owned), ownLo(owned), ownHi(owned);
    for (int64_t o = 0; o < owned; ++o) {
      std::string pair = x.add(pairBase, k.c(o));
      ownStep[o] = x.rem(pair, kUnroll);
      auto [lo, hi, row, ok] =
          rowBounds(x.div(pair, kUnroll), x.lt(pair, k.c(pairs)));
      (void)row;
      (void)ok;
      ownLo[o] = lo;
      ownHi[o] = hi;
    }
    // Whether the lane is the upper half of each butterfly exchange.
    SmallVector<std::string> upper(lanesPerKey);
    for (int64_t off = lanesPerKey / 2; off >= 1; off /= 2)
      upper[off] =
          k.def("arith.cmpi ne, " + x.bin("arith.andi", lane, k.c(off)) + ", " +
                k.c(0) + " : index");
    // Combines each owned value over the steps of its row (`combine`:
    // arith.maximumf / arith.addf): registers, then lanes.
    auto overSteps = [&](SmallVector<std::string> values,
                         llvm::StringRef combine) {
      for (int64_t bit = 0; bit < stepBits; ++bit) {
        SmallVector<std::string> next(values.size());
        for (int64_t o = 0; o < owned; ++o) {
          std::string other =
              bit < ownedShift
                  ? values[o ^ (int64_t(1) << bit)]
                  : k.shuffleXor(values[o],
                                 int(int64_t(1) << (bit - ownedShift)));
          next[o] = k.def(combine + " " + values[o] + ", " + other + " : f32");
        }
        values = next;
      }
      return values;
    };

    // Loop state: running max and sum per owned pair, accumulator chunks.
    std::string j = k.fresh(), res = k.fresh();
    SmallVector<std::string> m(owned), l(owned);
    SmallVector<SmallVector<std::string>> acc(rows);
    std::string iter, types;
    auto addIter = [&](std::string &name, const std::string &init) {
      name = k.fresh();
      iter += (iter.empty() ? "" : ", ") + name + " = " + init;
      types += types.empty() ? "f32" : ", f32";
    };
    for (int64_t o = 0; o < owned; ++o) {
      addIter(m[o], k.f(-INFINITY));
      addIter(l[o], k.f(0.0));
    }
    for (int64_t r = 0; r < rows; ++r) {
      acc[r].resize(vec);
      for (int64_t c = 0; c < vec; ++c)
        addIter(acc[r][c], k.f(0.0));
    }
    int64_t stateSize = 2 * owned + rows * vec;
    // Keys and values travel by cp.async through per-warp stages of shared
    // memory, kStages - 1 iterations ahead of their use. Each lane reads back
    // only the chunks it copied, so a cp.async wait (no barrier) orders them.
    // Keys past hi are zero-filled without a read, and masked.
    const std::string stageType =
        "memref<" + std::to_string(kStages) + "x" + std::to_string(S::warps) +
        "x" + std::to_string(kUnroll) + "x32x" + std::to_string(vec) + "x" + t +
        ", #gpu.address_space<workgroup>>";
    auto [kStage, vStage] = stageViews(stageType);
    const int64_t stepKeys = keysPerStep * kUnroll;
    auto keyOf = [&](const std::string &start, int64_t u) {
      return x.add(x.add(start, k.c(u * keysPerStep)), slot);
    };
    auto issueCopies = [&](const std::string &start, const std::string &stage) {
      for (int64_t u = 0; u < kUnroll; ++u) {
        std::string key = keyOf(start, u);
        std::string ok = x.lt(key, hi);
        std::string at =
            x.add(base, x.mul(x.select(ok, key, k.c(0)), keyStride));
        std::string count = x.select(ok, k.c(vec), k.c(0));
        for (auto [src, dst] : {std::pair(kk, kStage), std::pair(v, vStage)})
          k.def("nvgpu.device_async_copy " + src + "[" + at + "], " + dst +
                "[" + stage + ", " + warp + ", " + k.c(u) + ", " + lane + ", " +
                k.c(0) + "], " + std::to_string(vec) + ", " + count +
                " {bypassL1} : " + gType + " to " + stageType);
      }
      k.line("nvvm.cp.async.commit.group");
    };
    for (int64_t s = 0; s + 1 < kStages; ++s)
      issueCopies(x.add(lo, k.c(s * stepKeys)), k.c(s));
    k.line(res + ":" + std::to_string(stateSize) + " = scf.for " + j + " = " +
           lo + " to " + hi + " step " + k.c(stepKeys) + " iter_args(" + iter +
           ") -> (" + types + ") {");
    std::string it = x.div(x.bin("arith.subi", j, lo), stepKeys);
    issueCopies(x.add(j, k.c((kStages - 1) * stepKeys)),
                x.rem(x.add(it, k.c(kStages - 1)), kStages));
    k.line("nvvm.cp.async.wait.group " + std::to_string(kStages - 1));
    std::string stage = x.rem(it, kStages);
    SmallVector<std::string> key(kUnroll), valid(kUnroll);
    SmallVector<SmallVector<std::string>> ke(kUnroll), ve(kUnroll);
    for (int64_t u = 0; u < kUnroll; ++u) {
      key[u] = keyOf(j, u);
      valid[u] = x.lt(key[u], hi);
      std::string at = "[" + stage + ", " + warp + ", " + k.c(u) + ", " + lane +
                       ", " + k.c(0) + "] : " + stageType + ", " + vt;
      std::string kf = k.def("vector.load " + kStage + at);
      std::string vfv = k.def("vector.load " + vStage + at);
      if (t != "f32") {
        kf = k.def("arith.extf " + kf + " : " + vt + " to " + vf);
        vfv = k.def("arith.extf " + vfv + " : " + vt + " to " + vf);
      }
      for (int64_t c = 0; c < vec; ++c) {
        std::string pos = "[" + std::to_string(c) + "] : f32 from " + vf;
        ke[u].push_back(k.def("vector.extract " + kf + pos));
        ve[u].push_back(k.def("vector.extract " + vfv + pos));
      }
    }
    // Partial dots of every pair, then the transposed butterfly.
    SmallVector<std::string> vals;
    for (int64_t pair = 0; pair < paddedPairs; ++pair) {
      std::string dot = k.f(0.0);
      if (pair < pairs)
        for (int64_t c = 0; c < vec; ++c)
          dot = k.def("math.fma " + qs[pair / kUnroll][c] + ", " +
                      ke[pair % kUnroll][c] + ", " + dot + " : f32");
      vals.push_back(dot);
    }
    for (int64_t off = lanesPerKey / 2; off >= 1; off /= 2) {
      if (vals.size() == 1) {
        vals[0] = k.def("arith.addf " + vals[0] + ", " +
                        k.shuffleXor(vals[0], off) + " : f32");
        continue;
      }
      size_t half = vals.size() / 2;
      SmallVector<std::string> next(half);
      for (size_t v = 0; v < half; ++v) {
        auto pick = [&](const std::string &a, const std::string &b) {
          return k.def("arith.select " + upper[off] + ", " + a + ", " + b +
                       " : f32");
        };
        std::string send = pick(vals[v], vals[v + half]);
        std::string keep = pick(vals[v + half], vals[v]);
        next[v] = k.def("arith.addf " + keep + ", " + k.shuffleXor(send, off) +
                        " : f32");
      }
      vals = next;
    }
    // Owners: mask, running max over the row's steps, probabilities.
    SmallVector<std::string> score(owned);
    for (int64_t o = 0; o < owned; ++o) {
      std::string key =
          x.add(x.add(j, x.mul(ownStep[o], k.c(keysPerStep))), slot);
      std::string seen = x.both(
          x.lt(key, hi),
          x.both(k.def("arith.cmpi uge, " + key + ", " + ownLo[o] + " : index"),
                 x.lt(key, ownHi[o])));
      score[o] = k.def("arith.select " + seen + ", " + vals[o] + ", " +
                       minusInf + " : f32");
    }
    SmallVector<std::string> rowTop = overSteps(score, "arith.maximumf");
    SmallVector<std::string> yields, prob(owned), corr(owned);
    SmallVector<std::string> lNew(owned);
    for (int64_t o = 0; o < owned; ++o) {
      std::string mNew =
          k.def("arith.maximumf " + m[o] + ", " + rowTop[o] + " : f32");
      std::string safe = finiteOrZero(mNew);
      auto exp2 = [&](const std::string &a) {
        return k.def("math.exp2 " +
                     k.def("arith.subf " + a + ", " + safe + " : f32") +
                     " : f32");
      };
      corr[o] = exp2(m[o]);
      prob[o] = exp2(score[o]);
      lNew[o] = k.def("math.fma " + l[o] + ", " + corr[o] + ", " + prob[o] +
                      " : f32");
      yields.push_back(mNew);
      yields.push_back(lNew[o]);
    }
    // Every lane: the rows' probabilities and corrections from their owners.
    auto fromOwner = [&](const SmallVector<std::string> &values, int64_t pair) {
      return k.shuffleIdx(values[pair % owned],
                          x.add(groupLane0, k.c(ownerOf(pair))));
    };
    for (int64_t r = 0; r < rows; ++r) {
      std::string rowCorr = fromOwner(corr, r * kUnroll);
      SmallVector<std::string> p(kUnroll);
      for (int64_t u = 0; u < kUnroll; ++u)
        p[u] = fromOwner(prob, r * kUnroll + u);
      for (int64_t c = 0; c < vec; ++c) {
        std::string a =
            k.def("arith.mulf " + acc[r][c] + ", " + rowCorr + " : f32");
        for (int64_t u = 0; u < kUnroll; ++u)
          a = k.def("math.fma " + p[u] + ", " + ve[u][c] + ", " + a + " : f32");
        yields.push_back(a);
      }
    }
    k.line("scf.yield " + llvm::join(yields, ", ") + " : " + types);
    k.line("}");
    k.line("nvvm.cp.async.wait.group 0");

    // Merge the key slots of the warp, then publish the warp's state.
    std::string leader =
        k.def("arith.cmpi eq, " + lane + ", " + k.c(0) + " : index");
    std::string publishesAcc = x.both(x.lt(lane, k.c(lanesPerKey)), chunkOk);
    SmallVector<std::string> mOwn, lOwn;
    for (int64_t o = 0; o < owned; ++o) {
      mOwn.push_back(res + "#" + std::to_string(2 * o));
      lOwn.push_back(res + "#" + std::to_string(2 * o + 1));
    }
    lOwn = overSteps(lOwn, "arith.addf");
    for (int64_t r = 0; r < rows; ++r) {
      std::string mr = fromOwner(mOwn, r * kUnroll);
      std::string lr = fromOwner(lOwn, r * kUnroll);
      SmallVector<std::string> ar;
      for (int64_t c = 0; c < vec; ++c)
        ar.push_back(res + "#" + std::to_string(2 * owned + r * vec + c));
      if (keysPerStep > 1) {
        std::string top = mr;
        for (int64_t off = lanesPerKey; off < 32; off *= 2)
          top = k.def("arith.maximumf " + top + ", " + k.shuffleXor(top, off) +
                      " : f32");
        std::string safe = finiteOrZero(top);
        std::string w = k.def(
            "math.exp2 " + k.def("arith.subf " + mr + ", " + safe + " : f32") +
            " : f32");
        lr = k.def("arith.mulf " + lr + ", " + w + " : f32");
        for (auto &a : ar)
          a = k.def("arith.mulf " + a + ", " + w + " : f32");
        for (int64_t off = lanesPerKey; off < 32; off *= 2) {
          lr = k.def("arith.addf " + lr + ", " + k.shuffleXor(lr, off) +
                     " : f32");
          for (auto &a : ar)
            a = k.def("arith.addf " + a + ", " + k.shuffleXor(a, off) +
                      " : f32");
        }
        mr = top;
      }
      std::string rc = k.c(r);
      k.line("scf.if " + leader + " {");
      k.line("memref.store " + mr + ", " + ms + "[" + warp + ", " + rc +
             "] : " + sharedRows);
      k.line("memref.store " + lr + ", " + ls + "[" + warp + ", " + rc +
             "] : " + sharedRows);
      k.line("}");
      k.line("scf.if " + publishesAcc + " {");
      for (int64_t c = 0; c < vec; ++c)
        k.line("memref.store " + ar[c] + ", " + accs + "[" + warp + ", " + rc +
               ", " + x.add(dOff, k.c(c)) + "] : " + sharedAcc);
      k.line("}");
    }
  }
  k.line("gpu.barrier");

  // Merge the warps: a thread per (row, dim); the split's max is stored in
  // the natural-log domain of the combine kernel (x ln 2).
  auto [r, dim, row] = openOutputLoop(k, x, tid, rows, d, outputRow);
  SmallVector<std::string> wm(S::warps);
  std::string top = minusInf;
  for (int64_t w = 0; w < S::warps; ++w) {
    wm[w] = k.def("memref.load " + ms + "[" + k.c(w) + ", " + r +
                  "] : " + sharedRows);
    top = k.def("arith.maximumf " + top + ", " + wm[w] + " : f32");
  }
  std::string safe = finiteOrZero(top);
  std::string sum = k.f(0.0), total = k.f(0.0);
  for (int64_t w = 0; w < S::warps; ++w) {
    std::string weight =
        k.def("math.exp2 " +
              k.def("arith.subf " + wm[w] + ", " + safe + " : f32") + " : f32");
    std::string lw = k.def("memref.load " + ls + "[" + k.c(w) + ", " + r +
                           "] : " + sharedRows);
    std::string aw = k.def("memref.load " + accs + "[" + k.c(w) + ", " + r +
                           ", " + dim + "] : " + sharedAcc);
    sum = k.def("math.fma " + lw + ", " + weight + ", " + sum + " : f32");
    total = k.def("math.fma " + aw + ", " + weight + ", " + total + " : f32");
  }
  if (direct) {
    // out = acc / sum, or 0 when no key was visible.
    std::string denom =
        k.def("arith.select " +
              k.def("arith.cmpf oeq, " + sum + ", " + k.f(0.0) + " : f32") +
              ", " + k.f(1.0) + ", " + sum + " : f32");
    std::string value = k.def("arith.divf " + total + ", " + denom + " : f32");
    k.line("memref.store " + k.convert(value, "f32", t) + ", " + out + "[" +
           x.add(x.mul(row, k.c(d)), dim) + "] : " + gType);
    k.line("}");
    k.line("}");
    return e.kernel("attention_decode", k.str("KERNEL"), op->getLoc());
  }
  std::string part = x.add(x.mul(row, splits), split);
  k.line("memref.store " + total + ", " + partAcc + "[" +
         x.add(x.mul(part, k.c(d)), dim) + "] : memref<?xf32>");
  k.line("scf.if " +
         k.def("arith.cmpi eq, " + dim + ", " + k.c(0) + " : index") + " {");
  k.line("memref.store " +
         k.def("arith.mulf " + top + ", " + k.f(std::log(2.0)) + " : f32") +
         ", " + partMax + "[" + part + "] : memref<?xf32>");
  k.line("memref.store " + sum + ", " + partSum + "[" + part +
         "] : memref<?xf32>");
  k.line("}");
  k.line("}");
  k.line("}");
  if (combines)
    combineInLastBlock(k, x, out, partMax, partSum, partAcc, counters, tid,
                       rowGroup, bkv, splits, totalRows, outputRow, t, d, rows,
                       combinedSplits);
  return e.kernel("attention_decode", k.str("KERNEL"), op->getLoc());
}

} // namespace kopt::gpu
