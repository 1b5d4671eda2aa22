/* qk_pool2d: max_pool2d, avg_pool2d, adaptive_avg_pool2d (docs/ops-pool.md).
 *
 * create validates the descriptor against the mode's framework and picks one of these paths:
 *   MAX_PLAIN     integer max over the taps inside the image (ATen, ONNX Runtime, TFLite)
 *   MAX_CLAMPED   taps clamped to the nearest edge row/column (QNNPACK max_pooling_nhwc_u8,
 *                 XNNPACK: their indirection buffers do min(doz(y, pad), H - 1))
 *   AVG_NHWC      ATen qavg_pool2d_nhwc_kernel: m = (f32(si)/f32(so))/f32(div), y = rne(acc*m) + zp
 *   AVG_NCHW      ATen avg_pool2d_out_frame: m = f32((si/so)/div), y = rne(acc*m + f32(zp))
 *   AVG_QNNPACK   QNNPACK average_pooling_nhwc_q8: divisor kh*kw, s = f32(si)/(f32(so)*f32(kh*kw))
 *   ADA_*         adaptive_avg_pool2d: NHWC (1/(1/m)), NCHW (zero point unused) or QNNPACK when the
 *                 input size is a multiple of the output size (decided per run: it depends on H, W)
 * run walks the output pixels; for each it lists the window's input rows (pointers) and columns
 * (byte offsets) and calls the ISA's maxpool or avgpool microkernel, whose parameters (init =
 * -count * zero point, scale) it computes per pixel, since the divisor varies at the borders. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/isa.h"
#include "kernels/threadpool.h"
#include "kernels/verbose.h"

/* Average pooling sums at most this many taps (255 * taps < 2^31: the int32 sum is exact). */
#define QK_POOL_MAX_TAPS (1u << 23)

typedef enum pool_path {
  PATH_MAX_PLAIN,
  PATH_MAX_CLAMPED,
  PATH_AVG_GENERIC, /* NHWC or NCHW formula, chosen per run (memory format, C == 1, H*W == 1) */
  PATH_AVG_QNNPACK,
  PATH_AVG_TFLITE, /* TFLite reference AVERAGE_POOL_2D: integer division by the valid count */
  PATH_ADAPTIVE,   /* generic NHWC / NCHW or QNNPACK, chosen per run */
} pool_path;

struct qk_pool2d {
  qk_pool2d_desc d; /* validated copy, strides and pixel strides resolved */
  pool_path path;
  bool pytorch;
  bool qnnpack_u8; /* pytorch-qnnpack with u8: the adaptive pool may take QNNPACK */
  uint8_t xor_mask;
  int32_t qmin, qmax;
  const qk_isa_config* isa;
  char ukernels[128];
};

static bool is_pytorch(qk_numerics n) {
  switch (n) {
    case QK_NUMERICS_PYTORCH_FBGEMM:
    case QK_NUMERICS_PYTORCH_FBGEMM_AVX2:
    case QK_NUMERICS_PYTORCH_X86:
    case QK_NUMERICS_PYTORCH_QNNPACK:
    case QK_NUMERICS_PYTORCH_ONEDNN_1_13:
    case QK_NUMERICS_PYTORCH_ONEDNN: return true;
    default: return false;
  }
}

static const char* kind_name(qk_pool2d_kind k) {
  switch (k) {
    case QK_POOL2D_MAX: return "max_pool2d";
    case QK_POOL2D_AVERAGE: return "avg_pool2d";
    case QK_POOL2D_ADAPTIVE_AVERAGE: return "adaptive_avg_pool2d";
  }
  return "pool2d";
}

/* ---------------------------------------------------------------------------------------------
 * create
 * ------------------------------------------------------------------------------------------- */
