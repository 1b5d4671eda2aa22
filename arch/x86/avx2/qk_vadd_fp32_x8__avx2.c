/* qk_vadd_fp32_x8__avx2 — ATen qadd_kernel's scalar tail (arch/ukernel.h ADD_FP32), u8 or s8,
 * any n >= 1, 8 elements per step. No FMA (compiled without -mfma, -ffp-contract=off):
 *   da = a_scale * (float)(a - a_zero_point); db likewise
 *   r  = cvtps2dq((da + db) * inv_output_scale); y = clamp(r + zp, min, max) */
#include "arch/x86/avx2/eltwise.h"

static inline __m256i add_plain8(__m256i a, __m256i b, const qk_eltwise_params* p) {
  const __m256 da =
      _mm256_mul_ps(_mm256_set1_ps(p->a_scale),
                    _mm256_cvtepi32_ps(_mm256_sub_epi32(a, _mm256_set1_epi32(p->a_zero_point))));
  const __m256 db =
      _mm256_mul_ps(_mm256_set1_ps(p->b_scale),
                    _mm256_cvtepi32_ps(_mm256_sub_epi32(b, _mm256_set1_epi32(p->b_zero_point))));
  return _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_add_ps(da, db), _mm256_set1_ps(p->scale)));
}

void qk_vadd_fp32_x8__avx2(size_t n, const void* a, const void* b, void* y,
                           const qk_eltwise_params* params) {
  qk_avx2_eltwise_walk(n, a, b, y, params, add_plain8);
}
