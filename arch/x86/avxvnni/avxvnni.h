/* The avxvnni microkernels (one per file in this folder; contracts in arch/ukernel.h). */
#ifndef QK_ARCH_X86_AVXVNNI_AVXVNNI_H
#define QK_ARCH_X86_AVXVNNI_AVXVNNI_H

#include "arch/ukernel.h"

#ifdef __cplusplus
extern "C" {
#endif

QK_DECLARE_GEMM(qk_gemm_u8s8_6x16c4__avxvnni);
/* Test twin: the same kernel with EVEX ymm vpdpbusd (needs AVX512-VNNI + VL), not dispatched. */
QK_DECLARE_GEMM(qk_gemm_u8s8_6x16c4__avxvnni_evex);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* QK_ARCH_X86_AVXVNNI_AVXVNNI_H */
