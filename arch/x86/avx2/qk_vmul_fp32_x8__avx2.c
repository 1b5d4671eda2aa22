/* qk_vmul_fp32_x8__avx2 — quantized mul with a float multiplier (arch/ukernel.h MUL_FP32: ATen
 * qmul, XNNPACK qs8 vmul fp32), u8 or s8, any n >= 1, 8 elements per step:
 *   p = (a - za) * (b - zb) (int32, exact); r = cvtps2dq((float)p * scale);
 *   y = clamp(r + zp, min, max) */
#include "arch/x86/avx2/eltwise.h"

static inline __m256i mul8(__m256i a, __m256i b, const qk_eltwise_params* p) {
  const __m256i pa = _mm256_sub_epi32(a, _mm256_set1_epi32(p->a_zero_point));
  const __m256i pb = _mm256_sub_epi32(b, _mm256_set1_epi32(p->b_zero_point));
  const __m256 v =
      _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_mullo_epi32(pa, pb)), _mm256_set1_ps(p->scale));
  return _mm256_cvtps_epi32(v);
}

void qk_vmul_fp32_x8__avx2(size_t n, const void* a, const void* b, void* y,
                           const qk_eltwise_params* params) {
  qk_avx2_eltwise_walk(n, a, b, y, params, mul8);
}
