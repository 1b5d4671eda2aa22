/* qk_dwconv_u8s8_c16__avx2 — depthwise convolution accumulators, 16 channels per step (AVX2).
 *
 *   acc[p][c] = colterm[c] + Σ_{t < taps} (input[p * taps + t][c] ^ xor_mask) * w[t][c]
 * for p < pixels, c < channels, int32 wrapping modulo 2^32 (contract: arch/ukernel.h).
 * Weights: qk_pack_dwconv__generic with CB = 16: per block int32 colterm[16]; int8 w[taps][16].
 * input: pixels * taps pointers; exactly `channels` bytes are read through each (a partial last
 * block goes through a zero-padded copy). acc row stride acc_stride int32; only the first
 * `channels` of a row are written. Any taps, any channels. Needs AVX2.
 *
 * Exactness: x in [0, 255] and w in [-128, 127] widened to int16 multiply with vpmullw, whose
 * low 16 bits are the whole product (|x * w| <= 255 * 128 = 32640 < 2^15); the products are
 * sign-extended to int32 and added with vpaddd, modulo 2^32 like the C kernel. */
#include <immintrin.h>
#include <string.h>

#include "arch/x86/avx2/avx2.h"

enum { CB = 16 };

/* 16 channels of one tap (n <= 16 valid bytes at p), XORed, as 16 zero-extended int16. */
static inline __m256i load_taps(const uint8_t* p, size_t n, __m128i vxor) {
  __m128i x;
  if (n == CB) {
    x = _mm_loadu_si128((const __m128i*)p);
  } else {
    uint8_t tmp[CB] = {0};
    memcpy(tmp, p, n);
    x = _mm_loadu_si128((const __m128i*)tmp);
  }
  return _mm256_cvtepu8_epi16(_mm_xor_si128(x, vxor));
}

/* Stores the first n <= 16 int32 of (v0: 0-7, v1: 8-15). */
static inline void store_acc(int32_t* out, size_t n, __m256i v0, __m256i v1) {
  if (n == CB) {
    _mm256_storeu_si256((__m256i*)out, v0);
    _mm256_storeu_si256((__m256i*)(out + 8), v1);
    return;
  }
  int32_t tmp[CB];
  _mm256_storeu_si256((__m256i*)tmp, v0);
  _mm256_storeu_si256((__m256i*)(tmp + 8), v1);
  memcpy(out, tmp, n * sizeof(int32_t));
}

void qk_dwconv_u8s8_c16__avx2(size_t channels, size_t pixels, size_t taps,
                              const uint8_t* const* input, uint8_t xor_mask, const void* w,
                              int32_t* acc, size_t acc_stride) {
  const size_t block_bytes = CB * sizeof(int32_t) + taps * CB;
  const __m128i vxor = _mm_set1_epi8((char)xor_mask);
  for (size_t p = 0; p < pixels; p++) {
    const uint8_t* const* rows = input + p * taps;
    const uint8_t* block = (const uint8_t*)w;
    for (size_t c0 = 0; c0 < channels; c0 += CB, block += block_bytes) {
      const size_t n = channels - c0 < CB ? channels - c0 : CB;
      __m256i vacc0 = _mm256_loadu_si256((const __m256i*)block);
      __m256i vacc1 = _mm256_loadu_si256((const __m256i*)block + 1);
      const int8_t* wt = (const int8_t*)(block + CB * sizeof(int32_t));
      for (size_t t = 0; t < taps; t++, wt += CB) {
        const __m256i vx = load_taps(rows[t] + c0, n, vxor);
        const __m256i vw = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i*)wt));
        const __m256i vprod = _mm256_mullo_epi16(vx, vw); /* exact: see the header */
        vacc0 = _mm256_add_epi32(vacc0, _mm256_cvtepi16_epi32(_mm256_castsi256_si128(vprod)));
        vacc1 = _mm256_add_epi32(vacc1, _mm256_cvtepi16_epi32(_mm256_extracti128_si256(vprod, 1)));
      }
      store_acc(acc + p * acc_stride + c0, n, vacc0, vacc1);
    }
  }
}
