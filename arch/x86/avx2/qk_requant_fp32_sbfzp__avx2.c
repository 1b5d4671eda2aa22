/* qk_requant_fp32_sbfzp__avx2 — the FP32_SBFZP epilogue (oneDNN 3.x, PyTorch >= 2.2 onednn
 * engine), 8 columns per ymm.
 *
 * Same operations as qk_requant_fp32_sbfzp__generic, in the same order, no FMA:
 *   v = (float)acc * scale[n]; v = v + bias[n]; v = v * post_scale; v = v + (float)zero_point
 *   y = rne(clamp(v, min, max))
 * Any mr x nc tile. Needs AVX2. */
#include "arch/x86/avx2/avx2.h"
#include "arch/x86/avx2/requant.h"

static inline __m256i lanes(__m256i acc, const qk_avx2_columns* c, const qk_avx2_tile_constants* k) {
  __m256 v = _mm256_add_ps(_mm256_mul_ps(_mm256_cvtepi32_ps(acc), c->scale), c->bias);
  v = _mm256_add_ps(_mm256_mul_ps(v, k->post_scale), k->zp_f);
  return _mm256_cvtps_epi32(qk_avx2_clamp_ps(v, k->lo_f, k->hi_f));
}

void qk_requant_fp32_sbfzp__avx2(size_t mr, size_t nc, const int32_t* acc, size_t acc_stride, uint8_t* out,
            size_t out_stride, const qk_requant_params* params, size_t channel_offset) {
  qk_avx2_requant_tile(mr, nc, acc, acc_stride, out, out_stride, params, channel_offset,
                       QK_AVX2_SCALE | QK_AVX2_BIAS, lanes);
}
