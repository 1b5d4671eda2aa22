/* qk_requant_fp32_sat__avx512vnni — XNNPACK / ONNX Runtime requantization on zmm.
 *
 * Same bits as qk_requant_fp32_sat__generic, 16 channels per vector:
 *   v = (float)acc * scale[n]                                    one float32 rounding
 *   v = clamp(v, (float)(min - zp), (float)(max - zp))           in float, the generic's
 *                                                                comparisons operand for operand
 *   y = rne(v) + zp                                              vcvtps2dq (v is in range), then
 *                                                                64 channels at a time with
 *                                                                saturating packs (exact: y is
 *                                                                already in [min, max])
 * Tile: mr x nc of int32 (row stride acc_stride elements) to bytes (row stride out_stride);
 * channel tails with lane masks. Requires AVX512 F + BW + VL. */
#include "arch/x86/avx512vnni/avx512vnni.h"
#include "arch/x86/avx512vnni/requant.h"

/* rne of the clamped, scaled accumulators of 16 channels (zero point not yet added). */
static inline __m512i convert(__m512i acc, __m512 s, __m512 lo, __m512 hi) {
  return _mm512_cvtps_epi32(qk_avx512_clamp_ps(_mm512_mul_ps(_mm512_cvtepi32_ps(acc), s), lo, hi));
}

void qk_requant_fp32_sat__avx512vnni(size_t mr, size_t nc, const int32_t* acc, size_t acc_stride,
                                     uint8_t* out, size_t out_stride,
                                     const qk_requant_params* params, size_t channel_offset) {
  const float* scale = params->scale + channel_offset;
  const __m512 lo = _mm512_set1_ps((float)(params->min - params->zero_point));
  const __m512 hi = _mm512_set1_ps((float)(params->max - params->zero_point));
  size_t n = 0;
  qk_avx512_narrow narrow;
  if (qk_avx512_narrow_init(params->zero_point, params->min, params->max, false, &narrow)) {
    for (; n + 64 <= nc; n += 64) {
      __m512 s[4];
      for (size_t j = 0; j < 4; j++) s[j] = _mm512_loadu_ps(scale + n + 16 * j);
      for (size_t m = 0; m < mr; m++) {
        const int32_t* a = acc + m * acc_stride + n;
        __m512i r[4];
        for (size_t j = 0; j < 4; j++) {
          r[j] = qk_avx512_nan_as_zero(convert(_mm512_loadu_si512(a + 16 * j), s[j], lo, hi));
        }
        qk_avx512_narrow_store64(out + m * out_stride + n, r[0], r[1], r[2], r[3], &narrow);
      }
    }
  }
  const __m512i zp = _mm512_set1_epi32(params->zero_point);
  for (; n < nc; n += 16) {
    const __mmask16 lanes = qk_avx512_lanes(nc - n);
    const __m512 s = _mm512_maskz_loadu_ps(lanes, scale + n);
    for (size_t m = 0; m < mr; m++) {
      const __m512i a = _mm512_maskz_loadu_epi32(lanes, acc + m * acc_stride + n);
      const __m512i r = _mm512_add_epi32(convert(a, s, lo, hi), zp);
      qk_avx512_store_bytes(out + m * out_stride + n, lanes, r);
    }
  }
}
