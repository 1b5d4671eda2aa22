/* quantize / dequantize, per numerics mode (formulas in include/qk.h and docs/numerics.md). */
#include <math.h>
#include <string.h>

#include "kernels/common.h"

static qk_status check_layout(const char* fn, size_t outer, size_t channels, size_t inner,
                              const void* input, const void* output, size_t scale_count,
                              const double* scales, const int32_t* zero_points, qk_dtype qtype,
                              size_t* count) {
  if (input == NULL || output == NULL || scales == NULL) {
    return qk_fail(QK_ERROR_INVALID_ARGUMENT, "%s: input, output and scales must not be NULL", fn);
  }
  if (scale_count != 1 && scale_count != channels) {
    return qk_fail(QK_ERROR_INVALID_ARGUMENT,
                   "%s: scale_count must be 1 (per tensor) or channels (%zu), got %zu", fn,
                   channels, scale_count);
  }
  if (!qk_mul_size(outer, channels, count) || !qk_mul_size(*count, inner, count) ||
      *count > SIZE_MAX / sizeof(float)) {
    return qk_fail(QK_ERROR_SIZE_OVERFLOW, "%s: %zu x %zu x %zu elements overflow", fn, outer,
                   channels, inner);
  }
  int32_t qmin, qmax;
  if (!qk_dtype_range(qtype, &qmin, &qmax)) {
    return qk_fail(QK_ERROR_INVALID_ARGUMENT, "%s: the quantized type must be U8, S8 or S32", fn);
  }
  for (size_t i = 0; i < scale_count; i++) {
    const float f = (float)scales[i];
    if (!qk_scale_is_valid(scales[i]) || !(f > 0.0f) || !isfinite(f)) {
      return qk_fail(QK_ERROR_INVALID_ARGUMENT,
                     "%s: scales[%zu] = %g must be positive, finite and representable as float32",
                     fn, i, scales[i]);
    }
    if (zero_points != NULL && (zero_points[i] < qmin || zero_points[i] > qmax)) {
      return qk_fail(QK_ERROR_INVALID_ARGUMENT, "%s: zero_points[%zu] = %d is outside the %s range",
                     fn, i, (int)zero_points[i], qk_dtype_name(qtype));
    }
  }
  return QK_SUCCESS;
}

static qk_status check_numerics(const char* fn, qk_numerics numerics, qk_dtype qtype) {
  switch (numerics) {
    case QK_NUMERICS_PYTORCH_FBGEMM:
    case QK_NUMERICS_PYTORCH_FBGEMM_AVX2:
    case QK_NUMERICS_PYTORCH_QNNPACK:
    case QK_NUMERICS_PYTORCH_ONEDNN:
    case QK_NUMERICS_PYTORCH_ONEDNN_1_13:
    case QK_NUMERICS_PYTORCH_X86: return QK_SUCCESS;
    /* XNNPACK's f32 -> qs8 convert multiplies by the float reciprocal like PyTorch (and clamps
     * before adding the zero point, which gives the same integers): the PyTorch formula. */
    case QK_NUMERICS_XNNPACK:
    case QK_NUMERICS_ONNXRUNTIME:
    case QK_NUMERICS_TFLITE:
      if (qtype == QK_DTYPE_S32) {
        return qk_fail(QK_ERROR_UNSUPPORTED, "%s: %s quantizes to 8-bit types only", fn,
                       qk_numerics_name(numerics));
      }
      return QK_SUCCESS;
  }
  return qk_fail(QK_ERROR_INVALID_ARGUMENT, "%s: numerics %d is not a qk_numerics mode", fn,
                 (int)numerics);
}

/* Saturating conversion of an integral-valued float (or ±inf) to int64 plus zero point, clamped. */
static int32_t clamp_rounded(float r, int32_t zero_point, int32_t qmin, int32_t qmax) {
  if (r >= 4294967296.0f) return qmax; /* beyond any int32 range + zero point */
  if (r <= -4294967296.0f) return qmin;
  return qk_clamp_i32((int64_t)r + zero_point, qmin, qmax);
}

