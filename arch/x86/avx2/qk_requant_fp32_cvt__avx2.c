/* qk_requant_fp32_cvt__avx2 — the FP32_CVT epilogue (fbgemm; QNNPACK u8), 8 columns per ymm.
 *
 * Same operations as qk_requant_fp32_cvt__generic, in the same order, one float32 rounding each:
 *   v = ((float)acc + bias[n]) * scale[n]       vcvtdq2ps, vaddps, vmulps (no FMA)
 *   r = vcvtps2dq(v)                            round half to even; |v| >= 2^31 or NaN: INT32_MIN,
 *                                               the integer indefinite qk_cvt_f32_i32_x86 models
 *   y = clamp(r + zero_point, min, max)         clamped before the add, so nothing overflows
 * Any mr x nc tile (qk_avx2_requant_tile: 8 columns at a time, masked tails). Needs AVX2. */
#include "arch/x86/avx2/avx2.h"
#include "arch/x86/avx2/requant.h"

static inline __m256i lanes(__m256i acc, const qk_avx2_columns* c, const qk_avx2_tile_constants* k) {
  const __m256 v = _mm256_mul_ps(_mm256_add_ps(_mm256_cvtepi32_ps(acc), c->bias), c->scale);
  return qk_avx2_clamp_add_zp(_mm256_cvtps_epi32(v), k->lo_minus_zp, k->hi_minus_zp, k->zp);
}

void qk_requant_fp32_cvt__avx2(size_t mr, size_t nc, const int32_t* acc, size_t acc_stride, uint8_t* out,
            size_t out_stride, const qk_requant_params* params, size_t channel_offset) {
  qk_avx2_requant_tile(mr, nc, acc, acc_stride, out, out_stride, params, channel_offset,
                       QK_AVX2_SCALE | QK_AVX2_BIAS, lanes);
}
