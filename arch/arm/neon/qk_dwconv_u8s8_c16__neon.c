/* qk_dwconv_u8s8_c16__neon — depthwise convolution microkernel, ARMv8.0 NEON (all ARM ISAs).
 *
 * What:    acc[p][c] = colterm[c] + Σ_{t < taps} (input[p * taps + t][c] ^ xor_mask) * w[t][c]
 *          for p < pixels, c < channels, int32 modulo 2^32 (arch/ukernel.h).
 * Tile:    16 channels x 1 pixel: 4 int32x4 accumulators; a tap is one 16-byte input load and
 *          one 16-byte weight load, each widened to two int16x8, and 4 smlal (16 MACs).
 * Packing: the generic depthwise layout, CB = 16 (qk_pack_dwconv__generic): per 16-channel block
 *          int32 colterm[16]; int8 w[taps][16]; channels past `channels` zero.
 * Strides: input: pixels * taps row pointers (user tensor or a zero-point row), exactly
 *          `channels` bytes read through each; acc row p at acc + p * acc_stride int32 elements.
 * Tails:   the last channels mod 16 are loaded into a zeroed vector (no over-read) and stored
 *          lane by lane; any taps, any pixels.
 * Order:   channel blocks outside, pixels inside, so a block's taps x 16 weights stay in L1
 *          while every pixel of the call reuses them.
 * ISA:     ARMv8.0 Advanced SIMD (uxtl, sxtl, smlal); no dotprod form: sdot sums 4 adjacent
 *          bytes, which here are 4 channels, not 4 taps.
 * Exact:   u8 (after the xor) widened to int16 times s8 widened to int16, accumulated by smlal
 *          into int32 lanes: every product exact, the sum wraps like the reference's uint32. */
#include <arm_neon.h>

#include "arch/arm/neon/neon-util.h"
#include "arch/arm/neon/ukernels.h"

enum { CB = 16 };

static inline uint8x16_t load_channels(const uint8_t* p, size_t n) {
  return n == CB ? vld1q_u8(p) : qk_neon_load_u8_tail(p, n);
}

/* One pixel of one 16-channel block: colterm + Σ over taps. */
static void block_pixel(const uint8_t* const* rows, size_t taps, size_t c0, size_t cn,
                        uint8x16_t mask, const uint8_t* block, int32_t* acc) {
  const int32_t* colterm = (const int32_t*)(const void*)block;
  const int8_t* wt = (const int8_t*)(block + CB * sizeof(int32_t));
  int32x4_t acc0 = vld1q_s32(colterm), acc1 = vld1q_s32(colterm + 4);
  int32x4_t acc2 = vld1q_s32(colterm + 8), acc3 = vld1q_s32(colterm + 12);
  for (size_t t = 0; t < taps; t++, wt += CB) {
    const uint8x16_t x = veorq_u8(load_channels(rows[t] + c0, cn), mask);
    const int16x8_t xlo = vreinterpretq_s16_u16(vmovl_u8(vget_low_u8(x)));
    const int16x8_t xhi = vreinterpretq_s16_u16(vmovl_high_u8(x));
    const int8x16_t vw = vld1q_s8(wt);
    const int16x8_t wlo = vmovl_s8(vget_low_s8(vw)), whi = vmovl_high_s8(vw);
    acc0 = vmlal_s16(acc0, vget_low_s16(xlo), vget_low_s16(wlo));
    acc1 = vmlal_high_s16(acc1, xlo, wlo);
    acc2 = vmlal_s16(acc2, vget_low_s16(xhi), vget_low_s16(whi));
    acc3 = vmlal_high_s16(acc3, xhi, whi);
  }
  qk_neon_store_row16(acc, acc0, acc1, acc2, acc3, cn);
}

void qk_dwconv_u8s8_c16__neon(size_t channels, size_t pixels, size_t taps,
                              const uint8_t* const* input, uint8_t xor_mask, const void* w,
                              int32_t* acc, size_t acc_stride) {
  const size_t block_bytes = CB * sizeof(int32_t) + taps * CB;
  const uint8x16_t mask = vdupq_n_u8(xor_mask);
  const uint8_t* block = (const uint8_t*)w;
  for (size_t c0 = 0; c0 < channels; c0 += CB, block += block_bytes) {
    const size_t cn = channels - c0 < CB ? channels - c0 : CB;
    for (size_t p = 0; p < pixels; p++) {
      block_pixel(input + p * taps, taps, c0, cn, mask, block, acc + p * acc_stride + c0);
    }
  }
}
