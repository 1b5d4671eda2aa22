/* cat along channels and channel shuffle, NHWC.
 *
 * cat (quantized::cat, aten/src/ATen/native/quantized/cpu/TensorShape.cpp [qconcat.cpp]): every
 * input is requantized into the output's qparams by PyTorch's float path, which qk holds as a
 * byte table per input (qk_act_requantize_table) applied by the ISA's lookup microkernel; an
 * input whose qparams equal the output's is copied. Position-independent (a probe of all 8-bit
 * values found no difference between the FMA and plain dequantization; numerics.md §4).
 * channel shuffle: a permutation of each pixel's channels (the ISA's shuffle microkernel). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/activation.h"
#include "kernels/isa.h"
#include "kernels/threadpool.h"
#include "kernels/verbose.h"

typedef struct cat_input {
  size_t channels, pixel_stride, offset; /* offset: first output channel */
  bool copy;
  uint8_t table[256];
} cat_input;

struct qk_cat {
  qk_numerics numerics;
  qk_dtype type;
  size_t count, output_channels, output_pixel_stride;
  cat_input* inputs;
  const qk_isa_config* isa;
  qk_lut_config lut;
};

qk_status qk_cat_create(const qk_cat_desc* desc, qk_cat** op_out) {
  static const char fn[] = "qk_cat_create";
  const double t0 = qk_verbose_enabled() ? qk_now_seconds() : 0.0;
  if (op_out == NULL) return qk_fail(QK_ERROR_INVALID_ARGUMENT, "%s: op is NULL", fn);
  *op_out = NULL;
  if (desc == NULL) return qk_fail(QK_ERROR_INVALID_ARGUMENT, "%s: desc is NULL", fn);
  qk_cat_desc d;
  qk_cat_desc_init(&d);
  qk_status st =
      qk_import_desc(desc, desc->struct_size, &d, sizeof(d), sizeof(d), fn, "qk_cat_desc_init");
  if (st != QK_SUCCESS) return st;
  if ((st = qk_act_check_pytorch(fn, d.numerics, "cat")) != QK_SUCCESS ||
      (st = qk_act_check_zero_point(fn, "output_zero_point", d.type, d.output_zero_point)) !=
          QK_SUCCESS ||
      (st = qk_act_check_scale(fn, "output_scale", d.output_scale)) != QK_SUCCESS) {
    return st;
  }
  if (d.input_count == 0 || d.inputs == NULL) {
    return qk_fail(QK_ERROR_INVALID_ARGUMENT,
                   "%s: input_count (%zu) must be nonzero and inputs "
                   "not NULL",
                   fn, d.input_count);
  }
  if (d.input_count > SIZE_MAX / sizeof(cat_input)) {
    return qk_fail(QK_ERROR_SIZE_OVERFLOW, "%s: input_count %zu overflows", fn, d.input_count);
  }
  size_t total = 0;
  for (size_t i = 0; i < d.input_count; i++) {
    const qk_cat_input* in = &d.inputs[i];
    char field[64];
    if (in->channels == 0) {
      return qk_fail(QK_ERROR_INVALID_ARGUMENT, "%s: inputs[%zu].channels must be nonzero", fn, i);
    }
    if (in->pixel_stride != 0 && in->pixel_stride < in->channels) {
      return qk_fail(QK_ERROR_INVALID_ARGUMENT,
                     "%s: inputs[%zu].pixel_stride = %zu is below its channels (%zu)", fn, i,
                     in->pixel_stride, in->channels);
    }
    snprintf(field, sizeof(field), "inputs[%zu].zero_point", i);
    if ((st = qk_act_check_zero_point(fn, field, d.type, in->zero_point)) != QK_SUCCESS) return st;
    snprintf(field, sizeof(field), "inputs[%zu].scale", i);
    if ((st = qk_act_check_scale(fn, field, in->scale)) != QK_SUCCESS) return st;
    if (!qk_add_size(total, in->channels, &total)) {
      return qk_fail(QK_ERROR_SIZE_OVERFLOW, "%s: the channel total overflows", fn);
    }
  }
  if (d.output_pixel_stride != 0 && d.output_pixel_stride < total) {
    return qk_fail(QK_ERROR_INVALID_ARGUMENT,
                   "%s: output_pixel_stride = %zu is below the channel total (%zu)", fn,
                   d.output_pixel_stride, total);
  }
  const qk_isa_config* isa = qk_operator_isa(fn);
  if (isa == NULL) return QK_ERROR_UNSUPPORTED_ISA;
  qk_cat* op = calloc(1, sizeof(*op));
  cat_input* inputs = calloc(d.input_count, sizeof(*inputs));
  if (op == NULL || inputs == NULL) {
    free(op);
    free(inputs);
    return qk_fail(QK_ERROR_OUT_OF_MEMORY, "%s: out of memory", fn);
  }
  size_t offset = 0;
  for (size_t i = 0; i < d.input_count; i++) {
    const qk_cat_input* in = &d.inputs[i];
    cat_input* c = &inputs[i];
    c->channels = in->channels;
    c->pixel_stride = in->pixel_stride ? in->pixel_stride : in->channels;
    c->offset = offset;
    offset += in->channels;
    c->copy = in->scale == d.output_scale && in->zero_point == d.output_zero_point;
    qk_act_requantize_table(d.type, in->scale, in->zero_point, d.output_scale, d.output_zero_point,
                            c->table);
  }
  op->numerics = d.numerics;
  op->type = d.type;
  op->count = d.input_count;
  op->inputs = inputs;
  op->output_channels = total;
  op->output_pixel_stride = d.output_pixel_stride ? d.output_pixel_stride : total;
  op->isa = isa;
  op->lut = isa->lut;
  if (qk_verbose_enabled()) {
    qk_verbose_log("create cat inputs=%zu C=%zu type=%s numerics=%s isa=%s ukernel=%s time=%.3fms",
                   op->count, total, qk_dtype_name(op->type), qk_numerics_name(op->numerics),
                   isa->name, op->lut.name, (qk_now_seconds() - t0) * 1e3);
  }
  *op_out = op;
  return QK_SUCCESS;
}

