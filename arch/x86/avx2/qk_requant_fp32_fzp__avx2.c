/* qk_requant_fp32_fzp__avx2 — the FP32_FZP epilogue (oneDNN 2.x, PyTorch onednn engine),
 * 8 columns per ymm.
 *
 * Same operations as qk_requant_fp32_fzp__generic, in the same order:
 *   v = ((float)acc + bias[n]) * scale[n]     two float32 roundings, no FMA
 *   v = v + (float)zero_point                 zero point added in float, before rounding
 *   y = rne(clamp(v, min, max))               max(lo, min(hi, v)), then vcvtps2dq
 * mr x nc tile, any nc (masked loads for the last < 8 columns); acc row stride acc_stride int32,
 * out row stride out_stride bytes. Needs AVX2. */
#include "arch/x86/avx2/avx2.h"
#include "arch/x86/avx2/requant.h"

void qk_requant_fp32_fzp__avx2(size_t mr, size_t nc, const int32_t* acc, size_t acc_stride,
                               uint8_t* out, size_t out_stride, const qk_requant_params* params,
                               size_t channel_offset) {
  const float* scale = params->scale + channel_offset;
  const float* bias = params->bias + channel_offset;
  const __m256 vzp = _mm256_set1_ps((float)params->zero_point);
  const __m256 vlo = _mm256_set1_ps((float)params->min);
  const __m256 vhi = _mm256_set1_ps((float)params->max);
  for (size_t n = 0; n < nc; n += 8) {
    const size_t cols = nc - n < 8 ? nc - n : 8;
    const __m256i mask = qk_avx2_lane_mask(cols);
    const __m256 vscale = qk_avx2_load_f32(scale + n, cols, mask);
    const __m256 vbias = qk_avx2_load_f32(bias + n, cols, mask);
    for (size_t m = 0; m < mr; m++) {
      const __m256i vacc = qk_avx2_load_i32(acc + m * acc_stride + n, cols, mask);
      __m256 v = _mm256_mul_ps(_mm256_add_ps(_mm256_cvtepi32_ps(vacc), vbias), vscale);
      v = qk_avx2_clamp_ps(_mm256_add_ps(v, vzp), vlo, vhi);
      qk_avx2_store_u8(out + m * out_stride + n, _mm256_cvtps_epi32(v), cols);
    }
  }
}
