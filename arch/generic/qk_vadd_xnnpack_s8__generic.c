/* qk_vadd_xnnpack_s8__generic — XNNPACK qs8 vadd (PyTorch qnnpack engine with qint8, and the
 * xnnpack mode), any n >= 1.
 *
 * xnn_init_qs8_add_minmax_scalar_params (src/microparams-init.c) and src/qs8-vadd/ kernels, int32:
 *   acc = bias + a_multiplier * a + b_multiplier * b
 *         bias = 2^(shift-1) - am * a_zp - bm * b_zp      (the rounding constant folded in)
 *   q   = acc >> shift                                   arithmetic: ties round half up
 *   y   = clamp(q + output_zero_point, min, max)
 * shift in [12, 30]; |am|, |bm| < 2^21, so nothing overflows. */
#include "arch/generic/eltwise.h"

void qk_vadd_xnnpack_s8__generic(size_t n, const void* a, const void* b, void* y,
                                 const qk_eltwise_params* p) {
  const int8_t* a8 = (const int8_t*)a;
  const int8_t* b8 = (const int8_t*)b;
  int8_t* y8 = (int8_t*)y;
  for (size_t i = 0; i < n; i++) {
    const int32_t acc =
        p->bias + p->a_multiplier * (int32_t)a8[i] + p->b_multiplier * (int32_t)b8[i];
    const int32_t q = acc >> p->shift;
    y8[i] = (int8_t)qk_clamp_i32((int64_t)q + p->output_zero_point, p->min, p->max);
  }
}