static qk_status check_desc(qk_pool2d_desc* d) {
  const char* fn = "qk_pool2d_create";
  if (qk_numerics_name(d->numerics) == NULL) {
    return qk_fail(QK_ERROR_INVALID_ARGUMENT, "%s: numerics %d is not a qk_numerics mode", fn,
                   (int)d->numerics);
  }
  if (d->kind != QK_POOL2D_MAX && d->kind != QK_POOL2D_AVERAGE &&
      d->kind != QK_POOL2D_ADAPTIVE_AVERAGE) {
    return qk_fail(QK_ERROR_INVALID_ARGUMENT, "%s: kind %d is not a qk_pool2d_kind", fn,
                   (int)d->kind);
  }
  const char* op = kind_name(d->kind);
  if (d->type != QK_DTYPE_U8 && d->type != QK_DTYPE_S8) {
    return qk_fail(QK_ERROR_INVALID_ARGUMENT, "%s: %s: type must be U8 or S8, got %d", fn, op,
                   (int)d->type);
  }
  if (d->channels == 0) {
    return qk_fail(QK_ERROR_INVALID_ARGUMENT, "%s: %s: channels must be nonzero", fn, op);
  }
  if ((d->input_pixel_stride != 0 && d->input_pixel_stride < d->channels) ||
      (d->output_pixel_stride != 0 && d->output_pixel_stride < d->channels)) {
    return qk_fail(QK_ERROR_INVALID_ARGUMENT,
                   "%s: %s: a pixel stride (input %zu, output %zu) is smaller than channels (%zu)",
                   fn, op, d->input_pixel_stride, d->output_pixel_stride, d->channels);
  }
  if (d->memory_format != QK_PYTORCH_CHANNELS_LAST && d->memory_format != QK_PYTORCH_CONTIGUOUS) {
    return qk_fail(QK_ERROR_INVALID_ARGUMENT,
                   "%s: %s: memory_format %d is not a "
                   "qk_pytorch_memory_format",
                   fn, op, (int)d->memory_format);
  }
  int32_t qmin, qmax;
  qk_dtype_range(d->type, &qmin, &qmax);
  if (d->input_zero_point < qmin || d->input_zero_point > qmax) {
    return qk_fail(QK_ERROR_INVALID_ARGUMENT, "%s: %s: input_zero_point %d is outside the %s range",
                   fn, op, (int)d->input_zero_point, qk_dtype_name(d->type));
  }
  const bool average = d->kind != QK_POOL2D_MAX;
  if (average) {
    const float f = (float)d->input_scale;
    if (!qk_scale_is_valid(d->input_scale) || !(f > 0.0f) || !isfinite(f)) {
      return qk_fail(QK_ERROR_INVALID_ARGUMENT,
                     "%s: %s: input_scale %g must be positive, finite and a float32", fn, op,
                     d->input_scale);
    }
  }
  if (d->output_scale != 0.0 && !qk_scale_is_valid(d->output_scale)) {
    return qk_fail(QK_ERROR_INVALID_ARGUMENT,
                   "%s: %s: output_scale %g must be 0 (the input's) or positive and finite", fn, op,
                   d->output_scale);
  }
  if (d->output_scale == 0.0) {
    if (d->output_zero_point != 0 && d->output_zero_point != d->input_zero_point) {
      return qk_fail(QK_ERROR_INVALID_ARGUMENT,
                     "%s: %s: output_zero_point %d without an output_scale (0 = the input's "
                     "qparams)",
                     fn, op, (int)d->output_zero_point);
    }
    d->output_scale = d->input_scale;
    d->output_zero_point = d->input_zero_point;
  }
  if (d->output_scale != d->input_scale || d->output_zero_point != d->input_zero_point) {
    return qk_fail(QK_ERROR_UNSUPPORTED,
                   "%s: %s: %s returns the input's scale and zero point (output %g, %d vs input "
                   "%g, %d)",
                   fn, op, qk_numerics_name(d->numerics), d->output_scale,
                   (int)d->output_zero_point, d->input_scale, (int)d->input_zero_point);
  }
  if (d->kind == QK_POOL2D_ADAPTIVE_AVERAGE) {
    if (d->output_height == 0 || d->output_width == 0) {
      return qk_fail(QK_ERROR_INVALID_ARGUMENT, "%s: %s: output size %zux%zu must be nonzero", fn,
                     op, d->output_height, d->output_width);
    }
    if (d->output_height > (size_t)INT32_MAX || d->output_width > (size_t)INT32_MAX) {
      return qk_fail(QK_ERROR_SIZE_OVERFLOW, "%s: %s: output size %zux%zu too large", fn, op,
                     d->output_height, d->output_width);
    }
    return QK_SUCCESS;
  }
  if (d->kernel_height == 0 || d->kernel_width == 0) {
    return qk_fail(QK_ERROR_INVALID_ARGUMENT, "%s: %s: kernel size %zux%zu must be nonzero", fn, op,
                   d->kernel_height, d->kernel_width);
  }
  if (d->stride_height == 0) d->stride_height = d->kernel_height;
  if (d->stride_width == 0) d->stride_width = d->kernel_width;
  if (d->dilation_height == 0 || d->dilation_width == 0) {
    return qk_fail(QK_ERROR_INVALID_ARGUMENT, "%s: %s: dilation %zux%zu must be nonzero", fn, op,
                   d->dilation_height, d->dilation_width);
  }
  const size_t lim = (size_t)1 << 30;
  if (d->kernel_height > lim || d->kernel_width > lim || d->stride_height > lim ||
      d->stride_width > lim || d->dilation_height > lim || d->dilation_width > lim ||
      d->padding_top > lim || d->padding_left > lim || d->padding_bottom > lim ||
      d->padding_right > lim || (d->kernel_height - 1) * d->dilation_height > lim ||
      (d->kernel_width - 1) * d->dilation_width > lim) {
    return qk_fail(QK_ERROR_SIZE_OVERFLOW, "%s: %s: kernel, stride, dilation or padding above 2^30",
                   fn, op);
  }
  if (average) {
    if (d->dilation_height != 1 || d->dilation_width != 1) {
      return qk_fail(QK_ERROR_INVALID_ARGUMENT, "%s: %s has no dilation (got %zux%zu)", fn, op,
                     d->dilation_height, d->dilation_width);
    }
    if (d->kernel_height * d->kernel_width > QK_POOL_MAX_TAPS) {
      return qk_fail(QK_ERROR_SIZE_OVERFLOW, "%s: %s: a %zux%zu window exceeds 2^23 taps", fn, op,
                     d->kernel_height, d->kernel_width);
    }
    if (d->divisor_override < 0 || d->divisor_override > INT32_MAX) {
      return qk_fail(QK_ERROR_INVALID_ARGUMENT,
                     "%s: %s: divisor_override %lld must be 0 (none) or in [1, 2^31)", fn, op,
                     (long long)d->divisor_override);
    }
  }
  return QK_SUCCESS;
}

