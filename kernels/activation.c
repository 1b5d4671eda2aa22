/* Unary quantized ops (relu, clamp/hardtanh/relu6, hardswish, hardsigmoid, sigmoid, leaky_relu,
 * requantize): at create, a 256-entry byte table per code path from the framework's exact
 * per-element formula; at run, the ISA's lookup microkernel (arch/ukernel.h, qk_lut_*).
 *
 * The formulas (docs/ops-activation.md, verified against torch 1.13 and 2.6 by tools/golden/gen_act.py [--torch26]):
 * - QNNPACK's lookup-table operators (engine qnnpack, u8: hardswish, hardsigmoid, sigmoid):
 *   qnnpack/src/{hardswish,hardsigmoid,sigmoid}.c: float math, zero point added in float before
 *   lrintf, clamp to [0, 255]. Position-independent.
 * - ATen's kernels (kernels/QuantizedOpKernels.cpp, every other engine / dtype): cpu_kernel_vec
 *   runs a SIMD lambda on blocks of 2 x 32 elements (AVX2) and a scalar lambda on the rest, and
 *   the two round differently: the SIMD body dequantizes with an FMA against a rounded
 *   -scale*zp product (Vectorized::dequantize with premul), uses Sleef's expf for sigmoid and a
 *   reciprocal of the output scale computed in double (hardswish, sigmoid); the scalar tail
 *   dequantizes as (float)scale * (q - zp), uses the C library's expf and 1.0 / (1.0 + e) in
 *   double (sigmoid), and quantize_val's 1.0f / (float)scale. So there are two tables, "vector"
 *   and "scalar", and the position rule of include/qk.h picks one per element.
 * - relu, clamp, requantize: the same on every path (integer max / min, quantize_val).
 */
#include "kernels/activation.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/isa.h"
#include "kernels/threadpool.h"
#include "kernels/verbose.h"

struct qk_unary {
  qk_numerics numerics;
  qk_unary_op op;
  qk_dtype type;
  size_t channels, input_pixel_stride, output_pixel_stride, block;
  double output_scale;
  int32_t output_zero_point;
  bool positional; /* vector and scalar tables differ */
  uint8_t table_vector[256], table_scalar[256];
  const qk_isa_config* isa;
  qk_lut_config lut;
};

/* ---------------------------------------------------------------------------------------------
 * Shared checks and the requantization table
 * ------------------------------------------------------------------------------------------- */
qk_status qk_act_check_pytorch(const char* fn, qk_numerics numerics, const char* what) {
  switch (numerics) {
    case QK_NUMERICS_PYTORCH_FBGEMM:
    case QK_NUMERICS_PYTORCH_FBGEMM_AVX2:
    case QK_NUMERICS_PYTORCH_QNNPACK:
    case QK_NUMERICS_PYTORCH_ONEDNN:
    case QK_NUMERICS_PYTORCH_ONEDNN_1_13:
    case QK_NUMERICS_PYTORCH_X86: return QK_SUCCESS;
    case QK_NUMERICS_ONNXRUNTIME:
    case QK_NUMERICS_TFLITE:
    case QK_NUMERICS_XNNPACK:
      return qk_fail(QK_ERROR_UNSUPPORTED,
                     "%s: numerics %s is not supported for %s (qk implements PyTorch's only; "
                     "docs/ops-activation.md)",
                     fn, qk_numerics_name(numerics), what);
  }
  return qk_fail(QK_ERROR_INVALID_ARGUMENT, "%s: numerics %d is not a qk_numerics mode", fn,
                 (int)numerics);
}

qk_status qk_act_check_scale(const char* fn, const char* field, double scale) {
  const float f = (float)scale;
  if (!qk_scale_is_valid(scale) || !isnormal(f)) {
    return qk_fail(QK_ERROR_INVALID_ARGUMENT,
                   "%s: %s = %g must be positive, finite and a normal float32", fn, field, scale);
  }
  return QK_SUCCESS;
}

qk_status qk_act_check_zero_point(const char* fn, const char* field, qk_dtype type, int32_t zp) {
  int32_t qmin, qmax;
  if (!qk_dtype_range(type, &qmin, &qmax) || (type != QK_DTYPE_U8 && type != QK_DTYPE_S8)) {
    return qk_fail(QK_ERROR_INVALID_ARGUMENT, "%s: type %d must be U8 or S8", fn, (int)type);
  }
  if (zp < qmin || zp > qmax) {
    return qk_fail(QK_ERROR_INVALID_ARGUMENT, "%s: %s = %d is outside the %s range [%d, %d]", fn,
                   field, (int)zp, qk_dtype_name(type), (int)qmin, (int)qmax);
  }
  return QK_SUCCESS;
}

