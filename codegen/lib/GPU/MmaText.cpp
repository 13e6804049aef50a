//===- MmaText.cpp - Tensor-core building blocks for KernelText -----------===//

#include "MmaText.h"

namespace kopt::gpu {

std::vector<std::string> mmaOperands(KernelText &k, const std::string &frag,
                                     const std::string &t) {
  std::vector<std::string> regs;
  for (int i = 0; i < 4; ++i) {
    std::string row =
        k.def("vector.extract " + frag + "[" + std::to_string(i) +
              "] : vector<2x" + t + "> from vector<4x2x" + t + ">");
    if (t == "bf16") {
      std::string word =
          k.def("vector.bitcast " + row + " : vector<2xbf16> to vector<1xi32>");
      row = k.def("vector.extract " + word + "[0] : i32 from vector<1xi32>");
    }
    regs.push_back(row);
  }
  return regs;
}

std::string mmaPack(KernelText &k, const std::string &lo, const std::string &hi,
                    const std::string &t) {
  std::string pair =
      k.def("vector.from_elements " + k.convert(lo, "f32", t) + ", " +
            k.convert(hi, "f32", t) + " : vector<2x" + t + ">");
  if (t != "bf16")
    return pair;
  std::string word =
      k.def("vector.bitcast " + pair + " : vector<2xbf16> to vector<1xi32>");
  return k.def("vector.extract " + word + "[0] : i32 from vector<1xi32>");
}

std::array<std::string, 4> mmaSync(KernelText &k, const std::string &t,
                                   llvm::ArrayRef<std::string> a,
                                   llvm::ArrayRef<std::string> b,
                                   llvm::ArrayRef<std::string> c) {
  std::string operand = t == "bf16" ? "i32" : "vector<2x" + t + ">";
  std::string result = "!llvm.struct<(f32, f32, f32, f32)>";
  std::string d = k.def(
      "nvvm.mma.sync A[" + a[0] + ", " + a[1] + ", " + a[2] + ", " + a[3] +
      "] B[" + b[0] + ", " + b[1] + "] C[" + c[0] + ", " + c[1] + ", " + c[2] +
      ", " + c[3] +
      "] {layoutA = #nvvm.mma_layout<row>, layoutB = #nvvm.mma_layout<col>, "
      "multiplicandAPtxType = #nvvm.mma_type<" +
      t + ">, multiplicandBPtxType = #nvvm.mma_type<" + t +
      ">, shape = #nvvm.shape<m = 16, n = 8, k = 16>} : (" + operand + ", " +
      operand + ", f32) -> " + result);
  std::array<std::string, 4> out;
  for (int i = 0; i < 4; ++i)
    out[i] = k.def("llvm.extractvalue " + d + "[" + std::to_string(i) +
                   "] : " + result);
  return out;
}

void mmaAccumulateTiles(KernelText &k, const std::string &t,
                        const std::vector<std::vector<std::string>> &a,
                        const std::vector<std::vector<std::string>> &b,
                        std::vector<std::string> &acc) {
  const size_t nTiles = 2 * b.size();
  for (size_t mt = 0; mt < a.size(); ++mt)
    for (size_t nt = 0; nt < nTiles; ++nt) {
      const std::vector<std::string> &bf = b[nt / 2];
      size_t half = (nt % 2) * 2, at = (mt * nTiles + nt) * 4;
      std::array<std::string, 4> d =
          mmaSync(k, t, a[mt], {bf[half], bf[half + 1]},
                  {acc[at], acc[at + 1], acc[at + 2], acc[at + 3]});
      for (int i = 0; i < 4; ++i)
        acc[at + i] = d[i];
    }
}

void mmaAccumulatePV(KernelText &k, const std::string &t,
                     llvm::ArrayRef<std::string> p, int64_t d,
                     llvm::function_ref<std::string(int64_t)> vFragment,
                     std::vector<std::string> &o) {
  for (int64_t dp = 0; dp < d / 16; ++dp) {
    std::vector<std::string> vf = mmaOperands(k, vFragment(dp), t);
    for (int64_t half = 0; half < 2; ++half) {
      int64_t nt = 2 * dp + half;
      std::array<std::string, 4> r =
          mmaSync(k, t, p, {vf[2 * half], vf[2 * half + 1]},
                  {o[4 * nt], o[4 * nt + 1], o[4 * nt + 2], o[4 * nt + 3]});
      for (int i = 0; i < 4; ++i)
        o[4 * nt + i] = r[i];
    }
  }
}

} // namespace kopt::gpu
