/* Per-mode validation and preparation of a convolution's quantization parameters.
 *
 * Each mode reproduces one framework (docs/numerics.md, with the framework sources); the float
 * expressions below are written in the framework's order on purpose: float32, one operation at a
 * time (the library is built with -ffp-contract=off), casts exactly where the framework casts. */
#include "kernels/numerics.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------------------------------------
 * Names
 * ------------------------------------------------------------------------------------------- */
static const struct {
  qk_numerics mode;
  const char* name;
} k_numerics_names[] = {
    {QK_NUMERICS_PYTORCH_FBGEMM, "pytorch-fbgemm"},
    {QK_NUMERICS_PYTORCH_FBGEMM_AVX2, "pytorch-fbgemm-avx2"},
    {QK_NUMERICS_PYTORCH_QNNPACK, "pytorch-qnnpack"},
    {QK_NUMERICS_PYTORCH_ONEDNN, "pytorch-onednn"},
    {QK_NUMERICS_PYTORCH_ONEDNN_1_13, "pytorch-onednn-1.13"},
    {QK_NUMERICS_PYTORCH_X86, "pytorch-x86"},
    {QK_NUMERICS_ONNXRUNTIME, "onnxruntime"},
    {QK_NUMERICS_TFLITE, "tflite"},
    {QK_NUMERICS_XNNPACK, "xnnpack"},
};
#define QK_NUMERICS_NAME_COUNT (sizeof(k_numerics_names) / sizeof(k_numerics_names[0]))

const char* qk_numerics_name(qk_numerics numerics) {
  for (size_t i = 0; i < QK_NUMERICS_NAME_COUNT; i++) {
    if (k_numerics_names[i].mode == numerics) return k_numerics_names[i].name;
  }
  return NULL;
}

qk_status qk_numerics_from_name(const char* name, qk_numerics* numerics) {
  if (name == NULL || numerics == NULL) {
    return qk_fail(QK_ERROR_INVALID_ARGUMENT, "qk_numerics_from_name: NULL argument");
  }
  char list[256] = "";
  for (size_t i = 0; i < QK_NUMERICS_NAME_COUNT; i++) {
    if (strcmp(k_numerics_names[i].name, name) == 0) {
      *numerics = k_numerics_names[i].mode;
      return QK_SUCCESS;
    }
    const size_t used = strlen(list);
    snprintf(list + used, sizeof(list) - used, "%s%s", i ? ", " : "", k_numerics_names[i].name);
  }
  return qk_fail(QK_ERROR_INVALID_ARGUMENT, "unknown numerics mode '%s' (expected one of: %s)",
                 name, list);
}

/* ---------------------------------------------------------------------------------------------
 * TFLite QuantizeMultiplier
 * ------------------------------------------------------------------------------------------- */
void qk_tflite_quantize_multiplier(double m, int32_t* multiplier, int32_t* shift) {
  if (m == 0.0) {
    *multiplier = 0;
    *shift = 0;
    return;
  }
  int exponent = 0;
  const double q = frexp(m, &exponent);
  int64_t q_fixed = (int64_t)round(q * 2147483648.0); /* std::round: half away from zero */
  if (q_fixed == (INT64_C(1) << 31)) {
    q_fixed /= 2;
    exponent++;
  }
  if (exponent < -31) { /* flushes multipliers below ~2^-31 to zero, as TFLite does */
    exponent = 0;
    q_fixed = 0;
  }
  *multiplier = (int32_t)q_fixed;
  *shift = exponent;
}

/* ---------------------------------------------------------------------------------------------
 * Helpers
 * ------------------------------------------------------------------------------------------- */
static float f32(double v) { return (float)v; }

/* PyTorch's quantize(bias, scale, 0, qint32): clamp(rne(f32(bias) * (1.0f / (float)scale)), int32),
 * computed in double after the float product so that huge values saturate instead of wrapping. */
static int32_t quantize_bias_qint32(float bias, double scale) {
  const float inv = 1.0f / (float)scale;
  const float t = bias * inv;
  const double r = nearbyint((double)t);
  if (!(r >= -2147483648.0)) return INT32_MIN;
  if (!(r <= 2147483647.0)) return INT32_MAX;
  return (int32_t)r;
}

static bool any_nonzero(const int32_t* v, size_t n) {
  for (size_t i = 0; v != NULL && i < n; i++) {
    if (v[i] != 0) return true;
  }
  return false;
}

static double weight_scale(const qk_conv2d_desc* d, size_t o) {
  return d->weight_scales[d->weight_scale_count == 1 ? 0 : o];
}

/* Per-channel weights in the framework's sense: weight_quantization when given, else the count
 * (validated by check_common). */
static bool is_per_channel(const qk_conv2d_desc* d) {
  if (d->weight_quantization == QK_WEIGHT_QUANTIZATION_AUTO) return d->weight_scale_count > 1;
  return d->weight_quantization == QK_WEIGHT_QUANTIZATION_PER_CHANNEL;
}