/* What each framework refuses, and the path of what it accepts. */
static qk_status choose_path(qk_pool2d* op) {
  const qk_pool2d_desc* d = &op->d;
  const char* fn = "qk_pool2d_create";
  const char* op_name = kind_name(d->kind);
  const char* mode = qk_numerics_name(d->numerics);
  const bool qnnpack_u8 = d->numerics == QK_NUMERICS_PYTORCH_QNNPACK && d->type == QK_DTYPE_U8;
  op->qnnpack_u8 = qnnpack_u8;
  if (!op->pytorch) {
    const bool tflite_average = d->numerics == QK_NUMERICS_TFLITE && d->kind == QK_POOL2D_AVERAGE;
    if (d->kind != QK_POOL2D_MAX && !tflite_average) {
      return qk_fail(QK_ERROR_UNSUPPORTED,
                     "%s: %s in %s is not implemented (not verifiable here: ONNX Runtime "
                     "QLinearAveragePool / QLinearGlobalAveragePool, TFLite MEAN and XNNPACK "
                     "average pooling are refused rather than guessed)",
                     fn, op_name, mode);
    }
    if (d->ceil_mode) {
      return qk_fail(
          QK_ERROR_UNSUPPORTED,
          "%s: %s: ceil_mode is implemented only as PyTorch defines it (%s: use explicit "
          "padding)",
          fn, op_name, mode);
    }
    if (d->numerics == QK_NUMERICS_TFLITE && (d->dilation_height != 1 || d->dilation_width != 1)) {
      return qk_fail(QK_ERROR_UNSUPPORTED, "%s: %s: TFLite MAX_POOL_2D has no dilation", fn,
                     op_name);
    }
    if (tflite_average) {
      if (d->divisor_override != 0) {
        return qk_fail(QK_ERROR_UNSUPPORTED,
                       "%s: %s: TFLite AVERAGE_POOL_2D has no divisor_override (it divides by the "
                       "taps inside the image)",
                       fn, op_name);
      }
      if (d->padding_top >= d->kernel_height || d->padding_bottom >= d->kernel_height ||
          d->padding_left >= d->kernel_width || d->padding_right >= d->kernel_width) {
        return qk_fail(QK_ERROR_UNSUPPORTED,
                       "%s: %s: TFLite pads less than the filter (SAME / VALID); padding "
                       "%zu,%zu,%zu,%zu with a %zux%zu filter would give windows without taps",
                       fn, op_name, d->padding_top, d->padding_left, d->padding_bottom,
                       d->padding_right, d->kernel_height, d->kernel_width);
      }
      op->path = PATH_AVG_TFLITE;
      return QK_SUCCESS;
    }
    if (d->numerics == QK_NUMERICS_XNNPACK) {
      if (d->kernel_height * d->kernel_width == 1) {
        return qk_fail(QK_ERROR_UNSUPPORTED,
                       "%s: %s: XNNPACK refuses 1x1 pooling (\"1x1 pooling is meaningless\")", fn,
                       op_name);
      }
      op->path = PATH_MAX_CLAMPED;
    } else {
      op->path = PATH_MAX_PLAIN;
    }
    return QK_SUCCESS;
  }
  /* PyTorch: symmetric padding, at most half the kernel (pool2d_shape_check, q_maxpool_2d). */
  if (d->kind != QK_POOL2D_ADAPTIVE_AVERAGE) {
    if (d->padding_top != d->padding_bottom || d->padding_left != d->padding_right) {
      return qk_fail(QK_ERROR_UNSUPPORTED,
                     "%s: %s: PyTorch pads symmetrically (padding %zu,%zu,%zu,%zu)", fn, op_name,
                     d->padding_top, d->padding_left, d->padding_bottom, d->padding_right);
    }
    if (d->padding_top > d->kernel_height / 2 || d->padding_left > d->kernel_width / 2) {
      return qk_fail(QK_ERROR_UNSUPPORTED,
                     "%s: %s: PyTorch: \"pad should be at most half of kernel size\" (padding "
                     "%zux%zu, kernel %zux%zu)",
                     fn, op_name, d->padding_top, d->padding_left, d->kernel_height,
                     d->kernel_width);
    }
  }
  const bool qnnpack_path = qnnpack_u8 && !d->ceil_mode;
  switch (d->kind) {
    case QK_POOL2D_MAX:
    case QK_POOL2D_AVERAGE:
      if (qnnpack_path && d->kernel_height * d->kernel_width == 1) {
        return qk_fail(QK_ERROR_UNSUPPORTED,
                       "%s: %s: pytorch-qnnpack u8 without ceil_mode runs QNNPACK, which refuses a "
                       "1x1 kernel (\"1x1 pooling is meaningless\")",
                       fn, op_name);
      }
      if (d->kind == QK_POOL2D_MAX) {
        op->path = qnnpack_path ? PATH_MAX_CLAMPED : PATH_MAX_PLAIN;
      } else {
        op->path = qnnpack_path ? PATH_AVG_QNNPACK : PATH_AVG_GENERIC;
      }
      break;
    case QK_POOL2D_ADAPTIVE_AVERAGE: op->path = PATH_ADAPTIVE; break;
  }
  return QK_SUCCESS;
}

