/* Internal helpers shared by the whole library: error reporting, overflow-checked sizes, the two
 * float->int conversions the frameworks use, and aligned allocation. Not part of the API. */
#ifndef QK_KERNELS_COMMON_H
#define QK_KERNELS_COMMON_H

#include <float.h>
#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "qk.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Every epilogue rounds float32 values one operation at a time, as the frameworks do. That needs
 * float expressions evaluated in float (no x87 excess precision); x86-64 and AArch64 do so. */
#if !defined(FLT_EVAL_METHOD) || FLT_EVAL_METHOD != 0
#error "qk needs FLT_EVAL_METHOD == 0 (float arithmetic evaluated in float)"
#endif

#define QK_INTERNAL __attribute__((visibility("hidden")))
#define QK_PRINTF(f, a) __attribute__((format(printf, f, a)))

/* Records a one-line message for qk_last_error() in the calling thread and returns status. */
QK_INTERNAL qk_status qk_fail(qk_status status, const char* format, ...) QK_PRINTF(2, 3);

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

/* Allocation with the alignment the SIMD kernels like; free with qk_aligned_free. */
QK_INTERNAL void* qk_aligned_alloc(size_t alignment, size_t size);
QK_INTERNAL void qk_aligned_free(void* p);

/* Validity of user-provided quantization parameters. */
static inline bool qk_scale_is_valid(double s) { return isfinite(s) && s > 0.0; }
QK_INTERNAL bool qk_dtype_range(qk_dtype type, int32_t* qmin, int32_t* qmax);
QK_INTERNAL const char* qk_dtype_name(qk_dtype type);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* QK_KERNELS_COMMON_H */
