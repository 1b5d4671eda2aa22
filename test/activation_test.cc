// Activations, requantize, cat, channel shuffle: PyTorch 1.13 goldens (every runnable ISA), the
// lookup microkernel tester, the position rule, and every invalid-argument path.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "arch/dispatch.h"
#include "isa_util.h"
#include "qk.h"

namespace {

std::vector<uint8_t> FromHex(const std::string& h) {
  std::vector<uint8_t> v(h.size() / 2);
  for (size_t i = 0; i < v.size(); i++) v[i] = (uint8_t)std::stoul(h.substr(2 * i, 2), nullptr, 16);
  return v;
}

qk_unary_op OpFromName(const std::string& s) {
  if (s == "relu") return QK_UNARY_RELU;
  if (s == "clamp") return QK_UNARY_CLAMP;
  if (s == "hardswish") return QK_UNARY_HARDSWISH;
  if (s == "hardsigmoid") return QK_UNARY_HARDSIGMOID;
  if (s == "sigmoid") return QK_UNARY_SIGMOID;
  if (s == "leaky_relu") return QK_UNARY_LEAKY_RELU;
  if (s == "requantize") return QK_UNARY_REQUANTIZE;
  ADD_FAILURE() << "unknown op " << s;
  return QK_UNARY_RELU;
}

// torch 1.13 files (act-*.txt): onednn engine = pytorch-onednn-1.13; torch 2.6 files
// (act-torch26-*.txt, tools/golden/gen_act.py --torch26): pytorch-onednn. qnnpack = pytorch-qnnpack.
qk_numerics EngineNumerics(const std::string& e, bool torch26 = false) {
  if (e == "qnnpack") return QK_NUMERICS_PYTORCH_QNNPACK;
  return torch26 ? QK_NUMERICS_PYTORCH_ONEDNN : QK_NUMERICS_PYTORCH_ONEDNN_1_13;
}

struct UnaryDeleter {
  void operator()(qk_unary* op) const { qk_unary_delete(op); }
};
using UnaryPtr = std::unique_ptr<qk_unary, UnaryDeleter>;

struct UnaryCase {
  std::string op, engine, dtype;
  double in_scale, out_scale;
  int in_zp, out_zp;
  float p1, p2;
  size_t n, a, b;
  std::vector<uint8_t> want;
  qk_numerics numerics;
  std::vector<uint8_t> Input() const {
    std::vector<uint8_t> x(n);
    for (size_t i = 0; i < n; i++) x[i] = (uint8_t)((a * i + b) & 255);
    return x;
  }
};

std::vector<UnaryCase> LoadUnary(bool torch26 = false) {
  const char* name = torch26 ? "act-torch26-unary.txt" : "act-unary.txt";
  std::ifstream f(std::string(QK_ACT_GOLDEN_DIR "/") + name);
  EXPECT_TRUE(f.good()) << "cannot open " << name;
  std::vector<UnaryCase> cases;
  for (std::string line; std::getline(f, line);) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream ss(line);
    UnaryCase c;
    std::string hex;
    ss >> c.op >> c.engine >> c.dtype >> c.in_scale >> c.in_zp >> c.out_scale >> c.out_zp >> c.p1 >>
        c.p2 >> c.n >> c.a >> c.b >> hex;
    c.want = FromHex(hex);
    EXPECT_EQ(c.want.size(), c.n) << line.substr(0, 80);
    c.numerics = EngineNumerics(c.engine, torch26);
    // torch 1.13's qnnpack-engine qint8 sigmoid is ATen's 1.13 kernel (FMA dequantization);
    // pytorch-qnnpack follows 2.x (plain dequantization, act-torch26-unary.txt), so these runs
    // check the 1.13 arithmetic under pytorch-onednn-1.13, which shares it.
    if (!torch26 && c.engine == "qnnpack" && c.op == "sigmoid" && c.dtype == "s8") {
      c.numerics = QK_NUMERICS_PYTORCH_ONEDNN_1_13;
    }
    cases.push_back(c);
  }
  return cases;
}

qk_unary_desc DescFor(const UnaryCase& c, size_t channels) {
  qk_unary_desc d;
  qk_unary_desc_init(&d);
  d.numerics = c.numerics;
  d.op = OpFromName(c.op);
  d.channels = channels;
  d.type = c.dtype == "u8" ? QK_DTYPE_U8 : QK_DTYPE_S8;
  d.input_scale = c.in_scale;
  d.input_zero_point = c.in_zp;
  if (d.op == QK_UNARY_HARDSWISH || d.op == QK_UNARY_LEAKY_RELU || d.op == QK_UNARY_REQUANTIZE) {
    d.output_scale = c.out_scale;
    d.output_zero_point = c.out_zp;
  }
  if (d.op == QK_UNARY_CLAMP) {
    d.min = c.p1;
    d.max = c.p2;
  }
  if (d.op == QK_UNARY_LEAKY_RELU) d.negative_slope = c.p1;
  return d;
}

