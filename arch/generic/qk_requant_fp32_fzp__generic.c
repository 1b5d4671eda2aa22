/* qk_requant_fp32_fzp__generic — float multiplier with the zero point added in float.
 *
 * Reproduces oneDNN 2.x's int8 convolution store (PyTorch 1.13 onednn engine):
 *   v = ((float)acc + bias[n]) * scale[n]     float bias, two float32 roundings, no FMA
 *   v = v + (float)zero_point                 zero point added BEFORE rounding
 *   y = rne(clamp(v, min, max))               saturate, then cvtps2dq
 * oneDNN's ReLU (max(v, 0) before the zero point) gives the same bits as min = zero_point here:
 * for v < 0, rne(v + zp) <= zp, so both yield zp. */
#include "arch/generic/generic.h"
#include "arch/generic/requant.h"

static int32_t fp32_fzp(int32_t acc, const qk_requant_params* p, size_t n) {
  float v = (qk_f32_from_i32(acc) + p->bias[n]) * p->scale[n];
  v = v + (float)p->zero_point;
  return qk_rne_f32_i32(qk_clamp_f32(v, (float)p->min, (float)p->max));
}

void qk_requant_fp32_fzp__generic(size_t mr, size_t nc, const int32_t* acc, size_t acc_stride,
                                  uint8_t* out, size_t out_stride, const qk_requant_params* params,
                                  size_t channel_offset) {
  qk_requant_tile__generic(mr, nc, acc, acc_stride, out, out_stride, params, channel_offset,
                           fp32_fzp);
}
