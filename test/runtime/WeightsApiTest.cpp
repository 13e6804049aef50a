//===- WeightsApiTest.cpp - The C API of weights, through runtime.hpp -----===//

#include "TempDir.h"
#include "kopt/runtime/Safetensors.h"
#include "kopt/runtime/runtime.hpp"

namespace {

using kopt::test::TempDir;

TEST(WeightsApi, OpensLooksUpAndReportsMissingNames) {
  TempDir dir;
  std::string path = dir.file("w.safetensors");
  ASSERT_TRUE(kopt::rt::writeSafetensors(
                  path, {{"w", KOPT_DTYPE_I64, {2, 1}, std::vector<uint8_t>(16, 1)}},
                  {})
                  .isOk());
  kopt::Weights weights;
  ASSERT_FALSE(kopt::Weights::open(path, weights));
  EXPECT_EQ(weights.size(), 1u);
  kopt_tensor_view_t view;
  ASSERT_FALSE(weights.lookup("w", view));
  EXPECT_EQ(view.dtype, KOPT_DTYPE_I64);
  EXPECT_EQ(view.rank, 2);
  EXPECT_EQ(view.shape[0], 2);
  EXPECT_EQ(view.byte_size, 16u);
  kopt::Error missing = weights.lookup("v", view);
  EXPECT_EQ(missing.code, KOPT_STATUS_NOT_FOUND);
  EXPECT_EQ(missing.message, "weight 'v' is not in the checkpoint");

  // A copy keeps the checkpoint alive after the original is gone.
  kopt::Weights copy = weights;
  weights = kopt::Weights();
  EXPECT_FALSE(copy.lookup("w", view));
  EXPECT_EQ(view.shape[1], 1);
}

TEST(WeightsApi, BadCallsReturnStatusesNotCrashes) {
  kopt_weights_t *weights = nullptr;
  kopt_status_t status = kopt_weights_open(nullptr, &weights);
  EXPECT_EQ(kopt_status_code(status), KOPT_STATUS_INVALID_ARGUMENT);
  kopt_status_free(status);
  status = kopt_weights_open("/nonexistent/w.safetensors", &weights);
  EXPECT_EQ(kopt_status_code(status), KOPT_STATUS_NOT_FOUND);
  EXPECT_NE(std::string(kopt_status_message(status)).find("/nonexistent"),
            std::string::npos);
  kopt_status_free(status);
  EXPECT_EQ(weights, nullptr);
  const char *name;
  status = kopt_weights_name(nullptr, 0, &name);
  EXPECT_EQ(kopt_status_code(status), KOPT_STATUS_INVALID_ARGUMENT);
  kopt_status_free(status);
  EXPECT_EQ(kopt_weights_count(nullptr), 0u);
  kopt_weights_release(nullptr);
  EXPECT_STREQ(kopt_status_code_name(KOPT_STATUS_DATA_LOSS), "DATA_LOSS");
  EXPECT_STREQ(kopt_dtype_name(KOPT_DTYPE_BF16), "bf16");
  EXPECT_EQ(kopt_dtype_size(KOPT_DTYPE_F8E4M3), 1u);
}

} // namespace
