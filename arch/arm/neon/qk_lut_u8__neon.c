/* qk_lut_u8__neon: y[i] = table[x[i]], i < n, bit-identical to qk_lut_u8__generic.
 *
 * 16 bytes per step with the 64-byte table lookups of AArch64: vqtbl4q on table[0..63], then
 * vqtbx4q on table[64..127], [128..191], [192..255] with the index minus 64, 128, 192 (an index
 * that wrapped to >= 64 leaves the lane unchanged). The last n mod 16 bytes go through a
 * 16-byte stack buffer (no read past x[n - 1]). In place (y == x) allowed. ARMv8.0 NEON. */
#include <arm_neon.h>
#include <string.h>

#include "arch/ukernel.h"

static inline uint8x16_t lookup16(uint8x16_t vx, const uint8x16x4_t t[4]) {
  const uint8x16_t v64 = vdupq_n_u8(64);
  uint8x16_t vy = vqtbl4q_u8(t[0], vx);
  vx = vsubq_u8(vx, v64);
  vy = vqtbx4q_u8(vy, t[1], vx);
  vx = vsubq_u8(vx, v64);
  vy = vqtbx4q_u8(vy, t[2], vx);
  vx = vsubq_u8(vx, v64);
  return vqtbx4q_u8(vy, t[3], vx);
}

void qk_lut_u8__neon(size_t n, const uint8_t* x, uint8_t* y, const uint8_t* table) {
  uint8x16x4_t t[4];
  for (int k = 0; k < 4; k++) t[k] = vld1q_u8_x4(table + 64 * k);
  for (; n >= 16; n -= 16, x += 16, y += 16) vst1q_u8(y, lookup16(vld1q_u8(x), t));
  if (n != 0) {
    uint8_t buf[16] = {0};
    memcpy(buf, x, n);
    vst1q_u8(buf, lookup16(vld1q_u8(buf), t));
    memcpy(y, buf, n);
  }
}
