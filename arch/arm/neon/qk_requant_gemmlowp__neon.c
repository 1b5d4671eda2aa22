/* qk_requant_gemmlowp__neon — GEMMLOWP epilogue (TFLite MultiplyByQuantizedMultiplier) on NEON.
 *
 * What:    out[m][n] = clamp(RDBPOT(SRDHM(acc << max(shift, 0), multiplier), max(-shift, 0))
 *          + zero_point, min, max), bit-identical to qk_requant_gemmlowp__generic.
 * Tile:    any mr x nc; 8 channels per step (multipliers and shifts loaded once per step).
 * Strides: acc row m at acc + m * acc_stride int32; out row m at out + m * out_stride bytes;
 *          channel n uses params->multiplier / shift[channel_offset + n]. No alignment required.
 * Tails:   the last nc mod 8 channels go through zeroed vectors and a byte store.
 * ISA:     ARMv8.0 Advanced SIMD.
 * Exact:   SRDHM is sqrdmulh itself: the reference's (a·b + nudge) / 2^31 with nudge 1 - 2^30 for
 *          negative products and C truncation equals floor((a·b + 2^30) / 2^31) for every sign
 *          (ceil(y / d) = floor((y + d - 1) / d)), i.e. round half UP, ties included, and both
 *          saturate only INT32_MIN·INT32_MIN to INT32_MAX (checked exhaustively on 22.8M exact
 *          ties against arch/common.h). RDBPOT rounds half AWAY from zero, which srshl
 *          (half up) does not, so it uses the reference's mask/threshold form with per-lane
 *          shifts (sshl by a negative count is an arithmetic right shift). The left shift wraps
 *          (sshl), as the generic uint32 shift does; + zero point wraps modulo 2^32 (an unsigned add), as TFLite's
 *          int32 addition does before its clamp. */
#include <arm_neon.h>

#include "arch/arm/neon/neon-util.h"
#include "arch/arm/neon/ukernels.h"

/* RoundingDivideByPOT: x / 2^e rounded half away from zero, 0 <= e <= 31 per lane. The mask is
 * built unsigned: GCC's vsubq_s32 is C vector arithmetic, where (1 << 31) - 1 would overflow. */
static inline int32x4_t rdbpot(int32x4_t x, int32x4_t e) {
  const int32x4_t mask =
      vreinterpretq_s32_u32(vsubq_u32(vshlq_u32(vdupq_n_u32(1), e), vdupq_n_u32(1)));
  const int32x4_t remainder = vandq_s32(x, mask);
  const int32x4_t threshold =
      vsubq_s32(vshrq_n_s32(mask, 1), vreinterpretq_s32_u32(vcltzq_s32(x))); /* + (x < 0) */
  const int32x4_t shifted = vshlq_s32(x, vnegq_s32(e));
  return vsubq_s32(shifted, vreinterpretq_s32_u32(vcgtq_s32(remainder, threshold)));
}

static inline int32x4_t requant4(int32x4_t acc, int32x4_t multiplier, int32x4_t shift, int32x4_t zp,
                                 int32x4_t lo, int32x4_t hi) {
  const int32x4_t zero = vdupq_n_s32(0);
  const int32x4_t left = vmaxq_s32(shift, zero), right = vmaxq_s32(vnegq_s32(shift), zero);
  const int32x4_t r = rdbpot(vqrdmulhq_s32(vshlq_s32(acc, left), multiplier), right);
  /* Unsigned add: the wrap is the rule, and GCC's vaddq_s32 is C vector arithmetic (UB on overflow). */
  const int32x4_t y = vreinterpretq_s32_u32(vaddq_u32(vreinterpretq_u32_s32(r), vreinterpretq_u32_s32(zp)));
  return vminq_s32(vmaxq_s32(y, lo), hi);
}

void qk_requant_gemmlowp__neon(size_t mr, size_t nc, const int32_t* acc, size_t acc_stride,
                               uint8_t* out, size_t out_stride, const qk_requant_params* params,
                               size_t channel_offset) {
  const int32_t* multiplier = params->multiplier + channel_offset;
  const int32_t* shift = params->shift + channel_offset;
  const int32x4_t zp = vdupq_n_s32(params->zero_point);
  const int32x4_t lo = vdupq_n_s32(params->min), hi = vdupq_n_s32(params->max);
  for (size_t n = 0; n < nc; n += 8) {
    const size_t len = nc - n < 8 ? nc - n : 8;
    int32x4_t mult0, mult1, shift0, shift1;
    qk_neon_load_s32x8(multiplier + n, len, &mult0, &mult1);
    qk_neon_load_s32x8(shift + n, len, &shift0, &shift1);
    for (size_t m = 0; m < mr; m++) {
      int32x4_t acc0, acc1;
      qk_neon_load_s32x8(acc + m * acc_stride + n, len, &acc0, &acc1);
      const int32x4_t y0 = requant4(acc0, mult0, shift0, zp, lo, hi);
      const int32x4_t y1 = requant4(acc1, mult1, shift1, zp, lo, hi);
      qk_neon_store_narrow8(out + m * out_stride + n, y0, y1, len);
    }
  }
}
