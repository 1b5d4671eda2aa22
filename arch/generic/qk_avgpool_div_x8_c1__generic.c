/* TFLite's integer average pooling, portable C (avgpool_div of arch/ukernel.h): the specification
 * and, no SIMD version being needed for a reference-kernel mode, the kernel of every ISA table.
 *   acc[c] = init + Σ_{rows x cols taps} (in[c] ^ xor_mask)         (int32)
 *   y = acc > 0 ? (acc + divisor / 2) / divisor : (acc - divisor / 2) / divisor
 *       (C division truncates: round half away from zero), clamp to [min, max]; out[c] = (uint8_t)y
 * From tensorflow/lite/kernels/internal/reference/integer_ops/pooling.h (int8) and
 * reference/pooling.h (uint8: acc >= 0, the same expression). Channels in blocks of 64. */
#include "arch/ukernel.h"

#define QK_AVGPOOL_DIV_BLOCK 64

QK_DECLARE_AVGPOOL(qk_avgpool_div_x8_c1__generic) {
  const uint8_t mask = params->xor_mask;
  const int32_t d = params->divisor;
  for (size_t c0 = 0; c0 < channels; c0 += QK_AVGPOOL_DIV_BLOCK) {
    const size_t nc = channels - c0 < QK_AVGPOOL_DIV_BLOCK ? channels - c0 : QK_AVGPOOL_DIV_BLOCK;
    int32_t acc[QK_AVGPOOL_DIV_BLOCK];
    for (size_t c = 0; c < nc; c++) acc[c] = params->init;
    for (size_t r = 0; r < rows; r++) {
      for (size_t j = 0; j < cols; j++) {
        const uint8_t* in = row_ptrs[r] + col_offsets[j] + c0;
        for (size_t c = 0; c < nc; c++) acc[c] += (uint8_t)(in[c] ^ mask);
      }
    }
    for (size_t c = 0; c < nc; c++) {
      int32_t y = acc[c] > 0 ? (acc[c] + d / 2) / d : (acc[c] - d / 2) / d;
      y = y < params->min ? params->min : y > params->max ? params->max : y;
      out[c0 + c] = (uint8_t)y;
    }
  }
}
