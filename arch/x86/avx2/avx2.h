/* The avx2 microkernels (one per file in this folder; contracts in arch/ukernel.h). The
 * requantization kernels, the im2col and the depthwise kernel need only AVX2, so the avxvnni table
 * can point at them too. */
#ifndef QK_ARCH_X86_AVX2_AVX2_H
#define QK_ARCH_X86_AVX2_AVX2_H

#include "arch/ukernel.h"

#ifdef __cplusplus
extern "C" {
#endif

QK_DECLARE_GEMM(qk_gemm_u8s8_5x16c2__avx2);
/* Its weight packing: int16 weights, KR = 2 (qk_pack_gemm_c2_i16__avx2.c). */
QK_INTERNAL bool qk_packed_block_size_c2_i16__avx2(size_t k, size_t nr, size_t kr, size_t* bytes);
QK_INTERNAL void qk_pack_gemm_c2_i16__avx2(size_t n, size_t cg, size_t kh, size_t kw, size_t nr,
                                           size_t kr, const int8_t* w, const int32_t* colterm,
                                           void* packed);

QK_DECLARE_REQUANT(qk_requant_fp32_cvt__avx2);
QK_DECLARE_REQUANT(qk_requant_fp32_sat__avx2);
QK_DECLARE_REQUANT(qk_requant_fp32_fzp__avx2);
QK_DECLARE_REQUANT(qk_requant_gemmlowp__avx2);
/* Needs FMA as well (every AVX2 CPU qk knows has it; the avx2 table requires it). */
QK_DECLARE_REQUANT(qk_requant_fp32_cvt_fma__avx2);
QK_DECLARE_REQUANT(qk_requant_fp32_sbfzp__avx2);
/* Generic GEMM layout with NR = 16, KR = 4 (qk_pack_gemm__generic). */
QK_DECLARE_GEMM(qk_gemm_u8s8_sat16_4x16c4__avx2);
QK_INTERNAL void qk_dwconv_u8s8_c16__avx2(size_t channels, size_t pixels, size_t taps,
                                          const uint8_t* const* input, uint8_t xor_mask,
                                          const void* w, int32_t* acc, size_t acc_stride);
QK_INTERNAL void qk_im2col_u8__avx2(const qk_im2col_geometry* g, const uint8_t* image, size_t p0,
                                    size_t rows, uint8_t* out, size_t row_stride);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* QK_ARCH_X86_AVX2_AVX2_H */
