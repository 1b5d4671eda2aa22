/* qk_gemm_u8s8_6x16c4__avxvnni_evex — test twin of qk_gemm_u8s8_6x16c4__avxvnni.
 *
 * The same source with the EVEX form of ymm vpdpbusd (_mm256_dpbusd_epi32: AVX512-VNNI + VL,
 * identical arithmetic), so machines with AVX-512 but without AVX-VNNI (Zen 4, Ice Lake, Cascade
 * Lake) run the AVX-VNNI kernel's logic bit-exactly in test/avxvnni_evex_test.cc. Not in any
 * dispatch table. */
#define QK_AVXVNNI_EVEX 1
#include "arch/x86/avxvnni/qk_gemm_u8s8_6x16c4__avxvnni.c"
