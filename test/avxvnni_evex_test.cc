// The AVX-VNNI GEMM kernel's logic, bit-exactly, on machines without AVX-VNNI: its EVEX twin
// (qk_gemm_u8s8_6x16c4__avxvnni_evex, the same source with the AVX512-VNNI + VL encoding of ymm
// vpdpbusd) runs through an XNNPACK-style tester like test/ukernel_test.cc's: every M <= MR,
// N in 1..2*NR+1, K in 1..3*KR+1, padded strides, extreme values, wrap-around. The expected
// value is a plain int64 dot product reduced modulo 2^32. The VEX kernel itself runs here too
// when the CPU has AVX-VNNI (and in ukernel_test through the avxvnni table).
#include <gtest/gtest.h>

#include <cstdio>
#include <limits>
#include <random>
#include <vector>

#include "arch/cpu.h"
#include "arch/x86/avxvnni/avxvnni.h"
#include "kernels/pack.h"

namespace {

enum class Fill { kRandom, kMax, kMin, kMixedExtremes };

struct Kernel {
  qk_gemm_ukernel_fn fn;
  const char* name;
  size_t mr, nr, kr;
};

// Runs one mr x n x k problem; returns the number of wrong or clobbered int32s.
size_t RunOnce(const Kernel& g, std::mt19937& rng, size_t mr, size_t n, size_t k, Fill fill) {
  const size_t a_stride = k + rng() % 5;  // sometimes exactly k: rows back to back
  const size_t c_stride = n + 1 + rng() % 4;
  std::vector<uint8_t> a((mr - 1) * a_stride + k);  // ends at the last byte read (ASan)
  std::vector<int8_t> w(n * k);
  std::vector<int32_t> colterm(n);
  std::uniform_int_distribution<int> u8(0, 255), s8(-128, 127);
  std::uniform_int_distribution<int32_t> i32(std::numeric_limits<int32_t>::min(),
                                             std::numeric_limits<int32_t>::max());
  for (auto& v : a) {
    v = static_cast<uint8_t>(fill == Fill::kRandom ? u8(rng)
                             : fill == Fill::kMax  ? 255
                             : fill == Fill::kMin  ? 0
                                                   : (rng() & 1) * 255);
  }
  for (auto& v : w) {
    v = static_cast<int8_t>(fill == Fill::kRandom ? s8(rng)
                            : fill == Fill::kMax  ? -128
                            : fill == Fill::kMin  ? 127
                                                  : ((rng() & 1) ? 127 : -128));
  }
  for (auto& v : colterm) v = i32(rng);
  size_t block_bytes = 0;
  EXPECT_TRUE(qk_packed_block_size(k, g.nr, g.kr, &block_bytes));
  std::vector<uint8_t> packed((n + g.nr - 1) / g.nr * block_bytes);
  qk_pack_gemm_weights(n, k, 1, 1, g.nr, g.kr, w.data(), colterm.data(), packed.data());

  const int32_t guard = 0x5A5A5A5A;
  std::vector<int32_t> c((mr - 1) * c_stride + n + 1, guard);
  g.fn(mr, n, k, a.data(), a_stride, packed.data(), c.data(), c_stride);
  size_t bad = 0;
  for (size_t i = 0; i < c.size(); i++) {
    const size_t m = i / c_stride, j = i % c_stride;
    int32_t want = guard;  // nothing outside the tile may be written
    if (m < mr && j < n) {
      int64_t s = colterm[j];
      for (size_t q = 0; q < k; q++) s += int64_t{a[m * a_stride + q]} * w[j * k + q];
      want = static_cast<int32_t>(static_cast<uint32_t>(static_cast<uint64_t>(s)));
    }
    if (c[i] != want && bad++ == 0) {
      ADD_FAILURE() << g.name << " mr=" << mr << " n=" << n << " k=" << k << ": c[" << m << "]["
                    << j << "] = " << c[i] << ", expected " << want;
    }
  }
  return bad;
}

void AllTails(const Kernel& g) {
  std::mt19937 rng(2024);
  size_t runs = 0;
  for (size_t mr = 1; mr <= g.mr; mr++) {
    for (size_t n = 1; n <= 2 * g.nr + 1; n++) {
      for (size_t k = 1; k <= 3 * g.kr + 1; k++) {
        ASSERT_EQ(RunOnce(g, rng, mr, n, k, Fill::kRandom), 0u);
        runs++;
      }
    }
  }
  std::printf("[ ukernel  ] %s: %zu tail shapes bit-exact\n", g.name, runs);
}

void LargeKAndExtremes(const Kernel& g) {
  std::mt19937 rng(77);
  for (size_t k : {size_t{2}, size_t{63}, size_t{577}, size_t{4608}, size_t{70001}}) {
    for (Fill f : {Fill::kMax, Fill::kMin, Fill::kMixedExtremes, Fill::kRandom}) {
      ASSERT_EQ(RunOnce(g, rng, g.mr, 2 * g.nr + 3, k, f), 0u) << "k=" << k;
      ASSERT_EQ(RunOnce(g, rng, 1, 1, k, f), 0u) << "k=" << k;
      ASSERT_EQ(RunOnce(g, rng, g.mr / 2, g.nr - 1, k, f), 0u) << "k=" << k;
    }
  }
}

const Kernel kEvex = {qk_gemm_u8s8_6x16c4__avxvnni_evex, "qk_gemm_u8s8_6x16c4__avxvnni_evex", 6, 16,
                      4};
const Kernel kVex = {qk_gemm_u8s8_6x16c4__avxvnni, "qk_gemm_u8s8_6x16c4__avxvnni", 6, 16, 4};

bool Has(uint32_t features) { return (qk_cpu_detect()->features & features) == features; }

TEST(AvxvnniEvexTwin, AllTailsBitExact) {
  if (!Has(QK_CPU_AVX512VNNI)) GTEST_SKIP() << "CPU lacks AVX512-VNNI (needed by the EVEX twin)";
  AllTails(kEvex);
}

TEST(AvxvnniEvexTwin, LargeKAndExtremesNoSaturation) {
  if (!Has(QK_CPU_AVX512VNNI)) GTEST_SKIP() << "CPU lacks AVX512-VNNI (needed by the EVEX twin)";
  LargeKAndExtremes(kEvex);
}

TEST(AvxvnniVex, AllTailsBitExact) {
  if (!Has(QK_CPU_AVXVNNI | QK_CPU_AVX2)) GTEST_SKIP() << "CPU lacks AVX-VNNI";
  AllTails(kVex);
}

TEST(AvxvnniVex, LargeKAndExtremesNoSaturation) {
  if (!Has(QK_CPU_AVXVNNI | QK_CPU_AVX2)) GTEST_SKIP() << "CPU lacks AVX-VNNI";
  LargeKAndExtremes(kVex);
}

}  // namespace
