/* Helpers of qk_dwconv_u8s8_c64__avx512vnni (static inline, compiled with this folder's flags):
 * the 4-tap interleave feeding vpdpbusd and the transpose back to channel order, on zmm (64
 * channels) and xmm (one 16-channel lane of the same packed layout).
 *
 * Interleave: taps a, b, c, d of 64 channels, two levels of in-lane unpacks (bytes, then words):
 *   q_j, 128-bit lane L, dword i = (a, b, c, d) of channel 16L + 4j + i
 * so one vpdpbusd per q_j adds 4 taps x 16 channels. Accumulators in the same (j, L, i) order go
 * back to channel order with a 4x4 transpose of 128-bit lanes; on xmm (L = 0 only) q_j already
 * holds channels 4j .. 4j + 3. */
#ifndef QK_ARCH_X86_AVX512VNNI_DWCONV_H
#define QK_ARCH_X86_AVX512VNNI_DWCONV_H

#include <immintrin.h>
#include <stdbool.h>
#include <stdint.h>

#define QK_DW_INLINE static inline __attribute__((always_inline))

typedef struct qk_dw_zmm4 {
  __m512i v0, v1, v2, v3; /* accumulators, weight quads or q_0..q_3, by j */
} qk_dw_zmm4;
typedef struct qk_dw_xmm4 {
  __m128i v0, v1, v2, v3;
} qk_dw_xmm4;

/* 4 x 64 bytes at p (a quad of packed weights or the colterms of a block); stride = 64 bytes
 * between the j vectors whatever the width, so xmm reads lane L of the same layout. */
QK_DW_INLINE qk_dw_zmm4 qk_dw_load_zmm4(const uint8_t* p) {
  const qk_dw_zmm4 r = {_mm512_loadu_si512(p), _mm512_loadu_si512(p + 64),
                        _mm512_loadu_si512(p + 128), _mm512_loadu_si512(p + 192)};
  return r;
}
QK_DW_INLINE qk_dw_xmm4 qk_dw_load_xmm4(const uint8_t* p) {
  const qk_dw_xmm4 r = {
      _mm_loadu_si128((const __m128i*)p), _mm_loadu_si128((const __m128i*)(p + 64)),
      _mm_loadu_si128((const __m128i*)(p + 128)), _mm_loadu_si128((const __m128i*)(p + 192))};
  return r;
}

/* Tap k < n of a quad, channels from c, XORed when use_xor; a zero vector for k >= n (the packed
 * weights of missing taps are zero). Only the lanes of m are read (full: all 64). */
QK_DW_INLINE __m512i qk_dw_tap_zmm(const uint8_t* const* rows, size_t k, size_t n, size_t c,
                                   bool full, __mmask64 m, bool use_xor, __m512i vxor) {
  if (k >= n) return _mm512_setzero_si512();
  const __m512i x =
      full ? _mm512_loadu_si512(rows[k] + c) : _mm512_maskz_loadu_epi8(m, rows[k] + c);
  return use_xor ? _mm512_xor_si512(x, vxor) : x;
}
QK_DW_INLINE __m128i qk_dw_tap_xmm(const uint8_t* const* rows, size_t k, size_t n, size_t c,
                                   __mmask16 m, bool use_xor, __m128i vxor) {
  if (k >= n) return _mm_setzero_si128();
  const __m128i x = _mm_maskz_loadu_epi8(m, rows[k] + c);
  return use_xor ? _mm_xor_si128(x, vxor) : x;
}

/* acc_j += q_j . w_j for the quad of n <= 4 taps at rows (vpdpbusd: 4 u8 x s8 products per
 * dword, exact, added modulo 2^32). With n <= 2 the c, d unpacks are skipped (zero taps). */
