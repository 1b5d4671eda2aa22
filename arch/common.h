/* What every microkernel and the dispatch code share: visibility, overflow-checked size
 * arithmetic, the integer wrap-around and float -> int conversions the frameworks use, and
 * gemmlowp's fixed-point primitives. Self-contained: nothing here knows about operators, tensors
 * or the public API (arch/ depends on nothing above it; kernels/ includes this file). */
#ifndef QK_ARCH_COMMON_H
#define QK_ARCH_COMMON_H

#include <float.h>
#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Every epilogue rounds float32 values one operation at a time, as the frameworks do. That needs
 * float expressions evaluated in float (no x87 excess precision); x86-64 and AArch64 do so. */
#if !defined(FLT_EVAL_METHOD) || FLT_EVAL_METHOD != 0
#error "qk needs FLT_EVAL_METHOD == 0 (float arithmetic evaluated in float)"
#endif

#define QK_INTERNAL __attribute__((visibility("hidden")))

/* ---- overflow-checked size arithmetic: return false on overflow, *out untouched ---- */
static inline bool qk_mul_size(size_t a, size_t b, size_t* out) {
  return !__builtin_mul_overflow(a, b, out);
}
static inline bool qk_add_size(size_t a, size_t b, size_t* out) {
  return !__builtin_add_overflow(a, b, out);
}
static inline size_t qk_round_up(size_t n, size_t q) { return (n + q - 1) / q * q; }
static inline size_t qk_min_size(size_t a, size_t b) { return a < b ? a : b; }
static inline size_t qk_max_size(size_t a, size_t b) { return a > b ? a : b; }

static inline int32_t qk_clamp_i32(int64_t v, int32_t lo, int32_t hi) {
  return v < lo ? lo : v > hi ? hi : (int32_t)v;
}
/* int32 addition that wraps modulo 2^32, as the frameworks' accumulators do (paddd, vaddq_s32).
 * Written with unsigned arithmetic because signed overflow is undefined in C. */
static inline int32_t qk_wrap_add_i32(int32_t a, int32_t b) {
  return (int32_t)((uint32_t)a + (uint32_t)b);
}
static inline int32_t qk_wrap_mul_i32(int32_t a, int32_t b) {
  return (int32_t)((uint32_t)a * (uint32_t)b);
}

/* x86 CVTPS2DQ (_mm_cvtps_epi32): round half to even; a value outside int32 (|v| >= 2^31, or NaN)
 * becomes INT32_MIN, the "integer indefinite". fbgemm and QNNPACK on x86 convert this way, and the
 * users' golden data comes from x86, so every ISA reproduces it (ARM's vcvtnq saturates instead).
 */
static inline int32_t qk_cvt_f32_i32_x86(float v) {
  if (v >= -2147483648.0f && v < 2147483648.0f) return (int32_t)lrintf(v);
  return INT32_MIN;
}

/* Round half to even of a float already clamped to [-2^31, 2^31 - 128] (so the result fits). */
static inline int32_t qk_rne_f32_i32(float v) { return (int32_t)lrintf(v); }

/* float of an int32 exactly as cvtdq2ps / scvtf do: round to nearest even. */
static inline float qk_f32_from_i32(int32_t v) { return (float)v; }

/* ---- gemmlowp / TFLite fixed point (docs/numerics.md, tflite) ---- */

/* gemmlowp SaturatingRoundingDoublingHighMul: (a * b + nudge) / 2^31 with C truncation, nudge
 * 2^30 or 1 - 2^30 by the product's sign. Ties round half UP (-2.5 -> -2, 2.5 -> 3): the "+1" of
 * the negative nudge pulls negative ties toward zero; ARM's sqrdmulh rounds the same way.
 * INT32_MIN * INT32_MIN saturates to INT32_MAX. */
static inline int32_t qk_gemmlowp_srdhm(int32_t a, int32_t b) {
  if (a == INT32_MIN && b == INT32_MIN) return INT32_MAX;
  const int64_t ab = (int64_t)a * (int64_t)b;
  const int64_t nudge = ab >= 0 ? (INT64_C(1) << 30) : 1 - (INT64_C(1) << 30);
  return (int32_t)((ab + nudge) / (INT64_C(1) << 31));
}

/* gemmlowp RoundingDivideByPOT: x / 2^exponent rounded half away from zero, 0 <= exponent <= 31. */
static inline int32_t qk_gemmlowp_rdbpot(int32_t x, int exponent) {
  const int32_t mask = (int32_t)((UINT32_C(1) << exponent) - 1);
  const int32_t remainder = x & mask;
  const int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
  return (x >> exponent) + (remainder > threshold ? 1 : 0);
}

/* tflite::MultiplyByQuantizedMultiplier, default (double rounding) build:
 *   RDBPOT(SRDHM(x * 2^max(shift, 0), multiplier), max(-shift, 0)).
 * The left shift wraps modulo 2^32 like TFLite's int32 multiply on every real target. */
static inline int32_t qk_gemmlowp_mbqm(int32_t x, int32_t multiplier, int32_t shift) {
  const int left = shift > 0 ? (int)shift : 0;
  const int right = shift < 0 ? (int)-shift : 0;
  const int32_t scaled = (int32_t)((uint32_t)x << left);
  return qk_gemmlowp_rdbpot(qk_gemmlowp_srdhm(scaled, multiplier), right);
}

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* QK_ARCH_COMMON_H */
