/* Average pooling, AVX2: the avgpool family of arch/ukernel.h, bit-identical to
 * qk_avgpool_x8_c1__generic.
 *   acc[c] = init + Σ_taps (in[c] ^ xor_mask)   (int32: 4 ymm of 8 lanes per 32 channels, bytes
 *                                               widened with vpmovzxbd)
 *   y = clamp(cvtps2dq((float)acc * scale) + zp)            (zero_point_in_float == 0)
 *   y = cvtps2dq(clamp((float)acc * scale + (float)zp))     (zero_point_in_float != 0)
 * vcvtps2dq rounds half to even like lrintf, and gives INT32_MIN where qk_cvt_f32_i32_x86 does.
 * Blocks of 32, then 8 channels (8-byte loads), then one at a time: never reads past `channels`
 * bytes of a tap. No FMA (vmulps, vaddps). No alignment. Needs AVX2. */
#include <immintrin.h>

#include "arch/ukernel.h"

/* Requantizes 8 accumulators to 8 int32 results in [min, max]. */
static inline __m256i requant8(__m256i acc, const qk_avgpool_params* p) {
  __m256 v = _mm256_mul_ps(_mm256_cvtepi32_ps(acc), _mm256_set1_ps(p->scale));
  if (p->zero_point_in_float) {
    v = _mm256_add_ps(v, _mm256_set1_ps((float)p->zero_point));
    v = _mm256_min_ps(_mm256_max_ps(v, _mm256_set1_ps((float)p->min)),
                      _mm256_set1_ps((float)p->max));
    return _mm256_cvtps_epi32(v);
  }
  __m256i r = _mm256_add_epi32(_mm256_cvtps_epi32(v), _mm256_set1_epi32(p->zero_point));
  r = _mm256_max_epi32(r, _mm256_set1_epi32(p->min));
  return _mm256_min_epi32(r, _mm256_set1_epi32(p->max));
}

/* Low byte of each int32 lane (values are in [-128, 255]) to 8 bytes. */
static inline void store8(uint8_t* out, __m256i r) {
  const __m256i bytes = _mm256_shuffle_epi8(
      r, _mm256_setr_epi8(0, 4, 8, 12, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, 0, 4, 8, 12,
                          -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1));
  const __m128i lo = _mm256_castsi256_si128(bytes), hi = _mm256_extracti128_si256(bytes, 1);
  _mm_storel_epi64((__m128i*)(void*)out, _mm_unpacklo_epi32(lo, hi));
}

static inline __m256i load8(const uint8_t* p, __m128i flip) {
  return _mm256_cvtepu8_epi32(_mm_xor_si128(_mm_loadl_epi64((const __m128i*)(const void*)p), flip));
}

QK_DECLARE_AVGPOOL(qk_avgpool_x8_c32__avx2) {
  const __m128i flip = _mm_set1_epi8((char)params->xor_mask);
  const __m256i init = _mm256_set1_epi32(params->init);
  size_t c = 0;
  for (; c + 32 <= channels; c += 32) {
    __m256i a0 = init, a1 = init, a2 = init, a3 = init;
    for (size_t r = 0; r < rows; r++) {
      const uint8_t* row = row_ptrs[r] + c;
      for (size_t j = 0; j < cols; j++) {
        const uint8_t* in = row + col_offsets[j];
        a0 = _mm256_add_epi32(a0, load8(in, flip));
        a1 = _mm256_add_epi32(a1, load8(in + 8, flip));
        a2 = _mm256_add_epi32(a2, load8(in + 16, flip));
        a3 = _mm256_add_epi32(a3, load8(in + 24, flip));
      }
    }
    store8(out + c, requant8(a0, params));
    store8(out + c + 8, requant8(a1, params));
    store8(out + c + 16, requant8(a2, params));
    store8(out + c + 24, requant8(a3, params));
  }
  for (; c + 8 <= channels; c += 8) {
    __m256i a = init;
    for (size_t r = 0; r < rows; r++) {
      for (size_t j = 0; j < cols; j++)
        a = _mm256_add_epi32(a, load8(row_ptrs[r] + col_offsets[j] + c, flip));
    }
    store8(out + c, requant8(a, params));
  }
  if (c < channels) {
    /* The last 1..7 channels: sums in a lane buffer, requantized together. */
    int32_t acc[8] = {0};
    const size_t n = channels - c;
    for (size_t k = 0; k < n; k++) {
      uint32_t s = (uint32_t)params->init;
      for (size_t r = 0; r < rows; r++) {
        for (size_t j = 0; j < cols; j++)
          s += (uint8_t)(row_ptrs[r][col_offsets[j] + c + k] ^ params->xor_mask);
      }
      acc[k] = (int32_t)s;
    }
    uint8_t tmp[8];
    store8(tmp, requant8(_mm256_loadu_si256((const __m256i*)(const void*)acc), params));
    for (size_t k = 0; k < n; k++) out[c + k] = tmp[k];
  }
}
