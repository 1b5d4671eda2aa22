/* qk_pack_gemm_weights_s8a__neondot — weight packing for qk_gemm_u8s8_4x16c4__neondot.
 *
 * Layout:  the generic one (arch/generic/generic.h: per NR-column block int32 colterm[NR], then int8
 *          w[ceil(K/KR)][NR][KR], padding zero) with every column term raised by 128·Σ_k w[n][k]
 *          modulo 2^32. The kernel multiplies a - 128 (a ^ 0x80, s8) because sdot is s8 x s8;
 *          Σ a·w = Σ (a - 128)·w + 128·Σ w puts the difference back here, once, at create.
 * Input:   w is OIHW of the n output channels of one group, [n][cg][kh][kw]: channel j's K
 *          weights are contiguous, so its sum does not depend on the K order.
 * ISA:     plain C, compiled for the AArch64 baseline (it runs at create, not in the GEMM). */
#include "arch/arm/neon/ukernels.h"
#include "arch/generic/generic.h"

void qk_pack_gemm_weights_s8a__neondot(size_t n, size_t cg, size_t kh, size_t kw, size_t nr,
                                       size_t kr, const int8_t* w, const int32_t* colterm,
                                       void* packed) {
  qk_pack_gemm__generic(n, cg, kh, kw, nr, kr, w, colterm, packed);
  const size_t k = cg * kh * kw;
  size_t block_bytes = 0;
  qk_packed_block_size__generic(k, nr, kr, &block_bytes); /* checked by the caller */
  for (size_t j = 0; j < n; j++) {
    uint32_t sum = 0;
    for (size_t i = 0; i < k; i++) sum += (uint32_t)(int32_t)w[j * k + i];
    int32_t* term = (int32_t*)(void*)((uint8_t*)packed + j / nr * block_bytes) + j % nr;
    *term = (int32_t)((uint32_t)*term + 128u * sum);
  }
}