/* The float32 value a framework that stores scales as float sees, checked to be usable. */
static bool scale_is_valid_f32(double s) {
  const float f = (float)s;
  return qk_scale_is_valid(s) && f > 0.0f && isfinite(f);
}

void qk_conv_numerics_free(qk_conv_numerics* q) {
  free(q->scale);
  free(q->bias);
  free(q->bias_scale);
  free(q->int_bias);
  free(q->multiplier);
  free(q->shift);
  free(q->weight_zero_point);
  memset(q, 0, sizeof(*q));
}

/* Output bounds: type range ∩ [output_min, output_max] ∩ (ReLU: >= zero point). */
static void output_bounds(const qk_conv2d_desc* d, int32_t* lo, int32_t* hi) {
  int32_t qmin, qmax;
  qk_dtype_range(d->output_type, &qmin, &qmax);
  *lo = qmin > d->output_min ? qmin : d->output_min;
  *hi = qmax < d->output_max ? qmax : d->output_max;
  if (d->relu && *lo < d->output_zero_point) *lo = d->output_zero_point;
}

/* ---------------------------------------------------------------------------------------------
 * Rules common to every mode
 * ------------------------------------------------------------------------------------------- */
static qk_status check_common(const qk_conv2d_desc* d, const char* mode) {
  int32_t qmin, qmax;
  if (d->input_type != QK_DTYPE_U8 && d->input_type != QK_DTYPE_S8) {
    return qk_fail(QK_ERROR_INVALID_ARGUMENT, "conv2d: input_type must be U8 or S8");
  }
  if (d->output_type != QK_DTYPE_U8 && d->output_type != QK_DTYPE_S8) {
    return qk_fail(QK_ERROR_INVALID_ARGUMENT, "conv2d: output_type must be U8 or S8");
  }
  if (!scale_is_valid_f32(d->input_scale) || !scale_is_valid_f32(d->output_scale)) {
    return qk_fail(QK_ERROR_INVALID_ARGUMENT,
                   "conv2d: input_scale (%g) and output_scale (%g) must be positive, finite and "
                   "representable as float32",
                   d->input_scale, d->output_scale);
  }
  qk_dtype_range(d->input_type, &qmin, &qmax);
  if (d->input_zero_point < qmin || d->input_zero_point > qmax) {
    return qk_fail(QK_ERROR_INVALID_ARGUMENT, "conv2d: input_zero_point %d is outside the %s range",
                   (int)d->input_zero_point, qk_dtype_name(d->input_type));
  }
  qk_dtype_range(d->output_type, &qmin, &qmax);
  if (d->output_zero_point < qmin || d->output_zero_point > qmax) {
    return qk_fail(QK_ERROR_INVALID_ARGUMENT,
                   "conv2d: output_zero_point %d is outside the %s range",
                   (int)d->output_zero_point, qk_dtype_name(d->output_type));
  }
  if (d->weight_scales == NULL ||
      (d->weight_scale_count != 1 && d->weight_scale_count != d->output_channels)) {
    return qk_fail(QK_ERROR_INVALID_ARGUMENT,
                   "conv2d: weight_scales must hold 1 (per tensor) or output_channels (%zu) "
                   "values, got %zu%s",
                   d->output_channels, d->weight_scale_count,
                   d->weight_scales == NULL ? " and NULL" : "");
  }
  for (size_t i = 0; i < d->weight_scale_count; i++) {
    if (!scale_is_valid_f32(d->weight_scales[i])) {
      return qk_fail(QK_ERROR_INVALID_ARGUMENT,
                     "conv2d: weight_scales[%zu] = %g must be positive, finite and representable "
                     "as float32",
                     i, d->weight_scales[i]);
    }
    if (d->weight_zero_points != NULL &&
        (d->weight_zero_points[i] < -128 || d->weight_zero_points[i] > 127)) {
      return qk_fail(QK_ERROR_INVALID_ARGUMENT,
                     "conv2d: weight_zero_points[%zu] = %d is outside the int8 range", i,
                     (int)d->weight_zero_points[i]);
    }
  }
  switch (d->weight_quantization) {
    case QK_WEIGHT_QUANTIZATION_AUTO: break;
    case QK_WEIGHT_QUANTIZATION_PER_TENSOR:
      if (d->weight_scale_count != 1) {
        return qk_fail(QK_ERROR_INVALID_ARGUMENT,
                       "conv2d: weight_quantization PER_TENSOR needs weight_scale_count 1, got %zu",
                       d->weight_scale_count);
      }
      break;
    case QK_WEIGHT_QUANTIZATION_PER_CHANNEL:
      if (d->weight_scale_count != d->output_channels) {
        return qk_fail(QK_ERROR_INVALID_ARGUMENT,
                       "conv2d: weight_quantization PER_CHANNEL needs weight_scale_count = "
                       "output_channels (%zu), got %zu",
                       d->output_channels, d->weight_scale_count);
      }
      break;
    default:
      return qk_fail(QK_ERROR_INVALID_ARGUMENT,
                     "conv2d: weight_quantization %d is not a qk_weight_quantization value",
                     (int)d->weight_quantization);
  }
  if (d->output_min > d->output_max) {
    return qk_fail(QK_ERROR_INVALID_ARGUMENT, "conv2d: output_min %d > output_max %d",
                   (int)d->output_min, (int)d->output_max);
  }
  int32_t lo, hi;
  output_bounds(d, &lo, &hi);
  if (lo > hi) {
    /* Every framework refuses (or cannot express) an empty output range; there is no right
     * answer to reproduce. */
    return qk_fail(QK_ERROR_INVALID_ARGUMENT,
                   "conv2d: the output range is empty: %s range [%d, %d], output_min %d, "
                   "output_max %d%s",
                   qk_dtype_name(d->output_type), (int)qmin, (int)qmax, (int)d->output_min,
                   (int)d->output_max, d->relu ? ", and ReLU (>= output_zero_point)" : "");
  }
  if (d->bias_type != QK_DTYPE_NONE && d->bias == NULL) {
    return qk_fail(QK_ERROR_INVALID_ARGUMENT, "conv2d: bias_type is set but bias is NULL");
  }
  if (d->bias_type != QK_DTYPE_NONE && d->bias_type != QK_DTYPE_F32 &&
      d->bias_type != QK_DTYPE_S32) {
    return qk_fail(QK_ERROR_INVALID_ARGUMENT, "conv2d: bias_type must be NONE, F32 or S32");
  }
  if (d->bias_type == QK_DTYPE_F32) {
    const float* b = (const float*)d->bias;
    for (size_t o = 0; o < d->output_channels; o++) {
      if (!isfinite(b[o])) {
        return qk_fail(QK_ERROR_INVALID_ARGUMENT, "conv2d: bias[%zu] is not a finite number", o);
      }
    }
  }
  if (d->output_type != d->input_type) {
    return qk_fail(QK_ERROR_UNSUPPORTED,
                   "conv2d: %s produces outputs of the input's type (input %s, output %s)", mode,
                   qk_dtype_name(d->input_type), qk_dtype_name(d->output_type));
  }
  return QK_SUCCESS;
}