void qk_cat_delete(qk_cat* op) {
  if (op == NULL) return;
  free(op->inputs);
  free(op);
}
const char* qk_cat_isa(const qk_cat* op) { return op ? op->isa->name : NULL; }
const char* qk_cat_ukernels(const qk_cat* op) { return op ? op->lut.name : NULL; }

typedef struct cat_plan {
  const qk_cat* op;
  const void* const* inputs;
  uint8_t* output;
  size_t pixels, tasks;
} cat_plan;

static void cat_task(void* context, size_t t) {
  const cat_plan* p = context;
  const qk_cat* op = p->op;
  const size_t p0 = p->pixels * t / p->tasks, p1 = p->pixels * (t + 1) / p->tasks;
  for (size_t px = p0; px < p1; px++) {
    uint8_t* y = p->output + px * op->output_pixel_stride;
    for (size_t i = 0; i < op->count; i++) {
      const cat_input* c = &op->inputs[i];
      const uint8_t* x = (const uint8_t*)p->inputs[i] + px * c->pixel_stride;
      if (c->copy) {
        memcpy(y + c->offset, x, c->channels);
      } else {
        op->lut.fn(c->channels, x, y + c->offset, c->table);
      }
    }
  }
}

static qk_status cat_run(const char* fn, const qk_cat* op, size_t pixels, const void* const* inputs,
                         void* output, qk_threadpool* pool) {
  const double t0 = qk_verbose_enabled() ? qk_now_seconds() : 0.0;
  if (op == NULL) return qk_fail(QK_ERROR_INVALID_ARGUMENT, "%s: op is NULL", fn);
  if (pixels == 0) return QK_SUCCESS;
  if (inputs == NULL || output == NULL) {
    return qk_fail(QK_ERROR_INVALID_ARGUMENT, "%s: inputs or output is NULL", fn);
  }
  size_t bytes;
  if (!qk_mul_size(pixels, op->output_pixel_stride, &bytes)) {
    return qk_fail(QK_ERROR_SIZE_OVERFLOW, "%s: %zu pixels exceed the address space", fn, pixels);
  }
  for (size_t i = 0; i < op->count; i++) {
    if (inputs[i] == NULL) {
      return qk_fail(QK_ERROR_INVALID_ARGUMENT, "%s: inputs[%zu] is NULL", fn, i);
    }
    if (!qk_mul_size(pixels, op->inputs[i].pixel_stride, &bytes)) {
      return qk_fail(QK_ERROR_SIZE_OVERFLOW, "%s: %zu pixels exceed the address space", fn, pixels);
    }
  }
  const size_t threads = qk_threadpool_threads(pool);
  cat_plan plan = {.op = op,
                   .inputs = inputs,
                   .output = output,
                   .pixels = pixels,
                   .tasks = qk_min_size(threads, pixels)};
  qk_threadpool_run(pool, cat_task, &plan, plan.tasks);
  if (qk_verbose_enabled()) {
    qk_verbose_log(
        "run cat pixels=%zu inputs=%zu C=%zu numerics=%s isa=%s ukernel=%s threads=%zu "
        "time=%.3fms",
        pixels, op->count, op->output_channels, qk_numerics_name(op->numerics), op->isa->name,
        op->lut.name, threads, (qk_now_seconds() - t0) * 1e3);
  }
  return QK_SUCCESS;
}

