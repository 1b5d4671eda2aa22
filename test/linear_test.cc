// qk_linear: bit-exact against the frameworks' linear (golden files test/data/golden/ops/linear-*,
// tools/golden/gen_linear.py) on every ISA this CPU runs; the linear-specific numerics rules each
// shown to matter (qk's own conv2d, which lacks them, gives other values on the same data); every
// invalid argument with its exact status; strides, batches, threads.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "isa_util.h"
#include "qk.h"

namespace {

// ---------------------------------------------------------------------------------------------
// Golden files (format: docs/ops-linear.md)
// ---------------------------------------------------------------------------------------------
struct LinearCase {
  std::string name, numerics, input_type = "u8", weight_quantization;
  size_t n = 0, k = 0, o = 0;
  double input_scale = 0, output_scale = 0;
  int32_t input_zero_point = 0, output_zero_point = 0;
  std::vector<double> weight_scales;
  std::vector<int32_t> weight_zero_points;
  std::string bias_type = "none";
  std::vector<float> bias_f32;
  std::vector<int32_t> bias_s32;
  bool relu = false;
  std::vector<int32_t> input, weight, output;
  bool expect_unsupported = false;
  std::string reason;
};

template <typename T>
std::vector<T> ReadValues(std::istringstream& in, size_t count, const std::string& where) {
  std::vector<T> v(count);
  for (size_t i = 0; i < count; i++) {
    if (!(in >> v[i])) throw std::runtime_error(where + ": too few values");
  }
  std::string extra;
  if (in >> extra) throw std::runtime_error(where + ": too many values");
  return v;
}

std::vector<LinearCase> ReadLinearGolden(const std::string& path) {
  std::ifstream f(path);
  if (!f) throw std::runtime_error("cannot open " + path);
  std::string line;
  std::getline(f, line);
  if (line != "qk-golden-linear 1") throw std::runtime_error(path + ": not a linear golden file");
  std::vector<LinearCase> cases;
  LinearCase c;
  size_t lineno = 1;
  bool expect_output = false;
  while (std::getline(f, line)) {
    lineno++;
    if (line.empty() || line[0] == '#') continue;
    const std::string where = path + ":" + std::to_string(lineno);
    std::istringstream in(line);
    std::string key;
    in >> key;
    size_t count = 0;
    if (key == "case") {
      c = LinearCase();
      in >> c.name;
      expect_output = false;
    } else if (key == "numerics") {
      in >> c.numerics;
    } else if (key == "input_type") {
      in >> c.input_type;
    } else if (key == "input_shape") {
      in >> c.n >> c.k;
    } else if (key == "weight_shape") {
      size_t k2 = 0;
      in >> c.o >> k2;
      if (k2 != c.k) throw std::runtime_error(where + ": weight K differs from input K");
    } else if (key == "input_scale") {
      in >> c.input_scale;
    } else if (key == "input_zero_point") {
      in >> c.input_zero_point;
    } else if (key == "weight_scales") {
      in >> count;
      c.weight_scales = ReadValues<double>(in, count, where);
    } else if (key == "weight_zero_points") {
      in >> count;
      c.weight_zero_points = ReadValues<int32_t>(in, count, where);
    } else if (key == "weight_quantization") {
      in >> c.weight_quantization;
    } else if (key == "bias") {
      in >> c.bias_type;
      if (c.bias_type == "f32") {
        in >> count;
        c.bias_f32 = ReadValues<float>(in, count, where);
      } else if (c.bias_type == "s32") {
        in >> count;
        c.bias_s32 = ReadValues<int32_t>(in, count, where);
      } else if (c.bias_type != "none") {
        throw std::runtime_error(where + ": bad bias type");
      }
    } else if (key == "output_scale") {
      in >> c.output_scale;
    } else if (key == "output_zero_point") {
      in >> c.output_zero_point;
    } else if (key == "relu") {
      int r = 0;
      in >> r;
      c.relu = r != 0;
    } else if (key == "input") {
      c.input = ReadValues<int32_t>(in, c.n * c.k, where);
    } else if (key == "weight") {
      c.weight = ReadValues<int32_t>(in, c.o * c.k, where);
    } else if (key == "expect") {
      std::string what;
      in >> what;
      if (what == "output") {
        expect_output = true;
      } else if (what == "unsupported") {
        c.expect_unsupported = true;
        std::getline(in, c.reason);
      } else {
        throw std::runtime_error(where + ": bad expect");
      }
    } else if (key == "output") {
      if (!expect_output) throw std::runtime_error(where + ": output without expect output");
      c.output = ReadValues<int32_t>(in, c.n * c.o, where);
    } else if (key == "end") {
      cases.push_back(c);
    } else {
      throw std::runtime_error(where + ": unknown key '" + key + "'");
    }
  }
  return cases;
}

struct Result {
  qk_status status = QK_SUCCESS;
  std::string message, ukernels;
  std::vector<int32_t> output;
};

// Runs a golden case through qk_linear (as_conv2d: through qk_conv2d as a 1x1 convolution over
// the rows instead, i.e. without the linear rules), rows `stride_pad` elements wider than dense.
Result RunCase(const LinearCase& c, bool as_conv2d = false, size_t stride_pad = 0,
               const char* numerics_override = nullptr) {
  Result r;
  qk_numerics numerics;
  EXPECT_EQ(
      qk_numerics_from_name(numerics_override ? numerics_override : c.numerics.c_str(), &numerics),
      QK_SUCCESS);
  const qk_dtype type = c.input_type == "s8" ? QK_DTYPE_S8 : QK_DTYPE_U8;
  std::vector<int8_t> w(c.weight.begin(), c.weight.end());
  const size_t in_stride = c.k + stride_pad, out_stride = c.o + stride_pad;
  std::vector<uint8_t> x(c.n * in_stride, 0xA5), y(c.n * out_stride, 0x5A);
  for (size_t i = 0; i < c.n; i++) {
    for (size_t j = 0; j < c.k; j++)
      x[i * in_stride + j] = static_cast<uint8_t>(c.input[i * c.k + j]);
  }
  const qk_weight_quantization wq =
      c.weight_quantization == "per-channel"  ? QK_WEIGHT_QUANTIZATION_PER_CHANNEL
      : c.weight_quantization == "per-tensor" ? QK_WEIGHT_QUANTIZATION_PER_TENSOR
                                              : QK_WEIGHT_QUANTIZATION_AUTO;
  const qk_dtype bias_type = c.bias_type == "f32"   ? QK_DTYPE_F32
                             : c.bias_type == "s32" ? QK_DTYPE_S32
                                                    : QK_DTYPE_NONE;
  const void* bias = c.bias_type == "f32"   ? static_cast<const void*>(c.bias_f32.data())
                     : c.bias_type == "s32" ? static_cast<const void*>(c.bias_s32.data())
                                            : nullptr;
  if (as_conv2d) {
    qk_conv2d_desc d;
    qk_conv2d_desc_init(&d);
    d.numerics = numerics;
    d.input_channels = c.k;
    d.output_channels = c.o;
    d.kernel_height = d.kernel_width = 1;
    d.input_type = d.output_type = type;
    d.input_scale = c.input_scale;
    d.input_zero_point = c.input_zero_point;
    d.weights = w.data();
    d.weight_scale_count = c.weight_scales.size();
    d.weight_scales = c.weight_scales.data();
    d.weight_zero_points = c.weight_zero_points.data();
    d.weight_quantization = wq;
    d.bias_type = bias_type;
    d.bias = bias;
    d.output_scale = c.output_scale;
    d.output_zero_point = c.output_zero_point;
    d.relu = c.relu;
    d.input_pixel_stride = in_stride;
    d.output_pixel_stride = out_stride;
    qk_conv2d* op = nullptr;
    r.status = qk_conv2d_create(&d, &op);
    if (r.status == QK_SUCCESS)
      r.status = qk_conv2d_run(op, 1, 1, c.n, x.data(), y.data(), nullptr);
    if (r.status != QK_SUCCESS) r.message = qk_last_error();
    qk_conv2d_delete(op);
  } else {
    qk_linear_desc d;
    qk_linear_desc_init(&d);
    d.numerics = numerics;
    d.input_channels = c.k;
    d.output_channels = c.o;
    d.input_type = d.output_type = type;
    d.input_scale = c.input_scale;
    d.input_zero_point = c.input_zero_point;
    d.weights = w.data();
    d.weight_scale_count = c.weight_scales.size();
    d.weight_scales = c.weight_scales.data();
    d.weight_zero_points = c.weight_zero_points.data();
    d.weight_quantization = wq;
    d.bias_type = bias_type;
    d.bias = bias;
    d.output_scale = c.output_scale;
    d.output_zero_point = c.output_zero_point;
    d.relu = c.relu;
    d.input_row_stride = in_stride;
    d.output_row_stride = out_stride;
    qk_linear* op = nullptr;
    r.status = qk_linear_create(&d, &op);
    if (r.status == QK_SUCCESS) {
      r.ukernels = qk_linear_ukernels(op);
      r.status = qk_linear_run(op, c.n, x.data(), y.data(), nullptr);
    }
    if (r.status != QK_SUCCESS) r.message = qk_last_error();
    qk_linear_delete(op);
  }
  if (r.status != QK_SUCCESS) return r;
  r.output.resize(c.n * c.o);
  for (size_t i = 0; i < c.n; i++) {
    for (size_t j = 0; j < c.o; j++) {
      const uint8_t v = y[i * out_stride + j];
      r.output[i * c.o + j] = type == QK_DTYPE_S8 ? static_cast<int8_t>(v) : v;
    }
    for (size_t j = c.o; j < out_stride; j++) {
      EXPECT_EQ(y[i * out_stride + j], 0x5A) << c.name << ": wrote past the row";
    }
  }
  return r;
}

std::string GoldenPath(const char* file) { return std::string(QK_LINEAR_GOLDEN_DIR) + "/" + file; }

// torch 1.13 refused a qint8 (XNNPACK) linear_relu whose output range is one value (output zero
// point 127: "xnn create operator failed(2)"); qk's pytorch-qnnpack follows PyTorch 2.x, which
// accepts a one-value range (numerics/pytorch26.md §3): every output 127.
bool OneValueRangeRefusedBy113(const LinearCase& c) {
  return c.expect_unsupported && c.numerics == "pytorch-qnnpack" && c.input_type == "s8" &&
         c.relu && c.output_zero_point == 127 && c.reason.find("failed(2)") != std::string::npos;
}

class LinearGolden : public testing::TestWithParam<const char*> {};

TEST_P(LinearGolden, BitExactOnEveryIsa) {
  const std::vector<LinearCase> cases = ReadLinearGolden(GoldenPath(GetParam()));
  ASSERT_FALSE(cases.empty());
  const std::vector<std::string> isas = qk_test::SupportedIsas();
  std::stringstream compiled(qk_compiled_isas());
  for (std::string isa; compiled >> isa;) {
    if (std::find(isas.begin(), isas.end(), isa) == isas.end()) {
      std::printf("[ linear   ] not run: %s (this CPU cannot run it)\n", isa.c_str());
    }
  }
  for (const std::string& isa : isas) {
    qk_test::ScopedIsa scoped(isa);
    size_t exact = 0, refused = 0, constant = 0, bad_cases = 0, values = 0;
    for (size_t ci = 0; ci < cases.size(); ci++) {
      const LinearCase& c = cases[ci];
      // Alternate dense rows and rows in a wider buffer (strides).
      const Result r = RunCase(c, false, ci % 3 == 1 ? 5 : 0);
      if (OneValueRangeRefusedBy113(c)) {
        ASSERT_EQ(r.status, QK_SUCCESS) << c.name << ": " << r.message;
        for (int32_t v : r.output) ASSERT_EQ(v, 127) << c.name;
        constant++;
        continue;
      }
      if (c.expect_unsupported) {
        EXPECT_EQ(r.status, QK_ERROR_UNSUPPORTED)
            << c.name << ": the framework refused it (" << c.reason << "), qk returned "
            << qk_status_string(r.status) << " " << r.message;
        refused++;
        continue;
      }
      ASSERT_EQ(r.status, QK_SUCCESS) << c.name << " on " << isa << ": " << r.message;
      size_t bad = 0;
      for (size_t i = 0; i < c.output.size(); i++) {
        if (r.output[i] != c.output[i] && bad++ < 3) {
          ADD_FAILURE() << c.name << " on " << isa << " (" << r.ukernels << "): output[" << i
                        << "] = " << r.output[i] << ", expected " << c.output[i];
        }
      }
      values += c.output.size();
      bad_cases += bad != 0;
      exact += bad == 0;
    }
    std::printf(
        "[ linear   ] %s on %s: %zu cases bit-exact (%zu values), %zu refusals matched, %zu "
        "torch 1.13 refusals computed as PyTorch 2.x (constant 127), %zu bad cases\n",
        GetParam(), isa.c_str(), exact, values, refused, constant, bad_cases);
    EXPECT_EQ(bad_cases, 0u);
  }
}

INSTANTIATE_TEST_SUITE_P(Files, LinearGolden,
                         testing::Values("linear-qnnpack.txt", "linear-onednn.txt",
                                         "linear-onednn26-ref.txt", "linear-fbgemm.txt",
                                         "linear-fbgemm-avx2.txt",
                                         // real torch 2.6 (tools/debian13-root.sh,
                                         // gen_linear.py --torch26)
                                         "linear-torch26-qnnpack.txt",
                                         "linear-torch26-onednn.txt"),
                         [](const testing::TestParamInfo<const char*>& info) {
                           std::string s = info.param;
                           for (char& ch : s) {
                             if (!isalnum(static_cast<unsigned char>(ch))) ch = '_';
                           }
                           return s;
                         });

// The PyTorch >= 2.2 onednn rule (weight scale f32(1/f32(1/ws)), numerics/pytorch26.md §2)
// matters: qk's conv2d (which keeps ws, the conv rule) misses cases of the reference file that
// qk_linear gets right.
TEST(LinearRules, OnednnDoubleReciprocalWeightScaleMatters) {
  const std::vector<LinearCase> cases = ReadLinearGolden(GoldenPath("linear-onednn26-ref.txt"));
  size_t differ = 0;
  for (const LinearCase& c : cases) {
    if (c.expect_unsupported) continue;
    const Result conv = RunCase(c, true);
    ASSERT_EQ(conv.status, QK_SUCCESS) << conv.message;
    differ += conv.output != c.output;
  }
  std::printf("[ linear   ] pytorch-onednn: %zu of %zu cases need the linear weight-scale rule\n",
              differ, cases.size());
  EXPECT_GE(differ, 10u);
}

// The 1.13 onednn and qnnpack goldens need no linear rule: the conv2d gives the same values
// (qnnpack's GEMM path: a saturated int32 bias stays INT32_MAX in both).
TEST(LinearRules, Torch113LinearEqualsOneByOneConv) {
  for (const char* file : {"linear-qnnpack.txt", "linear-onednn.txt"}) {
    for (const LinearCase& c : ReadLinearGolden(GoldenPath(file))) {
      if (c.expect_unsupported) continue;
      const Result conv = RunCase(c, true);
      ASSERT_EQ(conv.status, QK_SUCCESS) << c.name << ": " << conv.message;
      EXPECT_EQ(conv.output, c.output) << c.name;
    }
  }
}

// Every linear of PyTorch's x86 engine is FBGEMM's: pytorch-x86 gives pytorch-fbgemm's values,
// where a conv2d of the same data under pytorch-x86 is oneDNN's (symmetric weights).
TEST(LinearRules, X86IsFbgemm) {
  size_t conv_differs = 0;
  for (const LinearCase& c : ReadLinearGolden(GoldenPath("linear-onednn.txt"))) {
    if (c.expect_unsupported) continue;
    const Result x86 = RunCase(c, false, 0, "pytorch-x86");
    const Result fbgemm = RunCase(c, false, 0, "pytorch-fbgemm");
    const Result conv_x86 = RunCase(c, true, 0, "pytorch-x86");
    ASSERT_EQ(x86.status, QK_SUCCESS) << x86.message;
    ASSERT_EQ(fbgemm.status, QK_SUCCESS) << fbgemm.message;
    ASSERT_EQ(conv_x86.status, QK_SUCCESS) << conv_x86.message;
    EXPECT_EQ(x86.output, fbgemm.output) << c.name;
    conv_differs += conv_x86.output != x86.output;
  }
  EXPECT_GT(conv_differs, 0u);
}

// ---------------------------------------------------------------------------------------------
// Hand-computed cases
// ---------------------------------------------------------------------------------------------
LinearCase OneRow(const char* numerics, const char* type, double sx, double sw, double so,
                  std::vector<int32_t> x, std::vector<int32_t> w, int32_t ozp) {
  LinearCase c;
  c.name = numerics;
  c.numerics = numerics;
  c.input_type = type;
  c.n = 1;
  c.k = x.size();
  c.o = w.size() / x.size();
  c.input_scale = sx;
  c.output_scale = so;
  c.output_zero_point = ozp;
  c.weight_scales = {sw};
  c.weight_zero_points = {0};
  c.input = x;
  c.weight = w;
  return c;
}

// gemmlowp MultiplyByQuantizedMultiplier (TFLite reference, double rounding).
int32_t Mbqm(int32_t x, int32_t m, int shift) {
  const int left = shift > 0 ? shift : 0, right = shift > 0 ? 0 : -shift;
  const int64_t a = static_cast<int64_t>(x) * (int64_t{1} << left);
  const int64_t ab = a * m;
  const int64_t nudge = ab >= 0 ? (int64_t{1} << 30) : 1 - (int64_t{1} << 30);
  const int32_t high = static_cast<int32_t>((ab + nudge) / (int64_t{1} << 31));
  const int32_t mask = static_cast<int32_t>((int64_t{1} << right) - 1);
  const int32_t rem = high & mask, thr = (mask >> 1) + (high < 0 ? 1 : 0);
  return (high >> right) + (rem > thr ? 1 : 0);
}

void TfliteMultiplier(double real, int32_t* m, int* shift) {
  const double q = std::frexp(real, shift);
  int64_t f = static_cast<int64_t>(std::round(q * 2147483648.0));
  if (f == (int64_t{1} << 31)) f /= 2, ++*shift;
  *m = static_cast<int32_t>(f);
}

// TFLite's int8 fully connected with per-tensor weights takes the multiplier from the FLOAT
// product sx * sw (kernel_util.cc GetQuantizedConvolutionMultipler), its conv the double one.
// Scales where the two multipliers differ, and an accumulator where that shows in the output.
TEST(LinearRules, TfliteInt8PerTensorFloatProduct) {
  std::mt19937 rng(7);
  std::uniform_real_distribution<double> u(-8, -2);
  for (int tries = 0; tries < 100000; tries++) {
    const float sx = static_cast<float>(std::pow(2.0, u(rng))) * 1.37f;
    const float sw = static_cast<float>(std::pow(2.0, u(rng))) * 1.11f;
    const float so = static_cast<float>(std::pow(2.0, u(rng) + 6));
    int32_t mf, md;
    int shf, shd;
    TfliteMultiplier(static_cast<double>(sx * sw) / static_cast<double>(so), &mf, &shf);
    TfliteMultiplier(static_cast<double>(sx) * static_cast<double>(sw) / static_cast<double>(so),
                     &md, &shd);
    if (mf == md && shf == shd) continue;
    // An accumulator t = x * 127 (one weight 127) whose output differs.
    for (int32_t x = -127; x <= 127; x++) {
      const int32_t t = x * 127;
      const int32_t yf = std::clamp(Mbqm(t, mf, shf), -128, 127);
      const int32_t yd = std::clamp(Mbqm(t, md, shd), -128, 127);
      if (yf == yd) continue;
      LinearCase c = OneRow("tflite", "s8", sx, sw, so, {x}, {127}, 0);
      c.weight_quantization = "per-tensor";
      for (const std::string& isa : qk_test::SupportedIsas()) {
        qk_test::ScopedIsa scoped(isa);
        const Result lin = RunCase(c), conv = RunCase(c, true);
        ASSERT_EQ(lin.status, QK_SUCCESS) << lin.message;
        ASSERT_EQ(conv.status, QK_SUCCESS) << conv.message;
        EXPECT_EQ(lin.output[0], yf) << "sx " << sx << " sw " << sw << " so " << so << " x " << x;
        EXPECT_EQ(conv.output[0], yd);
      }
      return;
    }
  }
  FAIL() << "no scales found where the float and double products differ";
}

// Fully connected refusals that the same data as a conv2d does not get.
TEST(LinearRules, Refusals) {
  // XNNPACK's fully connected (PyTorch qnnpack, qint8): per-tensor weights only.
  LinearCase c = OneRow("pytorch-qnnpack", "s8", 0.1, 0.01, 0.05, {1, 2}, {3, 4, 5, 6}, 0);
  c.weight_scales = {0.01, 0.02};
  c.weight_zero_points = {0, 0};
  EXPECT_EQ(RunCase(c).status, QK_ERROR_UNSUPPORTED);
  EXPECT_EQ(RunCase(c, true).status, QK_SUCCESS);
  c.weight_scales = {0.01};
  c.weight_zero_points = {0};
  c.weight_quantization = "per-channel";
  c.weight.resize(2);
  c.o = 1;
  EXPECT_EQ(RunCase(c).status, QK_ERROR_UNSUPPORTED);
  // ONNX Runtime's QLinearMatMul has no bias.
  LinearCase ort = OneRow("onnxruntime", "u8", 0.1, 0.01, 0.05, {1, 2}, {3, 4}, 3);
  ort.bias_type = "s32";
  ort.bias_s32 = {5};
  const Result r = RunCase(ort);
  EXPECT_EQ(r.status, QK_ERROR_UNSUPPORTED);
  EXPECT_NE(r.message.find("linear: onnxruntime"), std::string::npos) << r.message;
  EXPECT_EQ(RunCase(ort, true).status, QK_SUCCESS);
  ort.bias_type = "none";
  const Result ok = RunCase(ort);
  ASSERT_EQ(ok.status, QK_SUCCESS) << ok.message;
  // (1*3 + 2*4) = 11; 11 * ((0.1f * 0.01f) / 0.05f) = 0.22 -> 0, + 3
  EXPECT_EQ(ok.output[0], 3);
}

// ---------------------------------------------------------------------------------------------
// API
// ---------------------------------------------------------------------------------------------
struct Fixture {
  static constexpr int8_t w[6] = {1, -2, 3, 4, 5, -6};  // O = 2, K = 3
  double ws = 0.02;
  qk_linear_desc d;
  Fixture() {
    qk_linear_desc_init(&d);
    d.numerics = QK_NUMERICS_PYTORCH_QNNPACK;
    d.input_channels = 3;
    d.output_channels = 2;
    d.input_type = d.output_type = QK_DTYPE_U8;
    d.input_scale = 0.1;
    d.input_zero_point = 10;
    d.weights = w;
    d.weight_scale_count = 1;
    d.weight_scales = &ws;
    d.output_scale = 0.05;
    d.output_zero_point = 100;
  }
};

qk_status Create(const qk_linear_desc& d) {
  qk_linear* op = nullptr;
  const qk_status s = qk_linear_create(&d, &op);
  EXPECT_EQ(s == QK_SUCCESS, op != nullptr);
  qk_linear_delete(op);
  return s;
}

TEST(LinearApi, DescInitDefaults) {
  qk_linear_desc d;
  std::memset(&d, 0x7f, sizeof(d));
  qk_linear_desc_init(&d);
  EXPECT_EQ(d.struct_size, sizeof(d));
  EXPECT_EQ(d.output_min, INT32_MIN);
  EXPECT_EQ(d.output_max, INT32_MAX);
  EXPECT_EQ(d.input_row_stride, 0u);
  EXPECT_EQ(d.weight_quantization, QK_WEIGHT_QUANTIZATION_AUTO);
  EXPECT_EQ(d.bias, nullptr);
}

TEST(LinearApi, InvalidArguments) {
  Fixture f;
  EXPECT_EQ(Create(f.d), QK_SUCCESS);
  qk_linear* op = reinterpret_cast<qk_linear*>(1);
  EXPECT_EQ(qk_linear_create(nullptr, &op), QK_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(op, nullptr);
  EXPECT_EQ(qk_linear_create(&f.d, nullptr), QK_ERROR_INVALID_ARGUMENT);
  auto expect = [&](qk_status want, const char* needle, auto edit) {
    Fixture g;
    edit(g.d);
    EXPECT_EQ(Create(g.d), want) << needle << ": " << qk_last_error();
    EXPECT_NE(std::string(qk_last_error()).find(needle), std::string::npos) << qk_last_error();
  };
  expect(QK_ERROR_INVALID_ARGUMENT, "struct_size", [](qk_linear_desc& d) { d.struct_size = 8; });
  expect(QK_ERROR_INVALID_ARGUMENT, "numerics",
         [](qk_linear_desc& d) { d.numerics = static_cast<qk_numerics>(99); });
  expect(QK_ERROR_INVALID_ARGUMENT, "input_channels",
         [](qk_linear_desc& d) { d.input_channels = 0; });
  expect(QK_ERROR_INVALID_ARGUMENT, "output_channels",
         [](qk_linear_desc& d) { d.output_channels = 0; });
  expect(QK_ERROR_SIZE_OVERFLOW, "input_channels",
         [](qk_linear_desc& d) { d.input_channels = size_t{1} << 33; });
  expect(QK_ERROR_INVALID_ARGUMENT, "weights is NULL",
         [](qk_linear_desc& d) { d.weights = nullptr; });
  expect(QK_ERROR_INVALID_ARGUMENT, "row stride",
         [](qk_linear_desc& d) { d.input_row_stride = 2; });
  expect(QK_ERROR_INVALID_ARGUMENT, "row stride",
         [](qk_linear_desc& d) { d.output_row_stride = 1; });
  expect(QK_ERROR_INVALID_ARGUMENT, "linear: input_type",
         [](qk_linear_desc& d) { d.input_type = QK_DTYPE_S32; });
  expect(QK_ERROR_INVALID_ARGUMENT, "linear: output_type",
         [](qk_linear_desc& d) { d.output_type = QK_DTYPE_F32; });
  expect(QK_ERROR_INVALID_ARGUMENT, "input_scale", [](qk_linear_desc& d) { d.input_scale = 0; });
  expect(QK_ERROR_INVALID_ARGUMENT, "output_scale",
         [](qk_linear_desc& d) { d.output_scale = NAN; });
  expect(QK_ERROR_INVALID_ARGUMENT, "input_zero_point",
         [](qk_linear_desc& d) { d.input_zero_point = 256; });
  expect(QK_ERROR_INVALID_ARGUMENT, "output_zero_point",
         [](qk_linear_desc& d) { d.output_zero_point = -1; });
  expect(QK_ERROR_INVALID_ARGUMENT, "weight_scales",
         [](qk_linear_desc& d) { d.weight_scale_count = 3; });
  expect(QK_ERROR_INVALID_ARGUMENT, "weight_scales",
         [](qk_linear_desc& d) { d.weight_scales = nullptr; });
  static const int32_t bad_zp = 200;
  expect(QK_ERROR_INVALID_ARGUMENT, "weight_zero_points",
         [](qk_linear_desc& d) { d.weight_zero_points = &bad_zp; });
  expect(QK_ERROR_INVALID_ARGUMENT, "PER_CHANNEL",
         [](qk_linear_desc& d) { d.weight_quantization = QK_WEIGHT_QUANTIZATION_PER_CHANNEL; });
  expect(QK_ERROR_INVALID_ARGUMENT, "weight_quantization",
         [](qk_linear_desc& d) { d.weight_quantization = static_cast<qk_weight_quantization>(7); });
  expect(QK_ERROR_INVALID_ARGUMENT, "output_min", [](qk_linear_desc& d) {
    d.output_min = 10;
    d.output_max = 5;
  });
  expect(QK_ERROR_INVALID_ARGUMENT, "empty", [](qk_linear_desc& d) { d.output_min = 300; });
  expect(QK_ERROR_INVALID_ARGUMENT, "bias is NULL",
         [](qk_linear_desc& d) { d.bias_type = QK_DTYPE_F32; });
  static const float nan_bias[2] = {NAN, 0};
  expect(QK_ERROR_INVALID_ARGUMENT, "bias[0]", [](qk_linear_desc& d) {
    d.bias_type = QK_DTYPE_F32;
    d.bias = nan_bias;
  });
  expect(QK_ERROR_UNSUPPORTED, "output", [](qk_linear_desc& d) { d.output_type = QK_DTYPE_S8; });
  static const int32_t s32_bias[2] = {1, 2};
  expect(QK_ERROR_UNSUPPORTED, "f32 biases", [](qk_linear_desc& d) {
    d.bias_type = QK_DTYPE_S32;
    d.bias = s32_bias;
  });
  expect(QK_ERROR_UNSUPPORTED, "QUint8", [](qk_linear_desc& d) {
    d.numerics = QK_NUMERICS_PYTORCH_ONEDNN;
    d.input_type = d.output_type = QK_DTYPE_S8;
    d.input_zero_point = d.output_zero_point = 0;
  });
  static const int32_t wzp = 3;
  expect(QK_ERROR_UNSUPPORTED, "symmetric", [](qk_linear_desc& d) {
    d.numerics = QK_NUMERICS_PYTORCH_ONEDNN_1_13;
    d.weight_zero_points = &wzp;
  });
  expect(QK_ERROR_UNSUPPORTED, "256", [](qk_linear_desc& d) {
    d.input_type = d.output_type = QK_DTYPE_S8;
    d.input_zero_point = d.output_zero_point = 0;
    d.output_scale = 1e-6;
  });
  // A newer caller's descriptor with unknown nonzero bytes.
  struct Bigger {
    qk_linear_desc d;
    uint64_t extra;
  } big;
  Fixture g;
  big.d = g.d;
  big.d.struct_size = sizeof(big);
  big.extra = 0;
  EXPECT_EQ(Create(big.d), QK_SUCCESS);
  big.extra = 1;
  EXPECT_EQ(Create(big.d), QK_ERROR_UNSUPPORTED);
}

TEST(LinearApi, RunArguments) {
  Fixture f;
  qk_linear* op = nullptr;
  ASSERT_EQ(qk_linear_create(&f.d, &op), QK_SUCCESS);
  uint8_t x[6] = {10, 20, 30, 40, 50, 60}, y[4] = {0, 0, 0, 0};
  EXPECT_EQ(qk_linear_run(nullptr, 2, x, y, nullptr), QK_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(qk_linear_run(op, 2, nullptr, y, nullptr), QK_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(qk_linear_run(op, 2, x, nullptr, nullptr), QK_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(qk_last_error()).find("qk_linear_run:"), std::string::npos);
  EXPECT_EQ(qk_linear_run(op, 0, nullptr, nullptr, nullptr), QK_SUCCESS);
  EXPECT_EQ(qk_linear_run(op, SIZE_MAX / 2, x, y, nullptr), QK_ERROR_SIZE_OVERFLOW);
  std::vector<uint8_t> ws(qk_linear_workspace_size(op) + 128);
  uint8_t* aligned = ws.data() + (64 - reinterpret_cast<uintptr_t>(ws.data()) % 64) % 64;
  EXPECT_EQ(qk_linear_run(op, 2, x, y, aligned + 1), QK_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(qk_last_error()).find("qk_linear_run: workspace"), std::string::npos)
      << qk_last_error();
  ASSERT_EQ(qk_linear_run(op, 2, x, y, aligned), QK_SUCCESS);
  // Row 0: Σ (x - 10) w = 0*1 + 10*-2 + 20*3 = 40; acc * (0.02f*0.1f)*(1/0.05f) = 1.6 -> 2, +100
  // Row 1: 30*1 + 40*-2 + 50*3 = 100 -> 4 + 100 = 104 ... for o = 0; o = 1: w = 4 5 -6
  //   row 0: 0 + 50 - 120 = -70 -> -2.8 -> -3 + 100 = 97; row 1: 120 + 200 - 300 = 20 -> 0.8 -> 101
  EXPECT_EQ(y[0], 102);
  EXPECT_EQ(y[1], 97);
  EXPECT_EQ(y[2], 104);
  EXPECT_EQ(y[3], 101);
  EXPECT_EQ(qk_linear_run_threaded(nullptr, 1, x, y, nullptr, nullptr), QK_ERROR_INVALID_ARGUMENT);
  EXPECT_STRNE(qk_linear_isa(op), nullptr);
  EXPECT_NE(std::string(qk_linear_ukernels(op)).find("gemm"), std::string::npos);
  EXPECT_EQ(qk_linear_isa(nullptr), nullptr);
  EXPECT_EQ(qk_linear_ukernels(nullptr), nullptr);
  EXPECT_EQ(qk_linear_workspace_size(nullptr), 0u);
  qk_linear_delete(op);
  qk_linear_delete(nullptr);
}

// Random shapes in every mode: the same bytes for 1, 2 and 3 threads, with and without strides,
// as qk's own 1x1 conv2d over the rows where no linear rule applies.
TEST(LinearApi, ThreadsStridesAndModes) {
  std::mt19937 rng(3);
  qk_threadpool* pools[2] = {nullptr, nullptr};
  ASSERT_EQ(qk_threadpool_create(2, &pools[0]), QK_SUCCESS);
  ASSERT_EQ(qk_threadpool_create(3, &pools[1]), QK_SUCCESS);
  const qk_numerics modes[] = {QK_NUMERICS_PYTORCH_FBGEMM,  QK_NUMERICS_PYTORCH_FBGEMM_AVX2,
                               QK_NUMERICS_PYTORCH_QNNPACK, QK_NUMERICS_PYTORCH_ONEDNN_1_13,
                               QK_NUMERICS_PYTORCH_ONEDNN,  QK_NUMERICS_PYTORCH_X86,
                               QK_NUMERICS_ONNXRUNTIME,     QK_NUMERICS_TFLITE,
                               QK_NUMERICS_XNNPACK};
  for (const std::string& isa : qk_test::SupportedIsas()) {
    qk_test::ScopedIsa scoped(isa);
    for (int iter = 0; iter < 60; iter++) {
      const qk_numerics mode = modes[iter % 9];
      const bool s8 =
          mode == QK_NUMERICS_XNNPACK ||
          ((mode == QK_NUMERICS_ONNXRUNTIME || mode == QK_NUMERICS_PYTORCH_QNNPACK) && rng() % 2);
      LinearCase c;
      c.numerics = qk_numerics_name(mode);
      c.input_type = s8 ? "s8" : "u8";
      c.n = 1 + rng() % 70;
      c.k = 1 + rng() % 300;
      c.o = 1 + rng() % 50;
      c.input_scale = 0.01 + (rng() % 100) * 1e-3;
      c.output_scale = c.input_scale * 0.01 * (1 + rng() % 50);
      c.output_zero_point = s8 ? -5 : 120;
      c.input_zero_point = s8 ? 3 : 130;
      const bool pc = mode != QK_NUMERICS_XNNPACK && rng() % 2 &&
                      !(mode == QK_NUMERICS_PYTORCH_QNNPACK && s8) &&
                      !(mode == QK_NUMERICS_TFLITE && !s8);
      for (size_t i = 0; i < (pc ? c.o : 1); i++) {
        c.weight_scales.push_back(0.001 + (rng() % 50) * 1e-4);
        c.weight_zero_points.push_back(0);
      }
      for (size_t i = 0; i < c.n * c.k; i++) {
        c.input.push_back(static_cast<int32_t>(rng() % 256) - (s8 ? 128 : 0));
      }
      for (size_t i = 0; i < c.o * c.k; i++)
        c.weight.push_back(static_cast<int32_t>(rng() % 256) - 128);
      if (mode == QK_NUMERICS_TFLITE || mode == QK_NUMERICS_XNNPACK) {
        c.bias_type = "s32";
        for (size_t i = 0; i < c.o; i++)
          c.bias_s32.push_back(static_cast<int32_t>(rng() % 2001) - 1000);
      } else if (mode != QK_NUMERICS_ONNXRUNTIME) {
        c.bias_type = "f32";
        for (size_t i = 0; i < c.o; i++)
          c.bias_f32.push_back(static_cast<float>(rng() % 200) * 0.01f);
      }
      c.relu = rng() % 2;
      const Result dense = RunCase(c), strided = RunCase(c, false, 7);
      ASSERT_EQ(dense.status, QK_SUCCESS) << c.numerics << ": " << dense.message;
      EXPECT_EQ(dense.output, strided.output) << c.numerics;
      const bool has_rule = mode == QK_NUMERICS_PYTORCH_ONEDNN || mode == QK_NUMERICS_PYTORCH_X86 ||
                            mode == QK_NUMERICS_TFLITE;
      if (!has_rule) {
        EXPECT_EQ(dense.output, RunCase(c, true).output) << c.numerics;
      }
      // Threads: run the op directly.
      qk_linear_desc d;
      qk_linear_desc_init(&d);
      d.numerics = mode;
      d.input_channels = c.k;
      d.output_channels = c.o;
      d.input_type = d.output_type = s8 ? QK_DTYPE_S8 : QK_DTYPE_U8;
      d.input_scale = c.input_scale;
      d.input_zero_point = c.input_zero_point;
      std::vector<int8_t> w(c.weight.begin(), c.weight.end());
      d.weights = w.data();
      d.weight_scale_count = c.weight_scales.size();
      d.weight_scales = c.weight_scales.data();
      d.bias_type = c.bias_type == "f32"   ? QK_DTYPE_F32
                    : c.bias_type == "s32" ? QK_DTYPE_S32
                                           : QK_DTYPE_NONE;
      d.bias = c.bias_type == "f32" ? static_cast<const void*>(c.bias_f32.data())
                                    : static_cast<const void*>(c.bias_s32.data());
      d.output_scale = c.output_scale;
      d.output_zero_point = c.output_zero_point;
      d.relu = c.relu;
      qk_linear* op = nullptr;
      ASSERT_EQ(qk_linear_create(&d, &op), QK_SUCCESS) << qk_last_error();
      std::vector<uint8_t> x(c.input.begin(), c.input.end());
      for (qk_threadpool* pool : pools) {
        std::vector<uint8_t> y(c.n * c.o);
        ASSERT_EQ(qk_linear_run_threaded(op, c.n, x.data(), y.data(), nullptr, pool), QK_SUCCESS);
        for (size_t i = 0; i < y.size(); i++) {
          const int32_t v = s8 ? static_cast<int8_t>(y[i]) : y[i];
          ASSERT_EQ(v, dense.output[i]) << c.numerics << " threads " << qk_threadpool_threads(pool);
        }
      }
      qk_linear_delete(op);
    }
  }
  qk_threadpool_delete(pools[0]);
  qk_threadpool_delete(pools[1]);
}

}  // namespace

namespace {

// Many row tiles and output-channel blocks: batch 777 x K 700 -> O 130, u8 (direct rows) and s8
// (im2col copies), the same bytes as qk's 1x1 conv2d over the rows and for 1 and 3 threads.
TEST(LinearApi, LargeBatch) {
  std::mt19937 rng(11);
  qk_threadpool* pool = nullptr;
  ASSERT_EQ(qk_threadpool_create(3, &pool), QK_SUCCESS);
  for (const char* type : {"u8", "s8"}) {
    LinearCase c;
    c.numerics = "pytorch-qnnpack";
    c.input_type = type;
    c.n = 777;
    c.k = 700;
    c.o = 130;
    c.input_scale = 0.02;
    c.output_scale = 2.0;
    c.input_zero_point = std::string(type) == "s8" ? -7 : 121;
    c.output_zero_point = std::string(type) == "s8" ? 3 : 128;
    c.weight_scales = {0.003};
    c.weight_zero_points = {0};
    for (size_t i = 0; i < c.n * c.k; i++) {
      c.input.push_back(static_cast<int32_t>(rng() % 256) - (std::string(type) == "s8" ? 128 : 0));
    }
    for (size_t i = 0; i < c.o * c.k; i++)
      c.weight.push_back(static_cast<int32_t>(rng() % 256) - 128);
    for (const std::string& isa : qk_test::SupportedIsas()) {
      qk_test::ScopedIsa scoped(isa);
      const Result lin = RunCase(c, false, 3), conv = RunCase(c, true);
      ASSERT_EQ(lin.status, QK_SUCCESS) << lin.message;
      ASSERT_EQ(lin.output, conv.output) << type << " on " << isa;
      qk_linear_desc d;
      qk_linear_desc_init(&d);
      d.numerics = QK_NUMERICS_PYTORCH_QNNPACK;
      d.input_channels = c.k;
      d.output_channels = c.o;
      d.input_type = d.output_type = std::string(type) == "s8" ? QK_DTYPE_S8 : QK_DTYPE_U8;
      d.input_scale = c.input_scale;
      d.input_zero_point = c.input_zero_point;
      std::vector<int8_t> w(c.weight.begin(), c.weight.end());
      d.weights = w.data();
      d.weight_scale_count = 1;
      d.weight_scales = c.weight_scales.data();
      d.output_scale = c.output_scale;
      d.output_zero_point = c.output_zero_point;
      qk_linear* op = nullptr;
      ASSERT_EQ(qk_linear_create(&d, &op), QK_SUCCESS) << qk_last_error();
      const size_t ws_bytes = qk_linear_workspace_size(op) * qk_threadpool_threads(pool);
      std::vector<uint8_t> ws(ws_bytes + 64);
      uint8_t* aligned = ws.data() + (64 - reinterpret_cast<uintptr_t>(ws.data()) % 64) % 64;
      std::vector<uint8_t> x(c.input.begin(), c.input.end()), y(c.n * c.o);
      ASSERT_EQ(qk_linear_run_threaded(op, c.n, x.data(), y.data(), aligned, pool), QK_SUCCESS);
      for (size_t i = 0; i < y.size(); i++) {
        const int32_t v = std::string(type) == "s8" ? static_cast<int8_t>(y[i]) : y[i];
        ASSERT_EQ(v, lin.output[i]) << type << " on " << isa << " at " << i;
      }
      qk_linear_delete(op);
    }
  }
  qk_threadpool_delete(pool);
}

}  // namespace
