/* The walk every AVX-512 elementwise kernel (add / mul, arch/ukernel.h) shares: 16 elements at a
 * time widened to int32 lanes of a zmm (u8 or s8 by params->is_signed), a per-16-lanes formula,
 * the zero point, the clamp to [min, max] and vpmovdb. The last n mod 16 elements use masked
 * byte loads and stores (AVX512BW + VL), which never touch the masked-out bytes. Internal to
 * arch/x86/avx512vnni (AVX512 F + BW + VL; the folder's flags). */
#ifndef QK_ARCH_X86_AVX512VNNI_ELTWISE_H
#define QK_ARCH_X86_AVX512VNNI_ELTWISE_H

#include <immintrin.h>

#include "arch/ukernel.h"

typedef __m512i (*qk_avx512_eltwise16_fn)(__m512i a, __m512i b, const qk_eltwise_params* p);

static inline __m512i qk_avx512_eltwise_widen(__m128i v, int32_t is_signed) {
  return is_signed ? _mm512_cvtepi8_epi32(v) : _mm512_cvtepu8_epi32(v);
}

static inline void qk_avx512_eltwise_walk(size_t n, const void* a, const void* b, void* y,
                                          const qk_eltwise_params* p, qk_avx512_eltwise16_fn f) {
  const uint8_t* a8 = (const uint8_t*)a;
  const uint8_t* b8 = (const uint8_t*)b;
  uint8_t* y8 = (uint8_t*)y;
  const __m512i zp = _mm512_set1_epi32(p->output_zero_point);
  const __m512i lo = _mm512_set1_epi32(p->min), hi = _mm512_set1_epi32(p->max);
  while (n != 0) {
    const size_t k = n < 16 ? n : 16;
    const __mmask16 m = (__mmask16)((1u << k) - 1);
    const __m512i va = qk_avx512_eltwise_widen(_mm_maskz_loadu_epi8(m, a8), p->is_signed);
    const __m512i vb = qk_avx512_eltwise_widen(_mm_maskz_loadu_epi8(m, b8), p->is_signed);
    __m512i r = _mm512_add_epi32(f(va, vb, p), zp);
    r = _mm512_min_epi32(_mm512_max_epi32(r, lo), hi); /* in range: vpmovdb is exact */
    _mm_mask_storeu_epi8(y8, m, _mm512_cvtepi32_epi8(r));
    a8 += k;
    b8 += k;
    y8 += k;
    n -= k;
  }
}

#endif /* QK_ARCH_X86_AVX512VNNI_ELTWISE_H */
