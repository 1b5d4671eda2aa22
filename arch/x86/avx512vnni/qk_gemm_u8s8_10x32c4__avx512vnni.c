/* qk_gemm_u8s8_10x32c4__avx512vnni — u8 x s8 GEMM microkernel, EVEX vpdpbusd on zmm.
 *
 * Contract (arch/ukernel.h): c[m][n] = colterm[n] + Σ_{k<kc} a[m][k] * w[n][k], int32 wrapping
 * modulo 2^32 (vpdpbusd adds without saturation), for m < mr <= 10 and n < nc (any nc >= 1).
 * Tile: 10 rows x 32 columns = 20 zmm accumulators + 2 weight registers + 1 broadcast.
 * Packing: the generic layout with NR = 32, KR = 4 (qk_pack_gemm__generic): per 32-column block
 *   int32 colterm[32]; int8 w[ceil(kc/4)][32][4]     (blocks are 128-byte multiples)
 * so one k-group of a block is two zmm loads and row m needs its 4 bytes broadcast to 16 lanes.
 * a: u8 rows at a + m * a_stride bytes, unaligned; exactly kc bytes of each row are read (the
 *    K tail is a masked byte load: a 1x1 convolution passes the user's input here).
 * c: int32 rows at c + m * c_stride elements; the last column block is stored with a lane mask.
 * Rows mr..9 recompute row mr - 1 (same pointers, same values); with mr <= 5 a 5-row body runs
 * instead, so the M remainder of an image costs at most half a tile of wasted work.
 * Requires AVX512 F + BW + VL (masked byte load) + VNNI. */
#include <immintrin.h>
#include <string.h>

#include "arch/x86/avx512vnni/avx512vnni.h"

enum { MR = 10, NR = 32, KR = 4, NV = NR / 16 };

/* Bytes k..k+3 of a row as one int32 in every lane: the u8 operand of vpdpbusd. */
static inline __m512i broadcast_a(const uint8_t* p) {
  int32_t v;
  memcpy(&v, p, sizeof(v));
  return _mm512_set1_epi32(v);
}

/* The last n < 4 bytes of a row, zero-extended, without touching the bytes after them. */
static inline __m512i broadcast_a_tail(const uint8_t* p, size_t n) {
  const __m128i v = _mm_maskz_loadu_epi8((__mmask16)((1u << n) - 1), p);
  return _mm512_broadcastd_epi32(v);
}

/* Lanes of column vector j that hold one of the `cols` columns still to store. */
static inline __mmask16 column_mask(size_t cols, size_t j) {
  const size_t first = 16 * j;
  const size_t n = cols <= first ? 0 : cols - first >= 16 ? 16 : cols - first;
  return (__mmask16)((1u << n) - 1);
}

/* Stores the accumulators of one column block; only the last block of a call needs masks. */
static inline __attribute__((always_inline)) void store_rows(const size_t rows, __m512i acc[MR][NV],
                                                             int32_t* const cr[MR], size_t n0,
                                                             size_t cols) {
#pragma GCC unroll 16
  for (size_t m = 0; m < rows; m++) {
#pragma GCC unroll 16
    for (size_t j = 0; j < NV; j++) {
      if (cols >= NR) {
        _mm512_storeu_si512(cr[m] + n0 + 16 * j, acc[m][j]);
      } else {
        _mm512_mask_storeu_epi32(cr[m] + n0 + 16 * j, column_mask(cols, j), acc[m][j]);
      }
    }
  }
}

/* One row block of `rows` (a compile-time constant after inlining: 10 or 5) for all of nc. */
static inline __attribute__((always_inline)) void gemm_rows(const size_t rows, size_t mr, size_t nc,
                                                            size_t kc, const uint8_t* a,
                                                            size_t a_stride, const int8_t* w,
                                                            int32_t* c, size_t c_stride) {
  const uint8_t* ar[MR];
  int32_t* cr[MR];
#pragma GCC unroll 16
  for (size_t m = 0; m < rows; m++) {
    const size_t row = m < mr ? m : mr - 1;
    ar[m] = a + row * a_stride;
    cr[m] = c + row * c_stride;
  }
  const size_t kmain = kc & ~(size_t)(KR - 1), ktail = kc & (KR - 1);
  for (size_t n0 = 0; n0 < nc; n0 += NR) {
    __m512i acc[MR][NV];
#pragma GCC unroll 16
    for (size_t j = 0; j < NV; j++) {
      const __m512i colterm = _mm512_loadu_si512(w + 64 * j);
#pragma GCC unroll 16
      for (size_t m = 0; m < rows; m++) acc[m][j] = colterm;
    }
    w += NR * sizeof(int32_t);
    for (size_t k = 0; k < kmain; k += KR) {
      __m512i wv[NV];
#pragma GCC unroll 16
      for (size_t j = 0; j < NV; j++) wv[j] = _mm512_loadu_si512(w + 64 * j);
      w += NR * KR;
#pragma GCC unroll 16
      for (size_t m = 0; m < rows; m++) {
        const __m512i av = broadcast_a(ar[m] + k);
#pragma GCC unroll 16
        for (size_t j = 0; j < NV; j++) acc[m][j] = _mm512_dpbusd_epi32(acc[m][j], av, wv[j]);
      }
    }
    if (ktail != 0) { /* the packed k past kc are zero: any a byte there would do, none is read */
      __m512i wv[NV];
#pragma GCC unroll 16
      for (size_t j = 0; j < NV; j++) wv[j] = _mm512_loadu_si512(w + 64 * j);
      w += NR * KR;
#pragma GCC unroll 16
      for (size_t m = 0; m < rows; m++) {
        const __m512i av = broadcast_a_tail(ar[m] + kmain, ktail);
#pragma GCC unroll 16
        for (size_t j = 0; j < NV; j++) acc[m][j] = _mm512_dpbusd_epi32(acc[m][j], av, wv[j]);
      }
    }
    store_rows(rows, acc, cr, n0, nc - n0);
  }
}

void qk_gemm_u8s8_10x32c4__avx512vnni(size_t mr, size_t nc, size_t kc, const uint8_t* a,
                                      size_t a_stride, const void* w, int32_t* c, size_t c_stride) {
  if (mr > MR / 2) {
    gemm_rows(MR, mr, nc, kc, a, a_stride, (const int8_t*)w, c, c_stride);
  } else {
    gemm_rows(MR / 2, mr, nc, kc, a, a_stride, (const int8_t*)w, c, c_stride);
  }
}
