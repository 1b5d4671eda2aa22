/* Quantized elementwise add / add_relu and mul (include/qk.h, docs/ops-eltwise.md).
 *
 * Create validates the descriptor, picks the framework's arithmetic for the numerics mode and
 * dtype, precomputes its constants (qk_eltwise_params) and copies the kernel pointers of the
 * ISA table; run walks the pixels and calls the kernels on contiguous runs of elements.
 *
 * The one positional rule: ATen's qadd_kernel (the float path of every PyTorch engine but
 * qnnpack) runs cpu_kernel_vec over the flattened tensor, whose vectorized loop takes whole
 * blocks of 2 * Vectorized<int8>::size() = 64 elements (also on AVX-512 CPUs: the AVX-512
 * qadd_stub is registered as nullptr, so the AVX2 kernel runs) and dequantizes them with an FMA,
 * while the n mod 64 elements at the end take the scalar lambda (plain multiply). Element i of
 * pixel p sits at flat index p * channels + i of the dense tensor, so the FMA body is flat
 * indices [0, floor(n / 64) * 64) whatever the pixel strides and the thread split. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/isa.h"
#include "kernels/numerics.h"
#include "kernels/threadpool.h"
#include "kernels/verbose.h"

#define ATEN_VEC_BLOCK 64 /* elements of ATen's vectorized loop (see above) */

typedef struct eltwise_op {
  const char* name; /* "add" / "mul" */
  qk_numerics numerics;
  qk_dtype type;
  size_t channels, a_stride, b_stride, y_stride;
  int broadcast_b;
  int positional; /* ATen add: body kernel on whole 64-element blocks, tail kernel after */
  const qk_isa_config* isa;
  qk_eltwise_config body, tail;
  qk_eltwise_params params;
  char ukernels[192];
} eltwise_op;

struct qk_add {
  eltwise_op e;
};
struct qk_mul {
  eltwise_op e;
};

/* What every PyTorch mode shares for add and mul (all engines but qnnpack take ATen's paths). */
static bool is_pytorch(qk_numerics m) {
  return m == QK_NUMERICS_PYTORCH_FBGEMM || m == QK_NUMERICS_PYTORCH_FBGEMM_AVX2 ||
         m == QK_NUMERICS_PYTORCH_QNNPACK || m == QK_NUMERICS_PYTORCH_ONEDNN_1_13 ||
         m == QK_NUMERICS_PYTORCH_ONEDNN || m == QK_NUMERICS_PYTORCH_X86;
}

static int32_t float_exponent(float v) {
  uint32_t bits;
  memcpy(&bits, &v, sizeof(bits));
  return (int32_t)(bits >> 23) - 127;
}

/* The fields both descriptors share, already imported (defaults applied). */
typedef struct common_desc {
  qk_numerics numerics;
  size_t channels;
  qk_dtype type;
  double a_scale, b_scale, output_scale;
  int32_t a_zero_point, b_zero_point, output_zero_point;
  int relu;
  int32_t output_min, output_max;
  size_t a_pixel_stride, b_pixel_stride, output_pixel_stride;
} common_desc;