static qk_status require_bias_type(const qk_conv2d_desc* d, const char* mode, qk_dtype type) {
  if (d->bias_type != QK_DTYPE_NONE && d->bias_type != type) {
    return qk_fail(QK_ERROR_UNSUPPORTED, "conv2d: %s takes %s biases, got %s", mode,
                   qk_dtype_name(type), qk_dtype_name(d->bias_type));
  }
  return QK_SUCCESS;
}

static qk_status require_input_type(const qk_conv2d_desc* d, const char* mode, qk_dtype type,
                                    const char* why) {
  if (d->input_type != type) {
    return qk_fail(QK_ERROR_UNSUPPORTED, "conv2d: %s needs %s activations (%s)", mode,
                   qk_dtype_name(type), why);
  }
  return QK_SUCCESS;
}

static qk_status require_symmetric_weights(const qk_conv2d_desc* d, const char* mode,
                                           const char* why) {
  if (any_nonzero(d->weight_zero_points, d->weight_scale_count)) {
    return qk_fail(QK_ERROR_UNSUPPORTED, "conv2d: %s needs weight zero points of 0 (%s)", mode,
                   why);
  }
  return QK_SUCCESS;
}

static qk_status alloc_arrays(qk_conv_numerics* q, size_t channels) {
  q->scale = calloc(channels, sizeof(float));
  q->bias = calloc(channels, sizeof(float));
  q->bias_scale = calloc(channels, sizeof(float));
  q->int_bias = calloc(channels, sizeof(int32_t));
  q->multiplier = calloc(channels, sizeof(int32_t));
  q->shift = calloc(channels, sizeof(int32_t));
  q->weight_zero_point = calloc(channels, sizeof(int32_t));
  if (!q->scale || !q->bias || !q->bias_scale || !q->int_bias || !q->multiplier || !q->shift ||
      !q->weight_zero_point) {
    qk_conv_numerics_free(q);
    return qk_fail(QK_ERROR_OUT_OF_MEMORY, "conv2d: out of memory for %zu channels", channels);
  }
  return QK_SUCCESS;
}

/* ---------------------------------------------------------------------------------------------
 * The modes
 * ------------------------------------------------------------------------------------------- */

/* FBGEMM's ConvFastPath (src/FbgemmConv.cc): the depthwise kernel, which adds filter-tap pairs
 * with int16 saturation on every x86 CPU (docs/numerics.md, "int16 pair saturation"). */
static bool fbgemm_takes_depthwise_path(const qk_conv2d_desc* d) {
  const size_t g = d->groups, k = d->kernel_height, pad = (k - 1) / 2;
  return g == d->input_channels && (d->output_channels == g || d->output_channels == 2 * g) &&
         g % 8 == 0 && (d->stride_height == 1 || d->stride_height == 2) &&
         (d->stride_width == 1 || d->stride_width == 2) && k == d->kernel_width &&
         (k == 3 || k == 5 || k == 7) && d->dilation_height == 1 && d->dilation_width == 1 &&
         d->padding_top == pad && d->padding_left == pad && d->padding_bottom == pad &&
         d->padding_right == pad;
}

