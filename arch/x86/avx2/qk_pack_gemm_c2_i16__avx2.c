/* qk_pack_gemm_c2_i16__avx2 / qk_packed_block_size_c2_i16__avx2 — weight packing for the AVX2
 * GEMM (qk_gemm_u8s8_5x16c2__avx2): the generic qk_pack_gemm__generic layout with KR = 2, but
 * with every weight stored as int16, so the kernel feeds vpmaddwd straight from memory:
 *     per NR-column block: int32 colterm[NR]; int16 w[ceil(k / 2)][NR][2]
 * Columns past n and the odd k past k are zero. w is OIHW [n][cg][kh][kw]; the packed K order is
 * (kh, kw, c), matching im2col. Plain C, run once at create. */
#include <string.h>

#include "arch/x86/avx2/avx2.h"

bool qk_packed_block_size_c2_i16__avx2(size_t k, size_t nr, size_t kr, size_t* bytes) {
  size_t weights;
  return kr == 2 && qk_mul_size(nr, qk_round_up(k, 2), &weights) &&
         qk_mul_size(weights, sizeof(int16_t), &weights) &&
         qk_add_size(weights, nr * sizeof(int32_t), bytes);
}

void qk_pack_gemm_c2_i16__avx2(size_t n, size_t cg, size_t kh, size_t kw, size_t nr, size_t kr,
                               const int8_t* w, const int32_t* colterm, void* packed) {
  const size_t k = kh * kw * cg;
  size_t block_bytes = 0;
  qk_packed_block_size_c2_i16__avx2(k, nr, kr, &block_bytes); /* checked by the caller */
  uint8_t* out = (uint8_t*)packed;
  for (size_t n0 = 0; n0 < n; n0 += nr, out += block_bytes) {
    memset(out, 0, block_bytes);
    int16_t* wout = (int16_t*)(void*)(out + nr * sizeof(int32_t));
    for (size_t j = 0; j < nr && n0 + j < n; j++) {
      memcpy(out + j * sizeof(int32_t), &colterm[n0 + j], sizeof(int32_t));
      const int8_t* wo = w + (n0 + j) * k; /* [cg][kh][kw] of this channel */
      for (size_t y = 0; y < kh; y++) {
        for (size_t x = 0; x < kw; x++) {
          for (size_t c = 0; c < cg; c++) {
            const size_t kk = (y * kw + x) * cg + c;
            wout[(kk / 2 * nr + j) * 2 + kk % 2] = wo[(c * kh + y) * kw + x];
          }
        }
      }
    }
  }
}
