// Requantization edge cases where ISAs' native instructions disagree, on every ISA this CPU can
// run, against the generic kernel and against the answer qk promises (docs/numerics.md):
//   - float -> int32 overflow: x86 CVTPS2DQ gives INT32_MIN, ARM vcvtnq_s32_f32 saturates; qk
//     gives the x86 answer in FP32_CVT on every ISA (|v| >= 2^31, +-inf, NaN);
//   - the largest floats below 2^31 and the exact bounds -2^31 / 2^31;
//   - round-half-to-even ties of every FP32 family;
//   - gemmlowp ties of SRDHM (round half up) and RDBPOT (round half away from zero), wrapping
//     left shifts and INT32_MIN / INT32_MAX accumulators.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <limits>
#include <string>
#include <vector>

#include "arch/cpu.h"
#include "arch/dispatch.h"
#include "kernels/ukernel.h"

namespace {

constexpr int32_t kMin32 = std::numeric_limits<int32_t>::min();
constexpr int32_t kMax32 = std::numeric_limits<int32_t>::max();
constexpr float kInf = std::numeric_limits<float>::infinity();

std::vector<const qk_isa_config*> RunnableConfigs() {
  size_t count = 0;
  const qk_isa_config* const* all = qk_isa_compiled(&count);
  std::vector<const qk_isa_config*> out;
  const uint32_t features = qk_cpu_detect()->features;
  for (size_t i = 0; i < count; i++) {
    if ((features & all[i]->required_features) == all[i]->required_features) out.push_back(all[i]);
  }
  return out;
}

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
  c.Add(5, 0.0f, kInf);            // inf * 0 = NaN
  c.Add(0, 1e30f, 1e30f);          // finite * finite = inf
  // Round-half-even ties: acc / 2 and acc / 4 for small acc.
  for (int32_t a = -9; a <= 9; a++) c.Add(a, 0.5f, 0.0f), c.Add(a, 0.25f, 0.0f);
  c.Add(3, 0.5f, 0.5f);            // (3 + 0.5) * 0.5 = 1.75
  // gemmlowp: multiplier 2^30 (x 0.5) and shifts -1..-3 give exact ties in both roundings.
  for (int32_t a = -12; a <= 12; a++) {
    for (int32_t sh : {0, -1, -2, -3}) c.Add(a, 1.0f, 0.0f, 1 << 30, sh);
  }
  for (int32_t a : {kMin32, kMax32, kMin32 + 1, 1 << 30, 3 << 29}) {
    for (int32_t sh : {-31, -1, 0, 1, 8}) c.Add(a, 1.0f, 0.0f, kMax32, sh);   // left shift wraps
  }
  c.Add(kMin32, 1.0f, 0.0f, 0, 0);  // multiplier 0
  return c;
}

class RequantEdgeTest : public testing::TestWithParam<const qk_isa_config*> {};

TEST_P(RequantEdgeTest, MatchesGenericOnEdgeCases) {
  const qk_isa_config* isa = GetParam();
  size_t count = 0;
  const qk_isa_config* generic = qk_isa_compiled(&count)[0];
  const Cases all = EdgeCases();
  const size_t nc = all.acc.size();
  size_t checked = 0;
  for (int kind = 0; kind < QK_REQUANT_KIND_COUNT; kind++) {
    for (const bool s8 : {false, true}) {
      for (const int32_t zp : {0, 1, s8 ? -128 : 255, s8 ? 127 : 128}) {
        for (size_t r = 0; r < 5; r++) {
          const Cases c = all.Rotated(r);
          const qk_requant_params p{c.scale.data(), c.bias.data(), c.multiplier.data(),
                                    c.shift.data(), zp, s8 ? -128 : 0, s8 ? 127 : 255};
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
  std::printf("[ requant  ] %s: %zu edge-case outputs of 4 families match generic\n", isa->name,
              checked);
}

// The promise itself, independent of the generic code: FP32_CVT converts like x86 CVTPS2DQ, so a
// value >= 2^31 becomes INT32_MIN and clamps to the LOW bound (ARM's saturating conversion
// would give the high one), and -2^31 is in range.
TEST_P(RequantEdgeTest, Fp32CvtOverflowGivesTheX86Answer) {
  const qk_requant_config& k = GetParam()->requant[QK_REQUANT_FP32_CVT];
  const float scale[] = {1.0f, 2.0f, 1.0f, 1.0f, 1.0f};
  const float bias[] = {2147483648.0f, 0.0f, kInf, -2147483648.0f, 2147483520.0f};
  const int32_t acc[] = {0, 1 << 30, 7, 0, 0};
  const qk_requant_params p{scale, bias, nullptr, nullptr, 10, 0, 255};
  uint8_t out[5] = {};
  k.fn(1, 5, acc, 5, out, 5, &p, 0);
  EXPECT_EQ(out[0], 0) << k.name << ": 2^31 must become INT32_MIN (x86), not INT32_MAX";
  EXPECT_EQ(out[1], 0) << k.name << ": 2^30 * 2 must become INT32_MIN (x86)";
  EXPECT_EQ(out[2], 0) << k.name << ": +inf must become INT32_MIN (x86)";
  EXPECT_EQ(out[3], 0) << k.name << ": -2^31 is in range: INT32_MIN + 10 clamps to 0";
  EXPECT_EQ(out[4], 255) << k.name << ": 2147483520 is in range and clamps to 255";
}

std::string IsaName(const testing::TestParamInfo<const qk_isa_config*>& info) {
  return info.param->name;
}

INSTANTIATE_TEST_SUITE_P(Isa, RequantEdgeTest, testing::ValuesIn(RunnableConfigs()), IsaName);

}  // namespace