/* FBGEMM's groupwise fast path (fbgemmOptimizedGConv, src/Fbgemm.cc) handles groups in blocks
 * of G_together (src/PackWeightMatrixForGConv.cc; vector width 64 bytes with AVX-512, 32 with
 * AVX2 only) and treats a last partial block as a full one: out-of-bounds reads and writes
 * (heap corruption, SIGSEGV) when G % G_together != 0. True for such a configuration. */
static bool fbgemm_groupwise_overruns(const qk_conv2d_desc* d, bool avx512) {
  const size_t g = d->groups, cg = d->input_channels / g, og = d->output_channels / g;
  if (cg != og || (cg != 2 && cg != 4 && cg != 8 && cg != 16)) return false;
  if (d->kernel_height != 3 || d->kernel_width != 3 || d->dilation_height != 1 ||
      d->dilation_width != 1 || d->padding_top != 1 || d->padding_left != 1 ||
      d->padding_bottom != 1 || d->padding_right != 1 || d->stride_height != d->stride_width ||
      (d->stride_height != 1 && d->stride_height != 2)) {
    return false;
  }
  size_t together = (avx512 ? 64 : 32) / og / (cg > 4 ? cg : 4);
  if (together < 1) together = 1;
  return g >= together && g % together != 0;
}

/* PyTorch fbgemm (numerics.md §2.2, numerics/fbgemm.md): ats = (float)sx * (float)sw;
 * mult = ats / (float)so. The float bias term, as GCC compiles FBGEMM's AVX2 epilogue:
 *   per tensor, im2col / pointwise / groupwise paths: fma(b, rcp, (float)acc), rcp = (float)(1.0 /
 *     (double)ats) — one rounding (FP32_CVT_FMA);
 *   per tensor, depthwise path: (float)acc + b * rcp — two roundings (FP32_CVT);
 *   per channel (PyTorch's qscheme, even with one output channel): (float)acc + b / ats[o].
 * Accumulators: FBGEMM's depthwise kernel saturates tap pairs on every CPU; on a CPU without
 * AVX512-VNNI (`avx2`) its GEMM kernels saturate K pairs too. */
static qk_status prepare_fbgemm_as(const qk_conv2d_desc* d, qk_conv_numerics* q, const char* mode,
                                   bool avx2) {
  qk_status s;
  if ((s = require_input_type(d, mode, QK_DTYPE_U8, "fbgemm convolutions take quint8")) ||
      (s = require_bias_type(d, mode, QK_DTYPE_F32))) {
    return s;
  }
  const bool depthwise = fbgemm_takes_depthwise_path(d);
  if (!depthwise && fbgemm_groupwise_overruns(d, !avx2)) {
    return qk_fail(QK_ERROR_UNSUPPORTED,
                   "conv2d: %s cannot reproduce this convolution: FBGEMM's groupwise kernel (3x3, "
                   "%zu channels per group) runs groups in blocks and reads and writes out of "
                   "bounds when the %zu groups are not a whole number of blocks (it aborts or "
                   "corrupts memory in PyTorch)",
                   mode, d->input_channels / d->groups, d->groups);
  }
  const bool per_channel = is_per_channel(d), has_bias = d->bias_type == QK_DTYPE_F32;
  const bool fused = has_bias && !per_channel && !depthwise;
  for (size_t o = 0; o < d->output_channels; o++) {
    const float ats = f32(d->input_scale) * f32(weight_scale(d, o));
    q->scale[o] = ats / f32(d->output_scale);
    if (!has_bias) continue;
    const float b = ((const float*)d->bias)[o], rcp = f32(1.0 / (double)ats);
    if (fused) {
      q->bias[o] = b;
      q->bias_scale[o] = rcp;
    } else {
      q->bias[o] = per_channel ? b / ats : b * rcp;
    }
  }
  q->kind = fused ? QK_REQUANT_FP32_CVT_FMA : QK_REQUANT_FP32_CVT;
  q->saturate_pairs = depthwise || avx2;
  return QK_SUCCESS;
}

static qk_status prepare_fbgemm(const qk_conv2d_desc* d, qk_conv_numerics* q) {
  return prepare_fbgemm_as(d, q, "pytorch-fbgemm", false);
}

static qk_status prepare_fbgemm_avx2(const qk_conv2d_desc* d, qk_conv_numerics* q) {
  return prepare_fbgemm_as(d, q, "pytorch-fbgemm-avx2", true);
}

/* PyTorch qnnpack with quint8 (QNNPACK, §2.3): bias quantized to int32 with the double product
 * sw * sx; mult = ((float)sw * (float)sx) * (1.0f / (float)so); x86 conversion. */
