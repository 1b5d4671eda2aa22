/* linear (fully connected) operator: a 1x1 conv2d over the rows. create translates the
 * descriptor into a conv2d one (K input channels, O output channels, 1x1 kernel, the row strides
 * as pixel strides) and creates that convolution with the linear numerics rules
 * (qk_conv2d_create_for QK_CONV_OP_LINEAR, kernels/numerics.c prepare_linear); run hands it the
 * batch as one image of 1 x batch pixels, so rows are tiled, packed and requantized by the conv2d
 * GEMM path (on u8 activations the rows are the GEMM's A operand, read in place). There is no
 * second GEMM: the linear-specific part is the numerics, and the names in the messages. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/isa.h"
#include "kernels/numerics.h"
#include "kernels/verbose.h"

struct qk_linear {
  qk_numerics numerics;
  qk_dtype input_type, output_type;
  size_t input_channels, output_channels;
  size_t input_row_stride, output_row_stride;
  qk_conv2d* conv;
};

/* The first version's descriptor: today's. */
#define QK_LINEAR_DESC_SIZE_0_2 sizeof(qk_linear_desc)

/* Messages of the inner conv2d name the linear operator: "conv2d: " -> "linear: ",
 * "qk_conv2d_run" -> "qk_linear_run" ... (the field names are the same in both descriptors). */
static qk_status relabel(qk_status status, const char* fn) {
  if (status == QK_SUCCESS) return status;
  char message[1024];
  snprintf(message, sizeof(message), "%s", qk_last_error());
  const char* rest = message;
  if (strncmp(rest, "conv2d: ", 8) == 0) {
    rest += 8;
  } else if (strncmp(rest, "qk_conv2d_", 10) == 0) {
    rest = strchr(rest, ':') ? strchr(rest, ':') + 2 : rest;
  }
  return qk_fail(status, "%s: %s", fn, rest);
}

static qk_status check_desc(const qk_linear_desc* d) {
  if (qk_numerics_name(d->numerics) == NULL) {
    return qk_fail(QK_ERROR_INVALID_ARGUMENT, "linear: numerics %d is not a qk_numerics mode",
                   (int)d->numerics);
  }
  if (d->input_channels == 0 || d->output_channels == 0) {
    return qk_fail(QK_ERROR_INVALID_ARGUMENT,
                   "linear: input_channels (%zu) and output_channels (%zu) must be nonzero",
                   d->input_channels, d->output_channels);
  }
  if (d->input_channels > (size_t)INT32_MAX) {
    return qk_fail(QK_ERROR_SIZE_OVERFLOW, "linear: input_channels %zu exceeds 2^31 - 1",
                   d->input_channels);
  }
  if (d->weights == NULL) return qk_fail(QK_ERROR_INVALID_ARGUMENT, "linear: weights is NULL");
  if ((d->input_row_stride != 0 && d->input_row_stride < d->input_channels) ||
      (d->output_row_stride != 0 && d->output_row_stride < d->output_channels)) {
    return qk_fail(QK_ERROR_INVALID_ARGUMENT,
                   "linear: a row stride (input %zu, output %zu) is smaller than the row length "
                   "(input_channels %zu, output_channels %zu)",
                   d->input_row_stride, d->output_row_stride, d->input_channels,
                   d->output_channels);
  }
  return QK_SUCCESS;
}

static void to_conv2d(const qk_linear_desc* d, qk_conv2d_desc* c) {
  qk_conv2d_desc_init(c);
  c->numerics = d->numerics;
  c->input_channels = d->input_channels;
  c->output_channels = d->output_channels;
  c->kernel_height = c->kernel_width = 1;
  c->input_type = d->input_type;
  c->input_scale = d->input_scale;
  c->input_zero_point = d->input_zero_point;
  c->weights = d->weights; /* [O][K] is OIHW with a 1x1 kernel */
  c->weight_scale_count = d->weight_scale_count;
  c->weight_scales = d->weight_scales;
  c->weight_zero_points = d->weight_zero_points;
  c->weight_quantization = d->weight_quantization;
  c->bias_type = d->bias_type;
  c->bias = d->bias;
  c->output_type = d->output_type;
  c->output_scale = d->output_scale;
  c->output_zero_point = d->output_zero_point;
  c->relu = d->relu;
  c->output_min = d->output_min;
  c->output_max = d->output_max;
  c->input_pixel_stride = d->input_row_stride;
  c->output_pixel_stride = d->output_row_stride;
}