static qk_status check_common(const char* fn, const common_desc* d, int32_t* lo, int32_t* hi) {
  if (qk_numerics_name(d->numerics) == NULL) {
    return qk_fail(QK_ERROR_INVALID_ARGUMENT, "%s: numerics %d is not a numerics mode", fn,
                   (int)d->numerics);
  }
  if (d->type != QK_DTYPE_U8 && d->type != QK_DTYPE_S8) {
    return qk_fail(QK_ERROR_INVALID_ARGUMENT, "%s: type %d is not U8 or S8", fn, (int)d->type);
  }
  if (d->channels == 0) return qk_fail(QK_ERROR_INVALID_ARGUMENT, "%s: channels is 0", fn);
  const struct {
    const char* name;
    size_t value;
  } strides[] = {{"a_pixel_stride", d->a_pixel_stride},
                 {"b_pixel_stride", d->b_pixel_stride},
                 {"output_pixel_stride", d->output_pixel_stride}};
  for (size_t i = 0; i < 3; i++) {
    if (strides[i].value != 0 && strides[i].value < d->channels) {
      return qk_fail(QK_ERROR_INVALID_ARGUMENT, "%s: %s %zu is less than channels %zu", fn,
                     strides[i].name, strides[i].value, d->channels);
    }
  }
  const struct {
    const char* name;
    double value;
  } scales[] = {
      {"a_scale", d->a_scale}, {"b_scale", d->b_scale}, {"output_scale", d->output_scale}};
  for (size_t i = 0; i < 3; i++) {
    /* float32 is what every framework computes with: a scale that is not a positive normal
     * float32 is refused (QNNPACK and XNNPACK check isnormal too). */
    const float f = (float)scales[i].value;
    if (!qk_scale_is_valid(scales[i].value) || !isnormal(f)) {
      return qk_fail(QK_ERROR_INVALID_ARGUMENT,
                     "%s: %s %g is not a positive finite (normal float32) number", fn,
                     scales[i].name, scales[i].value);
    }
  }
  int32_t qmin, qmax;
  qk_dtype_range(d->type, &qmin, &qmax);
  const struct {
    const char* name;
    int32_t value;
  } zps[] = {{"a_zero_point", d->a_zero_point},
             {"b_zero_point", d->b_zero_point},
             {"output_zero_point", d->output_zero_point}};
  for (size_t i = 0; i < 3; i++) {
    if (zps[i].value < qmin || zps[i].value > qmax) {
      return qk_fail(QK_ERROR_INVALID_ARGUMENT, "%s: %s %d is outside [%d, %d] (%s)", fn,
                     zps[i].name, zps[i].value, qmin, qmax, qk_dtype_name(d->type));
    }
  }
  if (d->relu != 0 && d->relu != 1) {
    return qk_fail(QK_ERROR_INVALID_ARGUMENT, "%s: relu %d is not 0 or 1", fn, d->relu);
  }
  int32_t l = d->relu ? d->output_zero_point : qmin;
  int32_t h = qmax;
  if (d->output_min > l) l = d->output_min;
  if (d->output_max < h) h = d->output_max;
  if (l > h) {
    return qk_fail(QK_ERROR_INVALID_ARGUMENT,
                   "%s: empty output range [%d, %d] (output_min %d, output_max %d, relu %d)", fn, l,
                   h, d->output_min, d->output_max, d->relu);
  }
  *lo = l;
  *hi = h;
  return QK_SUCCESS;
}

static void init_common(eltwise_op* e, const char* name, const common_desc* d, int32_t lo,
                        int32_t hi) {
  e->name = name;
  e->numerics = d->numerics;
  e->type = d->type;
  e->channels = d->channels;
  e->a_stride = d->a_pixel_stride ? d->a_pixel_stride : d->channels;
  e->b_stride = d->b_pixel_stride ? d->b_pixel_stride : d->channels;
  e->y_stride = d->output_pixel_stride ? d->output_pixel_stride : d->channels;
  e->params.a_zero_point = d->a_zero_point;
  e->params.b_zero_point = d->b_zero_point;
  e->params.output_zero_point = d->output_zero_point;
  e->params.min = lo;
  e->params.max = hi;
  e->params.is_signed = d->type == QK_DTYPE_S8;
}

/* ---- add ---------------------------------------------------------------------------------- */

/* ATen qadd_kernel (aten/src/ATen/native/quantized/cpu/kernels/QuantizedOpKernels.cpp): float
 * scales, premultiplied -scale * zp for the FMA body, 1.0f / scale for the quantization. */
static qk_status plan_add_aten(const char* fn, const common_desc* d, eltwise_op* e) {
  const float sa = (float)d->a_scale, sb = (float)d->b_scale, so = (float)d->output_scale;
  /* |da + db| <= 255 * (sa + sb); beyond 2^31 after the scaling the SIMD body (cvtps2dq: INT32_MIN)
   * and the scalar tail (lrintf into int64, then clamp) of ATen disagree. Not reproduced. */
  const double reach = 255.0 * ((double)sa + (double)sb) / (double)so;
  if (reach >= 2147483520.0) {
    return qk_fail(QK_ERROR_UNSUPPORTED,
                   "%s: 255 * (a_scale + b_scale) / output_scale = %g reaches 2^31: ATen's SIMD "
                   "body and scalar tail convert such values differently; qk does not reproduce it",
                   fn, reach);
  }
  e->params.a_scale = sa;
  e->params.b_scale = sb;
  e->params.a_premul = sa * -(float)d->a_zero_point;
  e->params.b_premul = sb * -(float)d->b_zero_point;
  e->params.scale = 1.0f / so;
  e->positional = 1;
  e->body = e->isa->eltwise[QK_ELTWISE_ADD_FP32_FMA];
  e->tail = e->isa->eltwise[QK_ELTWISE_ADD_FP32];
  return QK_SUCCESS;
}