static const char* path_name(pool_path p) {
  switch (p) {
    case PATH_MAX_PLAIN: return "max";
    case PATH_MAX_CLAMPED: return "max, edge-clamped taps";
    case PATH_AVG_GENERIC: return "ATen avg";
    case PATH_AVG_QNNPACK: return "QNNPACK avg";
    case PATH_AVG_TFLITE: return "TFLite avg";
    case PATH_ADAPTIVE: return "adaptive";
  }
  return "";
}

qk_status qk_pool2d_create(const qk_pool2d_desc* desc, qk_pool2d** op_out) {
  const double t0 = qk_verbose_enabled() ? qk_now_seconds() : 0.0;
  if (op_out == NULL) return qk_fail(QK_ERROR_INVALID_ARGUMENT, "qk_pool2d_create: op is NULL");
  *op_out = NULL;
  if (desc == NULL) return qk_fail(QK_ERROR_INVALID_ARGUMENT, "qk_pool2d_create: desc is NULL");
  qk_pool2d_desc d;
  qk_pool2d_desc_init(&d);
  qk_status status = qk_import_desc(desc, desc->struct_size, &d, sizeof(d), sizeof(d),
                                    "qk_pool2d_create", "qk_pool2d_desc_init");
  if (status != QK_SUCCESS) return status;
  if ((status = check_desc(&d)) != QK_SUCCESS) return status;
  const qk_isa_config* isa = qk_operator_isa("qk_pool2d_create");
  if (isa == NULL) return QK_ERROR_UNSUPPORTED_ISA;
  qk_pool2d* op = calloc(1, sizeof(*op));
  if (op == NULL) return qk_fail(QK_ERROR_OUT_OF_MEMORY, "qk_pool2d_create: out of memory");
  op->d = d;
  op->pytorch = is_pytorch(d.numerics);
  op->isa = isa;
  if ((status = choose_path(op)) != QK_SUCCESS) {
    free(op);
    return status;
  }
  if (op->d.input_pixel_stride == 0) op->d.input_pixel_stride = d.channels;
  if (op->d.output_pixel_stride == 0) op->d.output_pixel_stride = d.channels;
  op->xor_mask = d.type == QK_DTYPE_S8 ? 0x80 : 0;
  qk_dtype_range(d.type, &op->qmin, &op->qmax);
  const bool max = d.kind == QK_POOL2D_MAX;
  snprintf(op->ukernels, sizeof(op->ukernels), "%s",
           max                           ? isa->pool.maxpool_name
           : op->path == PATH_AVG_TFLITE ? isa->pool.avgpool_div_name
                                         : isa->pool.avgpool_name);
  if (qk_verbose_enabled()) {
    qk_verbose_log(
        "create %s C=%zu k=%zux%zu s=%zux%zu d=%zux%zu p=%zu,%zu,%zu,%zu ceil=%d %s "
        "path=%s numerics=%s isa=%s ukernels=%s time=%.3fms",
        kind_name(d.kind), d.channels, d.kernel_height, d.kernel_width, op->d.stride_height,
        op->d.stride_width, d.dilation_height, d.dilation_width, d.padding_top, d.padding_left,
        d.padding_bottom, d.padding_right, d.ceil_mode, qk_dtype_name(d.type), path_name(op->path),
        qk_numerics_name(d.numerics), isa->name, op->ukernels, (qk_now_seconds() - t0) * 1e3);
  }
  *op_out = op;
  return QK_SUCCESS;
}

void qk_pool2d_delete(qk_pool2d* op) { free(op); }
const char* qk_pool2d_isa(const qk_pool2d* op) { return op ? op->isa->name : NULL; }
const char* qk_pool2d_ukernels(const qk_pool2d* op) { return op ? op->ukernels : NULL; }

/* ---------------------------------------------------------------------------------------------
 * output size and windows
 * ------------------------------------------------------------------------------------------- */
