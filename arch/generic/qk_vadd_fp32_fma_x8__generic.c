/* qk_vadd_fp32_fma_x8__generic — ATen qadd_kernel's SIMD body (PyTorch fbgemm / x86 / onednn
 * engines), u8 or s8 (params->is_signed), any n >= 1.
 *
 * Vectorized<quint8/qint8>::dequantize(scale, zero_point, premul) is one FMA per element
 * (aten/src/ATen/cpu/vec/vec256/vec256_qint.h), then Vectorized::quantize with 1/scale:
 *   da = fma(a_scale, (float)a, a_premul)      a_premul = a_scale * -(float)a_zero_point
 *   db = fma(b_scale, (float)b, b_premul)
 *   r  = cvtps2dq((da + db) * inv_output_scale)
 *   y  = clamp(r + output_zero_point, min, max)   (relu is min = output zero point)
 * fmaf is the correctly rounded fused multiply-add, i.e. vfmadd231ps bit for bit. */
#include "arch/generic/eltwise.h"

void qk_vadd_fp32_fma_x8__generic(size_t n, const void* a, const void* b, void* y,
                                  const qk_eltwise_params* p) {
  for (size_t i = 0; i < n; i++) {
    const float da = fmaf(p->a_scale, (float)qk_eltwise_load(a, i, p->is_signed), p->a_premul);
    const float db = fmaf(p->b_scale, (float)qk_eltwise_load(b, i, p->is_signed), p->b_premul);
    const int32_t r = qk_cvt_f32_i32_x86((da + db) * p->scale);
    qk_eltwise_store(y, i, qk_clamp_i32((int64_t)r + p->output_zero_point, p->min, p->max),
                     p->is_signed);
  }
}
