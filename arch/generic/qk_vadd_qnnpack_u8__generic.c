/* qk_vadd_qnnpack_u8__generic — QNNPACK q8vadd (PyTorch qnnpack engine, quint8), any n >= 1.
 *
 * pytorch_qnnp_add_quantize (qnnpack/requantization.h), int32 arithmetic:
 *   acc = bias + a_multiplier * a + b_multiplier * b     bias = -(am * a_zp + bm * b_zp)
 *   q   = (acc >> shift) + ((acc & mask) - (acc < 0) > mask >> 1)   round half away from zero
 *   y   = clamp(q + output_zero_point, min, max)
 * mask = 2^shift - 1, shift in [14, 31] (the operator refuses the scale ratios that give more).
 * No intermediate overflows: |am|, |bm| < 2^22 and a, b < 2^8. */
#include "arch/generic/eltwise.h"

void qk_vadd_qnnpack_u8__generic(size_t n, const void* a, const void* b, void* y,
                                 const qk_eltwise_params* p) {
  const uint8_t* a8 = (const uint8_t*)a;
  const uint8_t* b8 = (const uint8_t*)b;
  uint8_t* y8 = (uint8_t*)y;
  const int32_t mask = (int32_t)((UINT32_C(1) << p->shift) - 1);
  const int32_t threshold = mask >> 1;
  for (size_t i = 0; i < n; i++) {
    const int32_t acc =
        p->bias + p->a_multiplier * (int32_t)a8[i] + p->b_multiplier * (int32_t)b8[i];
    const int32_t rem = (acc & mask) - (acc < 0 ? 1 : 0);
    const int32_t q = (acc >> p->shift) + (rem > threshold ? 1 : 0);
    y8[i] = (uint8_t)qk_clamp_i32((int64_t)q + p->output_zero_point, p->min, p->max);
  }
}