/* ATen pooling_output_shape (pad_l + pad_r generalizes 2 * pad; ceil_mode only in PyTorch modes,
 * where the padding is symmetric). */
static int64_t pool_out(int64_t in, int64_t k, int64_t pad_a, int64_t pad_b, int64_t s, int64_t dil,
                        bool ceil_mode) {
  const int64_t num = in + pad_a + pad_b - dil * (k - 1) - 1 + (ceil_mode ? s - 1 : 0);
  int64_t out = (num >= 0 ? num / s : -((-num + s - 1) / s)) + 1;
  if (ceil_mode && (out - 1) * s >= in + pad_a) out--;
  return out;
}

qk_status qk_pool2d_output_size(const qk_pool2d* op, size_t height, size_t width,
                                size_t* output_height, size_t* output_width) {
  if (op == NULL || output_height == NULL || output_width == NULL) {
    return qk_fail(QK_ERROR_INVALID_ARGUMENT, "qk_pool2d_output_size: NULL argument");
  }
  const qk_pool2d_desc* d = &op->d;
  if (height == 0 || width == 0) {
    return qk_fail(QK_ERROR_INVALID_ARGUMENT, "%s: input size %zux%zu must be nonzero",
                   kind_name(d->kind), height, width);
  }
  if (height > ((size_t)1 << 31) || width > ((size_t)1 << 31)) {
    return qk_fail(QK_ERROR_SIZE_OVERFLOW, "%s: input size %zux%zu too large", kind_name(d->kind),
                   height, width);
  }
  if (d->kind == QK_POOL2D_ADAPTIVE_AVERAGE) {
    *output_height = d->output_height;
    *output_width = d->output_width;
    return QK_SUCCESS;
  }
  const int64_t oh = pool_out((int64_t)height, (int64_t)d->kernel_height, (int64_t)d->padding_top,
                              (int64_t)d->padding_bottom, (int64_t)d->stride_height,
                              (int64_t)d->dilation_height, d->ceil_mode);
  const int64_t ow = pool_out((int64_t)width, (int64_t)d->kernel_width, (int64_t)d->padding_left,
                              (int64_t)d->padding_right, (int64_t)d->stride_width,
                              (int64_t)d->dilation_width, d->ceil_mode);
  if (oh <= 0 || ow <= 0) {
    return qk_fail(QK_ERROR_INVALID_ARGUMENT,
                   "%s: a %zux%zu input gives an empty output (kernel %zux%zu, dilation %zux%zu, "
                   "padding %zu,%zu,%zu,%zu)",
                   kind_name(d->kind), height, width, d->kernel_height, d->kernel_width,
                   d->dilation_height, d->dilation_width, d->padding_top, d->padding_left,
                   d->padding_bottom, d->padding_right);
  }
  *output_height = (size_t)oh;
  *output_width = (size_t)ow;
  return QK_SUCCESS;
}

/* One axis of one output pixel's window: the input indices `idx[0..n)` (increasing, distinct),
 * and for the average kinds the divisor's padded extent. */
typedef struct axis_window {
  size_t n;
  int64_t pool; /* ATen pool size along the axis: window cut to [-pad, in + pad) */
} axis_window;

/* Max pooling taps along an axis: kept inside [0, in) (plain) or clamped to it (QNNPACK). */
static void max_axis(int64_t o, int64_t in, int64_t k, int64_t s, int64_t pad, int64_t dil,
                     bool clamp, int64_t* idx, axis_window* w) {
  w->n = 0;
  for (int64_t t = 0; t < k; t++) {
    int64_t i = o * s - pad + t * dil;
    if (clamp) {
      i = i < 0 ? 0 : i >= in ? in - 1 : i;
      if (w->n > 0 && idx[w->n - 1] == i) continue;
    } else if (i < 0 || i >= in) {
      continue;
    }
    idx[w->n++] = i;
  }
}

/* Average windows: [start, end) inside the image; pool = ATen's padded extent. */
static void avg_axis(int64_t o, int64_t in, int64_t k, int64_t s, int64_t pad, int64_t* idx,
                     axis_window* w) {
  int64_t start = o * s - pad;
  int64_t end = start + k < in + pad ? start + k : in + pad;
  w->pool = end - start;
  if (start < 0) start = 0;
  if (end > in) end = in;
  w->n = 0;
  for (int64_t i = start; i < end; i++) idx[w->n++] = i;
}

/* adaptive_avg_pool2d: [floor(f32(o*in)/f32(out)), ceil(f32((o+1)*in)/f32(out))) in float32. */
static void adaptive_axis(int64_t o, int64_t in, int64_t out, int64_t* idx, axis_window* w) {
  int64_t start = (int64_t)floorf((float)(o * in) / (float)out);
  int64_t end = (int64_t)ceilf((float)((o + 1) * in) / (float)out);
  /* Float rounding can only move the bounds past the image for sizes near 2^24 and above, where
   * ATen would read outside the tensor; qk stays inside. */
  if (start < 0) start = 0;
  if (end > in) end = in;
  w->n = 0;
  for (int64_t i = start; i < end; i++) idx[w->n++] = i;
  w->pool = end - start;
}

