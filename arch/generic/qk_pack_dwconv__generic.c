/* qk_pack_dwconv__generic — depthwise weight packing in the layout of arch/ukernel.h, any CB.
 *
 * w[c][tap] int8 (OIHW with I = 1) and colterm[c] -> ceil(channels / cb) blocks of
 *   int32 colterm[cb]; int8 w[taps][cb]       (channels past `channels` zero). */
#include <string.h>

#include "arch/generic/generic.h"

bool qk_packed_dwconv_size__generic(size_t channels, size_t taps, size_t cb, size_t* bytes) {
  size_t per_block, blocks = (channels + cb - 1) / cb;
  return qk_mul_size(taps, cb, &per_block) &&
         qk_add_size(per_block, cb * sizeof(int32_t), &per_block) &&
         qk_mul_size(per_block, blocks, bytes);
}

void qk_pack_dwconv__generic(size_t channels, size_t taps, size_t cb, const int8_t* w,
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