qk_status qk_cat_run(const qk_cat* op, size_t pixels, const void* const* inputs, void* output) {
  return cat_run("qk_cat_run", op, pixels, inputs, output, NULL);
}

qk_status qk_cat_run_threaded(const qk_cat* op, size_t pixels, const void* const* inputs,
                              void* output, qk_threadpool* threadpool) {
  return cat_run("qk_cat_run_threaded", op, pixels, inputs, output, threadpool);
}

/* ---------------------------------------------------------------------------------------------
 * channel shuffle
 * ------------------------------------------------------------------------------------------- */
struct qk_channel_shuffle {
  qk_numerics numerics;
  qk_dtype type;
  size_t groups, group_channels, channels, input_pixel_stride, output_pixel_stride;
  const qk_isa_config* isa;
  qk_shuffle_config shuffle;
};

qk_status qk_channel_shuffle_create(const qk_channel_shuffle_desc* desc,
                                    qk_channel_shuffle** op_out) {
  static const char fn[] = "qk_channel_shuffle_create";
  if (op_out == NULL) return qk_fail(QK_ERROR_INVALID_ARGUMENT, "%s: op is NULL", fn);
  *op_out = NULL;
  if (desc == NULL) return qk_fail(QK_ERROR_INVALID_ARGUMENT, "%s: desc is NULL", fn);
  qk_channel_shuffle_desc d;
  qk_channel_shuffle_desc_init(&d);
  qk_status st = qk_import_desc(desc, desc->struct_size, &d, sizeof(d), sizeof(d), fn,
                                "qk_channel_shuffle_desc_init");
  if (st != QK_SUCCESS) return st;
  if (qk_numerics_name(d.numerics) == NULL) {
    return qk_fail(QK_ERROR_INVALID_ARGUMENT, "%s: numerics %d is not a qk_numerics mode", fn,
                   (int)d.numerics);
  }
  if (d.type != QK_DTYPE_U8 && d.type != QK_DTYPE_S8) {
    return qk_fail(QK_ERROR_INVALID_ARGUMENT, "%s: type %d must be U8 or S8", fn, (int)d.type);
  }
  size_t channels;
  if (d.groups == 0 || d.group_channels == 0) {
    return qk_fail(QK_ERROR_INVALID_ARGUMENT,
                   "%s: groups (%zu) and group_channels (%zu) must be "
                   "nonzero",
                   fn, d.groups, d.group_channels);
  }
  if (!qk_mul_size(d.groups, d.group_channels, &channels)) {
    return qk_fail(QK_ERROR_SIZE_OVERFLOW, "%s: groups x group_channels overflows", fn);
  }
  if ((d.input_pixel_stride != 0 && d.input_pixel_stride < channels) ||
      (d.output_pixel_stride != 0 && d.output_pixel_stride < channels)) {
    return qk_fail(QK_ERROR_INVALID_ARGUMENT,
                   "%s: pixel strides (%zu, %zu) must be 0 or at least the channels (%zu)", fn,
                   d.input_pixel_stride, d.output_pixel_stride, channels);
  }
  const qk_isa_config* isa = qk_operator_isa(fn);
  if (isa == NULL) return QK_ERROR_UNSUPPORTED_ISA;
  qk_channel_shuffle* op = calloc(1, sizeof(*op));
  if (op == NULL) return qk_fail(QK_ERROR_OUT_OF_MEMORY, "%s: out of memory", fn);
  op->numerics = d.numerics;
  op->type = d.type;
  op->groups = d.groups;
  op->group_channels = d.group_channels;
  op->channels = channels;
  op->input_pixel_stride = d.input_pixel_stride ? d.input_pixel_stride : channels;
  op->output_pixel_stride = d.output_pixel_stride ? d.output_pixel_stride : channels;
  op->isa = isa;
  op->shuffle = isa->shuffle;
  if (qk_verbose_enabled()) {
    qk_verbose_log("create channel_shuffle groups=%zu C=%zu type=%s isa=%s ukernel=%s", op->groups,
                   channels, qk_dtype_name(op->type), isa->name, op->shuffle.name);
  }
  *op_out = op;
  return QK_SUCCESS;
}