/* QNNPACK pytorch_qnnp_create_add_nc_q8 + pytorch_qnnp_compute_add_quantization_params
 * (aten/src/ATen/native/quantized/cpu/qnnpack/src/add.c, include/qnnpack/requantization.h). */
static qk_status plan_add_qnnpack(const char* fn, const common_desc* d, eltwise_op* e) {
  const float as = (float)d->a_scale / (float)d->output_scale;
  const float bs = (float)d->b_scale / (float)d->output_scale;
  const float r[2] = {as, bs};
  for (int i = 0; i < 2; i++) {
    if (r[i] < 0x1.0p-14f || r[i] >= 0x1.0p+8f) {
      return qk_fail(QK_ERROR_UNSUPPORTED,
                     "%s: pytorch-qnnpack (QNNPACK add, U8): %s_scale / output_scale = %g, "
                     "QNNPACK requires it in [2^-14, 2^8)",
                     fn, i == 0 ? "a" : "b", (double)r[i]);
    }
  }
  const float mx = as > bs ? as : bs;
  if (mx < 0x1.0p-10f) {
    /* shift = 21 - exponent would be 32..35: undefined behaviour in QNNPACK's C, whose result
     * depends on the compiler and on the SIMD / scalar path (docs/ops-eltwise.md). */
    return qk_fail(QK_ERROR_UNSUPPORTED,
                   "%s: pytorch-qnnpack (QNNPACK add, U8): max(a_scale, b_scale) / output_scale "
                   "= %g < 2^-10 makes QNNPACK shift by 32 or more (undefined behaviour); refused",
                   fn, (double)mx);
  }
  if (e->params.min >= e->params.max) {
    return qk_fail(QK_ERROR_UNSUPPORTED,
                   "%s: pytorch-qnnpack (QNNPACK add, U8): output range [%d, %d] is empty or one "
                   "value; QNNPACK requires output_min < output_max",
                   fn, e->params.min, e->params.max);
  }
  const uint32_t shift = (uint32_t)(21 - float_exponent(mx));
  const int32_t am = (int32_t)lrintf(ldexpf(as, (int)shift));
  const int32_t bm = (int32_t)lrintf(ldexpf(bs, (int)shift));
  e->params.a_multiplier = am;
  e->params.b_multiplier = bm;
  e->params.shift = shift;
  e->params.bias = -(am * d->a_zero_point + bm * d->b_zero_point);
  e->body = e->tail = e->isa->eltwise[QK_ELTWISE_ADD_QNNPACK];
  return QK_SUCCESS;
}

/* XNNPACK xnn_create_add_nd_qs8 + xnn_init_qs8_add_minmax_scalar_params (src/operators/
 * binary-elementwise-nd.c, src/microparams-init.c). */
static qk_status plan_add_xnnpack(const char* fn, const common_desc* d, eltwise_op* e) {
  const float as = (float)d->a_scale / (float)d->output_scale;
  const float bs = (float)d->b_scale / (float)d->output_scale;
  const float r[2] = {as, bs};
  for (int i = 0; i < 2; i++) {
    if (r[i] < 0x1.0p-10f || r[i] >= 0x1.0p+8f) {
      return qk_fail(QK_ERROR_UNSUPPORTED,
                     "%s: %s (XNNPACK qs8 add): %s_scale / output_scale = %g, XNNPACK requires it "
                     "in [2^-10, 2^8) (PyTorch 2.6 aborts on an assert there)",
                     fn, qk_numerics_name(d->numerics), i == 0 ? "a" : "b", (double)r[i]);
    }
  }
  const float mx = as > bs ? as : bs;
  const uint32_t shift = (uint32_t)(20 - float_exponent(mx));
  const int32_t am = (int32_t)lrintf(ldexpf(as, (int)shift));
  const int32_t bm = (int32_t)lrintf(ldexpf(bs, (int)shift));
  e->params.a_multiplier = am;
  e->params.b_multiplier = bm;
  e->params.shift = shift;
  e->params.bias = (INT32_C(1) << (shift - 1)) - am * d->a_zero_point - bm * d->b_zero_point;
  e->body = e->tail = e->isa->eltwise[QK_ELTWISE_ADD_XNNPACK];
  return QK_SUCCESS;
}

