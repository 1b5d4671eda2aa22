/* qk_dwconv_u8s8_c16__generic — the reference depthwise microkernel (portable C).
 *
 * For each of `pixels` output pixels and each channel c < channels:
 *   acc[p][c] = colterm[c] + Σ_{t < taps} (input[p * taps + t][c] ^ xor_mask) * w[t][c]
 * int32 wrapping modulo 2^32, on weights packed in blocks of 16 channels:
 *   int32 colterm[16]; int8 w[taps][16]           (qk_pack_dwconv__generic)
 * Reads exactly `channels` bytes through each input pointer. Any number of taps (KH * KW). */
#include <string.h>

#include "arch/generic/generic.h"

enum { CB = 16 };

void qk_dwconv_u8s8_c16__generic(size_t channels, size_t pixels, size_t taps,
                                 const uint8_t* const* input, uint8_t xor_mask, const void* w,
                                 int32_t* acc, size_t acc_stride) {
  const size_t block_bytes = CB * sizeof(int32_t) + taps * CB;
  for (size_t p = 0; p < pixels; p++) {
    const uint8_t* const* rows = input + p * taps;
    const uint8_t* block = (const uint8_t*)w;
    for (size_t c0 = 0; c0 < channels; c0 += CB) {
      const size_t cn = channels - c0 < CB ? channels - c0 : CB;
      uint32_t sum[CB];
      memcpy(sum, block, sizeof(sum));
      const int8_t* wt = (const int8_t*)(block + CB * sizeof(int32_t));
      for (size_t t = 0; t < taps; t++) {
        const uint8_t* x = rows[t] + c0;
        for (size_t c = 0; c < cn; c++) {
          sum[c] += (uint32_t)((int32_t)(uint8_t)(x[c] ^ xor_mask) * (int32_t)wt[t * CB + c]);
        }
      }
      for (size_t c = 0; c < cn; c++) acc[p * acc_stride + c0 + c] = (int32_t)sum[c];
      block += block_bytes;
    }
  }
}
