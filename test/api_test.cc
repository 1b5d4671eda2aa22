// The public API's contract: every status each function can return, with the exact code, and the
// message that says why; plus the version, status strings and quantize / dequantize semantics.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "qk.h"

namespace {

using testing::HasSubstr;

constexpr size_t kHuge = std::numeric_limits<size_t>::max() / 2 + 1;

// ---------------------------------------------------------------------------------------------
// version, status strings, numerics names
// ---------------------------------------------------------------------------------------------
TEST(Api, Version) {
  EXPECT_EQ(qk_version(),
            (uint32_t{QK_VERSION_MAJOR} << 16) | (QK_VERSION_MINOR << 8) | QK_VERSION_PATCH);
  EXPECT_EQ(std::string(qk_version_string()), std::to_string(QK_VERSION_MAJOR) + "." +
                                                  std::to_string(QK_VERSION_MINOR) + "." +
                                                  std::to_string(QK_VERSION_PATCH));
}

TEST(Api, StatusStringsAreDistinct) {
  const qk_status all[] = {QK_SUCCESS,
                           QK_ERROR_INVALID_ARGUMENT,
                           QK_ERROR_UNSUPPORTED,
                           QK_ERROR_UNSUPPORTED_ISA,
                           QK_ERROR_OUT_OF_MEMORY,
                           QK_ERROR_SIZE_OVERFLOW};
  std::vector<std::string> seen;
  for (qk_status s : all) {
    const std::string str = qk_status_string(s);
    EXPECT_FALSE(str.empty());
    EXPECT_EQ(std::count(seen.begin(), seen.end(), str), 0) << str;
    seen.push_back(str);
  }
  EXPECT_EQ(std::string(qk_status_string(static_cast<qk_status>(12345))), "unknown status");
}

TEST(Api, NumericsNames) {
  // The names are a contract (docs/numerics.md): each with its value.
  const std::pair<const char*, int> names[] = {
      {"pytorch-fbgemm", 1}, {"pytorch-qnnpack", 2},      {"pytorch-onednn-1.13", 3},
      {"onnxruntime", 4},    {"tflite", 5},               {"pytorch-onednn", 6},
      {"pytorch-fbgemm-avx2", 7}, {"pytorch-x86", 8},     {"xnnpack", 9}};
  for (const auto& [name, value] : names) {
    qk_numerics n;
    ASSERT_EQ(qk_numerics_from_name(name, &n), QK_SUCCESS) << name;
    EXPECT_EQ(static_cast<int>(n), value) << name;
    EXPECT_STREQ(qk_numerics_name(n), name);
  }
  int modes = 0;
  // Values 0..15: the range of qk_numerics today (forming a value past it is UB in C++).
  for (int v = 0; v < 16; v++) modes += qk_numerics_name(static_cast<qk_numerics>(v)) != nullptr;
  EXPECT_EQ(modes, 9) << "a new mode needs a line above";
  qk_numerics n;
  EXPECT_EQ(qk_numerics_from_name("pytorch", &n), QK_ERROR_INVALID_ARGUMENT);
  EXPECT_THAT(qk_last_error(), HasSubstr("unknown numerics mode 'pytorch'"));
  EXPECT_THAT(qk_last_error(), HasSubstr("xnnpack"));  // the message lists every mode
  EXPECT_EQ(qk_numerics_from_name(nullptr, &n), QK_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(qk_numerics_from_name("tflite", nullptr), QK_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(qk_numerics_name(static_cast<qk_numerics>(0)), nullptr);
}

// ---------------------------------------------------------------------------------------------
// ISA selection from C (QK_ISA itself is tested by dispatch_test, one process per value)
// ---------------------------------------------------------------------------------------------
TEST(Api, IsaSelection) {
  ASSERT_NE(qk_get_isa(), nullptr);
  EXPECT_TRUE(qk_isa_is_supported("generic"));
  EXPECT_THAT(qk_compiled_isas(), HasSubstr("generic"));
  EXPECT_NE(qk_cpu_name(), nullptr);
  EXPECT_NE(qk_cpu_features(), nullptr);

  EXPECT_EQ(qk_set_isa("generic"), QK_SUCCESS);
  EXPECT_STREQ(qk_get_isa(), "generic");
  EXPECT_STREQ(qk_isa_reason(), "qk_set_isa(\"generic\")");

  EXPECT_EQ(qk_set_isa("avx9000"), QK_ERROR_UNSUPPORTED_ISA);
  EXPECT_THAT(qk_last_error(), HasSubstr("unknown ISA 'avx9000'"));
  EXPECT_STREQ(qk_get_isa(), "generic") << "a failed qk_set_isa keeps the previous choice";
  EXPECT_FALSE(qk_isa_is_supported("avx9000"));
  EXPECT_FALSE(qk_isa_is_supported(nullptr));

  // An ISA of the other architecture is known but never compiled in (or not runnable).
#if defined(__x86_64__)
  const char* foreign = "neon";
#else
  const char* foreign = "avx2";
#endif
  EXPECT_EQ(qk_set_isa(foreign), QK_ERROR_UNSUPPORTED_ISA);
  EXPECT_THAT(qk_last_error(), HasSubstr(foreign));
  EXPECT_FALSE(qk_isa_is_supported(foreign));

  EXPECT_EQ(qk_set_isa(nullptr), QK_SUCCESS);
  EXPECT_STREQ(qk_isa_reason(), "best ISA this CPU supports");
  EXPECT_EQ(qk_set_isa(""), QK_SUCCESS);
}

TEST(Api, Threadpool) {
  qk_threadpool* pool = nullptr;
  EXPECT_EQ(qk_threadpool_create(2, nullptr), QK_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(qk_threadpool_create(100000, &pool), QK_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(pool, nullptr);
  ASSERT_EQ(qk_threadpool_create(0, &pool), QK_SUCCESS);
  EXPECT_GE(qk_threadpool_threads(pool), 1u) << "0 = one thread per logical processor";
  qk_threadpool_delete(pool);
  EXPECT_EQ(qk_threadpool_threads(nullptr), 1u);
  qk_threadpool_delete(nullptr);
}

// ---------------------------------------------------------------------------------------------
// quantize / dequantize
// ---------------------------------------------------------------------------------------------
TEST(Quantize, PyTorchMultipliesByTheReciprocal) {
  // FBGEMM's own comment: 0.273939937f with scale 0.00214854861f is 127.5 by multiplication
  // (-> 128) and 127.499992 by division (-> 127).
  const float x = 0.273939937f;
  const double s = 0.00214854861f;
  uint8_t q = 0;
  for (qk_numerics n :
       {QK_NUMERICS_PYTORCH_FBGEMM, QK_NUMERICS_PYTORCH_QNNPACK, QK_NUMERICS_PYTORCH_ONEDNN}) {
    ASSERT_EQ(qk_quantize(n, QK_DTYPE_U8, 1, 1, 1, &x, 1, &s, nullptr, &q), QK_SUCCESS);
    EXPECT_EQ(q, 128);
  }
  ASSERT_EQ(qk_quantize(QK_NUMERICS_ONNXRUNTIME, QK_DTYPE_U8, 1, 1, 1, &x, 1, &s, nullptr, &q),
            QK_SUCCESS);
  EXPECT_EQ(q, 127);
  ASSERT_EQ(qk_quantize(QK_NUMERICS_TFLITE, QK_DTYPE_U8, 1, 1, 1, &x, 1, &s, nullptr, &q),
            QK_SUCCESS);
  EXPECT_EQ(q, 127);
}

TEST(Quantize, TiesZeroPointsAndSaturation) {
  // scale 1: ties 2.5 and -2.5; PyTorch and ONNX Runtime round to even, TFLite away from zero.
  const float x[] = {2.5f, -2.5f, 1000.0f, -1000.0f, INFINITY, -INFINITY, 0.49999997f};
  const double s = 1.0;
  const int32_t zp = -3;
  int8_t q[7];
  ASSERT_EQ(qk_quantize(QK_NUMERICS_PYTORCH_QNNPACK, QK_DTYPE_S8, 1, 1, 7, x, 1, &s, &zp, q),
            QK_SUCCESS);
  EXPECT_EQ(std::vector<int>(q, q + 7), (std::vector<int>{-1, -5, 127, -128, 127, -128, -3}));
  ASSERT_EQ(qk_quantize(QK_NUMERICS_ONNXRUNTIME, QK_DTYPE_S8, 1, 1, 7, x, 1, &s, &zp, q),
            QK_SUCCESS);
  EXPECT_EQ(std::vector<int>(q, q + 7), (std::vector<int>{-1, -5, 127, -128, 127, -128, -3}));
  ASSERT_EQ(qk_quantize(QK_NUMERICS_TFLITE, QK_DTYPE_S8, 1, 1, 7, x, 1, &s, &zp, q), QK_SUCCESS);
  EXPECT_EQ(std::vector<int>(q, q + 7), (std::vector<int>{0, -6, 127, -128, 127, -128, -3}));
}

TEST(Quantize, PerChannelAndInt32) {
  // [outer 2][channels 3][inner 2], per-channel scales 0.5, 0.25, 2 and zero points 1, 2, 3.
  const float x[12] = {1, -1, 1, -1, 1, -1, 2, 3, 2, 3, 2, 3};
  const double s[3] = {0.5, 0.25, 2};
  const int32_t zp[3] = {1, 2, 3};
  uint8_t q[12];
  ASSERT_EQ(qk_quantize(QK_NUMERICS_PYTORCH_FBGEMM, QK_DTYPE_U8, 2, 3, 2, x, 3, s, zp, q),
            QK_SUCCESS);
  // x*(1/s) + zp: [2+1, -2+1 -> 0 clamp... ] 1/0.5 = 2: 1*2+1 = 3, -1*2+1 = -1 -> 0;
  // 1*4+2 = 6, -4+2 = -2 -> 0; 0.5 -> 0 (tie to even) + 3 = 3, -0.5 -> -0 + 3 = 3;
  // 2*2+1 = 5, 3*2+1 = 7; 2*4+2 = 10, 3*4+2 = 14; 1 + 3 = 4, 1.5 -> 2, + 3 = 5.
  EXPECT_EQ(std::vector<int>(q, q + 12), (std::vector<int>{3, 0, 6, 0, 3, 3, 5, 7, 10, 14, 4, 5}));
  float back[12];
  ASSERT_EQ(qk_dequantize(QK_NUMERICS_PYTORCH_FBGEMM, QK_DTYPE_U8, 2, 3, 2, q, 3, s, zp, back),
            QK_SUCCESS);
  EXPECT_EQ(back[0], 1.0f);   // (3 - 1) * 0.5
  EXPECT_EQ(back[1], -0.5f);  // (0 - 1) * 0.5
  EXPECT_EQ(back[11], 4.0f);  // (5 - 3) * 2

  // qint32 (biases): clamps to the int32 range.
  const float big[3] = {3e9f, -3e9f, 123.5f};
  int32_t q32[3];
  const double one = 1.0;
  ASSERT_EQ(
      qk_quantize(QK_NUMERICS_PYTORCH_QNNPACK, QK_DTYPE_S32, 1, 1, 3, big, 1, &one, nullptr, q32),
      QK_SUCCESS);
  EXPECT_EQ(q32[0], INT32_MAX);
  EXPECT_EQ(q32[1], INT32_MIN);
  EXPECT_EQ(q32[2], 124);
  float d32[3];
  ASSERT_EQ(
      qk_dequantize(QK_NUMERICS_PYTORCH_QNNPACK, QK_DTYPE_S32, 1, 1, 3, q32, 1, &one, nullptr, d32),
      QK_SUCCESS);
  EXPECT_EQ(d32[2], 124.0f);
}

TEST(Quantize, InvalidArguments) {
  const float x[4] = {0, 1, 2, 3};
  const double s = 0.1, bad_scales[] = {0.0, -1.0, NAN, INFINITY, 1e-50, 1e300};
  const int32_t zp_bad = 256;
  uint8_t q[4];
  const auto mode = QK_NUMERICS_PYTORCH_FBGEMM;
  EXPECT_EQ(qk_quantize(mode, QK_DTYPE_U8, 1, 1, 4, nullptr, 1, &s, nullptr, q),
            QK_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(qk_quantize(mode, QK_DTYPE_U8, 1, 1, 4, x, 1, &s, nullptr, nullptr),
            QK_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(qk_quantize(mode, QK_DTYPE_U8, 1, 1, 4, x, 1, nullptr, nullptr, q),
            QK_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(qk_quantize(mode, QK_DTYPE_U8, 1, 2, 2, x, 3, &s, nullptr, q),
            QK_ERROR_INVALID_ARGUMENT);
  EXPECT_THAT(qk_last_error(), HasSubstr("scale_count"));
  for (double b : bad_scales) {
    EXPECT_EQ(qk_quantize(mode, QK_DTYPE_U8, 1, 1, 4, x, 1, &b, nullptr, q),
              QK_ERROR_INVALID_ARGUMENT)
        << b;
    EXPECT_EQ(qk_dequantize(mode, QK_DTYPE_U8, 1, 1, 4, q, 1, &b, nullptr, const_cast<float*>(x)),
              QK_ERROR_INVALID_ARGUMENT)
        << b;
  }
  EXPECT_EQ(qk_quantize(mode, QK_DTYPE_U8, 1, 1, 4, x, 1, &s, &zp_bad, q),
            QK_ERROR_INVALID_ARGUMENT);
  EXPECT_THAT(qk_last_error(), HasSubstr("zero_points[0] = 256"));
  EXPECT_EQ(qk_quantize(mode, QK_DTYPE_F32, 1, 1, 4, x, 1, &s, nullptr, q),
            QK_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(qk_quantize(static_cast<qk_numerics>(99), QK_DTYPE_U8, 1, 1, 4, x, 1, &s, nullptr, q),
            QK_ERROR_INVALID_ARGUMENT);
  const float nan_input[2] = {1.0f, NAN};
  EXPECT_EQ(qk_quantize(mode, QK_DTYPE_U8, 1, 1, 2, nan_input, 1, &s, nullptr, q),
            QK_ERROR_INVALID_ARGUMENT);
  EXPECT_THAT(qk_last_error(), HasSubstr("input[1] is NaN"));
  EXPECT_EQ(qk_quantize(mode, QK_DTYPE_U8, kHuge, 4, 1, x, 1, &s, nullptr, q),
            QK_ERROR_SIZE_OVERFLOW);
  EXPECT_EQ(qk_dequantize(mode, QK_DTYPE_U8, 1, kHuge, 4, q, 1, &s, nullptr, nullptr),
            QK_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(qk_dequantize(mode, QK_DTYPE_U8, 1, kHuge, 4, q, 1, &s, nullptr, const_cast<float*>(x)),
            QK_ERROR_SIZE_OVERFLOW);
  int32_t q32[4];
  for (qk_numerics n : {QK_NUMERICS_ONNXRUNTIME, QK_NUMERICS_TFLITE}) {
    EXPECT_EQ(qk_quantize(n, QK_DTYPE_S32, 1, 1, 4, x, 1, &s, nullptr, q32), QK_ERROR_UNSUPPORTED);
    EXPECT_EQ(qk_dequantize(n, QK_DTYPE_S32, 1, 1, 4, q32, 1, &s, nullptr, const_cast<float*>(x)),
              QK_ERROR_UNSUPPORTED);
  }
}

// ---------------------------------------------------------------------------------------------
// conv2d: every validation rule of create, output_size and run
// ---------------------------------------------------------------------------------------------
class Conv2dApi : public testing::Test {
 protected:
  void SetUp() override {
    qk_conv2d_desc_init(&d_);
    d_.numerics = QK_NUMERICS_PYTORCH_QNNPACK;
    d_.input_channels = 4;
    d_.output_channels = 6;
    d_.groups = 2;
    d_.kernel_height = d_.kernel_width = 3;
    d_.padding_top = d_.padding_left = d_.padding_bottom = d_.padding_right = 1;
    d_.input_type = d_.output_type = QK_DTYPE_U8;
    d_.input_scale = 0.05;
    d_.input_zero_point = 128;
    weights_.assign(6 * 2 * 3 * 3, 1);
    d_.weights = weights_.data();
    scales_.assign(6, 0.01);
    zero_points_.assign(6, 0);
    d_.weight_scale_count = 1;
    d_.weight_scales = scales_.data();
    bias_f_.assign(6, 0.5f);
    bias_i_.assign(6, 7);
    d_.output_scale = 0.2;
    d_.output_zero_point = 120;
  }

  qk_status Create(const qk_conv2d_desc& d) {
    qk_conv2d* op = reinterpret_cast<qk_conv2d*>(0x1);
    const qk_status s = qk_conv2d_create(&d, &op);
    if (s != QK_SUCCESS) {
      EXPECT_EQ(op, nullptr) << "a failed create sets *op to NULL";
      EXPECT_STRNE(qk_last_error(), "") << "a failure comes with a message";
    }
    qk_conv2d_delete(op);
    return s;
  }

  // Applies one change to the valid descriptor and returns create's status.
  template <typename F>
  qk_status With(F change) {
    qk_conv2d_desc d = d_;
    change(d);
    return Create(d);
  }

  qk_conv2d_desc d_;
  std::vector<int8_t> weights_;
  std::vector<double> scales_;
  std::vector<int32_t> zero_points_;
  std::vector<float> bias_f_;
  std::vector<int32_t> bias_i_;
};

TEST_F(Conv2dApi, ValidDescriptorCreates) { EXPECT_EQ(Create(d_), QK_SUCCESS) << qk_last_error(); }

TEST_F(Conv2dApi, CreateInvalidArguments) {
  qk_conv2d* op = nullptr;
  EXPECT_EQ(qk_conv2d_create(nullptr, &op), QK_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(qk_conv2d_create(&d_, nullptr), QK_ERROR_INVALID_ARGUMENT);
  const auto invalid = QK_ERROR_INVALID_ARGUMENT;
  EXPECT_EQ(With([](auto& d) { d.struct_size = 8; }), invalid);
  EXPECT_THAT(qk_last_error(), HasSubstr("qk_conv2d_desc_init"));
  EXPECT_EQ(With([](auto& d) { d.numerics = static_cast<qk_numerics>(0); }), invalid);
  EXPECT_EQ(With([](auto& d) { d.input_channels = 0; }), invalid);
  EXPECT_EQ(With([](auto& d) { d.output_channels = 0; }), invalid);
  EXPECT_EQ(With([](auto& d) { d.groups = 0; }), invalid);
  EXPECT_EQ(With([](auto& d) { d.kernel_width = 0; }), invalid);
  EXPECT_EQ(With([](auto& d) { d.groups = 3; }), invalid);
  EXPECT_THAT(qk_last_error(), HasSubstr("must divide"));
  EXPECT_EQ(With([](auto& d) { d.stride_height = 0; }), invalid);
  EXPECT_EQ(With([](auto& d) { d.dilation_width = 0; }), invalid);
  EXPECT_EQ(With([](auto& d) { d.weights = nullptr; }), invalid);
  EXPECT_EQ(With([](auto& d) { d.input_pixel_stride = 3; }), invalid);
  EXPECT_EQ(With([](auto& d) { d.output_pixel_stride = 5; }), invalid);
  EXPECT_EQ(With([](auto& d) { d.input_type = QK_DTYPE_S32; }), invalid);
  EXPECT_EQ(With([](auto& d) { d.output_type = QK_DTYPE_F32; }), invalid);
  for (double s : {0.0, -0.5, double(NAN), double(INFINITY), 1e-50, 1e300}) {
    EXPECT_EQ(With([&](auto& d) { d.input_scale = s; }), invalid) << s;
    EXPECT_EQ(With([&](auto& d) { d.output_scale = s; }), invalid) << s;
    EXPECT_EQ(With([&](auto&) { scales_[0] = s; }), invalid) << s;
    scales_[0] = 0.01;
  }
  EXPECT_EQ(With([](auto& d) { d.input_zero_point = 256; }), invalid);
  EXPECT_EQ(With([](auto& d) { d.input_zero_point = -1; }), invalid);
  EXPECT_EQ(With([](auto& d) { d.output_zero_point = 300; }), invalid);
  EXPECT_EQ(With([](auto& d) { d.weight_scale_count = 2; }), invalid);
  EXPECT_EQ(With([](auto& d) { d.weight_scale_count = 0; }), invalid);
  EXPECT_EQ(With([](auto& d) { d.weight_scales = nullptr; }), invalid);
  EXPECT_EQ(With([&](auto& d) {
              zero_points_[0] = 128;
              d.weight_zero_points = zero_points_.data();
            }),
            invalid);
  zero_points_[0] = 0;
  EXPECT_EQ(With([](auto& d) { d.output_min = 10, d.output_max = 9; }), invalid);
  EXPECT_EQ(With([](auto& d) { d.bias_type = QK_DTYPE_F32; }), invalid);
  EXPECT_THAT(qk_last_error(), HasSubstr("bias is NULL"));
  EXPECT_EQ(With([&](auto& d) { d.bias_type = QK_DTYPE_U8, d.bias = bias_f_.data(); }), invalid);
  EXPECT_EQ(With([&](auto& d) {
              bias_f_[2] = NAN;
              d.bias_type = QK_DTYPE_F32, d.bias = bias_f_.data();
            }),
            invalid);
  EXPECT_THAT(qk_last_error(), HasSubstr("bias[2]"));
  bias_f_[2] = 0.5f;
}

TEST_F(Conv2dApi, CreateSizeOverflow) {
  const auto overflow = QK_ERROR_SIZE_OVERFLOW;
  EXPECT_EQ(With([](auto& d) { d.kernel_height = d.kernel_width = size_t{1} << 33; }), overflow);
  EXPECT_EQ(With([](auto& d) { d.dilation_height = kHuge; }), overflow);
  EXPECT_EQ(With([](auto& d) { d.padding_left = kHuge; }), overflow);
}

TEST_F(Conv2dApi, CreateOutOfMemory) {
  // 2^40 output channels of a 1x1 kernel: the per-channel tables alone need terabytes. The
  // weights are never read because allocation fails first.
  EXPECT_EQ(With([](auto& d) {
              d.groups = 1;
              d.output_channels = size_t{1} << 40;
              d.kernel_height = d.kernel_width = 1;
            }),
            QK_ERROR_OUT_OF_MEMORY);
}

// Each framework's refusals (numerics.md): QK_ERROR_UNSUPPORTED with the reason.
TEST_F(Conv2dApi, CreateUnsupportedByTheFramework) {
  const auto unsupported = QK_ERROR_UNSUPPORTED;
  // every mode: output type = input type
  EXPECT_EQ(With([](auto& d) { d.output_type = QK_DTYPE_S8; }), unsupported);
  EXPECT_THAT(qk_last_error(), HasSubstr("outputs of the input's type"));
  // bias types
  for (qk_numerics n :
       {QK_NUMERICS_PYTORCH_FBGEMM, QK_NUMERICS_PYTORCH_QNNPACK, QK_NUMERICS_PYTORCH_ONEDNN}) {
    EXPECT_EQ(
        With([&](auto& d) { d.numerics = n, d.bias_type = QK_DTYPE_S32, d.bias = bias_i_.data(); }),
        unsupported);
  }
  for (qk_numerics n : {QK_NUMERICS_ONNXRUNTIME, QK_NUMERICS_TFLITE}) {
    EXPECT_EQ(
        With([&](auto& d) { d.numerics = n, d.bias_type = QK_DTYPE_F32, d.bias = bias_f_.data(); }),
        unsupported);
    EXPECT_EQ(
        With([&](auto& d) { d.numerics = n, d.bias_type = QK_DTYPE_S32, d.bias = bias_i_.data(); }),
        QK_SUCCESS);
  }
  auto s8 = [](qk_conv2d_desc& d) {
    d.input_type = d.output_type = QK_DTYPE_S8;
    d.input_zero_point = 0;
    d.output_zero_point = 0;
  };
  // fbgemm and onednn: quint8 only
  EXPECT_EQ(With([&](auto& d) { s8(d), d.numerics = QK_NUMERICS_PYTORCH_FBGEMM; }), unsupported);
  EXPECT_EQ(With([&](auto& d) { s8(d), d.numerics = QK_NUMERICS_PYTORCH_ONEDNN; }), unsupported);
  EXPECT_THAT(qk_last_error(), HasSubstr("QUint8"));
  // onednn: symmetric weights only
  zero_points_[0] = 3;
  EXPECT_EQ(With([&](auto& d) {
              d.numerics = QK_NUMERICS_PYTORCH_ONEDNN;
              d.weight_zero_points = zero_points_.data();
            }),
            unsupported);
  EXPECT_THAT(qk_last_error(), HasSubstr("symmetric"));
  // qnnpack qint8 (XNNPACK): no weight zero point (per tensor refused, per channel ignored)
  EXPECT_EQ(With([&](auto& d) { s8(d), d.weight_zero_points = zero_points_.data(); }), unsupported);
  EXPECT_EQ(With([&](auto& d) {
              s8(d), d.weight_zero_points = zero_points_.data(), d.weight_scale_count = 6;
            }),
            unsupported);
  zero_points_[0] = 0;
  // qnnpack s8 (XNNPACK): a one-value output range (ReLU with the zero point at the top) is
  // computed as PyTorch 2.x does (every output 127; torch 1.13 refused it)
  EXPECT_EQ(With([&](auto& d) { s8(d), d.relu = 1, d.output_zero_point = 127; }), QK_SUCCESS);
  EXPECT_EQ(With([&](auto& d) { d.relu = 1, d.output_zero_point = 255; }), QK_SUCCESS)
      << "QNNPACK (u8) computes it: every output is 255";
  EXPECT_EQ(With([&](auto& d) {
              d.relu = 1, d.output_zero_point = 255, d.numerics = QK_NUMERICS_PYTORCH_ONEDNN;
            }),
            QK_SUCCESS)
      << "oneDNN computes it (every output is 255)";
  // qnnpack qint8: multiplier must be < 256 (tiny ones compute in PyTorch 2.x: 1.13 aborted)
  EXPECT_EQ(With([&](auto& d) { s8(d), d.output_scale = 0.05 * 0.01 / 256; }), unsupported);
  EXPECT_THAT(qk_last_error(), HasSubstr("256"));
  EXPECT_EQ(With([&](auto& d) { s8(d), d.output_scale = 0.05 * 0.01 * 1e10; }), QK_SUCCESS);
  EXPECT_EQ(With([&](auto& d) { s8(d), d.output_scale = 0.05 * 0.01 / 255; }), QK_SUCCESS);
}

// struct_size (include/qk.h): qk 0.1's 240-byte descriptor gets the defaults of the fields
// appended since; a newer, larger one is accepted when its unknown bytes are zero.
TEST_F(Conv2dApi, DescriptorsFromOtherHeaderVersions) {
  struct Newer {
    qk_conv2d_desc d;
    uint64_t future_field;
  } newer{};
  newer.d = d_;
  newer.d.struct_size = sizeof(Newer);
  EXPECT_EQ(Create(newer.d), QK_SUCCESS) << qk_last_error();
  newer.future_field = 1;
  EXPECT_EQ(Create(newer.d), QK_ERROR_UNSUPPORTED);
  EXPECT_THAT(qk_last_error(), HasSubstr("newer qk"));
  // An old caller's 240 bytes: whatever follows them in memory is not read. weight_quantization
  // (the first appended field) garbage past the caller's struct must not matter.
  qk_conv2d_desc old = d_;
  old.struct_size = 240;
  old.weight_quantization = static_cast<qk_weight_quantization>(77);
  EXPECT_EQ(Create(old), QK_SUCCESS) << qk_last_error();
  old.struct_size = 239;
  EXPECT_EQ(Create(old), QK_ERROR_INVALID_ARGUMENT);
}

TEST_F(Conv2dApi, WeightQuantization) {
  EXPECT_EQ(With([&](auto& d) { d.weight_quantization = QK_WEIGHT_QUANTIZATION_PER_TENSOR; }),
            QK_SUCCESS);
  EXPECT_EQ(With([&](auto& d) { d.weight_quantization = QK_WEIGHT_QUANTIZATION_PER_CHANNEL; }),
            QK_ERROR_INVALID_ARGUMENT)
      << "one scale for 6 channels is not per channel";
  EXPECT_THAT(qk_last_error(), HasSubstr("PER_CHANNEL"));
  EXPECT_EQ(With([&](auto& d) {
              d.weight_scale_count = 6, d.weight_quantization = QK_WEIGHT_QUANTIZATION_PER_TENSOR;
            }),
            QK_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(With([&](auto& d) { d.weight_quantization = static_cast<qk_weight_quantization>(3); }),
            QK_ERROR_INVALID_ARGUMENT);
  // One output channel, per channel: fbgemm divides the bias by ats instead of multiplying by
  // its reciprocal, which the descriptor can now say (golden data: fbgemm-seed31).
  EXPECT_EQ(With([&](auto& d) {
              d.numerics = QK_NUMERICS_PYTORCH_FBGEMM, d.output_channels = 1, d.groups = 1,
              d.input_channels = 2, d.bias_type = QK_DTYPE_F32, d.bias = bias_f_.data(),
              d.weight_quantization = QK_WEIGHT_QUANTIZATION_PER_CHANNEL;
            }),
            QK_SUCCESS)
      << qk_last_error();
}

// Issue 13: an empty effective output range (type range ∩ [output_min, output_max] ∩ ReLU) is
// refused in every mode, including output_min near INT32_MAX (no min - zero_point overflow).
TEST_F(Conv2dApi, EmptyOutputRangeIsRefusedInEveryMode) {
  for (int v = 1; v < 16; v++) {  // qk_numerics's value range (see NumericsNames)
    const auto mode = static_cast<qk_numerics>(v);
    if (qk_numerics_name(mode) == nullptr) continue;
    const bool s8 = mode == QK_NUMERICS_XNNPACK;
    auto base = [&](qk_conv2d_desc& d) {
      d.numerics = mode;
      if (s8) d.input_type = d.output_type = QK_DTYPE_S8, d.input_zero_point = 0;
      d.output_zero_point = s8 ? 100 : 200;
    };
    EXPECT_EQ(With([&](auto& d) { base(d), d.relu = 1, d.output_max = 100 - (s8 ? 50 : 0); }),
              QK_ERROR_INVALID_ARGUMENT)
        << qk_numerics_name(mode);
    EXPECT_THAT(qk_last_error(), HasSubstr("output range is empty"));
    EXPECT_EQ(With([&](auto& d) { base(d), d.output_min = 300; }), QK_ERROR_INVALID_ARGUMENT)
        << qk_numerics_name(mode);
    EXPECT_EQ(With([&](auto& d) { base(d), d.output_min = INT32_MAX - 1; }),
              QK_ERROR_INVALID_ARGUMENT)
        << qk_numerics_name(mode);
    EXPECT_EQ(With([&](auto& d) { base(d), d.output_min = d.output_max = s8 ? 5 : 7; }),
              QK_SUCCESS)
        << qk_numerics_name(mode) << ": a one-value range is not empty: " << qk_last_error();
  }
}

// Issue 13: tflite u8 with finite but huge scales: the float product sx * sw is inf.
TEST_F(Conv2dApi, NonFiniteDerivedScalesAreRefused) {
  scales_[0] = 3e38;
  EXPECT_EQ(With([&](auto& d) { d.numerics = QK_NUMERICS_TFLITE, d.input_scale = 3e38; }),
            QK_ERROR_UNSUPPORTED);
  EXPECT_THAT(qk_last_error(), HasSubstr("overflow"));
  // fbgemm: ats = sx * sw underflows to 0, so 1 / ats is inf and bias * rcp is not a number.
  scales_[0] = 1e-30;
  EXPECT_EQ(With([&](auto& d) {
              d.numerics = QK_NUMERICS_PYTORCH_FBGEMM, d.input_scale = 1e-30,
              d.bias_type = QK_DTYPE_F32, d.bias = bias_f_.data(), d.output_scale = 1e-30;
            }),
            QK_ERROR_UNSUPPORTED);
  scales_[0] = 0.01;
}

// FBGEMM's groupwise kernel overruns its buffers when the groups are not a whole number of its
// blocks (numerics/fbgemm.md §5): refused, with the block size of the emulated CPU.
TEST_F(Conv2dApi, FbgemmGroupwiseOverrunIsRefused) {
  auto groupwise = [&](qk_conv2d_desc& d, qk_numerics mode, size_t groups, size_t per_group) {
    d.numerics = mode, d.groups = groups;
    d.input_channels = d.output_channels = groups * per_group;
    weights_.assign(d.output_channels * per_group * 9, 1);
    d.weights = weights_.data();
  };
  const auto fbgemm = QK_NUMERICS_PYTORCH_FBGEMM, avx2 = QK_NUMERICS_PYTORCH_FBGEMM_AVX2;
  // AVX-512: blocks of 8 groups (2 channels each), 4 (4 channels); AVX2: 4 and 2.
  EXPECT_EQ(With([&](auto& d) { groupwise(d, fbgemm, 9, 2); }), QK_ERROR_UNSUPPORTED);
  EXPECT_THAT(qk_last_error(), HasSubstr("out of bounds"));
  EXPECT_EQ(With([&](auto& d) { groupwise(d, fbgemm, 16, 2); }), QK_SUCCESS);
  EXPECT_EQ(With([&](auto& d) { groupwise(d, fbgemm, 6, 2); }), QK_SUCCESS) << "im2col path";
  EXPECT_EQ(With([&](auto& d) { groupwise(d, avx2, 6, 2); }), QK_ERROR_UNSUPPORTED);
  EXPECT_EQ(With([&](auto& d) { groupwise(d, fbgemm, 5, 4); }), QK_ERROR_UNSUPPORTED);
  EXPECT_EQ(With([&](auto& d) { groupwise(d, avx2, 5, 4); }), QK_ERROR_UNSUPPORTED);
  EXPECT_EQ(With([&](auto& d) { groupwise(d, avx2, 6, 4); }), QK_SUCCESS);
  EXPECT_EQ(With([&](auto& d) { groupwise(d, fbgemm, 3, 8); }), QK_SUCCESS) << "blocks of 1";
  weights_.assign(6 * 2 * 3 * 3, 1);
}

TEST_F(Conv2dApi, OutputSizeAndRun) {
  qk_conv2d* raw = nullptr;
  ASSERT_EQ(qk_conv2d_create(&d_, &raw), QK_SUCCESS) << qk_last_error();
  std::unique_ptr<qk_conv2d, decltype(&qk_conv2d_delete)> op(raw, qk_conv2d_delete);
  EXPECT_STREQ(qk_conv2d_isa(op.get()), qk_get_isa());
  EXPECT_THAT(qk_conv2d_ukernels(op.get()), HasSubstr("qk_gemm_"));
  EXPECT_EQ(qk_conv2d_isa(nullptr), nullptr);
  EXPECT_EQ(qk_conv2d_ukernels(nullptr), nullptr);
  EXPECT_GT(qk_conv2d_workspace_size(op.get()), 0u);
  EXPECT_EQ(qk_conv2d_workspace_size(nullptr), 0u);

  size_t oh = 0, ow = 0;
  ASSERT_EQ(qk_conv2d_output_size(op.get(), 5, 7, &oh, &ow), QK_SUCCESS);
  EXPECT_EQ(oh, 5u);
  EXPECT_EQ(ow, 7u);
  EXPECT_EQ(qk_conv2d_output_size(nullptr, 5, 7, &oh, &ow), QK_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(qk_conv2d_output_size(op.get(), 5, 7, nullptr, &ow), QK_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(qk_conv2d_output_size(op.get(), 0, 7, &oh, &ow), QK_ERROR_INVALID_ARGUMENT);
  EXPECT_THAT(qk_last_error(), HasSubstr("empty output"));
  EXPECT_EQ(qk_conv2d_output_size(op.get(), kHuge, 7, &oh, &ow), QK_ERROR_SIZE_OVERFLOW);

  std::vector<uint8_t> x(2 * 5 * 7 * 4, 130), y(2 * 5 * 7 * 6, 0);
  EXPECT_EQ(qk_conv2d_run(nullptr, 2, 5, 7, x.data(), y.data(), nullptr),
            QK_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(qk_conv2d_run(op.get(), 2, 5, 7, nullptr, y.data(), nullptr),
            QK_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(qk_conv2d_run(op.get(), 2, 5, 7, x.data(), nullptr, nullptr),
            QK_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(qk_conv2d_run(op.get(), 2, 0, 7, x.data(), y.data(), nullptr),
            QK_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(qk_conv2d_run(op.get(), kHuge, 5, 7, x.data(), y.data(), nullptr),
            QK_ERROR_SIZE_OVERFLOW);
  EXPECT_EQ(qk_conv2d_run(op.get(), 0, 5, 7, nullptr, nullptr, nullptr), QK_SUCCESS)
      << "an empty batch is a no-op";
  std::vector<uint8_t> ws(qk_conv2d_workspace_size(op.get()) + 128);
  uint8_t* misaligned = ws.data() + (64 - reinterpret_cast<uintptr_t>(ws.data()) % 64) % 64 + 1;
  EXPECT_EQ(qk_conv2d_run(op.get(), 2, 5, 7, x.data(), y.data(), misaligned),
            QK_ERROR_INVALID_ARGUMENT);
  EXPECT_THAT(qk_last_error(), HasSubstr("64-byte aligned"));
  EXPECT_EQ(std::count(y.begin(), y.end(), 0), static_cast<long>(y.size()))
      << "failed runs write nothing";

  ASSERT_EQ(qk_conv2d_run(op.get(), 2, 5, 7, x.data(), y.data(), misaligned - 1), QK_SUCCESS);
  // x - zx = 2 everywhere, weights 1: interior acc = 2 * 18 = 36, * (0.01*0.05/0.2 = 0.0025)
  // = 0.09 -> 0, + 120.
  EXPECT_EQ(y[(1 * 5 * 7 + 2 * 7 + 3) * 6 + 4], 120);
  qk_conv2d_delete(nullptr);  // accepted

  // The threaded run validates the same way, and its workspace is one slice per thread.
  qk_threadpool* pool = nullptr;
  ASSERT_EQ(qk_threadpool_create(3, &pool), QK_SUCCESS);
  EXPECT_EQ(qk_conv2d_run_threaded(nullptr, 2, 5, 7, x.data(), y.data(), nullptr, pool),
            QK_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(qk_conv2d_run_threaded(op.get(), 2, 5, 7, x.data(), y.data(), misaligned, pool),
            QK_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(qk_conv2d_run_threaded(op.get(), kHuge, 5, 7, x.data(), y.data(), nullptr, pool),
            QK_ERROR_SIZE_OVERFLOW);
  std::vector<uint8_t> y3(y.size());
  void* ws3 = nullptr;
  ASSERT_EQ(posix_memalign(&ws3, 64, 3 * qk_conv2d_workspace_size(op.get())), 0);
  ASSERT_EQ(qk_conv2d_run_threaded(op.get(), 2, 5, 7, x.data(), y3.data(), ws3, pool), QK_SUCCESS);
  EXPECT_EQ(y3, y);
  free(ws3);
  qk_threadpool_delete(pool);
}

}  // namespace