static qk_status unsupported_mode(const char* fn, qk_numerics m) {
  return qk_fail(QK_ERROR_UNSUPPORTED,
                 "%s: numerics %s is not implemented for this operator (ONNX Runtime QLinearAdd / "
                 "QLinearMul are not reproduced yet)",
                 fn, qk_numerics_name(m));
}

/* tflite::QuantizeMultiplierSmallerThanOneExp: QuantizeMultiplier with TFLITE_CHECKs that
 * 0 < m < 1 and the shift is <= 0 (an abort in TFLite, a refusal here). */
static qk_status tflite_multiplier_below_one(const char* fn, const char* what, double m,
                                             int32_t* multiplier, int32_t* shift) {
  if (m > 0.0 && m < 1.0) {
    qk_tflite_quantize_multiplier(m, multiplier, shift);
    if (*shift <= 0) return QK_SUCCESS;
  }
  return qk_fail(QK_ERROR_UNSUPPORTED,
                 "%s: tflite ADD: %s = %.17g must be in (0, 1) and quantize with a shift <= 0 "
                 "(TFLite's QuantizeMultiplierSmallerThanOneExp checks abort otherwise)",
                 fn, what, m);
}

/* TFLite's ADD (tflite-micro kernels/add_common.cc CalculateOpDataAdd; TFLite kernels/add.cc
 * for uint8, the same arithmetic): float32 scales, multipliers in double, left shift 20. */
static qk_status plan_add_tflite(const char* fn, const common_desc* d, eltwise_op* e) {
  const float s1 = (float)d->a_scale, s2 = (float)d->b_scale, so = (float)d->output_scale;
  const double twice_max = 2.0 * (double)(s1 > s2 ? s1 : s2);
  const int left_shift = 20;
  qk_eltwise_params* p = &e->params;
  qk_status status;
  if ((status = tflite_multiplier_below_one(fn, "a_scale / (2 max(a_scale, b_scale))",
                                            (double)s1 / twice_max, &p->a_multiplier,
                                            &p->a_shift)) != QK_SUCCESS ||
      (status = tflite_multiplier_below_one(fn, "b_scale / (2 max(a_scale, b_scale))",
                                            (double)s2 / twice_max, &p->b_multiplier,
                                            &p->b_shift)) != QK_SUCCESS ||
      (status = tflite_multiplier_below_one(fn, "2 max(a_scale, b_scale) / (2^20 output_scale)",
                                            twice_max / ((double)(1 << left_shift) * (double)so),
                                            &p->output_multiplier, &p->output_shift)) !=
          QK_SUCCESS) {
    return status;
  }
  p->left_shift = left_shift;
  e->body = e->tail = e->isa->eltwise[QK_ELTWISE_ADD_GEMMLOWP];
  return QK_SUCCESS;
}

static void name_kernels(eltwise_op* e) {
  if (e->positional) {
    snprintf(e->ukernels, sizeof(e->ukernels), "%s + %s (last n mod %d)", e->body.name,
             e->tail.name, ATEN_VEC_BLOCK);
  } else {
    snprintf(e->ukernels, sizeof(e->ukernels), "%s", e->body.name);
  }
}

