/* qk_requant_fp32_fzp__avx512vnni — oneDNN 2.x requantization (zero point added in float) on zmm.
 *
 * Same bits as qk_requant_fp32_fzp__generic, 16 channels per vector:
 *   v = ((float)acc + bias[n]) * scale[n]     two float32 roundings, generic order, no FMA
 *   v = v + (float)zero_point                 before rounding
 *   y = rne(clamp(v, (float)min, (float)max)) the generic's comparisons operand for operand,
 *                                             then vcvtps2dq; narrowed 64 channels at a time
 *                                             with saturating packs (exact: y is in range)
 * Tile: mr x nc of int32 (row stride acc_stride elements) to bytes (row stride out_stride);
 * channel tails with lane masks. Requires AVX512 F + BW + VL. */
#include "arch/x86/avx512vnni/avx512vnni.h"
#include "arch/x86/avx512vnni/requant.h"

typedef struct constants {
  __m512 zp, lo, hi;
} constants;

/* y of 16 channels whose scale / bias vectors are s / b. */
static inline __m512i convert(__m512i acc, __m512 s, __m512 b, const constants* k) {
  const __m512 v = _mm512_mul_ps(_mm512_add_ps(_mm512_cvtepi32_ps(acc), b), s);
  return _mm512_cvtps_epi32(qk_avx512_clamp_ps(_mm512_add_ps(v, k->zp), k->lo, k->hi));
}

void qk_requant_fp32_fzp__avx512vnni(size_t mr, size_t nc, const int32_t* acc, size_t acc_stride,
                                     uint8_t* out, size_t out_stride,
                                     const qk_requant_params* params, size_t channel_offset) {
  const float* scale = params->scale + channel_offset;
  const float* bias = params->bias + channel_offset;
  const constants k = {_mm512_set1_ps((float)params->zero_point),
                       _mm512_set1_ps((float)params->min), _mm512_set1_ps((float)params->max)};
  size_t n = 0;
  qk_avx512_narrow narrow;
  if (qk_avx512_narrow_init(0, params->min, params->max, false, &narrow)) {
    for (; n + 64 <= nc; n += 64) {
      __m512 s[4], b[4];
      for (size_t j = 0; j < 4; j++) {
        s[j] = _mm512_loadu_ps(scale + n + 16 * j);
        b[j] = _mm512_loadu_ps(bias + n + 16 * j);
      }
      for (size_t m = 0; m < mr; m++) {
        const int32_t* a = acc + m * acc_stride + n;
        __m512i y[4];
        for (size_t j = 0; j < 4; j++) {
          y[j] = qk_avx512_nan_as_zero(convert(_mm512_loadu_si512(a + 16 * j), s[j], b[j], &k));
        }
        qk_avx512_narrow_store64(out + m * out_stride + n, y[0], y[1], y[2], y[3], &narrow);
      }
    }
  }
  for (; n < nc; n += 16) {
    const __mmask16 lanes = qk_avx512_lanes(nc - n);
    const __m512 s = _mm512_maskz_loadu_ps(lanes, scale + n);
    const __m512 b = _mm512_maskz_loadu_ps(lanes, bias + n);
    for (size_t m = 0; m < mr; m++) {
      const __m512i a = _mm512_maskz_loadu_epi32(lanes, acc + m * acc_stride + n);
      qk_avx512_store_bytes(out + m * out_stride + n, lanes, convert(a, s, b, &k));
    }
  }
}
