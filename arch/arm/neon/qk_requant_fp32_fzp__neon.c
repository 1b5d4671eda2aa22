/* qk_requant_fp32_fzp__neon — FP32_FZP epilogue (oneDNN: zero point added in float) on NEON.
 *
 * What:    out[m][n] = rne(clamp(((float)acc[m][n] + bias[n]) * scale[n] + (float)zp, min, max)),
 *          bit-identical to qk_requant_fp32_fzp__generic (the specification).
 * Tile:    any mr x nc; 8 channels per step (parameters loaded once per step for all rows).
 * Strides: acc row m at acc + m * acc_stride int32; out row m at out + m * out_stride bytes;
 *          channel n uses params->xxx[channel_offset + n]. No alignment required.
 * Tails:   the last nc mod 8 channels go through zeroed vectors and a byte store; no access past
 *          acc, out or the parameter arrays.
 * ISA:     ARMv8.0 Advanced SIMD.
 * Exact:   three separate float32 operations in the generic order (add, multiply, add); the
 *          multiply-then-add must not become an fmla, which -ffp-contract=off (set for the whole
 *          library) guarantees — docs/performance-arm.md shows the disassembly has fmul + fadd.
 *          The clamp bounds are integers; fmax/fmin equal the generic compare-and-select for
 *          non-NaN values (finite parameters never give NaN); after it, vcvtnq_s32_f32 is exactly
 *          round-half-even and the result is already in [min, max]. */
#include <arm_neon.h>

#include "arch/arm/neon/neon-util.h"
#include "arch/arm/neon/ukernels.h"

static inline int32x4_t requant4(int32x4_t acc, float32x4_t bias, float32x4_t scale, float32x4_t zp,
                                 float32x4_t lo, float32x4_t hi) {
  float32x4_t v = vmulq_f32(vaddq_f32(vcvtq_f32_s32(acc), bias), scale);
  v = vaddq_f32(v, zp);
  v = vminq_f32(vmaxq_f32(v, lo), hi);
  return vcvtnq_s32_f32(v);
}

void qk_requant_fp32_fzp__neon(size_t mr, size_t nc, const int32_t* acc, size_t acc_stride,
                               uint8_t* out, size_t out_stride, const qk_requant_params* params,
                               size_t channel_offset) {
  const float* scale = params->scale + channel_offset;
  const float* bias = params->bias + channel_offset;
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
      const int32x4_t y0 = requant4(acc0, bias0, scale0, zp, lo, hi);
      const int32x4_t y1 = requant4(acc1, bias1, scale1, zp, lo, hi);
      qk_neon_store_narrow8(out + m * out_stride + n, y0, y1, len);
    }
  }
}
