/* qk_requant_fp32_cvt_fma__generic — FP32_CVT with the bias term fused into one FMA.
 *
 * Reproduces FBGEMM's requantizeOutputProcessingAvx2 for a per-tensor float bias as GCC compiles
 * it (-ffp-contract=fast for C++, -mfma): `_mm256_add_ps(cvt(acc), _mm256_mul_ps(bias, rcp))`
 * becomes vfmadd231ps, one rounding (docs/numerics.md, pytorch-fbgemm):
 *   v = fma(bias[n], bias_scale[n], (float)acc) * scale[n]     the fma exact, then rounded once
 *   r = cvtps2dq(v)                                            INT32_MIN when |v| >= 2^31 or NaN
 *   y = clamp(r + zero_point, min, max)
 * bias_scale is FBGEMM's (float)(1.0 / act_times_w_scale). fmaf is the correctly rounded fused
 * multiply-add (C99), not a contraction the compiler may or may not make. */
#include <math.h>

#include "arch/generic/generic.h"
#include "arch/generic/requant.h"

static int32_t fp32_cvt_fma(int32_t acc, const qk_requant_params* p, size_t n) {
  const float v = fmaf(p->bias[n], p->bias_scale[n], qk_f32_from_i32(acc)) * p->scale[n];
  return qk_clamp_i32((int64_t)qk_cvt_f32_i32_x86(v) + p->zero_point, p->min, p->max);
}

void qk_requant_fp32_cvt_fma__generic(size_t mr, size_t nc, const int32_t* acc, size_t acc_stride,
                                      uint8_t* out, size_t out_stride,
                                      const qk_requant_params* params, size_t channel_offset) {
  qk_requant_tile__generic(mr, nc, acc, acc_stride, out, out_stride, params, channel_offset,
                           fp32_cvt_fma);
}
