/* The avx512vnni microkernels (one per file in this folder; contracts in kernels/ukernel.h). */
#ifndef QK_ARCH_X86_AVX512VNNI_AVX512VNNI_H
#define QK_ARCH_X86_AVX512VNNI_AVX512VNNI_H

#include "kernels/ukernel.h"

#ifdef __cplusplus
extern "C" {
#endif

QK_DECLARE_GEMM(qk_gemm_u8s8_10x32c4__avx512vnni);
QK_DECLARE_REQUANT(qk_requant_fp32_cvt__avx512vnni);
QK_DECLARE_REQUANT(qk_requant_fp32_sat__avx512vnni);
QK_DECLARE_REQUANT(qk_requant_fp32_fzp__avx512vnni);
QK_DECLARE_REQUANT(qk_requant_gemmlowp__avx512vnni);
QK_INTERNAL void qk_im2col_u8__avx512vnni(const qk_im2col_geometry* g, const uint8_t* image,
                                          size_t p0, size_t rows, uint8_t* out, size_t row_stride);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* QK_ARCH_X86_AVX512VNNI_AVX512VNNI_H */