static void log_create(const eltwise_op* e, const common_desc* d, double t0) {
  if (!qk_verbose_enabled()) return;
  qk_verbose_log(
      "create %s C=%zu %s a=%g/%d b=%g/%d out=%g/%d relu=%d%s numerics=%s isa=%s ukernels=%s "
      "time=%.3fms",
      e->name, e->channels, qk_dtype_name(e->type), d->a_scale, d->a_zero_point, d->b_scale,
      d->b_zero_point, d->output_scale, d->output_zero_point, d->relu,
      e->broadcast_b ? " broadcast_b" : "", qk_numerics_name(e->numerics), e->isa->name,
      e->ukernels, (qk_now_seconds() - t0) * 1e3);
}

/* sizeof(qk_add_desc) / sizeof(qk_mul_desc) in their first version (qk 0.2, LP64): the oldest
 * descriptors create accepts (include/qk.h, struct_size). Fields are only ever appended. */
#define QK_ADD_DESC_SIZE_0_2 112
#define QK_MUL_DESC_SIZE_0_2 120
_Static_assert(sizeof(qk_add_desc) >= QK_ADD_DESC_SIZE_0_2, "qk_add_desc shrank");
_Static_assert(sizeof(qk_mul_desc) >= QK_MUL_DESC_SIZE_0_2, "qk_mul_desc shrank");

qk_status qk_add_create(const qk_add_desc* desc, qk_add** op_out) {
  static const char fn[] = "qk_add_create";
  const double t0 = qk_verbose_enabled() ? qk_now_seconds() : 0.0;
  if (op_out == NULL) return qk_fail(QK_ERROR_INVALID_ARGUMENT, "%s: op is NULL", fn);
  *op_out = NULL;
  if (desc == NULL) return qk_fail(QK_ERROR_INVALID_ARGUMENT, "%s: desc is NULL", fn);
  qk_add_desc d;
  qk_add_desc_init(&d);
  qk_status status = qk_import_desc(desc, desc->struct_size, &d, sizeof(d), QK_ADD_DESC_SIZE_0_2,
                                    fn, "qk_add_desc_init");
  if (status != QK_SUCCESS) return status;
  const common_desc c = {
      d.numerics,     d.channels,     d.type,           d.a_scale,           d.b_scale,
      d.output_scale, d.a_zero_point, d.b_zero_point,   d.output_zero_point, d.relu,
      d.output_min,   d.output_max,   d.a_pixel_stride, d.b_pixel_stride,    d.output_pixel_stride};
  int32_t lo, hi;
  if ((status = check_common(fn, &c, &lo, &hi)) != QK_SUCCESS) return status;
  const qk_isa_config* isa = qk_operator_isa(fn);
  if (isa == NULL) return QK_ERROR_UNSUPPORTED_ISA;
  qk_add* op = calloc(1, sizeof(*op));
  if (op == NULL) return qk_fail(QK_ERROR_OUT_OF_MEMORY, "%s: out of memory", fn);
  eltwise_op* e = &op->e;
  init_common(e, "add", &c, lo, hi);
  e->isa = isa;
  if (c.numerics == QK_NUMERICS_PYTORCH_QNNPACK) {
    status = c.type == QK_DTYPE_U8 ? plan_add_qnnpack(fn, &c, e) : plan_add_xnnpack(fn, &c, e);
  } else if (is_pytorch(c.numerics)) {
    status = plan_add_aten(fn, &c, e);
  } else if (c.numerics == QK_NUMERICS_TFLITE) {
    status = plan_add_tflite(fn, &c, e);
  } else if (c.numerics == QK_NUMERICS_XNNPACK) {
    status =
        c.type == QK_DTYPE_S8
            ? plan_add_xnnpack(fn, &c, e)
            : qk_fail(QK_ERROR_UNSUPPORTED,
                      "%s: xnnpack: qk reproduces XNNPACK's qs8 add (type S8) only, not qu8", fn);
  } else {
    status = unsupported_mode(fn, c.numerics);
  }
  if (status != QK_SUCCESS) {
    free(op);
    return status;
  }
  name_kernels(e);
  log_create(e, &c, t0);
  *op_out = op;
  return QK_SUCCESS;
}

/* ---- mul ---------------------------------------------------------------------------------- */

