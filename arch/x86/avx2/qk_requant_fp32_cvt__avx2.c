/* qk_requant_fp32_cvt__avx2 — the FP32_CVT epilogue (fbgemm; QNNPACK u8), 8 columns per ymm.
 *
 * Same operations as qk_requant_fp32_cvt__generic, in the same order, one float32 rounding each:
 *   v = ((float)acc + bias[n]) * scale[n]       vcvtdq2ps, vaddps, vmulps (no FMA)
 *   r = vcvtps2dq(v)                            round half to even; |v| >= 2^31 or NaN: INT32_MIN,
 *                                               the integer indefinite qk_cvt_f32_i32_x86 models
 *   y = clamp(r + zero_point, min, max)         clamped before the add, so nothing overflows
 * mr x nc tile, any nc (masked loads for the last < 8 columns); acc row stride acc_stride int32,
 * out row stride out_stride bytes. Needs AVX2. */
#include "arch/x86/avx2/avx2.h"
#include "arch/x86/avx2/requant.h"

void qk_requant_fp32_cvt__avx2(size_t mr, size_t nc, const int32_t* acc, size_t acc_stride,
                               uint8_t* out, size_t out_stride, const qk_requant_params* params,
                               size_t channel_offset) {
  const float* scale = params->scale + channel_offset;
  const float* bias = params->bias + channel_offset;
  const __m256i vlo = _mm256_set1_epi32(params->min - params->zero_point);
  const __m256i vhi = _mm256_set1_epi32(params->max - params->zero_point);
  const __m256i vzp = _mm256_set1_epi32(params->zero_point);
  for (size_t n = 0; n < nc; n += 8) {
    const size_t cols = nc - n < 8 ? nc - n : 8;
    const __m256i mask = qk_avx2_lane_mask(cols);
    const __m256 vscale = qk_avx2_load_f32(scale + n, cols, mask);
    const __m256 vbias = qk_avx2_load_f32(bias + n, cols, mask);
    for (size_t m = 0; m < mr; m++) {
      const __m256i vacc = qk_avx2_load_i32(acc + m * acc_stride + n, cols, mask);
      const __m256 v = _mm256_mul_ps(_mm256_add_ps(_mm256_cvtepi32_ps(vacc), vbias), vscale);
      const __m256i y = qk_avx2_clamp_add_zp(_mm256_cvtps_epi32(v), vlo, vhi, vzp);
      qk_avx2_store_u8(out + m * out_stride + n, y, cols);
    }
  }
}
