/* Small NEON helpers shared by the ARM microkernels (every file under arch/arm): loads and stores
 * of a tail shorter than a vector, which must neither read nor write past the caller's buffers
 * (arch/ukernel.h), and the x86 CVTPS2DQ conversion rule on ARM.
 * Everything is static inline, so each file compiled with its own -march gets its own copy. */
#ifndef QK_ARCH_ARM_NEON_NEON_UTIL_H
#define QK_ARCH_ARM_NEON_NEON_UTIL_H

#include <arm_neon.h>
#include <stdint.h>
#include <string.h>

/* n < 16 bytes of p in the low lanes, zeros above. */
static inline uint8x16_t qk_neon_load_u8_tail(const uint8_t* p, size_t n) {
  uint8_t buf[16] = {0};
  memcpy(buf, p, n);
  return vld1q_u8(buf);
}

/* n < 8 bytes of p in the low lanes, zeros above. */
static inline uint8x8_t qk_neon_load_u8x8_tail(const uint8_t* p, size_t n) {
  uint8_t buf[8] = {0};
  memcpy(buf, p, n);
  return vld1_u8(buf);
}

/* The first n <= 4 lanes of v to p. */
static inline void qk_neon_store_s32_tail(int32_t* p, int32x4_t v, size_t n) {
  if (n == 4) {
    vst1q_s32(p, v);
    return;
  }
  if (n >= 2) {
    vst1_s32(p, vget_low_s32(v));
    p += 2;
    n -= 2;
    v = vextq_s32(v, v, 2);
  }
  if (n != 0) vst1q_lane_s32(p, v, 0);
}

/* The first n <= 16 columns of one accumulator row held in four vectors. */
static inline void qk_neon_store_row16(int32_t* p, int32x4_t v0, int32x4_t v1, int32x4_t v2,
                                       int32x4_t v3, size_t n) {
  if (n >= 16) {
    vst1q_s32(p, v0);
    vst1q_s32(p + 4, v1);
    vst1q_s32(p + 8, v2);
    vst1q_s32(p + 12, v3);
    return;
  }
  const int32x4_t v[4] = {v0, v1, v2, v3};
  for (size_t q = 0; n != 0; q++) {
    const size_t len = n < 4 ? n : 4;
    qk_neon_store_s32_tail(p + 4 * q, v[q], len);
    n -= len;
  }
}

/* Eight int32 / float values, of which the first n <= 8 come from p and the rest are zero. */
static inline void qk_neon_load_s32x8(const int32_t* p, size_t n, int32x4_t* lo, int32x4_t* hi) {
  if (n >= 8) {
    *lo = vld1q_s32(p);
    *hi = vld1q_s32(p + 4);
    return;
  }
  int32_t buf[8] = {0};
  memcpy(buf, p, n * sizeof(int32_t));
  *lo = vld1q_s32(buf);
  *hi = vld1q_s32(buf + 4);
}

static inline void qk_neon_load_f32x8(const float* p, size_t n, float32x4_t* lo, float32x4_t* hi) {
  if (n >= 8) {
    *lo = vld1q_f32(p);
    *hi = vld1q_f32(p + 4);
    return;
  }
  float buf[8] = {0.0f};
  memcpy(buf, p, n * sizeof(float));
  *lo = vld1q_f32(buf);
  *hi = vld1q_f32(buf + 4);
}

/* Narrows two int32x4 already clamped to [-128, 255] to their low bytes (u8 or s8 bit pattern)
 * and stores the first n <= 8. */
static inline void qk_neon_store_narrow8(uint8_t* p, int32x4_t lo, int32x4_t hi, size_t n) {
  const uint8x8_t bytes = vreinterpret_u8_s8(vmovn_s16(vcombine_s16(vmovn_s32(lo), vmovn_s32(hi))));
  if (n >= 8) {
    vst1_u8(p, bytes);
    return;
  }
  uint8_t buf[8];
  vst1_u8(buf, bytes);
  memcpy(p, buf, n);
}

/* x86 CVTPS2DQ on ARM: round half to even, and INT32_MIN (the x86 "integer indefinite") for
 * |v| >= 2^31 or NaN, where vcvtnq_s32_f32 would saturate. arch/common.h qk_cvt_f32_i32_x86
 * is the scalar definition; both comparisons are false for NaN. */
static inline int32x4_t qk_neon_cvt_f32_s32_x86(float32x4_t v) {
  const float32x4_t limit = vdupq_n_f32(2147483648.0f);
  const uint32x4_t in_range = vandq_u32(vcgeq_f32(v, vnegq_f32(limit)), vcltq_f32(v, limit));
  return vbslq_s32(in_range, vcvtnq_s32_f32(v), vdupq_n_s32(INT32_MIN));
}

#endif /* QK_ARCH_ARM_NEON_NEON_UTIL_H */
