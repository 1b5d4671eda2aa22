/* qk_gemm_u8s8_4x8c4__generic — the reference GEMM microkernel (portable C).
 *
 * Computes an mr x nc tile (mr <= 4, any nc) of c[m][n] = colterm[n] + Σ_k a[m][k] * w[n][k],
 * int32 wrapping modulo 2^32, on weights packed with NR = 8, KR = 4 (arch/ukernel.h, qk_pack_gemm__generic):
 *   per 8-column block: int32 colterm[8]; int8 w[ceil(kc/4)][8][4].
 * Reads exactly kc bytes of each row of a (the padding k of w are zero and are skipped).
 * This kernel is the specification every SIMD GEMM kernel is tested against: keep it obvious. */
#include <string.h>

#include "arch/generic/generic.h"

enum { MR = 4, NR = 8, KR = 4 };

void qk_gemm_u8s8_4x8c4__generic(size_t mr, size_t nc, size_t kc, const uint8_t* a, size_t a_stride,
                                 const void* w, int32_t* c, size_t c_stride) {
  const size_t kblocks = (kc + KR - 1) / KR;
  const int8_t* block = (const int8_t*)w;
  for (size_t n0 = 0; n0 < nc; n0 += NR) {
    int32_t colterm[NR];
    memcpy(colterm, block, sizeof(colterm));
    const int8_t* wk = block + sizeof(colterm);

    /* uint32 accumulators: the frameworks' int32 sums wrap, and signed overflow is UB in C. */
    uint32_t acc[MR][NR];
    for (size_t m = 0; m < MR; m++) {
      for (size_t n = 0; n < NR; n++) acc[m][n] = (uint32_t)colterm[n];
    }
    for (size_t kb = 0; kb < kblocks; kb++) {
      const size_t klen = kc - kb * KR < KR ? kc - kb * KR : KR;
      for (size_t m = 0; m < mr; m++) {
        const uint8_t* ak = a + m * a_stride + kb * KR;
        for (size_t n = 0; n < NR; n++) {
          for (size_t k = 0; k < klen; k++) {
            acc[m][n] += (uint32_t)((int32_t)ak[k] * (int32_t)wk[(kb * NR + n) * KR + k]);
          }
        }
      }
    }

    const size_t ncols = nc - n0 < NR ? nc - n0 : NR;
    for (size_t m = 0; m < mr; m++) {
      for (size_t n = 0; n < ncols; n++) c[m * c_stride + n0 + n] = (int32_t)acc[m][n];
    }
    block = wk + kblocks * NR * KR;
  }
}