// Every golden run, on every ISA: dense as n pixels of 1 channel, as pixels of C channels with
// padded pixel strides, and threaded.
void UnaryGolden(bool torch26, bool threaded) {
  const std::vector<UnaryCase> cases = LoadUnary(torch26);
  ASSERT_GT(cases.size(), 500u);
  // threaded (ActivationGolden.UnaryThreaded): runs 0, 32 and 64, also on a 2-thread pool.
  // Otherwise no pool exists: an idle pool's threads slow a loop by 100x under qemu.
  qk_threadpool* pool = nullptr;
  if (threaded) {
    ASSERT_EQ(qk_threadpool_create(2, &pool), QK_SUCCESS);
  }
  std::vector<std::string> ran;
  for (const std::string& isa : qk_test::SupportedIsas()) {
    qk_test::ScopedIsa scoped(isa);
    size_t outputs[2] = {0, 0}, runs[2] = {0, 0}, index = 0;
    for (const UnaryCase& c : cases) {
      const std::vector<uint8_t> x = c.Input();
      const int e = c.engine == "qnnpack" ? 0 : 1;
      if (threaded) {  // the threaded test: runs 0, 32, 64
        const size_t k = index++;
        if (k % 32 != 0 || k >= 96) continue;
      }
      qk_threadpool* tp = pool;
      // 1 channel, dense
      {
        qk_unary_desc d = DescFor(c, 1);
        qk_unary* raw = nullptr;
        ASSERT_EQ(qk_unary_create(&d, &raw), QK_SUCCESS) << qk_last_error();
        UnaryPtr op(raw);
        double os;
        int32_t ozp;
        ASSERT_EQ(qk_unary_output_quantization(op.get(), &os, &ozp), QK_SUCCESS);
        EXPECT_EQ(os, c.out_scale) << c.op;
        EXPECT_EQ(ozp, c.out_zp) << c.op;
        std::vector<uint8_t> y(c.n, 0xAA);
        ASSERT_EQ(qk_unary_run(op.get(), c.n, x.data(), y.data()), QK_SUCCESS) << qk_last_error();
        for (size_t i = 0; i < c.n; i++) {
          ASSERT_EQ(y[i], c.want[i])
              << c.op << " " << c.engine << " " << c.dtype << " s=" << c.in_scale
              << " zp=" << c.in_zp << " n=" << c.n << " i=" << i << " x=" << (int)x[i] << " on "
              << isa << " (" << qk_unary_ukernels(op.get()) << ")";
        }
        outputs[e] += c.n;
        runs[e]++;
        // threaded (UnaryThreaded): the same bytes
        if (tp != nullptr) {
          std::vector<uint8_t> yt(c.n, 0x55);
          ASSERT_EQ(qk_unary_run_threaded(op.get(), c.n, x.data(), yt.data(), tp), QK_SUCCESS);
          ASSERT_EQ(yt, c.want) << c.op << " threaded on " << isa;
        }
        // in place
        std::vector<uint8_t> yi = x;
        ASSERT_EQ(qk_unary_run(op.get(), c.n, yi.data(), yi.data()), QK_SUCCESS);
        ASSERT_EQ(yi, c.want) << c.op << " in place on " << isa;
      }
      // C channels (4, 13 or one pixel of n) with pixel strides C + 3 / C + 5 (flat index =
      // pixel * C + channel)
      const size_t C = c.n % 4 == 0 ? 4 : (c.n % 13 == 0 ? 13 : c.n);
      {
        qk_unary_desc d = DescFor(c, C);
        d.input_pixel_stride = C + 3;
        d.output_pixel_stride = C + 5;
        qk_unary* raw = nullptr;
        ASSERT_EQ(qk_unary_create(&d, &raw), QK_SUCCESS) << qk_last_error();
        UnaryPtr op(raw);
        const size_t pixels = c.n / C;
        std::vector<uint8_t> xs(pixels * (C + 3), 0x11), ys(pixels * (C + 5), 0x77);
        for (size_t p = 0; p < pixels; p++) std::memcpy(&xs[p * (C + 3)], &x[p * C], C);
        ASSERT_EQ(qk_unary_run_threaded(op.get(), pixels, xs.data(), ys.data(), tp), QK_SUCCESS);
        for (size_t p = 0; p < pixels; p++) {
          for (size_t k = 0; k < C; k++) {
            ASSERT_EQ(ys[p * (C + 5) + k], c.want[p * C + k])
                << c.op << " strided C=" << C << " on " << isa;
          }
          for (size_t k = C; k < C + 5; k++)
            ASSERT_EQ(ys[p * (C + 5) + k], 0x77) << "wrote padding";
        }
      }
    }
    std::printf("[ golden ] unary (torch %s) on %s: qnnpack %zu runs / %zu outputs, %s %zu runs / "
                "%zu outputs, %s\n",
                torch26 ? "2.6" : "1.13", isa.c_str(), runs[0], outputs[0],
                torch26 ? "onednn" : "onednn-1.13", runs[1], outputs[1],
                ::testing::Test::HasFailure() ? "MISMATCHES" : "0 mismatches");
    ran.push_back(isa);
  }
  qk_threadpool_delete(pool);
  EXPECT_FALSE(ran.empty());
}

