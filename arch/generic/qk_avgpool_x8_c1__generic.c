/* Average pooling, portable C: the specification of the avgpool family (arch/ukernel.h).
 *   acc[c] = init + Σ_{rows x cols taps} (in[c] ^ xor_mask)      (int32; the operator bounds it)
 *   zero_point_in_float == 0: y = clamp(cvtps2dq((float)acc * scale) + zero_point, min, max)
 *   zero_point_in_float != 0: y = rne(clamp((float)acc * scale + (float)zero_point, min, max))
 *   out[c] = (uint8_t)y
 * Float32, one operation at a time, no FMA (the library is built with -ffp-contract=off).
 * Channels in blocks of 64 with the accumulators on the stack; any channel count. */
#include "arch/ukernel.h"

#define QK_AVGPOOL_BLOCK 64

QK_DECLARE_AVGPOOL(qk_avgpool_x8_c1__generic) {
  const uint8_t mask = params->xor_mask;
  const float fmin = (float)params->min, fmax = (float)params->max;
  const float fzp = (float)params->zero_point;
  for (size_t c0 = 0; c0 < channels; c0 += QK_AVGPOOL_BLOCK) {
    const size_t nc = channels - c0 < QK_AVGPOOL_BLOCK ? channels - c0 : QK_AVGPOOL_BLOCK;
    uint32_t acc[QK_AVGPOOL_BLOCK];
    for (size_t c = 0; c < nc; c++) acc[c] = (uint32_t)params->init;
    for (size_t r = 0; r < rows; r++) {
      for (size_t j = 0; j < cols; j++) {
        const uint8_t* in = row_ptrs[r] + col_offsets[j] + c0;
        for (size_t c = 0; c < nc; c++) acc[c] += (uint8_t)(in[c] ^ mask);
      }
    }
    for (size_t c = 0; c < nc; c++) {
      const float v = qk_f32_from_i32((int32_t)acc[c]) * params->scale;
      int32_t y;
      if (params->zero_point_in_float) {
        float w = v + fzp;
        w = w < fmin ? fmin : w > fmax ? fmax : w;
        y = qk_rne_f32_i32(w);
      } else {
        const int32_t r = qk_wrap_add_i32(qk_cvt_f32_i32_x86(v), params->zero_point);
        y = r < params->min ? params->min : r > params->max ? params->max : r;
      }
      out[c0 + c] = (uint8_t)y;
    }
  }
}
