/* qk_vadd_xnnpack_s8__neon — XNNPACK qs8 vadd (arch/ukernel.h ADD_XNNPACK), s8, any n >= 1,
 * 8 elements per step: acc = bias + am * a + bm * b (rounding constant in bias);
 * y = clamp((acc >> shift) + zp, min, max), an arithmetic shift (ties half up). */
#include "arch/arm/neon/eltwise.h"

static inline int32x4_t xnnpack4(int32x4_t a, int32x4_t b, const qk_eltwise_params* p) {
  int32x4_t acc = vmlaq_s32(vdupq_n_s32(p->bias), a, vdupq_n_s32(p->a_multiplier));
  acc = vmlaq_s32(acc, b, vdupq_n_s32(p->b_multiplier));
  return vshlq_s32(acc, vdupq_n_s32(-(int32_t)p->shift));
}

static inline qk_neon_s32x8 add_xnnpack8(qk_neon_s32x8 a, qk_neon_s32x8 b,
                                         const qk_eltwise_params* p) {
  qk_neon_s32x8 r;
  r.lo = xnnpack4(a.lo, b.lo, p);
  r.hi = xnnpack4(a.hi, b.hi, p);
  return r;
}

void qk_vadd_xnnpack_s8__neon(size_t n, const void* a, const void* b, void* y,
                              const qk_eltwise_params* params) {
  qk_neon_eltwise_walk(n, a, b, y, params, add_xnnpack8);
}
