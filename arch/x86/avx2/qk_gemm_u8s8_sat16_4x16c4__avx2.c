/* qk_gemm_u8s8_sat16_4x16c4__avx2 — FBGEMM's saturating u8 x s8 GEMM, natively (vpmaddubsw).
 *
 * Computes, for m < mr <= 4 and any nc >= 1 (arch/ukernel.h),
 *   c[m][n] = colterm[n] + Σ_j sat16(a[m][2j] w[n][2j] + a[m][2j+1] w[n][2j+1])   (mod 2^32)
 * exactly as qk_gemm_u8s8_sat16_4x8c4__generic (its specification): vpmaddubsw multiplies u8 by
 * s8 and adds adjacent pairs with int16 saturation — the very instruction whose saturation the
 * pytorch-fbgemm modes reproduce — then vpmaddwd with ones widens the two pair sums of a K quad
 * exactly and vpaddd accumulates them modulo 2^32.
 * Weights: the generic layout (qk_pack_gemm__generic) with NR = 16, KR = 4: per 16-column block
 *   int32 colterm[16]; int8 w[ceil(kc / 4)][16][4]; no alignment needed.
 * a: exactly kc bytes of each row are read (a last partial K quad goes through a zeroed copy).
 * Tails: rows past mr alias row 0 (computed, never stored); columns past nc are computed from zero
 * weights and not stored. Needs AVX2. */
#include <immintrin.h>
#include <string.h>

#include "arch/x86/avx2/avx2.h"

enum { MR = 4, NR = 16, KR = 4 };

/* The K quad a[k..k+3] (klen <= 4 bytes of it) in every 32-bit lane. */
static inline __m256i broadcast_quad(const uint8_t* a, size_t klen) {
  int32_t quad = 0;
  memcpy(&quad, a, klen);
  return _mm256_set1_epi32(quad);
}

/* Stores the first n <= 16 columns of one row (v0: columns 0-7, v1: 8-15). */
static inline void store_row(int32_t* c, size_t n, __m256i v0, __m256i v1) {
  if (n == 16) {
    _mm256_storeu_si256((__m256i*)c, v0);
    _mm256_storeu_si256((__m256i*)(c + 8), v1);
    return;
  }
  int32_t row[16];
  _mm256_storeu_si256((__m256i*)row, v0);
  _mm256_storeu_si256((__m256i*)(row + 8), v1);
  memcpy(c, row, n * sizeof(int32_t));
}

#define QK_SAT16_MADD(acc, va, vw) \
  acc = _mm256_add_epi32(acc, _mm256_madd_epi16(_mm256_maddubs_epi16(va, vw), ones))

void qk_gemm_u8s8_sat16_4x16c4__avx2(size_t mr, size_t nc, size_t kc, const uint8_t* a,
                                     size_t a_stride, const void* w, int32_t* c,
                                     size_t c_stride) {
  const __m256i ones = _mm256_set1_epi16(1);
  const size_t kfull = kc / KR * KR, kblocks = (kc + KR - 1) / KR;
  const uint8_t* a0 = a;
  const uint8_t* a1 = mr > 1 ? a0 + a_stride : a0;
  const uint8_t* a2 = mr > 2 ? a1 + a_stride : a0;
  const uint8_t* a3 = mr > 3 ? a2 + a_stride : a0;
  const uint8_t* block = (const uint8_t*)w;
  for (size_t n0 = 0; n0 < nc; n0 += NR) {
    __m256i c00 = _mm256_loadu_si256((const __m256i*)block);
    __m256i c01 = _mm256_loadu_si256((const __m256i*)(block + 32));
    __m256i c10 = c00, c11 = c01, c20 = c00, c21 = c01, c30 = c00, c31 = c01;
    const uint8_t* wk = block + NR * sizeof(int32_t);
    size_t k = 0;
    for (; k < kfull; k += KR, wk += NR * KR) {
      const __m256i w0 = _mm256_loadu_si256((const __m256i*)wk);
      const __m256i w1 = _mm256_loadu_si256((const __m256i*)(wk + 32));
      __m256i va = broadcast_quad(a0 + k, KR);
      QK_SAT16_MADD(c00, va, w0), QK_SAT16_MADD(c01, va, w1);
      va = broadcast_quad(a1 + k, KR);
      QK_SAT16_MADD(c10, va, w0), QK_SAT16_MADD(c11, va, w1);
      va = broadcast_quad(a2 + k, KR);
      QK_SAT16_MADD(c20, va, w0), QK_SAT16_MADD(c21, va, w1);
      va = broadcast_quad(a3 + k, KR);
      QK_SAT16_MADD(c30, va, w0), QK_SAT16_MADD(c31, va, w1);
    }
    if (k < kc) { /* the last, partial quad: its missing a bytes meet zero weights */
      const size_t klen = kc - k;
      const __m256i w0 = _mm256_loadu_si256((const __m256i*)wk);
      const __m256i w1 = _mm256_loadu_si256((const __m256i*)(wk + 32));
      __m256i va = broadcast_quad(a0 + k, klen);
      QK_SAT16_MADD(c00, va, w0), QK_SAT16_MADD(c01, va, w1);
      va = broadcast_quad(a1 + k, klen);
      QK_SAT16_MADD(c10, va, w0), QK_SAT16_MADD(c11, va, w1);
      va = broadcast_quad(a2 + k, klen);
      QK_SAT16_MADD(c20, va, w0), QK_SAT16_MADD(c21, va, w1);
      va = broadcast_quad(a3 + k, klen);
      QK_SAT16_MADD(c30, va, w0), QK_SAT16_MADD(c31, va, w1);
    }
    const size_t ncols = nc - n0 < NR ? nc - n0 : NR;
    store_row(c + n0, ncols, c00, c01);
    if (mr > 1) store_row(c + c_stride + n0, ncols, c10, c11);
    if (mr > 2) store_row(c + 2 * c_stride + n0, ncols, c20, c21);
    if (mr > 3) store_row(c + 3 * c_stride + n0, ncols, c30, c31);
    block += NR * sizeof(int32_t) + kblocks * NR * KR;
  }
}
