/* qk_pack_gemm__generic — GEMM weight packing in the layout of arch/ukernel.h, for any NR / KR.
 *
 * OIHW int8 weights of n output channels ([n][cg][kh][kw]) -> ceil(n / nr) blocks of
 *   int32 colterm[nr]; int8 w[ceil(k / kr)][nr][kr]      k = kh * kw * cg in (kh, kw, c) order,
 * matching im2col's rows; columns past n and k past kc are zero. Done once, at create. */
#include <string.h>

#include "arch/generic/generic.h"

bool qk_packed_block_size__generic(size_t k, size_t nr, size_t kr, size_t* bytes) {
  size_t weights;
  return qk_mul_size(nr, qk_round_up(k, kr), &weights) &&
         qk_add_size(weights, nr * sizeof(int32_t), bytes);
}

void qk_pack_gemm__generic(size_t n, size_t cg, size_t kh, size_t kw, size_t nr, size_t kr,
                           const int8_t* w, const int32_t* colterm, void* packed) {
  const size_t k = kh * kw * cg;
  size_t block_bytes = 0;
  qk_packed_block_size__generic(k, nr, kr, &block_bytes); /* checked by the caller */
  uint8_t* out = (uint8_t*)packed;
  for (size_t n0 = 0; n0 < n; n0 += nr) {
    memset(out, 0, block_bytes);
    int32_t* terms = (int32_t*)(void*)out;
    int8_t* wout = (int8_t*)(out + nr * sizeof(int32_t));
    for (size_t j = 0; j < nr && n0 + j < n; j++) {
      terms[j] = colterm[n0 + j];
      const int8_t* wo = w + (n0 + j) * cg * kh * kw; /* [cg][kh][kw] of this channel */
      for (size_t y = 0; y < kh; y++) {
        for (size_t x = 0; x < kw; x++) {
          for (size_t c = 0; c < cg; c++) {
            const size_t kk = (y * kw + x) * cg + c;
            wout[(kk / kr * nr + j) * kr + kk % kr] = wo[(c * kh + y) * kw + x];
          }
        }
      }
    }
    out += block_bytes;
  }
}
