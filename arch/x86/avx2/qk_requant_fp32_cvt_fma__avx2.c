/* qk_requant_fp32_cvt_fma__avx2 — the FP32_CVT_FMA epilogue (fbgemm per-tensor float bias on
 * its GEMM paths, as GCC compiles FBGEMM), 8 columns per ymm.
 *
 * Same operations as qk_requant_fp32_cvt_fma__generic:
 *   v = vfmadd231ps(bias[n], bias_scale[n], (float)acc) * scale[n]     one rounding, then vmulps
 *   r = vcvtps2dq(v)                            |v| >= 2^31 or NaN: INT32_MIN
 *   y = clamp(r + zero_point, min, max)
 * The FMA is written explicitly (this file alone is compiled with -mfma; the library is built with
 * -ffp-contract=off). Any mr x nc tile. Needs AVX2 + FMA (the avx2 table requires both). */
#include "arch/x86/avx2/avx2.h"
#include "arch/x86/avx2/requant.h"

static inline __m256i lanes(__m256i acc, const qk_avx2_columns* c, const qk_avx2_tile_constants* k) {
  const __m256 v = _mm256_mul_ps(_mm256_fmadd_ps(c->bias, c->bias_scale, _mm256_cvtepi32_ps(acc)),
                                 c->scale);
  return qk_avx2_clamp_add_zp(_mm256_cvtps_epi32(v), k->lo_minus_zp, k->hi_minus_zp, k->zp);
}

void qk_requant_fp32_cvt_fma__avx2(size_t mr, size_t nc, const int32_t* acc, size_t acc_stride, uint8_t* out,
            size_t out_stride, const qk_requant_params* params, size_t channel_offset) {
  qk_avx2_requant_tile(mr, nc, acc, acc_stride, out, out_stride, params, channel_offset,
                       QK_AVX2_SCALE | QK_AVX2_BIAS | QK_AVX2_BIAS_SCALE, lanes);
}
