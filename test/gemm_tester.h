// The GEMM microkernel tester (XNNPACK style), shared by ukernel_test (every ISA table) and
// avxvnni_evex_test (a kernel outside any table): random or extreme data, padded strides, the
// expected value a plain int64 dot product reduced modulo 2^32 (for the saturating kernels: the
// products of K pairs (2j, 2j + 1) summed in int64, clamped to int16, then summed), guard values
// around the tile, and every buffer allocated to its exact size so ASan sees over-reads.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <random>
#include <vector>

#include "arch/ukernel.h"

namespace qk_test {

enum class Fill { kRandom, kMax, kMin, kMixedExtremes };

class GemmTester {
 public:
  GemmTester(const qk_gemm_config& g, uint32_t seed, bool saturating = false)
      : g_(g), rng_(seed), saturating_(saturating) {}

  // Runs one mr x n x k problem; returns the number of mismatches (and reports the first).
  size_t Test(size_t mr, size_t n, size_t k, Fill fill) {
    const size_t a_stride = k + rng_() % 5;  // sometimes exactly k: rows back to back
    const size_t c_stride = n + 1 + rng_() % 4;
    // A is allocated to exactly its last byte so an over-read is caught by ASan.
    std::vector<uint8_t> a((mr - 1) * a_stride + k);
    std::vector<int8_t> w(n * k);
    std::vector<int32_t> colterm(n);
    std::uniform_int_distribution<int> u8(0, 255), s8(-128, 127);
    std::uniform_int_distribution<int32_t> i32(std::numeric_limits<int32_t>::min(),
                                               std::numeric_limits<int32_t>::max());
    for (auto& v : a) {
      v = static_cast<uint8_t>(fill == Fill::kRandom ? u8(rng_)
                               : fill == Fill::kMax  ? 255
                               : fill == Fill::kMin  ? 0
                                                     : (rng_() & 1) * 255);
    }
    for (auto& v : w) {
      v = static_cast<int8_t>(fill == Fill::kRandom ? s8(rng_)
                              : fill == Fill::kMax  ? -128
                              : fill == Fill::kMin  ? 127
                                                    : ((rng_() & 1) ? 127 : -128));
    }
    for (auto& v : colterm) v = i32(rng_);

    size_t block_bytes = 0;
    EXPECT_TRUE(g_.packed_block_size(k, g_.nr, g_.kr, &block_bytes));
    std::vector<uint8_t> packed((n + g_.nr - 1) / g_.nr * block_bytes);
    // Weights in the (kh, kw, c) order with kh = kw = 1 are plain [n][k].
    g_.pack(n, k, 1, 1, g_.nr, g_.kr, w.data(), colterm.data(), packed.data());

    const int32_t guard = 0x5A5A5A5A;
    std::vector<int32_t> c((mr - 1) * c_stride + n + 1, guard);
    g_.fn(mr, n, k, a.data(), a_stride, packed.data(), c.data(), c_stride);

    size_t bad = 0;
    for (size_t m = 0; m < mr; m++) {
      for (size_t j = 0; j < c_stride && m * c_stride + j < c.size(); j++) {
        const int32_t got = c[m * c_stride + j];
        int32_t want = guard;  // outside the tile nothing may be written
        if (j < n) {
          int64_t s = colterm[j];
          for (size_t i = 0; i < k; i++) {
            const int64_t p = int64_t{a[m * a_stride + i]} * w[j * k + i];
            if (!saturating_) {
              s += p;
            } else if (i % 2 == 0) {
              const int64_t q = i + 1 < k ? int64_t{a[m * a_stride + i + 1]} * w[j * k + i + 1] : 0;
              s += std::clamp<int64_t>(p + q, -32768, 32767);
            }
          }
          want = static_cast<int32_t>(static_cast<uint32_t>(static_cast<uint64_t>(s)));
        }
        if (got != want && bad++ == 0) {
          ADD_FAILURE() << g_.name << " mr=" << mr << " n=" << n << " k=" << k << ": c[" << m
                        << "][" << j << "] = " << got << ", expected " << want;
        }
      }
    }
    return bad;
  }

 private:
  qk_gemm_config g_;
  std::mt19937 rng_;
  bool saturating_;
};

// Every M <= MR, N in 1..2*NR+1, K in 1..3*KR+1.
inline void GemmAllTails(const qk_gemm_config& g, bool saturating = false) {
  GemmTester t(g, 1234, saturating);
  size_t runs = 0;
  for (size_t mr = 1; mr <= g.mr; mr++) {
    for (size_t n = 1; n <= 2 * g.nr + 1; n++) {
      for (size_t k = 1; k <= 3 * g.kr + 1; k++) {
        ASSERT_EQ(t.Test(mr, n, k, Fill::kRandom), 0u);
        runs++;
      }
    }
  }
  std::printf("[ ukernel  ] %s: %zu tail shapes bit-exact\n", g.name, runs);
}

// 255 * -128 at every k is where int16 pair arithmetic (vpmaddubsw) would saturate; K large
// enough that the int32 sum wraps checks the modulo-2^32 contract; partial blocks of every width
// with a long K catch kernels that split K into chunks.
inline void GemmLargeKAndExtremes(const qk_gemm_config& g, bool saturating = false) {
  GemmTester t(g, 99, saturating);
  for (size_t k : {size_t{2}, size_t{64}, size_t{577}, size_t{4608}, size_t{70000}}) {
    for (Fill f : {Fill::kMax, Fill::kMin, Fill::kMixedExtremes, Fill::kRandom}) {
      ASSERT_EQ(t.Test(g.mr, 2 * g.nr + 3, k, f), 0u) << "k=" << k;
      ASSERT_EQ(t.Test(1, 1, k, f), 0u) << "k=" << k;
      const size_t nr = g.nr;
      for (size_t n : {nr / 2 + 1, nr + nr / 2 + 1, size_t{25}}) {
        ASSERT_EQ(t.Test(g.mr, n, k, f), 0u) << "k=" << k << " n=" << n;
      }
    }
  }
}

}  // namespace qk_test
