/* qk_vadd_qnnpack_u8__avx2 — QNNPACK q8vadd (arch/ukernel.h ADD_QNNPACK), u8, any n >= 1,
 * 8 elements per step, int32 lanes as the generic kernel:
 *   acc = bias + am * a + bm * b
 *   q   = (acc >> shift) + ((acc & mask) - (acc < 0) > mask >> 1)     half away from zero
 *   y   = clamp(q + zp, min, max) */
#include "arch/x86/avx2/eltwise.h"

static inline __m256i add_qnnpack8(__m256i a, __m256i b, const qk_eltwise_params* p) {
  const __m256i acc =
      _mm256_add_epi32(_mm256_set1_epi32(p->bias),
                       _mm256_add_epi32(_mm256_mullo_epi32(a, _mm256_set1_epi32(p->a_multiplier)),
                                        _mm256_mullo_epi32(b, _mm256_set1_epi32(p->b_multiplier))));
  const int32_t mask = (int32_t)((UINT32_C(1) << p->shift) - 1);
  const __m256i neg = _mm256_cmpgt_epi32(_mm256_setzero_si256(), acc); /* -1 where acc < 0 */
  const __m256i rem = _mm256_add_epi32(_mm256_and_si256(acc, _mm256_set1_epi32(mask)), neg);
  const __m256i up = _mm256_cmpgt_epi32(rem, _mm256_set1_epi32(mask >> 1)); /* -1: round up */
  const __m256i q = _mm256_sra_epi32(acc, _mm_cvtsi32_si128((int)p->shift));
  return _mm256_sub_epi32(q, up);
}

void qk_vadd_qnnpack_u8__avx2(size_t n, const void* a, const void* b, void* y,
                              const qk_eltwise_params* params) {
  qk_avx2_eltwise_walk(n, a, b, y, params, add_qnnpack8);
}
