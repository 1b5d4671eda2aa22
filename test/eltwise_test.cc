// Quantized add / add_relu / mul against real PyTorch 1.13 and 2.6 (test/data/golden/ops/eltwise-*.txt,
// tools/golden/gen_eltwise.py) on every ISA compiled in and runnable here, plus the API's
// argument checks.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "isa_util.h"
#include "qk.h"

namespace {

struct Case {
  std::map<std::string, std::string> kv;
  bool grid = false;
  std::vector<uint8_t> a, b, y;
  std::string error;
  std::vector<uint64_t> rows;
  std::string line;
  std::string get(const char* k) const {
    auto it = kv.find(k);
    return it == kv.end() ? std::string() : it->second;
  }
  double d(const char* k) const { return std::strtod(get(k).c_str(), nullptr); }
  long i(const char* k) const { return std::strtol(get(k).c_str(), nullptr, 10); }
};

std::vector<uint8_t> Unhex(const std::string& s) {
  std::vector<uint8_t> out(s.size() / 2);
  for (size_t i = 0; i < out.size(); i++) {
    out[i] = (uint8_t)std::strtoul(s.substr(2 * i, 2).c_str(), nullptr, 16);
  }
  return out;
}

std::vector<Case> Load(const std::string& path) {
  std::ifstream f(path);
  EXPECT_TRUE(f.good()) << "cannot open " << path;
  std::vector<Case> cases;
  std::string line;
  while (std::getline(f, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream ss(line);
    std::string tag;
    ss >> tag;
    if (tag == "case" || tag == "grid") {
      cases.emplace_back();
      cases.back().grid = tag == "grid";
      cases.back().line = line;
      for (std::string kv; ss >> kv;) {
        const size_t eq = kv.find('=');
        cases.back().kv[kv.substr(0, eq)] = kv.substr(eq + 1);
      }
    } else if (tag == "a" || tag == "b" || tag == "y") {
      std::string hex;
      ss >> hex;
      (tag == "a" ? cases.back().a : tag == "b" ? cases.back().b : cases.back().y) = Unhex(hex);
    } else if (tag == "error") {
      std::getline(ss, cases.back().error);
      if (cases.back().error.empty()) cases.back().error = "?";
    } else if (tag == "rows") {
      for (std::string h; ss >> h;)
        cases.back().rows.push_back(std::strtoull(h.c_str(), nullptr, 16));
    }
  }
  return cases;
}

const std::vector<Case>& AddCases() {
  static const std::vector<Case> c = Load(QK_ELTWISE_GOLDEN_DIR "/eltwise-torch113-add.txt");
  return c;
}
const std::vector<Case>& MulCases() {
  static const std::vector<Case> c = Load(QK_ELTWISE_GOLDEN_DIR "/eltwise-torch113-mul.txt");
  return c;
}

const qk_numerics kAtenModes[] = {QK_NUMERICS_PYTORCH_FBGEMM, QK_NUMERICS_PYTORCH_FBGEMM_AVX2,
                                  QK_NUMERICS_PYTORCH_ONEDNN_1_13, QK_NUMERICS_PYTORCH_ONEDNN,
                                  QK_NUMERICS_PYTORCH_X86};

// The qk modes whose arithmetic the torch run of this case shows (docs/ops-eltwise.md).
std::vector<qk_numerics> ModesFor(const Case& c) {
  const std::string op = c.get("op"), engine = c.get("engine"), dt = c.get("dtype");
  std::vector<qk_numerics> modes;
  if (op.rfind("add", 0) == 0) {
    if (engine == "onednn") {
      modes.assign(std::begin(kAtenModes), std::end(kAtenModes));
    } else {
      modes.push_back(QK_NUMERICS_PYTORCH_QNNPACK);
      if (dt == "s8") modes.push_back(QK_NUMERICS_XNNPACK);
    }
  } else {
    // mul does not depend on the engine: s8 (output zp < 127) is XNNPACK, the rest ATen.
    modes.assign(std::begin(kAtenModes), std::end(kAtenModes));
    modes.push_back(QK_NUMERICS_PYTORCH_QNNPACK);
    if (dt == "s8" && c.i("zo") < 127) modes.push_back(QK_NUMERICS_XNNPACK);
  }
  return modes;
}

struct Op {
  bool is_add = true;
  qk_add* add = nullptr;
  qk_mul* mul = nullptr;
  ~Op() {
    qk_add_delete(add);
    qk_mul_delete(mul);
  }
  qk_status Run(size_t batch, size_t pixels, const void* a, const void* b, void* y,
                qk_threadpool* pool = nullptr) const {
    if (is_add) return qk_add_run_threaded(add, batch * pixels, a, b, y, pool);
    return qk_mul_run_threaded(mul, batch, pixels, a, b, y, pool);
  }
};

// Creates the case's operator for a mode with the given channels / strides.
qk_status Create(const Case& c, qk_numerics mode, size_t channels, size_t as, size_t bs, size_t ys,
                 bool bcast, Op* op) {
  const std::string opname = c.get("op");
  op->is_add = opname.rfind("add", 0) == 0;
  const qk_dtype type = c.get("dtype") == "u8" ? QK_DTYPE_U8 : QK_DTYPE_S8;
  const int relu = opname.find("_relu") != std::string::npos;
  if (op->is_add) {
    qk_add_desc d;
    qk_add_desc_init(&d);
    d.numerics = mode;
    d.channels = channels;
    d.type = type;
    d.a_scale = c.d("sa");
    d.a_zero_point = (int32_t)c.i("za");
    d.b_scale = c.d("sb");
    d.b_zero_point = (int32_t)c.i("zb");
    d.output_scale = c.d("so");
    d.output_zero_point = (int32_t)c.i("zo");
    d.relu = relu;
    d.a_pixel_stride = as;
    d.b_pixel_stride = bs;
    d.output_pixel_stride = ys;
    return qk_add_create(&d, &op->add);
  }
  qk_mul_desc d;
  qk_mul_desc_init(&d);
  d.numerics = mode;
  d.channels = channels;
  d.type = type;
  d.a_scale = c.d("sa");
  d.a_zero_point = (int32_t)c.i("za");
  d.b_scale = c.d("sb");
  d.b_zero_point = (int32_t)c.i("zb");
  d.output_scale = c.d("so");
  d.output_zero_point = (int32_t)c.i("zo");
  d.relu = relu;
  d.a_pixel_stride = as;
  d.b_pixel_stride = bs;
  d.output_pixel_stride = ys;
  d.broadcast_b = bcast;
  return qk_mul_create(&d, &op->mul);
}

std::vector<uint8_t> Spread(const std::vector<uint8_t>& v, size_t c, size_t stride, uint8_t fill) {
  const size_t pixels = v.size() / c;
  std::vector<uint8_t> out(pixels * stride, fill);
  for (size_t p = 0; p < pixels; p++) std::memcpy(&out[p * stride], &v[p * c], c);
  return out;
}

uint64_t Fnv1a(const uint8_t* p, size_t n) {
  uint64_t h = 0xCBF29CE484222325ull;
  for (size_t i = 0; i < n; i++) {
    h ^= p[i];
    h *= 0x100000001B3ull;
  }
  return h;
}

struct Tally {
  size_t cases = 0, values = 0, mismatches = 0, refusals = 0, grids = 0;
};

// Every case of a file, every mode it stands for, on one ISA; layouts: dense, strided, and for
// 1-D cases the other pixelization (channels = n); mul with b broadcast over pixels.
void RunCases(const std::vector<Case>& cases, const std::string& isa, Tally* t) {
  qk_test::ScopedIsa scoped(isa);
  qk_threadpool* pool = nullptr;
  ASSERT_EQ(qk_threadpool_create(3, &pool), QK_SUCCESS);
  for (const Case& c : cases) {
    for (qk_numerics mode : ModesFor(c)) {
      SCOPED_TRACE(c.line + " mode=" + qk_numerics_name(mode) + " isa=" + isa);
      if (c.grid) {
        Op op;
        ASSERT_EQ(Create(c, mode, 1, 0, 0, 0, false, &op), QK_SUCCESS) << qk_last_error();
        const bool s8 = c.get("dtype") == "s8";
        std::vector<uint8_t> a(65536), b(65536), y(65536);
        for (int i = 0; i < 65536; i++) {
          a[i] = (uint8_t)((i >> 8) + (s8 ? 128 : 0));
          b[i] = (uint8_t)((i & 255) + (s8 ? 128 : 0));
        }
        const size_t chunk = (size_t)c.i("chunk");
        for (int pass = 0; pass < 2; pass++) {
          std::fill(y.begin(), y.end(), 0xA5);
          for (size_t s = 0; s < 65536; s += chunk) {
            const size_t n = std::min<size_t>(chunk, 65536 - s);
            // pass 1: the pool (the split must not move ATen's FMA blocks)
            ASSERT_EQ(op.Run(1, n, &a[s], &b[s], &y[s], pass ? pool : nullptr), QK_SUCCESS)
                << qk_last_error();
          }
          ASSERT_EQ(c.rows.size(), 64u);
          for (size_t r = 0; r < 64; r++) {
            const bool ok = Fnv1a(&y[r * 1024], 1024) == c.rows[r];
            if (!ok) t->mismatches++;
            EXPECT_TRUE(ok) << "grid rows a = " << 4 * r << ".." << 4 * r + 3 << " differ"
                            << (pass ? " (threaded)" : "");
          }
        }
        t->grids++;
        t->values += 65536;
        continue;
      }
      const size_t N = (size_t)c.i("N"), H = (size_t)c.i("H"), W = (size_t)c.i("W"),
                   C = (size_t)c.i("C");
      const bool bcast = c.i("bcast") != 0;
      if (!c.error.empty() || c.get("qk") == "unsupported") {
        Op op;
        EXPECT_EQ(Create(c, mode, C, 0, 0, 0, bcast, &op), QK_ERROR_UNSUPPORTED)
            << "torch refused: " << c.error;
        t->refusals++;
        continue;
      }
      struct Layout {
        size_t channels, batch, pixels, as, bs, ys;
      };
      std::vector<Layout> layouts = {{C, N, H * W, C, C, C}, {C, N, H * W, C + 3, C + 1, C + 5}};
      const size_t n = c.y.size();
      if (C == 1 && !bcast) layouts.push_back({n, 1, 1, n, n, n});
      for (const Layout& l : layouts) {
        Op op;
        ASSERT_EQ(Create(c, mode, l.channels, l.as, l.bs, l.ys, bcast, &op), QK_SUCCESS)
            << qk_last_error();
        const std::vector<uint8_t> a = Spread(c.a, l.channels, l.as, 0x5A);
        const std::vector<uint8_t> b = Spread(c.b, l.channels, l.bs, 0xC3);
        std::vector<uint8_t> y((c.y.size() / l.channels) * l.ys, 0xEE);
        ASSERT_EQ(op.Run(l.batch, l.pixels, a.data(), b.data(), y.data()), QK_SUCCESS)
            << qk_last_error();
        size_t bad = 0;
        for (size_t p = 0; p < c.y.size() / l.channels; p++) {
          for (size_t i = 0; i < l.channels; i++) {
            if (y[p * l.ys + i] != c.y[p * l.channels + i]) {
              if (bad++ == 0) {
                ADD_FAILURE() << "pixel " << p << " element " << i << ": qk "
                              << (int)y[p * l.ys + i] << " torch " << (int)c.y[p * l.channels + i]
                              << " (channels " << l.channels << ", strides " << l.as << "/" << l.bs
                              << "/" << l.ys << ")";
              }
            }
          }
          for (size_t i = l.channels; i < l.ys; i++) {
            ASSERT_EQ(y[p * l.ys + i], 0xEE) << "wrote past the pixel";
          }
        }
        t->mismatches += bad;
        t->values += c.y.size();
      }
      t->cases++;
    }
  }
  qk_threadpool_delete(pool);
}

void GoldenOnEveryIsa(const std::vector<Case>& cases, const char* what) {
  ASSERT_FALSE(cases.empty());
  std::stringstream ss(qk_compiled_isas());
  size_t ran = 0;
  for (std::string isa; ss >> isa;) {
    if (!qk_isa_is_supported(isa.c_str())) {
      std::printf("not run: %s (this CPU cannot run it)\n", isa.c_str());
      continue;
    }
    Tally t;
    RunCases(cases, isa, &t);
    std::printf("%s %s: %zu case runs (%zu values incl. %zu grids), %zu refusals, %zu mismatches\n",
                what, isa.c_str(), t.cases, t.values, t.grids, t.refusals, t.mismatches);
    EXPECT_EQ(t.mismatches, 0u);
    ran++;
  }
  EXPECT_GE(ran, 1u);
}

TEST(EltwiseGolden, AddMatchesPyTorch) { GoldenOnEveryIsa(AddCases(), "add"); }
TEST(EltwiseGolden, MulMatchesPyTorch) { GoldenOnEveryIsa(MulCases(), "mul"); }
// Real torch 2.6 (tools/debian13-root.sh; gen_eltwise.py --seed 26 --out .../eltwise-torch26).
// Scale ratios where 2.6's XNNPACK asserts (aborts) or QNNPACK shifts by >= 32 are not in them.
TEST(EltwiseGolden, AddMatchesPyTorch26) {
  static const std::vector<Case> c = Load(QK_ELTWISE_GOLDEN_DIR "/eltwise-torch26-add.txt");
  GoldenOnEveryIsa(c, "add (torch 2.6)");
}
TEST(EltwiseGolden, MulMatchesPyTorch26) {
  static const std::vector<Case> c = Load(QK_ELTWISE_GOLDEN_DIR "/eltwise-torch26-mul.txt");
  GoldenOnEveryIsa(c, "mul (torch 2.6)");
}

// Every engine / dtype / op of the generator is present, and the grids with both chunkings.
TEST(EltwiseGolden, CoversEveryCombination) {
  std::map<std::string, int> seen;
  for (const auto* file : {&AddCases(), &MulCases()}) {
    for (const Case& c : *file) {
      seen[c.get("op") + "/" + c.get("engine") + "/" + c.get("dtype") + (c.grid ? "/grid" : "") +
           (c.error.empty() ? "" : "/error")]++;
    }
  }
  for (const char* op : {"add", "add_relu", "mul", "mul_relu"}) {
    for (const char* eng : {"onednn", "qnnpack"}) {
      for (const char* dt : {"u8", "s8"}) {
        EXPECT_GE(seen[std::string(op) + "/" + eng + "/" + dt], 8) << op << " " << eng << " " << dt;
      }
    }
  }
  EXPECT_GE(seen["add/onednn/u8/grid"], 8);
  EXPECT_GE(seen["add/qnnpack/u8/error"], 1);
  EXPECT_GE(seen["add/qnnpack/s8/error"], 1);
  EXPECT_GE(seen["mul/qnnpack/s8/error"], 1);
}

// ---- argument checks: exact status codes ----------------------------------------------------

qk_add_desc ValidAdd() {
  qk_add_desc d;
  qk_add_desc_init(&d);
  d.numerics = QK_NUMERICS_PYTORCH_ONEDNN;
  d.channels = 8;
  d.type = QK_DTYPE_U8;
  d.a_scale = 0.1;
  d.a_zero_point = 3;
  d.b_scale = 0.2;
  d.b_zero_point = 100;
  d.output_scale = 0.25;
  d.output_zero_point = 7;
  return d;
}

qk_mul_desc ValidMul() {
  qk_mul_desc d;
  qk_mul_desc_init(&d);
  d.numerics = QK_NUMERICS_PYTORCH_ONEDNN;
  d.channels = 8;
  d.type = QK_DTYPE_S8;
  d.a_scale = 0.1;
  d.b_scale = 0.2;
  d.output_scale = 0.25;
  return d;
}

qk_status AddStatus(const qk_add_desc& d) {
  qk_add* op = nullptr;
  const qk_status s = qk_add_create(&d, &op);
  if (s != QK_SUCCESS) {
    EXPECT_EQ(op, nullptr);
  }
  qk_add_delete(op);
  return s;
}

qk_status MulStatus(const qk_mul_desc& d) {
  qk_mul* op = nullptr;
  const qk_status s = qk_mul_create(&d, &op);
  qk_mul_delete(op);
  return s;
}

TEST(EltwiseApi, InvalidArguments) {
  qk_add* op = nullptr;
  EXPECT_EQ(qk_add_create(nullptr, &op), QK_ERROR_INVALID_ARGUMENT);
  qk_add_desc d = ValidAdd();
  EXPECT_EQ(qk_add_create(&d, nullptr), QK_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(AddStatus(d), QK_SUCCESS);
  auto expect = [](qk_add_desc d, qk_status s, const char* what) {
    EXPECT_EQ(AddStatus(d), s) << what << ": " << qk_last_error();
  };
  d = ValidAdd();
  d.struct_size = 8;
  expect(d, QK_ERROR_INVALID_ARGUMENT, "struct_size");
  d = ValidAdd();
  d.numerics = (qk_numerics)99;
  expect(d, QK_ERROR_INVALID_ARGUMENT, "numerics");
  d = ValidAdd();
  d.type = QK_DTYPE_S32;
  expect(d, QK_ERROR_INVALID_ARGUMENT, "type");
  d = ValidAdd();
  d.channels = 0;
  expect(d, QK_ERROR_INVALID_ARGUMENT, "channels");
  d = ValidAdd();
  d.a_pixel_stride = 7;
  expect(d, QK_ERROR_INVALID_ARGUMENT, "a stride");
  d = ValidAdd();
  d.b_pixel_stride = 1;
  expect(d, QK_ERROR_INVALID_ARGUMENT, "b stride");
  d = ValidAdd();
  d.output_pixel_stride = 2;
  expect(d, QK_ERROR_INVALID_ARGUMENT, "y stride");
  d = ValidAdd();
  d.a_scale = 0;
  expect(d, QK_ERROR_INVALID_ARGUMENT, "a_scale 0");
  d = ValidAdd();
  d.b_scale = -1;
  expect(d, QK_ERROR_INVALID_ARGUMENT, "b_scale < 0");
  d = ValidAdd();
  d.output_scale = NAN;
  expect(d, QK_ERROR_INVALID_ARGUMENT, "nan");
  d = ValidAdd();
  d.output_scale = 1e-300;
  expect(d, QK_ERROR_INVALID_ARGUMENT, "f32 underflow");
  d = ValidAdd();
  d.a_scale = 1e300;
  expect(d, QK_ERROR_INVALID_ARGUMENT, "f32 overflow");
  d = ValidAdd();
  d.a_zero_point = 256;
  expect(d, QK_ERROR_INVALID_ARGUMENT, "a zp");
  d = ValidAdd();
  d.b_zero_point = -1;
  expect(d, QK_ERROR_INVALID_ARGUMENT, "b zp");
  d = ValidAdd();
  d.type = QK_DTYPE_S8;
  d.b_zero_point = 100;
  d.output_zero_point = 128;
  expect(d, QK_ERROR_INVALID_ARGUMENT, "s8 output zp");
  d = ValidAdd();
  d.relu = 2;
  expect(d, QK_ERROR_INVALID_ARGUMENT, "relu");
  d = ValidAdd();
  d.output_min = 10;
  d.output_max = 9;
  expect(d, QK_ERROR_INVALID_ARGUMENT, "range");
  d = ValidAdd();
  d.relu = 1;
  d.output_max = 6;
  expect(d, QK_ERROR_INVALID_ARGUMENT, "relu range");
  // mode refusals
  d = ValidAdd();
  d.numerics = QK_NUMERICS_ONNXRUNTIME;
  expect(d, QK_ERROR_UNSUPPORTED, "ort");
  d = ValidAdd();
  d.numerics = QK_NUMERICS_TFLITE;
  expect(d, QK_SUCCESS, "tflite add u8");
  d = ValidAdd();
  d.numerics = QK_NUMERICS_TFLITE;
  d.output_scale = 1e-7;
  expect(d, QK_ERROR_UNSUPPORTED, "tflite output multiplier >= 1");
  d = ValidAdd();
  d.numerics = QK_NUMERICS_XNNPACK;
  expect(d, QK_ERROR_UNSUPPORTED, "xnnpack u8");
  d = ValidAdd();
  d.numerics = QK_NUMERICS_PYTORCH_QNNPACK;
  d.relu = 1;
  d.output_zero_point = 255;
  expect(d, QK_ERROR_UNSUPPORTED, "qnnpack add_relu zp 255");
  d = ValidAdd();
  d.numerics = QK_NUMERICS_PYTORCH_QNNPACK;
  d.output_min = 9;
  d.output_max = 9;
  expect(d, QK_ERROR_UNSUPPORTED, "qnnpack one-value range");
  d = ValidAdd();
  d.numerics = QK_NUMERICS_PYTORCH_QNNPACK;
  d.output_scale = 0.2 / 256;
  expect(d, QK_ERROR_UNSUPPORTED, "qnnpack ratio 256");
  d = ValidAdd();
  d.numerics = QK_NUMERICS_PYTORCH_QNNPACK;
  d.output_scale = 0.2 * 2000;
  expect(d, QK_ERROR_UNSUPPORTED, "qnnpack max ratio < 2^-10");
  d = ValidAdd();
  d.numerics = QK_NUMERICS_PYTORCH_QNNPACK;
  d.output_scale = 0.1 * 20000;
  expect(d, QK_ERROR_UNSUPPORTED, "qnnpack ratio < 2^-14");
  d = ValidAdd();
  d.numerics = QK_NUMERICS_PYTORCH_QNNPACK;
  d.type = QK_DTYPE_S8;
  d.b_zero_point = 0;
  d.output_scale = 0.2 * 1100;
  expect(d, QK_ERROR_UNSUPPORTED, "xnnpack ratio < 2^-10");
  d = ValidAdd();
  d.output_scale = 1e-9;
  expect(d, QK_ERROR_UNSUPPORTED, "aten int32 reach");
  // accepted edge: XNNPACK s8 add_relu with output zp 127 (PyTorch 2.6: a constant 127)
  d = ValidAdd();
  d.numerics = QK_NUMERICS_PYTORCH_QNNPACK;
  d.type = QK_DTYPE_S8;
  d.b_zero_point = 0;
  d.relu = 1;
  d.output_zero_point = 127;
  expect(d, QK_SUCCESS, "xnnpack add_relu zp 127");

  qk_mul_desc m = ValidMul();
  EXPECT_EQ(MulStatus(m), QK_SUCCESS) << qk_last_error();
  m = ValidMul();
  m.broadcast_b = 2;
  EXPECT_EQ(MulStatus(m), QK_ERROR_INVALID_ARGUMENT);
  m = ValidMul();
  m.channels = 0;
  EXPECT_EQ(MulStatus(m), QK_ERROR_INVALID_ARGUMENT);
  m = ValidMul();
  m.output_scale = 0.02 * 256;
  EXPECT_EQ(MulStatus(m), QK_SUCCESS) << "ratio 2^-8 is inside XNNPACK's [2^-16, 2^8)";
  m = ValidMul();
  m.output_scale = 0.02 / 256;
  EXPECT_EQ(MulStatus(m), QK_ERROR_UNSUPPORTED);
  m = ValidMul();
  m.output_scale = 0.02 * 70000;
  EXPECT_EQ(MulStatus(m), QK_ERROR_UNSUPPORTED);
  m = ValidMul();
  m.output_scale = 0.02 * 70000;
  m.output_zero_point = 127;
  EXPECT_EQ(MulStatus(m), QK_SUCCESS) << "zp 127: ATen's qmul, no XNNPACK limit";
  m = ValidMul();
  m.type = QK_DTYPE_U8;
  m.output_scale = 0.02 / 40000;
  EXPECT_EQ(MulStatus(m), QK_ERROR_UNSUPPORTED) << "ATen multiplier >= 2^15";
  m = ValidMul();
  m.numerics = QK_NUMERICS_XNNPACK;
  m.type = QK_DTYPE_U8;
  EXPECT_EQ(MulStatus(m), QK_ERROR_UNSUPPORTED);
  m = ValidMul();
  m.numerics = QK_NUMERICS_TFLITE;
  EXPECT_EQ(MulStatus(m), QK_SUCCESS) << qk_last_error();
  m = ValidMul();
  m.numerics = QK_NUMERICS_TFLITE;
  m.type = QK_DTYPE_U8;
  EXPECT_EQ(MulStatus(m), QK_ERROR_UNSUPPORTED) << "tflite u8 mul";
  m = ValidMul();
  m.numerics = QK_NUMERICS_TFLITE;
  m.output_scale = 1e-15;
  EXPECT_EQ(MulStatus(m), QK_ERROR_UNSUPPORTED) << "tflite mul shift > 30";
  m = ValidMul();
  m.numerics = QK_NUMERICS_ONNXRUNTIME;
  EXPECT_EQ(MulStatus(m), QK_ERROR_UNSUPPORTED);
  qk_mul* mop = nullptr;
  EXPECT_EQ(qk_mul_create(nullptr, &mop), QK_ERROR_INVALID_ARGUMENT);
  m = ValidMul();
  EXPECT_EQ(qk_mul_create(&m, nullptr), QK_ERROR_INVALID_ARGUMENT);
}

TEST(EltwiseApi, RunArguments) {
  qk_add_desc d = ValidAdd();
  qk_add* op = nullptr;
  ASSERT_EQ(qk_add_create(&d, &op), QK_SUCCESS);
  uint8_t a[16] = {0}, b[16] = {0}, y[16] = {0};
  EXPECT_EQ(qk_add_run(nullptr, 2, a, b, y), QK_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(qk_add_run(op, 2, nullptr, b, y), QK_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(qk_add_run(op, 2, a, nullptr, y), QK_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(qk_add_run(op, 2, a, b, nullptr), QK_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(qk_add_run(op, 0, nullptr, nullptr, nullptr), QK_SUCCESS);
  EXPECT_EQ(qk_add_run(op, SIZE_MAX / 4, a, b, y), QK_ERROR_SIZE_OVERFLOW);
  EXPECT_EQ(qk_add_run(op, 2, a, b, y), QK_SUCCESS);
  EXPECT_STRNE(qk_add_isa(op), nullptr);
  EXPECT_NE(std::string(qk_add_ukernels(op)).find("qk_vadd_fp32_fma_x"), std::string::npos);
  qk_add_delete(op);
  qk_add_delete(nullptr);
  qk_mul_desc m = ValidMul();
  qk_mul* mop = nullptr;
  ASSERT_EQ(qk_mul_create(&m, &mop), QK_SUCCESS);
  EXPECT_EQ(qk_mul_run(nullptr, 1, 2, a, b, y), QK_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(qk_mul_run(mop, 1, 2, a, nullptr, y), QK_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(qk_mul_run(mop, SIZE_MAX / 2, 4, a, b, y), QK_ERROR_SIZE_OVERFLOW);
  EXPECT_EQ(qk_mul_run(mop, 0, 5, nullptr, nullptr, nullptr), QK_SUCCESS);
  EXPECT_EQ(qk_mul_run(mop, 1, 2, a, b, y), QK_SUCCESS);
  qk_mul_delete(mop);
  qk_mul_delete(nullptr);
}

// Descriptors from a newer header: zero extra bytes are accepted, nonzero ones refused.
TEST(EltwiseApi, NewerDescriptors) {
  struct {
    qk_add_desc d;
    uint64_t extra;
  } big;
  std::memset(&big, 0, sizeof(big));
  big.d = ValidAdd();
  big.d.struct_size = sizeof(big);
  qk_add* op = nullptr;
  EXPECT_EQ(qk_add_create(&big.d, &op), QK_SUCCESS) << qk_last_error();
  qk_add_delete(op);
  big.extra = 1;
  EXPECT_EQ(qk_add_create(&big.d, &op), QK_ERROR_UNSUPPORTED);
  EXPECT_EQ(op, nullptr);
  struct {
    qk_mul_desc d;
    uint64_t extra;
  } bigm;
  std::memset(&bigm, 0, sizeof(bigm));
  bigm.d = ValidMul();
  bigm.d.struct_size = sizeof(bigm);
  bigm.extra = 7;
  qk_mul* mop = nullptr;
  EXPECT_EQ(qk_mul_create(&bigm.d, &mop), QK_ERROR_UNSUPPORTED);
  bigm.extra = 0;
  EXPECT_EQ(qk_mul_create(&bigm.d, &mop), QK_SUCCESS) << qk_last_error();
  qk_mul_delete(mop);
  qk_mul_desc small = ValidMul();
  small.struct_size = 16;
  EXPECT_EQ(qk_mul_create(&small, &mop), QK_ERROR_INVALID_ARGUMENT);
  uint8_t a[8] = {0}, b[8] = {0}, y[8];
  EXPECT_EQ(qk_add_run_threaded(nullptr, 1, a, b, y, nullptr), QK_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(qk_mul_run_threaded(nullptr, 1, 1, a, b, y, nullptr), QK_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(qk_add_isa(nullptr), nullptr);
  EXPECT_EQ(qk_mul_ukernels(nullptr), nullptr);
}

// The positional rule is real: with these scales the FMA body and the plain tail round some
// (a, b) differently, so the same values give different bytes at flat index 0 and at 64.
TEST(EltwiseAten, FmaBodyAndPlainTailDiffer) {
  qk_add_desc d = ValidAdd();
  d.channels = 1;
  d.a_scale = 0.1;
  d.a_zero_point = 77;
  d.b_scale = 0.05;
  d.b_zero_point = 133;
  d.output_scale = 0.1;
  d.output_zero_point = 128;
  qk_add* op = nullptr;
  ASSERT_EQ(qk_add_create(&d, &op), QK_SUCCESS);
  size_t differ = 0;
  std::vector<uint8_t> a(65), b(65), y(65);
  for (int va = 0; va < 256; va++) {
    for (int vb = 0; vb < 256; vb++) {
      a[0] = a[64] = (uint8_t)va;
      b[0] = b[64] = (uint8_t)vb;
      ASSERT_EQ(qk_add_run(op, 65, a.data(), b.data(), y.data()), QK_SUCCESS);
      differ += y[0] != y[64];
    }
  }
  qk_add_delete(op);
  EXPECT_GT(differ, 0u);
  std::printf("FMA body vs plain tail: %zu of 65536 (a, b) pairs differ\n", differ);
}

// Any thread count gives the same bytes (the FMA blocks count from the tensor's start).
TEST(EltwiseAten, ThreadCountInvariant) {
  std::mt19937 rng(5);
  const size_t n = 200003;
  std::vector<uint8_t> a(n), b(n), y1(n), y4(n);
  for (size_t i = 0; i < n; i++) {
    a[i] = (uint8_t)rng();
    b[i] = (uint8_t)rng();
  }
  qk_add_desc d = ValidAdd();
  d.channels = 3;
  qk_add* op = nullptr;
  ASSERT_EQ(qk_add_create(&d, &op), QK_SUCCESS);
  qk_threadpool* pool = nullptr;
  ASSERT_EQ(qk_threadpool_create(4, &pool), QK_SUCCESS);
  const size_t pixels = n / 3;
  ASSERT_EQ(qk_add_run(op, pixels, a.data(), b.data(), y1.data()), QK_SUCCESS);
  ASSERT_EQ(qk_add_run_threaded(op, pixels, a.data(), b.data(), y4.data(), pool), QK_SUCCESS);
  EXPECT_EQ(std::memcmp(y1.data(), y4.data(), pixels * 3), 0);
  qk_threadpool_delete(pool);
  qk_add_delete(op);
}

// ---- TFLite ADD / MUL: from source, not run (no TFLite here) ---------------------------------

// Hand-worked examples (docs/ops-eltwise.md, "tflite"): s8, scales chosen so every multiplier is
// 2^30 (0.5 in Q31) with a small shift, each step done by hand.
TEST(EltwiseTflite, AddHandWorked) {
  qk_add_desc d;
  qk_add_desc_init(&d);
  d.numerics = QK_NUMERICS_TFLITE;
  d.channels = 4;
  d.type = QK_DTYPE_S8;
  d.a_scale = 0.5;       // m1 = 0.5 / (2 * 0.5) = 0.5: (2^30, shift 0)
  d.b_scale = 0.25;      // m2 = 0.25: (2^30, shift -1)
  d.output_scale = 1.0;  // mo = 1 / 2^20: (2^30, shift -19)
  d.output_zero_point = 5;
  qk_add* op = nullptr;
  ASSERT_EQ(qk_add_create(&d, &op), QK_SUCCESS) << qk_last_error();
  // (10, 3): va = SRDHM(10 << 20, 2^30) = 5242880; vb = RDBPOT(SRDHM(3 << 20, 2^30), 1) = 786432;
  //          SRDHM(6029312, 2^30) = 3014656; RDBPOT(3014656, 19) = round(5.75) = 6 -> 11
  // (1, 0):  2^19 -> 2^18 -> RDBPOT(262144, 19) = 0.5 rounded away from zero = 1 -> 6
  // (-1, 0): -524288 -> -262144 -> -0.5 away from zero = -1 -> 4
  // (-128, 127): -128 * 0.5 + 127 * 0.25 = -32.25 -> -32 -> -27
  const int8_t a[4] = {10, 1, -1, -128}, b[4] = {3, 0, 0, 127};
  int8_t y[4];
  ASSERT_EQ(qk_add_run(op, 1, a, b, y), QK_SUCCESS);
  EXPECT_EQ(y[0], 11);
  EXPECT_EQ(y[1], 6);
  EXPECT_EQ(y[2], 4);
  EXPECT_EQ(y[3], -27);
  qk_add_delete(op);
}

TEST(EltwiseTflite, MulHandWorkedDoubleRounding) {
  qk_mul_desc d;
  qk_mul_desc_init(&d);
  d.numerics = QK_NUMERICS_TFLITE;
  d.channels = 4;
  d.type = QK_DTYPE_S8;
  d.a_scale = 0.5;
  d.b_scale = 0.5;
  d.output_scale = 1.0;  // real multiplier 0.25 = (2^30, shift -1)
  qk_mul* op = nullptr;
  ASSERT_EQ(qk_mul_create(&d, &op), QK_SUCCESS) << qk_last_error();
  // (3, 2): p = 6, SRDHM(6, 2^30) = 3 (3.5 truncated), RDBPOT(3, 1) = 2 (1.5 away from zero)
  // (1, 1): p = 1, SRDHM = 1 (the +2^30 nudge), RDBPOT(1, 1) = 1: 0.25 becomes 1 (double
  //         rounding; one rounding would give 0)
  // (-1, 1): p = -1, SRDHM = 0 (nudge 1 - 2^30, truncation), so -0.25 becomes 0
  // (7, 0): p = 0 -> 0
  const int8_t a[4] = {3, 1, -1, 7}, b[4] = {2, 1, 1, 0};
  int8_t y[4];
  ASSERT_EQ(qk_mul_run(op, 1, 1, a, b, y), QK_SUCCESS);
  EXPECT_EQ(y[0], 2);
  EXPECT_EQ(y[1], 1);
  EXPECT_EQ(y[2], 0);
  EXPECT_EQ(y[3], 0);
  qk_mul_delete(op);
  d.output_scale = 0.125;  // real 2.0 = (2^30, shift 2)
  d.channels = 1;
  ASSERT_EQ(qk_mul_create(&d, &op), QK_SUCCESS) << qk_last_error();
  const int8_t a2[1] = {3}, b2[1] = {-5};
  ASSERT_EQ(qk_mul_run(op, 1, 1, a2, b2, y), QK_SUCCESS);
  EXPECT_EQ(y[0], -30);  // SRDHM(-60, 2^30) = -30 (-30.5 truncated toward zero)
  qk_mul_delete(op);
}

// An independent transcription of TFLite's code (double multipliers, frexp / std::round,
// gemmlowp in int64) against qk on random data and scales.
int32_t RefQuantizeMultiplier(double m, int* shift) {
  if (m == 0) {
    *shift = 0;
    return 0;
  }
  const double q = std::frexp(m, shift);
  int64_t qf = (int64_t)std::round(q * (1ll << 31));
  if (qf == (1ll << 31)) {
    qf /= 2;
    ++*shift;
  }
  if (*shift < -31) {
    *shift = 0;
    qf = 0;
  }
  return (int32_t)qf;
}
int32_t RefSrdhm(int32_t a, int32_t b) {
  if (a == INT32_MIN && b == INT32_MIN) return INT32_MAX;
  const int64_t ab = (int64_t)a * b;
  const int64_t nudge = ab >= 0 ? (1 << 30) : (1 - (1 << 30));
  return (int32_t)((ab + nudge) / (1ll << 31));
}
int32_t RefRdbpot(int32_t x, int e) {
  const int32_t mask = (int32_t)((1ll << e) - 1);
  const int32_t rem = x & mask, thr = (mask >> 1) + (x < 0);
  return (x >> e) + (rem > thr);
}
int32_t RefMbqm(int32_t x, int32_t m, int shift) {
  const int left = shift > 0 ? shift : 0, right = shift > 0 ? 0 : -shift;
  return RefRdbpot(RefSrdhm((int32_t)((uint32_t)x << left), m), right);
}

TEST(EltwiseTflite, MatchesTransliteration) {
  std::mt19937 rng(77);
  std::uniform_real_distribution<double> u(0, 1);
  size_t checked = 0;
  for (int trial = 0; trial < 300; trial++) {
    const bool is_mul = trial % 2;
    const bool s8 = is_mul || (trial % 4 == 0);
    const int lo = s8 ? -128 : 0, hi = s8 ? 127 : 255;
    const float sa = (float)std::exp(-8 * u(rng)), sb = (float)(sa * std::exp(4 * u(rng) - 2));
    const float so = is_mul ? (float)(sa * sb * std::exp(10 * u(rng) - 6))
                            : (float)(std::max(sa, sb) * std::exp(8 * u(rng) - 4));
    const int za = lo + (int)(rng() % 256), zb = lo + (int)(rng() % 256),
              zo = lo + (int)(rng() % 256);
    const int relu = trial % 3 == 0;
    const size_t n = 1 + rng() % 300;
    std::vector<uint8_t> a(n), b(n), y(n);
    for (size_t i = 0; i < n; i++) {
      a[i] = (uint8_t)rng();
      b[i] = (uint8_t)rng();
    }
    auto val = [&](uint8_t v) { return s8 ? (int)(int8_t)v : (int)v; };
    std::vector<int> ref(n);
    int32_t m1 = 0, m2 = 0, mo = 0;
    int sh1 = 0, sh2 = 0, sho = 0;
    if (is_mul) {
      mo = RefQuantizeMultiplier((double)sa * (double)sb / (double)so, &sho);
      if (sho > 30) continue;
    } else {
      const double twice = 2 * (double)std::max(sa, sb);
      m1 = RefQuantizeMultiplier((double)sa / twice, &sh1);
      m2 = RefQuantizeMultiplier((double)sb / twice, &sh2);
      mo = RefQuantizeMultiplier(twice / ((1 << 20) * (double)so), &sho);
      if (sho > 0) continue;
    }
    for (size_t i = 0; i < n; i++) {
      int32_t r;
      if (is_mul) {
        r = (int32_t)((uint32_t)RefMbqm((val(a[i]) - za) * (val(b[i]) - zb), mo, sho) +
                      (uint32_t)zo);
      } else {
        const int32_t s1 = RefMbqm((val(a[i]) - za) * (1 << 20), m1, sh1);
        const int32_t s2 = RefMbqm((val(b[i]) - zb) * (1 << 20), m2, sh2);
        r = RefMbqm(s1 + s2, mo, sho) + zo;
      }
      ref[i] = std::min(hi, std::max(relu ? zo : lo, r));
    }
    qk_status st;
    if (is_mul) {
      qk_mul_desc d;
      qk_mul_desc_init(&d);
      d.numerics = QK_NUMERICS_TFLITE;
      d.channels = 1;
      d.type = QK_DTYPE_S8;
      d.a_scale = sa;
      d.b_scale = sb;
      d.output_scale = so;
      d.a_zero_point = za;
      d.b_zero_point = zb;
      d.output_zero_point = zo;
      d.relu = relu;
      qk_mul* op = nullptr;
      ASSERT_EQ(qk_mul_create(&d, &op), QK_SUCCESS) << qk_last_error();
      st = qk_mul_run(op, 1, n, a.data(), b.data(), y.data());
      qk_mul_delete(op);
    } else {
      qk_add_desc d;
      qk_add_desc_init(&d);
      d.numerics = QK_NUMERICS_TFLITE;
      d.channels = 1;
      d.type = s8 ? QK_DTYPE_S8 : QK_DTYPE_U8;
      d.a_scale = sa;
      d.b_scale = sb;
      d.output_scale = so;
      d.a_zero_point = za;
      d.b_zero_point = zb;
      d.output_zero_point = zo;
      d.relu = relu;
      qk_add* op = nullptr;
      ASSERT_EQ(qk_add_create(&d, &op), QK_SUCCESS) << qk_last_error();
      st = qk_add_run(op, n, a.data(), b.data(), y.data());
      qk_add_delete(op);
    }
    ASSERT_EQ(st, QK_SUCCESS);
    for (size_t i = 0; i < n; i++) {
      ASSERT_EQ(val(y[i]), ref[i]) << (is_mul ? "mul" : "add") << " trial " << trial << " i " << i;
    }
    checked += n;
  }
  std::printf("tflite add/mul: %zu values match the transliteration\n", checked);
  EXPECT_GT(checked, 10000u);
}

}  // namespace