void qk_channel_shuffle_delete(qk_channel_shuffle* op) { free(op); }
const char* qk_channel_shuffle_isa(const qk_channel_shuffle* op) {
  return op ? op->isa->name : NULL;
}
const char* qk_channel_shuffle_ukernels(const qk_channel_shuffle* op) {
  return op ? op->shuffle.name : NULL;
}

typedef struct shuffle_plan {
  const qk_channel_shuffle* op;
  const uint8_t* input;
  uint8_t* output;
  size_t pixels, tasks;
} shuffle_plan;

static void shuffle_task(void* context, size_t t) {
  const shuffle_plan* p = context;
  const qk_channel_shuffle* op = p->op;
  const size_t p0 = p->pixels * t / p->tasks, p1 = p->pixels * (t + 1) / p->tasks;
  if (p0 == p1) return;
  op->shuffle.fn(p1 - p0, op->groups, op->group_channels, p->input + p0 * op->input_pixel_stride,
                 op->input_pixel_stride, p->output + p0 * op->output_pixel_stride,
                 op->output_pixel_stride);
}

static qk_status shuffle_run(const char* fn, const qk_channel_shuffle* op, size_t pixels,
                             const void* input, void* output, qk_threadpool* pool) {
  const double t0 = qk_verbose_enabled() ? qk_now_seconds() : 0.0;
  if (op == NULL) return qk_fail(QK_ERROR_INVALID_ARGUMENT, "%s: op is NULL", fn);
  if (pixels == 0) return QK_SUCCESS;
  if (input == NULL || output == NULL) {
    return qk_fail(QK_ERROR_INVALID_ARGUMENT, "%s: input or output is NULL", fn);
  }
  if (input == output) {
    return qk_fail(QK_ERROR_INVALID_ARGUMENT, "%s: input and output must not be the same buffer",
                   fn);
  }
  size_t bytes;
  if (!qk_mul_size(pixels, op->input_pixel_stride, &bytes) ||
      !qk_mul_size(pixels, op->output_pixel_stride, &bytes)) {
    return qk_fail(QK_ERROR_SIZE_OVERFLOW, "%s: %zu pixels exceed the address space", fn, pixels);
  }
  const size_t threads = qk_threadpool_threads(pool);
  shuffle_plan plan = {.op = op,
                       .input = input,
                       .output = output,
                       .pixels = pixels,
                       .tasks = qk_min_size(threads, pixels)};
  qk_threadpool_run(pool, shuffle_task, &plan, plan.tasks);
  if (qk_verbose_enabled()) {
    qk_verbose_log(
        "run channel_shuffle pixels=%zu groups=%zu C=%zu isa=%s ukernel=%s threads=%zu "
        "time=%.3fms",
        pixels, op->groups, op->channels, op->isa->name, op->shuffle.name, threads,
        (qk_now_seconds() - t0) * 1e3);
  }
  return QK_SUCCESS;
}

qk_status qk_channel_shuffle_run(const qk_channel_shuffle* op, size_t pixels, const void* input,
                                 void* output) {
  return shuffle_run("qk_channel_shuffle_run", op, pixels, input, output, NULL);
}

qk_status qk_channel_shuffle_run_threaded(const qk_channel_shuffle* op, size_t pixels,
                                          const void* input, void* output,
                                          qk_threadpool* threadpool) {
  return shuffle_run("qk_channel_shuffle_run_threaded", op, pixels, input, output, threadpool);
}
