/* qk_vadd_xnnpack_s8_x16__avx512vnni — XNNPACK qs8 vadd (arch/ukernel.h ADD_XNNPACK), s8, any
 * n >= 1, 16 elements per step: acc = bias + am * a + bm * b (rounding constant in bias);
 * y = clamp((acc >> shift) + zp, min, max), an arithmetic shift (ties half up). */
#include "arch/x86/avx512vnni/eltwise.h"

static inline __m512i add_xnnpack16(__m512i a, __m512i b, const qk_eltwise_params* p) {
  const __m512i acc =
      _mm512_add_epi32(_mm512_set1_epi32(p->bias),
                       _mm512_add_epi32(_mm512_mullo_epi32(a, _mm512_set1_epi32(p->a_multiplier)),
                                        _mm512_mullo_epi32(b, _mm512_set1_epi32(p->b_multiplier))));
  return _mm512_sra_epi32(acc, _mm_cvtsi32_si128((int)p->shift));
}

void qk_vadd_xnnpack_s8_x16__avx512vnni(size_t n, const void* a, const void* b, void* y,
                                        const qk_eltwise_params* params) {
  qk_avx512_eltwise_walk(n, a, b, y, params, add_xnnpack16);
}
