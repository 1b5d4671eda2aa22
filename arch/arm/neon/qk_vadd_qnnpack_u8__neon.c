/* qk_vadd_qnnpack_u8__neon — QNNPACK q8vadd (arch/ukernel.h ADD_QNNPACK), u8, any n >= 1,
 * 8 elements per step, int32 lanes as the generic kernel:
 *   acc = bias + am * a + bm * b
 *   q   = (acc >> shift) + ((acc & mask) - (acc < 0) > mask >> 1)     half away from zero
 *   y   = clamp(q + zp, min, max) */
#include "arch/arm/neon/eltwise.h"

static inline int32x4_t qnnpack4(int32x4_t a, int32x4_t b, const qk_eltwise_params* p) {
  int32x4_t acc = vmlaq_s32(vdupq_n_s32(p->bias), a, vdupq_n_s32(p->a_multiplier));
  acc = vmlaq_s32(acc, b, vdupq_n_s32(p->b_multiplier));
  const int32_t mask = (int32_t)((UINT32_C(1) << p->shift) - 1);
  /* vcltzq: all ones (-1) where acc < 0 */
  const int32x4_t neg = vreinterpretq_s32_u32(vcltq_s32(acc, vdupq_n_s32(0)));
  const int32x4_t rem = vaddq_s32(vandq_s32(acc, vdupq_n_s32(mask)), neg);
  const int32x4_t up = vreinterpretq_s32_u32(vcgtq_s32(rem, vdupq_n_s32(mask >> 1)));
  const int32x4_t q = vshlq_s32(acc, vdupq_n_s32(-(int32_t)p->shift)); /* arithmetic >> */
  return vsubq_s32(q, up);
}

static inline qk_neon_s32x8 add_qnnpack8(qk_neon_s32x8 a, qk_neon_s32x8 b,
                                         const qk_eltwise_params* p) {
  qk_neon_s32x8 r;
  r.lo = qnnpack4(a.lo, b.lo, p);
  r.hi = qnnpack4(a.hi, b.hi, p);
  return r;
}

void qk_vadd_qnnpack_u8__neon(size_t n, const void* a, const void* b, void* y,
                              const qk_eltwise_params* params) {
  qk_neon_eltwise_walk(n, a, b, y, params, add_qnnpack8);
}
