/* qk_requant_fp32_sat__generic — float multiplier, saturating conversion, integer zero point.
 *
 * Reproduces XNNPACK's fp32 requantization (PyTorch qnnpack engine with qint8 activations) and
 * ONNX Runtime's MlasRequantizeOutput:
 *   v = (float)acc * scale[n]                                   one float32 rounding
 *   v = clamp(v, (float)(min - zero_point), (float)(max - zero_point))
 *   y = rne(v) + zero_point
 * XNNPACK clamps to [-2^31, 2^31 - 256] before rounding and to [min, max] after adding the zero
 * point; because rounding is monotonic and the bounds are integers, that is the same value. */
#include "arch/generic/generic.h"

void qk_requant_fp32_sat__generic(size_t mr, size_t nc, const int32_t* acc, size_t acc_stride,
                                  uint8_t* out, size_t out_stride, const qk_requant_params* params,
                                  size_t channel_offset) {
  const float* scale = params->scale + channel_offset;
  const float lo = (float)(params->min - params->zero_point);
  const float hi = (float)(params->max - params->zero_point);
  for (size_t m = 0; m < mr; m++) {
    for (size_t n = 0; n < nc; n++) {
      float v = qk_f32_from_i32(acc[m * acc_stride + n]) * scale[n];
      v = v < lo ? lo : v > hi ? hi : v;
      out[m * out_stride + n] = (uint8_t)(qk_rne_f32_i32(v) + params->zero_point);
    }
  }
}