qk_status qk_linear_create(const qk_linear_desc* desc, qk_linear** op_out) {
  const double t0 = qk_verbose_enabled() ? qk_now_seconds() : 0.0;
  if (op_out == NULL) return qk_fail(QK_ERROR_INVALID_ARGUMENT, "qk_linear_create: op is NULL");
  *op_out = NULL;
  if (desc == NULL) return qk_fail(QK_ERROR_INVALID_ARGUMENT, "qk_linear_create: desc is NULL");
  qk_linear_desc d;
  qk_linear_desc_init(&d);
  qk_status status = qk_import_desc(desc, desc->struct_size, &d, sizeof(d), QK_LINEAR_DESC_SIZE_0_2,
                                    "qk_linear_create", "qk_linear_desc_init");
  if (status != QK_SUCCESS) return status;
  if ((status = check_desc(&d)) != QK_SUCCESS) return status;

  qk_linear* op = calloc(1, sizeof(*op));
  if (op == NULL) return qk_fail(QK_ERROR_OUT_OF_MEMORY, "linear: out of memory");
  qk_conv2d_desc c;
  to_conv2d(&d, &c);
  status = qk_conv2d_create_for(&c, QK_CONV_OP_LINEAR, &op->conv);
  if (status != QK_SUCCESS) {
    free(op);
    return relabel(status, "linear");
  }
  op->numerics = d.numerics;
  op->input_type = d.input_type;
  op->output_type = d.output_type;
  op->input_channels = d.input_channels;
  op->output_channels = d.output_channels;
  op->input_row_stride = d.input_row_stride ? d.input_row_stride : d.input_channels;
  op->output_row_stride = d.output_row_stride ? d.output_row_stride : d.output_channels;
  if (qk_verbose_enabled()) {
    qk_verbose_log("create linear K=%zu O=%zu %s->%s numerics=%s isa=%s ukernels=%s time=%.3fms",
                   op->input_channels, op->output_channels, qk_dtype_name(op->input_type),
                   qk_dtype_name(op->output_type), qk_numerics_name(op->numerics),
                   qk_conv2d_isa(op->conv), qk_conv2d_ukernels(op->conv),
                   (qk_now_seconds() - t0) * 1e3);
  }
  *op_out = op;
  return QK_SUCCESS;
}

void qk_linear_delete(qk_linear* op) {
  if (op == NULL) return;
  qk_conv2d_delete(op->conv);
  free(op);
}

const char* qk_linear_isa(const qk_linear* op) { return op ? qk_conv2d_isa(op->conv) : NULL; }
const char* qk_linear_ukernels(const qk_linear* op) {
  return op ? qk_conv2d_ukernels(op->conv) : NULL;
}

size_t qk_linear_workspace_size(const qk_linear* op) {
  return op ? qk_conv2d_workspace_size(op->conv) : 0;
}

static qk_status run(const char* fn, const qk_linear* op, size_t batch, const void* input,
                     void* output, void* workspace, qk_threadpool* pool) {
  const double t0 = qk_verbose_enabled() ? qk_now_seconds() : 0.0;
  if (op == NULL) return qk_fail(QK_ERROR_INVALID_ARGUMENT, "%s: op is NULL", fn);
  if (batch == 0) return QK_SUCCESS;
  if (input == NULL || output == NULL) {
    return qk_fail(QK_ERROR_INVALID_ARGUMENT, "%s: input or output is NULL", fn);
  }
  size_t bytes;
  if (!qk_mul_size(batch, op->input_row_stride, &bytes) ||
      !qk_mul_size(batch, op->output_row_stride, &bytes)) {
    return qk_fail(QK_ERROR_SIZE_OVERFLOW, "%s: %zu rows exceed the address space", fn, batch);
  }
  /* One image of 1 x batch pixels: the conv2d tiles the rows (and splits them over threads). */
  const qk_status status =
      relabel(qk_conv2d_run_threaded(op->conv, 1, 1, batch, input, output, workspace, pool), fn);
  if (status == QK_SUCCESS && qk_verbose_enabled()) {
    qk_verbose_log(
        "run linear N=%zu K=%zu O=%zu numerics=%s isa=%s ukernels=%s threads=%zu "
        "time=%.3fms",
        batch, op->input_channels, op->output_channels, qk_numerics_name(op->numerics),
        qk_conv2d_isa(op->conv), qk_conv2d_ukernels(op->conv), qk_threadpool_threads(pool),
        (qk_now_seconds() - t0) * 1e3);
  }
  return status;
}

qk_status qk_linear_run(const qk_linear* op, size_t batch, const void* input, void* output,
                        void* workspace) {
  return run("qk_linear_run", op, batch, input, output, workspace, NULL);
}

qk_status qk_linear_run_threaded(const qk_linear* op, size_t batch, const void* input, void* output,
                                 void* workspace, qk_threadpool* threadpool) {
  return run("qk_linear_run_threaded", op, batch, input, output, workspace, threadpool);
}
