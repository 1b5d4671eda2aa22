/* qk_vadd_fp32_fma_x16__avx512vnni — ATen qadd_kernel's SIMD body (arch/ukernel.h ADD_FP32_FMA),
 * u8 or s8, any n >= 1, 16 elements per step (masked tail). The dequantization is the explicit
 * vfmadd231ps (AVX512F) of ATen's AVX2 Vectorized::dequantize, one rounding per lane:
 *   da = fma(a_scale, (float)a, a_premul); db likewise
 *   r  = cvtps2dq((da + db) * inv_output_scale); y = clamp(r + zp, min, max) */
#include "arch/x86/avx512vnni/eltwise.h"

static inline __m512i add_fma16(__m512i a, __m512i b, const qk_eltwise_params* p) {
  const __m512 da = _mm512_fmadd_ps(_mm512_set1_ps(p->a_scale), _mm512_cvtepi32_ps(a),
                                    _mm512_set1_ps(p->a_premul));
  const __m512 db = _mm512_fmadd_ps(_mm512_set1_ps(p->b_scale), _mm512_cvtepi32_ps(b),
                                    _mm512_set1_ps(p->b_premul));
  return _mm512_cvtps_epi32(_mm512_mul_ps(_mm512_add_ps(da, db), _mm512_set1_ps(p->scale)));
}

void qk_vadd_fp32_fma_x16__avx512vnni(size_t n, const void* a, const void* b, void* y,
                                      const qk_eltwise_params* params) {
  qk_avx512_eltwise_walk(n, a, b, y, params, add_fma16);
}
