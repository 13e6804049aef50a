//===- KernelText.h - Writing one gpu.func as MLIR text ---------*- C++ -*-===//
//
// Kernel families write their kernels as MLIR text (gpu, arith, scf, memref,
// vector, math, nvgpu), parameterised by dtypes and tile configuration and
// unrolled by C++ loops where registers must stay registers. KernelText
// holds the parameters and body of one kernel and names its SSA values; the
// KernelLibrary parses the result into the module's gpu.module, sharing one
// kernel between identical texts.
//
// Kernel ABI: every buffer parameter is a rank-1 `memref<?xT>` (the runtime
// passes the device pointer as allocated and aligned pointer, offset 0,
// its element count and stride 1), every scalar an `i64`.
//
//===----------------------------------------------------------------------===//

#ifndef KOPT_CODEGEN_GPU_KERNELTEXT_H
#define KOPT_CODEGEN_GPU_KERNELTEXT_H

#include "mlir/IR/Types.h"
#include "mlir/IR/Value.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/Twine.h"

#include <functional>
#include <string>
#include <vector>

namespace kopt::gpu {

/// The MLIR spelling of `type` ("bf16", "i32", "vector<8xbf16>").
std::string typeText(mlir::Type type);
/// The spelling of the element type of `value` (a ranked tensor).
std::string elementTypeText(mlir::Value value);

class KernelText {
public:
  /// A kernel of `threads` threads per block (x only).
  explicit KernelText(int64_t threads) : threads_(threads) {}

  /// Adds a `memref<?xT>` parameter `%name`; returns its SSA name.
  std::string buffer(llvm::StringRef name, llvm::StringRef elementType);
  std::string buffer(llvm::StringRef name, mlir::Type elementType) {
    return buffer(name, typeText(elementType));
  }
  /// A buffer parameter the kernel's blocks together read once, end to end
  /// (a GEMV's weight): marked `kopt.prefetch_l2` for kopt-prefetch-streamed.
  std::string streamedBuffer(llvm::StringRef name, llvm::StringRef elementType);
  /// Adds an i64 parameter and returns the name of its `index` value.
  std::string index(llvm::StringRef name);
  /// Adds a workgroup (shared memory) buffer `memref<SHAPExT, 3>`.
  std::string shared(llvm::StringRef name, llvm::StringRef shapeAndType);

  /// A fresh SSA name.
  std::string fresh();
  /// An `index` constant (one definition per value).
  std::string c(int64_t value);
  /// An f32 constant.
  std::string f(double value);
  /// An integer constant of `type` ("i32").
  std::string ci(int64_t value, llvm::StringRef type);

  /// Appends one line to the body.
  KernelText &line(const llvm::Twine &text);
  /// `%r = TEXT` with a fresh %r; returns %r.
  std::string def(const llvm::Twine &text);

  /// Common values: linear thread index within the block, block index x/y/z.
  std::string tid();
  std::string bid(char dim = 'x');
  /// blockIdx.x * threads + threadIdx.x.
  std::string globalId();

  /// `value` (of `type`) from lane `lane ^ offset` of the warp.
  std::string shuffleXor(const std::string &value, int offset,
                         llvm::StringRef type = "f32");

  /// `value` (of `type`) from lane `lane` (an index) of the warp.
  std::string shuffleIdx(const std::string &value, const std::string &lane,
                         llvm::StringRef type = "f32");

  /// The f32 `value` combined (`arith.addf` / `arith.maximumf`) across the
  /// 32 lanes of the warp with xor shuffles; every lane gets the result.
  std::string warpReduce(const std::string &value, llvm::StringRef combine);

  /// Element `at` of `memref<?xT>` `mem` as f32 where `ok` (an i1) holds,
  /// else 0 (no load).
  std::string loadOr(const std::string &mem, const std::string &at,
                     const std::string &ok, llvm::StringRef type);

  /// Stores a runtime error into the status buffer `status` (`memref<?xi64>`):
  /// {code, node, value, bound}, values i64. Racing reports are all true.
  void report(const std::string &status, int64_t code, int64_t node,
              const std::string &value, const std::string &bound);

