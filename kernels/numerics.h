/* Scalar arithmetic of the frameworks that is not a single float expression: gemmlowp / TFLite
 * fixed-point requantization, and the per-mode preparation of a convolution's epilogue
 * parameters. docs/numerics.md explains each rule and where it comes from. */
#ifndef QK_KERNELS_NUMERICS_H
#define QK_KERNELS_NUMERICS_H

#include <stdint.h>

#include "kernels/common.h"
#include "kernels/ukernel.h"

#ifdef __cplusplus
extern "C" {
#endif

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

/* tflite::QuantizeMultiplier(double m): m = q * 2^shift, q in [0.5, 1) (frexp),
 * multiplier = round_half_away(q * 2^31), 2^31 folds to 2^30 with shift + 1, shift < -31 gives 0.
 * m must be finite and >= 0. */
QK_INTERNAL void qk_tflite_quantize_multiplier(double m, int32_t* multiplier, int32_t* shift);

/* Everything a convolution's epilogue and weight packing need from the quantization
 * parameters, computed once at create. Arrays have output_channels entries. */
typedef struct qk_conv_numerics {
  qk_requant_kind kind;
  int32_t input_zero_point_u8; /* x_zp in the u8 domain the GEMM sees (s8: x_zp + 128) */
  uint8_t input_xor_mask;      /* 0x80 for s8 activations (x ^ 0x80 = x + 128 as u8), else 0 */
  float* scale;
  float* bias;         /* float bias term per channel (FP32_CVT, FP32_FZP), zeros otherwise */
  int32_t* int_bias;   /* int32 bias added to the accumulator (qnnpack, ORT, TFLite), or 0 */
  int32_t* multiplier; /* GEMMLOWP */
  int32_t* shift;      /* GEMMLOWP */
  int32_t* weight_zero_point; /* per output channel (replicated when per tensor) */
  bool has_weight_zero_point; /* any nonzero: the GEMM needs row sums */
  int32_t output_zero_point, output_min, output_max;
} qk_conv_numerics;

/* Validates every quantization-related field of desc against the numerics mode's framework
 * (refusals give QK_ERROR_UNSUPPORTED with the framework's rule in the message) and fills *q.
 * On success *q owns its arrays (free with qk_conv_numerics_free). Geometry is checked by the
 * caller first. */
QK_INTERNAL qk_status qk_conv_numerics_prepare(const qk_conv2d_desc* desc, qk_conv_numerics* q);
QK_INTERNAL void qk_conv_numerics_free(qk_conv_numerics* q);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* QK_KERNELS_NUMERICS_H */