QK_DW_INLINE void qk_dw_quad_zmm(qk_dw_zmm4* acc, const uint8_t* const* rows, size_t n, size_t c,
                                 bool full, __mmask64 m, bool use_xor, __m512i vxor,
                                 const qk_dw_zmm4* w) {
  const __m512i a = qk_dw_tap_zmm(rows, 0, n, c, full, m, use_xor, vxor);
  const __m512i b = qk_dw_tap_zmm(rows, 1, n, c, full, m, use_xor, vxor);
  const __m512i x = qk_dw_tap_zmm(rows, 2, n, c, full, m, use_xor, vxor);
  const __m512i d = qk_dw_tap_zmm(rows, 3, n, c, full, m, use_xor, vxor);
  const __m512i ab_lo = _mm512_unpacklo_epi8(a, b), ab_hi = _mm512_unpackhi_epi8(a, b);
  const __m512i z = _mm512_setzero_si512();
  const __m512i cd_lo = n > 2 ? _mm512_unpacklo_epi8(x, d) : z;
  const __m512i cd_hi = n > 2 ? _mm512_unpackhi_epi8(x, d) : z;
  acc->v0 = _mm512_dpbusd_epi32(acc->v0, _mm512_unpacklo_epi16(ab_lo, cd_lo), w->v0);
  acc->v1 = _mm512_dpbusd_epi32(acc->v1, _mm512_unpackhi_epi16(ab_lo, cd_lo), w->v1);
  acc->v2 = _mm512_dpbusd_epi32(acc->v2, _mm512_unpacklo_epi16(ab_hi, cd_hi), w->v2);
  acc->v3 = _mm512_dpbusd_epi32(acc->v3, _mm512_unpackhi_epi16(ab_hi, cd_hi), w->v3);
}
QK_DW_INLINE void qk_dw_quad_xmm(qk_dw_xmm4* acc, const uint8_t* const* rows, size_t n, size_t c,
                                 __mmask16 m, bool use_xor, __m128i vxor, const qk_dw_xmm4* w) {
  const __m128i a = qk_dw_tap_xmm(rows, 0, n, c, m, use_xor, vxor);
  const __m128i b = qk_dw_tap_xmm(rows, 1, n, c, m, use_xor, vxor);
  const __m128i x = qk_dw_tap_xmm(rows, 2, n, c, m, use_xor, vxor);
  const __m128i d = qk_dw_tap_xmm(rows, 3, n, c, m, use_xor, vxor);
  const __m128i ab_lo = _mm_unpacklo_epi8(a, b), ab_hi = _mm_unpackhi_epi8(a, b);
  const __m128i z = _mm_setzero_si128();
  const __m128i cd_lo = n > 2 ? _mm_unpacklo_epi8(x, d) : z;
  const __m128i cd_hi = n > 2 ? _mm_unpackhi_epi8(x, d) : z;
  acc->v0 = _mm_dpbusd_epi32(acc->v0, _mm_unpacklo_epi16(ab_lo, cd_lo), w->v0);
  acc->v1 = _mm_dpbusd_epi32(acc->v1, _mm_unpackhi_epi16(ab_lo, cd_lo), w->v1);
  acc->v2 = _mm_dpbusd_epi32(acc->v2, _mm_unpacklo_epi16(ab_hi, cd_hi), w->v2);
  acc->v3 = _mm_dpbusd_epi32(acc->v3, _mm_unpackhi_epi16(ab_hi, cd_hi), w->v3);
}

/* Stores the first n <= 64 channels of a zmm block: transpose of the 4x4 lanes (acc.v_j lane L
 * -> vector L lane j), then one store per 16 channels. */
QK_DW_INLINE void qk_dw_store_zmm(int32_t* out, qk_dw_zmm4 acc, size_t n) {
  const __m512i t0 = _mm512_shuffle_i32x4(acc.v0, acc.v1, 0x44);
  const __m512i t1 = _mm512_shuffle_i32x4(acc.v0, acc.v1, 0xEE);
  const __m512i t2 = _mm512_shuffle_i32x4(acc.v2, acc.v3, 0x44);
  const __m512i t3 = _mm512_shuffle_i32x4(acc.v2, acc.v3, 0xEE);
  const __m512i v[4] = {_mm512_shuffle_i32x4(t0, t2, 0x88), _mm512_shuffle_i32x4(t0, t2, 0xDD),
                        _mm512_shuffle_i32x4(t1, t3, 0x88), _mm512_shuffle_i32x4(t1, t3, 0xDD)};
  for (size_t k = 0; k < 4; k++) {
    if (n >= 16 * (k + 1)) {
      _mm512_storeu_si512(out + 16 * k, v[k]);
    } else if (n > 16 * k) {
      _mm512_mask_storeu_epi32(out + 16 * k, (__mmask16)((1u << (n - 16 * k)) - 1), v[k]);
    }
  }
}
/* The first n <= 16 channels of an xmm slice (acc.v_j = channels 4j .. 4j + 3). */
QK_DW_INLINE void qk_dw_store_xmm(int32_t* out, qk_dw_xmm4 acc, size_t n) {
  const __m128i v[4] = {acc.v0, acc.v1, acc.v2, acc.v3};
  for (size_t j = 0; j < 4 && 4 * j < n; j++) {
    const size_t left = n - 4 * j;
    _mm_mask_storeu_epi32(out + 4 * j, (__mmask8)(left >= 4 ? 0xFu : (1u << left) - 1), v[j]);
  }
}

#endif /* QK_ARCH_X86_AVX512VNNI_DWCONV_H */