static qk_status prepare_qnnpack_u8(const qk_conv2d_desc* d, qk_conv_numerics* q) {
  /* QNNPACK's conv_utils.h picks its GEMM kernel for 1x1 stride-1 unpadded convolutions. */
  const bool runs_as_gemm = d->kernel_height == 1 && d->kernel_width == 1 &&
                            d->stride_height == 1 && d->stride_width == 1 && d->padding_top == 0 &&
                            d->padding_left == 0 && d->padding_bottom == 0 && d->padding_right == 0;
  for (size_t o = 0; o < d->output_channels; o++) {
    const double sw = weight_scale(d, o);
    q->scale[o] = (f32(sw) * f32(d->input_scale)) * (1.0f / f32(d->output_scale));
    if (d->bias_type == QK_DTYPE_F32) {
      int32_t b = quantize_bias_qint32(((const float*)d->bias)[o], sw * d->input_scale);
      /* Observed in torch 1.13 (docs/numerics.md): a bias saturated at INT32_MAX acts as
       * INT32_MIN in QNNPACK's convolution kernels, but not when QNNPACK runs the convolution as
       * a GEMM (1x1, stride 1, no padding). Only absurd biases (> 2^31 * sx * sw) get here. */
      if (b == INT32_MAX && !runs_as_gemm) b = INT32_MIN;
      q->int_bias[o] = b;
    }
  }
  q->kind = QK_REQUANT_FP32_CVT;
  return QK_SUCCESS;
}

/* PyTorch qnnpack with qint8 (XNNPACK qs8 / qc8w, §2.3): int32 bias as above; the multiplier is a
 * division ((float)sx * (float)sw) / (float)so; saturating conversion. XNNPACK refuses scales
 * >= 256 at operator creation (torch: "xnn create operator failed(4)"). As in PyTorch 2.x
 * (numerics/pytorch26.md §3): a one-value output range (ReLU with zero point 127) gives that
 * value, and scales < 2^-32 compute (torch 1.13 refused the first and aborted on the second). */
static qk_status prepare_qnnpack_s8(const qk_conv2d_desc* d, qk_conv_numerics* q) {
  const char* mode = "pytorch-qnnpack (qint8 activations, run by XNNPACK)";
  if (any_nonzero(d->weight_zero_points, d->weight_scale_count)) {
    return qk_fail(QK_ERROR_UNSUPPORTED,
                   "conv2d: %s needs weight zero points of 0 (torch refuses a nonzero per-tensor "
                   "weight zero point and silently ignores per-channel ones)",
                   mode);
  }
  for (size_t o = 0; o < d->output_channels; o++) {
    const double sw = weight_scale(d, o);
    const float m = (f32(d->input_scale) * f32(sw)) / f32(d->output_scale);
    if (!(m < 256.0f)) {
      return qk_fail(QK_ERROR_UNSUPPORTED,
                     "conv2d: %s needs input_scale * weight_scale / output_scale < 256, got %g "
                     "for channel %zu (XNNPACK refuses it: xnn create operator failed(4))",
                     mode, (double)m, o);
    }
    q->scale[o] = m;
    if (d->bias_type == QK_DTYPE_F32) {
      q->int_bias[o] = quantize_bias_qint32(((const float*)d->bias)[o], sw * d->input_scale);
    }
  }
  q->kind = QK_REQUANT_FP32_SAT;
  return QK_SUCCESS;
}

static qk_status prepare_qnnpack(const qk_conv2d_desc* d, qk_conv_numerics* q) {
  const char* mode = "pytorch-qnnpack";
  qk_status s = require_bias_type(d, mode, QK_DTYPE_F32);
  if (s != QK_SUCCESS) return s;
  if (d->input_type == QK_DTYPE_S8) return prepare_qnnpack_s8(d, q);
  return prepare_qnnpack_u8(d, q);
}

/* PyTorch 1.13 - 2.0 onednn (ideep 2.6 / oneDNN 2.6, §2.4): PyTorch hands ideep reciprocal scales
 * (double 1.0/s, stored as float); ideep computes bsc = isx * isw, op = iso / bsc in float; the
 * bias stays float, scaled by bsc; the zero point is added in float. */
static qk_status prepare_onednn_1_13(const qk_conv2d_desc* d, qk_conv_numerics* q) {
  const char* mode = "pytorch-onednn-1.13";
  qk_status s;
  if ((s = require_input_type(d, mode, QK_DTYPE_U8,
                              "torch: \"data type of input should be QUint8\"")) ||
      (s = require_symmetric_weights(d, mode, "torch: \"only supports symmetric quantization\"")) ||
      (s = require_bias_type(d, mode, QK_DTYPE_F32))) {
    return s;
  }
  const float isx = f32(1.0 / d->input_scale);
  const float iso = f32(1.0 / d->output_scale);
  for (size_t o = 0; o < d->output_channels; o++) {
    const float isw = f32(1.0 / weight_scale(d, o));
    const float bsc = isx * isw;
    q->scale[o] = iso / bsc;
    if (d->bias_type == QK_DTYPE_F32) q->bias[o] = ((const float*)d->bias)[o] * bsc;
  }
  q->kind = QK_REQUANT_FP32_FZP;
  return QK_SUCCESS;
}