  /// The f32 `value` combined (`arith.addf` / `arith.maximumf`) across the
  /// block through warp shuffles and `scratch` (a `memref<32xf32, 3>`
  /// workgroup buffer); every thread gets the result. Contains barriers:
  /// every thread of the block must reach it.
  std::string blockReduce(const std::string &value, llvm::StringRef combine,
                          const std::string &scratch);

  /// Whether (`a`, index `ai`) ranks before (`b`, `bi`) in torch.topk's
  /// order: larger first, NaN above everything, ties to the lower index.
  /// `a`, `b` are of `type` (f32 or an integer type); indices are `index`.
  std::string rankedBefore(const std::string &a, const std::string &ai,
                           const std::string &b, const std::string &bi,
                           llvm::StringRef type);

  /// One step of a selection scan (topk passes): whether candidate (`v`,
  /// `i`) becomes the best (`best`, `bestIndex`, valid if `found`) of the
  /// elements ranking after the previous pick (`prev`, `prevIndex`; any
  /// element when `hasPrev` is false).
  std::string selectionTakes(const std::string &v, const std::string &i,
                             const std::string &best,
                             const std::string &bestIndex,
                             const std::string &found, const std::string &prev,
                             const std::string &prevIndex,
                             const std::string &hasPrev, llvm::StringRef type);

  /// Converts `value` of type `from` to `to` (float <-> float, int <-> int,
  /// int <-> float); a no-op when equal.
  std::string convert(const std::string &value, llvm::StringRef from,
                      llvm::StringRef to);

  /// The full `gpu.func @NAME(...) kernel` text.
  std::string str(llvm::StringRef name) const;
  int64_t threads() const { return threads_; }

private:
  int64_t threads_;
  std::string params_, workgroup_, prologue_, body_;
  llvm::StringMap<std::string> constants_;
  std::string tid_, bidx_, bidy_, bidz_;
  unsigned next_ = 0;
};

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

/// An `scf.for` carrying f32 values (accumulators, softmax state): see
/// openCarriedLoop / closeCarriedLoop.
struct CarriedLoop {
  /// The induction variable and the carried values inside the body.
  std::string iv;
  std::vector<std::string> carried;
  /// Result `i` after the loop.
  std::string result(size_t i) const {
    return results_ + "#" + std::to_string(i);
  }
  std::string results_;
};
/// Opens `scf.for iv = lo to hi step step` carrying f32 values that start
/// as `init` (none: a plain loop).
CarriedLoop openCarriedLoop(KernelText &k, const std::string &lo,
                            const std::string &hi, const std::string &step,
                            const std::vector<std::string> &init);
/// Yields `next` (one f32 per carried value) and closes the loop.
void closeCarriedLoop(KernelText &k, const std::vector<std::string> &next);

/// The sum of `step(kk, acc)` over kk = start, start + stride, ... < end,
/// carried as `type` from `zero`: `unroll` steps per iteration (their loads
/// issued together), then the rest one at a time (a warp-strided GEMV's K
/// loop). `end` is static; returns the sum.
std::string unrolledStridedSum(
    KernelText &k, const std::string &start, int64_t end, int64_t stride,
    int64_t unroll, const std::string &zero, const std::string &type,
    const std::function<std::string(const std::string &, const std::string &)>
        &step);

/// `n` copies of `type` separated by commas ("f32, f32").
std::string repeatedTypes(int64_t n, llvm::StringRef type);
/// `!llvm.struct<(T, ..., T)>` of `n` `type` members (MMA accumulators).
std::string structType(int64_t n, llvm::StringRef type);

/// Float types compute in f32; integers in themselves.
inline bool isFloatText(llvm::StringRef type) {
  return type == "f32" || type == "f16" || type == "bf16" || type == "f64";
}

} // namespace kopt::gpu

#endif // KOPT_CODEGEN_GPU_KERNELTEXT_H
