/* qk_requant_fp32_cvt__neon — FP32_CVT epilogue (fbgemm; qnnpack u8) on ARMv8.0 NEON.
 *
 * What:    out[m][n] = clamp(cvtps2dq(((float)acc[m][n] + bias[n]) * scale[n]) + zero_point,
 *          min, max), bit-identical to qk_requant_fp32_cvt__generic (the specification).
 * Tile:    any mr x nc; 8 channels per step (parameters loaded once per step for all rows).
 * Strides: acc row m at acc + m * acc_stride int32; out row m at out + m * out_stride bytes;
 *          channel n uses params->xxx[channel_offset + n]. No alignment required.
 * Tails:   the last nc mod 8 channels are loaded into zeroed vectors and stored byte by byte; no
 *          access past acc, out or the parameter arrays.
 * ISA:     ARMv8.0 Advanced SIMD.
 * Exact:   scvtf rounds like (float)int32 (to nearest even); the add and the multiply are separate
 *          float32 operations (the library is compiled with -ffp-contract=off, and the order
 *          add-then-multiply cannot fuse anyway). vcvtnq_s32_f32 saturates out-of-range values
 *          where x86 CVTPS2DQ gives INT32_MIN, so qk_neon_cvt_f32_s32_x86 selects INT32_MIN for
 *          |v| >= 2^31 and NaN: the x86 answer on ARM. The zero point is added with saturation
 *          (sqadd): for an in-range sum that is the int64 sum of the generic code, and a
 *          saturated one lies outside [min, max] on the same side, so the clamp is the same. */
#include <arm_neon.h>

#include "arch/arm/neon/neon-util.h"
#include "arch/arm/neon/ukernels.h"

static inline int32x4_t requant4(int32x4_t acc, float32x4_t bias, float32x4_t scale, int32x4_t zp,
                                 int32x4_t lo, int32x4_t hi) {
  const float32x4_t v = vmulq_f32(vaddq_f32(vcvtq_f32_s32(acc), bias), scale);
  const int32x4_t r = vqaddq_s32(qk_neon_cvt_f32_s32_x86(v), zp);
  return vminq_s32(vmaxq_s32(r, lo), hi);
}

void qk_requant_fp32_cvt__neon(size_t mr, size_t nc, const int32_t* acc, size_t acc_stride,
                               uint8_t* out, size_t out_stride, const qk_requant_params* params,
                               size_t channel_offset) {
  const float* scale = params->scale + channel_offset;
  const float* bias = params->bias + channel_offset;
  const int32x4_t zp = vdupq_n_s32(params->zero_point);
  const int32x4_t lo = vdupq_n_s32(params->min), hi = vdupq_n_s32(params->max);
  for (size_t n = 0; n < nc; n += 8) {
    const size_t len = nc - n < 8 ? nc - n : 8;
    float32x4_t scale0, scale1, bias0, bias1;
    qk_neon_load_f32x8(scale + n, len, &scale0, &scale1);
    qk_neon_load_f32x8(bias + n, len, &bias0, &bias1);
    for (size_t m = 0; m < mr; m++) {
      int32x4_t acc0, acc1;
      qk_neon_load_s32x8(acc + m * acc_stride + n, len, &acc0, &acc1);
      const int32x4_t y0 = requant4(acc0, bias0, scale0, zp, lo, hi);
      const int32x4_t y1 = requant4(acc1, bias1, scale1, zp, lo, hi);
      qk_neon_store_narrow8(out + m * out_stride + n, y0, y1, len);
    }
  }
}