/* ---------------------------------------------------------------------------------------------
 * run
 * ------------------------------------------------------------------------------------------- */
typedef enum avg_formula {
  F_NHWC,     /* ATen channels-last avg_pool2d */
  F_NCHW,     /* ATen contiguous avg_pool2d */
  F_QNNPACK,  /* QNNPACK average pooling (also adaptive with H % OH == 0 == W % OW) */
  F_ADA_NHWC, /* ATen channels-last adaptive */
  F_ADA_NCHW, /* ATen contiguous adaptive */
  F_TFLITE,   /* TFLite reference AVERAGE_POOL_2D (avgpool_div) */
} avg_formula;

typedef struct run_plan {
  const qk_pool2d* op;
  size_t height, width, out_h, out_w, out_pixels, units, threads;
  /* the effective window (the adaptive QNNPACK path becomes an average pool) */
  bool adaptive;
  size_t kh, kw, sh, sw;
  avg_formula formula;
  const uint8_t* input;
  uint8_t* output;
  size_t max_rows, max_cols;
  uint8_t* scratch; /* threads x scratch_per_thread: window tables (run_thread) */
  size_t scratch_per_thread;
} run_plan;

/* `moved`: room for nr row pointers (the rows shifted to the channels past the split). */
static void run_avg_pixel(const run_plan* p, const uint8_t* const* rows, size_t nr,
                          const size_t* cols, size_t nc, int64_t pool_h, int64_t pool_w,
                          const uint8_t** moved, uint8_t* out) {
  const qk_pool2d* op = p->op;
  const qk_pool2d_desc* d = &op->d;
  const int64_t count = (int64_t)nr * (int64_t)nc;
  const int32_t zp = d->input_zero_point;
  const int32_t sign = op->xor_mask ? 128 : 0; /* Σ (x ^ 0x80) = Σ x + 128 * count */
  qk_avgpool_params prm = {.zero_point = d->output_zero_point,
                           .min = op->qmin,
                           .max = op->qmax,
                           .xor_mask = op->xor_mask};
  const float si = (float)d->input_scale, so = (float)d->output_scale;
  float inv = 0.0f;
  size_t split = d->channels; /* channels from `split` on use `inv` (ATen's scalar loop) */
  prm.init = (int32_t)(-count * (int64_t)(zp + sign));
  switch (p->formula) {
    case F_NHWC: {
      int64_t div = d->divisor_override    ? d->divisor_override
                    : d->count_include_pad ? pool_h * pool_w
                                           : count;
      /* ATen: int divide_factor; float multiplier = input_scale / output_scale / divide_factor */
      prm.scale = si / so / (float)(int32_t)div;
      /* AVX2 ATen builds quantize channels [0, C/8*8) with m (QuantizeAvx2), the rest with
       * quantize_val(1.0f / m) = x * (1.0f / (1.0f / m)). Equal for all divisors < 200000 when
       * the scales are equal, so the split almost never matters; kept exact anyway. */
      inv = 1.0f / (1.0f / prm.scale);
      if (inv != prm.scale) split = d->channels / 8 * 8;
      break;
    }
    case F_NCHW: {
      int64_t div = d->divisor_override    ? d->divisor_override
                    : d->count_include_pad ? pool_h * pool_w
                                           : count;
      prm.scale = (float)((d->input_scale / d->output_scale) / (double)div);
      prm.zero_point_in_float = 1;
      break;
    }
    case F_QNNPACK: prm.scale = si / (so * (float)(int64_t)(p->kh * p->kw)); break;
    case F_ADA_NHWC: {
      const float m = si / so / (float)(int32_t)count;
      prm.scale = 1.0f / (1.0f / m);
      break;
    }
    case F_TFLITE:
      /* Σ q (not q - zp): TFLite averages the raw values (in and out qparams are equal) */
      prm.init = (int32_t)(-count * sign);
      prm.divisor = (int32_t)count;
      op->isa->pool.avgpool_div(d->channels, nr, rows, nc, cols, &prm, out);
      return;
    case F_ADA_NCHW:
      prm.init = (int32_t)(-count * sign);
      prm.scale = (1.0f / (float)(int32_t)pool_h) / (float)(int32_t)pool_w;
      prm.zero_point = 0;
      prm.zero_point_in_float = 1;
      break;
  }
  if (split > 0) op->isa->pool.avgpool(split, nr, rows, nc, cols, &prm, out);
  if (split < d->channels) {
    for (size_t i = 0; i < nr; i++) moved[i] = rows[i] + split;
    prm.scale = inv;
    op->isa->pool.avgpool(d->channels - split, nr, moved, nc, cols, &prm, out + split);
  }
}

