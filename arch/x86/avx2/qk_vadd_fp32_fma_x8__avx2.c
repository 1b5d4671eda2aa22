/* qk_vadd_fp32_fma_x8__avx2 — ATen qadd_kernel's SIMD body (arch/ukernel.h ADD_FP32_FMA), u8 or
 * s8, any n >= 1, 8 elements per step. The one kernel of this family that needs FMA: the
 * dequantization is the explicit vfmadd231ps ATen's Vectorized::dequantize compiles to (one
 * rounding); the rest is plain AVX2 in the generic kernel's order:
 *   da = fma(a_scale, (float)a, a_premul); db likewise
 *   r  = cvtps2dq((da + db) * inv_output_scale); y = clamp(r + zp, min, max)
 * The folder's sources are compiled with -mavx2 only (the anchored source list of
 * arch/x86/avx2/sources.cmake), so FMA is enabled here per function with a target attribute on
 * every function of this file: only this file may emit FMA instructions, and only the one it
 * writes (-ffp-contract=off keeps the compiler from fusing anything else). */
#include "arch/x86/avx2/eltwise.h"

#define QK_TARGET_FMA __attribute__((target("avx2,fma")))

QK_TARGET_FMA static inline void add_fma_block8(const uint8_t* a, const uint8_t* b, uint8_t* y,
                                                const qk_eltwise_params* p) {
  const __m256i va = qk_avx2_eltwise_load8(a, p->is_signed);
  const __m256i vb = qk_avx2_eltwise_load8(b, p->is_signed);
  const __m256 da = _mm256_fmadd_ps(_mm256_set1_ps(p->a_scale), _mm256_cvtepi32_ps(va),
                                    _mm256_set1_ps(p->a_premul));
  const __m256 db = _mm256_fmadd_ps(_mm256_set1_ps(p->b_scale), _mm256_cvtepi32_ps(vb),
                                    _mm256_set1_ps(p->b_premul));
  const __m256i r =
      _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_add_ps(da, db), _mm256_set1_ps(p->scale)));
  qk_avx2_eltwise_store8(y, r, p);
}

QK_TARGET_FMA void qk_vadd_fp32_fma_x8__avx2(size_t n, const void* a, const void* b, void* y,
                                             const qk_eltwise_params* params) {
  const uint8_t* a8 = (const uint8_t*)a;
  const uint8_t* b8 = (const uint8_t*)b;
  uint8_t* y8 = (uint8_t*)y;
  for (; n >= 8; n -= 8, a8 += 8, b8 += 8, y8 += 8) add_fma_block8(a8, b8, y8, params);
  if (n != 0) {
    uint8_t ta[8] = {0}, tb[8] = {0}, ty[8];
    memcpy(ta, a8, n);
    memcpy(tb, b8, n);
    add_fma_block8(ta, tb, ty, params);
    memcpy(y8, ty, n);
  }
}
