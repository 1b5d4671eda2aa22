/* qk_gemm_u8s8_5x16c2__avx2 — exact u8 x s8 GEMM on AVX2 with vpmaddwd on int16 pairs.
 *
 * Computes c[m][n] = colterm[n] + Σ_{k < kc} a[m][k] * w[n][k], int32 wrapping modulo 2^32, for
 * m < mr <= 5 and any nc >= 1 (arch/ukernel.h), on a 5 x 16 register tile.
 * Packing (qk_pack_gemm_c2_i16__avx2): per 16-column block
 *     int32 colterm[16]; int16 w[ceil(kc / 2)][16][2]      (64 + 64 * ceil(kc / 2) bytes)
 * i.e. the weights already widened to int16 pairs, zero past nc and past kc. No alignment needed.
 * a: u8 rows at a + m * a_stride; exactly kc bytes of each row are read. c: int32, row stride
 * c_stride elements. Tails: rows past mr alias the last row (computed, never stored); columns past
 * nc are computed from zero weights and not stored. Needs AVX2.
 *
 * Exactness: a in [0, 255] and w in [-128, 127] are exact int16; vpmaddwd forms a0*w0 + a1*w1 in
 * 32 bits, |.| <= 2 * 255 * 128 = 65280, and vpaddd accumulates modulo 2^32 — exactly the
 * specification (no int16 saturation, unlike vpmaddubsw, which saturates that pair sum at 32767).
 *
 * Why this layout (measured on Zen 4, docs in config.c): with the A rows widened once into a
 * stack buffer, the inner loop is one vpbroadcastd (a pure load) per row and k pair, and one
 * vpmaddwd + vpaddd per 8 outputs: no shuffle at all, no final reduction. The widening is paid once
 * per chunk of KC k for all nc / 16 column blocks. kc > KC is done in chunks that continue from c.
 */
#include <immintrin.h>
#include <string.h>

#include "arch/x86/avx2/avx2.h"

enum { MR = 5, NR = 16, KC = 512, ROW = KC + 16 /* int16 per buffer row, keeps rows 32-aligned */ };

/* rows x klen bytes of A -> int16 rows of buf, plus one zero so an odd klen ends on a full pair. */
static void widen_rows(size_t rows, size_t klen, const uint8_t* a, size_t a_stride, int16_t* buf) {
  for (size_t r = 0; r < rows; r++, buf += ROW) {
    const uint8_t* row = a + r * a_stride;
    size_t k = 0;
    for (; k + 16 <= klen; k += 16) {
      const __m128i v = _mm_loadu_si128((const __m128i*)(row + k));
      _mm256_store_si256((__m256i*)(buf + k), _mm256_cvtepu8_epi16(v));
    }
    if (k + 8 <= klen) { /* K = 24, 72, 147...: one 8-byte step before the scalar tail */
      const __m128i v = _mm_loadl_epi64((const __m128i*)(row + k)); /* exactly 8 bytes */
      _mm_store_si128((__m128i*)(buf + k), _mm_cvtepu8_epi16(v));
      k += 8;
    }
    for (; k < klen; k++) buf[k] = row[k];
    buf[klen] = 0;
  }
}

/* Stores the first n <= 16 columns of one row (v0: columns 0-7, v1: 8-15). */
static inline void store_row(int32_t* c, size_t n, __m256i v0, __m256i v1) {
  if (n == 16) {
    _mm256_storeu_si256((__m256i*)c, v0), _mm256_storeu_si256((__m256i*)(c + 8), v1);
    return;
  }
  if (n & 8) _mm256_storeu_si256((__m256i*)c, v0), v0 = v1, c += 8;
  __m128i x = _mm256_castsi256_si128(v0);
  if (n & 4) _mm_storeu_si128((__m128i*)c, x), x = _mm256_extracti128_si256(v0, 1), c += 4;
  if (n & 2) _mm_storel_epi64((__m128i*)c, x), x = _mm_unpackhi_epi64(x, x), c += 2;
  if (n & 1) *c = _mm_cvtsi128_si32(x);
}

/* The int16 pair (a[k], a[k+1]) as one int32 in every lane (memcpy: buf is an int16 array). */
static inline __m256i broadcast_pair(const int16_t* a) {
  int32_t pair;
  memcpy(&pair, a, sizeof(pair));
  return _mm256_set1_epi32(pair);
}

#define QK_MADD(acc, va, vw) acc = _mm256_add_epi32(acc, _mm256_madd_epi16(va, vw))

/* One 5 x (8 * nv) block (nv = 1 or 2: columns 0-7 or 0-15 of a 16-column block) over kp k
 * pairs of the widened rows in buf. The first chunk starts from colterm, later ones continue from
 * c (through a zero-padded copy for a partial block). Instantiated for nv = 1, 2 out of line:
 * inlined into the loops around it, GCC 12 spills the 10 accumulators. */
