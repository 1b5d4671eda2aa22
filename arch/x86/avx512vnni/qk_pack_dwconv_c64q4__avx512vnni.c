/* qk_pack_dwconv_c64q4__avx512vnni / qk_packed_dwconv_size_c64q4__avx512vnni — depthwise weight
 * packing for qk_dwconv_u8s8_c64__avx512vnni: per block of 64 channels (c = c0 + 16L + 4j + i,
 * L = 128-bit lane, j = interleaved vector, i = dword in the lane), taps in quads (t = 4g + k):
 *     int32 colterm[4 j][4 L][4 i]
 *     int8  w[ceil(taps / 4) g][4 j][4 L][4 i][4 k]
 * i.e. the order in which the kernel's unpacks leave the 4 taps of each channel next to each
 * other for vpdpbusd. Channels past `channels` and taps past `taps` are zero. cb must be 64.
 * w is w[c][tap] (OIHW with I = 1). Plain C, run once at create. */
#include <string.h>

#include "arch/x86/avx512vnni/avx512vnni.h"

enum { CB = 64, QUAD_BYTES = 256 };

bool qk_packed_dwconv_size_c64q4__avx512vnni(size_t channels, size_t taps, size_t cb,
                                             size_t* bytes) {
  const size_t blocks = (channels + CB - 1) / CB, quads = taps / 4 + (taps % 4 != 0);
  size_t per_block;
  return cb == CB && qk_mul_size(quads + 1, QUAD_BYTES, &per_block) &&
         qk_mul_size(per_block, blocks, bytes);
}

void qk_pack_dwconv_c64q4__avx512vnni(size_t channels, size_t taps, size_t cb, const int8_t* w,
                                      const int32_t* colterm, void* packed) {
  size_t block_bytes = 0;
  qk_packed_dwconv_size_c64q4__avx512vnni(1, taps, cb, &block_bytes); /* checked by the caller */
  uint8_t* out = (uint8_t*)packed;
  for (size_t c0 = 0; c0 < channels; c0 += CB, out += block_bytes) {
    memset(out, 0, block_bytes);
    int8_t* wout = (int8_t*)(out + QUAD_BYTES);
    for (size_t c = 0; c < CB && c0 + c < channels; c++) {
      const size_t lane = c / 16, j = c % 16 / 4, i = c % 4;
      const size_t pos = (j * 4 + lane) * 4 + i; /* dword of channel c in the [j][L][i] order */
      memcpy(out + pos * sizeof(int32_t), &colterm[c0 + c], sizeof(int32_t));
      for (size_t t = 0; t < taps; t++) {
        wout[t / 4 * QUAD_BYTES + pos * 4 + t % 4] = w[(c0 + c) * taps + t];
      }
    }
  }
}
