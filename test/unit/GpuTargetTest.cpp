//===- GpuTargetTest.cpp - The GPU target descriptions --------------------===//

#include "kopt/Codegen/Target/GpuTarget.h"

#include <gtest/gtest.h>

namespace {

TEST(GpuTarget, KnowsTheThreeTargetsInOrder) {
  auto targets = kopt::allGpuTargets();
  ASSERT_EQ(targets.size(), 3u);
  EXPECT_EQ(targets[0].name, "sm_80");
  EXPECT_EQ(targets[1].name, "sm_89");
  EXPECT_EQ(targets[2].name, "sm_90");
  for (size_t i = 1; i < targets.size(); ++i)
    EXPECT_LT(targets[i - 1].computeCapability, targets[i].computeCapability);
  EXPECT_FALSE(kopt::lookupGpuTarget("sm_75"));
  EXPECT_FALSE(kopt::lookupGpuTarget("cpu"));
}

TEST(GpuTarget, HopperFacts) {
  auto h200 = kopt::lookupGpuTarget("sm_90");
  ASSERT_TRUE(h200);
  EXPECT_EQ(h200->smCount, 132);
  EXPECT_TRUE(h200->hasWgmma && h200->hasTma && h200->hasCpAsync);
  EXPECT_GT(h200->peakF8Flops, h200->peakF16Flops);
  // Every target can hold a 128 x 64 bf16 tile pair in shared memory twice
  // over (a double-buffered GEMM stage).
  for (const kopt::GpuTarget &target : kopt::allGpuTargets())
    EXPECT_GE(target.sharedMemoryPerBlockBytes, 2 * 2 * 128 * 64 * 2)
        << target.name.str();
  // Ampere has no fp8 tensor cores.
  EXPECT_EQ(kopt::lookupGpuTarget("sm_80")->peakF8Flops, 0);
}

TEST(GpuTarget, FloorIsTheSlowerOfBandwidthAndCompute) {
  auto h200 = *kopt::lookupGpuTarget("sm_90");
  // A bf16 GEMV 14336 x 4096: 117 MB of weights, 117 MFLOP -> memory bound.
  double bytes = 14336.0 * 4096 * 2, flops = 2.0 * 14336 * 4096;
  EXPECT_DOUBLE_EQ(h200.floorSeconds(bytes, flops, true),
                   bytes / h200.memoryBandwidthBytesPerSecond);
  // A 4096^3 bf16 GEMM: compute bound.
  double n = 4096;
  EXPECT_DOUBLE_EQ(h200.floorSeconds(3 * n * n * 2, 2 * n * n * n, true),
                   2 * n * n * n / h200.peakF16Flops);
  // f32 on CUDA cores uses the lower peak.
  EXPECT_GT(h200.floorSeconds(0, 1e12, false), h200.floorSeconds(0, 1e12, true));
}

} // namespace