TEST(ActivationGolden, UnaryAllIsas) { UnaryGolden(false, false); }
TEST(ActivationGolden, UnaryTorch26AllIsas) { UnaryGolden(true, false); }
// Not built for aarch64: under qemu-aarch64 on a loaded 2-core host one pooled run took > 90 s
// (the pool's idle threads), and ci/test-arm64.sh allows no skipped test. The threaded path is
// ISA-independent C; UnaryAllIsas covers the ARM kernels.
#if !defined(__aarch64__)
TEST(ActivationGolden, UnaryThreaded) { UnaryGolden(false, true); }
#endif

struct CatDeleter {
  void operator()(qk_cat* op) const { qk_cat_delete(op); }
};

void CatGoldenAllIsas(bool torch26) {
  std::ifstream f(std::string(QK_ACT_GOLDEN_DIR "/") + (torch26 ? "act-torch26-cat.txt" : "act-cat.txt"));
  ASSERT_TRUE(f.good());
  std::vector<std::string> lines;
  for (std::string line; std::getline(f, line);) {
    if (!line.empty() && line[0] != '#') lines.push_back(line);
  }
  ASSERT_GE(lines.size(), 20u);
  for (const std::string& isa : qk_test::SupportedIsas()) {
    qk_test::ScopedIsa scoped(isa);
    size_t outputs = 0, copies = 0;
    for (const std::string& line : lines) {
      std::istringstream ss(line);
      std::string tag, engine, dtype;
      size_t pixels, k;
      double os;
      int ozp;
      ss >> tag >> engine >> dtype >> pixels >> os >> ozp >> k;
      std::vector<qk_cat_input> ins(k);
      std::vector<std::vector<uint8_t>> data(k);
      size_t total = 0;
      for (size_t i = 0; i < k; i++) {
        std::string hex;
        int zp;
        ss >> ins[i].channels >> ins[i].scale >> zp >> hex;
        ins[i].zero_point = zp;
        ins[i].pixel_stride = ins[i].channels + i;  // exercise input strides too
        const std::vector<uint8_t> dense = FromHex(hex);
        ASSERT_EQ(dense.size(), pixels * ins[i].channels);
        data[i].assign(pixels * ins[i].pixel_stride, 0xEE);
        for (size_t p = 0; p < pixels; p++) {
          std::memcpy(&data[i][p * ins[i].pixel_stride], &dense[p * ins[i].channels],
                      ins[i].channels);
        }
        total += ins[i].channels;
        copies += ins[i].scale == os && zp == ozp;
      }
      std::string hex;
      ss >> hex;
      const std::vector<uint8_t> want = FromHex(hex);
      ASSERT_EQ(want.size(), pixels * total);
      qk_cat_desc d;
      qk_cat_desc_init(&d);
      d.numerics = EngineNumerics(engine, torch26);
      d.type = dtype == "u8" ? QK_DTYPE_U8 : QK_DTYPE_S8;
      d.input_count = k;
      d.inputs = ins.data();
      d.output_scale = os;
      d.output_zero_point = ozp;
      d.output_pixel_stride = total + 2;  // a slice of a wider tensor
      qk_cat* raw = nullptr;
      ASSERT_EQ(qk_cat_create(&d, &raw), QK_SUCCESS) << qk_last_error();
      std::unique_ptr<qk_cat, CatDeleter> op(raw);
      std::vector<const void*> ptrs(k);
      for (size_t i = 0; i < k; i++) ptrs[i] = data[i].data();
      std::vector<uint8_t> y(pixels * (total + 2), 0x99);
      ASSERT_EQ(qk_cat_run(op.get(), pixels, ptrs.data(), y.data()), QK_SUCCESS) << qk_last_error();
      for (size_t p = 0; p < pixels; p++) {
        for (size_t c = 0; c < total; c++) {
          ASSERT_EQ(y[p * (total + 2) + c], want[p * total + c])
              << line.substr(0, 60) << " p=" << p << " c=" << c << " on " << isa;
        }
        ASSERT_EQ(y[p * (total + 2) + total], 0x99);
      }
      outputs += pixels * total;
    }
    std::printf("[ golden ] cat (torch %s) on %s: %zu cases (%zu inputs copied), %zu outputs, %s\n",
                torch26 ? "2.6" : "1.13", isa.c_str(), lines.size(), copies, outputs,
                ::testing::Test::HasFailure() ? "MISMATCHES" : "0 mismatches");
  }
}

