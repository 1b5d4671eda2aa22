/* qk_requant_fp32_cvt__avx512vnni — fbgemm / QNNPACK-x86 requantization on zmm.
 *
 * Same bits as qk_requant_fp32_cvt__generic, 16 channels per vector:
 *   v = ((float)acc + bias[n]) * scale[n]    vcvtdq2ps, vaddps, vmulps: two float32 roundings
 *                                            in the generic order, no FMA
 *   r = cvtps2dq(v)                          vcvtps2dq: round half to even, and every |v| >= 2^31
 *                                            (or NaN) gives INT32_MIN, the x86 rule the generic
 *                                            kernel emulates
 *   y = clamp(r + zero_point, min, max)      64 channels at a time with saturating packs (as
 *                                            fbgemm / QNNPACK, requant.h says why it is equal),
 *                                            the rest as clamp(r, min - zp, max - zp) + zp
 * Tile: mr x nc of int32 (row stride acc_stride elements) to bytes (row stride out_stride);
 * channel tails with lane masks. Requires AVX512 F + BW + VL. */
#include "arch/x86/avx512vnni/avx512vnni.h"
#include "arch/x86/avx512vnni/requant.h"

/* r of 16 channels whose scale / bias vectors are s / b. */
static inline __m512i convert(__m512i acc, __m512 s, __m512 b) {
  return _mm512_cvtps_epi32(_mm512_mul_ps(_mm512_add_ps(_mm512_cvtepi32_ps(acc), b), s));
}

void qk_requant_fp32_cvt__avx512vnni(size_t mr, size_t nc, const int32_t* acc, size_t acc_stride,
                                     uint8_t* out, size_t out_stride,
                                     const qk_requant_params* params, size_t channel_offset) {
  const float* scale = params->scale + channel_offset;
  const float* bias = params->bias + channel_offset;
  size_t n = 0;
  qk_avx512_narrow narrow;
  if (qk_avx512_narrow_init(params->zero_point, params->min, params->max, true, &narrow)) {
    for (; n + 64 <= nc; n += 64) {
      __m512 s[4], b[4];
      for (size_t j = 0; j < 4; j++) {
        s[j] = _mm512_loadu_ps(scale + n + 16 * j);
        b[j] = _mm512_loadu_ps(bias + n + 16 * j);
      }
      for (size_t m = 0; m < mr; m++) {
        const int32_t* a = acc + m * acc_stride + n;
        __m512i r[4];
        for (size_t j = 0; j < 4; j++) r[j] = convert(_mm512_loadu_si512(a + 16 * j), s[j], b[j]);
        qk_avx512_narrow_store64(out + m * out_stride + n, r[0], r[1], r[2], r[3], &narrow);
      }
    }
  }
  const __m512i zp = _mm512_set1_epi32(params->zero_point);
  __m512i lo, hi;
  qk_avx512_int_bounds(params->min, params->max, params->zero_point, &lo, &hi);
  for (; n < nc; n += 16) {
    const __mmask16 lanes = qk_avx512_lanes(nc - n);
    const __m512 s = _mm512_maskz_loadu_ps(lanes, scale + n);
    const __m512 b = _mm512_maskz_loadu_ps(lanes, bias + n);
    for (size_t m = 0; m < mr; m++) {
      __m512i r = convert(_mm512_maskz_loadu_epi32(lanes, acc + m * acc_stride + n), s, b);
      r = _mm512_add_epi32(_mm512_min_epi32(_mm512_max_epi32(r, lo), hi), zp);
      qk_avx512_store_bytes(out + m * out_stride + n, lanes, r);
    }
  }
}
