//===- MmaText.h - Tensor-core building blocks for KernelText ---*- C++ -*-===//
//
// Shared by the tensor-core kernels: m16n8k16 mma.sync on ldmatrix
// fragments (f16 operands as vector<2xf16>, bf16 as packed i32).
//
//===----------------------------------------------------------------------===//

#ifndef KOPT_CODEGEN_GPU_MMATEXT_H
#define KOPT_CODEGEN_GPU_MMATEXT_H

#include "KernelText.h"

#include "llvm/ADT/STLFunctionalExtras.h"

#include <array>
#include <vector>

namespace kopt::gpu {

/// The 4 registers of an ldmatrix.x4 fragment (`vector<4x2xT>`) as mma.sync
/// operands.
std::vector<std::string> mmaOperands(KernelText &k, const std::string &frag,
                                     const std::string &t);
/// The mma.sync operand packing two f32 values of one row as `t`.
std::string mmaPack(KernelText &k, const std::string &lo, const std::string &hi,
                    const std::string &t);
/// d = a * b + c for m16n8k16 (row A, col B, f32 accumulators); returns the
/// 4 result registers.
std::array<std::string, 4> mmaSync(KernelText &k, const std::string &t,
                                   llvm::ArrayRef<std::string> a,
                                   llvm::ArrayRef<std::string> b,
                                   llvm::ArrayRef<std::string> c);

/// acc[mt][nt] += A[mt] B[nt] over m16n8k16 tiles: `a` holds one A
/// fragment per m-tile, `b` one ldmatrix.x4 fragment per pair of n-tiles;
/// `acc` is [a.size()][2 b.size()][4] flattened, updated in place.
void mmaAccumulateTiles(KernelText &k, const std::string &t,
                        const std::vector<std::vector<std::string>> &a,
                        const std::vector<std::vector<std::string>> &b,
                        std::vector<std::string> &acc);

/// Whether 16-bit operands of head dim `d` fit the tensor-core attention
/// kernels (f16/bf16, D = 64 or 128).
inline bool tensorCoreHeadDim(llvm::StringRef t, int64_t d) {
  return (t == "f16" || t == "bf16") && (d == 64 || d == 128);
}

/// O += P V for one 16-key step: `p` holds P's A fragment (4 registers),
/// `vFragment(dp)` returns the ldmatrix.x4.trans fragment (`vector<4x2xT>`)
/// of V's 16 keys x columns [16 dp, 16 dp + 16), and `o` the accumulators
/// [D / 8 column tiles][4], updated in place.
void mmaAccumulatePV(KernelText &k, const std::string &t,
                     llvm::ArrayRef<std::string> p, int64_t d,
                     llvm::function_ref<std::string(int64_t)> vFragment,
                     std::vector<std::string> &o);

} // namespace kopt::gpu

#endif // KOPT_CODEGEN_GPU_MMATEXT_H
