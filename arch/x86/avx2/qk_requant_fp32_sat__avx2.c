/* qk_requant_fp32_sat__avx2 — the FP32_SAT epilogue (XNNPACK, ONNX Runtime), 8 columns per ymm.
 *
 * Same operations as qk_requant_fp32_sat__generic:
 *   v = (float)acc * scale[n]                             vcvtdq2ps, vmulps
 *   v = clamp(v, min - zero_point, max - zero_point)      vminps / vmaxps (NaN as in the C)
 *   y = rne(v) + zero_point                               vcvtps2dq, vpaddd
 * Any mr x nc tile. Needs AVX2. */
#include "arch/x86/avx2/avx2.h"
#include "arch/x86/avx2/requant.h"

static inline __m256i lanes(__m256i acc, const qk_avx2_columns* c, const qk_avx2_tile_constants* k) {
  const __m256 v = qk_avx2_clamp_ps(_mm256_mul_ps(_mm256_cvtepi32_ps(acc), c->scale),
                                    k->lo_minus_zp_f, k->hi_minus_zp_f);
  return _mm256_add_epi32(_mm256_cvtps_epi32(v), k->zp);
}

void qk_requant_fp32_sat__avx2(size_t mr, size_t nc, const int32_t* acc, size_t acc_stride, uint8_t* out,
            size_t out_stride, const qk_requant_params* params, size_t channel_offset) {
  qk_avx2_requant_tile(mr, nc, acc, acc_stride, out, out_stride, params, channel_offset,
                       QK_AVX2_SCALE, lanes);
}
