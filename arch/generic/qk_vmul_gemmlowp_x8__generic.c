/* qk_vmul_gemmlowp_x8__generic — TFLite's reference quantized MUL (arch/ukernel.h MUL_GEMMLOWP),
 * s8 (the operator refuses u8), any n >= 1. From source, not run (tflite-micro
 * reference/integer_ops/mul.h MulElementwise; no TFLite is installed here):
 *   r = output_zero_point + MultiplyByQuantizedMultiplier((a - a_zp) * (b - b_zp),
 *                                                         output_multiplier, output_shift)
 *   y = clamp(r, min, max)
 * MultiplyByQuantizedMultiplier is qk_gemmlowp_mbqm (double rounding, the left shift wrapping
 * modulo 2^32 as TFLite's int32 multiply does); the zero-point add is an int32 add that wraps,
 * as TFLite's does, before the clamp. */
#include "arch/generic/eltwise.h"

void qk_vmul_gemmlowp_x8__generic(size_t n, const void* a, const void* b, void* y,
                                  const qk_eltwise_params* p) {
  for (size_t i = 0; i < n; i++) {
    const int32_t pa = qk_eltwise_load(a, i, p->is_signed) - p->a_zero_point;
    const int32_t pb = qk_eltwise_load(b, i, p->is_signed) - p->b_zero_point;
    const int32_t r = qk_wrap_add_i32(
        qk_gemmlowp_mbqm(pa * pb, p->output_multiplier, p->output_shift), p->output_zero_point);
    qk_eltwise_store(y, i, qk_clamp_i32(r, p->min, p->max), p->is_signed);
  }
}
