/* Average pooling, ARMv8.0 NEON: the avgpool family of arch/ukernel.h, bit-identical to
 * qk_avgpool_x8_c1__generic.
 *   acc[c] = init + Σ_taps (in[c] ^ xor_mask)   (int32 modulo 2^32: 4 q registers of 4 lanes per
 *                                               16 channels, bytes widened with uxtl / uaddw)
 *   y = clamp(cvtps2dq((float)acc * scale) + zp)            (zero_point_in_float == 0)
 *   y = rne(clamp((float)acc * scale + (float)zp))          (zero_point_in_float != 0)
 * vcvtnq_s32_f32 rounds half to even like lrintf; it saturates where x86 CVTPS2DQ gives
 * INT32_MIN, so qk_neon_cvt_f32_s32_x86 selects INT32_MIN for |v| >= 2^31 (the generic kernel's
 * qk_cvt_f32_i32_x86); the zero point is then added modulo 2^32 (vaddq_s32) like the generic
 * kernel. Separate vmulq / vaddq (no FMA; -ffp-contract=off). Blocks of 16, then 8 channels
 * (8-byte loads), then one at a time: never reads past `channels` bytes of a tap.
 * ISA: ARMv8.0 Advanced SIMD. */
#include <arm_neon.h>

#include "arch/arm/neon/neon-util.h"
#include "arch/ukernel.h"

static inline int32x4_t requant4(uint32x4_t acc, const qk_avgpool_params* p) {
  float32x4_t v = vmulq_f32(vcvtq_f32_s32(vreinterpretq_s32_u32(acc)), vdupq_n_f32(p->scale));
  if (p->zero_point_in_float) {
    v = vaddq_f32(v, vdupq_n_f32((float)p->zero_point));
    v = vminq_f32(vmaxq_f32(v, vdupq_n_f32((float)p->min)), vdupq_n_f32((float)p->max));
    return vcvtnq_s32_f32(v);
  }
  const int32x4_t r = vaddq_s32(qk_neon_cvt_f32_s32_x86(v), vdupq_n_s32(p->zero_point));
  return vminq_s32(vmaxq_s32(r, vdupq_n_s32(p->min)), vdupq_n_s32(p->max));
}

/* Low byte of each of 8 int32 lanes (values in [-128, 255]). */
static inline uint8x8_t narrow8(int32x4_t a, int32x4_t b) {
  const uint16x8_t h =
      vcombine_u16(vmovn_u32(vreinterpretq_u32_s32(a)), vmovn_u32(vreinterpretq_u32_s32(b)));
  return vmovn_u16(h);
}

QK_DECLARE_AVGPOOL(qk_avgpool_x8_c16__neon) {
  const uint8x16_t flip = vdupq_n_u8(params->xor_mask);
  const uint32x4_t init = vdupq_n_u32((uint32_t)params->init);
  size_t c = 0;
  for (; c + 16 <= channels; c += 16) {
    uint32x4_t a0 = init, a1 = init, a2 = init, a3 = init;
    for (size_t r = 0; r < rows; r++) {
      const uint8_t* row = row_ptrs[r] + c;
      for (size_t j = 0; j < cols; j++) {
        const uint8x16_t x = veorq_u8(vld1q_u8(row + col_offsets[j]), flip);
        const uint16x8_t lo = vmovl_u8(vget_low_u8(x)), hi = vmovl_u8(vget_high_u8(x));
        a0 = vaddw_u16(a0, vget_low_u16(lo));
        a1 = vaddw_u16(a1, vget_high_u16(lo));
        a2 = vaddw_u16(a2, vget_low_u16(hi));
        a3 = vaddw_u16(a3, vget_high_u16(hi));
      }
    }
    vst1q_u8(out + c, vcombine_u8(narrow8(requant4(a0, params), requant4(a1, params)),
                                  narrow8(requant4(a2, params), requant4(a3, params))));
  }
  for (; c + 8 <= channels; c += 8) {
    uint32x4_t a0 = init, a1 = init;
    for (size_t r = 0; r < rows; r++) {
      for (size_t j = 0; j < cols; j++) {
        const uint8x8_t x = veor_u8(vld1_u8(row_ptrs[r] + col_offsets[j] + c), vget_low_u8(flip));
        const uint16x8_t w = vmovl_u8(x);
        a0 = vaddw_u16(a0, vget_low_u16(w));
        a1 = vaddw_u16(a1, vget_high_u16(w));
      }
    }
    vst1_u8(out + c, narrow8(requant4(a0, params), requant4(a1, params)));
  }
  if (c < channels) {
    /* The last 1..7 channels: sums in a lane buffer, requantized together. */
    uint32_t acc[8] = {0};
    const size_t n = channels - c;
    for (size_t k = 0; k < n; k++) {
      uint32_t s = (uint32_t)params->init;
      for (size_t r = 0; r < rows; r++) {
        for (size_t j = 0; j < cols; j++) {
          s += (uint8_t)(row_ptrs[r][col_offsets[j] + c + k] ^ params->xor_mask);
        }
      }
      acc[k] = s;
    }
    uint8_t tmp[8];
    vst1_u8(tmp, narrow8(requant4(vld1q_u32(acc), params), requant4(vld1q_u32(acc + 4), params)));
    for (size_t k = 0; k < n; k++) out[c + k] = tmp[k];
  }
}
