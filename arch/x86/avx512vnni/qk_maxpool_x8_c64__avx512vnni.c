/* Max pooling, AVX-512 (F + BW): the maxpool family of arch/ukernel.h, bit-identical to
 * qk_maxpool_x8_c1__generic.
 *   out[c] = (max over rows x cols taps of (in[c] ^ xor_mask)) ^ xor_mask
 * 64 channels per zmm (vpmaxub on the XORed bytes: s8 order through the 0x80 flip); the last
 * 1..63 channels with masked loads and a masked store, so nothing past `channels` bytes of a tap
 * is read (masked-off bytes are not accessed) and no scalar tail is needed. No alignment.
 * Built with the avx512vnni folder's flags; needs only AVX512F + AVX512BW. */
#include <immintrin.h>

#include "arch/ukernel.h"

QK_DECLARE_MAXPOOL(qk_maxpool_x8_c64__avx512vnni) {
  const __m512i flip = _mm512_set1_epi8((char)xor_mask);
  for (size_t c = 0; c < channels; c += 64) {
    const size_t n = channels - c < 64 ? channels - c : 64;
    const __mmask64 k = n == 64 ? ~(__mmask64)0 : (((__mmask64)1 << n) - 1);
    __m512i m = _mm512_setzero_si512();
    for (size_t r = 0; r < rows; r++) {
      const uint8_t* row = row_ptrs[r] + c;
      for (size_t j = 0; j < cols; j++) {
        const __m512i v = _mm512_maskz_loadu_epi8(k, row + col_offsets[j]);
        m = _mm512_max_epu8(m, _mm512_xor_si512(v, flip));
      }
    }
    _mm512_mask_storeu_epi8(out + c, k, _mm512_xor_si512(m, flip));
  }
}
