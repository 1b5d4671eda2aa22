/* qk_gemm_u8s8_sat16_4x8c4__generic — the reference of the saturating GEMM (portable C).
 *
 * What FBGEMM's vpmaddubsw kernels compute (docs/numerics.md, "int16 pair saturation"): the raw
 * u8 x s8 products of adjacent K indices (2j, 2j + 1) are added with signed saturation to int16,
 * then the pair sums are added exactly (vpmaddwd with ones, vpaddd):
 *   c[m][n] = colterm[n] + Σ_{j < ceil(kc/2)} sat16(a[m][2j] w[n][2j] + a[m][2j+1] w[n][2j+1])
 * (int32 wrapping modulo 2^32; an odd kc pairs the last index with 0). Same weight layout as
 * qk_gemm_u8s8_4x8c4__generic (NR = 8, KR = 4; KR even, so a K quad holds two whole pairs and
 * pairs start at K index 0 like FBGEMM's). With im2col's (kh, kw, c) K order, a depthwise
 * convolution (one channel per group) pairs filter taps (2i, 2i + 1), as FBGEMM's depthwise kernel
 * does. Keep it obvious: it is the specification of every saturating SIMD kernel. */
#include <string.h>

#include "arch/generic/generic.h"

enum { MR = 4, NR = 8, KR = 4 };

static int32_t sat16(int32_t v) { return v < -32768 ? -32768 : v > 32767 ? 32767 : v; }

void qk_gemm_u8s8_sat16_4x8c4__generic(size_t mr, size_t nc, size_t kc, const uint8_t* a,
                                       size_t a_stride, const void* w, int32_t* c,
                                       size_t c_stride) {
  const size_t kblocks = (kc + KR - 1) / KR;
  const int8_t* block = (const int8_t*)w;
  for (size_t n0 = 0; n0 < nc; n0 += NR) {
    int32_t colterm[NR];
    memcpy(colterm, block, sizeof(colterm));
    const int8_t* wk = block + sizeof(colterm);
    const size_t ncols = nc - n0 < NR ? nc - n0 : NR;
    for (size_t m = 0; m < mr; m++) {
      const uint8_t* am = a + m * a_stride;
      for (size_t n = 0; n < ncols; n++) {
        uint32_t acc = (uint32_t)colterm[n]; /* wraps like the frameworks' int32 sums */
        for (size_t k = 0; k < kc; k += 2) {
          const int8_t* wq = wk + (k / KR * NR + n) * KR; /* the K quad holding k and k + 1 */
          int32_t pair = (int32_t)am[k] * (int32_t)wq[k % KR];
          if (k + 1 < kc) pair += (int32_t)am[k + 1] * (int32_t)wq[k % KR + 1];
          acc += (uint32_t)sat16(pair);
        }
        c[m * c_stride + n0 + n] = (int32_t)acc;
      }
    }
    block = wk + kblocks * NR * KR;
  }
}
