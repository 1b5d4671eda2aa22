/* qk_requant_fp32_cvt_fma__neon — FP32_CVT_FMA epilogue (pytorch-fbgemm per-tensor float bias on
 * the GEMM paths) on ARMv8.0 NEON.
 *
 * What:    out[m][n] = clamp(cvtps2dq(fma(bias[n], bias_scale[n], (float)acc[m][n]) * scale[n])
 *          + zero_point, min, max), bit-identical to qk_requant_fp32_cvt_fma__generic.
 * Tile:    any mr x nc; 8 channels per step. Strides, tails: as qk_requant_fp32_cvt__neon.
 * ISA:     ARMv8.0 Advanced SIMD.
 * Exact:   vfmaq_f32(a, b, c) is fmla: a + b * c rounded once, the C99 fmaf of the generic
 *          kernel (and the vfmadd231ps GCC compiles FBGEMM's epilogue into). The conversion and
 *          the saturating zero-point add are qk_requant_fp32_cvt__neon's (see its comment). */
#include <arm_neon.h>

#include "arch/arm/neon/neon-util.h"
#include "arch/arm/neon/ukernels.h"

static inline int32x4_t requant4(int32x4_t acc, float32x4_t bias, float32x4_t bias_scale,
                                 float32x4_t scale, int32x4_t zp, int32x4_t lo, int32x4_t hi) {
  const float32x4_t v = vmulq_f32(vfmaq_f32(vcvtq_f32_s32(acc), bias, bias_scale), scale);
  const int32x4_t r = vqaddq_s32(qk_neon_cvt_f32_s32_x86(v), zp);
  return vminq_s32(vmaxq_s32(r, lo), hi);
}

void qk_requant_fp32_cvt_fma__neon(size_t mr, size_t nc, const int32_t* acc, size_t acc_stride,
                                   uint8_t* out, size_t out_stride,
                                   const qk_requant_params* params, size_t channel_offset) {
  const float* scale = params->scale + channel_offset;
  const float* bias = params->bias + channel_offset;
  const float* bias_scale = params->bias_scale + channel_offset;
  const int32x4_t zp = vdupq_n_s32(params->zero_point);
  const int32x4_t lo = vdupq_n_s32(params->min), hi = vdupq_n_s32(params->max);
  for (size_t n = 0; n < nc; n += 8) {
    const size_t len = nc - n < 8 ? nc - n : 8;
    float32x4_t scale0, scale1, bias0, bias1, bscale0, bscale1;
    qk_neon_load_f32x8(scale + n, len, &scale0, &scale1);
    qk_neon_load_f32x8(bias + n, len, &bias0, &bias1);
    qk_neon_load_f32x8(bias_scale + n, len, &bscale0, &bscale1);
    for (size_t m = 0; m < mr; m++) {
      int32x4_t acc0, acc1;
      qk_neon_load_s32x8(acc + m * acc_stride + n, len, &acc0, &acc1);
      const int32x4_t y0 = requant4(acc0, bias0, bscale0, scale0, zp, lo, hi);
      const int32x4_t y1 = requant4(acc1, bias1, bscale1, scale1, zp, lo, hi);
      qk_neon_store_narrow8(out + m * out_stride + n, y0, y1, len);
    }
  }
}
