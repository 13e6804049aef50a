//===- OnlineSoftmax.cpp - Attention softmax on MMA accumulators ----------===//

#include "OnlineSoftmax.h"

#include "llvm/ADT/StringExtras.h"

#include <cmath>

namespace kopt::gpu {

SoftmaxStep onlineSoftmaxStep(KernelText &k, ScoreTile &scores,
                              const std::string &tileStart,
                              const std::string &quadColumn,
                              const std::array<std::string, 2> &lo,
                              const std::array<std::string, 2> &hi,
                              const SoftmaxState &state, double scale) {
  IndexOps x{k};
  const int64_t blocks = scores.size(), values = blocks * 4;
  const bool foldScale = scale > 0;
  std::string qkScale = k.f(scale * 1.4426950408889634);
  std::string negInf = k.f(-INFINITY);
  std::string keyBase = x.add(tileStart, quadColumn);
  std::string tileLo =
      k.def("arith.index_cast " + tileStart + " : index to i64");
  std::string tileHi = k.def("arith.addi " + tileLo + ", " +
                             k.ci(blocks * 8, "i64") + " : i64");
  std::string interior = k.def(
      "arith.andi " +
      k.def("arith.cmpi sge, " + tileLo + ", " +
            k.def("arith.maxsi " + lo[0] + ", " + lo[1] + " : i64") + " : i64") +
      ", " +
      k.def("arith.cmpi sle, " + tileHi + ", " +
            k.def("arith.minsi " + hi[0] + ", " + hi[1] + " : i64") + " : i64") +
      " : i1");
  std::string scoreTypes = repeatedTypes(values + 2, "f32");
  auto yieldScores = [&](bool masked) {
    std::string rowMax[2] = {negInf, negInf};
    std::vector<std::string> out;
    for (int64_t nt = 0; nt < blocks; ++nt)
      for (int64_t i = 0; i < 4; ++i) {
        int64_t r = i / 2;
        std::string value =
            foldScale ? scores[nt][i]
                      : k.def("arith.mulf " + scores[nt][i] + ", " + qkScale +
                              " : f32");
        if (masked) {
          std::string key = k.def(
              "arith.index_cast " + x.add(keyBase, k.c(8 * nt + i % 2)) +
              " : index to i64");
          std::string visible = k.def(
              "arith.andi " +
              k.def("arith.cmpi sge, " + key + ", " + lo[r] + " : i64") +
              ", " +
              k.def("arith.cmpi slt, " + key + ", " + hi[r] + " : i64") +
              " : i1");
          value = k.def("arith.select " + visible + ", " + value + ", " +
                        negInf + " : f32");
        }
        out.push_back(value);
        rowMax[r] =
            k.def("arith.maximumf " + rowMax[r] + ", " + value + " : f32");
      }
    out.push_back(rowMax[0]);
    out.push_back(rowMax[1]);
    k.line("scf.yield " + llvm::join(out, ", ") + " : " + scoreTypes);
  };
  std::string masked = k.fresh();
  k.line(masked + ":" + std::to_string(values + 2) + " = scf.if " + interior +
         " -> (" + scoreTypes + ") {");
  yieldScores(false);
  k.line("} else {");
  yieldScores(true);
  k.line("}");
  for (int64_t nt = 0; nt < blocks; ++nt)
    for (int64_t i = 0; i < 4; ++i)
      scores[nt][i] = masked + "#" + std::to_string(nt * 4 + i);

  SoftmaxStep step;
  std::string negMax[2];
  for (int r = 0; r < 2; ++r) {
    std::string rowMax = masked + "#" + std::to_string(values + r);
    for (int offset = 1; offset <= 2; offset *= 2)
      rowMax = k.def("arith.maximumf " + rowMax + ", " +
                     k.shuffleXor(rowMax, offset) + " : f32");
    if (foldScale)
      rowMax = k.def("arith.mulf " + rowMax + ", " + qkScale + " : f32");
    step.state.max[r] = k.def("arith.maximumf " + state.max[r] + ", " +
                              rowMax + " : f32");
    // A row with nothing visible yet keeps exponents finite (exp2(-inf) = 0).
    std::string none = k.def("arith.cmpf oeq, " + step.state.max[r] + ", " +
                             negInf + " : f32");
    std::string safe = k.def("arith.select " + none + ", " + k.f(0.0) + ", " +
                             step.state.max[r] + " : f32");
    negMax[r] = k.def("arith.negf " + safe + " : f32");
    step.alpha[r] = k.def(
        "math.exp2 " +
        k.def("arith.subf " + state.max[r] + ", " + safe + " : f32") +
        " : f32");
  }
  std::string rowSum[2] = {k.f(0.0), k.f(0.0)};
  for (int64_t nt = 0; nt < blocks; ++nt)
    for (int64_t i = 0; i < 4; ++i) {
      int64_t r = i / 2;
      scores[nt][i] = k.def(
          "math.exp2 " +
          k.def("math.fma " + scores[nt][i] + ", " +
                (foldScale ? qkScale : k.f(1.0)) + ", " + negMax[r] +
                " : f32") +
          " : f32");
      rowSum[r] =
          k.def("arith.addf " + rowSum[r] + ", " + scores[nt][i] + " : f32");
    }
  for (int r = 0; r < 2; ++r)
    step.state.sum[r] = k.def("math.fma " + state.sum[r] + ", " +
                              step.alpha[r] + ", " + rowSum[r] + " : f32");
  return step;
}

std::array<std::string, 2>
softmaxDenominators(KernelText &k, const std::array<std::string, 2> &sums) {
  std::array<std::string, 2> denominators;
  for (int r = 0; r < 2; ++r) {
    std::string l = sums[r];
    for (int offset = 1; offset <= 2; offset *= 2)
      l = k.def("arith.addf " + l + ", " + k.shuffleXor(l, offset) + " : f32");
    std::string empty =
        k.def("arith.cmpf oeq, " + l + ", " + k.f(0.0) + " : f32");
    denominators[r] = k.def("arith.select " + empty + ", " + k.f(1.0) + ", " +
                            l + " : f32");
  }
  return denominators;
}

void storeNormalisedRows(KernelText &k, const std::string &out,
                         const std::string &t,
                         const std::vector<std::string> &o,
                         const std::array<std::string, 2> &denominators,
                         const std::array<std::string, 2> &rows,
                         const std::string &sq, const std::string &b,
                         const std::string &h, int64_t hq, int64_t d,
                         const std::string &quadColumn) {
  IndexOps x{k};
  std::string pairType = "vector<2x" + t + ">";
  for (int r = 0; r < 2; ++r) {
    k.line("scf.if " + x.lt(rows[r], sq) + " {");
    std::string inverse = k.def("arith.divf " + k.f(1.0) + ", " +
                                denominators[r] + " : f32");
    std::string base = x.add(
        x.mul(x.add(x.mul(x.add(x.mul(b, sq), rows[r]), k.c(hq)), h), k.c(d)),
        quadColumn);
    for (int64_t nt = 0; nt < d / 8; ++nt) {
      std::string values[2];
      for (int i = 0; i < 2; ++i)
        values[i] = k.convert(k.def("arith.mulf " + o[4 * nt + 2 * r + i] +
                                    ", " + inverse + " : f32"),
                              "f32", t);
      std::string pair = k.def("vector.from_elements " + values[0] + ", " +
                               values[1] + " : " + pairType);
      k.line("vector.store " + pair + ", " + out + "[" +
             x.add(base, k.c(8 * nt)) + "] {alignment = 4 : i64} : memref<?x" +
             t + ">, " + pairType);
    }
    k.line("}");
  }
}

} // namespace kopt::gpu