static int32_t byte_value(qk_dtype type, int b) { return type == QK_DTYPE_S8 ? (int8_t)b : b; }

/* at::native::quantize_val: zp + rne(y * (1.0f / (float)scale)) (the sum in float), clamped. */
static int32_t quantize_val(float y, double scale, int32_t zp, int32_t qmin, int32_t qmax) {
  const float inv = 1.0f / (float)scale;
  const float v = (float)zp + nearbyintf(y * inv);
  if (!(v >= (float)qmin)) return qmin; /* also NaN, as the int64 cast then clamp does */
  if (v > (float)qmax) return qmax;
  return (int32_t)v;
}

/* ATen's QuantizeAvx2: cvtps2dq(y * inv) (INT32_MIN outside int32) + zp wrapping, saturated. */
static int32_t quantize_vec(float y, float inv, int32_t zp, int32_t qmin, int32_t qmax) {
  const int32_t r = qk_wrap_add_i32(qk_cvt_f32_i32_x86(y * inv), zp);
  return r < qmin ? qmin : r > qmax ? qmax : r;
}

/* Vectorized<T>::dequantize(scale, zp, premul) = fma(scale, q, scale * -zp). */
static float dequantize_fma(double scale, int32_t zp, int32_t q) {
  const float s = (float)scale;
  const float premul = s * -(float)zp;
  return fmaf(s, (float)q, premul);
}

/* at::native::dequantize_val as this build computes it: (float)(q - zp) * (float)scale. */
static float dequantize_val(double scale, int32_t zp, int32_t q) {
  return (float)(q - zp) * (float)scale;
}

void qk_act_requantize_table(qk_dtype type, double in_scale, int32_t in_zp, double out_scale,
                             int32_t out_zp, uint8_t table[256]) {
  int32_t qmin, qmax;
  qk_dtype_range(type, &qmin, &qmax);
  for (int b = 0; b < 256; b++) {
    const float x = dequantize_val(in_scale, in_zp, byte_value(type, b));
    table[b] = (uint8_t)quantize_val(x, out_scale, out_zp, qmin, qmax);
  }
}

/* Sleef_expf8_u10 (sleefsimdsp.c xexpf) as the AVX2 build runs it (vmla = vfmadd), which is
 * what ATen's Vectorized<float>::exp calls. */
static float sleef_expf_avx2(float d) {
  if (d < -104.0f) return 0.0f;
  if (100.0f < d) return INFINITY;
  const int32_t q = (int32_t)nearbyintf(d * 1.442695040888963407359924681001892137426645954f);
  const float qf = (float)q;
  float s = fmaf(qf, -0.693145751953125f, d);
  s = fmaf(qf, -1.428606765330187045e-06f, s);
  float u = 0.000198527617612853646278381f;
  u = fmaf(u, s, 0.00139304355252534151077271f);
  u = fmaf(u, s, 0.00833336077630519866943359f);
  u = fmaf(u, s, 0.0416664853692054748535156f);
  u = fmaf(u, s, 0.166666671633720397949219f);
  u = fmaf(u, s, 0.5f);
  u = 1.0f + fmaf(s * s, u, s);
  /* vldexp2: u * 2^(q >> 1) * 2^(q - (q >> 1)), each power built from exponent bits */
  const int32_t h = q >> 1;
  uint32_t b1 = (uint32_t)(h + 0x7F) << 23, b2 = (uint32_t)(q - h + 0x7F) << 23;
  float p1, p2;
  memcpy(&p1, &b1, sizeof(p1));
  memcpy(&p2, &b2, sizeof(p2));
  return u * p1 * p2;
}

/* ---------------------------------------------------------------------------------------------
 * Tables
 * ------------------------------------------------------------------------------------------- */
static bool uses_qnnpack_table(const qk_unary_desc* d) {
  return d->numerics == QK_NUMERICS_PYTORCH_QNNPACK && d->type == QK_DTYPE_U8 &&
         (d->op == QK_UNARY_HARDSWISH || d->op == QK_UNARY_HARDSIGMOID ||
          d->op == QK_UNARY_SIGMOID);
}

