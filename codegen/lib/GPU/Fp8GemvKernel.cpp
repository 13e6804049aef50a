//===- Fp8GemvKernel.cpp - fp8 x fp8 linear for a few rows ----------------===//

#include "Fp8GemvKernel.h"

namespace kopt::gpu {

mlir::FailureOr<std::string> fp8GemvKernel(FunctionEmitter &e,
                                           mlir::Operation *op,
                                           const std::string &ot, int64_t n,
                                           int64_t kDim, bool bias,
                                           const GemmScales &scales) {
  KernelText k(fp8GemvWarps * 32);
  IndexOps x{k};
  EpilogueText epilogue(k, e.epilogueOf(op), ot);
  std::string out = k.buffer("out", epilogue.outType()),
              a = k.buffer("a", "i8"),
              b = k.streamedBuffer("b", "i8");
  std::string aScale = k.buffer("a_scale", "f32"),
              bScale = k.streamedBuffer("b_scale", scales.bType);
  std::string biasBuffer = bias ? k.buffer("bias", scales.biasType) : "";
  std::string rows = k.index("rows");
  std::string lane = x.rem(k.tid(), 32);
  std::string row = x.add(x.mul(k.bid('x'), k.c(fp8GemvWarps)),
                          x.div(k.tid(), 32));
  k.line("scf.if " + x.lt(row, k.c(n)) + " {");
  std::string wBase = x.mul(row, k.c(kDim));
  std::string start = x.mul(lane, k.c(16));
  const std::string slice = "vector<16xi8>", pair = "vector<2xf32>";
  std::string m = k.fresh();
  k.line("scf.for " + m + " = " + k.c(0) + " to " + rows + " step " + k.c(1) +
         " {");
  std::string aBase = x.mul(m, k.c(kDim));
  // The 16 codes at element kk of `buffer` row `base` as f32 pairs.
  auto pairs = [&](const std::string &buffer, const std::string &base,
                   const std::string &kk) {
    std::string v = k.def("vector.load " + buffer + "[" + x.add(base, kk) +
                          "] {alignment = 16 : i64} : memref<?xi8>, " + slice);
    std::string halves =
        k.def("vector.bitcast " + v + " : " + slice + " to vector<8xi16>");
    std::vector<std::string> result;
    for (int64_t j = 0; j < 8; ++j) {
      std::string two = k.def(
          "llvm.bitcast " +
          k.def("vector.extract " + halves + "[" + std::to_string(j) +
                "] : i16 from vector<8xi16>") +
          " : i16 to vector<2xi8>");
      std::string half = k.def("nvvm.convert.f8x2.to.f16x2 " + two +
                               " : vector<2xi8> (f8E4M3FN) -> vector<2xf16>");
      result.push_back(
          k.def("arith.extf " + half + " : vector<2xf16> to " + pair));
    }
    return result;
  };
  auto step = [&](const std::string &kk, std::string acc) {
    std::vector<std::string> w = pairs(b, wBase, kk), v = pairs(a, aBase, kk);
    for (int64_t j = 0; j < 8; ++j)
      acc = k.def("vector.fma " + w[j] + ", " + v[j] + ", " + acc + " : " +
                  pair);
    return acc;
  };
  std::string zero = k.def("arith.constant dense<0.0> : " + pair);
  // Two warp-wide steps per iteration, then the rest one at a time.
  std::string sum = unrolledStridedSum(k, start, kDim, 32 * 16, 2, zero, pair,
                                       step);
  std::string v = k.warpReduce(
      k.def("vector.reduction <add>, " + sum + " : " + pair + " into f32"),
      "arith.addf");
  k.line("scf.if " +
         k.def("arith.cmpi eq, " + lane + ", " + k.c(0) + " : index") + " {");
  std::string sa = k.def("memref.load " + aScale + "[" +
                         (scales.aPerRow ? m : k.c(0)) + "] : memref<?xf32>");
  std::string sb = k.convert(
      k.def("memref.load " + bScale + "[" + (scales.bPerRow ? row : k.c(0)) +
            "] : memref<?x" + scales.bType + ">"),
      scales.bType, "f32");
  v = k.def("arith.mulf " + v + ", " +
            k.def("arith.mulf " + sa + ", " + sb + " : f32") + " : f32");
  if (bias)
    v = k.def("arith.addf " + v + ", " +
              k.convert(k.def("memref.load " + biasBuffer + "[" + row +
                              "] : memref<?x" + scales.biasType + ">"),
                        scales.biasType, "f32") +
              " : f32");
  k.line("memref.store " + epilogue.finish(v, m, row, k.c(n)) + ", " + out +
         "[" + x.add(x.mul(m, k.c(n)), row) + "] : memref<?x" +
         epilogue.outType() + ">");
  k.line("}");
  k.line("}"); // m
  k.line("}"); // row ok
  return e.kernel("gemv_f8", k.str("KERNEL"), op->getLoc());
}

} // namespace kopt::gpu
