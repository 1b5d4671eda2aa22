// Pooling microkernel tester: every ISA's maxpool / avgpool kernel against the generic one (the
// specification), bit for bit, over channel tails 1..3*64+1 (three AVX-512 blocks and a tail), 1-3
// x 1-3 windows with scattered rows and columns, u8 and s8 (xor 0x80), both zero-point placements
// and extreme scales / zero points / clamps, with the buffers sized exactly (ASan sees any read
// past a tap).
#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <vector>

#include "arch/dispatch.h"
#include "isa_util.h"

namespace {

class PoolUkernel : public testing::TestWithParam<const qk_isa_config*> {};

struct Window {
  std::vector<std::vector<uint8_t>> pixels;  // one allocation per row
  std::vector<const uint8_t*> row_ptrs;
  std::vector<size_t> col_offsets;
};

// rows separate allocations of (cols * gap + 1) pixels of `channels` bytes; columns at gap steps.
Window MakeWindow(std::mt19937& rng, size_t channels, size_t rows, size_t cols, int dist) {
  Window w;
  const size_t gap = 1 + rng() % 3;
  const size_t pixels = (cols - 1) * gap + 1;
  for (size_t r = 0; r < rows; r++) {
    std::vector<uint8_t> row(pixels * channels);
    for (auto& b : row) {
      b = dist == 0   ? static_cast<uint8_t>(rng())
          : dist == 1 ? static_cast<uint8_t>(rng() % 2 ? 0 : 255)
                      : static_cast<uint8_t>(126 + rng() % 4);
    }
    w.pixels.push_back(std::move(row));
  }
  for (auto& row : w.pixels) w.row_ptrs.push_back(row.data());
  for (size_t j = 0; j < cols; j++) w.col_offsets.push_back(j * gap * channels);
  return w;
}

TEST_P(PoolUkernel, MaxMatchesGeneric) {
  const qk_isa_config* isa = GetParam();
  const qk_pool_config& ref = qk_test::GenericConfig()->pool;
  std::mt19937 rng(11);
  size_t checks = 0;
  for (size_t channels = 1; channels <= 3 * 64 + 1; channels++) {
    for (int rep = 0; rep < 6; rep++) {
      const size_t rows = 1 + rng() % 3, cols = 1 + rng() % 3;
      Window w = MakeWindow(rng, channels, rows, cols, rep % 3);
      for (uint8_t mask : {uint8_t{0}, uint8_t{0x80}}) {
        std::vector<uint8_t> a(channels), b(channels);
        ref.maxpool(channels, rows, w.row_ptrs.data(), cols, w.col_offsets.data(), mask, a.data());
        isa->pool.maxpool(channels, rows, w.row_ptrs.data(), cols, w.col_offsets.data(), mask,
                          b.data());
        ASSERT_EQ(a, b) << isa->pool.maxpool_name << " C" << channels << " " << rows << "x" << cols;
        checks++;
      }
    }
  }
  std::printf("%s: %zu maxpool checks\n", isa->pool.maxpool_name, checks);
}

TEST_P(PoolUkernel, AverageMatchesGeneric) {
  const qk_isa_config* isa = GetParam();
  const qk_pool_config& ref = qk_test::GenericConfig()->pool;
  std::mt19937 rng(12);
  const float scales[] = {1.0f, 0.5f, 1.0f / 3.0f, 1.0f / 9.0f, 1e-7f, 3.0e-3f, 7.0f, 1e6f};
  size_t checks = 0;
  for (size_t channels = 1; channels <= 3 * 64 + 1; channels++) {
    for (int rep = 0; rep < 8; rep++) {
      const size_t rows = 1 + rng() % 3, cols = 1 + rng() % 3;
      Window w = MakeWindow(rng, channels, rows, cols, rep % 3);
      qk_avgpool_params p{};
      const bool s8 = rng() % 2;
      p.xor_mask = s8 ? 0x80 : 0;
      p.min = s8 ? -128 : 0, p.max = s8 ? 127 : 255;
      if (rng() % 4 == 0)
        p.min += static_cast<int32_t>(rng() % 50), p.max -= static_cast<int32_t>(rng() % 50);
      const int32_t zp = rng() % 3 == 0
                             ? (rng() % 2 ? p.min : p.max)
                             : p.min + static_cast<int32_t>(rng() % 256) % (p.max - p.min + 1);
      p.zero_point = zp;
      p.init = -static_cast<int32_t>(rows * cols) * (zp + (s8 ? 128 : 0)) +
               static_cast<int32_t>(rng() % 7) - 3;
      p.scale = scales[rng() % 8];
      p.zero_point_in_float = static_cast<int>(rng() % 2);
      if (rep ==
          7) {  // |acc * scale| >= 2^31: CVTPS2DQ's INT32_MIN (zp 0 tells it from saturation)
        p.scale = 1e9f, p.zero_point = 0, p.init = 0, p.zero_point_in_float = 0;
      }
      std::vector<uint8_t> a(channels), b(channels);
      ref.avgpool(channels, rows, w.row_ptrs.data(), cols, w.col_offsets.data(), &p, a.data());
      isa->pool.avgpool(channels, rows, w.row_ptrs.data(), cols, w.col_offsets.data(), &p,
                        b.data());
      ASSERT_EQ(a, b) << isa->pool.avgpool_name << " C" << channels << " scale " << p.scale
                      << " fzp " << p.zero_point_in_float;
      checks++;
    }
  }
  std::printf("%s: %zu avgpool checks\n", isa->pool.avgpool_name, checks);
}

INSTANTIATE_TEST_SUITE_P(Isas, PoolUkernel, testing::ValuesIn(qk_test::RunnableConfigs()),
                         qk_test::IsaName);

}  // namespace
