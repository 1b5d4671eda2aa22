/* qk_vmul_fp32_x16__avx512vnni — quantized mul with a float multiplier (arch/ukernel.h MUL_FP32:
 * ATen qmul, XNNPACK qs8 vmul fp32), u8 or s8, any n >= 1, 16 elements per step:
 *   p = (a - za) * (b - zb) (int32, exact); r = cvtps2dq((float)p * scale); y = clamp(r + zp) */
#include "arch/x86/avx512vnni/eltwise.h"

static inline __m512i mul16(__m512i a, __m512i b, const qk_eltwise_params* p) {
  const __m512i pa = _mm512_sub_epi32(a, _mm512_set1_epi32(p->a_zero_point));
  const __m512i pb = _mm512_sub_epi32(b, _mm512_set1_epi32(p->b_zero_point));
  return _mm512_cvtps_epi32(
      _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_mullo_epi32(pa, pb)), _mm512_set1_ps(p->scale)));
}

void qk_vmul_fp32_x16__avx512vnni(size_t n, const void* a, const void* b, void* y,
                                  const qk_eltwise_params* params) {
  qk_avx512_eltwise_walk(n, a, b, y, params, mul16);
}
