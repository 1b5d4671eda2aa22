/* qk_requant_fp32_sat__generic — float multiplier, saturating conversion, integer zero point.
 *
 * Reproduces XNNPACK's fp32 requantization (PyTorch qnnpack engine with qint8 activations,
 * ExecuTorch / TFLite's XNNPACK delegate) and ONNX Runtime's MlasRequantizeOutput:
 *   v = (float)acc * scale[n]                                   one float32 rounding
 *   v = clamp(v, (float)(min - zero_point), (float)(max - zero_point))
 *   y = rne(v) + zero_point
 * XNNPACK clamps to [-2^31, 2^31 - 256] before rounding and to [min, max] after adding the zero
 * point; because rounding is monotonic and the bounds are integers, that is the same value. */
#include "arch/generic/generic.h"
#include "arch/generic/requant.h"

static int32_t fp32_sat(int32_t acc, const qk_requant_params* p, size_t n) {
  const float v = qk_clamp_f32(qk_f32_from_i32(acc) * p->scale[n],
                               (float)(p->min - p->zero_point), (float)(p->max - p->zero_point));
  return qk_rne_f32_i32(v) + p->zero_point;
}

void qk_requant_fp32_sat__generic(size_t mr, size_t nc, const int32_t* acc, size_t acc_stride,
                                  uint8_t* out, size_t out_stride, const qk_requant_params* params,
                                  size_t channel_offset) {
  qk_requant_tile__generic(mr, nc, acc, acc_stride, out, out_stride, params, channel_offset,
                           fp32_sat);
}