qk_status qk_mul_create(const qk_mul_desc* desc, qk_mul** op_out) {
  static const char fn[] = "qk_mul_create";
  const double t0 = qk_verbose_enabled() ? qk_now_seconds() : 0.0;
  if (op_out == NULL) return qk_fail(QK_ERROR_INVALID_ARGUMENT, "%s: op is NULL", fn);
  *op_out = NULL;
  if (desc == NULL) return qk_fail(QK_ERROR_INVALID_ARGUMENT, "%s: desc is NULL", fn);
  qk_mul_desc d;
  qk_mul_desc_init(&d);
  qk_status status = qk_import_desc(desc, desc->struct_size, &d, sizeof(d), QK_MUL_DESC_SIZE_0_2,
                                    fn, "qk_mul_desc_init");
  if (status != QK_SUCCESS) return status;
  const common_desc c = {
      d.numerics,     d.channels,     d.type,           d.a_scale,           d.b_scale,
      d.output_scale, d.a_zero_point, d.b_zero_point,   d.output_zero_point, d.relu,
      d.output_min,   d.output_max,   d.a_pixel_stride, d.b_pixel_stride,    d.output_pixel_stride};
  int32_t lo, hi;
  if ((status = check_common(fn, &c, &lo, &hi)) != QK_SUCCESS) return status;
  if (d.broadcast_b != 0 && d.broadcast_b != 1) {
    return qk_fail(QK_ERROR_INVALID_ARGUMENT, "%s: broadcast_b %d is not 0 or 1", fn,
                   d.broadcast_b);
  }
  const float sa = (float)d.a_scale, sb = (float)d.b_scale, so = (float)d.output_scale;
  float scale = 0.0f;
  bool xnnpack = false, tflite = false;
  int32_t tfl_multiplier = 0, tfl_shift = 0;
  if (c.numerics == QK_NUMERICS_TFLITE) {
    /* tflite-micro kernels/mul_common.cc CalculateOpDataMul (int8): the multiplier in double from
     * the float32 scales, QuantizeMultiplier. TFLite's uint8 MUL formed it in float in some
     * versions and in double in others: not reproduced. */
    if (c.type != QK_DTYPE_S8) {
      return qk_fail(QK_ERROR_UNSUPPORTED,
                     "%s: tflite: qk reproduces TFLite Micro's int8 MUL only (type S8); TFLite's "
                     "uint8 MUL multiplier differs between versions",
                     fn);
    }
    qk_tflite_quantize_multiplier((double)sa * (double)sb / (double)so, &tfl_multiplier,
                                  &tfl_shift);
    if (tfl_shift > 30) {
      return qk_fail(QK_ERROR_UNSUPPORTED,
                     "%s: tflite MUL: a_scale * b_scale / output_scale = %g needs a left shift "
                     "of %d (> 30), which overflows TFLite's int32 arithmetic",
                     fn, (double)sa * (double)sb / (double)so, (int)tfl_shift);
    }
    tflite = true;
  } else if (is_pytorch(c.numerics)) {
    /* QMul::run (aten/src/ATen/native/quantized/cpu/qmul.cpp): qint8 with output zero point
     * below 127 goes to XNNPACK on every engine; everything else to ATen's qmul_kernel. */
    xnnpack = c.type == QK_DTYPE_S8 && c.output_zero_point < 127;
  } else if (c.numerics == QK_NUMERICS_XNNPACK) {
    if (c.type != QK_DTYPE_S8) {
      return qk_fail(QK_ERROR_UNSUPPORTED,
                     "%s: xnnpack: qk reproduces XNNPACK's qs8 multiply (type S8) only, not qu8",
                     fn);
    }
    xnnpack = true;
  } else {
    return unsupported_mode(fn, c.numerics);
  }
  if (tflite) {
    /* nothing more to check */
  } else if (xnnpack) {
    /* xnn_create_multiply_nd_qs8: product_output_scale = (a_scale * b_scale) / output_scale in
     * float, in [2^-16, 2^8) (else xnn_status_unsupported_parameter, "failed(4)" in PyTorch). */
    scale = (sa * sb) / so;
    if (scale < 0x1.0p-16f || scale >= 0x1.0p+8f) {
      return qk_fail(QK_ERROR_UNSUPPORTED,
                     "%s: %s (XNNPACK qs8 multiply): a_scale * b_scale / output_scale = %g, "
                     "XNNPACK requires it in [2^-16, 2^8)",
                     fn, qk_numerics_name(c.numerics), (double)scale);
    }
  } else {
    /* qmul_kernel: multiplier = self_scale * other_scale * inv_scale, float, left to right. */
    scale = sa * sb * (1.0f / so);
    if (scale >= 0x1.0p+15f) {
      /* |(a - za)(b - zb)| <= 65536: below 2^15 the scaled product stays inside int32, where the
       * SIMD body (cvtps2dq) and scalar tail (lrintf) of ATen agree. */
      return qk_fail(QK_ERROR_UNSUPPORTED,
                     "%s: a_scale * b_scale / output_scale = %g >= 2^15: ATen's SIMD body and "
                     "scalar tail convert products beyond int32 differently; qk does not "
                     "reproduce it",
                     fn, (double)scale);
    }
  }
  const qk_isa_config* isa = qk_operator_isa(fn);
  if (isa == NULL) return QK_ERROR_UNSUPPORTED_ISA;
  qk_mul* op = calloc(1, sizeof(*op));
  if (op == NULL) return qk_fail(QK_ERROR_OUT_OF_MEMORY, "%s: out of memory", fn);
  eltwise_op* e = &op->e;
  init_common(e, "mul", &c, lo, hi);
  e->isa = isa;
  e->broadcast_b = d.broadcast_b;
  e->params.scale = scale;
  e->params.output_multiplier = tfl_multiplier;
  e->params.output_shift = tfl_shift;
  e->body = e->tail = isa->eltwise[tflite ? QK_ELTWISE_MUL_GEMMLOWP : QK_ELTWISE_MUL_FP32];
  name_kernels(e);
  log_create(e, &c, t0);
  *op_out = op;
  return QK_SUCCESS;
}

