// Microkernel tester of the elementwise add / mul kernels (arch/ukernel.h, "Elementwise binary
// kernels"): every kernel of every ISA table this CPU can run against the generic one, bit for
// bit, over all tails n = 1 .. 3 * 32 + 1 (and a few long runs), unaligned pointers, in place,
// random and extreme zero points / scales, u8 and s8.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "arch/ukernel.h"
#include "isa_util.h"

namespace {

const char* KindName(int k) {
  static const char* names[] = {"ADD_FP32_FMA", "ADD_FP32",     "ADD_QNNPACK", "ADD_XNNPACK",
                                "MUL_FP32",     "ADD_GEMMLOWP", "MUL_GEMMLOWP"};
  static_assert(sizeof(names) / sizeof(names[0]) == QK_ELTWISE_KIND_COUNT, "one name per kind");
  return names[k];
}

int32_t Exponent(float v) {
  uint32_t bits;
  std::memcpy(&bits, &v, 4);
  return (int32_t)(bits >> 23) - 127;
}

// Parameters as kernels/eltwise.c would make them, from random (or extreme) quantization.
qk_eltwise_params Draw(int kind, std::mt19937& rng, int trial) {
  std::uniform_real_distribution<float> u(0.f, 1.f);
  qk_eltwise_params p = {};
  p.is_signed = kind == QK_ELTWISE_ADD_XNNPACK   ? 1
                : kind == QK_ELTWISE_ADD_QNNPACK ? 0
                                                 : (int)(rng() & 1);
  const int32_t lo = p.is_signed ? -128 : 0, hi = p.is_signed ? 127 : 255;
  auto zp = [&]() {
    const int r = (int)(rng() % 6);
    return r == 0 ? lo : r == 1 ? hi : lo + (int32_t)(rng() % 256);
  };
  p.a_zero_point = zp();
  p.b_zero_point = zp();
  p.output_zero_point = zp();
  p.min = lo;
  p.max = hi;
  if (trial % 3 == 1) p.min = p.output_zero_point;  // relu
  if (trial % 5 == 2) {
    p.min = lo + 10;
    p.max = hi - 20;
  }
  const float sa = std::exp2(-8.f * u(rng)), sb = std::exp2(-8.f * u(rng));
  // ratios up to 2^8 (ties when the exponents are small); trial 0 extreme large, 4 extreme small
  float so = std::fmax(sa, sb) * std::exp2(12.f * u(rng) - 7.f);
  const bool ties = trial == 6 || trial == 7;  // ratios 0.5 / 0.25 / 0.75: many exact halves
  float ra = 0.5f, rb = trial == 6 ? 0.25f : 0.75f;
  if (ties) so = 1.0f;
  if (trial == 0) so = std::fmax(sa, sb) / 255.f;
  if (trial == 4) so = std::fmax(sa, sb) * 1000.f;
  switch (kind) {
    case QK_ELTWISE_ADD_FP32_FMA:
    case QK_ELTWISE_ADD_FP32:
      p.a_scale = ties ? ra : sa;
      p.b_scale = ties ? rb : sb;
      p.a_premul = p.a_scale * -(float)p.a_zero_point;
      p.b_premul = p.b_scale * -(float)p.b_zero_point;
      p.scale = 1.0f / so;
      break;
    case QK_ELTWISE_ADD_QNNPACK:
    case QK_ELTWISE_ADD_XNNPACK: {
      const float as = ties ? ra : sa / so, bs = ties ? rb : sb / so;
      const float mx = std::fmax(as, bs);
      const int base = kind == QK_ELTWISE_ADD_QNNPACK ? 21 : 20;
      int shift = base - Exponent(mx);
      shift = std::min(std::max(shift, kind == QK_ELTWISE_ADD_QNNPACK ? 14 : 12), 31);
      if (kind == QK_ELTWISE_ADD_XNNPACK) shift = std::min(shift, 30);
      p.shift = (uint32_t)shift;
      p.a_multiplier = (int32_t)std::lrint(std::ldexp(std::fmin(as, 255.f), shift));
      p.b_multiplier = (int32_t)std::lrint(std::ldexp(std::fmin(bs, 255.f), shift));
      // keep |m| < 2^22 (QNNPACK) / 2^21 (XNNPACK) as the operator guarantees
      const int32_t cap = (1 << (base + 1)) - 1;
      p.a_multiplier = std::min(p.a_multiplier, cap);
      p.b_multiplier = std::min(p.b_multiplier, cap);
      if (kind == QK_ELTWISE_ADD_QNNPACK) {
        p.bias = -(p.a_multiplier * p.a_zero_point + p.b_multiplier * p.b_zero_point);
      } else {
        p.bias =
            (1 << (shift - 1)) - p.a_multiplier * p.a_zero_point - p.b_multiplier * p.b_zero_point;
      }
      break;
    }
    case QK_ELTWISE_ADD_GEMMLOWP:
    case QK_ELTWISE_MUL_GEMMLOWP:
      p.left_shift = 20;
      p.a_multiplier = (int32_t)(0x40000000u + (rng() & 0x3FFFFFFF));
      p.b_multiplier = (int32_t)(0x40000000u + (rng() & 0x3FFFFFFF));
      p.output_multiplier = (int32_t)(0x40000000u + (rng() & 0x3FFFFFFF));
      p.a_shift = -(int32_t)(rng() % 2);
      p.b_shift = -(int32_t)(rng() % 3);
      p.output_shift = kind == QK_ELTWISE_ADD_GEMMLOWP ? -(int32_t)(12 + rng() % 10)
                                                       : (int32_t)(rng() % 20) - 17;
      break;
    default:
      p.scale = std::exp2(-16.f + 23.f * u(rng));  // [2^-16, 2^7)
      if (trial == 0) p.scale = 0x1.fffffep+6f;
      if (trial == 4) p.scale = 0x1.0p-16f;
      if (ties) p.scale = trial == 6 ? 0.5f : 0.25f;
      break;
  }
  return p;
}

class EltwiseUkernelTest : public testing::TestWithParam<const qk_isa_config*> {};

TEST_P(EltwiseUkernelTest, AllTailsBitExact) {
  const qk_isa_config* isa = GetParam();
  const qk_isa_config* ref = qk_test::GenericConfig();
  std::mt19937 rng(1234);
  for (int kind = 0; kind < QK_ELTWISE_KIND_COUNT; kind++) {
    const qk_eltwise_config& k = isa->eltwise[kind];
    const qk_eltwise_config& g = ref->eltwise[kind];
    ASSERT_NE(k.fn, nullptr) << isa->name << " " << KindName(kind);
    ASSERT_NE(k.name, nullptr);
    for (int trial = 0; trial < 12; trial++) {
      const qk_eltwise_params p = Draw(kind, rng, trial);
      std::vector<size_t> sizes;
      for (size_t n = 1; n <= 3 * 32 + 1; n++) sizes.push_back(n);
      sizes.push_back(1000);
      sizes.push_back(4099);
      for (size_t n : sizes) {
        const size_t off = rng() % 4;
        std::vector<uint8_t> a(n + 8), b(n + 8), y(n + 8, 0x77), yr(n + 8, 0x77);
        for (auto& v : a) v = (uint8_t)rng();
        for (auto& v : b) v = (uint8_t)rng();
        if (trial == 3) {  // extremes of the type
          for (size_t i = 0; i < a.size(); i++) {
            a[i] = (i & 1) ? 0x80 : 0x7F;
            b[i] = (i & 2) ? 0xFF : 0x00;
          }
        }
        k.fn(n, a.data() + off, b.data() + off, y.data() + off, &p);
        g.fn(n, a.data() + off, b.data() + off, yr.data() + off, &p);
        ASSERT_EQ(std::memcmp(y.data(), yr.data(), y.size()), 0)
            << k.name << " vs " << g.name << " n=" << n << " trial " << trial << " signed "
            << p.is_signed;
        // in place (y == a)
        std::vector<uint8_t> ip = a;
        k.fn(n, ip.data() + off, b.data() + off, ip.data() + off, &p);
        ASSERT_EQ(std::memcmp(ip.data() + off, yr.data() + off, n), 0)
            << k.name << " in place n=" << n;
      }
    }
  }
}

// FMA and plain dequantization really differ somewhere (so the FMA kernel is not the plain one).
TEST_P(EltwiseUkernelTest, FmaKernelIsFused) {
  const qk_isa_config* isa = GetParam();
  qk_eltwise_params p = {};
  p.a_scale = 0.1f;
  p.b_scale = 0.05f;
  p.a_zero_point = 77;
  p.b_zero_point = 133;
  p.a_premul = 0.1f * -77.f;
  p.b_premul = 0.05f * -133.f;
  p.scale = 1.0f / 0.1f;
  p.output_zero_point = 128;
  p.max = 255;
  std::vector<uint8_t> a(65536), b(65536), yf(65536), yp(65536);
  for (int i = 0; i < 65536; i++) {
    a[i] = (uint8_t)(i >> 8);
    b[i] = (uint8_t)i;
  }
  isa->eltwise[QK_ELTWISE_ADD_FP32_FMA].fn(65536, a.data(), b.data(), yf.data(), &p);
  isa->eltwise[QK_ELTWISE_ADD_FP32].fn(65536, a.data(), b.data(), yp.data(), &p);
  EXPECT_NE(std::memcmp(yf.data(), yp.data(), 65536), 0) << isa->name;
}

INSTANTIATE_TEST_SUITE_P(Isa, EltwiseUkernelTest, testing::ValuesIn(qk_test::RunnableConfigs()),
                         qk_test::IsaName);

}  // namespace