/* PyTorch >= 2.2 onednn (oneDNN 3.x, numerics/pytorch26.md §1): PyTorch hands ideep 1.0 / xs,
 * ideep inverts it back in float (xs' = 1 / (1 / xs), one ulp off xs for 17 % of floats) and
 * keeps the weight scales as they are; oneDNN precomputes s[o] = xs' * ws[o], then per output
 * acc * s[o] + bias (unscaled float bias), ReLU, * (1 / os), + zero point in float, clamp, rne. */
static qk_status prepare_onednn(const qk_conv2d_desc* d, qk_conv_numerics* q) {
  const char* mode = "pytorch-onednn";
  qk_status s;
  if ((s = require_input_type(d, mode, QK_DTYPE_U8,
                              "torch: \"data type of input should be QUint8\"")) ||
      (s = require_symmetric_weights(d, mode, "torch: \"only supports symmetric quantization\"")) ||
      (s = require_bias_type(d, mode, QK_DTYPE_F32))) {
    return s;
  }
  const float xs = 1.0f / f32(1.0 / d->input_scale);
  for (size_t o = 0; o < d->output_channels; o++) {
    q->scale[o] = xs * f32(weight_scale(d, o));
    if (d->bias_type == QK_DTYPE_F32) q->bias[o] = ((const float*)d->bias)[o];
  }
  /* ReLU comes before the output scale there: max(v, 0) * m + zp, which the clamp at the zero
   * point after the scale reproduces (m > 0). */
  q->post_scale = 1.0f / f32(d->output_scale);
  q->kind = QK_REQUANT_FP32_SBFZP;
  return QK_SUCCESS;
}

/* XNNPACK qs8 / qc8w convolution (xnn_create_convolution2d_nhwc_qs8 / _qs8_qc8w, as ExecuTorch's
 * XNNPACK backend and TFLite's XNNPACK delegate create it): int8 activations, symmetric int8
 * weights (per tensor or per channel), int32 bias, scale (sx * sw[o]) / so in float32, clamp in
 * float to the output range minus the zero point, round half to even, integer zero point. */
static qk_status prepare_xnnpack(const qk_conv2d_desc* d, qk_conv_numerics* q) {
  const char* mode = "xnnpack";
  qk_status s;
  if ((s = require_input_type(d, mode, QK_DTYPE_S8, "XNNPACK's qs8 convolutions take int8")) ||
      (s = require_symmetric_weights(d, mode, "XNNPACK's qs8 / qc8w weights have no zero point")) ||
      (s = require_bias_type(d, mode, QK_DTYPE_S32))) {
    return s;
  }
  for (size_t o = 0; o < d->output_channels; o++) {
    const float m = (f32(d->input_scale) * f32(weight_scale(d, o))) / f32(d->output_scale);
    if (!(m < 256.0f)) {
      return qk_fail(QK_ERROR_UNSUPPORTED,
                     "conv2d: %s needs input_scale * weight_scale / output_scale < 256, got %g "
                     "for channel %zu (XNNPACK refuses it: xnn_status_unsupported_parameter)",
                     mode, (double)m, o);
    }
    q->scale[o] = m;
    if (d->bias_type == QK_DTYPE_S32) q->int_bias[o] = ((const int32_t*)d->bias)[o];
  }
  q->kind = QK_REQUANT_FP32_SAT;
  return QK_SUCCESS;
}

/* ONNX Runtime QLinearConv (MLAS, §2.6): float scales; scale = (sx * sw) / sy in float, int32
 * bias added to the accumulator, clamp in float, round, add the zero point. ORT 1.30 computes
 * unequal per-channel weight zero points exactly (older releases refused them). */
static qk_status prepare_onnxruntime(const qk_conv2d_desc* d, qk_conv_numerics* q) {
  const char* mode = "onnxruntime";
  qk_status s = require_bias_type(d, mode, QK_DTYPE_S32);
  if (s != QK_SUCCESS) return s;
  for (size_t o = 0; o < d->output_channels; o++) {
    q->scale[o] = (f32(d->input_scale) * f32(weight_scale(d, o))) / f32(d->output_scale);
    if (d->bias_type == QK_DTYPE_S32) q->int_bias[o] = ((const int32_t*)d->bias)[o];
  }
  q->kind = QK_REQUANT_FP32_SAT;
  return QK_SUCCESS;
}

/* TFLite (kernel_util.cc PopulateConvolutionQuantizationParams): int8 takes per-channel
 * multipliers from (double)sx * (double)sw[o] / (double)so with symmetric weights; the legacy
 * uint8 path takes one multiplier from the FLOAT product sx * sw, then / so in double. */
