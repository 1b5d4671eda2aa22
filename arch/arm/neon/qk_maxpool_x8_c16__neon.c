/* Max pooling, ARMv8.0 NEON: the maxpool family of arch/ukernel.h, bit-identical to
 * qk_maxpool_x8_c1__generic.
 *   out[c] = (max over rows x cols taps of (in[c] ^ xor_mask)) ^ xor_mask
 * 16 channels per q register (umax on the XORed bytes: s8 order through the 0x80 flip), then 8
 * per d register, then one at a time: never reads past `channels` bytes of a tap. No alignment.
 * ISA: ARMv8.0 Advanced SIMD. */
#include <arm_neon.h>

#include "arch/ukernel.h"

QK_DECLARE_MAXPOOL(qk_maxpool_x8_c16__neon) {
  const uint8x16_t flip = vdupq_n_u8(xor_mask);
  size_t c = 0;
  for (; c + 16 <= channels; c += 16) {
    uint8x16_t m = vdupq_n_u8(0);
    for (size_t r = 0; r < rows; r++) {
      const uint8_t* row = row_ptrs[r] + c;
      for (size_t j = 0; j < cols; j++)
        m = vmaxq_u8(m, veorq_u8(vld1q_u8(row + col_offsets[j]), flip));
    }
    vst1q_u8(out + c, veorq_u8(m, flip));
  }
  if (c + 8 <= channels) {
    const uint8x8_t f = vget_low_u8(flip);
    uint8x8_t m = vdup_n_u8(0);
    for (size_t r = 0; r < rows; r++) {
      const uint8_t* row = row_ptrs[r] + c;
      for (size_t j = 0; j < cols; j++) m = vmax_u8(m, veor_u8(vld1_u8(row + col_offsets[j]), f));
    }
    vst1_u8(out + c, veor_u8(m, f));
    c += 8;
  }
  for (; c < channels; c++) {
    uint8_t m = 0;
    for (size_t r = 0; r < rows; r++) {
      for (size_t j = 0; j < cols; j++) {
        const uint8_t v = (uint8_t)(row_ptrs[r][col_offsets[j] + c] ^ xor_mask);
        m = v > m ? v : m;
      }
    }
    out[c] = (uint8_t)(m ^ xor_mask);
  }
}