/* QNNPACK's create_{hardswish,hardsigmoid,sigmoid}_nc_q8 tables. */
static void qnnpack_table(const qk_unary_desc* d, double os, int32_t ozp, uint8_t table[256]) {
  const float is = (float)d->input_scale;
  const float inv = 1.0f / (float)os;
  for (int i = 0; i < 256; i++) {
    const float x = is * (float)(i - d->input_zero_point);
    float v;
    if (d->op == QK_UNARY_SIGMOID) {
      v = 256.0f / (1.0f + expf(-x));
    } else {
      float x2 = x + 3.0f;
      x2 = x2 > 0.0f ? x2 : 0.0f;
      x2 = x2 < 6.0f ? x2 : 6.0f;
      x2 = d->op == QK_UNARY_HARDSWISH ? x * x2 / 6.0f : x2 / 6.0f;
      v = inv * x2 + (float)ozp;
    }
    if (v < 0.0f) v = 0.0f;
    if (v > 255.0f) v = 255.0f;
    table[i] = (uint8_t)lrintf(v);
  }
}

static float hardswish(float x) { return x * fminf(fmaxf(x + 3.0f, 0.0f), 6.0f) / 6.0f; }
static float hardsigmoid(float x) { return fminf(fmaxf(x + 3.0f, 0.0f), 6.0f) / 6.0f; }

/* PyTorch 2.x's qsigmoid_kernel SIMD lambda dequantizes as (q - zp) * scale, not with the FMA
 * premul form of 1.13 (measured with torch 2.6, engines onednn and qnnpack (qint8), in
 * tools/golden/gen_act.py --torch26: the 1.13 form fails 5 kept cases, variant
 * "sigmoid_other_dequant"). The modes that stand for 2.x: pytorch-onednn, pytorch-x86 (an engine
 * 2.x only has) and pytorch-qnnpack (which follows 2.x where the releases differ). */
static bool sigmoid_plain_dequant(qk_numerics m) {
  return m == QK_NUMERICS_PYTORCH_ONEDNN || m == QK_NUMERICS_PYTORCH_X86 ||
         m == QK_NUMERICS_PYTORCH_QNNPACK;
}

/* One ATen path (vector = the SIMD body) of the op for every byte. */
static void aten_table(const qk_unary_desc* d, bool vector, double os, int32_t ozp,
                       uint8_t table[256]) {
  int32_t qmin, qmax;
  qk_dtype_range(d->type, &qmin, &qmax);
  const double is = d->input_scale;
  const int32_t izp = d->input_zero_point;
  for (int b = 0; b < 256; b++) {
    const int32_t q = byte_value(d->type, b);
    const float x = vector && !(d->op == QK_UNARY_SIGMOID && sigmoid_plain_dequant(d->numerics))
                        ? dequantize_fma(is, izp, q)
                        : dequantize_val(is, izp, q);
    int32_t y = 0;
    switch (d->op) {
      case QK_UNARY_RELU: y = q > izp ? q : izp; break;
      case QK_UNARY_CLAMP: {
        const int32_t lo = quantize_val(d->min, is, izp, qmin, qmax);
        const int32_t hi = quantize_val(d->max, is, izp, qmin, qmax);
        y = q > lo ? q : lo;
        y = y < hi ? y : hi;
        break;
      }
      case QK_UNARY_REQUANTIZE:
        y = quantize_val(dequantize_val(is, izp, q), os, ozp, qmin, qmax);
        break;
      case QK_UNARY_HARDSWISH:
        y = vector ? quantize_vec(hardswish(x), (float)(1.0 / os), ozp, qmin, qmax)
                   : quantize_val(hardswish(x), os, ozp, qmin, qmax);
        break;
      case QK_UNARY_HARDSIGMOID:
        y = vector ? quantize_vec(hardsigmoid(x), (float)(1.0 / (double)(float)os), ozp, qmin, qmax)
                   : quantize_val(hardsigmoid(x), os, ozp, qmin, qmax);
        break;
      case QK_UNARY_SIGMOID:
        if (vector) {
          const float e = sleef_expf_avx2(-x);
          y = quantize_vec(1.0f / (1.0f + e), (float)(1.0 / os), ozp, qmin, qmax);
        } else {
          const float e = expf(-x);
          y = quantize_val((float)(1.0 / (1.0 + (double)e)), os, ozp, qmin, qmax);
        }
        break;
      case QK_UNARY_LEAKY_RELU: {
        const float v = x > 0.0f ? x : x * d->negative_slope;
        y = vector ? quantize_vec(v, 1.0f / (float)os, ozp, qmin, qmax)
                   : quantize_val(v, os, ozp, qmin, qmax);
        break;
      }
    }
    table[b] = (uint8_t)y;
  }
}

