/* The AArch64 microkernels of qk (arch/arm/neon, neondot, i8mm), declared in one place so every
 * config.c can point at another ISA's kernels it is a superset of (the NEON epilogues and
 * im2col serve all three ARM ISAs). Contracts: arch/ukernel.h; each file's header comment. */
#ifndef QK_ARCH_ARM_NEON_UKERNELS_H
#define QK_ARCH_ARM_NEON_UKERNELS_H

#include "arch/ukernel.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ARMv8.0 NEON (arch/arm/neon) */
QK_DECLARE_GEMM(qk_gemm_u8s8_4x16c1__neon);
QK_DECLARE_REQUANT(qk_requant_fp32_cvt__neon);
QK_DECLARE_REQUANT(qk_requant_fp32_sat__neon);
QK_DECLARE_REQUANT(qk_requant_fp32_fzp__neon);
QK_DECLARE_REQUANT(qk_requant_gemmlowp__neon);
QK_DECLARE_REQUANT(qk_requant_fp32_cvt_fma__neon);
QK_DECLARE_REQUANT(qk_requant_fp32_sbfzp__neon);
QK_INTERNAL void qk_dwconv_u8s8_c16__neon(size_t channels, size_t pixels, size_t taps,
                                          const uint8_t* const* input, uint8_t xor_mask,
                                          const void* w, int32_t* acc, size_t acc_stride);
QK_INTERNAL void qk_im2col_u8__neon(const qk_im2col_geometry* g, const uint8_t* image, size_t p0,
                                    size_t rows, uint8_t* out, size_t row_stride);

/* ARMv8.2 dotprod (arch/arm/neondot) */
QK_DECLARE_GEMM(qk_gemm_u8s8_4x16c4__neondot);
/* Generic layout (arch/generic/generic.h) with colterm[n] += 128 * Σ_k w[n][k]: the kernel turns the u8
 * activations into s8 (a ^ 0x80 = a - 128) for sdot, and this puts the 128 back. */
QK_INTERNAL void qk_pack_gemm_weights_s8a__neondot(size_t n, size_t cg, size_t kh, size_t kw,
                                                   size_t nr, size_t kr, const int8_t* w,
                                                   const int32_t* colterm, void* packed);

/* ARMv8.6 i8mm (arch/arm/i8mm) */
QK_DECLARE_GEMM(qk_gemm_u8s8_4x16c8__i8mm);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* QK_ARCH_ARM_NEON_UKERNELS_H */
