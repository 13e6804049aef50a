//===- PackedLinearText.cpp - Shared parts of the packed-weight kernels ---===//

#include "PackedLinearText.h"
#include "NormPrologue.h"

namespace kopt::gpu {

PackedLinearBuffers packedLinearBuffers(KernelText &k, const std::string &t,
                                        const std::string &ot, bool asymmetric,
                                        bool bias) {
  PackedLinearBuffers p;
  p.out = k.buffer("out", ot);
  p.x = k.buffer("x", t);
  p.q = k.streamedBuffer("q", "i8");
  p.s = k.streamedBuffer("s", t);
  if (asymmetric)
    p.z = k.streamedBuffer("z", "i8");
  if (bias)
    p.b = k.buffer("b", t);
  p.rows = k.index("rows");
  return p;
}

std::string wordOperand(KernelText &k, const std::string &word,
                        const std::string &t) {
  if (t == "bf16")
    return word;
  std::string vec =
      k.def("vector.broadcast " + word + " : i32 to vector<1xi32>");
  return k.def("vector.bitcast " + vec + " : vector<1xi32> to vector<2xf16>");
}

std::string andOr(KernelText &k, const std::string &word, uint32_t mask,
                  uint32_t bits) {
  // LUT 0xEA = (a & b) | c over a = 0xF0, b = 0xCC, c = 0xAA.
  return k.def("llvm.inline_asm asm_dialect = att \"lop3.b32 $0, $1, " +
               std::to_string(mask) + ", " + std::to_string(bits) +
               ", 0xEA;\", \"=r,r\" " + word + " : (i32) -> i32");
}

std::string pairOperand(KernelText &k, const std::string &pair,
                        const std::string &t) {
  if (t != "bf16")
    return pair;
  std::string word =
      k.def("vector.bitcast " + pair + " : vector<2xbf16> to vector<1xi32>");
  return k.def("vector.extract " + word + "[0] : i32 from vector<1xi32>");
}

std::vector<std::string>
chunkActivations(KernelText &k, IndexOps &ix, const std::string &x,
                 const std::string &t, const std::string &xBase,
                 const std::string &kc, int64_t chunk, int64_t halves,
                 const std::string &g, const std::string &gBase,
                 std::string *sumOfSquares,
                 const ActivationTransform &transform) {
  std::vector<std::string> regs;
  if (sumOfSquares)
    *sumOfSquares = k.f(0.0);
  std::string vt = "vector<8x" + t + ">";
  auto offset = [&](const std::string &base, int64_t half) {
    return ix.add(ix.add(base, ix.mul(kc, k.c(chunk))), k.c(8 * half));
  };
  auto load = [&](const std::string &mem, const std::string &base,
                  int64_t half) {
    return k.def("vector.load " + mem + "[" + offset(base, half) +
                 "] {alignment = 16 : i64} : memref<?x" + t + ">, " + vt);
  };
  for (int64_t half = 0; half < halves; ++half) {
    std::string v = load(x, xBase, half);
    if (transform)
      v = transform(v, offset(xBase, half));
    if (!g.empty()) {
      if (sumOfSquares) {
        std::string wide = "vector<8xf32>";
        std::string xf = k.def("arith.extf " + v + " : " + vt + " to " + wide);
        std::string squares =
            k.def("arith.mulf " + xf + ", " + xf + " : " + wide);
        *sumOfSquares = k.def("vector.reduction <add>, " + squares + ", " +
                              *sumOfSquares + " : " + wide + " into f32");
      }
      // Packed 16-bit multiplies: the product of two 16-bit floats is exact
      // in f32, so this is its one rounding.
      v = k.def("arith.mulf " + v + ", " + load(g, gBase, half) + " : " + vt);
    }
    std::string words = k.def("vector.bitcast " + v + " : vector<8x" + t +
                              "> to vector<4xi32>");
    for (int i = 0; i < 4; ++i)
      regs.push_back(wordOperand(k,
                                 k.def("vector.extract " + words + "[" +
                                       std::to_string(i) +
                                       "] : i32 from vector<4xi32>"),
                                 t));
  }
  return regs;
}

void storePackedLinear(KernelText &k, IndexOps &ix,
                       const PackedLinearEpilogue &e, const std::string &warp,
                       const std::string &lane,
                       const std::vector<std::string> &acc) {
  // Fragment slot (nt * 4 + i) * 32 + lane of each warp's row.
  const int64_t slots = 128 * e.tokenTiles;
  std::string redType = "memref<" + std::to_string(e.warps) + "x" +
                        std::to_string(slots) +
                        "xf32, #gpu.address_space<workgroup>>";
  for (size_t i = 0; i < acc.size(); ++i)
    k.line("memref.store " + acc[i] + ", " + e.red + "[" + warp + ", " +
           ix.add(k.c(32 * static_cast<int64_t>(i)), lane) + "] : " + redType);
  k.line("gpu.barrier");
  std::string blockSlot = k.fresh();
  k.line("scf.for " + blockSlot + " = " + k.tid() + " to " +
         k.c(slots * e.rowTiles) + " step " + k.c(e.warps * 32) + " {");
  std::string rowTile = ix.div(blockSlot, slots);
  std::string idx = ix.rem(blockSlot, slots);
  std::string sum = k.f(0.0);
  for (int64_t w = 0; w < e.warps / e.rowTiles; ++w)
    sum = k.def("arith.addf " + sum + ", " +
                k.def("memref.load " + e.red + "[" +
                      ix.add(k.c(w * e.rowTiles), rowTile) + ", " + idx +
                      "] : " + redType) +
                " : f32");
  // Register `reg` of lane `slotLane` in token tile `nt`: row lane / 4 (+ 8
  // for registers 2, 3), token 2 (lane % 4) + reg % 2.
  std::string slotLane = ix.rem(idx, 32), fragment = ix.div(idx, 32);
  std::string nt = ix.div(fragment, 4), reg = ix.rem(fragment, 4);
  std::string tile = ix.add(e.tile, rowTile);
  std::string row = ix.add(ix.add(ix.mul(tile, k.c(16)), ix.div(slotLane, 4)),
                           ix.mul(ix.div(reg, 2), k.c(8)));
  std::string token =
      ix.add(ix.add(e.tokenBase, ix.mul(nt, k.c(8))),
             ix.add(ix.mul(ix.rem(slotLane, 4), k.c(2)), ix.rem(reg, 2)));
  k.line("scf.if " + ix.both(ix.lt(row, k.c(e.n)), ix.lt(token, e.rows)) +
         " {");
  if (!e.rowSumOfSquares.empty()) {
    std::string local = ix.bin("arith.subi", token, e.tokenBase);
    std::string total = k.f(0.0);
    for (int64_t part = 0; part < e.sumOfSquaresParts; ++part)
      total = k.def(
          "arith.addf " + total + ", " +
          k.def("memref.load " + e.rowSumOfSquares + "[" + k.c(part) + ", " +
                local + "] : memref<" + std::to_string(e.sumOfSquaresParts) +
                "x" + std::to_string(8 * e.tokenTiles) +
                "xf32, #gpu.address_space<workgroup>>") +
          " : f32");
    sum = k.def("arith.mulf " + sum + ", " +
                rmsScale(k, total, e.normDim, e.epsilon) + " : f32");
  }
  if (!e.bias.empty())
    sum = k.def("arith.addf " + sum + ", " +
                k.convert(k.def("memref.load " + e.bias + "[" + row +
                                "] : memref<?x" + e.t + ">"),
                          e.t, "f32") +
                " : f32");
  std::string value = e.epilogue
                          ? e.epilogue->finish(sum, token, row, k.c(e.n))
                          : k.convert(sum, "f32", e.ot);
  k.line("memref.store " + value + ", " + e.out + "[" +
         ix.add(ix.mul(token, k.c(e.n)), row) + "] : memref<?x" + e.ot + ">");
  k.line("}");
  k.line("}");
}

} // namespace kopt::gpu