/* ---------------------------------------------------------------------------------------------
 * create
 * ------------------------------------------------------------------------------------------- */
static const char* op_name(qk_unary_op op) {
  switch (op) {
    case QK_UNARY_RELU: return "relu";
    case QK_UNARY_CLAMP: return "clamp";
    case QK_UNARY_HARDSWISH: return "hardswish";
    case QK_UNARY_HARDSIGMOID: return "hardsigmoid";
    case QK_UNARY_SIGMOID: return "sigmoid";
    case QK_UNARY_LEAKY_RELU: return "leaky_relu";
    case QK_UNARY_REQUANTIZE: return "requantize";
  }
  return NULL;
}

static qk_status check_desc(const qk_unary_desc* d, double* os, int32_t* ozp) {
  static const char fn[] = "qk_unary_create";
  const char* name = op_name(d->op);
  if (name == NULL) {
    return qk_fail(QK_ERROR_INVALID_ARGUMENT, "%s: op %d is not a qk_unary_op", fn, (int)d->op);
  }
  qk_status st = qk_act_check_pytorch(fn, d->numerics, name);
  if (st != QK_SUCCESS) return st;
  if (d->channels == 0) {
    return qk_fail(QK_ERROR_INVALID_ARGUMENT, "%s: channels must be nonzero", fn);
  }
  if ((st = qk_act_check_zero_point(fn, "input_zero_point", d->type, d->input_zero_point)) !=
          QK_SUCCESS ||
      (st = qk_act_check_scale(fn, "input_scale", d->input_scale)) != QK_SUCCESS) {
    return st;
  }
  if ((d->input_pixel_stride != 0 && d->input_pixel_stride < d->channels) ||
      (d->output_pixel_stride != 0 && d->output_pixel_stride < d->channels)) {
    return qk_fail(QK_ERROR_INVALID_ARGUMENT,
                   "%s: pixel strides (%zu, %zu) must be 0 or at least channels (%zu)", fn,
                   d->input_pixel_stride, d->output_pixel_stride, d->channels);
  }
  if (d->aten_vector_block != 0 && d->aten_vector_block != 64 && d->aten_vector_block != 128) {
    return qk_fail(QK_ERROR_INVALID_ARGUMENT, "%s: aten_vector_block = %zu must be 0, 64 or 128",
                   fn, d->aten_vector_block);
  }
  switch (d->op) {
    case QK_UNARY_RELU:
    case QK_UNARY_CLAMP:
      if (!(d->output_scale == 0.0 && d->output_zero_point == 0) &&
          !(d->output_scale == d->input_scale && d->output_zero_point == d->input_zero_point)) {
        return qk_fail(QK_ERROR_INVALID_ARGUMENT,
                       "%s: %s keeps the input's quantization: output_scale / output_zero_point "
                       "must be 0 / 0 or equal to the input's (got %g / %d)",
                       fn, name, d->output_scale, (int)d->output_zero_point);
      }
      if (d->op == QK_UNARY_CLAMP && (isnan(d->min) || isnan(d->max))) {
        return qk_fail(QK_ERROR_INVALID_ARGUMENT, "%s: clamp min (%g) and max (%g) must not be NaN",
                       fn, (double)d->min, (double)d->max);
      }
      *os = d->input_scale;
      *ozp = d->input_zero_point;
      return QK_SUCCESS;
    case QK_UNARY_HARDSIGMOID:
    case QK_UNARY_SIGMOID: {
      const int32_t fixed_zp = d->type == QK_DTYPE_U8 ? 0 : -128;
      if (!(d->output_scale == 0.0 && d->output_zero_point == 0) &&
          !(d->output_scale == 1.0 / 256.0 && d->output_zero_point == fixed_zp)) {
        return qk_fail(QK_ERROR_UNSUPPORTED,
                       "%s: PyTorch fixes the output of quantized %s to scale 1/256 and zero "
                       "point %d for %s; got %g / %d",
                       fn, name, (int)fixed_zp, qk_dtype_name(d->type), d->output_scale,
                       (int)d->output_zero_point);
      }
      *os = 1.0 / 256.0;
      *ozp = fixed_zp;
      return QK_SUCCESS;
    }
    case QK_UNARY_HARDSWISH:
    case QK_UNARY_LEAKY_RELU:
    case QK_UNARY_REQUANTIZE:
      if ((st = qk_act_check_zero_point(fn, "output_zero_point", d->type, d->output_zero_point)) !=
              QK_SUCCESS ||
          (st = qk_act_check_scale(fn, "output_scale", d->output_scale)) != QK_SUCCESS) {
        return st;
      }
      if (d->op == QK_UNARY_LEAKY_RELU && !isfinite(d->negative_slope)) {
        return qk_fail(QK_ERROR_INVALID_ARGUMENT, "%s: negative_slope = %g must be finite", fn,
                       (double)d->negative_slope);
      }
      *os = d->output_scale;
      *ozp = d->output_zero_point;
      return QK_SUCCESS;
  }
  return QK_ERROR_INVALID_ARGUMENT; /* unreachable: op_name checked the op */
}

