//===- GpuTarget.h - What kopt knows about each NVIDIA GPU -------*- C++ -*-===//
//
// The facts tiling and kernel generators decide with (SM count, shared
// memory, registers, tensor-core shapes and features) and the peak rates
// benchmarks compute floors from, for the targets `kopt --target=` accepts.
// Rates are the vendor's dense datasheet figures for the named part; the
// measured ceilings of the machine at hand (shared/docs/ANCHORS.md) are
// what figures are compared against.
//
//===----------------------------------------------------------------------===//

#ifndef KOPT_CODEGEN_TARGET_GPUTARGET_H
#define KOPT_CODEGEN_TARGET_GPUTARGET_H

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringRef.h"

#include <cstdint>
#include <optional>

namespace kopt {

/// A tensor-core instruction shape (mma.sync m x n x k) for an operand type.
struct MmaShape {
  llvm::StringLiteral operandType; // "f16", "bf16", "e4m3", "s8"
  int64_t m, n, k;
};

struct GpuTarget {
  llvm::StringLiteral name; // "sm_90"
  llvm::StringLiteral part; // the reference part the rates are for
  int computeCapability;    // 90
  int smCount;
  int64_t sharedMemoryPerSmBytes;
  int64_t sharedMemoryPerBlockBytes; // the opt-in maximum
  int64_t registersPerSm;
  int maxRegistersPerThread;
  int maxThreadsPerSm;
  int64_t l2Bytes;
  double memoryBandwidthBytesPerSecond;
  double peakF16Flops; // dense tensor-core f16/bf16 with f32 accumulate
  double peakF8Flops;  // 0 when the part has no fp8 tensor cores
  double peakI8Ops;
  double peakF32Flops; // CUDA cores
  bool hasCpAsync;     // sm_80+
  bool hasWgmma;       // sm_90a
  bool hasTma;         // sm_90
  llvm::ArrayRef<MmaShape> mmaShapes;

  /// griddepcontrol (programmatic dependent launch): sm_90+.
  bool hasDependentLaunch() const { return computeCapability >= 90; }

  /// The time floor of a kernel moving `bytes` and doing `flops` at the
  /// peak for `f16` (tensor cores) or f32 math: max(bytes / bandwidth,
  /// flops / peak), in seconds.
  double floorSeconds(double bytes, double flops, bool tensorCores) const;
};

/// The target called `name` ("sm_80", "sm_89", "sm_90"), or nullopt.
std::optional<GpuTarget> lookupGpuTarget(llvm::StringRef name);

/// Every target kopt knows, in order of compute capability.
llvm::ArrayRef<GpuTarget> allGpuTargets();

} // namespace kopt

#endif // KOPT_CODEGEN_TARGET_GPUTARGET_H
