/* qk_requant_gemmlowp__avx2 — TFLite's integer requantization, 8 columns per ymm.
 *
 *   y = clamp(MultiplyByQuantizedMultiplier(acc, multiplier[n], shift[n]) + zero_point, min, max)
 * bit-identical to arch/common.h (qk_gemmlowp_mbqm), lane by lane:
 *   x  = acc << max(shift, 0)                 vpsllvd, wraps modulo 2^32 like the C
 *   SaturatingRoundingDoublingHighMul(x, m) = (x*m + nudge) / 2^31, C truncation, nudge = 2^30 for
 *     x*m >= 0 and 1 - 2^30 otherwise. For x*m < 0 truncation is ceil, and
 *     ceil((p + 1 - 2^30) / 2^31) = floor((p - 2^30 + 2^31) / 2^31) = floor((p + 2^30) / 2^31),
 *     so both signs are floor((p + 2^30) / 2^31): the 64-bit product p (vpmuldq on even / odd
 *     lanes) plus 2^30, bits 31..62 of it (no 64-bit arithmetic shift needed: 32 bits are kept).
 *     The only product whose result does not fit is INT32_MIN * INT32_MIN = 2^62 -> 2^31, which
 *     wraps to INT32_MIN (no other product reaches INT32_MIN): that lane becomes INT32_MAX.
 *   RoundingDivideByPOT(v, e), e = max(-shift, 0): (v >> e) + (remainder > threshold), with
 *     mask = 2^e - 1, remainder = v & mask, threshold = (mask >> 1) + (v < 0)  (vpsravd, compares)
 * then y = clamp(r + zero_point, min, max) with the + wrapping (vpaddd), as TFLite's int32 add.
 * mr x nc tile, any nc (masked loads for the last < 8 columns). Needs AVX2. */
#include "arch/x86/avx2/avx2.h"
#include "arch/x86/avx2/requant.h"

/* floor((x * m + 2^30) / 2^31) per lane, INT32_MIN * INT32_MIN saturated to INT32_MAX. */
static inline __m256i srdhm(__m256i x, __m256i m) {
  const __m256i half = _mm256_set1_epi64x(INT64_C(1) << 30);
  const __m256i even = _mm256_add_epi64(_mm256_mul_epi32(x, m), half);
  const __m256i odd =
      _mm256_add_epi64(_mm256_mul_epi32(_mm256_srli_epi64(x, 32), _mm256_srli_epi64(m, 32)), half);
  /* bits 31..62: even products shifted down into the low dword, odd ones up into the high one */
  const __m256i r =
      _mm256_blend_epi32(_mm256_srli_epi64(even, 31), _mm256_slli_epi64(odd, 1), 0xAA);
  const __m256i overflow = _mm256_cmpeq_epi32(r, _mm256_set1_epi32(INT32_MIN));
  return _mm256_xor_si256(r, overflow); /* INT32_MIN ^ ~0 = INT32_MAX */
}

/* v / 2^e rounded half away from zero, 0 <= e <= 31 per lane. */
static inline __m256i rdbpot(__m256i v, __m256i e) {
  const __m256i mask =
      _mm256_sub_epi32(_mm256_sllv_epi32(_mm256_set1_epi32(1), e), _mm256_set1_epi32(1));
  const __m256i remainder = _mm256_and_si256(v, mask);
  const __m256i negative = _mm256_cmpgt_epi32(_mm256_setzero_si256(), v); /* -1 where v < 0 */
  const __m256i threshold = _mm256_sub_epi32(_mm256_srli_epi32(mask, 1), negative);
  const __m256i round_up = _mm256_cmpgt_epi32(remainder, threshold);
  return _mm256_sub_epi32(_mm256_srav_epi32(v, e), round_up);
}

static inline __m256i lanes(__m256i acc, const qk_avx2_columns* c, const qk_avx2_tile_constants* k) {
  const __m256i r = rdbpot(srdhm(_mm256_sllv_epi32(acc, c->left_shift), c->multiplier), c->right_shift);
  return _mm256_min_epi32(_mm256_max_epi32(_mm256_add_epi32(r, k->zp), k->lo), k->hi);
}

void qk_requant_gemmlowp__avx2(size_t mr, size_t nc, const int32_t* acc, size_t acc_stride,
                               uint8_t* out, size_t out_stride, const qk_requant_params* params,
                               size_t channel_offset) {
  qk_avx2_requant_tile(mr, nc, acc, acc_stride, out, out_stride, params, channel_offset,
                       QK_AVX2_MULTIPLIER | QK_AVX2_SHIFT, lanes);
}
