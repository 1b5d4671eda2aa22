/* qk_shuffle_u8__generic: channel shuffle of `pixels` pixels of groups * gc bytes:
 * y[p * ys + j * groups + g] = x[p * xs + g * gc + j] for g < groups, j < gc (torch's
 * channel_shuffle: view (groups, gc), transpose, flatten). Strides in bytes between pixels.
 * x and y must not overlap. Portable C. */
#include "arch/ukernel.h"

void qk_shuffle_u8__generic(size_t pixels, size_t groups, size_t gc, const uint8_t* x, size_t xs,
                            uint8_t* y, size_t ys) {
  for (size_t p = 0; p < pixels; p++) {
    const uint8_t* xp = x + p * xs;
    uint8_t* yp = y + p * ys;
    for (size_t g = 0; g < groups; g++) {
      for (size_t j = 0; j < gc; j++) yp[j * groups + g] = xp[g * gc + j];
    }
  }
}
