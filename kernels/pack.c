/* Weight packing: OIHW int8 -> NR-column blocks of [colterm[NR]][ceil(K/KR)][NR][KR]. */
#include "kernels/pack.h"

#include <string.h>

bool qk_packed_block_size(size_t k, size_t nr, size_t kr, size_t* bytes) {
  size_t weights;
  return qk_mul_size(nr, qk_round_up(k, kr), &weights) &&
         qk_add_size(weights, nr * sizeof(int32_t), bytes);
}

void qk_pack_gemm_weights(size_t n, size_t cg, size_t kh, size_t kw, size_t nr, size_t kr,
                          const int8_t* w, const int32_t* colterm, void* packed) {
  const size_t k = kh * kw * cg;
  size_t block_bytes = 0;
  qk_packed_block_size(k, nr, kr, &block_bytes); /* checked by the caller */
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

bool qk_packed_dwconv_size(size_t channels, size_t taps, size_t cb, size_t* bytes) {
  size_t per_block, blocks = (channels + cb - 1) / cb;
  return qk_mul_size(taps, cb, &per_block) &&
         qk_add_size(per_block, cb * sizeof(int32_t), &per_block) &&
         qk_mul_size(per_block, blocks, bytes);
}

void qk_pack_dwconv_weights(size_t channels, size_t taps, size_t cb, const int8_t* w,
                            const int32_t* colterm, void* packed) {
  const size_t block_bytes = cb * sizeof(int32_t) + taps * cb;
  uint8_t* out = (uint8_t*)packed;
  for (size_t c0 = 0; c0 < channels; c0 += cb) {
    memset(out, 0, block_bytes);
    int32_t* terms = (int32_t*)(void*)out;
    int8_t* wout = (int8_t*)(out + cb * sizeof(int32_t));
    for (size_t j = 0; j < cb && c0 + j < channels; j++) {
      terms[j] = colterm[c0 + j];
      for (size_t t = 0; t < taps; t++) wout[t * cb + j] = w[(c0 + j) * taps + t];
    }
    out += block_bytes;
  }
}
