/* qk_vmul_fp32_x8__neon — quantized mul with a float multiplier (arch/ukernel.h MUL_FP32: ATen
 * qmul, XNNPACK qs8 vmul fp32), u8 or s8, any n >= 1, 8 elements per step:
 *   p = (a - za) * (b - zb) (int32, exact); r = rne((float)p * scale); y = clamp(r + zp) */
#include "arch/arm/neon/eltwise.h"

static inline int32x4_t mul4(int32x4_t a, int32x4_t b, const qk_eltwise_params* p) {
  const int32x4_t pa = vsubq_s32(a, vdupq_n_s32(p->a_zero_point));
  const int32x4_t pb = vsubq_s32(b, vdupq_n_s32(p->b_zero_point));
  return vcvtnq_s32_f32(vmulq_f32(vcvtq_f32_s32(vmulq_s32(pa, pb)), vdupq_n_f32(p->scale)));
}

static inline qk_neon_s32x8 mul8(qk_neon_s32x8 a, qk_neon_s32x8 b, const qk_eltwise_params* p) {
  qk_neon_s32x8 r;
  r.lo = mul4(a.lo, b.lo, p);
  r.hi = mul4(a.hi, b.hi, p);
  return r;
}

void qk_vmul_fp32_x8__neon(size_t n, const void* a, const void* b, void* y,
                           const qk_eltwise_params* params) {
  qk_neon_eltwise_walk(n, a, b, y, params, mul8);
}
