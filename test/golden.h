// Reader of golden conv2d case files (format: docs/golden-format.md) and a runner that feeds a
// case to the qk C API. Shared by golden_test and the CLI / benchmark tools' tests.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "qk.h"

namespace qk_test {

struct GoldenCase {
  std::string name;
  std::string numerics;
  std::string input_type;  // "u8" | "s8"
  int64_t n = 0, c = 0, h = 0, w = 0;
  int64_t o = 0, cg = 0, kh = 0, kw = 0;
  int64_t stride[2] = {1, 1};
  int64_t padding[4] = {0, 0, 0, 0};  // top left bottom right
  int64_t dilation[2] = {1, 1};
  int64_t groups = 1;
  double input_scale = 0;
  int32_t input_zero_point = 0;
  std::vector<double> weight_scales;
  std::vector<int32_t> weight_zero_points;
  std::string weight_quantization;  // "" (auto), "per-tensor" or "per-channel"
  int32_t output_min = INT32_MIN, output_max = INT32_MAX;  // optional extra clamp
  std::string bias_type = "none";  // none | f32 | s32
  std::vector<float> bias_f32;
  std::vector<int32_t> bias_s32;
  double output_scale = 0;
  int32_t output_zero_point = 0;
  bool relu = false;
  std::vector<int32_t> input;   // NCHW
  std::vector<int32_t> weight;  // OIHW
  bool expect_unsupported = false;
  std::string unsupported_reason;
  std::vector<int32_t> output;  // NCHW
  int64_t out_h = 0, out_w = 0;
};

// Parses a whole file; throws std::runtime_error naming the file, line and problem.
std::vector<GoldenCase> ReadGoldenFile(const std::string& path);

struct RunResult {
  qk_status status = QK_SUCCESS;
  std::string message;          // qk_last_error() on failure
  std::vector<int32_t> output;  // NCHW, on success
  std::string ukernels;
};

// Builds the descriptor, creates the operator with the currently selected ISA, runs it on the
// case's input (converted to NHWC) and converts the output back to NCHW.
RunResult RunGoldenCase(const GoldenCase& c);

}  // namespace qk_test
