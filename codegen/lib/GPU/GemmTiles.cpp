//===- GemmTiles.cpp - Block rasterisation and epilogue of tiled GEMMs ----===//

#include "GemmTiles.h"

namespace kopt::gpu {

GemmTile gemmTile(KernelText &k, const std::string &t, const std::string &ot,
                  bool bias, int64_t tileM, int64_t tileN, int64_t groupM,
                  const GemmScales *scales, const LinearEpilogue *epilogue) {
  IndexOps x{k};
  GemmTile g;
  g.epilogue = std::make_shared<EpilogueText>(k, epilogue, ot);
  g.out = k.buffer("out", g.epilogue->outType());
  g.a = k.buffer("a", t);
  g.b = k.buffer("b", t);
  g.biasType = t;
  if (scales) {
    g.aScale = k.buffer("a_scale", "f32");
    g.bScale = k.buffer("b_scale", scales->bType);
    g.aScalePerRow = scales->aPerRow;
    g.bScalePerRow = scales->bPerRow;
    g.bScaleType = scales->bType;
    g.biasType = scales->biasType;
  }
  g.bias = bias ? k.buffer("bias", g.biasType) : "";
  g.m = k.index("m");
  g.n = k.index("n");
  g.k = k.index("k");
  std::string aBatch = k.index("a_batch"), bBatch = k.index("b_batch"),
              aMod = k.index("a_mod"), bMod = k.index("b_mod");

  std::string tilesM = k.def("arith.ceildivui " + g.m + ", " + k.c(tileM) +
                             " : index");
  std::string tilesN = k.def("arith.ceildivui " + g.n + ", " + k.c(tileN) +
                             " : index");
  std::string pid = k.bid('x');
  std::string inGroup = x.mul(k.c(groupM), tilesN);
  std::string group = x.bin("arith.divui", pid, inGroup);
  std::string firstM = x.mul(group, k.c(groupM));
  std::string restM = x.bin("arith.subi", tilesM, firstM);
  std::string groupRows = x.bin("arith.minui", restM, k.c(groupM));
  std::string local = x.bin("arith.remui", pid, inGroup);
  std::string pidM = x.add(firstM, x.bin("arith.remui", local, groupRows));
  std::string pidN = x.bin("arith.divui", local, groupRows);
  g.row0 = x.mul(pidM, k.c(tileM));
  g.col0 = x.mul(pidN, k.c(tileN));

  std::string batch = k.bid('z');
  g.aOffset = x.mul(x.bin("arith.remui", batch, aMod), aBatch);
  g.bOffset = x.mul(x.bin("arith.remui", batch, bMod), bBatch);
  g.cOffset = x.mul(batch, x.mul(g.m, g.n));
  return g;
}

void storeAccumulatorPair(KernelText &k, const GemmTile &g, bool nEven,
                          const std::string &row,
                          const std::string &col, const std::string &v0,
                          const std::string &v1) {
  IndexOps x{k};
  const std::string &ot = g.epilogue->outType();
  std::string oType = "memref<?x" + ot + ">";
  std::string rowOk = x.lt(row, g.m);
  std::string rowAt = x.add(x.mul(row, g.n), g.cOffset);
  // A's scale of this row, loaded once where the row is inside.
  std::string rowScale;
  auto scaled = [&](const std::string &v, const std::string &c) {
    if (g.aScale.empty())
      return v;
    if (rowScale.empty())
      rowScale = k.def("memref.load " + g.aScale + "[" +
                       (g.aScalePerRow ? row : k.c(0)) + "] : memref<?xf32>");
    std::string bs = k.convert(
        k.def("memref.load " + g.bScale + "[" + (g.bScalePerRow ? c : k.c(0)) +
              "] : memref<?x" + g.bScaleType + ">"),
        g.bScaleType, "f32");
    return k.def("arith.mulf " + v + ", " +
                 k.def("arith.mulf " + rowScale + ", " + bs + " : f32") +
                 " : f32");
  };
  auto biased = [&](const std::string &raw, const std::string &c) {
    std::string v = scaled(raw, c);
    if (g.bias.empty())
      return v;
    std::string bv = k.convert(k.def("memref.load " + g.bias + "[" + c +
                                     "] : memref<?x" + g.biasType + ">"),
                               g.biasType, "f32");
    return k.def("arith.addf " + v + ", " + bv + " : f32");
  };
  if (nEven) {
    std::string pairAlign = ot == "f64" ? "16" : ot == "f32" ? "8" : "4";
    k.line("scf.if " + x.both(rowOk, x.lt(col, g.n)) + " {");
    std::string col1 = x.add(col, k.c(1));
    std::string o0 = g.epilogue->finish(biased(v0, col), row, col, g.n);
    std::string o1 = g.epilogue->finish(biased(v1, col1), row, col1, g.n);
    std::string pair = k.def("vector.from_elements " + o0 + ", " + o1 +
                             " : vector<2x" + ot + ">");
    k.line("vector.store " + pair + ", " + g.out + "[" + x.add(rowAt, col) +
           "] {alignment = " + pairAlign + " : i64} : " + oType +
           ", vector<2x" + ot + ">");
    k.line("}");
    return;
  }
  for (int j = 0; j < 2; ++j) {
    std::string c = x.add(col, k.c(j));
    k.line("scf.if " + x.both(rowOk, x.lt(c, g.n)) + " {");
    rowScale.clear(); // defined in the previous region
    std::string o = g.epilogue->finish(biased(j ? v1 : v0, c), row, c, g.n);
    k.line("memref.store " + o + ", " + g.out + "[" + x.add(rowAt, c) +
           "] : " + oType);
    k.line("}");
  }
}

} // namespace kopt::gpu