static int32_t quantize_one(qk_numerics numerics, float x, float scale, int32_t zp, int32_t qmin,
                            int32_t qmax) {
  switch (numerics) {
    case QK_NUMERICS_ONNXRUNTIME: { /* MLAS: divide, clamp in float, round to even, add zp */
      float v = x / scale;
      const float lo = (float)qmin - (float)zp, hi = (float)qmax - (float)zp;
      v = v < lo ? lo : v > hi ? hi : v;
      return (int32_t)nearbyintf(v) + zp;
    }
    case QK_NUMERICS_TFLITE: /* reference AffineQuantize: divide, std::round (half away) */
      return clamp_rounded(roundf(x / scale), zp, qmin, qmax);
    default: { /* PyTorch quantize_val: multiply by the float reciprocal, round to even */
      const float inv = 1.0f / scale;
      return clamp_rounded(nearbyintf(x * inv), zp, qmin, qmax);
    }
  }
}

static void store(qk_dtype type, void* out, size_t i, int32_t q) {
  switch (type) {
    case QK_DTYPE_U8: ((uint8_t*)out)[i] = (uint8_t)q; break;
    case QK_DTYPE_S8: ((int8_t*)out)[i] = (int8_t)q; break;
    default: ((int32_t*)out)[i] = q; break;
  }
}

static int32_t load(qk_dtype type, const void* in, size_t i) {
  switch (type) {
    case QK_DTYPE_U8: return ((const uint8_t*)in)[i];
    case QK_DTYPE_S8: return ((const int8_t*)in)[i];
    default: return ((const int32_t*)in)[i];
  }
}

qk_status qk_quantize(qk_numerics numerics, qk_dtype output_type, size_t outer, size_t channels,
                      size_t inner, const float* input, size_t scale_count, const double* scales,
                      const int32_t* zero_points, void* output) {
  const char* fn = "qk_quantize";
  size_t count;
  qk_status s = check_layout(fn, outer, channels, inner, input, output, scale_count, scales,
                             zero_points, output_type, &count);
  if (s != QK_SUCCESS || (s = check_numerics(fn, numerics, output_type)) != QK_SUCCESS) return s;
  for (size_t i = 0; i < count; i++) {
    if (isnan(input[i])) {
      return qk_fail(QK_ERROR_INVALID_ARGUMENT, "%s: input[%zu] is NaN", fn, i);
    }
  }
  int32_t qmin, qmax;
  qk_dtype_range(output_type, &qmin, &qmax);
  for (size_t o = 0; o < outer; o++) {
    for (size_t c = 0; c < channels; c++) {
      const size_t p = scale_count == 1 ? 0 : c;
      const float scale = (float)scales[p];
      const int32_t zp = zero_points ? zero_points[p] : 0;
      const size_t base = (o * channels + c) * inner;
      for (size_t i = 0; i < inner; i++) {
        store(output_type, output, base + i,
              quantize_one(numerics, input[base + i], scale, zp, qmin, qmax));
      }
    }
  }
  return QK_SUCCESS;
}

qk_status qk_dequantize(qk_numerics numerics, qk_dtype input_type, size_t outer, size_t channels,
                        size_t inner, const void* input, size_t scale_count, const double* scales,
                        const int32_t* zero_points, float* output) {
  const char* fn = "qk_dequantize";
  size_t count;
  qk_status s = check_layout(fn, outer, channels, inner, input, output, scale_count, scales,
                             zero_points, input_type, &count);
  if (s != QK_SUCCESS || (s = check_numerics(fn, numerics, input_type)) != QK_SUCCESS) return s;
  for (size_t o = 0; o < outer; o++) {
    for (size_t c = 0; c < channels; c++) {
      const size_t p = scale_count == 1 ? 0 : c;
      const float scale = (float)scales[p];
      const int64_t zp = zero_points ? zero_points[p] : 0;
      const size_t base = (o * channels + c) * inner;
      for (size_t i = 0; i < inner; i++) {
        const int64_t d = (int64_t)load(input_type, input, base + i) - zp;
        output[base + i] = numerics == QK_NUMERICS_TFLITE
                               ? (float)((double)scale * (double)d) /* double, then one rounding */
                               : scale * (float)d;
      }
    }
  }
  return QK_SUCCESS;
}