TEST(ActivationGolden, CatAllIsas) { CatGoldenAllIsas(false); }
TEST(ActivationGolden, CatTorch26AllIsas) { CatGoldenAllIsas(true); }

// ---- the lookup microkernel of every runnable ISA vs the generic one ----
class LutUkernelTest : public testing::TestWithParam<const qk_isa_config*> {};

TEST_P(LutUkernelTest, AllTailsBitExact) {
  const qk_lut_config lut = GetParam()->lut;
  const qk_lut_config ref = qk_test::GenericConfig()->lut;
  std::mt19937 rng(7);
  for (int iter = 0; iter < 20; iter++) {
    uint8_t table[256];
    for (int i = 0; i < 256; i++) table[i] = (uint8_t)rng();
    if (iter == 0)
      for (int i = 0; i < 256; i++) table[i] = (uint8_t)i;  // identity
    if (iter == 1)
      for (int i = 0; i < 256; i++) table[i] = (uint8_t)(255 - i);
    for (size_t n = 1; n <= 3 * 64 + 1; n++) {
      // guard bytes around input and output catch reads/writes past the ends (ASan too)
      std::vector<uint8_t> x(n + 2), want(n + 2, 0x5A), got(n + 2, 0x5A);
      for (auto& v : x) v = (uint8_t)rng();
      if (iter == 2)
        for (size_t i = 0; i < n; i++) x[i + 1] = (uint8_t)i;  // every byte value
      ref.fn(n, x.data() + 1, want.data() + 1, table);
      lut.fn(n, x.data() + 1, got.data() + 1, table);
      ASSERT_EQ(got, want) << lut.name << " n=" << n << " iter=" << iter;
      std::vector<uint8_t> inplace(x);
      lut.fn(n, inplace.data() + 1, inplace.data() + 1, table);
      for (size_t i = 0; i < n; i++)
        ASSERT_EQ(inplace[i + 1], want[i + 1]) << lut.name << " in place n=" << n;
    }
  }
}

