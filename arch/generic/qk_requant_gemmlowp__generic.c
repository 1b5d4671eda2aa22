/* qk_requant_gemmlowp__generic — TFLite's integer-only requantization.
 *
 *   y = clamp(MultiplyByQuantizedMultiplier(acc, multiplier[n], shift[n]) + zero_point, min, max)
 * with TFLite's default double rounding (arch/common.h: SaturatingRoundingDoublingHighMul,
 * then RoundingDivideByPOT, both rounding half away from zero). */
#include "arch/generic/generic.h"

void qk_requant_gemmlowp__generic(size_t mr, size_t nc, const int32_t* acc, size_t acc_stride,
                                  uint8_t* out, size_t out_stride, const qk_requant_params* params,
                                  size_t channel_offset) {
  const int32_t* multiplier = params->multiplier + channel_offset;
  const int32_t* shift = params->shift + channel_offset;
  for (size_t m = 0; m < mr; m++) {
    for (size_t n = 0; n < nc; n++) {
      const int32_t r = qk_gemmlowp_mbqm(acc[m * acc_stride + n], multiplier[n], shift[n]);
      const int64_t y = (int64_t)r + params->zero_point;
      out[m * out_stride + n] = (uint8_t)qk_clamp_i32(y, params->min, params->max);
    }
  }
}
