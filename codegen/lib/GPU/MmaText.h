//===- MmaText.h - Tensor-core building blocks for KernelText ---*- C++ -*-===//
//
// Shared by the tensor-core kernels: index arithmetic in one-liners, the
// XOR swizzles of their shared-memory tiles, and m16n8k16 mma.sync on
// ldmatrix fragments (f16 operands as vector<2xf16>, bf16 as packed i32).
//
//===----------------------------------------------------------------------===//

#ifndef KOPT_CODEGEN_GPU_MMATEXT_H
#define KOPT_CODEGEN_GPU_MMATEXT_H

#include "KernelText.h"

#include <array>
#include <vector>

namespace kopt::gpu {

/// Index arithmetic on `index` values.
struct IndexOps {
  KernelText &k;
  std::string bin(llvm::StringRef op, const std::string &a,
                  const std::string &b) {
    return k.def(op + " " + a + ", " + b + " : index");
  }
  std::string add(const std::string &a, const std::string &b) {
    return bin("arith.addi", a, b);
  }
  std::string mul(const std::string &a, const std::string &b) {
    return bin("arith.muli", a, b);
  }
  std::string div(const std::string &a, int64_t b) {
    return bin("arith.divui", a, k.c(b));
  }
  std::string rem(const std::string &a, int64_t b) {
    return bin("arith.remui", a, k.c(b));
  }
  std::string xorc(const std::string &a, const std::string &b) {
    return bin("arith.xori", a, b);
  }
  std::string lt(const std::string &a, const std::string &b) {
    return k.def("arith.cmpi ult, " + a + ", " + b + " : index");
  }
  std::string both(const std::string &a, const std::string &b) {
    return k.def("arith.andi " + a + ", " + b + " : i1");
  }
  std::string select(const std::string &c, const std::string &a,
                     const std::string &b) {
    return k.def("arith.select " + c + ", " + a + ", " + b + " : index");
  }
  /// Element column of 16-byte `chunk` in a row of 64 bytes:
  /// chunk ^ ((row >> 1) & 3).
  std::string swizzle64(const std::string &row, const std::string &chunk) {
    return mul(xorc(chunk, rem(div(row, 2), 4)), k.c(8));
  }
  /// Element column of 16-byte `chunk` in a row of 128 bytes or more:
  /// chunk ^ (row & 7).
  std::string swizzle128(const std::string &row, const std::string &chunk) {
    return mul(xorc(chunk, rem(row, 8)), k.c(8));
  }
};

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

} // namespace kopt::gpu

#endif // KOPT_CODEGEN_GPU_MMATEXT_H
