//===- GpuTarget.cpp - What kopt knows about each NVIDIA GPU --------------===//
//
// Figures from NVIDIA's datasheets and CUDA programming guide (compute
// capability tables) for: A100 SXM4 80GB (sm_80), L40S (sm_89), H100/H200
// SXM (sm_90; the H200 has the same SMs with 141 GB HBM3e at 4.8 TB/s).
//
//===----------------------------------------------------------------------===//

#include "kopt/Codegen/Target/GpuTarget.h"

#include <algorithm>

namespace kopt {
namespace {

constexpr double kTera = 1e12;

constexpr MmaShape kAmpereMma[] = {
    {"f16", 16, 8, 16}, {"bf16", 16, 8, 16}, {"s8", 16, 8, 32}};
constexpr MmaShape kAdaHopperMma[] = {{"f16", 16, 8, 16},
                                      {"bf16", 16, 8, 16},
                                      {"e4m3", 16, 8, 32},
                                      {"s8", 16, 8, 32}};

const GpuTarget kTargets[] = {
    {"sm_80", "A100 SXM4 80GB", 80, 108, 164 * 1024, 163 * 1024, 65536, 255,
     2048, 40ll << 20, 2.039 * kTera, 312 * kTera, 0, 624 * kTera,
     19.5 * kTera, true, false, false, kAmpereMma},
    {"sm_89", "L40S", 89, 142, 100 * 1024, 99 * 1024, 65536, 255, 1536,
     96ll << 20, 0.864 * kTera, 362 * kTera, 733 * kTera, 733 * kTera,
     91.6 * kTera, true, false, false, kAdaHopperMma},
    {"sm_90", "H200 SXM 141GB", 90, 132, 228 * 1024, 227 * 1024, 65536, 255,
     2048, 50ll << 20, 4.8 * kTera, 989 * kTera, 1979 * kTera, 1979 * kTera,
     67 * kTera, true, true, true, kAdaHopperMma},
};

} // namespace

double GpuTarget::floorSeconds(double bytes, double flops,
                               bool tensorCores) const {
  double peak = tensorCores ? peakF16Flops : peakF32Flops;
  return std::max(bytes / memoryBandwidthBytesPerSecond, flops / peak);
}

std::optional<GpuTarget> lookupGpuTarget(llvm::StringRef name) {
  for (const GpuTarget &target : kTargets)
    if (target.name == name)
      return target;
  return std::nullopt;
}

llvm::ArrayRef<GpuTarget> allGpuTargets() { return kTargets; }

} // namespace kopt
