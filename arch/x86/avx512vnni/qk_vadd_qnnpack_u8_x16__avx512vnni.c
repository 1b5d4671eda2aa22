/* qk_vadd_qnnpack_u8_x16__avx512vnni — QNNPACK q8vadd (arch/ukernel.h ADD_QNNPACK), u8, any
 * n >= 1, 16 elements per step, int32 lanes as the generic kernel:
 *   acc = bias + am * a + bm * b
 *   q   = (acc >> shift) + ((acc & mask) - (acc < 0) > mask >> 1)     half away from zero
 *   y   = clamp(q + zp, min, max) */
#include "arch/x86/avx512vnni/eltwise.h"

static inline __m512i add_qnnpack16(__m512i a, __m512i b, const qk_eltwise_params* p) {
  const __m512i acc =
      _mm512_add_epi32(_mm512_set1_epi32(p->bias),
                       _mm512_add_epi32(_mm512_mullo_epi32(a, _mm512_set1_epi32(p->a_multiplier)),
                                        _mm512_mullo_epi32(b, _mm512_set1_epi32(p->b_multiplier))));
  const int32_t mask = (int32_t)((UINT32_C(1) << p->shift) - 1);
  const __m512i one = _mm512_set1_epi32(1);
  const __mmask16 neg = _mm512_cmplt_epi32_mask(acc, _mm512_setzero_si512());
  __m512i rem = _mm512_and_si512(acc, _mm512_set1_epi32(mask));
  rem = _mm512_mask_sub_epi32(rem, neg, rem, one);
  const __mmask16 up = _mm512_cmpgt_epi32_mask(rem, _mm512_set1_epi32(mask >> 1));
  const __m512i q = _mm512_sra_epi32(acc, _mm_cvtsi32_si128((int)p->shift));
  return _mm512_mask_add_epi32(q, up, q, one);
}

void qk_vadd_qnnpack_u8_x16__avx512vnni(size_t n, const void* a, const void* b, void* y,
                                        const qk_eltwise_params* params) {
  qk_avx512_eltwise_walk(n, a, b, y, params, add_qnnpack16);
}