/* The window along one axis of output index o (rows: vertical = true), for the plan's kind. */
static void plan_axis(const run_plan* p, bool vertical, int64_t o, int64_t* idx, axis_window* w) {
  const qk_pool2d* op = p->op;
  const qk_pool2d_desc* d = &op->d;
  const int64_t in = (int64_t)(vertical ? p->height : p->width);
  if (d->kind == QK_POOL2D_MAX) {
    max_axis(o, in, (int64_t)(vertical ? d->kernel_height : d->kernel_width),
             (int64_t)(vertical ? d->stride_height : d->stride_width),
             (int64_t)(vertical ? d->padding_top : d->padding_left),
             (int64_t)(vertical ? d->dilation_height : d->dilation_width),
             op->path == PATH_MAX_CLAMPED, idx, w);
  } else if (p->adaptive) {
    adaptive_axis(o, in, (int64_t)(vertical ? p->out_h : p->out_w), idx, w);
  } else {
    /* the adaptive pool on QNNPACK's path is an unpadded average pool */
    const bool unpadded = d->kind == QK_POOL2D_ADAPTIVE_AVERAGE;
    const int64_t pad = unpadded ? 0 : (int64_t)(vertical ? d->padding_top : d->padding_left);
    avg_axis(o, in, (int64_t)(vertical ? p->kh : p->kw), (int64_t)(vertical ? p->sh : p->sw), pad,
             idx, w);
  }
}

/* Thread t: output pixels [t*U/T, (t+1)*U/T). The column windows of every output column are
 * computed once (the same for every row), the row window once per output row. */
static void run_thread(void* context, size_t t) {
  const run_plan* p = (const run_plan*)context;
  const qk_pool2d* op = p->op;
  const qk_pool2d_desc* d = &op->d;
  uint8_t* scratch = p->scratch + t * p->scratch_per_thread;
  const uint8_t** rows = (const uint8_t**)(void*)scratch;
  const uint8_t** moved = rows + p->max_rows;
  int64_t* idx = (int64_t*)(void*)(moved + p->max_rows);
  size_t* col_offsets = (size_t*)(void*)(idx + qk_max_size(p->max_rows, p->max_cols));
  axis_window* col_windows = (axis_window*)(void*)(col_offsets + p->out_w * p->max_cols);
  const size_t ips = d->input_pixel_stride, ops = d->output_pixel_stride;
  const size_t row_bytes = p->width * ips;
  const size_t begin = t * p->units / p->threads, end = (t + 1) * p->units / p->threads;
  if (begin == end) return;
  for (size_t ox = 0; ox < p->out_w; ox++) {
    plan_axis(p, false, (int64_t)ox, idx, &col_windows[ox]);
    for (size_t j = 0; j < col_windows[ox].n; j++) {
      col_offsets[ox * p->max_cols + j] = (size_t)idx[j] * ips;
    }
  }
  const bool max = d->kind == QK_POOL2D_MAX;
  size_t row_key = SIZE_MAX; /* image * OH + oy of the rows[] below */
  axis_window wy = {0, 0};
  for (size_t u = begin; u < end; u++) {
    const size_t n = u / p->out_pixels, pix = u % p->out_pixels;
    const size_t oy = pix / p->out_w, ox = pix % p->out_w;
    if (n * p->out_h + oy != row_key) {
      row_key = n * p->out_h + oy;
      const uint8_t* image = p->input + n * p->height * row_bytes;
      plan_axis(p, true, (int64_t)oy, idx, &wy);
      for (size_t i = 0; i < wy.n; i++) rows[i] = image + (size_t)idx[i] * row_bytes;
    }
    const axis_window* wx = &col_windows[ox];
    const size_t* cols = col_offsets + ox * p->max_cols;
    uint8_t* out = p->output + u * ops;
    if (max) {
      if (wy.n == 0 || wx->n == 0) { /* every tap in the padding: ATen's lowest value */
        for (size_t c = 0; c < d->channels; c++) out[c] = (uint8_t)op->qmin;
        continue;
      }
      op->isa->pool.maxpool(d->channels, wy.n, rows, wx->n, cols, op->xor_mask, out);
    } else {
      run_avg_pixel(p, rows, wy.n, cols, wx->n, wy.pool, wx->pool, moved, out);
    }
  }
}

