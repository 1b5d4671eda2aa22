/* The avx512vnni microkernels (one per file in this folder; contracts in arch/ukernel.h). */
#ifndef QK_ARCH_X86_AVX512VNNI_AVX512VNNI_H
#define QK_ARCH_X86_AVX512VNNI_AVX512VNNI_H

#include "arch/ukernel.h"

#ifdef __cplusplus
extern "C" {
#endif

QK_DECLARE_GEMM(qk_gemm_u8s8_10x32c4__avx512vnni);
QK_DECLARE_REQUANT(qk_requant_fp32_cvt__avx512vnni);
QK_DECLARE_REQUANT(qk_requant_fp32_sat__avx512vnni);
QK_DECLARE_REQUANT(qk_requant_fp32_fzp__avx512vnni);
QK_DECLARE_REQUANT(qk_requant_gemmlowp__avx512vnni);
QK_INTERNAL void qk_dwconv_u8s8_c64__avx512vnni(size_t channels, size_t pixels, size_t taps,
                                                const uint8_t* const* input, uint8_t xor_mask,
                                                const void* w, int32_t* acc, size_t acc_stride);
/* Its weight packing: 64-channel blocks, taps in quads (qk_pack_dwconv_c64q4__avx512vnni.c). */
QK_INTERNAL bool qk_packed_dwconv_size_c64q4__avx512vnni(size_t channels, size_t taps, size_t cb,
                                                         size_t* bytes);
QK_INTERNAL void qk_pack_dwconv_c64q4__avx512vnni(size_t channels, size_t taps, size_t cb,
                                                  const int8_t* w, const int32_t* colterm,
                                                  void* packed);
QK_INTERNAL void qk_im2col_u8__avx512vnni(const qk_im2col_geometry* g, const uint8_t* image,
                                          size_t p0, size_t rows, uint8_t* out, size_t row_stride);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* QK_ARCH_X86_AVX512VNNI_AVX512VNNI_H */
