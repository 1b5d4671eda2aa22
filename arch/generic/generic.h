/* The generic (portable C) microkernels: the specification every SIMD kernel is tested against,
 * and the ISA "generic" of the dispatch table (arch/generic/config.c). Contracts in
 * arch/ukernel.h; one function per file in this folder. */
#ifndef QK_ARCH_GENERIC_GENERIC_H
#define QK_ARCH_GENERIC_GENERIC_H

#include "arch/ukernel.h"

#ifdef __cplusplus
extern "C" {
#endif

QK_DECLARE_GEMM(qk_gemm_u8s8_4x8c4__generic);
QK_DECLARE_GEMM(qk_gemm_u8s8_sat16_4x8c4__generic);
/* The GEMM weight layout of arch/ukernel.h for any NR / KR: NR-column blocks of
 * int32 colterm[NR]; int8 w[ceil(k / KR)][NR][KR], K in (kh, kw, c) order (im2col's). Many ISAs
 * share it. */
QK_DECLARE_PACKED_BLOCK_SIZE(qk_packed_block_size__generic);
QK_DECLARE_PACK_WEIGHTS(qk_pack_gemm__generic);

QK_DECLARE_REQUANT(qk_requant_fp32_cvt__generic);
QK_DECLARE_REQUANT(qk_requant_fp32_sat__generic);
QK_DECLARE_REQUANT(qk_requant_fp32_fzp__generic);
QK_DECLARE_REQUANT(qk_requant_gemmlowp__generic);
QK_DECLARE_REQUANT(qk_requant_fp32_cvt_fma__generic);
QK_DECLARE_REQUANT(qk_requant_fp32_sbfzp__generic);

QK_DECLARE_IM2COL(qk_im2col_u8__generic);

QK_DECLARE_DWCONV(qk_dwconv_u8s8_c16__generic);
/* The depthwise layout of arch/ukernel.h for any CB: blocks of int32 colterm[CB]; int8 w[taps][CB]. */
QK_DECLARE_PACKED_DWCONV_SIZE(qk_packed_dwconv_size__generic);
QK_DECLARE_PACK_DWCONV(qk_pack_dwconv__generic);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* QK_ARCH_GENERIC_GENERIC_H */
