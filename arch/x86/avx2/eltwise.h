/* The walk every AVX2 elementwise kernel (add / mul, arch/ukernel.h) shares: 8 elements at a time
 * widened to int32 lanes (u8 or s8 by params->is_signed), a per-8-lanes formula, the clamp to
 * [min, max] and the narrowing store. The last n mod 8 elements go through an 8-byte stack copy,
 * so nothing past a, b or y is read or written. Internal to arch/x86/avx2; needs AVX2. */
#ifndef QK_ARCH_X86_AVX2_ELTWISE_H
#define QK_ARCH_X86_AVX2_ELTWISE_H

#include <immintrin.h>
#include <string.h>

#include "arch/ukernel.h"

/* int32 lanes of a, b -> int32 result lanes before the zero point / clamp. */
typedef __m256i (*qk_avx2_eltwise8_fn)(__m256i a, __m256i b, const qk_eltwise_params* p);

static inline __m256i qk_avx2_eltwise_load8(const uint8_t* p, int32_t is_signed) {
  const __m128i v = _mm_loadl_epi64((const __m128i*)p);
  return is_signed ? _mm256_cvtepi8_epi32(v) : _mm256_cvtepu8_epi32(v);
}

/* r + zero point, clamped, narrowed and stored as 8 bytes. The operator keeps r + zp inside
 * int32 (|value| < 2^31 - 256), so the int32 add cannot wrap. */
static inline void qk_avx2_eltwise_store8(uint8_t* y, __m256i r, const qk_eltwise_params* p) {
  r = _mm256_add_epi32(r, _mm256_set1_epi32(p->output_zero_point));
  r = _mm256_max_epi32(r, _mm256_set1_epi32(p->min));
  r = _mm256_min_epi32(r, _mm256_set1_epi32(p->max));
  /* in range now: the packs below are exact */
  const __m128i w = _mm_packs_epi32(_mm256_castsi256_si128(r), _mm256_extracti128_si256(r, 1));
  const __m128i v8 = p->is_signed ? _mm_packs_epi16(w, w) : _mm_packus_epi16(w, w);
  _mm_storel_epi64((__m128i*)y, v8);
}

static inline void qk_avx2_eltwise_block8(const uint8_t* a, const uint8_t* b, uint8_t* y,
                                          const qk_eltwise_params* p, qk_avx2_eltwise8_fn f) {
  const __m256i va = qk_avx2_eltwise_load8(a, p->is_signed);
  const __m256i vb = qk_avx2_eltwise_load8(b, p->is_signed);
  qk_avx2_eltwise_store8(y, f(va, vb, p), p);
}

static inline void qk_avx2_eltwise_walk(size_t n, const void* a, const void* b, void* y,
                                        const qk_eltwise_params* p, qk_avx2_eltwise8_fn f) {
  const uint8_t* a8 = (const uint8_t*)a;
  const uint8_t* b8 = (const uint8_t*)b;
  uint8_t* y8 = (uint8_t*)y;
  for (; n >= 8; n -= 8, a8 += 8, b8 += 8, y8 += 8) qk_avx2_eltwise_block8(a8, b8, y8, p, f);
  if (n != 0) {
    uint8_t ta[8] = {0}, tb[8] = {0}, ty[8];
    memcpy(ta, a8, n);
    memcpy(tb, b8, n);
    qk_avx2_eltwise_block8(ta, tb, ty, p, f);
    memcpy(y8, ty, n);
  }
}

#endif /* QK_ARCH_X86_AVX2_ELTWISE_H */
