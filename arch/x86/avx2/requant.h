/* Helpers of the AVX2 requantization kernels: 8 columns (one ymm of int32 / float) at a time,
 * with masked loads for the last partial group so nothing past nc (or past the parameter arrays)
 * is read. Internal to arch/x86/avx2; needs AVX2. */
#ifndef QK_ARCH_X86_AVX2_REQUANT_H
#define QK_ARCH_X86_AVX2_REQUANT_H

#include <immintrin.h>
#include <string.h>

#include "arch/ukernel.h"

/* All-ones in the lanes < cols (cols <= 8). */
static inline __m256i qk_avx2_lane_mask(size_t cols) {
  const __m256i lanes = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  return _mm256_cmpgt_epi32(_mm256_set1_epi32((int)cols), lanes);
}

/* vpmaskmovd never touches masked-out lanes (no fault, no read past the array). */
static inline __m256i qk_avx2_load_i32(const int32_t* p, size_t cols, __m256i mask) {
  return cols == 8 ? _mm256_loadu_si256((const __m256i*)p) : _mm256_maskload_epi32(p, mask);
}

static inline __m256 qk_avx2_load_f32(const float* p, size_t cols, __m256i mask) {
  return cols == 8 ? _mm256_loadu_ps(p) : _mm256_maskload_ps(p, mask);
}

/* Stores the low byte of each of the first cols int32 lanes: (uint8_t)v, as the C kernels do. */
static inline void qk_avx2_store_u8(uint8_t* out, __m256i v, size_t cols) {
  const __m256i low_bytes =
      _mm256_setr_epi8(0, 4, 8, 12, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, 0, 4, 8, 12, -1,
                       -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1);
  /* bytes 0-3 of each 128-bit lane, then dwords 0 and 4 side by side: the 8 bytes in order */
  const __m256i b = _mm256_shuffle_epi8(v, low_bytes);
  const __m128i x = _mm256_castsi256_si128(
      _mm256_permutevar8x32_epi32(b, _mm256_setr_epi32(0, 4, 0, 0, 0, 0, 0, 0)));
  if (cols == 8) {
    _mm_storel_epi64((__m128i*)out, x);
    return;
  }
  uint64_t bytes = (uint64_t)_mm_cvtsi128_si64(x);
  if (cols & 4) memcpy(out, &bytes, 4), bytes >>= 32, out += 4;
  if (cols & 2) memcpy(out, &bytes, 2), bytes >>= 16, out += 2;
  if (cols & 1) *out = (uint8_t)bytes;
}

/* clamp(r + zero_point, min, max) for any int32 r without int32 overflow: clamp r to
 * [min - zero_point, max - zero_point] first (the same value, as int64 arithmetic gives). */
static inline __m256i qk_avx2_clamp_add_zp(__m256i r, __m256i vlo, __m256i vhi, __m256i vzp) {
  return _mm256_add_epi32(_mm256_min_epi32(_mm256_max_epi32(r, vlo), vhi), vzp);
}

/* The C kernels' float clamp `v < lo ? lo : v > hi ? hi : v`, NaN passing through as there. */
static inline __m256 qk_avx2_clamp_ps(__m256 v, __m256 lo, __m256 hi) {
  return _mm256_max_ps(lo, _mm256_min_ps(hi, v));
}

#endif /* QK_ARCH_X86_AVX2_REQUANT_H */