/* ---- run ---------------------------------------------------------------------------------- */

typedef struct run_plan {
  const eltwise_op* e;
  size_t pixels;   /* per image */
  size_t total;    /* batch * pixels */
  size_t body_end; /* positional: flat index where the tail kernel starts */
  size_t chunk;    /* pixels per task */
  const uint8_t* a;
  const uint8_t* b;
  uint8_t* y;
} run_plan;

/* Flat indices [f0, f0 + n) of the dense tensor, at a, b, y. */
static void run_flat(const run_plan* r, size_t f0, size_t n, const uint8_t* a, const uint8_t* b,
                     uint8_t* y) {
  const eltwise_op* e = r->e;
  size_t body = 0;
  if (e->positional) {
    body = r->body_end > f0 ? qk_min_size(r->body_end - f0, n) : 0;
  } else {
    body = n;
  }
  if (body != 0) e->body.fn(body, a, b, y, &e->params);
  if (body < n) e->tail.fn(n - body, a + body, b + body, y + body, &e->params);
}

static void run_pixels(const run_plan* r, size_t p0, size_t p1) {
  const eltwise_op* e = r->e;
  const size_t c = e->channels;
  const bool dense = e->a_stride == c && e->b_stride == c && e->y_stride == c && !e->broadcast_b;
  if (dense) {
    run_flat(r, p0 * c, (p1 - p0) * c, r->a + p0 * c, r->b + p0 * c, r->y + p0 * c);
    return;
  }
  for (size_t p = p0; p < p1; p++) {
    const size_t bp = e->broadcast_b ? p / r->pixels : p;
    run_flat(r, p * c, c, r->a + p * e->a_stride, r->b + bp * e->b_stride, r->y + p * e->y_stride);
  }
}

static void run_task(void* context, size_t task) {
  const run_plan* r = (const run_plan*)context;
  const size_t p0 = task * r->chunk;
  const size_t p1 = qk_min_size(r->total, p0 + r->chunk);
  if (p0 < p1) run_pixels(r, p0, p1);
}

