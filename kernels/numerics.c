/* Per-mode validation and preparation of a convolution's quantization parameters.
 *
 * Each mode reproduces one framework (docs/numerics.md, with the framework sources); the float
 * expressions below are written in the framework's order on purpose: float32, one operation at a
 * time (the library is built with -ffp-contract=off), casts exactly where the framework casts. */
#include "kernels/numerics.h"

#include <math.h>
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
    {QK_NUMERICS_PYTORCH_QNNPACK, "pytorch-qnnpack"},
    {QK_NUMERICS_PYTORCH_ONEDNN, "pytorch-onednn"},
    {QK_NUMERICS_ONNXRUNTIME, "onnxruntime"},
    {QK_NUMERICS_TFLITE, "tflite"},
};

const char* qk_numerics_name(qk_numerics numerics) {
  for (size_t i = 0; i < sizeof(k_numerics_names) / sizeof(k_numerics_names[0]); i++) {
    if (k_numerics_names[i].mode == numerics) return k_numerics_names[i].name;
  }
  return NULL;
}

qk_status qk_numerics_from_name(const char* name, qk_numerics* numerics) {
  if (name == NULL || numerics == NULL) {
    return qk_fail(QK_ERROR_INVALID_ARGUMENT, "qk_numerics_from_name: NULL argument");
  }
  for (size_t i = 0; i < sizeof(k_numerics_names) / sizeof(k_numerics_names[0]); i++) {
    if (strcmp(k_numerics_names[i].name, name) == 0) {
      *numerics = k_numerics_names[i].mode;
      return QK_SUCCESS;
    }
  }
  return qk_fail(QK_ERROR_INVALID_ARGUMENT,
                 "unknown numerics mode '%s' (expected pytorch-fbgemm, pytorch-qnnpack, "
                 "pytorch-onednn, onnxruntime or tflite)",
                 name);
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

/* The float32 value a framework that stores scales as float sees, checked to be usable. */
static bool scale_is_valid_f32(double s) {
  const float f = (float)s;
  return qk_scale_is_valid(s) && f > 0.0f && isfinite(f);
}

void qk_conv_numerics_free(qk_conv_numerics* q) {
  free(q->scale);
  free(q->bias);
  free(q->int_bias);
  free(q->multiplier);
  free(q->shift);
  free(q->weight_zero_point);
  memset(q, 0, sizeof(*q));
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
  if (d->output_min > d->output_max) {
    return qk_fail(QK_ERROR_INVALID_ARGUMENT, "conv2d: output_min %d > output_max %d",
                   (int)d->output_min, (int)d->output_max);
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

/* Output bounds: type range ∩ [output_min, output_max] ∩ (ReLU: >= zero point). */
static void output_bounds(const qk_conv2d_desc* d, int32_t* lo, int32_t* hi) {
  int32_t qmin, qmax;
  qk_dtype_range(d->output_type, &qmin, &qmax);
  *lo = qmin > d->output_min ? qmin : d->output_min;
  *hi = qmax < d->output_max ? qmax : d->output_max;
  if (d->relu && *lo < d->output_zero_point) *lo = d->output_zero_point;
}

static qk_status alloc_arrays(qk_conv_numerics* q, size_t channels) {
  q->scale = calloc(channels, sizeof(float));
  q->bias = calloc(channels, sizeof(float));
  q->int_bias = calloc(channels, sizeof(int32_t));
  q->multiplier = calloc(channels, sizeof(int32_t));
  q->shift = calloc(channels, sizeof(int32_t));
  q->weight_zero_point = calloc(channels, sizeof(int32_t));
  if (!q->scale || !q->bias || !q->int_bias || !q->multiplier || !q->shift ||
      !q->weight_zero_point) {
    qk_conv_numerics_free(q);
    return qk_fail(QK_ERROR_OUT_OF_MEMORY, "conv2d: out of memory for %zu channels", channels);
  }
  return QK_SUCCESS;
}

/* ---------------------------------------------------------------------------------------------
 * The modes
 * ------------------------------------------------------------------------------------------- */

/* PyTorch fbgemm (numerics.md §2.2): ats = (float)sx * (float)sw; mult = ats / (float)so;
 * float bias term b * (float)(1.0 / (double)ats) per tensor (the SIMD path every AVX2/AVX512
 * column takes), b / ats[o] per channel. */
static qk_status prepare_fbgemm(const qk_conv2d_desc* d, qk_conv_numerics* q) {
  const char* mode = "pytorch-fbgemm";
  qk_status s;
  if ((s = require_input_type(d, mode, QK_DTYPE_U8, "fbgemm convolutions take quint8")) ||
      (s = require_bias_type(d, mode, QK_DTYPE_F32))) {
    return s;
  }
  const bool per_channel = d->weight_scale_count > 1;
  for (size_t o = 0; o < d->output_channels; o++) {
    const float ats = f32(d->input_scale) * f32(weight_scale(d, o));
    q->scale[o] = ats / f32(d->output_scale);
    if (d->bias_type == QK_DTYPE_F32) {
      const float b = ((const float*)d->bias)[o];
      q->bias[o] = per_channel ? b / ats : b * f32(1.0 / (double)ats);
    }
  }
  q->kind = QK_REQUANT_FP32_CVT;
  return QK_SUCCESS;
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
 * division ((float)sx * (float)sw) / (float)so; saturating conversion. XNNPACK refuses several
 * configurations at operator creation; torch reports them as "xnn create operator failed". */
static qk_status prepare_qnnpack_s8(const qk_conv2d_desc* d, qk_conv_numerics* q) {
  const char* mode = "pytorch-qnnpack (qint8 activations, run by XNNPACK)";
  if (any_nonzero(d->weight_zero_points, d->weight_scale_count)) {
    return qk_fail(QK_ERROR_UNSUPPORTED,
                   "conv2d: %s needs weight zero points of 0 (torch refuses a nonzero per-tensor "
                   "weight zero point and silently ignores per-channel ones)",
                   mode);
  }
  int32_t lo, hi;
  output_bounds(d, &lo, &hi);
  if (lo >= hi) {
    return qk_fail(QK_ERROR_UNSUPPORTED,
                   "conv2d: %s needs an output range with min < max, got [%d, %d] (XNNPACK "
                   "refuses it: xnn create operator failed(2))",
                   mode, (int)lo, (int)hi);
  }
  for (size_t o = 0; o < d->output_channels; o++) {
    const double sw = weight_scale(d, o);
    const float m = (f32(d->input_scale) * f32(sw)) / f32(d->output_scale);
    if (!(m >= 0x1.0p-32f && m < 256.0f)) {
      return qk_fail(QK_ERROR_UNSUPPORTED,
                     "conv2d: %s needs input_scale * weight_scale / output_scale in [2^-32, 256), "
                     "got %g for channel %zu (XNNPACK refuses it)",
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
  /* QNNPACK itself accepts an empty range (ReLU with output zero point 255: every output 255);
   * only XNNPACK refuses it (torch 1.13, golden case qnnpack-0074). */
  return prepare_qnnpack_u8(d, q);
}

/* PyTorch 1.13 onednn (ideep 2.6 / oneDNN 2.6, §2.4): PyTorch hands ideep reciprocal scales
 * (double 1.0/s, stored as float); ideep computes bsc = isx * isw, op = iso / bsc in float; the
 * bias stays float, scaled by bsc; the zero point is added in float. */
static qk_status prepare_onednn(const qk_conv2d_desc* d, qk_conv_numerics* q) {
  const char* mode = "pytorch-onednn";
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
  if (u8 && d->weight_scale_count > 1) {
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

qk_status qk_conv_numerics_prepare(const qk_conv2d_desc* d, qk_conv_numerics* q) {
  memset(q, 0, sizeof(*q));
  const char* mode = qk_numerics_name(d->numerics);
  if (mode == NULL) {
    return qk_fail(QK_ERROR_INVALID_ARGUMENT, "conv2d: numerics %d is not a qk_numerics mode",
                   (int)d->numerics);
  }
  qk_status s = check_common(d, mode);
  if (s != QK_SUCCESS) return s;
  if ((s = alloc_arrays(q, d->output_channels)) != QK_SUCCESS) return s;

  switch (d->numerics) {
    case QK_NUMERICS_PYTORCH_FBGEMM: s = prepare_fbgemm(d, q); break;
    case QK_NUMERICS_PYTORCH_QNNPACK: s = prepare_qnnpack(d, q); break;
    case QK_NUMERICS_PYTORCH_ONEDNN: s = prepare_onednn(d, q); break;
    case QK_NUMERICS_ONNXRUNTIME: s = prepare_onnxruntime(d, q); break;
    case QK_NUMERICS_TFLITE: s = prepare_tflite(d, q); break;
  }
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
