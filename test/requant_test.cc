// Requantization kernels of every ISA this CPU runs against the generic C kernels (the
// specification), bit for bit, and against the answers qk promises (docs/numerics.md):
//   RequantTest.RandomMatchesGeneric     random accumulators and parameters over the whole range;
//   RequantTest.EdgeCasesMatchGeneric    enumerated edges: float -> int32 overflow (x86 CVTPS2DQ
//       gives INT32_MIN, ARM vcvtnq saturates: qk gives the x86 answer in FP32_CVT everywhere),
//       the largest floats below 2^31 and the bounds -2^31 / 2^31, +-inf and NaN, round-half-even
//       ties of every FP32 family, gemmlowp ties of SRDHM (half up) and RDBPOT (half away from
//       zero), wrapping left shifts, INT32_MIN / INT32_MAX accumulators;
//   RequantTest.Fp32CvtOverflowGivesTheX86Answer   the promise itself, independent of generic;
//   RequantStressTest.MatchesGeneric     (SIMD ISAs) random cases drawn from the edges: ties from
//       power-of-two scales and half-integer biases, overflowing scales, NaN lanes, gemmlowp
//       multipliers 0 / 2^30 / INT32_MAX / INT32_MIN and shifts -31..+8, zero points and clamps
//       at the ends of u8 / s8, tiles up to 12 x 200 (64-channel blocks and lane tails), strides
//       and channel offsets.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "isa_util.h"
#include "arch/ukernel.h"

