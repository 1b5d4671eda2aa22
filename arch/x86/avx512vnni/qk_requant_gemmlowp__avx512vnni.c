/* qk_requant_gemmlowp__avx512vnni — TFLite's MultiplyByQuantizedMultiplier on zmm.
 *
 * Same bits as qk_requant_gemmlowp__generic (arch/common.h), 16 channels at a time:
 *   x = acc << max(shift, 0)                        vpsllvd, wraps like the C uint32 shift
 *   SRDHM: (x * mult + nudge) / 2^31                both signs are floor((p + 2^30) / 2^31) (see
 *          with C truncation, nudge = 2^30          qk_requant_gemmlowp__avx2.c): vpmuldq on the
 *          or 1 - 2^30 by the product's sign        even and odd lanes, + 2^30, bits 31..62 moved
 *          INT32_MIN * INT32_MIN -> INT32_MAX       into place by shifts and one blend; the one
 *                                                   product that wraps to INT32_MIN is saturated
 *   RDBPOT by max(-shift, 0): (x >> e) + (x & mask > (mask >> 1) + (x < 0))
 *   y = clamp(r + zero_point, min, max)             the + wraps modulo 2^32 (vpaddd), as TFLite's
 *                                                   int32 add does; then 64 channels at a time
 *                                                   with saturating packs (requant.h), the rest
 *                                                   with vpmaxsd / vpminsd
 * Tile: mr x nc of int32 (row stride acc_stride elements) to bytes (row stride out_stride);
 * channel tails with lane masks. Requires AVX512 F + BW + VL. */
#include "arch/x86/avx512vnni/avx512vnni.h"
#include "arch/x86/avx512vnni/requant.h"

/* gemmlowp SaturatingRoundingDoublingHighMul of 16 lanes: floor((x * mult + 2^30) / 2^31). */
static inline __m512i srdhm(__m512i x, __m512i mult) {
  const __m512i mult_odd = _mm512_srli_epi64(mult, 32);
  const __m512i half = _mm512_set1_epi64(INT64_C(1) << 30);
  const __m512i even = _mm512_add_epi64(_mm512_mul_epi32(x, mult), half);
  const __m512i odd = _mm512_add_epi64(_mm512_mul_epi32(_mm512_srli_epi64(x, 32), mult_odd), half);
  /* bits 31..62: even products shifted down into the low dword, odd ones up into the high one */
  const __m512i r =
      _mm512_mask_blend_epi32(0xAAAA, _mm512_srli_epi64(even, 31), _mm512_slli_epi64(odd, 1));
  const __m512i int32_min = _mm512_set1_epi32(INT32_MIN);
  return _mm512_mask_mov_epi32(r, _mm512_cmpeq_epi32_mask(r, int32_min),
                               _mm512_set1_epi32(INT32_MAX));
}

/* gemmlowp RoundingDivideByPOT with per-lane exponents e in [0, 31]. */
static inline __m512i rdbpot(__m512i x, __m512i e, __m512i mask) {
  const __m512i remainder = _mm512_and_si512(x, mask);
  const __m512i half_mask = _mm512_srli_epi32(mask, 1);
  const __m512i threshold = _mm512_sub_epi32(half_mask, _mm512_srai_epi32(x, 31));
  const __m512i q = _mm512_srav_epi32(x, e);
  return _mm512_mask_add_epi32(q, _mm512_cmpgt_epi32_mask(remainder, threshold), q,
                               _mm512_set1_epi32(1));
}

/* Per-channel constants of 16 channels, loaded once for all rows. Four of these (64 channels)
 * and the narrowing constants fit the 32 zmm registers: values that one operation derives
 * from these (the odd multipliers, half the mask) are recomputed per row instead of spilled. */
typedef struct channels {
  __m512i mult, left, right, mask;
} channels;

static inline channels load_channels(const int32_t* multiplier, const int32_t* shift,
                                     __mmask16 lanes) {
  channels c;
  const __m512i zero = _mm512_setzero_si512(), one = _mm512_set1_epi32(1);
  c.mult = _mm512_maskz_loadu_epi32(lanes, multiplier);
  const __m512i sh = _mm512_maskz_loadu_epi32(lanes, shift);
  c.left = _mm512_max_epi32(sh, zero);
  c.right = _mm512_max_epi32(_mm512_sub_epi32(zero, sh), zero);
  c.mask = _mm512_sub_epi32(_mm512_sllv_epi32(one, c.right), one);
  return c;
}

/* MultiplyByQuantizedMultiplier of 16 accumulators (zero point not yet added). */
static inline __m512i mbqm(__m512i acc, const channels* c) {
  const __m512i x = srdhm(_mm512_sllv_epi32(acc, c->left), c->mult);
  return rdbpot(x, c->right, c->mask);
}

void qk_requant_gemmlowp__avx512vnni(size_t mr, size_t nc, const int32_t* acc, size_t acc_stride,
                                     uint8_t* out, size_t out_stride,
                                     const qk_requant_params* params, size_t channel_offset) {
  const int32_t* multiplier = params->multiplier + channel_offset;
  const int32_t* shift = params->shift + channel_offset;
  /* TFLite adds the zero point in int32, wrapping, before the clamp: r + zp here, then a
   * narrowing with no zero point of its own. */
  const __m512i zp = _mm512_set1_epi32(params->zero_point);
  size_t n = 0;
  qk_avx512_narrow narrow;
  if (qk_avx512_narrow_init(0, params->min, params->max, true, &narrow)) {
    for (; n + 64 <= nc; n += 64) {
      channels c[4];
      for (size_t j = 0; j < 4; j++) {
        c[j] = load_channels(multiplier + n + 16 * j, shift + n + 16 * j, 0xFFFF);
      }
      for (size_t m = 0; m < mr; m++) {
        const int32_t* a = acc + m * acc_stride + n;
        __m512i r[4];
        for (size_t j = 0; j < 4; j++) {
          r[j] = _mm512_add_epi32(mbqm(_mm512_loadu_si512(a + 16 * j), &c[j]), zp);
        }
        qk_avx512_narrow_store64(out + m * out_stride + n, r[0], r[1], r[2], r[3], &narrow);
      }
    }
  }
  const __m512i lo = _mm512_set1_epi32(params->min), hi = _mm512_set1_epi32(params->max);
  for (; n < nc; n += 16) {
    const __mmask16 lanes = qk_avx512_lanes(nc - n);
    const channels c = load_channels(multiplier + n, shift + n, lanes);
    for (size_t m = 0; m < mr; m++) {
      __m512i r = mbqm(_mm512_maskz_loadu_epi32(lanes, acc + m * acc_stride + n), &c);
      r = _mm512_min_epi32(_mm512_max_epi32(_mm512_add_epi32(r, zp), lo), hi);
      qk_avx512_store_bytes(out + m * out_stride + n, lanes, r);
    }
  }
}
