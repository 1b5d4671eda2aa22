// Microkernel testers (XNNPACK style): every GEMM and requantization kernel of every ISA this
// CPU can run, on random data over all tails (M <= MR, N in 1..2*NR+1, K in 1..3*KR+1), padded
// strides and extreme values, compared bit-exactly with the specification:
//   - GEMM: a plain int64 dot product reduced modulo 2^32 (the generic kernel is tested too);
//   - requantization: the generic C kernel of the same family.
#include "arch/ukernel.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "gemm_tester.h"
#include "isa_util.h"
#include "arch/generic/generic.h"

namespace {

// ---------------------------------------------------------------------------------------------
// GEMM
// ---------------------------------------------------------------------------------------------
class GemmUkernelTest : public testing::TestWithParam<const qk_isa_config*> {};

TEST_P(GemmUkernelTest, AllTailsBitExact) { qk_test::GemmAllTails(GetParam()->gemm); }

TEST_P(GemmUkernelTest, LargeKAndExtremesNoSaturation) {
  qk_test::GemmLargeKAndExtremes(GetParam()->gemm);
}

// The saturating GEMM (FBGEMM's vpmaddubsw rule) of every table against the same independent
// reference with the pair rule; the extremes are where it saturates (255 * -128 * 2 < -32768).
TEST_P(GemmUkernelTest, Sat16AllTailsBitExact) { qk_test::GemmAllTails(GetParam()->gemm_sat16, true); }

TEST_P(GemmUkernelTest, Sat16LargeKAndExtremes) {
  qk_test::GemmLargeKAndExtremes(GetParam()->gemm_sat16, true);
}

// The saturation is real: 255 * 127 + 255 * 127 = 64770 becomes 32767 per pair.
TEST_P(GemmUkernelTest, Sat16SaturatesPairs) {
  const qk_gemm_config& g = GetParam()->gemm_sat16;
  const size_t k = 5;  // pairs (0,1) (2,3) and (4, zero)
  std::vector<uint8_t> a(k, 255);
  std::vector<int8_t> w(k, 127);
  const int32_t colterm = 7;
  size_t bytes = 0;
  ASSERT_TRUE(g.packed_block_size(k, g.nr, g.kr, &bytes));
  std::vector<uint8_t> packed(bytes);
  g.pack(1, k, 1, 1, g.nr, g.kr, w.data(), &colterm, packed.data());
  int32_t c = 0;
  g.fn(1, 1, k, a.data(), k, packed.data(), &c, 1);
  EXPECT_EQ(c, 7 + 32767 + 32767 + 255 * 127) << g.name;
}

INSTANTIATE_TEST_SUITE_P(Isa, GemmUkernelTest, testing::ValuesIn(qk_test::RunnableConfigs()),
                         qk_test::IsaName);

// ---------------------------------------------------------------------------------------------
// Depthwise: every ISA's kernel (the generic one for ISAs without their own) against a plain
// int64 sum, over channel tails (1..3*CB+1), tap counts around multiples of 4 (kernels that take
// taps in groups, e.g. 4 per vpdpbusd) up to 7x7, padding rows, XOR and extremes.
// ---------------------------------------------------------------------------------------------
class DwconvUkernelTest : public testing::TestWithParam<const qk_isa_config*> {};

TEST_P(DwconvUkernelTest, AllChannelTailsBitExact) {
  const qk_dwconv_config dw =
      GetParam()->dwconv.fn ? GetParam()->dwconv : qk_test::GenericConfig()->dwconv;
  std::mt19937 rng(11);
  size_t runs = 0;
  for (size_t taps : {1, 2, 3, 4, 5, 8, 9, 12, 13, 16, 25, 49}) {
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
      for (auto& v : w)
        v = static_cast<int8_t>(extreme ? -128 : static_cast<int>(rng() % 256) - 128);
      std::vector<int32_t> colterm(channels);
      for (auto& v : colterm) v = static_cast<int32_t>(rng());
      size_t bytes = 0;
      ASSERT_TRUE(
          (dw.packed_size ? dw.packed_size : qk_packed_dwconv_size__generic)(channels, taps, dw.cb, &bytes));
      std::vector<uint8_t> packed(bytes);
      (dw.pack ? dw.pack : qk_pack_dwconv__generic)(channels, taps, dw.cb, w.data(), colterm.data(),
                                                   packed.data());
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
              s += int64_t{static_cast<uint8_t>(input[p * taps + t][c] ^ xor_mask)} *
                   w[c * taps + t];
            }
            want = static_cast<int32_t>(static_cast<uint32_t>(static_cast<uint64_t>(s)));
          }
          ASSERT_EQ(acc[p * stride + c], want)
              << dw.name << " taps=" << taps << " channels=" << channels << " pixel " << p
              << " channel " << c;
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

// The SIMD ISAs against generic (whose own check is conv2d_test's direct-convolution reference).
INSTANTIATE_TEST_SUITE_P(Isa, Im2colTest,
                         testing::ValuesIn(qk_test::RunnableConfigs(/*with_generic=*/false)),
                         qk_test::IsaName);
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(Im2colTest);  // a generic-only CPU or build

}  // namespace