namespace {

constexpr int32_t kMin32 = std::numeric_limits<int32_t>::min();
constexpr int32_t kMax32 = std::numeric_limits<int32_t>::max();

class RequantTest : public testing::TestWithParam<const qk_isa_config*> {};

// ---- random ----
// Random parameters covering the whole range a mode can produce, including multipliers > 1
// (float overflow of the conversion), tiny ones and large biases.
void RandomParams(std::mt19937& rng, size_t channels, bool s8, std::vector<float>* scale,
                  std::vector<float>* bias, std::vector<float>* bias_scale,
                  std::vector<int32_t>* mult, std::vector<int32_t>* shift, qk_requant_params* p) {
  std::uniform_real_distribution<double> log_scale(-30, 4);
  std::uniform_int_distribution<int32_t> m31(1 << 30, std::numeric_limits<int32_t>::max());
  std::uniform_int_distribution<int32_t> sh(-31, 8);
  std::normal_distribution<float> b(0.0f, 1e5f);
  scale->resize(channels);
  bias->resize(channels);
  bias_scale->resize(channels);
  mult->resize(channels);
  shift->resize(channels);
  for (size_t i = 0; i < channels; i++) {
    (*scale)[i] = static_cast<float>(std::exp2(log_scale(rng)));
    (*bias)[i] = (rng() % 4 == 0) ? 0.0f : b(rng) * static_cast<float>(rng() % 3 == 0 ? 1e4 : 1);
    (*bias_scale)[i] = static_cast<float>(std::exp2(log_scale(rng) + 20));
    (*mult)[i] = (rng() % 16 == 0) ? 0 : m31(rng);
    (*shift)[i] = sh(rng);
  }
  const int32_t qmin = s8 ? -128 : 0, qmax = s8 ? 127 : 255;
  std::uniform_int_distribution<int32_t> zp(qmin, qmax);
  p->scale = scale->data();
  p->bias = bias->data();
  p->bias_scale = bias_scale->data();
  p->post_scale = static_cast<float>(std::exp2(log_scale(rng) + 10));
  p->multiplier = mult->data();
  p->shift = shift->data();
  p->zero_point = rng() % 4 == 0 ? (rng() % 2 ? qmin : qmax) : zp(rng);
  p->min = qmin;
  p->max = qmax;
  if (rng() % 3 == 0) p->min = p->zero_point;  // ReLU
  if (rng() % 5 == 0) p->max = std::max(p->min, std::min(qmax, p->zero_point + 6));
}

TEST_P(RequantTest, RandomMatchesGeneric) {
  const qk_isa_config* isa = GetParam();
  const qk_isa_config* generic = qk_test::GenericConfig();
  std::mt19937 rng(7);
  std::uniform_int_distribution<int32_t> i32(std::numeric_limits<int32_t>::min(),
                                             std::numeric_limits<int32_t>::max());
  std::uniform_int_distribution<int32_t> small(-100000, 100000);
  const int32_t specials[] = {0,
                              1,
                              -1,
                              std::numeric_limits<int32_t>::min(),
                              std::numeric_limits<int32_t>::max(),
                              1 << 24,
                              (1 << 24) + 1,
                              -(1 << 24) - 1,
                              2147483520,
                              -2147483520};
  size_t checked = 0;
  for (int kind = 0; kind < QK_REQUANT_KIND_COUNT; kind++) {
    const qk_requant_config& test = isa->requant[kind];
    const qk_requant_config& ref = generic->requant[kind];
    ASSERT_NE(test.fn, nullptr) << isa->name << " lacks requant kind " << kind;
    for (int iter = 0; iter < 60; iter++) {
      const size_t mr = 1 + rng() % 8;
      const size_t nc = 1 + rng() % 67;
      const size_t offset = rng() % 5;
      const size_t acc_stride = nc + rng() % 3, out_stride = nc + rng() % 3;
      const bool s8 = rng() & 1;
      std::vector<float> scale, bias, bias_scale;
      std::vector<int32_t> mult, shift;
      qk_requant_params p;
      RandomParams(rng, nc + offset, s8, &scale, &bias, &bias_scale, &mult, &shift, &p);
      std::vector<int32_t> acc((mr - 1) * acc_stride + nc);
      for (auto& v : acc) {
        const int r = static_cast<int>(rng() % 8);
        v = r == 0  ? specials[rng() % (sizeof(specials) / sizeof(specials[0]))]
            : r < 4 ? i32(rng)
                    : small(rng);
      }
      std::vector<uint8_t> want((mr - 1) * out_stride + nc + 8, 0xCD), got(want);
      ref.fn(mr, nc, acc.data(), acc_stride, want.data(), out_stride, &p, offset);
      test.fn(mr, nc, acc.data(), acc_stride, got.data(), out_stride, &p, offset);
      for (size_t i = 0; i < want.size(); i++) {
        ASSERT_EQ(int{got[i]}, int{want[i]})
            << test.name << " vs " << ref.name << " at byte " << i << " (mr=" << mr << " nc=" << nc
            << " offset=" << offset << ")";
      }
      checked += mr * nc;
    }
  }
  std::printf("[ requant  ] %s random: %zu outputs of %d families match generic\n", isa->name,
              checked, static_cast<int>(QK_REQUANT_KIND_COUNT));
}

// ---- enumerated edges ----
constexpr float kInf = std::numeric_limits<float>::infinity();

// One channel per case (acc with its own scale, bias, multiplier, shift).
struct Cases {
  std::vector<int32_t> acc, multiplier, shift;
  std::vector<float> scale, bias;
  void Add(int32_t a, float s, float b, int32_t m = 1 << 30, int32_t sh = 0) {
    acc.push_back(a), scale.push_back(s), bias.push_back(b), multiplier.push_back(m);
    shift.push_back(sh);
  }
  // The cases rotated by r channels, so each value also lands in other lanes and in a tail.
  Cases Rotated(size_t r) const {
    Cases out;
    for (size_t n = 0; n < acc.size(); n++) {
      const size_t j = (n + r) % acc.size();
      out.Add(acc[j], scale[j], bias[j], multiplier[j], shift[j]);
    }
    return out;
  }
};

Cases EdgeCases() {
  Cases c;
  // FP32 overflow and bounds: v = (acc + bias) * scale around +-2^31, +-inf, NaN (inf * 0).
  for (float scale : {1.0f, 2.0f, 16.0f, 0.5f}) {
    for (int32_t a : {kMin32, kMax32, 1 << 30, -(1 << 30), 2147483520, -2147483520, 0, 1, -1}) {
      c.Add(a, scale, 0.0f);
    }
  }
  c.Add(0, 1.0f, 2147483648.0f);   // exactly 2^31: out of range
  c.Add(0, 1.0f, 2147483520.0f);   // largest float below 2^31: in range
  c.Add(0, 1.0f, -2147483648.0f);  // exactly -2^31: in range (INT32_MIN legitimately)
  c.Add(0, 1.0f, -2147483904.0f);  // next float below -2^31: out of range
  c.Add(5, 1.0f, kInf);
  c.Add(5, 1.0f, -kInf);
  c.Add(5, 0.0f, kInf);    // inf * 0 = NaN
  c.Add(0, 1e30f, 1e30f);  // finite * finite = inf
  // Round-half-even ties: acc / 2 and acc / 4 for small acc.
  for (int32_t a = -9; a <= 9; a++) c.Add(a, 0.5f, 0.0f), c.Add(a, 0.25f, 0.0f);
  c.Add(3, 0.5f, 0.5f);  // (3 + 0.5) * 0.5 = 1.75
  // gemmlowp: multiplier 2^30 (x 0.5) and shifts -1..-3 give exact ties in both roundings.
  for (int32_t a = -12; a <= 12; a++) {
    for (int32_t sh : {0, -1, -2, -3}) c.Add(a, 1.0f, 0.0f, 1 << 30, sh);
  }
  for (int32_t a : {kMin32, kMax32, kMin32 + 1, 1 << 30, 3 << 29}) {
    for (int32_t sh : {-31, -1, 0, 1, 8}) c.Add(a, 1.0f, 0.0f, kMax32, sh);  // left shift wraps
  }
  c.Add(kMin32, 1.0f, 0.0f, 0, 0);  // multiplier 0
  return c;
}

TEST_P(RequantTest, EdgeCasesMatchGeneric) {
  const qk_isa_config* isa = GetParam();
  const qk_isa_config* generic = qk_test::GenericConfig();
  const Cases all = EdgeCases();
  const size_t nc = all.acc.size();
  size_t checked = 0;
  for (int kind = 0; kind < QK_REQUANT_KIND_COUNT; kind++) {
    for (const bool s8 : {false, true}) {
      for (const int32_t zp : {0, 1, s8 ? -128 : 255, s8 ? 127 : 128}) {
        for (size_t r = 0; r < 5; r++) {
          const Cases c = all.Rotated(r);
          // bias_scale = scale and post_scale 0.5: the fused and the scaled-bias families see
          // the same edges (overflow, inf, NaN, ties after the extra operation).
          const qk_requant_params p{c.scale.data(), c.bias.data(), c.multiplier.data(),
                                    c.shift.data(), zp,           s8 ? -128 : 0,
                                    s8 ? 127 : 255, c.scale.data(), 0.5f};
          std::vector<uint8_t> want(nc, 0xCD), got(nc, 0xCD);
          generic->requant[kind].fn(1, nc, c.acc.data(), nc, want.data(), nc, &p, 0);
          isa->requant[kind].fn(1, nc, c.acc.data(), nc, got.data(), nc, &p, 0);
          for (size_t n = 0; n < nc; n++) {
            ASSERT_EQ(int{got[n]}, int{want[n]})
                << isa->requant[kind].name << " acc=" << c.acc[n] << " scale=" << c.scale[n]
                << " bias=" << c.bias[n] << " multiplier=" << c.multiplier[n]
                << " shift=" << c.shift[n] << " zp=" << zp << (s8 ? " s8" : " u8");
          }
          checked += nc;
        }
      }
    }
  }
  std::printf("[ requant  ] %s: %zu edge-case outputs of %d families match generic\n",
              isa->name, checked, static_cast<int>(QK_REQUANT_KIND_COUNT));
}

// The promise itself, independent of the generic code: FP32_CVT converts like x86 CVTPS2DQ, so a
// value >= 2^31 becomes INT32_MIN and clamps to the LOW bound (ARM's saturating conversion
// would give the high one), and -2^31 is in range.
// The promises below are checked on every ISA, generic included, against values worked out by
// hand: they do not depend on the generic kernels being right.
class RequantPromiseTest : public testing::TestWithParam<const qk_isa_config*> {};

TEST_P(RequantPromiseTest, Fp32CvtOverflowGivesTheX86Answer) {
  const qk_requant_config& k = GetParam()->requant[QK_REQUANT_FP32_CVT];
  const float scale[] = {1.0f, 2.0f, 1.0f, 1.0f, 1.0f};
  const float bias[] = {2147483648.0f, 0.0f, kInf, -2147483648.0f, 2147483520.0f};
  const int32_t acc[] = {0, 1 << 30, 7, 0, 0};
  const qk_requant_params p{scale, bias, nullptr, nullptr, 10, 0, 255, nullptr, 0.0f};
  uint8_t out[5] = {};
  k.fn(1, 5, acc, 5, out, 5, &p, 0);
  EXPECT_EQ(out[0], 0) << k.name << ": 2^31 must become INT32_MIN (x86), not INT32_MAX";
  EXPECT_EQ(out[1], 0) << k.name << ": 2^30 * 2 must become INT32_MIN (x86)";
  EXPECT_EQ(out[2], 0) << k.name << ": +inf must become INT32_MIN (x86)";
  EXPECT_EQ(out[3], 0) << k.name << ": -2^31 is in range: INT32_MIN + 10 clamps to 0";
  EXPECT_EQ(out[4], 255) << k.name << ": 2147483520 is in range and clamps to 255";
}

// FP32_CVT_FMA rounds bias * bias_scale + acc once (FBGEMM's epilogue as GCC fuses it). With
// acc = 5 * 2^22, bias 3 and bias_scale = (float)(1/3) = 11184811 * 2^-25, the exact bias term is
// 1 + 2^-25: fused, acc + 1 + 2^-25 rounds up to 20971522 (float spacing 2 there), * 2^-23 = 2.5
// + 2^-22 -> 3; rounded twice, (float)(1 + 2^-25) = 1, 20971521 ties to even 20971520 -> 2.5 -> 2.
TEST_P(RequantPromiseTest, Fp32CvtFmaRoundsOnce) {
  const qk_isa_config* isa = GetParam();
  const float third = 1.0f / 3.0f;
  const float scale[] = {0x1p-23f}, bias[] = {3.0f}, bias_scale[] = {third};
  const int32_t acc[] = {5 << 22};
  const qk_requant_params fused{scale, bias, nullptr, nullptr, 0, 0, 255, bias_scale, 0.0f};
  uint8_t out = 0;
  isa->requant[QK_REQUANT_FP32_CVT_FMA].fn(1, 1, acc, 1, &out, 1, &fused, 0);
  EXPECT_EQ(out, 3) << isa->requant[QK_REQUANT_FP32_CVT_FMA].name << ": one rounding gives 3";
  const float rounded_bias[] = {3.0f * third};  // the two-rounding form: exactly 1.0f
  const qk_requant_params twice{scale, rounded_bias, nullptr, nullptr, 0, 0, 255, nullptr, 0.0f};
  isa->requant[QK_REQUANT_FP32_CVT].fn(1, 1, acc, 1, &out, 1, &twice, 0);
  EXPECT_EQ(out, 2) << isa->requant[QK_REQUANT_FP32_CVT].name << ": two roundings give 2";
}

// FP32_SBFZP (oneDNN 3.x): ((acc * scale) + bias) * post_scale + zero point, rounded once at the
// end. Channel 0: (1 * 1 + 1.5) * 3 = 7.5 -> 8 (bias after the post scale would give 4.5 -> 4).
// Channel 1: 5 * 0.5 * 1 + 1 = 3.5 -> 4 (zero point after rounding would give 2 + 1 = 3).
// Channel 2: -300 * 1 * 1 + 10 -> clamped to 0 in float; channel 3: 2^31 * 1 -> clamped to 255.
TEST_P(RequantPromiseTest, Fp32SbfzpOrder) {
  const qk_isa_config* isa = GetParam();
  const float scale[] = {1.0f, 0.5f, 1.0f, 1.0f}, bias[] = {1.5f, 0.0f, 0.0f, 0.0f};
  const int32_t acc0[] = {1, 5, -300, kMax32};
  const qk_requant_params p3{scale, bias, nullptr, nullptr, 0, 0, 255, nullptr, 3.0f};
  uint8_t out[4] = {};
  isa->requant[QK_REQUANT_FP32_SBFZP].fn(1, 1, acc0, 1, out, 1, &p3, 0);
  EXPECT_EQ(out[0], 8) << isa->requant[QK_REQUANT_FP32_SBFZP].name;
  const qk_requant_params p1{scale, bias, nullptr, nullptr, 1, 0, 255, nullptr, 1.0f};
  isa->requant[QK_REQUANT_FP32_SBFZP].fn(1, 3, acc0 + 1, 3, out, 3, &p1, 1);
  EXPECT_EQ(out[0], 4) << isa->requant[QK_REQUANT_FP32_SBFZP].name << ": zero point before rounding";
  EXPECT_EQ(out[1], 0) << isa->requant[QK_REQUANT_FP32_SBFZP].name;
  EXPECT_EQ(out[2], 255) << isa->requant[QK_REQUANT_FP32_SBFZP].name;
}

// GEMMLOWP adds the zero point in int32 with wrap-around before the clamp, as TFLite does:
// MultiplyByQuantizedMultiplier(INT32_MAX, INT32_MAX, 0) = 2^31 - 2, + 10 wraps to -2^31 + 8,
// which clamps to the LOW bound (a saturating add would give the high one).
TEST_P(RequantPromiseTest, GemmlowpZeroPointAddWraps) {
  const qk_isa_config* isa = GetParam();
  const int32_t acc[] = {kMax32, kMax32 - 1000}, mult[] = {kMax32, kMax32}, shift[] = {0, 0};
  const qk_requant_params p{nullptr, nullptr, mult, shift, 10, 0, 255, nullptr, 0.0f};
  uint8_t out[2] = {};
  isa->requant[QK_REQUANT_GEMMLOWP].fn(1, 2, acc, 2, out, 2, &p, 0);
  EXPECT_EQ(out[0], 0) << isa->requant[QK_REQUANT_GEMMLOWP].name << ": 2^31 - 2 + 10 wraps";
  EXPECT_EQ(out[1], 255) << isa->requant[QK_REQUANT_GEMMLOWP].name << ": 2^31 - 1002 + 10 fits";
  // The same through the 64-channel paths of the wide kernels.
  std::vector<int32_t> acc64(70, kMax32), mult64(70, kMax32), shift64(70, 0);
  const qk_requant_params p64{nullptr, nullptr, mult64.data(), shift64.data(), 10, -128, 127,
                              nullptr, 0.0f};
  std::vector<uint8_t> out64(70, 0xCD);
  isa->requant[QK_REQUANT_GEMMLOWP].fn(1, 70, acc64.data(), 70, out64.data(), 70, &p64, 0);
  for (size_t n = 0; n < 70; n++) {
    ASSERT_EQ(static_cast<int8_t>(out64[n]), -128) << isa->requant[QK_REQUANT_GEMMLOWP].name
                                                   << " channel " << n;
  }
  std::printf("[ requant  ] %s promises: the gemmlowp wrap holds on every path\n", isa->name);
}

// ---- stress (SIMD ISAs) ----
struct Case {
  std::vector<float> scale, bias, bias_scale;
  std::vector<int32_t> mult, shift, acc;
  qk_requant_params p{};
  size_t mr = 0, nc = 0, offset = 0, acc_stride = 0, out_stride = 0;
};

int32_t AccValue(std::mt19937& rng, bool tie_friendly) {
  static const int32_t specials[] = {
      0,          1,           -1,      kMin32,        kMax32,
      kMin32 + 1, kMax32 - 1,  1 << 24, (1 << 24) + 1, -(1 << 24) - 1,
      2147483520, -2147483520, 1 << 30, -(1 << 30),    3,
      -3,         255,         -255};
  switch (rng() % 6) {
    case 0: return specials[rng() % (sizeof(specials) / sizeof(specials[0]))];
    case 1: return static_cast<int32_t>(rng());  // full range
    case 2: return static_cast<int32_t>(rng() % 4001) - 2000;
    case 3: return static_cast<int32_t>(rng() % 2000001) - 1000000;
    case 4:
      return tie_friendly ? 2 * (static_cast<int32_t>(rng() % 1001) - 500) + 1  // odd
                          : static_cast<int32_t>(rng() % 200001) - 100000;
    default: return static_cast<int32_t>(rng() >> (rng() % 32)) * ((rng() & 1) ? 1 : -1);
  }
}

float ScaleValue(std::mt19937& rng) {
  if (rng() % 32 == 0) return std::numeric_limits<float>::infinity();  // 0 * inf = NaN lanes
  switch (rng() % 4) {
    case 0: return std::ldexp(1.0f, static_cast<int>(rng() % 12) - 9);  // 2^-9 .. 2^2: ties
    case 1: return std::ldexp(1.0f, static_cast<int>(rng() % 6) + 3);   // 2^3 .. 2^8: overflow
    default:
      return static_cast<float>(std::exp2(std::uniform_real_distribution<double>(-32, 6)(rng)));
  }
}

float BiasValue(std::mt19937& rng) {
  switch (rng() % 5) {
    case 0: return 0.0f;
    case 1: return 0.5f * static_cast<float>(static_cast<int>(rng() % 41) - 20);  // halves
    case 2: return std::normal_distribution<float>(0.0f, 1e5f)(rng);
    case 3: return std::normal_distribution<float>(0.0f, 1e9f)(rng);
    default: return -0.0f;
  }
}

int32_t MultValue(std::mt19937& rng) {
  switch (rng() % 6) {
    case 0: return 0;
    case 1: return 1 << 30;
    case 2: return kMax32;
    case 3: return kMin32;  // outside TFLite's range, but the generic kernel defines it
    default: return std::uniform_int_distribution<int32_t>(1 << 30, kMax32)(rng);
  }
}

Case MakeCase(std::mt19937& rng) {
  Case c;
  c.mr = 1 + rng() % 12;
  c.nc = 1 + rng() % 200;  // 64-channel blocks (saturating-pack narrowing) and 16-lane tails
  c.offset = rng() % 7;
  c.acc_stride = c.nc + rng() % 3;
  c.out_stride = c.nc + rng() % 3;
  const size_t channels = c.nc + c.offset;
  const bool ties = rng() % 2;
  for (size_t i = 0; i < channels; i++) {
    c.scale.push_back(ScaleValue(rng));
    c.bias.push_back(BiasValue(rng));
    c.bias_scale.push_back(rng() % 2 ? 1.0f / ScaleValue(rng) : ScaleValue(rng));
    c.mult.push_back(MultValue(rng));
    c.shift.push_back(static_cast<int32_t>(rng() % 40) - 31);  // -31 .. +8
  }
  c.acc.resize((c.mr - 1) * c.acc_stride + c.nc);
  for (auto& v : c.acc) v = AccValue(rng, ties);
  const bool s8 = rng() % 2;
  const int32_t qmin = s8 ? -128 : 0, qmax = s8 ? 127 : 255;
  c.p.zero_point =
      rng() % 3 == 0 ? (rng() % 2 ? qmin : qmax) : qmin + static_cast<int32_t>(rng() % 256);
  c.p.min = qmin;
  c.p.max = qmax;
  if (rng() % 3 == 0) c.p.min = c.p.zero_point;  // ReLU
  if (rng() % 4 == 0) c.p.max = c.p.min + static_cast<int32_t>(rng() % (qmax - c.p.min + 1));
  c.p.scale = c.scale.data();
  c.p.bias = c.bias.data();
  c.p.bias_scale = c.bias_scale.data();
  c.p.post_scale = 1.0f / ScaleValue(rng);
  c.p.multiplier = c.mult.data();
  c.p.shift = c.shift.data();
  return c;
}

class RequantStressTest : public testing::TestWithParam<const qk_isa_config*> {};

TEST_P(RequantStressTest, MatchesGeneric) {
  const qk_isa_config* isa = GetParam();
  const qk_isa_config* generic = qk_test::GenericConfig();
  for (int kind = 0; kind < QK_REQUANT_KIND_COUNT; kind++) {
    const qk_requant_config& test = isa->requant[kind];
    const qk_requant_config& ref = generic->requant[kind];
    std::mt19937 rng(1000 + kind);
    size_t outputs = 0;
    for (int iter = 0; iter < 1500; iter++) {
      const Case c = MakeCase(rng);
      std::vector<uint8_t> want((c.mr - 1) * c.out_stride + c.nc + 64, 0xCD), got(want);
      ref.fn(c.mr, c.nc, c.acc.data(), c.acc_stride, want.data(), c.out_stride, &c.p, c.offset);
      test.fn(c.mr, c.nc, c.acc.data(), c.acc_stride, got.data(), c.out_stride, &c.p, c.offset);
      for (size_t i = 0; i < want.size(); i++) {
        ASSERT_EQ(int{got[i]}, int{want[i]})
            << test.name << " vs " << ref.name << ": byte " << i << " (row " << i / c.out_stride
            << ", column " << i % c.out_stride << ") mr=" << c.mr << " nc=" << c.nc
            << " offset=" << c.offset << " zp=" << c.p.zero_point << " [" << c.p.min << ", "
            << c.p.max << "]";
      }
      outputs += c.mr * c.nc;
    }
    std::printf("[ requant  ] %s: %zu stress outputs match %s\n", test.name, outputs, ref.name);
  }
}

// Against generic: the SIMD ISAs only (generic against itself proves nothing).
INSTANTIATE_TEST_SUITE_P(Isa, RequantTest,
                         testing::ValuesIn(qk_test::RunnableConfigs(/*with_generic=*/false)),
                         qk_test::IsaName);
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(RequantTest);  // a generic-only build
INSTANTIATE_TEST_SUITE_P(Isa, RequantPromiseTest, testing::ValuesIn(qk_test::RunnableConfigs()),
                         qk_test::IsaName);
INSTANTIATE_TEST_SUITE_P(Isa, RequantStressTest,
                         testing::ValuesIn(qk_test::RunnableConfigs(/*with_generic=*/false)),
                         qk_test::IsaName);
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(RequantStressTest);  // a generic-only build

}  // namespace
