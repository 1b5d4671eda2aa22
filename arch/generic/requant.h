/* The walk every generic requantization kernel shares: each output of an mr x nc tile is one
 * family's scalar formula of its accumulator and channel (arch/ukernel.h for the contract). The
 * formula is the specification; this loop only places it. */
#ifndef QK_ARCH_GENERIC_REQUANT_H
#define QK_ARCH_GENERIC_REQUANT_H

#include "arch/ukernel.h"

/* One output value: in [params->min, params->max], as an int32. */
typedef int32_t (*qk_requant_value_fn)(int32_t acc, const qk_requant_params* params, size_t channel);

static inline __attribute__((always_inline)) void qk_requant_tile__generic(
    size_t mr, size_t nc, const int32_t* acc, size_t acc_stride, uint8_t* out, size_t out_stride,
    const qk_requant_params* params, size_t channel_offset, qk_requant_value_fn value) {
  for (size_t m = 0; m < mr; m++) {
    for (size_t n = 0; n < nc; n++) {
      /* the u8 or s8 bit pattern of the value */
      out[m * out_stride + n] = (uint8_t)value(acc[m * acc_stride + n], params, channel_offset + n);
    }
  }
}

/* The float clamp of the FP32 families: `v < lo ? lo : v > hi ? hi : v` (a NaN passes through). */
static inline float qk_clamp_f32(float v, float lo, float hi) { return v < lo ? lo : v > hi ? hi : v; }

#endif /* QK_ARCH_GENERIC_REQUANT_H */
