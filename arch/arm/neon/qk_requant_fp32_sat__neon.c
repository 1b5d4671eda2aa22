/* qk_requant_fp32_sat__neon — FP32_SAT epilogue (XNNPACK / qnnpack s8; ONNX Runtime) on NEON.
 *
 * What:    out[m][n] = rne(clamp((float)acc[m][n] * scale[n], min - zp, max - zp)) + zp,
 *          bit-identical to qk_requant_fp32_sat__generic (the specification).
 * Tile:    any mr x nc; 8 channels per step (scales loaded once per step for all rows).
 * Strides: acc row m at acc + m * acc_stride int32; out row m at out + m * out_stride bytes;
 *          channel n uses params->scale[channel_offset + n]. No alignment required.
 * Tails:   the last nc mod 8 channels go through zeroed vectors and a byte store; no access past
 *          acc, out or scale.
 * ISA:     ARMv8.0 Advanced SIMD.
 * Exact:   scvtf = (float)int32 (nearest even); one float32 multiply; the clamp bounds are the
 *          integers min - zp and max - zp, exact in float, and fmax/fmin give the generic
 *          compare-and-select result for every non-NaN value (the product of a finite scale and
 *          an int32 is never NaN). After the clamp the value fits int32, so vcvtnq_s32_f32 is
 *          exactly round-half-even and no x86 overflow rule is involved; + zp stays in
 *          [min, max]. */
#include <arm_neon.h>

#include "arch/arm/neon/neon-util.h"
#include "arch/arm/neon/ukernels.h"

static inline int32x4_t requant4(int32x4_t acc, float32x4_t scale, float32x4_t lo, float32x4_t hi,
                                 int32x4_t zp) {
  float32x4_t v = vmulq_f32(vcvtq_f32_s32(acc), scale);
  v = vminq_f32(vmaxq_f32(v, lo), hi);
  return vaddq_s32(vcvtnq_s32_f32(v), zp);
}

void qk_requant_fp32_sat__neon(size_t mr, size_t nc, const int32_t* acc, size_t acc_stride,
                               uint8_t* out, size_t out_stride, const qk_requant_params* params,
                               size_t channel_offset) {
  const float* scale = params->scale + channel_offset;
  const float32x4_t lo = vdupq_n_f32((float)(params->min - params->zero_point));
  const float32x4_t hi = vdupq_n_f32((float)(params->max - params->zero_point));
  const int32x4_t zp = vdupq_n_s32(params->zero_point);
  for (size_t n = 0; n < nc; n += 8) {
    const size_t len = nc - n < 8 ? nc - n : 8;
    float32x4_t scale0, scale1;
    qk_neon_load_f32x8(scale + n, len, &scale0, &scale1);
    for (size_t m = 0; m < mr; m++) {
      int32x4_t acc0, acc1;
      qk_neon_load_s32x8(acc + m * acc_stride + n, len, &acc0, &acc1);
      const int32x4_t y0 = requant4(acc0, scale0, lo, hi, zp);
      const int32x4_t y1 = requant4(acc1, scale1, lo, hi, zp);
      qk_neon_store_narrow8(out + m * out_stride + n, y0, y1, len);
    }
  }
}
