/* Max pooling, portable C: the specification of the maxpool family (arch/ukernel.h).
 *   out[c] = (max over rows x cols taps of (in[c] ^ xor_mask)) ^ xor_mask, c < channels
 * Taps: pixel (r, j) at row_ptrs[r] + col_offsets[j] bytes, `channels` bytes each, read exactly.
 * xor_mask 0x80 turns s8 into order-preserving u8. Any channel count; no alignment. */
#include "arch/ukernel.h"

QK_DECLARE_MAXPOOL(qk_maxpool_x8_c1__generic) {
  for (size_t c = 0; c < channels; c++) out[c] = 0;
  for (size_t r = 0; r < rows; r++) {
    for (size_t j = 0; j < cols; j++) {
      const uint8_t* in = row_ptrs[r] + col_offsets[j];
      for (size_t c = 0; c < channels; c++) {
        const uint8_t v = (uint8_t)(in[c] ^ xor_mask);
        if (v > out[c]) out[c] = v;
      }
    }
  }
  for (size_t c = 0; c < channels; c++) out[c] ^= xor_mask;
}
