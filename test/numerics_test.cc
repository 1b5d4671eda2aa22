// Worked examples of each numerics mode, derived by hand from the formulas in docs/numerics.md
// (the intermediate values are written next to each case), for the modes that cannot be run here
// (pytorch-fbgemm, tflite) and for the documented edge cases of all of them: ties, the 2^31
// conversion overflow, where the zero point is added, float vs int32 bias, the multiplier forms.
//
// Each example is a 1x1 convolution, so the accumulator is Σ_c (x_c - x_zp)(w_c - w_zp) and can
// be set exactly.
#include "kernels/numerics.h"

#include <gtest/gtest.h>

#include <cmath>
#include <memory>
#include <vector>

#include "isa_util.h"
#include "qk.h"

namespace {

struct Example {
  qk_numerics numerics = QK_NUMERICS_PYTORCH_FBGEMM;
  qk_dtype type = QK_DTYPE_U8;
  std::vector<int> x;                 // C activations of one pixel
  std::vector<int> w;                 // O x C weights
  std::vector<double> weight_scales;  // 1 or O
  std::vector<int32_t> weight_zero_points;
  double sx = 1, so = 1;
  int32_t zx = 0, zo = 0;
  std::vector<float> bias_f;
  std::vector<int32_t> bias_i;
  bool relu = false;
};

// Runs the example on every ISA; all must agree. Returns the O outputs (as ints).
std::vector<int> RunExample(const Example& e, qk_status* status_out = nullptr) {
  const size_t c = e.x.size(), o = e.w.size() / c;
  std::vector<int8_t> w(e.w.begin(), e.w.end());
  std::vector<uint8_t> x;
  for (int v : e.x) x.push_back(static_cast<uint8_t>(v));
  qk_conv2d_desc d;
  qk_conv2d_desc_init(&d);
  d.numerics = e.numerics;
  d.input_channels = c;
  d.output_channels = o;
  d.kernel_height = d.kernel_width = 1;
  d.input_type = d.output_type = e.type;
  d.input_scale = e.sx;
  d.input_zero_point = e.zx;
  d.weights = w.data();
  d.weight_scale_count = e.weight_scales.size();
  d.weight_scales = e.weight_scales.data();
  d.weight_zero_points = e.weight_zero_points.empty() ? nullptr : e.weight_zero_points.data();
  if (!e.bias_f.empty()) d.bias_type = QK_DTYPE_F32, d.bias = e.bias_f.data();
  if (!e.bias_i.empty()) d.bias_type = QK_DTYPE_S32, d.bias = e.bias_i.data();
  d.output_scale = e.so;
  d.output_zero_point = e.zo;
  d.relu = e.relu;
  std::vector<int> first;
  for (const std::string& isa : qk_test::SupportedIsas()) {
    qk_test::ScopedIsa scoped(isa);
    qk_conv2d* raw = nullptr;
    const qk_status s = qk_conv2d_create(&d, &raw);
    if (status_out) *status_out = s;
    if (s != QK_SUCCESS) return {};
    std::unique_ptr<qk_conv2d, decltype(&qk_conv2d_delete)> op(raw, qk_conv2d_delete);
    std::vector<uint8_t> y(o);
    EXPECT_EQ(qk_conv2d_run(op.get(), 1, 1, 1, x.data(), y.data(), nullptr), QK_SUCCESS);
    std::vector<int> out;
    for (uint8_t v : y) out.push_back(e.type == QK_DTYPE_S8 ? int(int8_t(v)) : int(v));
    if (first.empty()) {
      first = out;
    } else {
      EXPECT_EQ(out, first) << "ISA " << isa << " differs from " << qk_test::SupportedIsas()[0];
    }
  }
  return first;
}

// ---------------------------------------------------------------------------------------------
// pytorch-fbgemm (numerics.md §2.2), from source: cannot be run here.
// ---------------------------------------------------------------------------------------------

// acc = 47 * 51 = 2397; sx = 0.05f, sw = 0.0040480634f, so = 0.034091406f, b = 4.9524183f
// ats = sx*sw = 2.0240317e-4f, mult = ats/so = 0.0059370734f
// per tensor (SIMD): bterm = b * f32(1/(double)ats) = b * 4940.6343f = 24468.088f
//                    v = (2397 + 24468.088) * mult = 159.5 exactly -> rne -> 160 (tie to even)
// per channel:       bterm = b / ats = 24468.086f; v = 159.49998f -> 159
// output zero point 3 is added after rounding: 163 and 162.
TEST(NumericsFbgemm, BiasReciprocalPerTensorDivisionPerChannelAndTieToEven) {
  Example e;
  e.x = {47};
  e.w = {51, 51};
  e.sx = 0.05f;
  e.so = 0.03409140557050705;
  e.zo = 3;
  e.bias_f = {4.952418327331543f, 4.952418327331543f};
  e.weight_scales = {0.0040480634197592735};
  EXPECT_EQ(RunExample(e), (std::vector<int>{163, 163}));
  e.weight_scales = {0.0040480634197592735, 0.0040480634197592735};
  EXPECT_EQ(RunExample(e), (std::vector<int>{162, 162}));
}

// x86 CVTPS2DQ overflow: sx = sw = 1, so = 1/128 -> mult = 128.
// K = 518: acc = 518 * 255 * 127 = 16775430, v = 2147255040 < 2^31 -> r + zp clamps to 255.
// K = 519: acc = 16807815 -> (float) 16807816 -> v = 2151400448 >= 2^31 -> INT32_MIN -> 0,
// or the zero point with ReLU. (pytorch-onednn-1.13 saturates instead: 255; see below.)
TEST(NumericsFbgemm, ConversionOverflowGivesIntegerIndefinite) {
  for (int k : {518, 519}) {
    Example e;
    e.x.assign(k, 255);
    e.w.assign(k, 127);
    e.weight_scales = {1.0};
    e.so = 1.0 / 128;
    e.zo = 10;
    EXPECT_EQ(RunExample(e), (std::vector<int>{k == 518 ? 255 : 0})) << "K=" << k;
    e.relu = true;
    EXPECT_EQ(RunExample(e), (std::vector<int>{k == 518 ? 255 : 10})) << "K=" << k;
    e.numerics = QK_NUMERICS_PYTORCH_QNNPACK;  // same x86 conversion
    e.relu = false;
    EXPECT_EQ(RunExample(e), (std::vector<int>{k == 518 ? 255 : 0})) << "K=" << k;
    e.numerics = QK_NUMERICS_PYTORCH_ONEDNN_1_13;  // saturates in float before converting
    EXPECT_EQ(RunExample(e), (std::vector<int>{255})) << "K=" << k;
  }
}

// Weight zero points (fbgemm carries them): acc = (10-4)*(3-(-2)) + (7-4)*(-5-(-2)) = 30 - 9 = 21
// mult = 1 * 0.5 / 2 = 0.25: v = 5.25 -> 5, + zo 100 = 105.
TEST(NumericsFbgemm, WeightZeroPoint) {
  Example e;
  e.x = {10, 7};
  e.zx = 4;
  e.w = {3, -5};
  e.weight_scales = {0.5};
  e.weight_zero_points = {-2};
  e.so = 2;
  e.zo = 100;
  EXPECT_EQ(RunExample(e), (std::vector<int>{105}));
}

TEST(NumericsFbgemm, RefusesWhatFbgemmCannotCompute) {
  Example e;
  e.x = {1};
  e.w = {1};
  e.weight_scales = {1.0};
  qk_status s;
  e.type = QK_DTYPE_S8;
  RunExample(e, &s);
  EXPECT_EQ(s, QK_ERROR_UNSUPPORTED) << "fbgemm convolutions take quint8 only";
  e.type = QK_DTYPE_U8;
  e.bias_i = {1};
  RunExample(e, &s);
  EXPECT_EQ(s, QK_ERROR_UNSUPPORTED) << "fbgemm biases are float";
}

// ---------------------------------------------------------------------------------------------
// Zero point order: the documented 0.5000001 example (numerics.md §2.4).
// acc = 0, sx = sw = so = 1, float bias b = 0.50000012f, zo = 200.
// onednn: v = 0 + b*1 = 0.50000012, + 200 in float = 200.5 (float spacing 2^-16) -> rne -> 200
// fbgemm: v = 0.50000012 -> rne -> 1, + 200 = 201
// qnnpack: bias quantized to int32 first: rne(0.50000012) = 1 -> acc 1 -> 1 + 200 = 201
// ---------------------------------------------------------------------------------------------
TEST(NumericsZeroPointOrder, OnednnAddsInFloatOthersAfterRounding) {
  Example e;
  e.x = {0};
  e.w = {1};
  e.weight_scales = {1.0};
  e.zo = 200;
  e.bias_f = {0.5000001f};
  e.numerics = QK_NUMERICS_PYTORCH_ONEDNN_1_13;
  EXPECT_EQ(RunExample(e), (std::vector<int>{200}));
  e.numerics = QK_NUMERICS_PYTORCH_FBGEMM;
  EXPECT_EQ(RunExample(e), (std::vector<int>{201}));
  e.numerics = QK_NUMERICS_PYTORCH_QNNPACK;
  EXPECT_EQ(RunExample(e), (std::vector<int>{201}));
}

// ---------------------------------------------------------------------------------------------
// tflite (numerics.md §5), from source: cannot be run here.
// ---------------------------------------------------------------------------------------------
TEST(NumericsTflite, QuantizeMultiplier) {
  struct {
    double m;
    int32_t multiplier, shift;
  } cases[] = {
      {0.25, 1 << 30, -1},                    // frexp: 0.5 * 2^-1
      {1.0, 1 << 30, 1},                      // 0.5 * 2^1
      {0.3, 1288490189, -1},                  // 0.6 * 2^31 = 1288490188.8 -> 1288490189
      {0.75, 1610612736, 0},                  // exact
      {1.0 - 1.0 / (1LL << 40), 1 << 30, 1},  // q*2^31 rounds to 2^31: halved, shift + 1
      {std::ldexp(1.0, -33), 0, 0},           // shift -32 < -31: flushed to zero
      {std::ldexp(1.0, -32), 1 << 30, -31},
      {0.0, 0, 0},
  };
  for (const auto& c : cases) {
    int32_t m = -1, s = -1;
    qk_tflite_quantize_multiplier(c.m, &m, &s);
    EXPECT_EQ(m, c.multiplier) << c.m;
    EXPECT_EQ(s, c.shift) << c.m;
  }
}

TEST(NumericsTflite, FixedPointRounding) {
  // SaturatingRoundingDoublingHighMul(a, 2^30) = a/2 with gemmlowp's nudge: ties of positive
  // products go up (2.5 -> 3), and so do ties of negative ones, because the nudge is 1 - 2^30:
  // (-5 * 2^30 + 1 - 2^30) / 2^31 = -2.9999999995 -> truncated to -2.
  EXPECT_EQ(qk_gemmlowp_srdhm(5, 1 << 30), 3);
  EXPECT_EQ(qk_gemmlowp_srdhm(-5, 1 << 30), -2);
  EXPECT_EQ(qk_gemmlowp_srdhm(-6, 1 << 30), -3);
  EXPECT_EQ(qk_gemmlowp_srdhm(INT32_MIN, INT32_MIN), INT32_MAX);  // the one saturating case
  // RoundingDivideByPOT rounds half away from zero: 3/2 = 1.5 -> 2, -3/2 -> -2, -1/2 -> -1.
  EXPECT_EQ(qk_gemmlowp_rdbpot(3, 1), 2);
  EXPECT_EQ(qk_gemmlowp_rdbpot(-3, 1), -2);
  EXPECT_EQ(qk_gemmlowp_rdbpot(-1, 1), -1);
  EXPECT_EQ(qk_gemmlowp_rdbpot(-2, 2), -1);
  EXPECT_EQ(qk_gemmlowp_rdbpot(5, 2), 1);  // 1.25
  EXPECT_EQ(qk_gemmlowp_rdbpot(INT32_MAX, 31), 1);
  // MultiplyByQuantizedMultiplier(x, 0.3 -> (1288490189, -1)) for x = 1000:
  // SRDHM = (1000 * 1288490189 + 2^30) / 2^31 = 600.50000009 -> 600; RDBPOT(600, 1) = 300.
  EXPECT_EQ(qk_gemmlowp_mbqm(1000, 1288490189, -1), 300);
}

// Double rounding, through the API: s8, sx = sw = 0.5, so = 1 -> m = 0.25 = (2^30, shift -1).
// acc = 5: SRDHM(5, 2^30) = 2.5 -> 3, RDBPOT(3, 1) = 1.5 -> 2   (single rounding: 1.25 -> 1)
// acc = -5: SRDHM = -2.5 -> -2, RDBPOT(-2, 1) = -1             (-1.25 -> -1)
// acc = 7 with int32 bias 4: 11 * 0.25 = 2.75: SRDHM 5.5 -> 6, RDBPOT(6, 1) = 3
// zero point -3 added after: 2 - 3 = -1, -1 - 3 = -4, 3 - 3 = 0.
TEST(NumericsTflite, DoubleRoundingThroughTheOperator) {
  Example e;
  e.numerics = QK_NUMERICS_TFLITE;
  e.type = QK_DTYPE_S8;
  e.sx = 0.5;
  e.weight_scales = {0.5};
  e.so = 1;
  e.zo = -3;
  e.w = {1};
  e.x = {5};
  EXPECT_EQ(RunExample(e), (std::vector<int>{-1}));
  e.x = {-5};
  EXPECT_EQ(RunExample(e), (std::vector<int>{-4}));
  e.x = {7};
  e.bias_i = {4};
  EXPECT_EQ(RunExample(e), (std::vector<int>{0}));
  // ReLU: TFLite's activation_min = max(qmin, zo) -> -3.
  e.x = {-7};
  e.relu = true;
  EXPECT_EQ(RunExample(e), (std::vector<int>{-3}));
}

// uint8 TFLite models take the legacy per-tensor multiplier from the FLOAT product sx*sw
// (GetQuantizedConvolutionMultipler), int8 ones the double product (per channel). With
// sx = 0.1f, sw = 0.3f, so = 0.7f: float product 0.030000001f (0.03000000119...), double
// product 0.0300000004470348...; m = 0.0428571445... vs 0.0428571428...: the multipliers differ.
TEST(NumericsTflite, Uint8UsesTheFloatProduct) {
  qk_conv2d_desc d;
  qk_conv2d_desc_init(&d);
  const int8_t w = 1;
  const double ws = 0.3f;
  d.numerics = QK_NUMERICS_TFLITE;
  d.input_channels = d.output_channels = 1;
  d.kernel_height = d.kernel_width = 1;
  d.input_scale = 0.1f;
  d.output_scale = 0.7f;
  d.weights = &w;
  d.weight_scale_count = 1;
  d.weight_scales = &ws;
  int32_t mult[2], shift[2];
  for (int i = 0; i < 2; i++) {
    d.input_type = d.output_type = i == 0 ? QK_DTYPE_U8 : QK_DTYPE_S8;
    qk_conv_numerics q;
    ASSERT_EQ(qk_conv_numerics_prepare(&d, &q), QK_SUCCESS) << qk_last_error();
    mult[i] = q.multiplier[0];
    shift[i] = q.shift[0];
    qk_conv_numerics_free(&q);
  }
  int32_t want_u8, want_s8, s;
  qk_tflite_quantize_multiplier(double(0.1f * 0.3f) / double(0.7f), &want_u8, &s);
  EXPECT_EQ(mult[0], want_u8);
  qk_tflite_quantize_multiplier(double(0.1f) * double(0.3f) / double(0.7f), &want_s8, &s);
  EXPECT_EQ(mult[1], want_s8);
  EXPECT_NE(mult[0], mult[1]);
  EXPECT_EQ(shift[0], -4);  // 0.0428... = 0.6857 * 2^-4
  EXPECT_EQ(shift[1], -4);
}

TEST(NumericsTflite, Refusals) {
  Example e;
  e.numerics = QK_NUMERICS_TFLITE;
  e.type = QK_DTYPE_S8;
  e.x = {1};
  e.w = {1, 1};
  e.weight_scales = {0.5, 0.5};
  e.weight_zero_points = {0, 1};
  qk_status s;
  RunExample(e, &s);
  EXPECT_EQ(s, QK_ERROR_UNSUPPORTED) << "int8 TFLite weights are symmetric";
  e.type = QK_DTYPE_U8;
  RunExample(e, &s);
  EXPECT_EQ(s, QK_ERROR_UNSUPPORTED) << "uint8 TFLite is per tensor";
  e.weight_scales = {0.5};
  e.weight_zero_points = {1};
  e.so = 1e-12;  // m = 2.5e11 >= 2^30
  RunExample(e, &s);
  EXPECT_EQ(s, QK_ERROR_UNSUPPORTED) << "multiplier too large for the fixed-point shift";
  e.so = 1;
  e.bias_f = {1.0f, 1.0f};  // one per output channel
  RunExample(e, &s);
  EXPECT_EQ(s, QK_ERROR_UNSUPPORTED) << "TFLite biases are int32";
}

// ---------------------------------------------------------------------------------------------
// Saturating conversions (XNNPACK qs8, ONNX Runtime) vs x86's integer indefinite.
// ---------------------------------------------------------------------------------------------
// s8, K = 130, x = -128 (zx = 0) and w = -128 at every k: acc = 130 * 16384 = 2129920; with
// sx = sw = 1, so = 1/1024 the multiplier is 1024 (ORT) -> v = 2.18e9 >= 2^31: ORT clamps in
// float to 127 - zo first and gives 127. XNNPACK refuses multipliers >= 256 (see api tests).
TEST(NumericsSaturating, OnnxRuntimeClampsBeforeConverting) {
  Example e;
  e.numerics = QK_NUMERICS_ONNXRUNTIME;
  e.type = QK_DTYPE_S8;
  e.x.assign(130, -128);
  e.w.assign(130, -128);
  e.weight_scales = {1.0};
  e.so = 1.0 / 1024;
  e.zo = 5;
  EXPECT_EQ(RunExample(e), (std::vector<int>{127}));
  e.w.assign(130, 127);  // acc = -130 * 16256 -> v = -2.16e9 -> -128
  EXPECT_EQ(RunExample(e), (std::vector<int>{-128}));
}

// XNNPACK qs8 multiplier is ((float)sx * (float)sw) / (float)so (a division); QNNPACK's is
// ((float)sw * (float)sx) * (1.0f / (float)so). sx = 0.25, sw = 0.6875, so = 5.0625:
// division 0.033950616f, reciprocal-multiply 0.033950619f; acc = 81 * 2 = 162:
// 162 * 0.033950616f = 5.4999995 -> 5 (qint8), 162 * 0.033950619f = 5.5000005 -> 6 (quint8).
TEST(NumericsQnnpack, MultiplierDivisionForQint8ReciprocalForQuint8) {
  Example e;
  e.numerics = QK_NUMERICS_PYTORCH_QNNPACK;
  e.x = {81};
  e.w = {2};
  e.sx = 0.25;
  e.weight_scales = {0.6875};
  e.so = 5.0625;
  e.zo = 10;
  e.type = QK_DTYPE_U8;
  EXPECT_EQ(RunExample(e), (std::vector<int>{16}));
  e.type = QK_DTYPE_S8;
  EXPECT_EQ(RunExample(e), (std::vector<int>{15}));
}

// torch 1.13 QNNPACK: a bias that saturates at INT32_MAX acts as INT32_MIN in its convolution
// kernels, but stays INT32_MAX when QNNPACK runs a 1x1 stride-1 unpadded convolution as a GEMM
// (found by tools/golden/gen_torch.py's sweep). sx = sw = 1, b = 3e9 -> saturates; acc = 0
// (x = x_zp); so = 2^26: GEMM kind v = 2^31 * 2^-26 = 32 -> 132 with zp 100; convolution kind
// v = -2^31 * 2^-26 = -32 -> 68.
TEST(NumericsQnnpack, SaturatedBiasDependsOnTheKernelQnnpackPicks) {
  for (int padded = 0; padded < 2; padded++) {
    const int8_t w[9] = {1, 1, 1, 1, 1, 1, 1, 1, 1};
    const double ws = 1.0;
    const float bias = 3e9f;
    qk_conv2d_desc d;
    qk_conv2d_desc_init(&d);
    d.numerics = QK_NUMERICS_PYTORCH_QNNPACK;
    d.input_channels = d.output_channels = 1;
    d.kernel_height = d.kernel_width = padded ? 3 : 1;
    d.padding_top = d.padding_left = d.padding_bottom = d.padding_right = padded;
    d.input_type = d.output_type = QK_DTYPE_U8;
    d.input_scale = 1;
    d.input_zero_point = 7;
    d.weights = w;
    d.weight_scale_count = 1;
    d.weight_scales = &ws;
    d.bias_type = QK_DTYPE_F32;
    d.bias = &bias;
    d.output_scale = 67108864.0;  // 2^26
    d.output_zero_point = 100;
    for (const std::string& isa : qk_test::SupportedIsas()) {
      qk_test::ScopedIsa scoped(isa);
      qk_conv2d* op = nullptr;
      ASSERT_EQ(qk_conv2d_create(&d, &op), QK_SUCCESS) << qk_last_error();
      const uint8_t x = 7;
      uint8_t y = 0;
      ASSERT_EQ(qk_conv2d_run(op, 1, 1, 1, &x, &y, nullptr), QK_SUCCESS);
      EXPECT_EQ(int{y}, padded ? 68 : 132) << (padded ? "3x3 padded" : "1x1") << " on " << isa;
      qk_conv2d_delete(op);
    }
  }
}

}  // namespace
