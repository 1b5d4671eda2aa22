/* Max pooling, AVX2: the maxpool family of arch/ukernel.h, bit-identical to
 * qk_maxpool_x8_c1__generic.
 *   out[c] = (max over rows x cols taps of (in[c] ^ xor_mask)) ^ xor_mask
 * 32 channels per ymm (vpmaxub on the XORed bytes: s8 order through the 0x80 flip), then 16 per
 * xmm, then one at a time: never reads past `channels` bytes of a tap. No alignment. Needs AVX2. */
#include <immintrin.h>

#include "arch/ukernel.h"

QK_DECLARE_MAXPOOL(qk_maxpool_x8_c32__avx2) {
  const __m256i flip = _mm256_set1_epi8((char)xor_mask);
  size_t c = 0;
  for (; c + 32 <= channels; c += 32) {
    __m256i m = _mm256_setzero_si256();
    for (size_t r = 0; r < rows; r++) {
      const uint8_t* row = row_ptrs[r] + c;
      for (size_t j = 0; j < cols; j++) {
        const __m256i v = _mm256_loadu_si256((const __m256i*)(const void*)(row + col_offsets[j]));
        m = _mm256_max_epu8(m, _mm256_xor_si256(v, flip));
      }
    }
    _mm256_storeu_si256((__m256i*)(void*)(out + c), _mm256_xor_si256(m, flip));
  }
  if (c + 16 <= channels) {
    const __m128i f = _mm256_castsi256_si128(flip);
    __m128i m = _mm_setzero_si128();
    for (size_t r = 0; r < rows; r++) {
      const uint8_t* row = row_ptrs[r] + c;
      for (size_t j = 0; j < cols; j++) {
        const __m128i v = _mm_loadu_si128((const __m128i*)(const void*)(row + col_offsets[j]));
        m = _mm_max_epu8(m, _mm_xor_si128(v, f));
      }
    }
    _mm_storeu_si128((__m128i*)(void*)(out + c), _mm_xor_si128(m, f));
    c += 16;
  }
  for (; c < channels; c++) {
    uint8_t m = 0;
    for (size_t r = 0; r < rows; r++) {
      for (size_t j = 0; j < cols; j++) {
        const uint8_t v = (uint8_t)(row_ptrs[r][col_offsets[j] + c] ^ xor_mask);
        m = v > m ? v : m;
      }
    }
    out[c] = (uint8_t)(m ^ xor_mask);
  }
}
