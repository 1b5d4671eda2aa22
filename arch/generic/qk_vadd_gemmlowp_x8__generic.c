/* qk_vadd_gemmlowp_x8__generic — TFLite's reference quantized ADD (arch/ukernel.h ADD_GEMMLOWP),
 * u8 or s8, any n >= 1. From source, not run (tflite-micro reference/integer_ops/add.h AddFunc,
 * TFLite reference_ops/add.h for uint8; no TFLite is installed here):
 *   va  = MBQMSmallerThanOneExp((a - a_zp) * 2^left_shift, a_multiplier, a_shift)
 *   vb  = likewise with b
 *   r   = MBQMSmallerThanOneExp(va + vb, output_multiplier, output_shift) + output_zero_point
 *   y   = clamp(r, min, max)
 * MBQMSmallerThanOneExp(x, m, s) = RoundingDivideByPOT(SRDHM(x, m), -s), s <= 0: gemmlowp's double
 * rounding, here qk_gemmlowp_mbqm with a non-positive shift. |(a - a_zp) << 20| < 2^28 and the
 * scaled values are at most half of it, so no int32 operation overflows. */
#include "arch/generic/eltwise.h"

void qk_vadd_gemmlowp_x8__generic(size_t n, const void* a, const void* b, void* y,
                                  const qk_eltwise_params* p) {
  for (size_t i = 0; i < n; i++) {
    const int32_t va =
        (qk_eltwise_load(a, i, p->is_signed) - p->a_zero_point) * (1 << p->left_shift);
    const int32_t vb =
        (qk_eltwise_load(b, i, p->is_signed) - p->b_zero_point) * (1 << p->left_shift);
    const int32_t sum = qk_gemmlowp_mbqm(va, p->a_multiplier, p->a_shift) +
                        qk_gemmlowp_mbqm(vb, p->b_multiplier, p->b_shift);
    const int32_t r = qk_gemmlowp_mbqm(sum, p->output_multiplier, p->output_shift);
    qk_eltwise_store(y, i, qk_clamp_i32((int64_t)r + p->output_zero_point, p->min, p->max),
                     p->is_signed);
  }
}
