/* qk_requant_fp32_cvt__generic — float multiplier, x86 CVTPS2DQ conversion, integer zero point.
 *
 * Reproduces fbgemm's requantizeOutputProcessingAvx2 without contraction (its depthwise path and
 * per-channel bias) and QNNPACK's x86 fp32 requantization (bias = 0 here because QNNPACK adds an
 * int32 bias to the accumulator):
 *   v = ((float)acc + bias[n]) * scale[n]      two float32 roundings, in this order, no FMA
 *   r = cvtps2dq(v)                            round half to even; |v| >= 2^31 gives INT32_MIN
 *   y = clamp(r + zero_point, min, max)        (packs/adds/packus saturate the same way)
 * Adding bias = 0.0f changes no value, so one kernel serves both. */
#include "arch/generic/generic.h"
#include "arch/generic/requant.h"

static int32_t fp32_cvt(int32_t acc, const qk_requant_params* p, size_t n) {
  const float v = (qk_f32_from_i32(acc) + p->bias[n]) * p->scale[n];
  return qk_clamp_i32((int64_t)qk_cvt_f32_i32_x86(v) + p->zero_point, p->min, p->max);
}

void qk_requant_fp32_cvt__generic(size_t mr, size_t nc, const int32_t* acc, size_t acc_stride,
                                  uint8_t* out, size_t out_stride, const qk_requant_params* params,
                                  size_t channel_offset) {
  qk_requant_tile__generic(mr, nc, acc, acc_stride, out, out_stride, params, channel_offset,
                           fp32_cvt);
}
