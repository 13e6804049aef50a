//===- GpuModuleTest.cpp - Validation of a PTX artifact's schedule --------===//
//
// GpuModule validates the launch schedule of every function before it
// touches the CUDA driver, so hostile plans are rejected with DATA_LOSS on
// any machine; a valid plan then needs a GPU (UNAVAILABLE without one).
//
//===----------------------------------------------------------------------===//

#include "TempDir.h"
#include "kopt/runtime/GpuModule.h"

#include <gtest/gtest.h>

namespace {

using kopt::test::TempDir;

/// A one-function PTX plan whose function entry ends with `schedule`.
std::string planWith(const std::string &schedule) {
  return R"json({
  "format": "kopt-plan", "version": 1,
  "artifact": {"kind": "ptx", "file": "model.ptx", "target": "sm_90"},
  "functions": [
    {"name": "f", "symbol": "kopt_call_f",
     "inputs": [{"dtype": "f32", "shape": ["s0"]}],
     "outputs": [{"dtype": "f32", "shape": ["s0"]}],
     "call": ["input:0", "output:0"],
     )json" + schedule + "}]}";
}

const char *const kValid =
    R"("buffers": [{"dtype": "f32", "shape": ["s0"], "source": "input:0"},
                   {"dtype": "f32", "shape": ["s0"], "source": "temp"}],
       "launches": [{"kernel": "k", "grid": ["s0 ceildiv 128", 1, 1],
                     "block": 128, "args": [{"buffer": 1}, {"i64": "s0"}]}],
       "results": [1])";

kopt::rt::Status load(const TempDir &dir, const std::string &schedule) {
  std::string text = planWith(schedule);
  dir.write("model.plan.json", std::vector<uint8_t>(text.begin(), text.end()));
  std::string ptx = ".version 8.0\n.target sm_90\n.address_size 64\n";
  std::string path =
      dir.write("model.ptx", std::vector<uint8_t>(ptx.begin(), ptx.end()));
  auto module = kopt::rt::GpuModule::load(path, 0);
  return module.isOk() ? kopt::rt::Status::ok() : module.status();
}

TEST(GpuModule, RejectsHostileSchedules) {
  TempDir dir;
  struct Bad {
    std::string schedule, message;
  } cases[] = {
      {R"("buffers": [])", "needs \"buffers\", \"launches\" and \"results\""},
      {R"("buffers": [{"dtype": "f32", "shape": [4], "source": "weight:0"}],
          "launches": [], "results": [0])",
       "refers to a missing weight"},
      {R"("buffers": [{"dtype": "f32", "shape": [4], "source": "input:5"}],
          "launches": [], "results": [0])",
       "refers to a missing input"},
      {R"("buffers": [{"dtype": "f32", "shape": [4], "source": "input:x1"}],
          "launches": [], "results": [0])",
       "bad source 'input:x1'"},
      {R"("buffers": [{"dtype": "f32", "shape": [4], "source": "input:0"},
                      {"dtype": "f32", "shape": [4], "source": "alias:1"}],
          "launches": [], "results": [0])",
       "refers to a missing earlier buffer"},
      {R"("buffers": [{"dtype": "q7", "shape": [4], "source": "temp"}],
          "launches": [], "results": [0])",
       "unknown dtype"},
      {R"("buffers": [{"dtype": "f32", "shape": ["s0 +"], "source": "temp"}],
          "launches": [], "results": [0])",
       "shape"},
      {R"("buffers": [{"dtype": "f32", "shape": [4], "source": "temp"}],
          "launches": [{"kernel": "k", "grid": [1, 1, 1], "block": 4096,
                        "args": []}],
          "results": [0])",
       "block must be in [1, 1024]"},
      {R"("buffers": [{"dtype": "f32", "shape": [4], "source": "temp"}],
          "launches": [{"kernel": "k", "grid": [1, 1, 1], "block": 32,
                        "args": [{"buffer": 7}]}],
          "results": [0])",
       "each argument is"},
      {R"("buffers": [{"dtype": "f32", "shape": [4], "source": "temp"}],
          "launches": [], "results": [3])",
       "bad buffer id"},
      {R"("buffers": [{"dtype": "f32", "shape": [4], "source": "constant",
                       "value": {"data": [1, 2]}}],
          "launches": [], "results": [0])",
       "4 data values"},
      // Tile variants (the autotuner's "tune" tags and "tuning" groups).
      {R"("buffers": [{"dtype": "f32", "shape": [4], "source": "temp"}],
          "launches": [{"kernel": "k", "grid": [1, 1, 1], "block": 32,
                        "args": [], "tune": {"group": 0, "variant": 0}}],
          "results": [0])",
       "tune names a missing group or variant"},
      {R"("buffers": [{"dtype": "f32", "shape": [4], "source": "temp"}],
          "launches": [{"kernel": "k", "grid": [1, 1, 1], "block": 32,
                        "args": [], "tune": {"group": 0, "variant": 2}}],
          "tuning": [{"group": 0, "kernel": "k", "variants": ["a", "b"],
                      "bucket": "s0", "output": 0}],
          "results": [0])",
       "tune names a missing group or variant"},
      {R"("buffers": [{"dtype": "f32", "shape": [4], "source": "temp"}],
          "launches": [{"kernel": "k", "grid": [1, 1, 1], "block": 32,
                        "args": [], "tune": {"group": -1, "variant": 0}}],
          "results": [0])",
       "tune needs a group and a variant"},
      {R"("buffers": [{"dtype": "f32", "shape": [4], "source": "temp"}],
          "launches": [],
          "tuning": [{"group": 0, "kernel": "k", "variants": ["a"],
                      "bucket": "s0", "output": 9}],
          "results": [0])",
       "needs its index as \"group\""},
      {R"("buffers": [{"dtype": "f32", "shape": [4], "source": "temp"}],
          "launches": [],
          "tuning": [{"group": 0, "kernel": "k", "variants": ["a"],
                      "bucket": "s0 +", "output": 0}],
          "results": [0])",
       "bucket"},
  };
  for (const Bad &c : cases) {
    kopt::rt::Status status = load(dir, c.schedule);
    EXPECT_EQ(status.code(), KOPT_STATUS_DATA_LOSS) << c.schedule;
    EXPECT_NE(status.message().find(c.message), std::string::npos)
        << status.message();
  }
}

TEST(GpuModule, ValidScheduleNeedsOnlyAGpu) {
  TempDir dir;
  kopt::rt::Status status = load(dir, kValid);
  if (status.code() == KOPT_STATUS_UNAVAILABLE)
    GTEST_SKIP() << "no CUDA GPU: " << status.message();
  // With a GPU the schedule names a kernel the PTX lacks.
  EXPECT_EQ(status.code(), KOPT_STATUS_DATA_LOSS) << status.message();
  EXPECT_NE(status.message().find("kernel 'k'"), std::string::npos);
}

} // namespace
