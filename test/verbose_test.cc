// QK_VERBOSE=1 (set by ctest for this binary): one line per operator create and run on stderr,
// naming the op, shapes, numerics mode, ISA, microkernels and time; nothing without it.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "qk.h"

namespace {

using testing::HasSubstr;
using testing::MatchesRegex;

TEST(Verbose, OneLinePerCreateAndRun) {
  const char* env = std::getenv("QK_VERBOSE");
  const bool on = env != nullptr && std::string(env) != "0" && *env;
  const std::vector<int8_t> w(8 * 4 * 9, 1);
  const double ws = 0.01;
  qk_conv2d_desc d;
  qk_conv2d_desc_init(&d);
  d.numerics = QK_NUMERICS_PYTORCH_ONEDNN_1_13;
  d.input_channels = 4;
  d.output_channels = 8;
  d.kernel_height = d.kernel_width = 3;
  d.input_type = d.output_type = QK_DTYPE_U8;
  d.input_scale = 0.1;
  d.output_scale = 0.2;
  d.weights = w.data();
  d.weight_scale_count = 1;
  d.weight_scales = &ws;
  std::vector<uint8_t> x(6 * 5 * 4, 7), y(4 * 3 * 8);

  ASSERT_NE(qk_get_isa(), nullptr);  // CPU detection first: only operator lines are captured
  testing::internal::CaptureStderr();
  qk_conv2d* op = nullptr;
  ASSERT_EQ(qk_conv2d_create(&d, &op), QK_SUCCESS);
  ASSERT_EQ(qk_conv2d_run(op, 1, 6, 5, x.data(), y.data(), nullptr), QK_SUCCESS);
  qk_conv2d_delete(op);
  const std::string log = testing::internal::GetCapturedStderr();
  std::printf("%s", log.c_str());
  if (!on) {
    EXPECT_EQ(log, "");
    return;
  }
  const std::string isa = qk_get_isa();
  EXPECT_THAT(log, MatchesRegex("qk_verbose: create conv2d C=4 O=8 G=1 k=3x3 s=1x1 d=1x1 "
                                "p=0,0,0,0 u8->u8 numerics=pytorch-onednn-1.13 isa=" +
                                isa +
                                " ukernels=qk_gemm_.* time=[0-9.]+ms\n"
                                "qk_verbose: run conv2d N=1 H=6 W=5 -> 4x3 C=4 O=8 G=1 "
                                "numerics=pytorch-onednn-1.13 isa=" +
                                isa + " ukernels=qk_gemm_.* time=[0-9.]+ms\n"));
  // Errors are logged too.
  testing::internal::CaptureStderr();
  d.groups = 3;
  EXPECT_EQ(qk_conv2d_create(&d, &op), QK_ERROR_INVALID_ARGUMENT);
  EXPECT_THAT(testing::internal::GetCapturedStderr(), HasSubstr("qk_verbose: error: conv2d:"));
}

}  // namespace