static qk_status run(const char* fn, const qk_pool2d* op, size_t batch, size_t height, size_t width,
                     const void* input, void* output, qk_threadpool* pool) {
  const double t0 = qk_verbose_enabled() ? qk_now_seconds() : 0.0;
  if (op == NULL) return qk_fail(QK_ERROR_INVALID_ARGUMENT, "%s: op is NULL", fn);
  const qk_pool2d_desc* d = &op->d;
  size_t oh, ow;
  qk_status status = qk_pool2d_output_size(op, height, width, &oh, &ow);
  if (status != QK_SUCCESS) return status;
  if (batch == 0) return QK_SUCCESS;
  if (input == NULL || output == NULL) {
    return qk_fail(QK_ERROR_INVALID_ARGUMENT, "%s: input or output is NULL", fn);
  }
  size_t in_px, out_px, bytes, units;
  if (!qk_mul_size(height, width, &in_px) || !qk_mul_size(in_px, d->input_pixel_stride, &bytes) ||
      !qk_mul_size(bytes, batch, &bytes) || !qk_mul_size(oh, ow, &out_px) ||
      !qk_mul_size(out_px, batch, &units) || !qk_mul_size(units, d->output_pixel_stride, &bytes)) {
    return qk_fail(QK_ERROR_SIZE_OVERFLOW, "%s: %zu images of %zux%zu exceed the address space", fn,
                   batch, height, width);
  }
  run_plan p = {.op = op,
                .height = height,
                .width = width,
                .out_h = oh,
                .out_w = ow,
                .out_pixels = out_px,
                .units = units,
                .input = (const uint8_t*)input,
                .output = (uint8_t*)output};
  const bool nhwc = d->memory_format == QK_PYTORCH_CHANNELS_LAST || d->channels == 1 || in_px == 1;
  if (d->kind == QK_POOL2D_MAX) {
    p.max_rows = d->kernel_height;
    p.max_cols = d->kernel_width;
  } else if (d->kind == QK_POOL2D_AVERAGE) {
    p.kh = d->kernel_height, p.kw = d->kernel_width, p.sh = d->stride_height,
    p.sw = d->stride_width;
    p.formula = op->path == PATH_AVG_QNNPACK  ? F_QNNPACK
                : op->path == PATH_AVG_TFLITE ? F_TFLITE
                : nhwc                        ? F_NHWC
                                              : F_NCHW;
    p.max_rows = p.kh;
    p.max_cols = p.kw;
  } else {
    /* ATen enable_qnnpack_for_ada_avgpool: not identity, input a multiple of the output. */
    if (op->qnnpack_u8 && !(height == oh && width == ow) && height % oh == 0 && width % ow == 0) {
      p.formula = F_QNNPACK;
      p.kh = p.sh = height / oh;
      p.kw = p.sw = width / ow;
      p.max_rows = p.kh;
      p.max_cols = p.kw;
    } else {
      p.adaptive = true;
      p.formula = nhwc ? F_ADA_NHWC : F_ADA_NCHW;
      p.max_rows = height / oh + 3 < height ? height / oh + 3 : height;
      p.max_cols = width / ow + 3 < width ? width / ow + 3 : width;
    }
    if ((uint64_t)p.max_rows * p.max_cols > QK_POOL_MAX_TAPS) {
      return qk_fail(QK_ERROR_SIZE_OVERFLOW,
                     "%s: adaptive windows of up to %zux%zu taps exceed 2^23 (the exact int32 sum)",
                     fn, p.max_rows, p.max_cols);
    }
  }
  p.threads = qk_threadpool_threads(pool);
  if (p.threads > units) p.threads = units;
  /* Per thread: rows and shifted rows (pointers), indices, the column offsets of every output
   * column and their windows. */
  size_t table, scratch_bytes;
  if (!qk_mul_size(ow, p.max_cols + 2, &table) || !qk_add_size(table, 2 * p.max_rows, &table) ||
      !qk_add_size(table, qk_max_size(p.max_rows, p.max_cols), &table) ||
      !qk_mul_size(table, 8, &table) || !qk_add_size(table, 63, &table) ||
      !qk_mul_size(table / 64 * 64, p.threads, &scratch_bytes)) {
    return qk_fail(QK_ERROR_SIZE_OVERFLOW, "%s: window lists too large", fn);
  }
  p.scratch_per_thread = table / 64 * 64;
  p.scratch = qk_aligned_alloc(64, scratch_bytes);
  if (p.scratch == NULL) {
    return qk_fail(QK_ERROR_OUT_OF_MEMORY, "%s: cannot allocate %zu bytes of window lists", fn,
                   scratch_bytes);
  }
  qk_threadpool_run(pool, run_thread, &p, p.threads);
  qk_aligned_free(p.scratch);
  if (qk_verbose_enabled()) {
    qk_verbose_log(
        "run %s N=%zu H=%zu W=%zu -> %zux%zu C=%zu numerics=%s isa=%s ukernels=%s "
        "threads=%zu time=%.3fms",
        kind_name(d->kind), batch, height, width, oh, ow, d->channels,
        qk_numerics_name(d->numerics), op->isa->name, op->ukernels, p.threads,
        (qk_now_seconds() - t0) * 1e3);
  }
  return QK_SUCCESS;
}

qk_status qk_pool2d_run(const qk_pool2d* op, size_t batch, size_t height, size_t width,
                        const void* input, void* output) {
  return run("qk_pool2d_run", op, batch, height, width, input, output, NULL);
}

qk_status qk_pool2d_run_threaded(const qk_pool2d* op, size_t batch, size_t height, size_t width,
                                 const void* input, void* output, qk_threadpool* threadpool) {
  return run("qk_pool2d_run_threaded", op, batch, height, width, input, output, threadpool);
}
