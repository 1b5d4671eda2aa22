/* Weight packing for the GEMM microkernels (layout in kernels/ukernel.h). Done once at create,
 * for the NR / KR of the ISA that will run the operator. */
#ifndef QK_KERNELS_PACK_H
#define QK_KERNELS_PACK_H

#include "kernels/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Bytes of one NR-column block for K = k: NR int32 column terms + NR * round_up(k, KR) weights.
 * false on overflow. */
QK_INTERNAL bool qk_packed_block_size(size_t k, size_t nr, size_t kr, size_t* bytes);

/* Packs n output channels of one group.
 * w: OIHW int8 of those channels, [n][cg][kh][kw]; packed K order is (kh, kw, c), matching im2col.
 * colterm: n int32 column terms (zero-point and int32-bias terms, see conv2d.c).
 * packed: ceil(n / nr) * qk_packed_block_size(...) bytes; padding columns and k are zero. */
QK_INTERNAL void qk_pack_gemm_weights(size_t n, size_t cg, size_t kh, size_t kw, size_t nr,
                                      size_t kr, const int8_t* w, const int32_t* colterm,
                                      void* packed);

/* Depthwise weights: `channels` channels of `taps` (= KH * KW) weights each, OIHW with I = 1, i.e.
 * w[c][tap]; colterm[c]. Writes ceil(channels / cb) blocks of int32 colterm[cb]; int8 [taps][cb].
 */
QK_INTERNAL bool qk_packed_dwconv_size(size_t channels, size_t taps, size_t cb, size_t* bytes);
QK_INTERNAL void qk_pack_dwconv_weights(size_t channels, size_t taps, size_t cb, const int8_t* w,
                                        const int32_t* colterm, void* packed);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* QK_KERNELS_PACK_H */
