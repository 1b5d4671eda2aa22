/* qk_vmul_fp32_x8__generic — quantized mul with a float multiplier, u8 or s8, any n >= 1.
 *
 * ATen qmul_kernel (requantize_from_int / RequantizeAvx2) and XNNPACK qs8 vmul fp32
 * (src/qs8-vmul/ kernels: float clamp to [min - zp, max - zp], magic-number rounding) compute
 * alike: p = (a - a_zero_point) * (b - b_zero_point)        int32, exact (|p| <= 65536) r =
 * rne((float)p * scale)                          cvtps2dq (the operator keeps |p * scale| below
 * 2^31) y = clamp(r + output_zero_point, min, max) They differ only in how `scale` is formed
 * (kernels/eltwise.c). */
#include "arch/generic/eltwise.h"

void qk_vmul_fp32_x8__generic(size_t n, const void* a, const void* b, void* y,
                              const qk_eltwise_params* p) {
  for (size_t i = 0; i < n; i++) {
    const int32_t pa = qk_eltwise_load(a, i, p->is_signed) - p->a_zero_point;
    const int32_t pb = qk_eltwise_load(b, i, p->is_signed) - p->b_zero_point;
    const int32_t r = qk_cvt_f32_i32_x86(qk_f32_from_i32(pa * pb) * p->scale);
    qk_eltwise_store(y, i, qk_clamp_i32((int64_t)r + p->output_zero_point, p->min, p->max),
                     p->is_signed);
  }
}
