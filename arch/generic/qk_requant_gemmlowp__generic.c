/* qk_requant_gemmlowp__generic — TFLite's integer-only requantization.
 *
 *   r = MultiplyByQuantizedMultiplier(acc, multiplier[n], shift[n])
 *   y = clamp(r + zero_point, min, max)      the + wraps modulo 2^32
 * with TFLite's default double rounding (arch/common.h: SaturatingRoundingDoublingHighMul, then
 * RoundingDivideByPOT, both rounding half away from zero). The wrap is TFLite's own: its
 * reference kernels, TFLite Micro and CMSIS-NN add the output offset to the int32 result before
 * clamping, so an r near INT32_MAX plus a positive offset comes out at the LOW bound. */
#include "arch/generic/generic.h"
#include "arch/generic/requant.h"

static int32_t gemmlowp(int32_t acc, const qk_requant_params* p, size_t n) {
  const int32_t r = qk_gemmlowp_mbqm(acc, p->multiplier[n], p->shift[n]);
  return qk_clamp_i32(qk_wrap_add_i32(r, p->zero_point), p->min, p->max);
}

void qk_requant_gemmlowp__generic(size_t mr, size_t nc, const int32_t* acc, size_t acc_stride,
                                  uint8_t* out, size_t out_stride, const qk_requant_params* params,
                                  size_t channel_offset) {
  qk_requant_tile__generic(mr, nc, acc, acc_stride, out, out_stride, params, channel_offset,
                           gemmlowp);
}
