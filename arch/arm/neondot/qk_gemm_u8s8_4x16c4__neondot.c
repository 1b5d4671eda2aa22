/* qk_gemm_u8s8_4x16c4__neondot — ARMv8.2 dot-product GEMM microkernel (Cortex-A55/A76/X1, N1).
 *
 * What:    an mr x nc tile (1 <= mr <= 4, any nc >= 1) of
 *          c[m][n] = colterm[n] + Σ_{k < kc} a[m][k] * w[n][k], int32 modulo 2^32.
 * Tile:    MR = 4, NR = 16, KR = 4: 16 int32x4 accumulators (4 rows x 4 column quads), 4
 *          activation vectors (16 k of a row each), 1-2 weight vectors: 22 of 32 registers.
 * Packing: qk_pack_gemm_weights_s8a__neondot: the generic layout with NR = 16, KR = 4 (per block
 *          int32 colterm[16], then int8 w[ceil(kc/4)][16][4]: one 64-byte group per 4 k, each
 *          16-byte vector = 4 columns x 4 k, exactly sdot's operand), colterm[n] += 128·Σ_k
 * w[n][k]. Strides: row m of a at a + m * a_stride bytes, exactly kc bytes read, any alignment; row
 * m of c at c + m * c_stride int32 elements. Tails:   k in steps of 16 (one 16-byte load per row);
 * the last kc mod 16 bytes are copied into a zeroed vector and only their ceil(/4) groups are
 * multiplied (the packed k past kc are zero); rows past mr alias row mr - 1; the last block stores
 * nc mod 16 columns. ISA:     ARMv8.2-A dotprod (sdot by element, vdotq_laneq_s32). Exact:   sdot
 * is s8 x s8. The u8 activations are flipped to s8, a ^ 0x80 = a - 128 (eor), so Σ a·w = Σ (a -
 * 128)·w + 128·Σ w, and the packing put 128·Σ w into colterm (modulo 2^32, like every accumulator
 * here). sdot's four products and the lane sum are exact in int32; the accumulation wraps. (usdot
 * would take u8 directly, but it is part of i8mm, which Cortex-A76/N1-class cores lack; the i8mm
 * ISA uses usmmla instead.) Loop:    per 16 k: 4 loads + 4 eor of a, 16 loads of w, 64 sdot (1024
 * MACs). */
#ifndef __ARM_FEATURE_DOTPROD
#error "this file needs -march=armv8.2-a+dotprod (arch/arm/neondot/sources.cmake)"
#endif
#include <arm_neon.h>

#include "arch/arm/neon/neon-util.h"
#include "arch/arm/neon/ukernels.h"

/* Column quad j, k group L: one 16-byte weight vector (4 columns x 4 k) against k group L of
 * all four rows, then dead — column-major order keeps 1 weight register live, not 16. (Macros:
 * lanes must be constants.) */
#define QK_DOT_COL(j, L)                            \
  do {                                              \
    const int8x16_t vw = vld1q_s8(wk + 16 * (j));   \
    acc0[j] = vdotq_laneq_s32(acc0[j], vw, va0, L); \
    acc1[j] = vdotq_laneq_s32(acc1[j], vw, va1, L); \
    acc2[j] = vdotq_laneq_s32(acc2[j], vw, va2, L); \
    acc3[j] = vdotq_laneq_s32(acc3[j], vw, va3, L); \
  } while (0)

/* One group of 4 k: the next 64 weight bytes. */
#define QK_STEP(L)    \
  do {                \
    QK_DOT_COL(0, L); \
    QK_DOT_COL(1, L); \
    QK_DOT_COL(2, L); \
    QK_DOT_COL(3, L); \
    wk += 64;         \
  } while (0)

static inline int8x16_t flip(uint8x16_t a) {
  return vreinterpretq_s8_u8(veorq_u8(a, vdupq_n_u8(0x80)));
}

void qk_gemm_u8s8_4x16c4__neondot(size_t mr, size_t nc, size_t kc, const uint8_t* a,
                                  size_t a_stride, const void* w, int32_t* c, size_t c_stride) {
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
    for (; k >= 16; k -= 16) {
      const int8x16_t va0 = flip(vld1q_u8(p0)), va1 = flip(vld1q_u8(p1));
      const int8x16_t va2 = flip(vld1q_u8(p2)), va3 = flip(vld1q_u8(p3));
      p0 += 16, p1 += 16, p2 += 16, p3 += 16;
      QK_STEP(0);
      QK_STEP(1);
      QK_STEP(2);
      QK_STEP(3);
    }
    if (k != 0) {
      const int8x16_t va0 = flip(qk_neon_load_u8_tail(p0, k));
      const int8x16_t va1 = flip(qk_neon_load_u8_tail(p1, k));
      const int8x16_t va2 = flip(qk_neon_load_u8_tail(p2, k));
      const int8x16_t va3 = flip(qk_neon_load_u8_tail(p3, k));
      QK_STEP(0);
      if (k > 4) QK_STEP(1);
      if (k > 8) QK_STEP(2);
      if (k > 12) QK_STEP(3);
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