TEST_P(LutUkernelTest, ShuffleMatchesGeneric) {
  const qk_shuffle_config sh = GetParam()->shuffle;
  std::mt19937 rng(3);
  for (size_t g = 1; g <= 5; g++) {
    for (size_t gc = 1; gc <= 9; gc++) {
      const size_t pixels = 3, xs = g * gc + 1, ys = g * gc + 2;
      std::vector<uint8_t> x(pixels * xs), y(pixels * ys, 0), want(pixels * ys, 0);
      for (auto& v : x) v = (uint8_t)rng();
      for (size_t p = 0; p < pixels; p++)
        for (size_t a = 0; a < g; a++)
          for (size_t j = 0; j < gc; j++) want[p * ys + j * g + a] = x[p * xs + a * gc + j];
      sh.fn(pixels, g, gc, x.data(), xs, y.data(), ys);
      ASSERT_EQ(y, want) << sh.name << " groups=" << g << " gc=" << gc;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Isa, LutUkernelTest, testing::ValuesIn(qk_test::RunnableConfigs()),
                         qk_test::IsaName);

// ---- the position rule: a tensor of 64 + r elements (hand-checked case from the goldens) ----
TEST(ActivationPosition, BodyAndTailDifferAndBlockIsConfigurable) {
  // A golden case where ATen's SIMD body and scalar tail disagree on some value: find one.
  const std::vector<UnaryCase> cases = LoadUnary();
  bool found = false;
  for (const UnaryCase& c : cases) {
    if (c.engine != "onednn" || c.n != 256) continue;
    qk_unary_desc d = DescFor(c, 1);
    qk_unary* raw = nullptr;
    ASSERT_EQ(qk_unary_create(&d, &raw), QK_SUCCESS);
    UnaryPtr op(raw);
    // All 256 values at tail positions (runs of 63 < 64) vs body positions (the golden).
    const std::vector<uint8_t> x = c.Input();
    std::vector<uint8_t> tail(256);
    for (size_t s = 0; s < 256; s += 63) {
      const size_t m = std::min<size_t>(63, 256 - s);
      ASSERT_EQ(qk_unary_run(op.get(), m, &x[s], &tail[s]), QK_SUCCESS);
    }
    if (tail == c.want) continue;
    found = true;
    // with aten_vector_block = 128 a 256-element run is still all body; 64 + 63 elements are not
    d.aten_vector_block = 128;
    ASSERT_EQ(qk_unary_create(&d, &raw), QK_SUCCESS);
    UnaryPtr op128(raw);
    std::vector<uint8_t> y(256);
    ASSERT_EQ(qk_unary_run(op128.get(), 256, x.data(), y.data()), QK_SUCCESS);
    EXPECT_EQ(y, c.want);
    std::vector<uint8_t> y127(127), y127_64(127);
    ASSERT_EQ(qk_unary_run(op128.get(), 127, x.data(), y127.data()), QK_SUCCESS);
    ASSERT_EQ(qk_unary_run(op.get(), 127, x.data(), y127_64.data()), QK_SUCCESS);
    // 127 < 128: all tail with the 128-block op; the 64-block op: [0, 64) body, [64, 127) tail
    for (size_t i = 0; i < 127; i++) EXPECT_EQ(y127[i], tail[i]) << i;
    for (size_t i = 0; i < 127; i++) EXPECT_EQ(y127_64[i], i < 64 ? c.want[i] : tail[i]) << i;
    break;
  }
  EXPECT_TRUE(found) << "the goldens hold no case where body and tail differ";
}

// ---- channel shuffle ----
struct ShuffleDeleter {
  void operator()(qk_channel_shuffle* op) const { qk_channel_shuffle_delete(op); }
};

TEST(ChannelShuffle, PermutationAllIsas) {
  for (const std::string& isa : qk_test::SupportedIsas()) {
    qk_test::ScopedIsa scoped(isa);
    for (size_t g : {1, 2, 3, 4, 8}) {
      for (size_t gc : {1, 2, 5, 16}) {
        qk_channel_shuffle_desc d;
        qk_channel_shuffle_desc_init(&d);
        d.numerics = QK_NUMERICS_TFLITE;  // no arithmetic: every mode
        d.type = QK_DTYPE_S8;
        d.groups = g;
        d.group_channels = gc;
        d.output_pixel_stride = g * gc + 3;
        qk_channel_shuffle* raw = nullptr;
        ASSERT_EQ(qk_channel_shuffle_create(&d, &raw), QK_SUCCESS) << qk_last_error();
        std::unique_ptr<qk_channel_shuffle, ShuffleDeleter> op(raw);
        const size_t C = g * gc, P = 7;
        std::vector<uint8_t> x(P * C), y(P * (C + 3), 0xCC);
        for (size_t i = 0; i < x.size(); i++) x[i] = (uint8_t)(i * 37 + 1);
        ASSERT_EQ(qk_channel_shuffle_run(op.get(), P, x.data(), y.data()), QK_SUCCESS);
        // torch.nn.ChannelShuffle: view (g, gc), transpose to (gc, g)
        for (size_t p = 0; p < P; p++)
          for (size_t c = 0; c < C; c++)
            ASSERT_EQ(y[p * (C + 3) + c], x[p * C + (c % g) * gc + c / g])
                << "g=" << g << " gc=" << gc;
      }
    }
  }
}

// ---- invalid arguments: exact statuses ----
qk_unary_desc ValidUnary() {
  qk_unary_desc d;
  qk_unary_desc_init(&d);
  d.numerics = QK_NUMERICS_PYTORCH_QNNPACK;
  d.op = QK_UNARY_HARDSWISH;
  d.channels = 8;
  d.type = QK_DTYPE_U8;
  d.input_scale = 0.05;
  d.input_zero_point = 100;
  d.output_scale = 0.03;
  d.output_zero_point = 10;
  return d;
}

qk_status CreateStatus(const qk_unary_desc& d) {
  qk_unary* op = nullptr;
  const qk_status st = qk_unary_create(&d, &op);
  qk_unary_delete(op);
  if (st != QK_SUCCESS) {
    EXPECT_STRNE(qk_last_error(), "");
  }
  return st;
}

TEST(ActivationErrors, UnaryCreate) {
  qk_unary* op = nullptr;
  qk_unary_desc d = ValidUnary();
  EXPECT_EQ(CreateStatus(d), QK_SUCCESS);
  EXPECT_EQ(qk_unary_create(nullptr, &op), QK_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(qk_unary_create(&d, nullptr), QK_ERROR_INVALID_ARGUMENT);
  auto with = [&](auto f) {
    qk_unary_desc e = ValidUnary();
    f(e);
    return CreateStatus(e);
  };
  EXPECT_EQ(with([](qk_unary_desc& e) { e.struct_size = 8; }), QK_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(with([](qk_unary_desc& e) { e.numerics = (qk_numerics)99; }),
            QK_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(with([](qk_unary_desc& e) { e.op = (qk_unary_op)0; }), QK_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(with([](qk_unary_desc& e) { e.numerics = QK_NUMERICS_TFLITE; }), QK_ERROR_UNSUPPORTED);
  EXPECT_EQ(with([](qk_unary_desc& e) { e.numerics = QK_NUMERICS_ONNXRUNTIME; }),
            QK_ERROR_UNSUPPORTED);
  EXPECT_EQ(with([](qk_unary_desc& e) { e.numerics = QK_NUMERICS_XNNPACK; }), QK_ERROR_UNSUPPORTED);
  EXPECT_EQ(with([](qk_unary_desc& e) { e.numerics = QK_NUMERICS_PYTORCH_ONEDNN; }), QK_SUCCESS);
  EXPECT_EQ(with([](qk_unary_desc& e) {
              e.numerics = QK_NUMERICS_PYTORCH_ONEDNN;
              e.op = QK_UNARY_REQUANTIZE;
            }),
            QK_SUCCESS);
  EXPECT_EQ(with([](qk_unary_desc& e) { e.numerics = QK_NUMERICS_PYTORCH_FBGEMM; }), QK_SUCCESS);
  EXPECT_EQ(with([](qk_unary_desc& e) { e.channels = 0; }), QK_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(with([](qk_unary_desc& e) { e.type = QK_DTYPE_S32; }), QK_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(with([](qk_unary_desc& e) { e.type = QK_DTYPE_NONE; }), QK_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(with([](qk_unary_desc& e) { e.input_zero_point = 256; }), QK_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(with([](qk_unary_desc& e) { e.type = QK_DTYPE_S8; }), QK_SUCCESS);
  EXPECT_EQ(with([](qk_unary_desc& e) {
              e.type = QK_DTYPE_S8;
              e.input_zero_point = 128;
            }),
            QK_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(with([](qk_unary_desc& e) {
              e.type = QK_DTYPE_S8;
              e.output_zero_point = -129;
            }),
            QK_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(with([](qk_unary_desc& e) { e.input_scale = 0.0; }), QK_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(with([](qk_unary_desc& e) { e.input_scale = -1.0; }), QK_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(with([](qk_unary_desc& e) { e.input_scale = NAN; }), QK_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(with([](qk_unary_desc& e) { e.input_scale = 1e-300; }), QK_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(with([](qk_unary_desc& e) { e.output_scale = 0.0; }), QK_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(with([](qk_unary_desc& e) { e.output_scale = INFINITY; }), QK_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(with([](qk_unary_desc& e) { e.output_zero_point = -1; }), QK_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(with([](qk_unary_desc& e) { e.input_pixel_stride = 7; }), QK_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(with([](qk_unary_desc& e) { e.output_pixel_stride = 3; }), QK_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(with([](qk_unary_desc& e) {
              e.input_pixel_stride = 8;
              e.output_pixel_stride = 9;
            }),
            QK_SUCCESS);
  EXPECT_EQ(with([](qk_unary_desc& e) { e.aten_vector_block = 32; }), QK_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(with([](qk_unary_desc& e) { e.aten_vector_block = 128; }), QK_SUCCESS);
  EXPECT_EQ(with([](qk_unary_desc& e) {
              e.op = QK_UNARY_LEAKY_RELU;
              e.negative_slope = INFINITY;
            }),
            QK_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(with([](qk_unary_desc& e) {
              e.op = QK_UNARY_CLAMP;
              e.min = NAN;
              e.output_scale = 0;
              e.output_zero_point = 0;
            }),
            QK_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(with([](qk_unary_desc& e) {
              e.op = QK_UNARY_CLAMP;
              e.output_scale = 0;
              e.output_zero_point = 0;
            }),
            QK_SUCCESS);
  EXPECT_EQ(with([](qk_unary_desc& e) { e.op = QK_UNARY_RELU; }),
            QK_ERROR_INVALID_ARGUMENT);  // out qparams differ
  EXPECT_EQ(with([](qk_unary_desc& e) {
              e.op = QK_UNARY_RELU;
              e.output_scale = 0.05;
              e.output_zero_point = 100;
            }),
            QK_SUCCESS);
  EXPECT_EQ(with([](qk_unary_desc& e) { e.op = QK_UNARY_SIGMOID; }),
            QK_ERROR_UNSUPPORTED);  // PyTorch fixes them
  EXPECT_EQ(with([](qk_unary_desc& e) {
              e.op = QK_UNARY_SIGMOID;
              e.output_scale = 1.0 / 256;
              e.output_zero_point = 0;
            }),
            QK_SUCCESS);
  EXPECT_EQ(with([](qk_unary_desc& e) {
              e.op = QK_UNARY_HARDSIGMOID;
              e.output_scale = 0;
              e.output_zero_point = 0;
            }),
            QK_SUCCESS);
  EXPECT_EQ(with([](qk_unary_desc& e) {
              e.op = QK_UNARY_HARDSIGMOID;
              e.type = QK_DTYPE_S8;
              e.input_zero_point = 0;
              e.output_scale = 1.0 / 256;
              e.output_zero_point = 0;
            }),
            QK_ERROR_UNSUPPORTED);
  // a newer header's nonzero unknown field
  struct {
    qk_unary_desc d;
    uint64_t extra;
  } newer;
  newer.d = ValidUnary();
  newer.d.struct_size = sizeof(newer);
  newer.extra = 1;
  EXPECT_EQ(qk_unary_create(&newer.d, &op), QK_ERROR_UNSUPPORTED);
  newer.extra = 0;
  EXPECT_EQ(qk_unary_create(&newer.d, &op), QK_SUCCESS);
  qk_unary_delete(op);
  qk_unary_delete(nullptr);
  EXPECT_EQ(qk_unary_isa(nullptr), nullptr);
  EXPECT_EQ(qk_unary_ukernels(nullptr), nullptr);
}

TEST(ActivationErrors, UnaryRun) {
  qk_unary_desc d = ValidUnary();
  d.output_pixel_stride = 9;
  qk_unary* raw = nullptr;
  ASSERT_EQ(qk_unary_create(&d, &raw), QK_SUCCESS);
  UnaryPtr op(raw);
  uint8_t buf[64] = {0};
  EXPECT_EQ(qk_unary_run(nullptr, 1, buf, buf + 32), QK_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(qk_unary_run(op.get(), 1, nullptr, buf), QK_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(qk_unary_run(op.get(), 1, buf, nullptr), QK_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(qk_unary_run(op.get(), 0, nullptr, nullptr), QK_SUCCESS);  // nothing to do
  EXPECT_EQ(qk_unary_run(op.get(), 1, buf, buf),
            QK_ERROR_INVALID_ARGUMENT);  // in place, strides 8 vs 9
  EXPECT_EQ(qk_unary_run(op.get(), SIZE_MAX / 4, buf, buf + 32), QK_ERROR_SIZE_OVERFLOW);
  EXPECT_EQ(qk_unary_run_threaded(op.get(), 2, buf, buf + 32, nullptr), QK_SUCCESS);
  double s;
  int32_t z;
  EXPECT_EQ(qk_unary_output_quantization(nullptr, &s, &z), QK_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(qk_unary_output_quantization(op.get(), nullptr, &z), QK_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(qk_unary_output_quantization(op.get(), &s, nullptr), QK_ERROR_INVALID_ARGUMENT);
}

TEST(ActivationErrors, Cat) {
  qk_cat_input ins[2] = {{3, 0.1, 5, 0}, {4, 0.2, 7, 0}};
  auto make = [&](auto f) {
    qk_cat_desc d;
    qk_cat_desc_init(&d);
    d.numerics = QK_NUMERICS_PYTORCH_QNNPACK;
    d.type = QK_DTYPE_U8;
    d.input_count = 2;
    d.inputs = ins;
    d.output_scale = 0.1;
    d.output_zero_point = 5;
    f(d);
    qk_cat* op = nullptr;
    const qk_status st = qk_cat_create(&d, &op);
    qk_cat_delete(op);
    return st;
  };
  EXPECT_EQ(make([](qk_cat_desc&) {}), QK_SUCCESS);
  EXPECT_EQ(make([](qk_cat_desc& d) { d.struct_size = 4; }), QK_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(make([](qk_cat_desc& d) { d.numerics = QK_NUMERICS_TFLITE; }), QK_ERROR_UNSUPPORTED);
  EXPECT_EQ(make([](qk_cat_desc& d) { d.numerics = (qk_numerics)0; }), QK_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(make([](qk_cat_desc& d) { d.type = QK_DTYPE_F32; }), QK_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(make([](qk_cat_desc& d) { d.input_count = 0; }), QK_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(make([](qk_cat_desc& d) { d.inputs = nullptr; }), QK_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(make([](qk_cat_desc& d) { d.output_scale = -1; }), QK_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(make([](qk_cat_desc& d) { d.output_zero_point = 300; }), QK_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(make([](qk_cat_desc& d) { d.output_pixel_stride = 6; }), QK_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(make([](qk_cat_desc& d) { d.output_pixel_stride = 7; }), QK_SUCCESS);
  ins[1].channels = 0;
  EXPECT_EQ(make([](qk_cat_desc&) {}), QK_ERROR_INVALID_ARGUMENT);
  ins[1].channels = 4;
  ins[1].pixel_stride = 3;
  EXPECT_EQ(make([](qk_cat_desc&) {}), QK_ERROR_INVALID_ARGUMENT);
  ins[1].pixel_stride = 0;
  ins[0].scale = 0;
  EXPECT_EQ(make([](qk_cat_desc&) {}), QK_ERROR_INVALID_ARGUMENT);
  ins[0].scale = 0.1;
  ins[0].zero_point = -1;
  EXPECT_EQ(make([](qk_cat_desc&) {}), QK_ERROR_INVALID_ARGUMENT);
  ins[0].zero_point = 5;
  qk_cat* op = nullptr;
  EXPECT_EQ(qk_cat_create(nullptr, &op), QK_ERROR_INVALID_ARGUMENT);
  qk_cat_desc d;
  qk_cat_desc_init(&d);
  EXPECT_EQ(qk_cat_create(&d, nullptr), QK_ERROR_INVALID_ARGUMENT);
  d.numerics = QK_NUMERICS_PYTORCH_X86;
  d.type = QK_DTYPE_U8;
  d.input_count = 2;
  d.inputs = ins;
  d.output_scale = 0.1;
  d.output_zero_point = 5;
  ASSERT_EQ(qk_cat_create(&d, &op), QK_SUCCESS);
  uint8_t a[16], b[16], y[32];
  const void* ptrs[2] = {a, b};
  const void* bad[2] = {a, nullptr};
  EXPECT_EQ(qk_cat_run(nullptr, 1, ptrs, y), QK_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(qk_cat_run(op, 1, nullptr, y), QK_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(qk_cat_run(op, 1, ptrs, nullptr), QK_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(qk_cat_run(op, 1, bad, y), QK_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(qk_cat_run(op, SIZE_MAX / 2, ptrs, y), QK_ERROR_SIZE_OVERFLOW);
  EXPECT_EQ(qk_cat_run(op, 0, nullptr, nullptr), QK_SUCCESS);
  EXPECT_EQ(qk_cat_run_threaded(op, 2, ptrs, y, nullptr), QK_SUCCESS);
  qk_cat_delete(op);
  qk_cat_delete(nullptr);
}

TEST(ActivationErrors, ChannelShuffle) {
  auto make = [](auto f) {
    qk_channel_shuffle_desc d;
    qk_channel_shuffle_desc_init(&d);
    d.numerics = QK_NUMERICS_PYTORCH_QNNPACK;
    d.type = QK_DTYPE_U8;
    d.groups = 2;
    d.group_channels = 3;
    f(d);
    qk_channel_shuffle* op = nullptr;
    const qk_status st = qk_channel_shuffle_create(&d, &op);
    qk_channel_shuffle_delete(op);
    return st;
  };
  EXPECT_EQ(make([](qk_channel_shuffle_desc&) {}), QK_SUCCESS);
  EXPECT_EQ(make([](qk_channel_shuffle_desc& d) { d.struct_size = 1; }), QK_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(make([](qk_channel_shuffle_desc& d) { d.numerics = (qk_numerics)42; }),
            QK_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(make([](qk_channel_shuffle_desc& d) { d.type = QK_DTYPE_S32; }),
            QK_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(make([](qk_channel_shuffle_desc& d) { d.groups = 0; }), QK_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(make([](qk_channel_shuffle_desc& d) { d.group_channels = 0; }),
            QK_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(make([](qk_channel_shuffle_desc& d) { d.groups = SIZE_MAX; }), QK_ERROR_SIZE_OVERFLOW);
  EXPECT_EQ(make([](qk_channel_shuffle_desc& d) { d.input_pixel_stride = 5; }),
            QK_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(make([](qk_channel_shuffle_desc& d) { d.output_pixel_stride = 5; }),
            QK_ERROR_INVALID_ARGUMENT);
  qk_channel_shuffle* op = nullptr;
  EXPECT_EQ(qk_channel_shuffle_create(nullptr, &op), QK_ERROR_INVALID_ARGUMENT);
  qk_channel_shuffle_desc d;
  qk_channel_shuffle_desc_init(&d);
  EXPECT_EQ(qk_channel_shuffle_create(&d, nullptr), QK_ERROR_INVALID_ARGUMENT);
  d.numerics = QK_NUMERICS_PYTORCH_QNNPACK;
  d.type = QK_DTYPE_U8;
  d.groups = 2;
  d.group_channels = 3;
  ASSERT_EQ(qk_channel_shuffle_create(&d, &op), QK_SUCCESS);
  uint8_t x[12] = {0}, y[12];
  EXPECT_EQ(qk_channel_shuffle_run(nullptr, 1, x, y), QK_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(qk_channel_shuffle_run(op, 1, nullptr, y), QK_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(qk_channel_shuffle_run(op, 1, x, nullptr), QK_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(qk_channel_shuffle_run(op, 1, x, x), QK_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(qk_channel_shuffle_run(op, SIZE_MAX / 2, x, y), QK_ERROR_SIZE_OVERFLOW);
  EXPECT_EQ(qk_channel_shuffle_run_threaded(op, 2, x, y, nullptr), QK_SUCCESS);
  qk_channel_shuffle_delete(op);
  qk_channel_shuffle_delete(nullptr);
}

}  // namespace
