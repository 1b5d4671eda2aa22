// qk_pool2d against real PyTorch 1.13 (test/data/golden/ops/pool-*.txt, tools/golden/gen_pool.py)
// on every ISA this CPU runs, plus hand-worked examples of the rules that tell the modes apart,
// threading, pixel strides and every invalid-argument path.
#include <gtest/gtest.h>

#include <cstdint>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "isa_util.h"
#include "qk.h"

namespace {

struct PoolCase {
  std::string name, numerics, op, type, memory_format;
  int64_t n = 0, c = 0, h = 0, w = 0, kh = 1, kw = 1, sh = 1, sw = 1, ph = 0, pw = 0, dh = 1,
          dw = 1, ceil = 0, cip = 1, div = 0, oh = 0, ow = 0;
  double scale = 0;
  int32_t zp = 0;
  std::vector<int32_t> input, output;
  bool expect_error = false;
  std::string error;
  int64_t out_h = 0, out_w = 0;
};

std::vector<int32_t> ReadInts(std::istringstream& ss) {
  std::vector<int32_t> v;
  for (int32_t x; ss >> x;) v.push_back(x);
  return v;
}

std::vector<PoolCase> ReadPoolFile(const std::string& path) {
  std::ifstream f(path);
  if (!f) throw std::runtime_error("cannot open " + path);
  std::string line;
  std::getline(f, line);
  if (line != "qk-golden-pool2d 1") throw std::runtime_error(path + ": bad magic");
  std::vector<PoolCase> cases;
  PoolCase c;
  while (std::getline(f, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream ss(line);
    std::string key;
    ss >> key;
    if (key == "case")
      ss >> c.name;
    else if (key == "numerics")
      ss >> c.numerics;
    else if (key == "op")
      ss >> c.op;
    else if (key == "type")
      ss >> c.type;
    else if (key == "shape")
      ss >> c.n >> c.c >> c.h >> c.w;
    else if (key == "kernel")
      ss >> c.kh >> c.kw;
    else if (key == "stride")
      ss >> c.sh >> c.sw;
    else if (key == "padding")
      ss >> c.ph >> c.pw;
    else if (key == "dilation")
      ss >> c.dh >> c.dw;
    else if (key == "ceil_mode")
      ss >> c.ceil;
    else if (key == "count_include_pad")
      ss >> c.cip;
    else if (key == "divisor_override")
      ss >> c.div;
    else if (key == "output_size")
      ss >> c.oh >> c.ow;
    else if (key == "memory_format")
      ss >> c.memory_format;
    else if (key == "scale")
      ss >> c.scale;
    else if (key == "zero_point")
      ss >> c.zp;
    else if (key == "input")
      c.input = ReadInts(ss);
    else if (key == "output")
      c.output = ReadInts(ss);
    else if (key == "expect") {
      std::string what;
      ss >> what;
      if (what == "ok") {
        ss >> c.out_h >> c.out_w;
      } else {
        c.expect_error = true;
        std::getline(ss, c.error);
      }
    } else if (key == "end") {
      if (!c.expect_error &&
          c.output.size() != static_cast<size_t>(c.n * c.c * c.out_h * c.out_w)) {
        throw std::runtime_error(path + ": " + c.name + ": output size mismatch");
      }
      cases.push_back(c);
      c = PoolCase();
    } else {
      throw std::runtime_error(path + ": unknown key " + key);
    }
  }
  return cases;
}

struct Result {
  qk_status status = QK_SUCCESS;
  std::string message;
  std::vector<int32_t> output;  // NCHW
  int64_t oh = 0, ow = 0;
};

// Runs a case through the C API (NHWC with pixel strides `extra` elements wider than C).
Result RunCase(const PoolCase& c, qk_numerics numerics, size_t extra_in, size_t extra_out,
               qk_threadpool* pool = nullptr) {
  qk_pool2d_desc d;
  qk_pool2d_desc_init(&d);
  d.numerics = numerics;
  d.kind = c.op == "max"   ? QK_POOL2D_MAX
           : c.op == "avg" ? QK_POOL2D_AVERAGE
                           : QK_POOL2D_ADAPTIVE_AVERAGE;
  d.type = c.type == "u8" ? QK_DTYPE_U8 : QK_DTYPE_S8;
  d.channels = static_cast<size_t>(c.c);
  d.kernel_height = static_cast<size_t>(c.kh), d.kernel_width = static_cast<size_t>(c.kw);
  d.stride_height = static_cast<size_t>(c.sh), d.stride_width = static_cast<size_t>(c.sw);
  d.padding_top = d.padding_bottom = static_cast<size_t>(c.ph);
  d.padding_left = d.padding_right = static_cast<size_t>(c.pw);
  if (d.kind == QK_POOL2D_MAX) {
    d.dilation_height = static_cast<size_t>(c.dh), d.dilation_width = static_cast<size_t>(c.dw);
  }
  d.ceil_mode = static_cast<int>(c.ceil);
  d.count_include_pad = static_cast<int>(c.cip);
  d.divisor_override = c.div;
  d.output_height = static_cast<size_t>(c.oh), d.output_width = static_cast<size_t>(c.ow);
  d.memory_format =
      c.memory_format == "channels_last" ? QK_PYTORCH_CHANNELS_LAST : QK_PYTORCH_CONTIGUOUS;
  d.input_scale = c.scale;
  d.input_zero_point = c.zp;
  const size_t C = d.channels, ips = C + extra_in, ops = C + extra_out;
  d.input_pixel_stride = extra_in ? ips : 0;
  d.output_pixel_stride = extra_out ? ops : 0;
  Result r;
  qk_pool2d* op = nullptr;
  r.status = qk_pool2d_create(&d, &op);
  if (r.status != QK_SUCCESS) {
    r.message = qk_last_error();
    return r;
  }
  const size_t N = static_cast<size_t>(c.n), H = static_cast<size_t>(c.h),
               W = static_cast<size_t>(c.w);
  size_t oh = 0, ow = 0;
  r.status = qk_pool2d_output_size(op, H, W, &oh, &ow);
  if (r.status != QK_SUCCESS) {
    r.message = qk_last_error();
    qk_pool2d_delete(op);
    return r;
  }
  std::vector<uint8_t> in(N * H * W * ips, 0xA5), out(N * oh * ow * ops, 0x5A);
  for (size_t n = 0; n < N; n++)
    for (size_t ch = 0; ch < C; ch++)
      for (size_t y = 0; y < H; y++)
        for (size_t x = 0; x < W; x++)
          in[((n * H + y) * W + x) * ips + ch] =
              static_cast<uint8_t>(c.input[((n * C + ch) * H + y) * W + x]);
  r.status = pool ? qk_pool2d_run_threaded(op, N, H, W, in.data(), out.data(), pool)
                  : qk_pool2d_run(op, N, H, W, in.data(), out.data());
  qk_pool2d_delete(op);
  if (r.status != QK_SUCCESS) {
    r.message = qk_last_error();
    return r;
  }
  r.oh = static_cast<int64_t>(oh), r.ow = static_cast<int64_t>(ow);
  r.output.resize(N * C * oh * ow);
  for (size_t n = 0; n < N; n++)
    for (size_t ch = 0; ch < C; ch++)
      for (size_t y = 0; y < oh; y++)
        for (size_t x = 0; x < ow; x++) {
          const size_t px = (n * oh + y) * ow + x;
          const uint8_t b = out[px * ops + ch];
          r.output[((n * C + ch) * oh + y) * ow + x] =
              d.type == QK_DTYPE_S8 ? static_cast<int8_t>(b) : b;
          for (size_t e = C; e < ops; e++) {
            if (out[px * ops + e] != 0x5A) r.status = QK_ERROR_INVALID_ARGUMENT;  // overwrite
          }
        }
  if (r.status != QK_SUCCESS) r.message = "wrote past the channels of an output pixel";
  return r;
}

// The numerics modes a golden file's engine stands for: ATen's pooling code is the same for
// every engine but qnnpack, so the onednn-engine runs are what fbgemm / x86 / onednn compute.
std::vector<qk_numerics> ModesOf(const std::string& numerics) {
  if (numerics == "pytorch-qnnpack") return {QK_NUMERICS_PYTORCH_QNNPACK};
  return {QK_NUMERICS_PYTORCH_ONEDNN_1_13, QK_NUMERICS_PYTORCH_ONEDNN, QK_NUMERICS_PYTORCH_FBGEMM,
          QK_NUMERICS_PYTORCH_FBGEMM_AVX2, QK_NUMERICS_PYTORCH_X86};
}

class PoolGolden : public testing::TestWithParam<std::string> {};

TEST_P(PoolGolden, MatchesPyTorchOnEveryIsa) {
  const std::string path = std::string(QK_POOL_GOLDEN_DIR) + "/pool-" + GetParam() + ".txt";
  const std::vector<PoolCase> cases = ReadPoolFile(path);
  ASSERT_GT(cases.size(), 50u);
  size_t runs = 0, values = 0, refusals = 0, mismatches = 0;
  for (const std::string& isa : qk_test::SupportedIsas()) {
    qk_test::ScopedIsa scoped(isa);
    for (const PoolCase& c : cases) {
      for (qk_numerics mode : ModesOf(c.numerics)) {
        // Dense tensors, and every third case with wider pixels on both sides.
        const size_t extra = runs % 3 == 0 ? 3 : 0;
        const Result r = RunCase(c, mode, extra, extra ? 5 : 0);
        runs++;
        if (c.expect_error) {
          EXPECT_NE(r.status, QK_SUCCESS) << isa << " " << c.name << " (torch: " << c.error << ")";
          refusals++;
          continue;
        }
        ASSERT_EQ(r.status, QK_SUCCESS) << isa << " " << c.name << ": " << r.message;
        ASSERT_EQ(r.oh, c.out_h) << c.name;
        ASSERT_EQ(r.ow, c.out_w) << c.name;
        size_t bad = 0;
        for (size_t i = 0; i < c.output.size(); i++) bad += r.output[i] != c.output[i];
        EXPECT_EQ(bad, 0u) << isa << " " << qk_numerics_name(mode) << " " << c.name;
        mismatches += bad;
        values += c.output.size();
      }
    }
  }
  std::printf(
      "pool-%s: %zu runs over %zu ISAs, %zu values compared, %zu refusals reproduced, "
      "%zu mismatches\n",
      GetParam().c_str(), runs, qk_test::SupportedIsas().size(), values, refusals, mismatches);
}

INSTANTIATE_TEST_SUITE_P(Files, PoolGolden,
                         testing::Values("qnnpack-max", "qnnpack-avg", "qnnpack-adaptive",
                                         "onednn-max", "onednn-avg", "onednn-adaptive",
                                         "qnnpack-max-seed8", "qnnpack-avg-seed8",
                                         "qnnpack-adaptive-seed8", "onednn-max-seed8",
                                         "onednn-avg-seed8", "onednn-adaptive-seed8",
                                         // real torch 2.6 (gen_pool.py --torch26)
                                         "torch26-qnnpack-max", "torch26-qnnpack-avg",
                                         "torch26-qnnpack-adaptive", "torch26-onednn-max",
                                         "torch26-onednn-avg", "torch26-onednn-adaptive"),
                         [](const testing::TestParamInfo<std::string>& i) {
                           std::string s = i.param;
                           for (char& ch : s) ch = ch == '-' ? '_' : ch;
                           return s;
                         });

TEST(PoolGolden, ThreadedRunsGiveTheSameBytes) {
  for (const char* file : {"qnnpack-max", "qnnpack-avg", "qnnpack-adaptive", "onednn-max",
                           "onednn-avg", "onednn-adaptive"}) {
    const std::vector<PoolCase> cases =
        ReadPoolFile(std::string(QK_POOL_GOLDEN_DIR) + "/pool-" + file + ".txt");
    for (size_t threads : {2, 3, 7}) {
      qk_threadpool* pool = nullptr;
      ASSERT_EQ(qk_threadpool_create(threads, &pool), QK_SUCCESS);
      for (size_t i = threads; i < cases.size(); i += 3) {
        if (cases[i].expect_error) continue;
        const qk_numerics mode = ModesOf(cases[i].numerics)[0];
        const Result r = RunCase(cases[i], mode, 1, 2, pool);
        ASSERT_EQ(r.status, QK_SUCCESS) << r.message;
        EXPECT_EQ(r.output, cases[i].output) << cases[i].name << " threads " << threads;
      }
      qk_threadpool_delete(pool);
    }
  }
}

// ---- hand-worked examples: each rule, on inputs where the alternative gives another answer ----

qk_pool2d_desc Desc(qk_numerics numerics, qk_pool2d_kind kind, qk_dtype type, size_t c) {
  qk_pool2d_desc d;
  qk_pool2d_desc_init(&d);
  d.numerics = numerics;
  d.kind = kind;
  d.type = type;
  d.channels = c;
  d.input_scale = 0.5;
  return d;
}

std::vector<uint8_t> RunPool(const qk_pool2d_desc& d, size_t h, size_t w,
                             const std::vector<uint8_t>& in, size_t* oh = nullptr,
                             size_t* ow = nullptr) {
  qk_pool2d* op = nullptr;
  EXPECT_EQ(qk_pool2d_create(&d, &op), QK_SUCCESS) << qk_last_error();
  if (op == nullptr) return {};
  size_t a = 0, b = 0;
  EXPECT_EQ(qk_pool2d_output_size(op, h, w, &a, &b), QK_SUCCESS);
  std::vector<uint8_t> out(a * b * d.channels);
  EXPECT_EQ(qk_pool2d_run(op, 1, h, w, in.data(), out.data()), QK_SUCCESS) << qk_last_error();
  qk_pool2d_delete(op);
  if (oh) *oh = a;
  if (ow) *ow = b;
  return out;
}

// QNNPACK (pytorch-qnnpack u8) clamps padding taps to the edge: 1x3 input [9 1 5], kernel 1x2,
// dilation 2, padding 1: window of output 0 = taps -1, 1 -> clamped 0, 1 -> max(9, 1) = 9;
// ignoring the padding tap gives max(1) = 1.
TEST(PoolRules, QnnpackMaxClampsPaddingTapsToTheEdge) {
  for (const std::string& isa : qk_test::SupportedIsas()) {
    qk_test::ScopedIsa s(isa);
    qk_pool2d_desc d = Desc(QK_NUMERICS_PYTORCH_QNNPACK, QK_POOL2D_MAX, QK_DTYPE_U8, 1);
    d.kernel_height = 1, d.kernel_width = 2, d.stride_height = d.stride_width = 1;
    d.dilation_width = 2, d.padding_left = d.padding_right = 1;
    size_t oh = 0, ow = 0;
    std::vector<uint8_t> y = RunPool(d, 1, 3, {9, 1, 5}, &oh, &ow);
    ASSERT_EQ(ow, 3u);
    EXPECT_EQ(y, (std::vector<uint8_t>{9, 9, 5})) << isa;  // taps (-1,1) (0,2) (1,3->2)
    d.numerics = QK_NUMERICS_PYTORCH_ONEDNN_1_13;
    EXPECT_EQ(RunPool(d, 1, 3, {9, 1, 5}), (std::vector<uint8_t>{1, 9, 1})) << isa;
  }
}

// Channels-last avg_pool2d adds the zero point after rounding, contiguous before: acc = 1 over a
// window of 2, zp = 3: NHWC rne(0.5) + 3 = 3; NCHW rne(0.5 + 3) = 4.
TEST(PoolRules, AverageZeroPointDependsOnTheMemoryFormat) {
  for (const std::string& isa : qk_test::SupportedIsas()) {
    qk_test::ScopedIsa s(isa);
    qk_pool2d_desc d = Desc(QK_NUMERICS_PYTORCH_FBGEMM, QK_POOL2D_AVERAGE, QK_DTYPE_U8, 2);
    d.kernel_height = 1, d.kernel_width = 2;
    d.input_zero_point = 3;
    const std::vector<uint8_t> in = {3, 3, 4, 4};  // pixel 0: (3, 3), pixel 1: (4, 4)
    EXPECT_EQ(RunPool(d, 1, 2, in), (std::vector<uint8_t>{3, 3})) << isa;
    d.memory_format = QK_PYTORCH_CONTIGUOUS;
    EXPECT_EQ(RunPool(d, 1, 2, in), (std::vector<uint8_t>{4, 4})) << isa;
    d.channels = 1;  // C == 1: ATen sees a channels-last tensor, NHWC formula
    EXPECT_EQ(RunPool(d, 1, 2, {3, 4}), (std::vector<uint8_t>{3})) << isa;
  }
}

// QNNPACK average pooling divides by kh*kw whatever count_include_pad says: 2x2 input of 8,
// zp 0, kernel 2x2, padding 1, no count_include_pad: corner window holds one pixel: ATen 8 / 1
// = 8, QNNPACK 8 / 4 = 2.
TEST(PoolRules, QnnpackAverageDividesByTheKernelSize) {
  for (const std::string& isa : qk_test::SupportedIsas()) {
    qk_test::ScopedIsa s(isa);
    qk_pool2d_desc d = Desc(QK_NUMERICS_PYTORCH_QNNPACK, QK_POOL2D_AVERAGE, QK_DTYPE_U8, 1);
    d.kernel_height = d.kernel_width = 2;
    d.padding_top = d.padding_bottom = d.padding_left = d.padding_right = 1;
    d.count_include_pad = 0;
    EXPECT_EQ(RunPool(d, 2, 2, {8, 8, 8, 8})[0], 2) << isa;
    d.type = QK_DTYPE_S8;  // qint8 on the qnnpack engine: ATen's kernel
    EXPECT_EQ(RunPool(d, 2, 2, {8, 8, 8, 8})[0], 8) << isa;
  }
}

// Contiguous adaptive_avg_pool2d never uses the zero point: s8 values -1 and 0 averaged with zp 5:
// NCHW rne(-0.5) = 0 (ignores zp: -0 -> 0); NHWC rne((-1 - 5 + 0 - 5) / 2) + 5 = rne(-5.5) + 5 =
// -1.
TEST(PoolRules, AdaptiveContiguousIgnoresTheZeroPoint) {
  for (const std::string& isa : qk_test::SupportedIsas()) {
    qk_test::ScopedIsa s(isa);
    qk_pool2d_desc d = Desc(QK_NUMERICS_PYTORCH_ONEDNN, QK_POOL2D_ADAPTIVE_AVERAGE, QK_DTYPE_S8, 2);
    d.output_height = d.output_width = 1;
    d.input_zero_point = 5;
    const std::vector<uint8_t> in = {0xFF, 0xFF, 0, 0};
    EXPECT_EQ(RunPool(d, 1, 2, in), (std::vector<uint8_t>{0xFF, 0xFF})) << isa;  // -1
    d.memory_format = QK_PYTORCH_CONTIGUOUS;
    EXPECT_EQ(RunPool(d, 1, 2, in), (std::vector<uint8_t>{0, 0})) << isa;
  }
}

// pytorch-qnnpack u8 adaptive pools whose input is a multiple of the output run QNNPACK: a 1x2
// window of (0, 1), zp 1, contiguous, C = 2: QNNPACK rne((-1) * 0.5) + 1 = 1, ATen's contiguous
// kernel rne(1 * 0.5) = 0 (checked with torch 1.13: qnnpack [1, 1], onednn [0, 0]).
TEST(PoolRules, QnnpackAdaptiveTakesQnnpackWhenTheInputIsAMultiple) {
  for (const std::string& isa : qk_test::SupportedIsas()) {
    qk_test::ScopedIsa s(isa);
    qk_pool2d_desc d =
        Desc(QK_NUMERICS_PYTORCH_QNNPACK, QK_POOL2D_ADAPTIVE_AVERAGE, QK_DTYPE_U8, 2);
    d.output_height = d.output_width = 1;
    d.input_zero_point = 1;
    d.memory_format = QK_PYTORCH_CONTIGUOUS;
    const std::vector<uint8_t> in = {0, 0, 1, 1};
    EXPECT_EQ(RunPool(d, 1, 2, in), (std::vector<uint8_t>{1, 1})) << isa;
    d.numerics = QK_NUMERICS_PYTORCH_ONEDNN_1_13;
    EXPECT_EQ(RunPool(d, 1, 2, in), (std::vector<uint8_t>{0, 0})) << isa;
  }
}

// A max window whose every tap lies in the padding (H = 1, kernel 2x1, dilation 2, padding 1: taps
// rows -1 and 1) gives ATen's starting value, the type's lowest (torch 1.13 onednn engine: qint8
// -128, quint8 0, both layouts); QNNPACK clamps both taps to row 0 (torch qnnpack u8: the input).
TEST(PoolRules, MaxWindowEntirelyInThePaddingGivesTheLowestValue) {
  for (const std::string& isa : qk_test::SupportedIsas()) {
    qk_test::ScopedIsa s(isa);
    for (qk_dtype type : {QK_DTYPE_S8, QK_DTYPE_U8}) {
      qk_pool2d_desc d = Desc(QK_NUMERICS_PYTORCH_ONEDNN_1_13, QK_POOL2D_MAX, type, 2);
      d.kernel_height = 2, d.kernel_width = 1, d.stride_height = d.stride_width = 1;
      d.dilation_height = 2, d.padding_top = d.padding_bottom = 1;
      const std::vector<uint8_t> in = {5, 3, 9, 3, 7, 3};  // NHWC: channel 0 = 5 9 7, channel 1 = 3
      const uint8_t low = type == QK_DTYPE_S8 ? 0x80 : 0;
      EXPECT_EQ(RunPool(d, 1, 3, in), std::vector<uint8_t>(6, low)) << isa;
      if (type == QK_DTYPE_U8) {
        d.numerics = QK_NUMERICS_PYTORCH_QNNPACK;
        EXPECT_EQ(RunPool(d, 1, 3, in), in) << isa;
      }
    }
  }
}

// tflite AVERAGE_POOL_2D (from TFLite's reference kernels' source, not run here): the raw values
// summed over the taps inside the image, divided by their count with round half away from zero:
// s8 (-2, -3): (-5 - 1) / 2 = -3 where a float rne gives -2; (2, 3): (5 + 1) / 2 = 3; u8 (1, 2):
// (3 + 1) / 2 = 2. 3x3 filter, padding 1 (SAME) on a 2x2 image: every window holds the 4 pixels.
TEST(PoolRules, TfliteAverageRoundsHalfAwayFromZero) {
  for (const std::string& isa : qk_test::SupportedIsas()) {
    qk_test::ScopedIsa s(isa);
    qk_pool2d_desc d = Desc(QK_NUMERICS_TFLITE, QK_POOL2D_AVERAGE, QK_DTYPE_S8, 2);
    d.kernel_height = 1, d.kernel_width = 2;
    d.input_zero_point = -7;  // unused: in and out qparams are equal
    EXPECT_EQ(RunPool(d, 1, 2, {0xFE, 2, 0xFD, 3}), (std::vector<uint8_t>{0xFD, 3})) << isa;
    d.type = QK_DTYPE_U8, d.input_zero_point = 200;
    EXPECT_EQ(RunPool(d, 1, 2, {1, 2, 2, 3}), (std::vector<uint8_t>{2, 3})) << isa;
    d.channels = 1, d.kernel_height = d.kernel_width = 3, d.stride_height = d.stride_width = 1;
    d.padding_top = d.padding_left = d.padding_bottom = d.padding_right = 1;
    size_t oh = 0, ow = 0;
    // Σ = 10 over 4 taps: (10 + 2) / 4 = 3 (PyTorch with count_include_pad would divide by 9)
    EXPECT_EQ(RunPool(d, 2, 2, {1, 2, 3, 4}, &oh, &ow), (std::vector<uint8_t>{3, 3, 3, 3})) << isa;
    EXPECT_EQ(oh, 2u);
  }
}

// ---- invalid arguments and refusals: the exact status ----

qk_status Create(const qk_pool2d_desc& d) {
  qk_pool2d* op = nullptr;
  const qk_status s = qk_pool2d_create(&d, &op);
  EXPECT_EQ(s == QK_SUCCESS, op != nullptr);
  qk_pool2d_delete(op);
  return s;
}

qk_pool2d_desc MaxDesc() {
  qk_pool2d_desc d = Desc(QK_NUMERICS_PYTORCH_ONEDNN, QK_POOL2D_MAX, QK_DTYPE_U8, 4);
  d.kernel_height = d.kernel_width = 3;
  return d;
}

TEST(PoolApi, InvalidArguments) {
  qk_pool2d* op = nullptr;
  qk_pool2d_desc d = MaxDesc();
  EXPECT_EQ(Create(d), QK_SUCCESS);
  EXPECT_EQ(qk_pool2d_create(nullptr, &op), QK_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(qk_pool2d_create(&d, nullptr), QK_ERROR_INVALID_ARGUMENT);
  auto expect = [](qk_pool2d_desc x, qk_status s, const char* what) {
    EXPECT_EQ(Create(x), s) << what << ": " << qk_last_error();
  };
  d = MaxDesc(), d.struct_size = 8, expect(d, QK_ERROR_INVALID_ARGUMENT, "struct_size");
  d = MaxDesc(), d.numerics = static_cast<qk_numerics>(99),
  expect(d, QK_ERROR_INVALID_ARGUMENT, "numerics");
  d = MaxDesc(), d.kind = static_cast<qk_pool2d_kind>(0),
  expect(d, QK_ERROR_INVALID_ARGUMENT, "kind");
  d = MaxDesc(), d.type = QK_DTYPE_S32, expect(d, QK_ERROR_INVALID_ARGUMENT, "type");
  d = MaxDesc(), d.channels = 0, expect(d, QK_ERROR_INVALID_ARGUMENT, "channels");
  d = MaxDesc(), d.input_pixel_stride = 3, expect(d, QK_ERROR_INVALID_ARGUMENT, "input stride");
  d = MaxDesc(), d.output_pixel_stride = 3, expect(d, QK_ERROR_INVALID_ARGUMENT, "output stride");
  d = MaxDesc(), d.memory_format = static_cast<qk_pytorch_memory_format>(5),
  expect(d, QK_ERROR_INVALID_ARGUMENT, "memory_format");
  d = MaxDesc(), d.input_zero_point = 256, expect(d, QK_ERROR_INVALID_ARGUMENT, "zero point");
  d = MaxDesc(), d.kernel_width = 0, expect(d, QK_ERROR_INVALID_ARGUMENT, "kernel");
  d = MaxDesc(), d.dilation_height = 0, expect(d, QK_ERROR_INVALID_ARGUMENT, "dilation");
  d = MaxDesc(), d.kernel_height = (size_t)1 << 40,
  expect(d, QK_ERROR_SIZE_OVERFLOW, "huge kernel");
  d = MaxDesc(), d.output_scale = -1, expect(d, QK_ERROR_INVALID_ARGUMENT, "output scale");
  d = MaxDesc(), d.output_zero_point = 7, expect(d, QK_ERROR_INVALID_ARGUMENT, "zp without scale");
  d = MaxDesc(), d.output_scale = 0.25, expect(d, QK_ERROR_UNSUPPORTED, "other output scale");
  d = MaxDesc(), d.kind = QK_POOL2D_AVERAGE, d.input_scale = 0,
  expect(d, QK_ERROR_INVALID_ARGUMENT, "avg scale");
  d = MaxDesc(), d.kind = QK_POOL2D_AVERAGE, d.input_scale = 1e300,
  expect(d, QK_ERROR_INVALID_ARGUMENT, "avg scale not a float32");
  d = MaxDesc(), d.kind = QK_POOL2D_AVERAGE, d.dilation_width = 2,
  expect(d, QK_ERROR_INVALID_ARGUMENT, "avg dilation");
  d = MaxDesc(), d.kind = QK_POOL2D_AVERAGE, d.divisor_override = -1,
  expect(d, QK_ERROR_INVALID_ARGUMENT, "negative divisor");
  d = MaxDesc(), d.kind = QK_POOL2D_AVERAGE, d.kernel_height = d.kernel_width = 4096,
  expect(d, QK_ERROR_SIZE_OVERFLOW, "avg window above 2^23 taps");
  d = MaxDesc(), d.kind = QK_POOL2D_ADAPTIVE_AVERAGE, d.output_height = 0,
  expect(d, QK_ERROR_INVALID_ARGUMENT, "adaptive output size");
  // refusals of the frameworks
  d = MaxDesc(), d.padding_top = d.padding_bottom = 2, expect(d, QK_ERROR_UNSUPPORTED, "pad > k/2");
  d = MaxDesc(), d.padding_top = 1, expect(d, QK_ERROR_UNSUPPORTED, "asymmetric padding");
  d = MaxDesc(), d.numerics = QK_NUMERICS_PYTORCH_QNNPACK, d.kernel_height = d.kernel_width = 1,
  expect(d, QK_ERROR_UNSUPPORTED, "QNNPACK 1x1");
  d.ceil_mode = 1, expect(d, QK_SUCCESS, "qnnpack u8 1x1 with ceil_mode: ATen's kernel");
  d.ceil_mode = 0, d.type = QK_DTYPE_S8, expect(d, QK_SUCCESS, "qnnpack s8 1x1: ATen's kernel");
  d = MaxDesc(), d.numerics = QK_NUMERICS_XNNPACK, d.kernel_height = d.kernel_width = 1,
  expect(d, QK_ERROR_UNSUPPORTED, "XNNPACK 1x1");
  d = MaxDesc(), d.numerics = QK_NUMERICS_TFLITE, d.dilation_width = 2,
  expect(d, QK_ERROR_UNSUPPORTED, "TFLite dilation");
  d = MaxDesc(), d.numerics = QK_NUMERICS_ONNXRUNTIME, d.ceil_mode = 1,
  expect(d, QK_ERROR_UNSUPPORTED, "ORT ceil_mode");
  d = MaxDesc(), d.numerics = QK_NUMERICS_TFLITE, d.kind = QK_POOL2D_AVERAGE;
  expect(d, QK_SUCCESS, "tflite average");
  d.divisor_override = 4, expect(d, QK_ERROR_UNSUPPORTED, "tflite divisor_override");
  d.divisor_override = 0, d.padding_right = 3, expect(d, QK_ERROR_UNSUPPORTED, "tflite pad >= k");
  for (qk_numerics m : {QK_NUMERICS_ONNXRUNTIME, QK_NUMERICS_TFLITE, QK_NUMERICS_XNNPACK}) {
    d = MaxDesc(), d.numerics = m, d.kind = QK_POOL2D_AVERAGE;
    if (m != QK_NUMERICS_TFLITE) expect(d, QK_ERROR_UNSUPPORTED, "average outside PyTorch");
    d.kind = QK_POOL2D_ADAPTIVE_AVERAGE, d.output_height = d.output_width = 1;
    expect(d, QK_ERROR_UNSUPPORTED, "adaptive outside PyTorch");
  }
}

// struct_size: smaller than this version's descriptor is refused (this is the first one); larger
// with zero bytes past it is accepted (a newer header's fields at their defaults), nonzero refused.
TEST(PoolApi, DescriptorVersions) {
  struct Bigger {
    qk_pool2d_desc d;
    uint64_t newer_field;
  } b;
  b.d = MaxDesc();
  b.newer_field = 0;
  b.d.struct_size = sizeof(b);
  EXPECT_EQ(Create(b.d), QK_SUCCESS) << qk_last_error();
  b.newer_field = 1;
  EXPECT_EQ(Create(b.d), QK_ERROR_UNSUPPORTED);
  qk_pool2d_desc d = MaxDesc();
  d.struct_size = sizeof(d) - 8;
  EXPECT_EQ(Create(d), QK_ERROR_INVALID_ARGUMENT);
}

TEST(PoolApi, RunArguments) {
  qk_pool2d_desc d = MaxDesc();
  qk_pool2d* op = nullptr;
  ASSERT_EQ(qk_pool2d_create(&d, &op), QK_SUCCESS);
  uint8_t in[4 * 9] = {0}, out[4] = {0};
  size_t oh = 0, ow = 0;
  EXPECT_EQ(qk_pool2d_output_size(nullptr, 3, 3, &oh, &ow), QK_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(qk_pool2d_output_size(op, 3, 3, nullptr, &ow), QK_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(qk_pool2d_output_size(op, 0, 3, &oh, &ow), QK_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(qk_pool2d_output_size(op, 2, 3, &oh, &ow), QK_ERROR_INVALID_ARGUMENT);  // empty
  EXPECT_EQ(qk_pool2d_output_size(op, (size_t)1 << 40, 3, &oh, &ow), QK_ERROR_SIZE_OVERFLOW);
  EXPECT_EQ(qk_pool2d_run(nullptr, 1, 3, 3, in, out), QK_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(qk_pool2d_run(op, 1, 3, 3, nullptr, out), QK_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(qk_pool2d_run(op, 1, 3, 3, in, nullptr), QK_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(qk_pool2d_run(op, 1, 2, 2, in, out), QK_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(qk_pool2d_run(op, SIZE_MAX / 4, 3, 3, in, out), QK_ERROR_SIZE_OVERFLOW);
  EXPECT_EQ(qk_pool2d_run(op, 0, 3, 3, nullptr, nullptr), QK_SUCCESS);  // nothing to do
  EXPECT_EQ(qk_pool2d_run(op, 1, 3, 3, in, out), QK_SUCCESS);
  EXPECT_STRNE(qk_pool2d_isa(op), nullptr);
  EXPECT_NE(std::string(qk_pool2d_ukernels(op)).find("maxpool"), std::string::npos);
  EXPECT_EQ(qk_pool2d_isa(nullptr), nullptr);
  qk_pool2d_delete(op);
  qk_pool2d_delete(nullptr);
  // adaptive windows beyond the exact int32 sum
  d = MaxDesc();
  d.kind = QK_POOL2D_ADAPTIVE_AVERAGE, d.output_height = d.output_width = 1;
  ASSERT_EQ(qk_pool2d_create(&d, &op), QK_SUCCESS);
  EXPECT_EQ(qk_pool2d_run(op, 1, 4096, 4096, in, out), QK_ERROR_SIZE_OVERFLOW);
  qk_pool2d_delete(op);
}

}  // namespace
