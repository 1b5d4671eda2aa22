// conv2d on random configurations against an independent reference: a direct 7-loop convolution
// accumulating Σ (x - x_zp)(w - w_zp) in int64 (reduced modulo 2^32 like the frameworks), then the
// mode's generic requantization. This checks everything between the API and the epilogue —
// im2col, padding, dilation, groups, weight packing, zero-point folding, row sums, tiling, pixel
// strides, the 1x1 direct path, batches — on every ISA this CPU runs. The epilogues themselves are
// checked against the frameworks by golden_test and by hand-worked examples in requant_test.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "arch/dispatch.h"
#include "isa_util.h"
#include "qk.h"

namespace {

struct Config {
  qk_numerics numerics;
  qk_dtype type;
  size_t n, h, w, c, o, groups, kh, kw, sh, sw, dh, dw, pt, pl, pb, pr;
  size_t in_stride, out_stride;
  bool per_channel, wzp, bias, relu;
  uint32_t seed;
};

std::string Describe(const Config& c) {
  char buf[320];
  std::snprintf(buf, sizeof(buf),
                "%s %s N%zu H%zu W%zu C%zu O%zu G%zu k%zux%zu s%zu,%zu d%zu,%zu p%zu,%zu,%zu,%zu "
                "strides %zu/%zu pc%d wzp%d bias%d relu%d seed%u",
                qk_numerics_name(c.numerics), c.type == QK_DTYPE_U8 ? "u8" : "s8", c.n, c.h, c.w,
                c.c, c.o, c.groups, c.kh, c.kw, c.sh, c.sw, c.dh, c.dw, c.pt, c.pl, c.pb, c.pr,
                c.in_stride, c.out_stride, c.per_channel, c.wzp, c.bias, c.relu, c.seed);
  return buf;
}

// A configuration every mode accepts: the mode-specific refusals are tested in api_test.
Config RandomConfig(std::mt19937& rng, qk_numerics numerics, bool large) {
  auto pick = [&](size_t lo, size_t hi) { return lo + rng() % (hi - lo + 1); };
  Config c{};
  c.numerics = numerics;
  c.seed = static_cast<uint32_t>(rng());
  const bool s8_ok = numerics == QK_NUMERICS_PYTORCH_QNNPACK ||
                     numerics == QK_NUMERICS_ONNXRUNTIME || numerics == QK_NUMERICS_TFLITE ||
                     numerics == QK_NUMERICS_XNNPACK;
  const bool u8_ok = numerics != QK_NUMERICS_XNNPACK;
  c.type = s8_ok && (!u8_ok || rng() % 2) ? QK_DTYPE_S8 : QK_DTYPE_U8;
  const int shape = static_cast<int>(rng() % 4);
  c.groups = shape == 0 ? pick(1, 6) : 1;
  if (shape == 1) {  // depthwise
    c.groups = pick(1, 24);
    c.c = c.groups;
    c.o = c.groups * pick(1, 2);
  } else {
    c.c = c.groups * (large ? pick(40, 150) : pick(1, 13));
    c.o = c.groups * (large ? pick(100, 300) : pick(1, 21));
  }
  c.kh = pick(1, large ? 3 : 5);
  c.kw = rng() % 3 ? c.kh : pick(1, 3);
  c.sh = pick(1, 2);
  c.sw = rng() % 4 ? c.sh : pick(1, 3);
  c.dh = rng() % 4 ? 1 : 2;
  c.dw = rng() % 4 ? c.dh : pick(1, 2);
  c.pt = pick(0, 2), c.pl = pick(0, 2), c.pb = pick(0, 2), c.pr = pick(0, 2);
  if (shape == 2) {  // the 1x1 direct path (u8), strided half of the time
    c.kh = c.kw = 1;
    c.sh = rng() % 2 ? 1 : pick(1, 3);
    c.sw = rng() % 2 ? 1 : pick(1, 3);
    c.pt = c.pl = c.pb = c.pr = 0;
  }
  c.n = pick(1, 2);
  const size_t min_h = (c.kh - 1) * c.dh + 1, min_w = (c.kw - 1) * c.dw + 1;
  c.h = std::max(min_h, pick(1, large ? 20 : 11));
  c.w = std::max(min_w, pick(1, large ? 20 : 11));
  c.in_stride = c.c + (rng() % 4 == 0 ? pick(1, 5) : 0);
  c.out_stride = c.o + (rng() % 4 == 0 ? pick(1, 5) : 0);
  c.per_channel = rng() % 2;
  const bool wzp_ok =
      numerics == QK_NUMERICS_PYTORCH_FBGEMM || numerics == QK_NUMERICS_PYTORCH_FBGEMM_AVX2 ||
      numerics == QK_NUMERICS_PYTORCH_X86 || numerics == QK_NUMERICS_ONNXRUNTIME ||
      ((numerics == QK_NUMERICS_PYTORCH_QNNPACK || numerics == QK_NUMERICS_TFLITE) &&
       c.type == QK_DTYPE_U8);
  if (numerics == QK_NUMERICS_TFLITE && c.type == QK_DTYPE_U8) c.per_channel = false;
  c.wzp = wzp_ok && rng() % 2;
  c.bias = rng() % 4 != 0;
  c.relu = rng() % 3 == 0;
  return c;
}

struct Data {
  std::vector<uint8_t> x;  // NHWC with in_stride, bytes of the input type
  std::vector<int8_t> w;   // OIHW
  std::vector<double> ws;
  std::vector<int32_t> wz;
  std::vector<float> bias_f;
  std::vector<int32_t> bias_i;
  double sx, so;
  int32_t zx, zo;
};

Data RandomData(const Config& c) {
  std::mt19937 rng(c.seed);
  Data d;
  const bool s8 = c.type == QK_DTYPE_S8;
  const int qmin = s8 ? -128 : 0, qmax = s8 ? 127 : 255;
  std::uniform_int_distribution<int> q(qmin, qmax), w(-128, 127), wz(-128, 127);
  auto zero_point = [&] {
    const int r = static_cast<int>(rng() % 4);
    return r == 0 ? qmin : r == 1 ? qmax : q(rng);
  };
  d.x.resize(c.n * c.h * c.w * c.in_stride);
  for (auto& v : d.x) v = static_cast<uint8_t>(q(rng));
  d.w.resize(c.o * (c.c / c.groups) * c.kh * c.kw);
  for (auto& v : d.w) v = static_cast<int8_t>(w(rng));
  const size_t nscales = c.per_channel ? c.o : 1;
  std::uniform_real_distribution<double> e(-12, -2);
  for (size_t i = 0; i < nscales; i++) {
    d.ws.push_back(static_cast<float>(std::exp2(e(rng))));
    d.wz.push_back(
        c.wzp ? (c.numerics == QK_NUMERICS_ONNXRUNTIME ? (i == 0 ? wz(rng) : d.wz[0]) : wz(rng))
              : 0);
  }
  d.sx = static_cast<float>(std::exp2(e(rng)));
  d.zx = zero_point();
  d.zo = zero_point();
  // XNNPACK refuses an empty output range (ReLU with the zero point at the top).
  if (c.relu && c.numerics == QK_NUMERICS_PYTORCH_QNNPACK && s8 && d.zo == qmax) d.zo = qmax - 1;
  // Output scale: multipliers mostly sensible, sometimes tiny or > 1 (overflow paths).
  const double k = double(c.c / c.groups * c.kh * c.kw);
  const double typical = d.sx * d.ws[0] * 64.0 * 64.0 * std::sqrt(k);
  std::uniform_real_distribution<double> spread(-2, 2);
  d.so = static_cast<float>(typical / 100.0 * std::exp2(spread(rng)));
  if (rng() % 8 == 0) d.so = static_cast<float>(d.sx * d.ws[0] / 3.0);  // multiplier 3
  if ((c.numerics == QK_NUMERICS_PYTORCH_QNNPACK && c.type == QK_DTYPE_S8) ||
      c.numerics == QK_NUMERICS_XNNPACK) {
    // XNNPACK refuses multipliers >= 256 (api_test checks that); stay below for every channel.
    const double max_ws = *std::max_element(d.ws.begin(), d.ws.end());
    d.so = std::max(d.so, static_cast<double>(static_cast<float>(d.sx * max_ws / 200.0)));
  }
  std::normal_distribution<float> b(0.0f, static_cast<float>(typical));
  for (size_t o = 0; o < c.o; o++) {
    d.bias_f.push_back(b(rng));
    d.bias_i.push_back(static_cast<int32_t>(b(rng) / static_cast<float>(d.sx * d.ws[0])));
  }
  return d;
}

qk_conv2d_desc MakeDesc(const Config& c, const Data& d) {
  qk_conv2d_desc desc;
  qk_conv2d_desc_init(&desc);
  desc.numerics = c.numerics;
  desc.input_channels = c.c;
  desc.output_channels = c.o;
  desc.groups = c.groups;
  desc.kernel_height = c.kh, desc.kernel_width = c.kw;
  desc.stride_height = c.sh, desc.stride_width = c.sw;
  desc.dilation_height = c.dh, desc.dilation_width = c.dw;
  desc.padding_top = c.pt, desc.padding_left = c.pl, desc.padding_bottom = c.pb,
  desc.padding_right = c.pr;
  desc.input_type = desc.output_type = c.type;
  desc.input_scale = d.sx;
  desc.input_zero_point = d.zx;
  desc.weights = d.w.data();
  desc.weight_scale_count = d.ws.size();
  desc.weight_scales = d.ws.data();
  desc.weight_zero_points = d.wz.data();
  const bool int_bias = c.numerics == QK_NUMERICS_ONNXRUNTIME ||
                        c.numerics == QK_NUMERICS_TFLITE || c.numerics == QK_NUMERICS_XNNPACK;
  if (c.bias) {
    desc.bias_type = int_bias ? QK_DTYPE_S32 : QK_DTYPE_F32;
    desc.bias = int_bias ? static_cast<const void*>(d.bias_i.data()) : d.bias_f.data();
  }
  desc.output_scale = d.so;
  desc.output_zero_point = d.zo;
  desc.relu = c.relu;
  desc.input_pixel_stride = c.in_stride;
  desc.output_pixel_stride = c.out_stride;
  return desc;
}

// ---- the independent reference ----
// Written from docs/numerics.md, not from kernels/numerics.c: a direct convolution in int64
// (FBGEMM's int16 pair saturation applied where PyTorch's fbgemm engine saturates), then each
// framework's epilogue as scalar C++ (float32, one operation at a time, std::fma where the
// framework fuses).

float F(double v) { return static_cast<float>(v); }

// x86 CVTPS2DQ: round half to even, INT32_MIN when out of range or NaN.
int64_t Cvtps2dq(float v) {
  if (!(v > -2147483904.0f && v < 2147483648.0f)) return INT32_MIN;
  return static_cast<int64_t>(std::nearbyint(v));
}

int32_t Clamp(int64_t v, int32_t lo, int32_t hi) {
  return static_cast<int32_t>(std::min<int64_t>(std::max<int64_t>(v, lo), hi));
}

float ClampF(float v, float lo, float hi) { return v < lo ? lo : v > hi ? hi : v; }

// PyTorch's quantize_val to qint32: rne(b * (1 / scale)), saturated.
int32_t QuantizeBias(float b, double scale) {
  const double r = std::nearbyint(static_cast<double>(b * (1.0f / F(scale))));
  return r <= -2147483648.0 ? INT32_MIN : r >= 2147483647.0 ? INT32_MAX : static_cast<int32_t>(r);
}

bool FbgemmDepthwisePath(const Config& c) {
  const size_t k = c.kh, pad = (k - 1) / 2;
  return c.groups == c.c && (c.o == c.groups || c.o == 2 * c.groups) && c.groups % 8 == 0 &&
         c.sh <= 2 && c.sw <= 2 && c.kw == k && (k == 3 || k == 5 || k == 7) && c.dh == 1 &&
         c.dw == 1 && c.pt == pad && c.pl == pad && c.pb == pad && c.pr == pad;
}

// pytorch-x86: oneDNN for symmetric weights and <= 100 groups, FBGEMM otherwise.
qk_numerics Resolve(const Config& c, const Data& d) {
  if (c.numerics != QK_NUMERICS_PYTORCH_X86) return c.numerics;
  const bool symmetric = std::all_of(d.wz.begin(), d.wz.end(), [](int32_t z) { return z == 0; });
  return symmetric && c.groups <= 100 ? QK_NUMERICS_PYTORCH_ONEDNN : QK_NUMERICS_PYTORCH_FBGEMM;
}

bool SaturatesPairs(const Config& c, const Data& d) {
  const qk_numerics m = Resolve(c, d);
  return m == QK_NUMERICS_PYTORCH_FBGEMM_AVX2 ||
         (m == QK_NUMERICS_PYTORCH_FBGEMM && FbgemmDepthwisePath(c));
}

// Σ (x - zx)(w - zw) of one output, or FBGEMM's saturating form: raw u8 x s8 products of K pairs
// (K in (kh, kw, c) order per group, padding = zx) clamped to int16, then the zero-point terms.
int64_t Accumulate(const Config& c, const Data& d, size_t n, size_t oy, size_t ox, size_t o) {
  const bool s8 = c.type == QK_DTYPE_S8;
  const size_t cg = c.c / c.groups, g = o / (c.o / c.groups);
  const int64_t zw = d.wz[c.per_channel ? o : 0];
  std::vector<int64_t> xs, wv;  // K order (kh, kw, c)
  for (size_t ky = 0; ky < c.kh; ky++) {
    for (size_t kx = 0; kx < c.kw; kx++) {
      for (size_t ic = 0; ic < cg; ic++) {
        const long iy = long(oy * c.sh + ky * c.dh) - long(c.pt);
        const long ix = long(ox * c.sw + kx * c.dw) - long(c.pl);
        int64_t xv = d.zx;
        if (iy >= 0 && ix >= 0 && iy < long(c.h) && ix < long(c.w)) {
          const uint8_t raw =
              d.x[((n * c.h + size_t(iy)) * c.w + size_t(ix)) * c.in_stride + g * cg + ic];
          xv = s8 ? int8_t(raw) : raw;
        }
        xs.push_back(xv);
        wv.push_back(d.w[((o * cg + ic) * c.kh + ky) * c.kw + kx]);
      }
    }
  }
  int64_t s = 0;
  if (!SaturatesPairs(c, d)) {
    for (size_t i = 0; i < xs.size(); i++) s += (xs[i] - d.zx) * (wv[i] - zw);
    return s;
  }
  int64_t sum_x = 0, sum_w = 0;
  for (size_t i = 0; i < xs.size(); i += 2) {
    int64_t pair = xs[i] * wv[i];
    if (i + 1 < xs.size()) pair += xs[i + 1] * wv[i + 1];
    s += std::clamp<int64_t>(pair, -32768, 32767);
  }
  for (size_t i = 0; i < xs.size(); i++) sum_x += xs[i], sum_w += wv[i];
  return s - d.zx * sum_w - zw * sum_x + int64_t(xs.size()) * d.zx * zw;
}

int32_t Wrap(int64_t v) { return static_cast<int32_t>(static_cast<uint32_t>(static_cast<uint64_t>(v))); }

// TFLite QuantizeMultiplier.
void TfliteMultiplier(double m, int32_t* mult, int* shift) {
  int e = 0;
  const double q = std::frexp(m, &e);
  int64_t f = static_cast<int64_t>(std::round(q * 2147483648.0));
  if (f == (int64_t{1} << 31)) f /= 2, e++;
  if (e < -31) e = 0, f = 0;
  *mult = static_cast<int32_t>(f);
  *shift = e;
}

int32_t Srdhm(int32_t a, int32_t b) {
  if (a == INT32_MIN && b == INT32_MIN) return INT32_MAX;
  const int64_t ab = int64_t{a} * b;
  const int64_t nudge = ab >= 0 ? (1 << 30) : (1 - (1 << 30));
  return static_cast<int32_t>((ab + nudge) / (int64_t{1} << 31));
}

int32_t Rdbpot(int32_t x, int e) {
  const int32_t mask = static_cast<int32_t>((uint32_t{1} << e) - 1);
  const int32_t rem = x & mask, threshold = (mask >> 1) + (x < 0 ? 1 : 0);
  return (x >> e) + (rem > threshold ? 1 : 0);
}

// One output value of the mode (docs/numerics.md), from the exact or saturated accumulator.
int32_t Epilogue(const Config& c, const Data& d, int64_t acc64, size_t o, int32_t lo, int32_t hi) {
  const double sw = d.ws[c.per_channel ? o : 0];
  const float sxf = F(d.sx), swf = F(sw), sof = F(d.so);
  const float bf = c.bias ? d.bias_f[o] : 0.0f;
  const int32_t bi = c.bias ? d.bias_i[o] : 0;
  const int32_t zo = d.zo;
  const qk_numerics mode = Resolve(c, d);
  switch (mode) {
    case QK_NUMERICS_PYTORCH_FBGEMM:
    case QK_NUMERICS_PYTORCH_FBGEMM_AVX2: {
      const float ats = sxf * swf, mult = ats / sof, rcp = F(1.0 / double(ats));
      const float a = static_cast<float>(Wrap(acc64));
      float v;
      if (!c.bias) v = a;
      else if (c.per_channel) v = a + bf / ats;
      else if (FbgemmDepthwisePath(c)) v = a + bf * rcp;
      else v = std::fma(bf, rcp, a);
      return Clamp(Cvtps2dq(v * mult) + zo, lo, hi);
    }
    case QK_NUMERICS_PYTORCH_QNNPACK: {
      if (c.type == QK_DTYPE_U8) {
        int32_t b = c.bias ? QuantizeBias(bf, sw * d.sx) : 0;
        const bool gemm = c.kh == 1 && c.kw == 1 && c.sh == 1 && c.sw == 1 && c.pt + c.pl + c.pb + c.pr == 0;
        if (b == INT32_MAX && !gemm) b = INT32_MIN;
        const float m = (swf * sxf) * (1.0f / sof);
        return Clamp(Cvtps2dq(static_cast<float>(Wrap(acc64 + b)) * m) + zo, lo, hi);
      }
      const int32_t b = c.bias ? QuantizeBias(bf, sw * d.sx) : 0;
      const float m = (sxf * swf) / sof;
      const float v = ClampF(static_cast<float>(Wrap(acc64 + b)) * m, float(lo - zo), float(hi - zo));
      return static_cast<int32_t>(std::nearbyint(v)) + zo;
    }
    case QK_NUMERICS_PYTORCH_ONEDNN_1_13: {
      const float isx = F(1.0 / d.sx), iso = F(1.0 / d.so), isw = F(1.0 / sw);
      const float bsc = isx * isw;
      float v = (static_cast<float>(Wrap(acc64)) + bf * bsc) * (iso / bsc);
      v = v + float(zo);
      return static_cast<int32_t>(std::nearbyint(ClampF(v, float(lo), float(hi))));
    }
    case QK_NUMERICS_PYTORCH_ONEDNN: {
      const float xs = 1.0f / F(1.0 / d.sx);
      float v = static_cast<float>(Wrap(acc64)) * (xs * swf);
      v = v + bf;
      v = v * (1.0f / sof);
      v = v + float(zo);
      return static_cast<int32_t>(std::nearbyint(ClampF(v, float(lo), float(hi))));
    }
    case QK_NUMERICS_ONNXRUNTIME:
    case QK_NUMERICS_XNNPACK: {
      const float m = (sxf * swf) / sof;
      const float v = ClampF(static_cast<float>(Wrap(acc64 + bi)) * m, float(lo - zo), float(hi - zo));
      return static_cast<int32_t>(std::nearbyint(v)) + zo;
    }
    case QK_NUMERICS_TFLITE: {
      const double m = c.type == QK_DTYPE_U8 ? double(sxf * swf) / double(sof)
                                             : double(sxf) * double(swf) / double(sof);
      int32_t mult = 0;
      int shift = 0;
      TfliteMultiplier(m, &mult, &shift);
      const int32_t x = Wrap(acc64 + bi);
      const int32_t left = shift > 0 ? shift : 0, right = shift > 0 ? 0 : -shift;
      const int32_t r = Rdbpot(Srdhm(static_cast<int32_t>(static_cast<uint32_t>(x) << left), mult), right);
      return Clamp(Wrap(int64_t{r} + zo), lo, hi);
    }
    default: ADD_FAILURE() << "no reference for mode " << int(mode); return 0;
  }
}

std::vector<uint8_t> Reference(const Config& c, const Data& d, const qk_conv2d_desc& desc,
                               size_t oh, size_t ow) {
  const bool s8 = c.type == QK_DTYPE_S8;
  int32_t lo = std::max(s8 ? -128 : 0, desc.output_min), hi = std::min(s8 ? 127 : 255, desc.output_max);
  if (c.relu) lo = std::max(lo, d.zo);
  std::vector<uint8_t> y(c.n * oh * ow * c.out_stride, 0x77);
  for (size_t n = 0; n < c.n; n++) {
    for (size_t oy = 0; oy < oh; oy++) {
      for (size_t ox = 0; ox < ow; ox++) {
        for (size_t o = 0; o < c.o; o++) {
          const int32_t v = Epilogue(c, d, Accumulate(c, d, n, oy, ox, o), o, lo, hi);
          y[((n * oh + oy) * ow + ox) * c.out_stride + o] = static_cast<uint8_t>(v);
        }
      }
    }
  }
  return y;
}

void CheckRandom(qk_numerics numerics, bool large, int cases) {
  std::mt19937 rng(static_cast<uint32_t>(numerics) * 1000 + (large ? 1 : 0));
  for (const std::string& isa : qk_test::SupportedIsas()) {
    qk_test::ScopedIsa scoped(isa);
    for (int i = 0; i < cases; i++) {
      const Config c = RandomConfig(rng, numerics, large);
      const Data d = RandomData(c);
      const qk_conv2d_desc desc = MakeDesc(c, d);
      qk_conv2d* raw = nullptr;
      ASSERT_EQ(qk_conv2d_create(&desc, &raw), QK_SUCCESS)
          << Describe(c) << ": " << qk_last_error();
      std::unique_ptr<qk_conv2d, decltype(&qk_conv2d_delete)> op(raw, qk_conv2d_delete);
      size_t oh = 0, ow = 0;
      ASSERT_EQ(qk_conv2d_output_size(op.get(), c.h, c.w, &oh, &ow), QK_SUCCESS);
      const std::vector<uint8_t> want = Reference(c, d, desc, oh, ow);
      std::vector<uint8_t> got(want.size(), 0x77);  // pixel-stride gaps must stay untouched
      // An exactly-sized workspace half the time, the library's own allocation otherwise.
      std::unique_ptr<void, decltype(&free)> ws(nullptr, free);
      if (i % 2) {
        void* p = nullptr;
        ASSERT_EQ(posix_memalign(&p, 64, qk_conv2d_workspace_size(op.get()) + 1), 0);
        ws.reset(p);
      }
      ASSERT_EQ(qk_conv2d_run(op.get(), c.n, c.h, c.w, d.x.data(), got.data(), ws.get()),
                QK_SUCCESS)
          << qk_last_error();
      ASSERT_EQ(got, want) << Describe(c) << " on " << isa << " (" << qk_conv2d_ukernels(op.get())
                           << ")";
    }
    std::printf("[ conv2d   ] %s %s on %s: %d random convolutions match the direct reference\n",
                qk_numerics_name(numerics), large ? "large" : "small", isa.c_str(), cases);
  }
}

class RandomConv : public testing::TestWithParam<qk_numerics> {};

TEST_P(RandomConv, SmallShapes) { CheckRandom(GetParam(), false, 150); }
TEST_P(RandomConv, LargeShapesTileAndBlockEdges) { CheckRandom(GetParam(), true, 6); }

INSTANTIATE_TEST_SUITE_P(Modes, RandomConv,
                         testing::Values(QK_NUMERICS_PYTORCH_FBGEMM,
                                         QK_NUMERICS_PYTORCH_FBGEMM_AVX2, QK_NUMERICS_PYTORCH_X86,
                                         QK_NUMERICS_PYTORCH_QNNPACK, QK_NUMERICS_PYTORCH_ONEDNN,
                                         QK_NUMERICS_PYTORCH_ONEDNN_1_13, QK_NUMERICS_ONNXRUNTIME,
                                         QK_NUMERICS_TFLITE, QK_NUMERICS_XNNPACK),
                         [](const testing::TestParamInfo<qk_numerics>& info) {
                           std::string s = qk_numerics_name(info.param);
                           for (char& ch : s) {
                             if (ch == '-' || ch == '.') ch = '_';
                           }
                           return s;
                         });

// The depthwise path with the channel counts and kernels the random shapes above do not reach:
// channels around multiples of 16 and 64 (the block and slice tails of the SIMD kernels), 3x3 to
// 7x7 and odd kernels, strides, dilations, asymmetric padding and images wide enough for long
// runs of interior pixels (whose tap pointers are the left neighbour's plus one stride).
TEST(Conv2d, DepthwiseWideChannelsAndKernels) {
  std::mt19937 rng(64);
  const size_t channels[] = {1, 15, 16, 17, 31, 32, 33, 48, 63, 64, 65, 96, 129, 144, 193};
  const size_t kernels[][2] = {{3, 3}, {5, 5}, {7, 7}, {1, 1}, {2, 2}, {3, 1}, {1, 5}, {4, 4}};
  const qk_numerics modes[] = {QK_NUMERICS_PYTORCH_FBGEMM,      QK_NUMERICS_PYTORCH_QNNPACK,
                               QK_NUMERICS_PYTORCH_ONEDNN,      QK_NUMERICS_ONNXRUNTIME,
                               QK_NUMERICS_TFLITE,              QK_NUMERICS_XNNPACK,
                               QK_NUMERICS_PYTORCH_FBGEMM_AVX2, QK_NUMERICS_PYTORCH_ONEDNN_1_13};
  const size_t mode_count = sizeof(modes) / sizeof(modes[0]);
  for (const std::string& isa : qk_test::SupportedIsas()) {
    qk_test::ScopedIsa scoped(isa);
    int cases = 0;
    for (size_t i = 0; i < 60; i++) {
      Config c = RandomConfig(rng, modes[i % mode_count], false);
      c.c = c.o = c.groups = channels[i % 15];
      c.kh = kernels[i % 8][0], c.kw = kernels[i % 8][1];
      c.wzp = false;  // weight zero points take the GEMM path
      c.h = std::max((c.kh - 1) * c.dh + 1, size_t{4} + rng() % 13);
      c.w = std::max((c.kw - 1) * c.dw + 1, size_t{4} + rng() % 17);
      c.in_stride = c.c + (rng() % 3 == 0 ? 1 + rng() % 5 : 0);
      c.out_stride = c.o + (rng() % 3 == 0 ? 1 + rng() % 5 : 0);
      const Data d = RandomData(c);
      const qk_conv2d_desc desc = MakeDesc(c, d);
      qk_conv2d* raw = nullptr;
      ASSERT_EQ(qk_conv2d_create(&desc, &raw), QK_SUCCESS)
          << Describe(c) << ": " << qk_last_error();
      std::unique_ptr<qk_conv2d, decltype(&qk_conv2d_delete)> op(raw, qk_conv2d_delete);
      // FBGEMM's saturating depthwise path runs as a GEMM whose K pairs are the tap pairs.
      ASSERT_EQ(std::strstr(qk_conv2d_ukernels(op.get()), "dwconv") != nullptr,
                !SaturatesPairs(c, d))
          << Describe(c) << " " << qk_conv2d_ukernels(op.get());
      size_t oh = 0, ow = 0;
      ASSERT_EQ(qk_conv2d_output_size(op.get(), c.h, c.w, &oh, &ow), QK_SUCCESS);
      const std::vector<uint8_t> want = Reference(c, d, desc, oh, ow);
      std::vector<uint8_t> got(want.size(), 0x77);
      ASSERT_EQ(qk_conv2d_run(op.get(), c.n, c.h, c.w, d.x.data(), got.data(), nullptr), QK_SUCCESS)
          << qk_last_error();
      ASSERT_EQ(got, want) << Describe(c) << " on " << isa << " (" << qk_conv2d_ukernels(op.get())
                           << ")";
      cases++;
    }
    std::printf("[ conv2d   ] depthwise on %s: %d wide-channel / large-kernel cases match\n",
                isa.c_str(), cases);
  }
}

// FBGEMM's depthwise fast path (channels % 8 == 0, 3x3 / 5x5 / 7x7 "same" padding, strides 1-2)
// saturates filter-tap pairs in pytorch-fbgemm (every x86 CPU) and pytorch-fbgemm-avx2; full-range
// activations and weights make the pairs overflow int16. Checked against the reference, and the
// data is shown to make the rule matter (saturated accumulators differ from exact ones).
TEST(Conv2d, FbgemmDepthwisePathSaturatesTapPairs) {
  std::mt19937 rng(31);
  for (const std::string& isa : qk_test::SupportedIsas()) {
    qk_test::ScopedIsa scoped(isa);
    size_t saturated = 0;
    for (int i = 0; i < 24; i++) {
      Config c = RandomConfig(rng, i % 2 ? QK_NUMERICS_PYTORCH_FBGEMM_AVX2 : QK_NUMERICS_PYTORCH_FBGEMM,
                              false);
      c.type = QK_DTYPE_U8;
      c.groups = c.c = size_t{8} * (1 + rng() % 4);
      c.o = c.groups * (1 + i % 2);
      c.kh = c.kw = 3 + 2 * (i % 3);
      c.sh = c.sw = 1 + (i / 3) % 2;
      c.dh = c.dw = 1;
      c.pt = c.pl = c.pb = c.pr = (c.kh - 1) / 2;
      c.h = c.kh + rng() % 6, c.w = c.kw + rng() % 6;
      c.in_stride = c.c, c.out_stride = c.o;
      c.wzp = false;
      ASSERT_TRUE(FbgemmDepthwisePath(c));
      Data d = RandomData(c);
      for (auto& x : d.x) x = static_cast<uint8_t>(200 + rng() % 56);  // large activations
      for (auto& w : d.w) w = static_cast<int8_t>(rng() % 2 ? 127 - rng() % 8 : -128 + rng() % 8);
      const qk_conv2d_desc desc = MakeDesc(c, d);
      qk_conv2d* raw = nullptr;
      ASSERT_EQ(qk_conv2d_create(&desc, &raw), QK_SUCCESS) << Describe(c) << ": " << qk_last_error();
      std::unique_ptr<qk_conv2d, decltype(&qk_conv2d_delete)> op(raw, qk_conv2d_delete);
      size_t oh = 0, ow = 0;
      ASSERT_EQ(qk_conv2d_output_size(op.get(), c.h, c.w, &oh, &ow), QK_SUCCESS);
      const std::vector<uint8_t> want = Reference(c, d, desc, oh, ow);
      std::vector<uint8_t> got(want.size(), 0x77);
      ASSERT_EQ(qk_conv2d_run(op.get(), c.n, c.h, c.w, d.x.data(), got.data(), nullptr), QK_SUCCESS);
      ASSERT_EQ(got, want) << Describe(c) << " on " << isa << " (" << qk_conv2d_ukernels(op.get()) << ")";
      Config exact = c;
      exact.numerics = QK_NUMERICS_PYTORCH_ONEDNN;  // same geometry, exact accumulators
      for (size_t o = 0; o < c.o; o++) {
        saturated += Accumulate(c, d, 0, 0, 0, o) != Accumulate(exact, d, 0, 0, 0, o);
      }
    }
    EXPECT_GT(saturated, 0u) << "the data never made a tap pair saturate";
    std::printf("[ conv2d   ] fbgemm depthwise path on %s: 24 cases match, %zu saturated "
                "accumulators in their first pixel\n", isa.c_str(), saturated);
  }
}

// A run split over a pool gives the same bytes as the reference, whatever the thread count, for
// every path (GEMM, 1x1 direct, depthwise), tiny images (fewer tiles than threads) and batches.
TEST(Conv2d, ThreadedRunsMatchTheReference) {
  std::mt19937 rng(21);
  std::vector<qk_threadpool*> pools;
  for (size_t threads : {size_t{1}, size_t{2}, size_t{3}, size_t{5}}) {
    qk_threadpool* pool = nullptr;
    ASSERT_EQ(qk_threadpool_create(threads, &pool), QK_SUCCESS) << qk_last_error();
    ASSERT_EQ(qk_threadpool_threads(pool), threads);
    pools.push_back(pool);
  }
  for (int i = 0; i < 60; i++) {
    const qk_numerics modes[] = {QK_NUMERICS_PYTORCH_QNNPACK, QK_NUMERICS_ONNXRUNTIME,
                                 QK_NUMERICS_PYTORCH_ONEDNN};
    const Config c = RandomConfig(rng, modes[i % 3], i % 4 == 0);
    const Data d = RandomData(c);
    const qk_conv2d_desc desc = MakeDesc(c, d);
    qk_conv2d* raw = nullptr;
    ASSERT_EQ(qk_conv2d_create(&desc, &raw), QK_SUCCESS) << Describe(c) << ": " << qk_last_error();
    std::unique_ptr<qk_conv2d, decltype(&qk_conv2d_delete)> op(raw, qk_conv2d_delete);
    size_t oh = 0, ow = 0;
    ASSERT_EQ(qk_conv2d_output_size(op.get(), c.h, c.w, &oh, &ow), QK_SUCCESS);
    const std::vector<uint8_t> want = Reference(c, d, desc, oh, ow);
    for (qk_threadpool* pool : pools) {
      std::vector<uint8_t> got(want.size(), 0x77);
      ASSERT_EQ(
          qk_conv2d_run_threaded(op.get(), c.n, c.h, c.w, d.x.data(), got.data(), nullptr, pool),
          QK_SUCCESS)
          << qk_last_error();
      ASSERT_EQ(got, want) << Describe(c) << " with " << qk_threadpool_threads(pool) << " threads ("
                           << qk_conv2d_ukernels(op.get()) << ")";
    }
  }
  for (qk_threadpool* pool : pools) qk_threadpool_delete(pool);
}

// The same operator run from several threads at once gives the same bytes as a single run: the
// operator is immutable after create and each run has its own workspace.
TEST(Conv2d, ConcurrentRunsOfOneOperator) {
  std::mt19937 rng(5);
  Config c = RandomConfig(rng, QK_NUMERICS_PYTORCH_QNNPACK, true);
  const Data d = RandomData(c);
  const qk_conv2d_desc desc = MakeDesc(c, d);
  qk_conv2d* raw = nullptr;
  ASSERT_EQ(qk_conv2d_create(&desc, &raw), QK_SUCCESS) << qk_last_error();
  std::unique_ptr<qk_conv2d, decltype(&qk_conv2d_delete)> op(raw, qk_conv2d_delete);
  size_t oh = 0, ow = 0;
  ASSERT_EQ(qk_conv2d_output_size(op.get(), c.h, c.w, &oh, &ow), QK_SUCCESS);
  const std::vector<uint8_t> want = Reference(c, d, desc, oh, ow);
  std::vector<std::vector<uint8_t>> outs(4, std::vector<uint8_t>(want.size(), 0x77));
  std::vector<std::thread> threads;
  std::vector<qk_status> status(outs.size());
  for (size_t t = 0; t < outs.size(); t++) {
    threads.emplace_back([&, t] {
      for (int rep = 0; rep < 3; rep++) {
        status[t] = qk_conv2d_run(op.get(), c.n, c.h, c.w, d.x.data(), outs[t].data(), nullptr);
      }
    });
  }
  for (auto& th : threads) th.join();
  for (size_t t = 0; t < outs.size(); t++) {
    EXPECT_EQ(status[t], QK_SUCCESS);
    EXPECT_EQ(outs[t], want) << "thread " << t;
  }
}

}  // namespace
