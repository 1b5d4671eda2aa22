/* qk_gemm_u8s8_4x16c8__i8mm — ARMv8.6 int8 matrix-multiply GEMM microkernel (Cortex-A510/A710/
 * A715/X2/X3, Neoverse N2/V1/V2, Apple M2+ class).
 *
 * What:    an mr x nc tile (1 <= mr <= 4, any nc >= 1) of
 *          c[m][n] = colterm[n] + Σ_{k < kc} a[m][k] * w[n][k], int32 modulo 2^32.
 * Tile:    MR = 4, NR = 16, KR = 8. usmmla multiplies a 2x8 u8 block (two rows of a) by an 8x2
 *          s8 block (two columns of w) into a 2x2 int32 block [r0c0 r0c1 r1c0 r1c1]: 16
 *          accumulators = 2 row pairs x 8 column pairs, 4 activation vectors, 1-2 weight vectors.
 * Packing: the generic layout with NR = 16, KR = 8 (arch/generic/generic.h): per block int32
 *          colterm[16], then int8 w[ceil(kc/8)][16][8] — column n's 8 k are contiguous, so each
 *          16-byte load is the 8x2 operand of column pair (2j, 2j+1). No correction term.
 * Strides: row m of a at a + m * a_stride bytes, exactly kc bytes read, any alignment; row m of c
 *          at c + m * c_stride int32 elements.
 * Tails:   k in steps of 16 (16-byte row loads, zip1/zip2 of 64-bit halves pair two rows), then
 *          one step of 8, then the last kc mod 8 bytes via a zeroed 8-byte vector (packed k past
 *          kc are zero); rows past mr alias row mr - 1; the last block stores nc mod 16 columns.
 * ISA:     ARMv8.6-A I8MM (FEAT_I8MM; optional from v8.2), vusmmlaq_s32.
 * Exact:   usmmla is u8 x s8 — the GEMM's own operand types, so no a ^ 0x80 and no correction;
 *          each of its 8-term sums is exact in int32 and the accumulation wraps.
 * Loop:    per 16 k: 4 loads + 4 zips of a, 16 loads of w, 32 usmmla (1024 MACs). */
#ifndef __ARM_FEATURE_MATMUL_INT8
#error "this file needs -march=armv8.6-a+i8mm (arch/arm/i8mm/sources.cmake)"
#endif
#include <arm_neon.h>

#include "arch/arm/neon/neon-util.h"
#include "arch/arm/neon/ukernels.h"

/* Column pair j: acc01[j] += rows 0-1 x columns (2j, 2j+1), acc23[j] likewise for rows 2-3. */
#define QK_MMLA(j)                                \
  do {                                            \
    const int8x16_t vw = vld1q_s8(wk + 16 * (j)); \
    acc01[j] = vusmmlaq_s32(acc01[j], va01, vw);  \
    acc23[j] = vusmmlaq_s32(acc23[j], va23, vw);  \
  } while (0)

/* 8 k of all 16 columns: va01 / va23 hold [row 0 | row 1] and [row 2 | row 3], 8 bytes each. */
#define QK_STEP8(va01_, va23_)                       \
  do {                                               \
    const uint8x16_t va01 = (va01_), va23 = (va23_); \
    QK_MMLA(0);                                      \
    QK_MMLA(1);                                      \
    QK_MMLA(2);                                      \
    QK_MMLA(3);                                      \
    QK_MMLA(4);                                      \
    QK_MMLA(5);                                      \
    QK_MMLA(6);                                      \
    QK_MMLA(7);                                      \
    wk += 128;                                       \
  } while (0)

static inline uint8x16_t pair_lo(uint8x16_t x, uint8x16_t y) { /* [x k0-7 | y k0-7] */
  return vreinterpretq_u8_u64(vzip1q_u64(vreinterpretq_u64_u8(x), vreinterpretq_u64_u8(y)));
}
static inline uint8x16_t pair_hi(uint8x16_t x, uint8x16_t y) { /* [x k8-15 | y k8-15] */
  return vreinterpretq_u8_u64(vzip2q_u64(vreinterpretq_u64_u8(x), vreinterpretq_u64_u8(y)));
}

/* Row r (0 or 1) of four 2x2 blocks = 4 consecutive columns of that row. */
static inline int32x4_t row_of(int32x4_t b0, int32x4_t b1, int r) {
  const int64x2_t x = vreinterpretq_s64_s32(b0), y = vreinterpretq_s64_s32(b1);
  return vreinterpretq_s32_s64(r == 0 ? vzip1q_s64(x, y) : vzip2q_s64(x, y));
}

static void store_rows(int32_t* c, size_t c_stride, size_t rows, const int32x4_t acc[8],
                       size_t cols) {
  for (int r = 0; r < 2 && (size_t)r < rows; r++) {
    qk_neon_store_row16(c + (size_t)r * c_stride, row_of(acc[0], acc[1], r),
                        row_of(acc[2], acc[3], r), row_of(acc[4], acc[5], r),
                        row_of(acc[6], acc[7], r), cols);
  }
}

void qk_gemm_u8s8_4x16c8__i8mm(size_t mr, size_t nc, size_t kc, const uint8_t* a, size_t a_stride,
                               const void* w, int32_t* c, size_t c_stride) {
  const uint8_t* a0 = a;
  const uint8_t* a1 = mr > 1 ? a0 + a_stride : a0;
  const uint8_t* a2 = mr > 2 ? a1 + a_stride : a1;
  const uint8_t* a3 = mr > 3 ? a2 + a_stride : a2;
  const int8_t* wk = (const int8_t*)w;
  for (size_t n0 = 0; n0 < nc; n0 += 16) {
    int32x4_t acc01[8], acc23[8];
    for (int j = 0; j < 8; j++) { /* [ct[2j] ct[2j+1]] for both rows of the pair */
      const int32x2_t ct = vld1_s32((const int32_t*)(const void*)wk + 2 * j);
      acc01[j] = acc23[j] = vcombine_s32(ct, ct);
    }
    wk += 16 * sizeof(int32_t);

    const uint8_t *p0 = a0, *p1 = a1, *p2 = a2, *p3 = a3;
    size_t k = kc;
    for (; k >= 16; k -= 16) {
      const uint8x16_t x0 = vld1q_u8(p0), x1 = vld1q_u8(p1), x2 = vld1q_u8(p2), x3 = vld1q_u8(p3);
      p0 += 16, p1 += 16, p2 += 16, p3 += 16;
      QK_STEP8(pair_lo(x0, x1), pair_lo(x2, x3));
      QK_STEP8(pair_hi(x0, x1), pair_hi(x2, x3));
    }
    if (k >= 8) {
      QK_STEP8(vcombine_u8(vld1_u8(p0), vld1_u8(p1)), vcombine_u8(vld1_u8(p2), vld1_u8(p3)));
      p0 += 8, p1 += 8, p2 += 8, p3 += 8;
      k -= 8;
    }
    if (k != 0) {
      QK_STEP8(vcombine_u8(qk_neon_load_u8x8_tail(p0, k), qk_neon_load_u8x8_tail(p1, k)),
               vcombine_u8(qk_neon_load_u8x8_tail(p2, k), qk_neon_load_u8x8_tail(p3, k)));
    }

    store_rows(c + n0, c_stride, mr, acc01, nc - n0);
    if (mr > 2) store_rows(c + 2 * c_stride + n0, c_stride, mr - 2, acc23, nc - n0);
  }
}
