/* qk_vadd_xnnpack_s8__avx2 — XNNPACK qs8 vadd (arch/ukernel.h ADD_XNNPACK), s8, any n >= 1,
 * 8 elements per step: acc = bias + am * a + bm * b (rounding constant in bias);
 * y = clamp((acc >> shift) + zp, min, max), an arithmetic shift (ties half up). */
#include "arch/x86/avx2/eltwise.h"

static inline __m256i add_xnnpack8(__m256i a, __m256i b, const qk_eltwise_params* p) {
  const __m256i acc =
      _mm256_add_epi32(_mm256_set1_epi32(p->bias),
                       _mm256_add_epi32(_mm256_mullo_epi32(a, _mm256_set1_epi32(p->a_multiplier)),
                                        _mm256_mullo_epi32(b, _mm256_set1_epi32(p->b_multiplier))));
  return _mm256_sra_epi32(acc, _mm_cvtsi32_si128((int)p->shift));
}

void qk_vadd_xnnpack_s8__avx2(size_t n, const void* a, const void* b, void* y,
                              const qk_eltwise_params* params) {
  qk_avx2_eltwise_walk(n, a, b, y, params, add_xnnpack8);
}