static qk_status run(const char* fn, const eltwise_op* e, size_t batch, size_t pixels,
                     const void* a, const void* b, void* y, qk_threadpool* pool) {
  const double t0 = qk_verbose_enabled() ? qk_now_seconds() : 0.0;
  size_t total, flat, bytes;
  if (!qk_mul_size(batch, pixels, &total) || !qk_mul_size(total, e->channels, &flat) ||
      !qk_mul_size(total, qk_max_size(qk_max_size(e->a_stride, e->b_stride), e->y_stride),
                   &bytes)) {
    return qk_fail(QK_ERROR_SIZE_OVERFLOW,
                   "%s: %zu x %zu pixels of %zu channels exceed the "
                   "address space",
                   fn, batch, pixels, e->channels);
  }
  if (total == 0) return QK_SUCCESS;
  if (a == NULL || b == NULL || y == NULL) {
    return qk_fail(QK_ERROR_INVALID_ARGUMENT, "%s: a, b or y is NULL", fn);
  }
  const size_t threads = qk_threadpool_threads(pool);
  run_plan r = {
      .e = e,
      .pixels = pixels,
      .total = total,
      .body_end = flat / ATEN_VEC_BLOCK * ATEN_VEC_BLOCK,
      .a = (const uint8_t*)a,
      .b = (const uint8_t*)b,
      .y = (uint8_t*)y,
  };
  /* At least 16 KiB of elements per task so small tensors stay on one thread. */
  const size_t min_pixels = qk_max_size(1, (16 * 1024) / e->channels);
  size_t tasks = qk_min_size(threads, (total + min_pixels - 1) / min_pixels);
  if (tasks == 0) tasks = 1;
  r.chunk = (total + tasks - 1) / tasks;
  tasks = (total + r.chunk - 1) / r.chunk;
  if (tasks == 1) {
    run_pixels(&r, 0, total);
  } else {
    qk_threadpool_run(pool, run_task, &r, tasks);
  }
  if (qk_verbose_enabled()) {
    qk_verbose_log(
        "run %s N=%zu pixels=%zu C=%zu numerics=%s isa=%s ukernels=%s threads=%zu "
        "time=%.3fms",
        e->name, batch, pixels, e->channels, qk_numerics_name(e->numerics), e->isa->name,
        e->ukernels, threads, (qk_now_seconds() - t0) * 1e3);
  }
  return QK_SUCCESS;
}

qk_status qk_add_run(const qk_add* op, size_t pixels, const void* a, const void* b, void* y) {
  if (op == NULL) return qk_fail(QK_ERROR_INVALID_ARGUMENT, "qk_add_run: op is NULL");
  return run("qk_add_run", &op->e, 1, pixels, a, b, y, NULL);
}

qk_status qk_add_run_threaded(const qk_add* op, size_t pixels, const void* a, const void* b,
                              void* y, qk_threadpool* threadpool) {
  if (op == NULL) return qk_fail(QK_ERROR_INVALID_ARGUMENT, "qk_add_run_threaded: op is NULL");
  return run("qk_add_run_threaded", &op->e, 1, pixels, a, b, y, threadpool);
}

qk_status qk_mul_run(const qk_mul* op, size_t batch, size_t pixels, const void* a, const void* b,
                     void* y) {
  if (op == NULL) return qk_fail(QK_ERROR_INVALID_ARGUMENT, "qk_mul_run: op is NULL");
  return run("qk_mul_run", &op->e, batch, pixels, a, b, y, NULL);
}

qk_status qk_mul_run_threaded(const qk_mul* op, size_t batch, size_t pixels, const void* a,
                              const void* b, void* y, qk_threadpool* threadpool) {
  if (op == NULL) return qk_fail(QK_ERROR_INVALID_ARGUMENT, "qk_mul_run_threaded: op is NULL");
  return run("qk_mul_run_threaded", &op->e, batch, pixels, a, b, y, threadpool);
}

void qk_add_delete(qk_add* op) { free(op); }
void qk_mul_delete(qk_mul* op) { free(op); }

const char* qk_add_isa(const qk_add* op) { return op ? op->e.isa->name : NULL; }
const char* qk_add_ukernels(const qk_add* op) { return op ? op->e.ukernels : NULL; }
const char* qk_mul_isa(const qk_mul* op) { return op ? op->e.isa->name : NULL; }
const char* qk_mul_ukernels(const qk_mul* op) { return op ? op->e.ukernels : NULL; }
