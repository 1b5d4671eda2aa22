/* qk_requant_fp32_sbfzp__generic — scale, bias, post-scale, zero point in float (oneDNN 3.x).
 *
 * Reproduces oneDNN 3.x's int8 convolution epilogue as PyTorch >= 2.2's onednn engine drives it
 * (brgemm store_accumulators_apply_post_ops; docs/numerics.md, pytorch-onednn):
 *   v = (float)acc * scale[n]        scale = f32(xs' * ws[n]), xs' = 1/(1/xs) in float
 *   v = v + bias[n]                  float bias, not scaled
 *   v = v * post_scale               post_scale = f32(1 / os)
 *   v = v + (float)zero_point        zero point added BEFORE rounding
 *   y = rne(clamp(v, min, max))      vmaxps / vminps, then cvtps2dq
 * each a float32 rounding, no FMA. oneDNN's ReLU (max(v, 0) before the post-scale) gives the same
 * bits as min = zero_point: post_scale > 0, so for v < 0, rne(v * post_scale + zp) <= zp. */
#include "arch/generic/generic.h"
#include "arch/generic/requant.h"

static int32_t fp32_sbfzp(int32_t acc, const qk_requant_params* p, size_t n) {
  float v = qk_f32_from_i32(acc) * p->scale[n];
  v = v + p->bias[n];
  v = v * p->post_scale;
  v = v + (float)p->zero_point;
  return qk_rne_f32_i32(qk_clamp_f32(v, (float)p->min, (float)p->max));
}

void qk_requant_fp32_sbfzp__generic(size_t mr, size_t nc, const int32_t* acc, size_t acc_stride,
                                    uint8_t* out, size_t out_stride,
                                    const qk_requant_params* params, size_t channel_offset) {
  qk_requant_tile__generic(mr, nc, acc, acc_stride, out, out_stride, params, channel_offset,
                           fp32_sbfzp);
}
