/* The walk and helpers every AVX2 requantization kernel shares: 8 columns (one ymm of int32 /
 * float) at a time, each group's per-channel parameters loaded once for all rows, masked loads for
 * the last partial group so nothing past nc (or past the parameter arrays) is read. A kernel is a
 * per-8-lanes formula plus the list of parameters it reads (qk_avx2_requant_tile). Internal to
 * arch/x86/avx2 (the avxvnni and avx512vnni tables point at these kernels too); needs AVX2. */
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

/* Per-channel parameters of one group of 8 columns (only those the kernel asked for are loaded). */
typedef struct qk_avx2_columns {
  __m256 scale, bias, bias_scale;
  __m256i multiplier, left_shift, right_shift; /* max(shift, 0), max(-shift, 0) */
} qk_avx2_columns;

enum {
  QK_AVX2_SCALE = 1,
  QK_AVX2_BIAS = 2,
  QK_AVX2_BIAS_SCALE = 4,
  QK_AVX2_MULTIPLIER = 8,
  QK_AVX2_SHIFT = 16,
};

/* Per-tile constants, as int32 and as float lanes. */
typedef struct qk_avx2_tile_constants {
  __m256i zp, lo, hi, lo_minus_zp, hi_minus_zp;
  __m256 zp_f, lo_f, hi_f, lo_minus_zp_f, hi_minus_zp_f, post_scale;
} qk_avx2_tile_constants;

/* A family's formula for 8 accumulators: the int32 outputs, already within [min, max]. */
typedef __m256i (*qk_avx2_requant_lanes_fn)(__m256i acc, const qk_avx2_columns* c,
                                             const qk_avx2_tile_constants* k);

static inline __attribute__((always_inline)) void qk_avx2_requant_tile(
    size_t mr, size_t nc, const int32_t* acc, size_t acc_stride, uint8_t* out, size_t out_stride,
    const qk_requant_params* p, size_t channel_offset, unsigned columns,
    qk_avx2_requant_lanes_fn lanes) {
  /* min - zero_point cannot overflow: min, max and zero_point lie in the u8 or s8 range. */
  const qk_avx2_tile_constants k = {
      .zp = _mm256_set1_epi32(p->zero_point),
      .lo = _mm256_set1_epi32(p->min),
      .hi = _mm256_set1_epi32(p->max),
      .lo_minus_zp = _mm256_set1_epi32(p->min - p->zero_point),
      .hi_minus_zp = _mm256_set1_epi32(p->max - p->zero_point),
      .zp_f = _mm256_set1_ps((float)p->zero_point),
      .lo_f = _mm256_set1_ps((float)p->min),
      .hi_f = _mm256_set1_ps((float)p->max),
      .lo_minus_zp_f = _mm256_set1_ps((float)(p->min - p->zero_point)),
      .hi_minus_zp_f = _mm256_set1_ps((float)(p->max - p->zero_point)),
      .post_scale = _mm256_set1_ps(p->post_scale),
  };
  for (size_t n = 0; n < nc; n += 8) {
    const size_t cols = nc - n < 8 ? nc - n : 8, j = channel_offset + n;
    const __m256i mask = qk_avx2_lane_mask(cols);
    qk_avx2_columns c = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(),
                         _mm256_setzero_si256(), _mm256_setzero_si256(), _mm256_setzero_si256()};
    if (columns & QK_AVX2_SCALE) c.scale = qk_avx2_load_f32(p->scale + j, cols, mask);
    if (columns & QK_AVX2_BIAS) c.bias = qk_avx2_load_f32(p->bias + j, cols, mask);
    if (columns & QK_AVX2_BIAS_SCALE) c.bias_scale = qk_avx2_load_f32(p->bias_scale + j, cols, mask);
    if (columns & QK_AVX2_MULTIPLIER) c.multiplier = qk_avx2_load_i32(p->multiplier + j, cols, mask);
    if (columns & QK_AVX2_SHIFT) {
      const __m256i shift = qk_avx2_load_i32(p->shift + j, cols, mask), zero = _mm256_setzero_si256();
      c.left_shift = _mm256_max_epi32(shift, zero);
      c.right_shift = _mm256_max_epi32(_mm256_sub_epi32(zero, shift), zero);
    }
    for (size_t m = 0; m < mr; m++) {
      const __m256i vacc = qk_avx2_load_i32(acc + m * acc_stride + n, cols, mask);
      qk_avx2_store_u8(out + m * out_stride + n, lanes(vacc, &c, &k), cols);
    }
  }
}

#endif /* QK_ARCH_X86_AVX2_REQUANT_H */
