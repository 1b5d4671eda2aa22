/* qk_vadd_fp32_x8__generic — ATen qadd_kernel's scalar lambda (the n mod 64 tail of the
 * flattened tensor), u8 or s8 (params->is_signed), any n >= 1.
 *
 * dequantize_val then quantize_val (aten/src/ATen/native/quantized/AffineQuantizerBase.cpp):
 *   da = a_scale * (float)(a - a_zero_point)    one rounding, no FMA
 *   db = b_scale * (float)(b - b_zero_point)
 *   r  = rne((da + db) * inv_output_scale)
 *   y  = clamp(r + output_zero_point, min, max)
 * The conversion is cvtps2dq's (INT32_MIN past int32) so that it matches the SIMD body's; the
 * operator refuses the scales for which the value can leave int32 (where lrintf would differ). */
#include "arch/generic/eltwise.h"

void qk_vadd_fp32_x8__generic(size_t n, const void* a, const void* b, void* y,
                              const qk_eltwise_params* p) {
  for (size_t i = 0; i < n; i++) {
    const float da = p->a_scale * (float)(qk_eltwise_load(a, i, p->is_signed) - p->a_zero_point);
    const float db = p->b_scale * (float)(qk_eltwise_load(b, i, p->is_signed) - p->b_zero_point);
    const int32_t r = qk_cvt_f32_i32_x86((da + db) * p->scale);
    qk_eltwise_store(y, i, qk_clamp_i32((int64_t)r + p->output_zero_point, p->min, p->max),
                     p->is_signed);
  }
}