static inline __attribute__((always_inline)) void gemm_block(size_t mr, size_t cols, size_t kp,
                                                             const int16_t* buf, const uint8_t* w,
                                                             size_t w_offset, int32_t* c,
                                                             size_t c_stride, bool first, int nv) {
  const int16_t* a0 = buf;
  const int16_t* a1 = mr > 1 ? a0 + ROW : a0;
  const int16_t* a2 = mr > 2 ? a1 + ROW : a1;
  const int16_t* a3 = mr > 3 ? a2 + ROW : a2;
  const int16_t* a4 = mr > 4 ? a3 + ROW : a3;
  int32_t* c0 = c;
  int32_t* c1 = mr > 1 ? c0 + c_stride : c0;
  int32_t* c2 = mr > 2 ? c1 + c_stride : c1;
  int32_t* c3 = mr > 3 ? c2 + c_stride : c2;
  int32_t* c4 = mr > 4 ? c3 + c_stride : c3;
  int32_t tile[MR][NR]; /* c of a partial block, zero-padded, when continuing a chunk */
  const int32_t *i0 = (const int32_t*)w, *i1 = i0, *i2 = i0, *i3 = i0, *i4 = i0;
  if (!first && cols == NR) {
    i0 = c0, i1 = c1, i2 = c2, i3 = c3, i4 = c4;
  } else if (!first) {
    memset(tile, 0, sizeof(tile));
    for (size_t m = 0; m < mr; m++) memcpy(tile[m], c + m * c_stride, cols * sizeof(int32_t));
    i0 = tile[0], i1 = mr > 1 ? tile[1] : i0, i2 = mr > 2 ? tile[2] : i1;
    i3 = mr > 3 ? tile[3] : i2, i4 = mr > 4 ? tile[4] : i3;
  }
  __m256i vacc0x0 = _mm256_loadu_si256((const __m256i*)i0), vacc0x1 = vacc0x0;
  __m256i vacc1x0 = _mm256_loadu_si256((const __m256i*)i1), vacc1x1 = vacc0x0;
  __m256i vacc2x0 = _mm256_loadu_si256((const __m256i*)i2), vacc2x1 = vacc0x0;
  __m256i vacc3x0 = _mm256_loadu_si256((const __m256i*)i3), vacc3x1 = vacc0x0;
  __m256i vacc4x0 = _mm256_loadu_si256((const __m256i*)i4), vacc4x1 = vacc0x0;
  if (nv == 2) {
    vacc0x1 = _mm256_loadu_si256((const __m256i*)(i0 + 8));
    vacc1x1 = _mm256_loadu_si256((const __m256i*)(i1 + 8));
    vacc2x1 = _mm256_loadu_si256((const __m256i*)(i2 + 8));
    vacc3x1 = _mm256_loadu_si256((const __m256i*)(i3 + 8));
    vacc4x1 = _mm256_loadu_si256((const __m256i*)(i4 + 8));
  }
  const __m256i* wp = (const __m256i*)(w + NR * sizeof(int32_t) + w_offset);
  for (size_t k = 0; k < 2 * kp; k += 2, wp += 2) {
    const __m256i vw0 = _mm256_loadu_si256(wp);
    const __m256i vw1 = nv == 2 ? _mm256_loadu_si256(wp + 1) : vw0;
    const __m256i va0 = broadcast_pair(a0 + k);
    QK_MADD(vacc0x0, va0, vw0);
    if (nv == 2) QK_MADD(vacc0x1, va0, vw1);
    const __m256i va1 = broadcast_pair(a1 + k);
    QK_MADD(vacc1x0, va1, vw0);
    if (nv == 2) QK_MADD(vacc1x1, va1, vw1);
    const __m256i va2 = broadcast_pair(a2 + k);
    QK_MADD(vacc2x0, va2, vw0);
    if (nv == 2) QK_MADD(vacc2x1, va2, vw1);
    const __m256i va3 = broadcast_pair(a3 + k);
    QK_MADD(vacc3x0, va3, vw0);
    if (nv == 2) QK_MADD(vacc3x1, va3, vw1);
    const __m256i va4 = broadcast_pair(a4 + k);
    QK_MADD(vacc4x0, va4, vw0);
    if (nv == 2) QK_MADD(vacc4x1, va4, vw1);
  }
  /* last row first: rows aliased past mr end up holding the right values anyway */
  store_row(c4, cols, vacc4x0, vacc4x1);
  store_row(c3, cols, vacc3x0, vacc3x1);
  store_row(c2, cols, vacc2x0, vacc2x1);
  store_row(c1, cols, vacc1x0, vacc1x1);
  store_row(c0, cols, vacc0x0, vacc0x1);
}

#define QK_BLOCK_ARGS                                                                       \
  size_t mr, size_t cols, size_t kp, const int16_t *buf, const uint8_t *w, size_t w_offset, \
      int32_t *c, size_t c_stride, bool first
static __attribute__((noinline)) void gemm_block16(QK_BLOCK_ARGS) {
  gemm_block(mr, cols, kp, buf, w, w_offset, c, c_stride, first, 2);
}
/* The last block when it has <= 8 columns (e.g. 24 = 16 + 8 output channels): half the work. */
static __attribute__((noinline)) void gemm_block8(QK_BLOCK_ARGS) {
  gemm_block(mr, cols, kp, buf, w, w_offset, c, c_stride, first, 1);
}

void qk_gemm_u8s8_5x16c2__avx2(size_t mr, size_t nc, size_t kc, const uint8_t* a, size_t a_stride,
                               const void* w, int32_t* c, size_t c_stride) {
  _Alignas(32) int16_t buf[MR * ROW];
  const size_t block_bytes = NR * sizeof(int32_t) + (kc + 1) / 2 * NR * 2 * sizeof(int16_t);
  size_t k0 = 0;
  do { /* kc = 0 still makes one pass: c = colterm */
    const size_t klen = kc - k0 < KC ? kc - k0 : KC, kp = (klen + 1) / 2;
    const size_t w_offset = k0 / 2 * NR * 2 * sizeof(int16_t);
    widen_rows(mr, klen, a + k0, a_stride, buf);
    const uint8_t* block = (const uint8_t*)w;
    for (size_t n0 = 0; n0 < nc; n0 += NR, block += block_bytes) {
      const size_t cols = nc - n0 < NR ? nc - n0 : NR;
      (cols > 8 ? gemm_block16 : gemm_block8)(mr, cols, kp, buf, block, w_offset, c + n0, c_stride,
                                              k0 == 0);
    }
    k0 += klen;
  } while (k0 < kc);
}
