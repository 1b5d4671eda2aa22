/* qk_vadd_fp32_fma_x8__neon — ATen qadd_kernel's SIMD body (arch/ukernel.h ADD_FP32_FMA), u8 or
 * s8, any n >= 1, 8 elements per step. ATen's x86 FMA reproduced with fmla (vfmaq_f32(c, a, b) =
 * c + a * b rounded once, the generic kernel's fmaf):
 *   da = fma(a_scale, (float)a, a_premul); db likewise
 *   r  = rne((da + db) * inv_output_scale); y = clamp(r + zp, min, max) */
#include "arch/arm/neon/eltwise.h"

static inline float32x4_t deq_fma(int32x4_t q, float32x4_t s, float32x4_t premul) {
  return vfmaq_f32(premul, s, vcvtq_f32_s32(q));
}

static inline qk_neon_s32x8 add_fma8(qk_neon_s32x8 a, qk_neon_s32x8 b, const qk_eltwise_params* p) {
  const float32x4_t sa = vdupq_n_f32(p->a_scale), sb = vdupq_n_f32(p->b_scale);
  const float32x4_t pa = vdupq_n_f32(p->a_premul), pb = vdupq_n_f32(p->b_premul);
  const float32x4_t so = vdupq_n_f32(p->scale);
  qk_neon_s32x8 r;
  r.lo = vcvtnq_s32_f32(vmulq_f32(vaddq_f32(deq_fma(a.lo, sa, pa), deq_fma(b.lo, sb, pb)), so));
  r.hi = vcvtnq_s32_f32(vmulq_f32(vaddq_f32(deq_fma(a.hi, sa, pa), deq_fma(b.hi, sb, pb)), so));
  return r;
}

void qk_vadd_fp32_fma_x8__neon(size_t n, const void* a, const void* b, void* y,
                               const qk_eltwise_params* params) {
  qk_neon_eltwise_walk(n, a, b, y, params, add_fma8);
}
