// Microkernel testers (XNNPACK style): every GEMM and requantization kernel of every ISA this
// CPU can run, on random data over all tails (M <= MR, N in 1..2*NR+1, K in 1..3*KR+1), padded
// strides and extreme values, compared bit-exactly with the specification:
//   - GEMM: a plain int64 dot product reduced modulo 2^32 (the generic kernel is tested too);
//   - requantization: the generic C kernel of the same family.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "isa_util.h"
#include "kernels/pack.h"
#include "kernels/ukernel.h"

namespace {

// ---------------------------------------------------------------------------------------------
// GEMM
// ---------------------------------------------------------------------------------------------
enum class Fill { kRandom, kMax, kMin, kMixedExtremes };

class GemmTester {
 public:
  GemmTester(const qk_gemm_config& g, uint32_t seed) : g_(g), rng_(seed) {}

  // Runs one mr x n x k problem; returns the number of mismatches (and reports the first).
  size_t Test(size_t mr, size_t n, size_t k, Fill fill) {
    const size_t a_stride = k + 3 + rng_() % 5;  // rows not contiguous
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
                               : fill == Fill::kMax   ? 255
                               : fill == Fill::kMin   ? 0
                                                      : (rng_() & 1) * 255);
    }
    for (auto& v : w) {
      v = static_cast<int8_t>(fill == Fill::kRandom ? s8(rng_)
                              : fill == Fill::kMax   ? -128
                              : fill == Fill::kMin   ? 127
                                                     : ((rng_() & 1) ? 127 : -128));
    }
    for (auto& v : colterm) v = i32(rng_);

    size_t block_bytes = 0;
    EXPECT_TRUE(g_.packed_block_size(k, g_.nr, g_.kr, &block_bytes));
    std::vector<uint8_t> packed((n + g_.nr - 1) / g_.nr * block_bytes + 64);
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
          for (size_t i = 0; i < k; i++) s += int64_t{a[m * a_stride + i]} * w[j * k + i];
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
};

class GemmUkernelTest : public testing::TestWithParam<const qk_isa_config*> {};