qk_status qk_unary_create(const qk_unary_desc* desc, qk_unary** op_out) {
  const double t0 = qk_verbose_enabled() ? qk_now_seconds() : 0.0;
  if (op_out == NULL) return qk_fail(QK_ERROR_INVALID_ARGUMENT, "qk_unary_create: op is NULL");
  *op_out = NULL;
  if (desc == NULL) return qk_fail(QK_ERROR_INVALID_ARGUMENT, "qk_unary_create: desc is NULL");
  qk_unary_desc d;
  qk_unary_desc_init(&d);
  qk_status st = qk_import_desc(desc, desc->struct_size, &d, sizeof(d), sizeof(d),
                                "qk_unary_create", "qk_unary_desc_init");
  if (st != QK_SUCCESS) return st;
  double os = 0.0;
  int32_t ozp = 0;
  if ((st = check_desc(&d, &os, &ozp)) != QK_SUCCESS) return st;
  const qk_isa_config* isa = qk_operator_isa("qk_unary_create");
  if (isa == NULL) return QK_ERROR_UNSUPPORTED_ISA;
  qk_unary* op = calloc(1, sizeof(*op));
  if (op == NULL) return qk_fail(QK_ERROR_OUT_OF_MEMORY, "qk_unary_create: out of memory");
  op->numerics = d.numerics;
  op->op = d.op;
  op->type = d.type;
  op->channels = d.channels;
  op->input_pixel_stride = d.input_pixel_stride ? d.input_pixel_stride : d.channels;
  op->output_pixel_stride = d.output_pixel_stride ? d.output_pixel_stride : d.channels;
  op->block = d.aten_vector_block ? d.aten_vector_block : 64;
  op->output_scale = os;
  op->output_zero_point = ozp;
  if (uses_qnnpack_table(&d)) {
    qnnpack_table(&d, os, ozp, op->table_vector);
    memcpy(op->table_scalar, op->table_vector, 256);
  } else {
    aten_table(&d, true, os, ozp, op->table_vector);
    aten_table(&d, false, os, ozp, op->table_scalar);
  }
  op->positional = memcmp(op->table_vector, op->table_scalar, 256) != 0;
  op->isa = isa;
  op->lut = isa->lut;
  if (qk_verbose_enabled()) {
    qk_verbose_log("create unary op=%s C=%zu type=%s numerics=%s isa=%s ukernel=%s%s time=%.3fms",
                   op_name(op->op), op->channels, qk_dtype_name(op->type),
                   qk_numerics_name(op->numerics), isa->name, op->lut.name,
                   op->positional ? " (two tables)" : "", (qk_now_seconds() - t0) * 1e3);
  }
  *op_out = op;
  return QK_SUCCESS;
}

qk_status qk_unary_output_quantization(const qk_unary* op, double* scale, int32_t* zero_point) {
  if (op == NULL || scale == NULL || zero_point == NULL) {
    return qk_fail(QK_ERROR_INVALID_ARGUMENT,
                   "qk_unary_output_quantization: op, scale and zero_point must not be NULL");
  }
  *scale = op->output_scale;
  *zero_point = op->output_zero_point;
  return QK_SUCCESS;
}

