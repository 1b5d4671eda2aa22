/* qk_requant_fp32_fzp__avx2 — the FP32_FZP epilogue (oneDNN 2.x, PyTorch 1.13 onednn engine),
 * 8 columns per ymm.
 *
 * Same operations as qk_requant_fp32_fzp__generic, in the same order:
 *   v = ((float)acc + bias[n]) * scale[n]     two float32 roundings, no FMA
 *   v = v + (float)zero_point                 zero point added in float, before rounding
 *   y = rne(clamp(v, min, max))               max(lo, min(hi, v)), then vcvtps2dq
 * Any mr x nc tile. Needs AVX2. */
#include "arch/x86/avx2/avx2.h"
#include "arch/x86/avx2/requant.h"

static inline __m256i lanes(__m256i acc, const qk_avx2_columns* c, const qk_avx2_tile_constants* k) {
  __m256 v = _mm256_mul_ps(_mm256_add_ps(_mm256_cvtepi32_ps(acc), c->bias), c->scale);
  v = qk_avx2_clamp_ps(_mm256_add_ps(v, k->zp_f), k->lo_f, k->hi_f);
  return _mm256_cvtps_epi32(v);
}

void qk_requant_fp32_fzp__avx2(size_t mr, size_t nc, const int32_t* acc, size_t acc_stride, uint8_t* out,
            size_t out_stride, const qk_requant_params* params, size_t channel_offset) {
  qk_avx2_requant_tile(mr, nc, acc, acc_stride, out, out_stride, params, channel_offset,
                       QK_AVX2_SCALE | QK_AVX2_BIAS, lanes);
}