static qk_status prepare_tflite(const qk_conv2d_desc* d, qk_conv_numerics* q) {
  const char* mode = "tflite";
  qk_status s = require_bias_type(d, mode, QK_DTYPE_S32);
  if (s != QK_SUCCESS) return s;
  const bool u8 = d->input_type == QK_DTYPE_U8;
  if (u8 && is_per_channel(d)) {
    return qk_fail(QK_ERROR_UNSUPPORTED,
                   "conv2d: %s takes per-channel weights with int8 activations only (its uint8 "
                   "kernels are per tensor)",
                   mode);
  }
  if (!u8 && (s = require_symmetric_weights(
                  d, mode, "TFLite's int8 convolutions ignore the weight zero point"))) {
    return s;
  }
  for (size_t o = 0; o < d->output_channels; o++) {
    const float sx = f32(d->input_scale), sw = f32(weight_scale(d, o)), so = f32(d->output_scale);
    const double m = u8 ? (double)(sx * sw) / (double)so : (double)sx * (double)sw / (double)so;
    if (!isfinite(m)) {
      return qk_fail(QK_ERROR_UNSUPPORTED,
                     "conv2d: %s: the requantization scale of channel %zu overflows (input %g, "
                     "weight %g, output %g; TFLite's float product is inf)",
                     mode, o, d->input_scale, weight_scale(d, o), d->output_scale);
    }
    qk_tflite_quantize_multiplier(m, &q->multiplier[o], &q->shift[o]);
    if (q->shift[o] > 30) {
      return qk_fail(QK_ERROR_UNSUPPORTED,
                     "conv2d: %s cannot represent the requantization scale %g of channel %zu "
                     "(>= 2^30 overflows its fixed-point left shift)",
                     mode, m, o);
    }
    if (d->bias_type == QK_DTYPE_S32) q->int_bias[o] = ((const int32_t*)d->bias)[o];
  }
  q->kind = QK_REQUANT_GEMMLOWP;
  return QK_SUCCESS;
}

qk_numerics qk_conv_numerics_resolve(const qk_conv2d_desc* d) {
  return qk_conv_numerics_resolve_for(d, QK_CONV_OP_CONV2D);
}

qk_numerics qk_conv_numerics_resolve_for(const qk_conv2d_desc* d, qk_conv_op op) {
  if (d->numerics != QK_NUMERICS_PYTORCH_X86) return d->numerics;
  /* qlinear_prepack.cpp QLinearPackWeightInt8::run: FBGEMM || X86 -> PackedLinearWeight, i.e.
   * every linear of the x86 engine is FBGEMM's (numerics/pytorch26.md §4). */
  if (op == QK_CONV_OP_LINEAR) return QK_NUMERICS_PYTORCH_FBGEMM;
  /* OnednnUtils.h should_use_onednn_quant, on an AVX512-VNNI Linux machine: oneDNN for
   * symmetric weights and at most 100 groups, FBGEMM otherwise. */
  return d->groups <= 100 && !any_nonzero(d->weight_zero_points, d->weight_scale_count)
             ? QK_NUMERICS_PYTORCH_ONEDNN
             : QK_NUMERICS_PYTORCH_FBGEMM;
}

/* Huge but finite scales can overflow the framework's float arithmetic (tflite u8: sx * sw =
 * inf; fbgemm: 1 / ats = inf). The framework would compute with inf or NaN (or hit undefined
 * behaviour converting it); nothing meaningful to reproduce, so such descriptors are refused. */
static qk_status check_finite(const qk_conv2d_desc* d, const qk_conv_numerics* q,
                              const char* mode) {
  for (size_t o = 0; o < d->output_channels; o++) {
    if (!isfinite(q->scale[o]) || !isfinite(q->bias[o]) || !isfinite(q->bias_scale[o]) ||
        !isfinite(q->post_scale)) {
      return qk_fail(QK_ERROR_UNSUPPORTED,
                     "conv2d: %s: the scales of channel %zu (input %g, weight %g, output %g) "
                     "overflow float32 in the framework's requantization arithmetic",
                     mode, o, d->input_scale, weight_scale(d, o), d->output_scale);
    }
  }
  return QK_SUCCESS;
}

/* Fully connected layers (qk_linear): where the frameworks' linear differs from their conv.
 * Applied after the conv preparation of the same mode, which computed everything else. */