void qk_unary_delete(qk_unary* op) { free(op); }
const char* qk_unary_isa(const qk_unary* op) { return op ? op->isa->name : NULL; }
const char* qk_unary_ukernels(const qk_unary* op) { return op ? op->lut.name : NULL; }

/* ---------------------------------------------------------------------------------------------
 * run
 * ------------------------------------------------------------------------------------------- */
typedef struct unary_plan {
  const qk_unary* op;
  const uint8_t* input;
  uint8_t* output;
  size_t pixels, tasks, body_end; /* elements [0, body_end) take the vector table */
} unary_plan;

/* Elements [e0, e0 + n) (flat indices) from x to y, by the position rule. */
static void apply(const qk_unary* op, size_t body_end, size_t e0, size_t n, const uint8_t* x,
                  uint8_t* y) {
  if (!op->positional) {
    op->lut.fn(n, x, y, op->table_scalar);
    return;
  }
  size_t nv = e0 < body_end ? qk_min_size(body_end - e0, n) : 0;
  if (nv != 0) op->lut.fn(nv, x, y, op->table_vector);
  if (n > nv) op->lut.fn(n - nv, x + nv, y + nv, op->table_scalar);
}

static void unary_task(void* context, size_t t) {
  const unary_plan* p = context;
  const qk_unary* op = p->op;
  const size_t p0 = p->pixels * t / p->tasks, p1 = p->pixels * (t + 1) / p->tasks;
  if (p0 == p1) return;
  const size_t c = op->channels;
  if (op->input_pixel_stride == c && op->output_pixel_stride == c) {
    apply(op, p->body_end, p0 * c, (p1 - p0) * c, p->input + p0 * c, p->output + p0 * c);
    return;
  }
  for (size_t px = p0; px < p1; px++) {
    apply(op, p->body_end, px * c, c, p->input + px * op->input_pixel_stride,
          p->output + px * op->output_pixel_stride);
  }
}

static qk_status unary_run(const char* fn, const qk_unary* op, size_t pixels, const void* input,
                           void* output, qk_threadpool* pool) {
  const double t0 = qk_verbose_enabled() ? qk_now_seconds() : 0.0;
  if (op == NULL) return qk_fail(QK_ERROR_INVALID_ARGUMENT, "%s: op is NULL", fn);
  if (pixels == 0) return QK_SUCCESS;
  if (input == NULL || output == NULL) {
    return qk_fail(QK_ERROR_INVALID_ARGUMENT, "%s: input or output is NULL", fn);
  }
  if (input == output && op->input_pixel_stride != op->output_pixel_stride) {
    return qk_fail(QK_ERROR_INVALID_ARGUMENT,
                   "%s: in place (input == output) needs equal pixel strides (%zu, %zu)", fn,
                   op->input_pixel_stride, op->output_pixel_stride);
  }
  size_t elements, in_bytes, out_bytes;
  if (!qk_mul_size(pixels, op->channels, &elements) ||
      !qk_mul_size(pixels, op->input_pixel_stride, &in_bytes) ||
      !qk_mul_size(pixels, op->output_pixel_stride, &out_bytes)) {
    return qk_fail(QK_ERROR_SIZE_OVERFLOW, "%s: %zu pixels exceed the address space", fn, pixels);
  }
  const size_t threads = qk_threadpool_threads(pool);
  unary_plan plan = {
      .op = op,
      .input = input,
      .output = output,
      .pixels = pixels,
      .tasks = qk_min_size(threads, pixels),
      .body_end = elements / op->block * op->block,
  };
  qk_threadpool_run(pool, unary_task, &plan, plan.tasks);
  if (qk_verbose_enabled()) {
    qk_verbose_log(
        "run unary op=%s pixels=%zu C=%zu numerics=%s isa=%s ukernel=%s threads=%zu "
        "time=%.3fms",
        op_name(op->op), pixels, op->channels, qk_numerics_name(op->numerics), op->isa->name,
        op->lut.name, threads, (qk_now_seconds() - t0) * 1e3);
  }
  return QK_SUCCESS;
}

qk_status qk_unary_run(const qk_unary* op, size_t pixels, const void* input, void* output) {
  return unary_run("qk_unary_run", op, pixels, input, output, NULL);
}

qk_status qk_unary_run_threaded(const qk_unary* op, size_t pixels, const void* input, void* output,
                                qk_threadpool* threadpool) {
  return unary_run("qk_unary_run_threaded", op, pixels, input, output, threadpool);
}
