/* Helpers of the generic elementwise kernels of add and mul (declared in arch/ukernel.h,
 * "Elementwise binary kernels"; the specification the SIMD ones are tested against). */
#ifndef QK_ARCH_GENERIC_ELTWISE_H
#define QK_ARCH_GENERIC_ELTWISE_H

#include "arch/ukernel.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Loads / stores of the x8 kernels: u8 or s8 by params->is_signed. */
static inline int32_t qk_eltwise_load(const void* p, size_t i, int32_t is_signed) {
  return is_signed ? (int32_t)((const int8_t*)p)[i] : (int32_t)((const uint8_t*)p)[i];
}
static inline void qk_eltwise_store(void* p, size_t i, int32_t v, int32_t is_signed) {
  if (is_signed) {
    ((int8_t*)p)[i] = (int8_t)v;
  } else {
    ((uint8_t*)p)[i] = (uint8_t)v;
  }
}

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* QK_ARCH_GENERIC_ELTWISE_H */
