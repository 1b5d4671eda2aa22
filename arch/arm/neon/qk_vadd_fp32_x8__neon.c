/* qk_vadd_fp32_x8__neon — ATen qadd_kernel's scalar tail (arch/ukernel.h ADD_FP32), u8 or s8,
 * any n >= 1, 8 elements per step, no fused operation (-ffp-contract=off):
 *   da = a_scale * (float)(a - a_zero_point); db likewise
 *   r  = rne((da + db) * inv_output_scale); y = clamp(r + zp, min, max) */
#include "arch/arm/neon/eltwise.h"

static inline float32x4_t deq(int32x4_t q, int32x4_t zp, float32x4_t s) {
  return vmulq_f32(s, vcvtq_f32_s32(vsubq_s32(q, zp)));
}

static inline qk_neon_s32x8 add_plain8(qk_neon_s32x8 a, qk_neon_s32x8 b,
                                       const qk_eltwise_params* p) {
  const float32x4_t sa = vdupq_n_f32(p->a_scale), sb = vdupq_n_f32(p->b_scale);
  const int32x4_t za = vdupq_n_s32(p->a_zero_point), zb = vdupq_n_s32(p->b_zero_point);
  const float32x4_t so = vdupq_n_f32(p->scale);
  qk_neon_s32x8 r;
  r.lo = vcvtnq_s32_f32(vmulq_f32(vaddq_f32(deq(a.lo, za, sa), deq(b.lo, zb, sb)), so));
  r.hi = vcvtnq_s32_f32(vmulq_f32(vaddq_f32(deq(a.hi, za, sa), deq(b.hi, zb, sb)), so));
  return r;
}

void qk_vadd_fp32_x8__neon(size_t n, const void* a, const void* b, void* y,
                           const qk_eltwise_params* params) {
  qk_neon_eltwise_walk(n, a, b, y, params, add_plain8);
}