TEST_P(GemmUkernelTest, AllTailsBitExact) {
  const qk_gemm_config& g = GetParam()->gemm;
  GemmTester t(g, 1234);
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

TEST_P(GemmUkernelTest, LargeKAndExtremesNoSaturation) {
  const qk_gemm_config& g = GetParam()->gemm;
  GemmTester t(g, 99);
  // 255 * -128 at every k is where int16 pair arithmetic (vpmaddubsw) would saturate; K large
  // enough that the int32 sum wraps checks the modulo-2^32 contract.
  for (size_t k : {size_t{2}, size_t{64}, size_t{577}, size_t{4608}, size_t{70000}}) {
    for (Fill f : {Fill::kMax, Fill::kMin, Fill::kMixedExtremes, Fill::kRandom}) {
      ASSERT_EQ(t.Test(g.mr, 2 * g.nr + 3, k, f), 0u) << "k=" << k;
      ASSERT_EQ(t.Test(1, 1, k, f), 0u) << "k=" << k;
      // Partial blocks of every width with a long K (kernels that split K into chunks).
      const size_t nr = g.nr;
      for (size_t n : {nr / 2 + 1, nr + nr / 2 + 1, size_t{25}}) {
        ASSERT_EQ(t.Test(g.mr, n, k, f), 0u) << "k=" << k << " n=" << n;
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Isa, GemmUkernelTest, testing::ValuesIn(qk_test::RunnableConfigs()),
                         qk_test::IsaName);

// ---------------------------------------------------------------------------------------------
// Depthwise: every ISA's kernel (the generic one for ISAs without their own) against a plain
// int64 sum, over channel tails (1..3*CB+1), several tap counts, padding rows, XOR and extremes.
// ---------------------------------------------------------------------------------------------
class DwconvUkernelTest : public testing::TestWithParam<const qk_isa_config*> {};

TEST_P(DwconvUkernelTest, AllChannelTailsBitExact) {
  const qk_dwconv_config dw =
      GetParam()->dwconv.fn ? GetParam()->dwconv : qk_test::GenericConfig()->dwconv;
  std::mt19937 rng(11);
  size_t runs = 0;
  for (size_t taps : {size_t{1}, size_t{4}, size_t{9}, size_t{25}}) {
    for (size_t channels = 1; channels <= 3 * dw.cb + 1; channels++) {
      const size_t pixels = 1 + rng() % 5;
      const uint8_t xor_mask = (rng() & 1) ? 0x80 : 0;
      const bool extreme = rng() % 4 == 0;
      // Each tap row is its own exactly-sized allocation so ASan catches an over-read.
      std::vector<std::vector<uint8_t>> rows(pixels * taps, std::vector<uint8_t>(channels));
      std::vector<const uint8_t*> input;
      for (auto& r : rows) {
        for (auto& v : r) v = static_cast<uint8_t>(extreme ? (xor_mask ? 0x7F : 0xFF) : rng());
        input.push_back(r.data());
      }
      std::vector<int8_t> w(channels * taps);
      for (auto& v : w) v = static_cast<int8_t>(extreme ? -128 : static_cast<int>(rng() % 256) - 128);
      std::vector<int32_t> colterm(channels);
      for (auto& v : colterm) v = static_cast<int32_t>(rng());
      size_t bytes = 0;
      ASSERT_TRUE(qk_packed_dwconv_size(channels, taps, dw.cb, &bytes));
      std::vector<uint8_t> packed(bytes);
      qk_pack_dwconv_weights(channels, taps, dw.cb, w.data(), colterm.data(), packed.data());
      const size_t stride = channels + rng() % 3;
      const int32_t guard = 0x3C3C3C3C;
      std::vector<int32_t> acc((pixels - 1) * stride + channels, guard);
      dw.fn(channels, pixels, taps, input.data(), xor_mask, packed.data(), acc.data(), stride);
      for (size_t p = 0; p < pixels; p++) {
        for (size_t c = 0; c < stride && p * stride + c < acc.size(); c++) {
          int32_t want = guard;
          if (c < channels) {
            int64_t s = colterm[c];
            for (size_t t = 0; t < taps; t++) {
              s += int64_t{static_cast<uint8_t>(input[p * taps + t][c] ^ xor_mask)} * w[c * taps + t];
            }
            want = static_cast<int32_t>(static_cast<uint32_t>(static_cast<uint64_t>(s)));
          }
          ASSERT_EQ(acc[p * stride + c], want) << dw.name << " taps=" << taps << " channels="
                                               << channels << " pixel " << p << " channel " << c;
        }
      }
      runs++;
    }
  }
  std::printf("[ ukernel  ] %s (for %s): %zu shapes bit-exact\n", dw.name, GetParam()->name, runs);
}

INSTANTIATE_TEST_SUITE_P(Isa, DwconvUkernelTest, testing::ValuesIn(qk_test::RunnableConfigs()),
                         qk_test::IsaName);

// ---------------------------------------------------------------------------------------------
// im2col of every ISA against the generic one (byte-exact, including padding and XOR).
// ---------------------------------------------------------------------------------------------
class Im2colTest : public testing::TestWithParam<const qk_isa_config*> {};

TEST_P(Im2colTest, MatchesGeneric) {
  const qk_isa_config* isa = GetParam();
  std::mt19937 rng(3);
  for (int iter = 0; iter < 200; iter++) {
    qk_im2col_geometry g{};
    g.input_height = 1 + rng() % 9;
    g.input_width = 1 + rng() % 9;
    g.group_channels = 1 + rng() % 11;
    g.group_offset = rng() % 3;
    g.input_pixel_stride = g.group_offset + g.group_channels + rng() % 3;
    g.kernel_height = 1 + rng() % 3;
    g.kernel_width = 1 + rng() % 3;
    g.stride_height = 1 + rng() % 2;
    g.stride_width = 1 + rng() % 2;
    g.dilation_height = 1 + rng() % 2;
    g.dilation_width = 1 + rng() % 2;
    g.padding_top = rng() % 3;
    g.padding_left = rng() % 3;
    const size_t pad_bottom = rng() % 3, pad_right = rng() % 3;
    const size_t eh = (g.kernel_height - 1) * g.dilation_height + 1;
    const size_t ew = (g.kernel_width - 1) * g.dilation_width + 1;
    if (g.input_height + g.padding_top + pad_bottom < eh ||
        g.input_width + g.padding_left + pad_right < ew) {
      continue;
    }
    const size_t oh = (g.input_height + g.padding_top + pad_bottom - eh) / g.stride_height + 1;
    g.output_width = (g.input_width + g.padding_left + pad_right - ew) / g.stride_width + 1;
    g.pad_value = static_cast<uint8_t>(rng());
    g.xor_mask = (rng() & 1) ? 0x80 : 0;
    std::vector<uint8_t> image(g.input_height * g.input_width * g.input_pixel_stride);
    for (auto& v : image) v = static_cast<uint8_t>(rng());
    const size_t k = g.kernel_height * g.kernel_width * g.group_channels;
    const size_t row_stride = (k + 7) / 4 * 4;
    const size_t pixels = oh * g.output_width;
    const size_t p0 = rng() % pixels, rows = 1 + rng() % (pixels - p0);
    std::vector<uint8_t> want(rows * row_stride, 0xEE), got(want);
    qk_im2col_u8__generic(&g, image.data(), p0, rows, want.data(), row_stride);
    isa->im2col(&g, image.data(), p0, rows, got.data(), row_stride);
    ASSERT_EQ(got, want) << isa->name << " iteration " << iter;
  }
}

INSTANTIATE_TEST_SUITE_P(Isa, Im2colTest, testing::ValuesIn(qk_test::RunnableConfigs()),
                         qk_test::IsaName);

}  // namespace
