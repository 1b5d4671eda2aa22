/* qk_vadd_fp32_x16__avx512vnni — ATen qadd_kernel's scalar tail (arch/ukernel.h ADD_FP32), u8 or
 * s8, any n >= 1, 16 elements per step, no fused operation (-ffp-contract=off):
 *   da = a_scale * (float)(a - a_zero_point); db likewise
 *   r  = cvtps2dq((da + db) * inv_output_scale); y = clamp(r + zp, min, max) */
#include "arch/x86/avx512vnni/eltwise.h"

static inline __m512i add_plain16(__m512i a, __m512i b, const qk_eltwise_params* p) {
  const __m512 da =
      _mm512_mul_ps(_mm512_set1_ps(p->a_scale),
                    _mm512_cvtepi32_ps(_mm512_sub_epi32(a, _mm512_set1_epi32(p->a_zero_point))));
  const __m512 db =
      _mm512_mul_ps(_mm512_set1_ps(p->b_scale),
                    _mm512_cvtepi32_ps(_mm512_sub_epi32(b, _mm512_set1_epi32(p->b_zero_point))));
  return _mm512_cvtps_epi32(_mm512_mul_ps(_mm512_add_ps(da, db), _mm512_set1_ps(p->scale)));
}

void qk_vadd_fp32_x16__avx512vnni(size_t n, const void* a, const void* b, void* y,
                                  const qk_eltwise_params* params) {
  qk_avx512_eltwise_walk(n, a, b, y, params, add_plain16);
}
