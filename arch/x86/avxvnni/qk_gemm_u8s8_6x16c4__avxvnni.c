/* qk_gemm_u8s8_6x16c4__avxvnni — u8 x s8 GEMM microkernel, VEX vpdpbusd on ymm (AVX-VNNI:
 * Alder Lake and later, Zen 5).
 *
 * Contract (arch/ukernel.h): c[m][n] = colterm[n] + Σ_{k<kc} a[m][k] * w[n][k], int32 wrapping
 * modulo 2^32 (vpdpbusd adds without saturation), for m < mr <= 6 and n < nc (any nc >= 1).
 * Tile: 6 rows x 16 columns = 12 ymm accumulators + 2 weight registers + 1 broadcast: the 16
 * VEX registers, and 12 independent chains cover vpdpbusd's latency (5) x throughput (2/cycle).
 * Packing: the generic layout with NR = 16, KR = 4 (qk_pack_gemm__generic): per 16-column block
 *   int32 colterm[16]; int8 w[ceil(kc/4)][16][4]      (blocks are 64-byte multiples)
 * a: u8 rows at a + m * a_stride bytes, unaligned; exactly kc bytes of each row are read (the
 *    K tail is assembled from single bytes: a 1x1 convolution passes the user's input here).
 * c: int32 rows at c + m * c_stride elements; the last column block is stored with vpmaskmovd.
 * Rows mr..5 recompute row mr - 1; with mr <= 3 a 3-row body runs instead.
 * Requires AVX2 + AVX-VNNI. The same source, compiled with QK_AVXVNNI_EVEX defined, gives
 * qk_gemm_u8s8_6x16c4__avxvnni_evex: identical code with the EVEX encoding of the ymm vpdpbusd
 * (AVX512-VNNI + VL), so the kernel's logic is tested bit-exactly on AVX-512 machines without
 * AVX-VNNI (test/avxvnni_evex_test.cc). */
#include <immintrin.h>
#include <string.h>

#include "arch/x86/avxvnni/avxvnni.h"

#ifdef QK_AVXVNNI_EVEX
#define QK_GEMM_FN qk_gemm_u8s8_6x16c4__avxvnni_evex
#define QK_DPBUSD _mm256_dpbusd_epi32
#else
#define QK_GEMM_FN qk_gemm_u8s8_6x16c4__avxvnni
#define QK_DPBUSD _mm256_dpbusd_avx_epi32
#endif

enum { MR = 6, NR = 16, KR = 4, NV = NR / 8 };

/* Bytes k..k+3 of a row as one int32 in every lane: the u8 operand of vpdpbusd. */
static inline __m256i broadcast_a(const uint8_t* p) {
  int32_t v;
  memcpy(&v, p, sizeof(v));
  return _mm256_set1_epi32(v);
}

/* The last n < 4 bytes of a row, zero-extended, read one by one (AVX2 has no byte mask). */
static inline __m256i broadcast_a_tail(const uint8_t* p, size_t n) {
  uint32_t v = p[0];
  if (n > 1) v |= (uint32_t)p[1] << 8;
  if (n > 2) v |= (uint32_t)p[2] << 16;
  return _mm256_set1_epi32((int32_t)v);
}

/* Stores one column block; the last block of a call stores lanes < cols only. */
static inline __attribute__((always_inline)) void store_rows(const size_t rows, __m256i acc[MR][NV],
                                                             int32_t* const cr[MR], size_t n0,
                                                             size_t cols) {
  const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
#pragma GCC unroll 8
  for (size_t j = 0; j < NV; j++) {
    const int32_t left = cols >= NR ? 8 : (int32_t)cols - 8 * (int32_t)j;
    const __m256i mask = _mm256_cmpgt_epi32(_mm256_set1_epi32(left), lane);
#pragma GCC unroll 8
    for (size_t m = 0; m < rows; m++) {
      if (cols >= NR) {
        _mm256_storeu_si256((__m256i*)(cr[m] + n0 + 8 * j), acc[m][j]);
      } else {
        _mm256_maskstore_epi32(cr[m] + n0 + 8 * j, mask, acc[m][j]);
      }
    }
  }
}

/* One row block of `rows` (a compile-time constant after inlining: 6 or 3) for all of nc. */
static inline __attribute__((always_inline)) void gemm_rows(const size_t rows, size_t mr, size_t nc,
                                                            size_t kc, const uint8_t* a,
                                                            size_t a_stride, const int8_t* w,
                                                            int32_t* c, size_t c_stride) {
  const uint8_t* ar[MR];
  int32_t* cr[MR];
#pragma GCC unroll 8
  for (size_t m = 0; m < rows; m++) {
    const size_t row = m < mr ? m : mr - 1;
    ar[m] = a + row * a_stride;
    cr[m] = c + row * c_stride;
  }
  const size_t kmain = kc & ~(size_t)(KR - 1), ktail = kc & (KR - 1);
  for (size_t n0 = 0; n0 < nc; n0 += NR) {
    __m256i acc[MR][NV];
#pragma GCC unroll 8
    for (size_t j = 0; j < NV; j++) {
      const __m256i colterm = _mm256_loadu_si256((const __m256i*)(w + 32 * j));
#pragma GCC unroll 8
      for (size_t m = 0; m < rows; m++) acc[m][j] = colterm;
    }
    w += NR * sizeof(int32_t);
    for (size_t k = 0; k < kmain; k += KR) {
      const __m256i w0 = _mm256_loadu_si256((const __m256i*)w);
      const __m256i w1 = _mm256_loadu_si256((const __m256i*)(w + 32));
      w += NR * KR;
#pragma GCC unroll 8
      for (size_t m = 0; m < rows; m++) { /* one broadcast register live: 12 + 2 + 1 of 16 */
        const __m256i av = broadcast_a(ar[m] + k);
        acc[m][0] = QK_DPBUSD(acc[m][0], av, w0);
        acc[m][1] = QK_DPBUSD(acc[m][1], av, w1);
      }
    }
    if (ktail != 0) { /* the packed k past kc are zero; the a bytes there are never read */
      const __m256i w0 = _mm256_loadu_si256((const __m256i*)w);
      const __m256i w1 = _mm256_loadu_si256((const __m256i*)(w + 32));
      w += NR * KR;
#pragma GCC unroll 8
      for (size_t m = 0; m < rows; m++) {
        const __m256i av = broadcast_a_tail(ar[m] + kmain, ktail);
        acc[m][0] = QK_DPBUSD(acc[m][0], av, w0);
        acc[m][1] = QK_DPBUSD(acc[m][1], av, w1);
      }
    }
    store_rows(rows, acc, cr, n0, nc - n0);
  }
}

void QK_GEMM_FN(size_t mr, size_t nc, size_t kc, const uint8_t* a, size_t a_stride, const void* w,
                int32_t* c, size_t c_stride) {
  if (mr > MR / 2) {
    gemm_rows(MR, mr, nc, kc, a, a_stride, (const int8_t*)w, c, c_stride);
  } else {
    gemm_rows(MR / 2, mr, nc, kc, a, a_stride, (const int8_t*)w, c, c_stride);
  }
}
