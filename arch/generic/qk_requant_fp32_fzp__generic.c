/* qk_requant_fp32_fzp__generic — float multiplier with the zero point added in float.
 *
 * Reproduces oneDNN 2.x's int8 convolution store (PyTorch 1.13 onednn engine):
 *   v = ((float)acc + bias[n]) * scale[n]     float bias, two float32 roundings, no FMA
 *   v = v + (float)zero_point                 zero point added BEFORE rounding
 *   y = rne(clamp(v, min, max))               saturate, then cvtps2dq
 * oneDNN's ReLU (max(v, 0) before the zero point) gives the same bits as min = zero_point here:
 * for v < 0, rne(v + zp) <= zp, so both yield zp. */
#include "arch/generic/generic.h"

void qk_requant_fp32_fzp__generic(size_t mr, size_t nc, const int32_t* acc, size_t acc_stride,
                                  uint8_t* out, size_t out_stride, const qk_requant_params* params,
                                  size_t channel_offset) {
  const float* scale = params->scale + channel_offset;
  const float* bias = params->bias + channel_offset;
  const float zp = (float)params->zero_point;
  const float lo = (float)params->min;
  const float hi = (float)params->max;
  for (size_t m = 0; m < mr; m++) {
    for (size_t n = 0; n < nc; n++) {
      float v = (qk_f32_from_i32(acc[m * acc_stride + n]) + bias[n]) * scale[n];
      v = v + zp;
      v = v < lo ? lo : v > hi ? hi : v;
      out[m * out_stride + n] = (uint8_t)qk_rne_f32_i32(v);
    }
  }
}
