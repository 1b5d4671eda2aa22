/* qk_gemm_u8s8_4x16c1__neon — ARMv8.0 NEON GEMM microkernel (Cortex-A53/A55, any AArch64 CPU).
 *
 * What:    an mr x nc tile (1 <= mr <= 4, any nc >= 1) of
 *          c[m][n] = colterm[n] + Σ_{k < kc} a[m][k] * w[n][k], int32 modulo 2^32.
 * Tile:    MR = 4, NR = 16, KR = 1: 16 int32x4 accumulators (4 rows x 4 column quads), 4 widened
 *          activation vectors, 2 widened weight vectors = 22 of the 32 vector registers.
 * Packing: the generic layout (arch/generic/generic.h) with NR = 16, KR = 1: per 16-column block
 *          int32 colterm[16], then int8 w[kc][16] — the 16 column weights of each k are one
 *          16-byte load; columns past nc are zero.
 * Strides: row m of a at a + m * a_stride bytes, exactly kc bytes read, any alignment; row m of c
 *          at c + m * c_stride int32 elements.
 * Tails:   k in steps of 8 (one 8-byte load per row), the last kc mod 8 one at a time (ld1r);
 *          rows past mr alias row mr - 1 (read, never stored); the last block stores nc mod 16
 *          columns.
 * ISA:     ARMv8.0 Advanced SIMD only (uxtl, sxtl, smlal by element).
 * Exact:   u8 activations widen to int16 (uxtl: 0..255), s8 weights to int16 (sxtl); smlal
 *          multiplies int16 x int16 into int32 lanes, so each product (|a·w| <= 255·128) is exact
 *          and the int32 sum wraps like the frameworks' accumulators. Nothing saturates.
 * Loop:    per k, 1 weight load + 2 sxtl + 16 smlal (64 MACs); per 8 k, 4 loads + 4 uxtl of a. */
#include <arm_neon.h>

#include "arch/arm/neon/neon-util.h"
#include "arch/arm/neon/ukernels.h"

/* acc[0..3] (one row, 16 columns) += w[0..15] * lane L of the row's widened activations. */
#define QK_MAC_ROW(acc, wlo, whi, va, L)                        \
  do {                                                          \
    acc[0] = vmlal_laneq_s16(acc[0], vget_low_s16(wlo), va, L); \
    acc[1] = vmlal_high_laneq_s16(acc[1], wlo, va, L);          \
    acc[2] = vmlal_laneq_s16(acc[2], vget_low_s16(whi), va, L); \
    acc[3] = vmlal_high_laneq_s16(acc[3], whi, va, L);          \
  } while (0)

/* One k: the next 16 weights times lane L of every row. (A macro: lanes must be constants.) */
#define QK_STEP(L)                                   \
  do {                                               \
    const int8x16_t vw = vld1q_s8(wk);               \
    wk += 16;                                        \
    const int16x8_t wlo = vmovl_s8(vget_low_s8(vw)); \
    const int16x8_t whi = vmovl_high_s8(vw);         \
    QK_MAC_ROW(acc0, wlo, whi, va0, L);              \
    QK_MAC_ROW(acc1, wlo, whi, va1, L);              \
    QK_MAC_ROW(acc2, wlo, whi, va2, L);              \
    QK_MAC_ROW(acc3, wlo, whi, va3, L);              \
  } while (0)

static inline int16x8_t widen8(const uint8_t* p) {
  return vreinterpretq_s16_u16(vmovl_u8(vld1_u8(p)));
}

static inline int16x8_t widen1(const uint8_t* p) {
  return vreinterpretq_s16_u16(vmovl_u8(vld1_dup_u8(p)));
}

void qk_gemm_u8s8_4x16c1__neon(size_t mr, size_t nc, size_t kc, const uint8_t* a, size_t a_stride,
                               const void* w, int32_t* c, size_t c_stride) {
  const uint8_t* a0 = a;
  const uint8_t* a1 = mr > 1 ? a0 + a_stride : a0;
  const uint8_t* a2 = mr > 2 ? a1 + a_stride : a1;
  const uint8_t* a3 = mr > 3 ? a2 + a_stride : a2;
  const int8_t* wk = (const int8_t*)w;
  for (size_t n0 = 0; n0 < nc; n0 += 16) {
    int32x4_t acc0[4], acc1[4], acc2[4], acc3[4];
    for (int q = 0; q < 4; q++) {
      acc0[q] = acc1[q] = acc2[q] = acc3[q] = vld1q_s32((const int32_t*)(const void*)wk + 4 * q);
    }
    wk += 16 * sizeof(int32_t);

    const uint8_t *p0 = a0, *p1 = a1, *p2 = a2, *p3 = a3;
    size_t k = kc;
    for (; k >= 8; k -= 8) {
      const int16x8_t va0 = widen8(p0), va1 = widen8(p1), va2 = widen8(p2), va3 = widen8(p3);
      p0 += 8, p1 += 8, p2 += 8, p3 += 8;
      QK_STEP(0);
      QK_STEP(1);
      QK_STEP(2);
      QK_STEP(3);
      QK_STEP(4);
      QK_STEP(5);
      QK_STEP(6);
      QK_STEP(7);
    }
    for (; k != 0; k--) {
      const int16x8_t va0 = widen1(p0++), va1 = widen1(p1++), va2 = widen1(p2++);
      const int16x8_t va3 = widen1(p3++);
      QK_STEP(0);
    }

    const size_t cols = nc - n0;
    qk_neon_store_row16(c + n0, acc0[0], acc0[1], acc0[2], acc0[3], cols);
    if (mr > 1) qk_neon_store_row16(c + c_stride + n0, acc1[0], acc1[1], acc1[2], acc1[3], cols);
    if (mr > 2) {
      qk_neon_store_row16(c + 2 * c_stride + n0, acc2[0], acc2[1], acc2[2], acc2[3], cols);
    }
    if (mr > 3) {
      qk_neon_store_row16(c + 3 * c_stride + n0, acc3[0], acc3[1], acc3[2], acc3[3], cols);
    }
  }
}