static qk_status prepare_linear(const qk_conv2d_desc* d, qk_numerics mode, qk_conv_numerics* q) {
  switch (mode) {
    case QK_NUMERICS_PYTORCH_QNNPACK:
      /* qlinear.cpp PackedLinearWeightsQnnp::apply_impl_xnnp (qint8 -> XNNPACK fully connected):
       * "quantized::linear (xnnpack): Unsupported config for dtype KQInt8" for per-channel. */
      if (d->input_type == QK_DTYPE_S8 && is_per_channel(d)) {
        return qk_fail(QK_ERROR_UNSUPPORTED,
                       "conv2d: pytorch-qnnpack (qint8 activations, run by XNNPACK) takes "
                       "per-tensor weights only in a linear (torch: \"quantized::linear "
                       "(xnnpack): Unsupported config for dtype KQInt8\")");
      }
      return QK_SUCCESS;
    case QK_NUMERICS_PYTORCH_ONEDNN: {
      /* PyTorch >= 2.2: qlinear_prepack.cpp stores 1/ws, ideep matmul.hpp inverts it again, so
       * the weight scale is f32(1/f32(1/ws)) too (numerics/pytorch26.md §2). */
      const float xs = 1.0f / f32(1.0 / d->input_scale);
      for (size_t o = 0; o < d->output_channels; o++) {
        const float ws = 1.0f / f32(1.0 / weight_scale(d, o));
        q->scale[o] = xs * ws;
      }
      return QK_SUCCESS;
    }
    case QK_NUMERICS_ONNXRUNTIME:
      /* QLinearMatMul has no bias input (MatMulInteger gives int32, no requantization). */
      if (d->bias_type != QK_DTYPE_NONE) {
        return qk_fail(QK_ERROR_UNSUPPORTED,
                       "conv2d: onnxruntime's QLinearMatMul has no bias input (bias_type must be "
                       "NONE)");
      }
      return QK_SUCCESS;
    case QK_NUMERICS_TFLITE:
      /* fully_connected.cc: per-tensor weights take GetQuantizedConvolutionMultipler, whose
       * product sx * sw is float32 (kernel_util.cc), for int8 as for uint8; per-channel ones
       * (int8) the double product, as the convolution. */
      if (d->input_type == QK_DTYPE_S8 && !is_per_channel(d)) {
        const float sx = f32(d->input_scale), sw = f32(weight_scale(d, 0));
        const double m = (double)(sx * sw) / (double)f32(d->output_scale);
        int32_t multiplier = 0, shift = 31;
        if (isfinite(m)) qk_tflite_quantize_multiplier(m, &multiplier, &shift);
        if (shift > 30) {
          return qk_fail(QK_ERROR_UNSUPPORTED,
                         "conv2d: tflite cannot represent the requantization scale %g (>= 2^30 "
                         "overflows its fixed-point left shift, or the float product is inf)",
                         m);
        }
        for (size_t o = 0; o < d->output_channels; o++) {
          q->multiplier[o] = multiplier;
          q->shift[o] = shift;
        }
      }
      return QK_SUCCESS;
    default: return QK_SUCCESS; /* fbgemm (FC = pointwise GEMM path), onednn-1.13, xnnpack */
  }
}

qk_status qk_conv_numerics_prepare(const qk_conv2d_desc* d, qk_conv_numerics* q) {
  return qk_conv_numerics_prepare_for(d, QK_CONV_OP_CONV2D, q);
}

qk_status qk_conv_numerics_prepare_for(const qk_conv2d_desc* d, qk_conv_op op,
                                       qk_conv_numerics* q) {
  memset(q, 0, sizeof(*q));
  const char* mode = qk_numerics_name(d->numerics);
  if (mode == NULL) {
    return qk_fail(QK_ERROR_INVALID_ARGUMENT, "conv2d: numerics %d is not a qk_numerics mode",
                   (int)d->numerics);
  }
  qk_status s = check_common(d, mode);
  if (s != QK_SUCCESS) return s;
  if ((s = alloc_arrays(q, d->output_channels)) != QK_SUCCESS) return s;

  const qk_numerics resolved = qk_conv_numerics_resolve_for(d, op);
  switch (resolved) {
    case QK_NUMERICS_PYTORCH_FBGEMM: s = prepare_fbgemm(d, q); break;
    case QK_NUMERICS_PYTORCH_FBGEMM_AVX2: s = prepare_fbgemm_avx2(d, q); break;
    case QK_NUMERICS_PYTORCH_QNNPACK: s = prepare_qnnpack(d, q); break;
    case QK_NUMERICS_PYTORCH_ONEDNN: s = prepare_onednn(d, q); break;
    case QK_NUMERICS_PYTORCH_ONEDNN_1_13: s = prepare_onednn_1_13(d, q); break;
    case QK_NUMERICS_ONNXRUNTIME: s = prepare_onnxruntime(d, q); break;
    case QK_NUMERICS_TFLITE: s = prepare_tflite(d, q); break;
    case QK_NUMERICS_XNNPACK: s = prepare_xnnpack(d, q); break;
    case QK_NUMERICS_PYTORCH_X86: s = QK_ERROR_INVALID_ARGUMENT; break; /* resolved above */
  }
  if (s == QK_SUCCESS && op == QK_CONV_OP_LINEAR) s = prepare_linear(d, resolved, q);
  if (s == QK_SUCCESS) s = check_finite(d, q, mode);
  if (s != QK_SUCCESS) {
    qk_conv_numerics_free(q);
    return s;
  }

  for (size_t o = 0; o < d->output_channels; o++) {
    q->weight_zero_point[o] =
        d->weight_zero_points ? d->weight_zero_points[d->weight_scale_count == 1 ? 0 : o] : 0;
    q->has_weight_zero_point |= q->weight_zero_point[o] != 0;
  }
  q->input_xor_mask = d->input_type == QK_DTYPE_S8 ? 0x80 : 0;
  q->input_zero_point_u8 = d->input_zero_point + (d->input_type == QK_DTYPE_S8 ? 128 : 0);
  q->output_zero_point = d->output_zero_point;
  output_bounds(d, &q->output_min, &q->output_max);
  return QK_SUCCESS;
}
