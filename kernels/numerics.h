/* The per-mode preparation of a convolution's epilogue parameters, and TFLite's multiplier
 * decomposition (the fixed-point arithmetic itself is in arch/common.h). docs/numerics.md explains each rule and where it comes from. */
#ifndef QK_KERNELS_NUMERICS_H
#define QK_KERNELS_NUMERICS_H

#include <stdint.h>

#include "arch/ukernel.h"
#include "kernels/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* tflite::QuantizeMultiplier(double m): m = q * 2^shift, q in [0.5, 1) (frexp),
 * multiplier = round_half_away(q * 2^31), 2^31 folds to 2^30 with shift + 1, shift < -31 gives 0.
 * m must be finite and >= 0. */
QK_INTERNAL void qk_tflite_quantize_multiplier(double m, int32_t* multiplier, int32_t* shift);

/* Everything a convolution's epilogue and weight packing need from the quantization
 * parameters, computed once at create. Arrays have output_channels entries. */
typedef struct qk_conv_numerics {
  qk_requant_kind kind;
  /* The GEMM adds K pairs with int16 saturation (FBGEMM's vpmaddubsw, the pytorch-fbgemm modes'
   * rule where FBGEMM saturates): the ISA's gemm_sat16, never the direct depthwise path. */
  bool saturate_pairs;
  int32_t input_zero_point_u8; /* x_zp in the u8 domain the GEMM sees (s8: x_zp + 128) */
  uint8_t input_xor_mask;      /* 0x80 for s8 activations (x ^ 0x80 = x + 128 as u8), else 0 */
  float* scale;
  float* bias;         /* float bias term per channel (FP32_*), zeros otherwise */
  float* bias_scale;   /* FP32_CVT_FMA: the factor fused with the bias */
  float post_scale;    /* FP32_SBFZP: the output scale factor applied after the bias */
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

/* The mode a conv2d of `desc` reproduces, with "pytorch-x86" resolved to the engine PyTorch
 * routes it to (pytorch-onednn or pytorch-fbgemm). desc->numerics must be a mode. */
QK_INTERNAL qk_numerics qk_conv_numerics_resolve(const qk_conv2d_desc* desc);

/* Which framework operator a descriptor stands for: a convolution, or a fully connected layer
 * (qk_linear runs as a 1x1 convolution over its rows) whose frameworks compute some parameters
 * differently (the rules are in prepare_linear in numerics.c, docs/ops-linear.md). */
typedef enum qk_conv_op {
  QK_CONV_OP_CONV2D = 0,
  QK_CONV_OP_LINEAR = 1,
} qk_conv_op;

/* qk_conv_numerics_prepare / _resolve for operator `op` (those above: QK_CONV_OP_CONV2D). */
QK_INTERNAL qk_status qk_conv_numerics_prepare_for(const qk_conv2d_desc* desc, qk_conv_op op,
                                                   qk_conv_numerics* q);
QK_INTERNAL qk_numerics qk_conv_numerics_resolve_for(const qk_conv2d_desc* desc, qk_conv_op op);

/* qk_conv2d_create for operator `op` (kernels/conv2d.c); the operator's own create / run log
 * lines are left to the caller when op is not QK_CONV_OP_CONV2D. */
QK_INTERNAL qk_status qk_conv2d_create_for(const qk_conv2d_desc* desc, qk_conv_op op,
                                           qk_conv2d** op_out);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* QK_KERNELS_NUMERICS_H */
