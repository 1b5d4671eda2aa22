/* Average pooling, AVX-512 (F + BW + VL): the avgpool family of arch/ukernel.h, bit-identical to
 * qk_avgpool_x8_c1__generic.
 *   acc[c] = init + Σ_taps (in[c] ^ xor_mask)   (int32: 4 zmm of 16 lanes per 64 channels, bytes
 *                                               widened with vpmovzxbd)
 *   y = clamp(cvtps2dq((float)acc * scale) + zp)            (zero_point_in_float == 0)
 *   y = cvtps2dq(clamp((float)acc * scale + (float)zp))     (zero_point_in_float != 0)
 * vcvtps2dq rounds half to even and gives INT32_MIN (the integer indefinite) for |v| >= 2^31, as
 * qk_cvt_f32_i32_x86; vpaddd wraps like qk_wrap_add_i32; vpmovdb keeps the low byte. The last
 * 1..63 channels use masked 16-byte loads and masked stores: nothing past `channels` bytes of a
 * tap is read. No FMA. No alignment. Built with the avx512vnni folder's flags. */
#include <immintrin.h>

#include "arch/ukernel.h"

static inline __m512i requant16(__m512i acc, const qk_avgpool_params* p) {
  __m512 v = _mm512_mul_ps(_mm512_cvtepi32_ps(acc), _mm512_set1_ps(p->scale));
  if (p->zero_point_in_float) {
    v = _mm512_add_ps(v, _mm512_set1_ps((float)p->zero_point));
    v = _mm512_min_ps(_mm512_max_ps(v, _mm512_set1_ps((float)p->min)),
                      _mm512_set1_ps((float)p->max));
    return _mm512_cvtps_epi32(v);
  }
  __m512i r = _mm512_add_epi32(_mm512_cvtps_epi32(v), _mm512_set1_epi32(p->zero_point));
  r = _mm512_max_epi32(r, _mm512_set1_epi32(p->min));
  return _mm512_min_epi32(r, _mm512_set1_epi32(p->max));
}

static inline __mmask16 mask16(size_t n) {
  return (__mmask16)(n >= 16 ? 0xFFFFu : (1u << n) - 1u);
}

QK_DECLARE_AVGPOOL(qk_avgpool_x8_c64__avx512vnni) {
  const __m128i flip = _mm_set1_epi8((char)params->xor_mask);
  const __m512i init = _mm512_set1_epi32(params->init);
  for (size_t c = 0; c < channels; c += 64) {
    const size_t n = channels - c < 64 ? channels - c : 64;
    const __mmask16 k0 = mask16(n), k1 = mask16(n > 16 ? n - 16 : 0),
                    k2 = mask16(n > 32 ? n - 32 : 0), k3 = mask16(n > 48 ? n - 48 : 0);
    __m512i a0 = init, a1 = init, a2 = init, a3 = init;
    for (size_t r = 0; r < rows; r++) {
      const uint8_t* row = row_ptrs[r] + c;
      for (size_t j = 0; j < cols; j++) {
        const uint8_t* in = row + col_offsets[j];
        a0 = _mm512_add_epi32(
            a0, _mm512_cvtepu8_epi32(_mm_xor_si128(_mm_maskz_loadu_epi8(k0, in), flip)));
        if (n > 16) {
          a1 = _mm512_add_epi32(
              a1, _mm512_cvtepu8_epi32(_mm_xor_si128(_mm_maskz_loadu_epi8(k1, in + 16), flip)));
        }
        if (n > 32) {
          a2 = _mm512_add_epi32(
              a2, _mm512_cvtepu8_epi32(_mm_xor_si128(_mm_maskz_loadu_epi8(k2, in + 32), flip)));
        }
        if (n > 48) {
          a3 = _mm512_add_epi32(
              a3, _mm512_cvtepu8_epi32(_mm_xor_si128(_mm_maskz_loadu_epi8(k3, in + 48), flip)));
        }
      }
    }
    _mm_mask_storeu_epi8(out + c, k0, _mm512_cvtepi32_epi8(requant16(a0, params)));
    if (n > 16) _mm_mask_storeu_epi8(out + c + 16, k1, _mm512_cvtepi32_epi8(requant16(a1, params)));
    if (n > 32) _mm_mask_storeu_epi8(out + c + 32, k2, _mm512_cvtepi32_epi8(requant16(a2, params)));
    if (n > 48) _mm_mask_storeu_epi8(out + c + 48, k3, _mm512_cvtepi32_epi8(requant16(a3, params)));
  }
}
