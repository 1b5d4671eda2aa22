/* qk_requant_fp32_sbfzp__neon — FP32_SBFZP epilogue (pytorch-onednn, oneDNN 3.x) on ARMv8.0 NEON.
 *
 * What:    out[m][n] = rne(clamp((((float)acc[m][n] * scale[n]) + bias[n]) * post_scale
 *          + (float)zero_point, min, max)), bit-identical to qk_requant_fp32_sbfzp__generic.
 * Tile:    any mr x nc; 8 channels per step. Strides, tails: as qk_requant_fp32_cvt__neon.
 * ISA:     ARMv8.0 Advanced SIMD.
 * Exact:   four separate float32 operations in oneDNN's order (-ffp-contract=off keeps GCC from
 *          fusing the multiply-adds); the clamp keeps v inside [min, max] (integers inside the
 *          u8 / s8 range), where fcvtns rounds half to even like the generic lrintf. */
#include <arm_neon.h>

#include "arch/arm/neon/neon-util.h"
#include "arch/arm/neon/ukernels.h"

static inline int32x4_t requant4(int32x4_t acc, float32x4_t scale, float32x4_t bias,
                                 float32x4_t post_scale, float32x4_t zp, float32x4_t lo,
                                 float32x4_t hi) {
  float32x4_t v = vmulq_f32(vcvtq_f32_s32(acc), scale);
  v = vaddq_f32(v, bias);
  v = vmulq_f32(v, post_scale);
  v = vaddq_f32(v, zp);
  v = vminq_f32(vmaxq_f32(v, lo), hi);
  return vcvtnq_s32_f32(v);
}

void qk_requant_fp32_sbfzp__neon(size_t mr, size_t nc, const int32_t* acc, size_t acc_stride,
                                 uint8_t* out, size_t out_stride, const qk_requant_params* params,
                                 size_t channel_offset) {
  const float* scale = params->scale + channel_offset;
  const float* bias = params->bias + channel_offset;
  const float32x4_t post_scale = vdupq_n_f32(params->post_scale);
  const float32x4_t zp = vdupq_n_f32((float)params->zero_point);
  const float32x4_t lo = vdupq_n_f32((float)params->min);
  const float32x4_t hi = vdupq_n_f32((float)params->max);
  for (size_t n = 0; n < nc; n += 8) {
    const size_t len = nc - n < 8 ? nc - n : 8;
    float32x4_t scale0, scale1, bias0, bias1;
    qk_neon_load_f32x8(scale + n, len, &scale0, &scale1);
    qk_neon_load_f32x8(bias + n, len, &bias0, &bias1);
    for (size_t m = 0; m < mr; m++) {
      int32x4_t acc0, acc1;
      qk_neon_load_s32x8(acc + m * acc_stride + n, len, &acc0, &acc1);
      const int32x4_t y0 = requant4(acc0, scale0, bias0, post_scale, zp, lo, hi);
      const int32x4_t y1 = requant4(acc1, scale1, bias1, post_scale, zp, lo, hi);
      qk_neon_store_narrow8(out + m * out_stride + n, y0, y1, len);
    }
  }
}
