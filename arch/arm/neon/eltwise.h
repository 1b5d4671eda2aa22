/* The walk every NEON elementwise kernel (add / mul, arch/ukernel.h) shares: 8 elements at a time
 * widened to two int32x4 (u8 or s8 by params->is_signed), a per-8-lanes formula, the zero point,
 * the clamp to [min, max] and the narrowing store; the last n mod 8 elements through an 8-byte
 * stack copy (nothing past a, b or y is touched). vcvtnq_s32_f32 saturates where x86's cvtps2dq
 * gives INT32_MIN: the operator keeps every value inside int32, where both round half to even.
 * Internal to arch/arm; ARMv8.0 NEON. */
#ifndef QK_ARCH_ARM_NEON_ELTWISE_H
#define QK_ARCH_ARM_NEON_ELTWISE_H

#include <arm_neon.h>
#include <string.h>

#include "arch/ukernel.h"

typedef struct qk_neon_s32x8 {
  int32x4_t lo, hi;
} qk_neon_s32x8;

typedef qk_neon_s32x8 (*qk_neon_eltwise8_fn)(qk_neon_s32x8 a, qk_neon_s32x8 b,
                                             const qk_eltwise_params* p);

static inline qk_neon_s32x8 qk_neon_eltwise_load8(const uint8_t* p, int32_t is_signed) {
  qk_neon_s32x8 r;
  if (is_signed) {
    const int16x8_t w = vmovl_s8(vld1_s8((const int8_t*)p));
    r.lo = vmovl_s16(vget_low_s16(w));
    r.hi = vmovl_s16(vget_high_s16(w));
  } else {
    const uint16x8_t w = vmovl_u8(vld1_u8(p));
    r.lo = vreinterpretq_s32_u32(vmovl_u16(vget_low_u16(w)));
    r.hi = vreinterpretq_s32_u32(vmovl_u16(vget_high_u16(w)));
  }
  return r;
}

static inline void qk_neon_eltwise_store8(uint8_t* y, qk_neon_s32x8 r, const qk_eltwise_params* p) {
  const int32x4_t zp = vdupq_n_s32(p->output_zero_point);
  const int32x4_t lo = vdupq_n_s32(p->min), hi = vdupq_n_s32(p->max);
  const int32x4_t a = vminq_s32(vmaxq_s32(vaddq_s32(r.lo, zp), lo), hi);
  const int32x4_t b = vminq_s32(vmaxq_s32(vaddq_s32(r.hi, zp), lo), hi);
  const int16x8_t w = vcombine_s16(vmovn_s32(a), vmovn_s32(b)); /* in range: exact */
  if (p->is_signed) {
    vst1_s8((int8_t*)y, vmovn_s16(w));
  } else {
    vst1_u8(y, vmovn_u16(vreinterpretq_u16_s16(w)));
  }
}

static inline void qk_neon_eltwise_walk(size_t n, const void* a, const void* b, void* y,
                                        const qk_eltwise_params* p, qk_neon_eltwise8_fn f) {
  const uint8_t* a8 = (const uint8_t*)a;
  const uint8_t* b8 = (const uint8_t*)b;
  uint8_t* y8 = (uint8_t*)y;
  for (; n >= 8; n -= 8, a8 += 8, b8 += 8, y8 += 8) {
    qk_neon_eltwise_store8(
        y8, f(qk_neon_eltwise_load8(a8, p->is_signed), qk_neon_eltwise_load8(b8, p->is_signed), p),
        p);
  }
  if (n != 0) {
    uint8_t ta[8] = {0}, tb[8] = {0}, ty[8];
    memcpy(ta, a8, n);
    memcpy(tb, b8, n);
    qk_neon_eltwise_store8(
        ty, f(qk_neon_eltwise_load8(ta, p->is_signed), qk_neon_eltwise_load8(tb, p->is_signed), p),
        p);
    memcpy(y8, ty, n);
  }
}

#endif /* QK_ARCH_ARM_NEON_ELTWISE_H */
