/* Helpers shared by the AVX-512 requantization kernels of this folder (static inline, compiled
 * into each kernel with the folder's flags). The kernels walk 16 output channels at a time (one
 * zmm of int32 / float), load that block's per-channel parameters once and apply them to every
 * row; the last block of a tile is handled with lane masks, so no byte outside the tile is read
 * or written. */
#ifndef QK_ARCH_X86_AVX512VNNI_REQUANT_H
#define QK_ARCH_X86_AVX512VNNI_REQUANT_H

#include <immintrin.h>
#include <stdbool.h>
#include <stdint.h>

/* Lanes 0..n-1 of 16. */
static inline __mmask16 qk_avx512_lanes(size_t n) {
  const unsigned bits = n >= 16 ? 0xFFFFu : (1u << n) - 1;
  return (__mmask16)bits;
}

/* Integer bounds for r such that clamp(r + zp, min, max) == clamp(r, lo, hi) + zp without int32
 * overflow: lo = min - zp and hi = max - zp, saturated to int32 (a bound outside int32 can never
 * be reached by an int32 r, so saturating it changes nothing). */
static inline void qk_avx512_int_bounds(int32_t min, int32_t max, int32_t zp, __m512i* lo,
                                        __m512i* hi) {
  int64_t l = (int64_t)min - zp, h = (int64_t)max - zp;
  l = l < INT32_MIN ? INT32_MIN : l > INT32_MAX ? INT32_MAX : l;
  h = h < INT32_MIN ? INT32_MIN : h > INT32_MAX ? INT32_MAX : h;
  *lo = _mm512_set1_epi32((int32_t)l);
  *hi = _mm512_set1_epi32((int32_t)h);
}

/* The generic kernels' `v < lo ? lo : v > hi ? hi : v` on floats, operand for operand: MAXPS
 * returns its second operand unless the first is greater, so max(lo, v) is `lo > v ? lo : v`
 * and a NaN v passes through both steps exactly as in the C ternaries. */
static inline __m512 qk_avx512_clamp_ps(__m512 v, __m512 lo, __m512 hi) {
  return _mm512_min_ps(hi, _mm512_max_ps(lo, v));
}

/* Stores the low byte of the int32 lanes in `lanes` (values already within the u8 / s8 output
 * range, so truncation gives the output's bit pattern). */
static inline void qk_avx512_store_bytes(uint8_t* out, __mmask16 lanes, __m512i v) {
  _mm_mask_storeu_epi8(out, lanes, _mm512_cvtepi32_epi8(v));
}

/* Narrowing of 64 int32 results r (4 vectors of 16 consecutive channels) to bytes the way
 * fbgemm and QNNPACK do it: vpackssdw (saturate to int16), vpaddsw zero point, vpackuswb /
 * vpacksswb (saturate to the byte type), then, with `clamp`, clamp to [min, max] in bytes.
 * With clamp this equals clamp(r + zp, min, max) for every int32 r whenever |zp| <= 32000 and
 * [min, max] lies inside one byte type: a saturated int16 stays beyond the byte range after
 * adding zp, on the same side as r + zp. Without clamp (families whose r + zp is already in
 * [min, max]) it is exact when zp itself is in the byte type. It costs 60 % of per-vector
 * vpmovdb narrowing (0.062 vs 0.104 ns per output on Zen 4), which matters for 1x1 layers, where
 * requantization is a third of the time. */
typedef struct qk_avx512_narrow {
  __m512i zp16, lo, hi;
  bool u8, clamp;
} qk_avx512_narrow;

/* Sets up the narrowing; false when the conditions above do not hold (use the 16-lane path). */
static inline bool qk_avx512_narrow_init(int32_t zp, int32_t min, int32_t max, bool clamp,
                                         qk_avx512_narrow* n) {
  n->u8 = min >= 0;
  n->clamp = clamp;
  const int32_t type_min = n->u8 ? 0 : -128, type_max = n->u8 ? 255 : 127;
  if (min < type_min || max > type_max) return false;
  if (clamp ? zp < -32000 || zp > 32000 : zp < type_min || zp > type_max) return false;
  n->zp16 = _mm512_set1_epi16((short)zp);
  n->lo = _mm512_set1_epi8((char)min);
  n->hi = _mm512_set1_epi8((char)max);
  return true;
}

/* out[0..63] = narrow(r0, r1, r2, r3). The packs work within 128-bit lanes: afterwards dword
 * 4 * L + v holds channels 4L..4L+3 of vector v (L = lane); vpermd moves it to dword 4 * v + L. */
static inline void qk_avx512_narrow_store64(uint8_t* out, __m512i r0, __m512i r1, __m512i r2,
                                            __m512i r3, const qk_avx512_narrow* n) {
  const __m512i order = _mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15);
  const __m512i w01 = _mm512_adds_epi16(_mm512_packs_epi32(r0, r1), n->zp16);
  const __m512i w23 = _mm512_adds_epi16(_mm512_packs_epi32(r2, r3), n->zp16);
  __m512i b;
  if (n->u8) {
    b = _mm512_permutexvar_epi32(order, _mm512_packus_epi16(w01, w23));
    if (n->clamp) b = _mm512_min_epu8(_mm512_max_epu8(b, n->lo), n->hi);
  } else {
    b = _mm512_permutexvar_epi32(order, _mm512_packs_epi16(w01, w23));
    if (n->clamp) b = _mm512_min_epi8(_mm512_max_epi8(b, n->lo), n->hi);
  }
  _mm512_storeu_si512(out, b);
}

/* cvtps2dq of a NaN is INT32_MIN; the generic kernels round with lrintf, whose NaN reaches
 * int32 as 0 (the same low byte as INT32_MIN, which is all the 16-lane path stores). Before a
 * saturating narrowing the two differ, so the families that round an already clamped float map
 * INT32_MIN (reachable only from NaN there) to 0. */
static inline __m512i qk_avx512_nan_as_zero(__m512i r) {
  return _mm512_mask_mov_epi32(r, _mm512_cmpeq_epi32_mask(r, _mm512_set1_epi32(INT32_MIN)),
                               _mm512_setzero_si512());
}

#endif /* QK_ARCH_X86_AVX512VNNI_REQUANT_H */
