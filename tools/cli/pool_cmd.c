/* qk max-pool2d / avg-pool2d / adaptive-avg-pool2d: quantized pooling of .npy arrays
 * (docs/cli.md, docs/ops-pool.md). One option table; each command accepts its own subset. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

enum {
  POOL_INPUT,
  POOL_OUTPUT,
  POOL_KERNEL,
  POOL_STRIDE,
  POOL_PADDING,
  POOL_DILATION,
  POOL_CEIL_MODE,
  POOL_COUNT_INCLUDE_PAD,
  POOL_DIVISOR_OVERRIDE,
  POOL_OUTPUT_SIZE,
  POOL_MEMORY_FORMAT,
  POOL_INPUT_SCALE,
  POOL_INPUT_ZP,
  POOL_OUTPUT_SCALE,
  POOL_OUTPUT_ZP,
  POOL_NUMERICS,
  POOL_OPTION_COUNT
};

static const option_spec k_pool_options[POOL_OPTION_COUNT] = {
    [POOL_INPUT] = {"input", true},
    [POOL_OUTPUT] = {"output", true},
    [POOL_KERNEL] = {"kernel", true},
    [POOL_STRIDE] = {"stride", true},
    [POOL_PADDING] = {"padding", true},
    [POOL_DILATION] = {"dilation", true},
    [POOL_CEIL_MODE] = {"ceil-mode", false},
    [POOL_COUNT_INCLUDE_PAD] = {"count-include-pad", true},
    [POOL_DIVISOR_OVERRIDE] = {"divisor-override", true},
    [POOL_OUTPUT_SIZE] = {"output-size", true},
    [POOL_MEMORY_FORMAT] = {"memory-format", true},
    [POOL_INPUT_SCALE] = {"input-scale", true},
    [POOL_INPUT_ZP] = {"input-zero-point", true},
    [POOL_OUTPUT_SCALE] = {"output-scale", true},
    [POOL_OUTPUT_ZP] = {"output-zero-point", true},
    [POOL_NUMERICS] = {"numerics", true},
};

#define MAX_GEOMETRY 2147483647LL

typedef struct pool_command {
  const char* name;
  qk_pool2d_kind kind;
  const char* help;
  unsigned allowed;  /* bit per option */
  unsigned required; /* bit per option */
} pool_command;

#define BIT(k) (1u << (k))
#define COMMON                                                                       \
  (BIT(POOL_INPUT) | BIT(POOL_OUTPUT) | BIT(POOL_INPUT_SCALE) | BIT(POOL_INPUT_ZP) | \
   BIT(POOL_OUTPUT_SCALE) | BIT(POOL_OUTPUT_ZP) | BIT(POOL_NUMERICS))
#define REQUIRED (BIT(POOL_INPUT) | BIT(POOL_OUTPUT) | BIT(POOL_INPUT_ZP) | BIT(POOL_NUMERICS))

static const char k_tail_help[] =
    "--output-scale / --output-zero-point: PyTorch's pools return the input's; other values are\n"
    "refused by the PyTorch modes (the default is the input's).\n"
    "\n"
    "exit status: 0 success; 2 bad command line (unknown, missing, repeated or inapplicable\n"
    "option, malformed or out-of-range number); 1 any other error (unreadable or invalid file,\n"
    "wrong dtype or shape, configuration refused by the library). Every error is one line on\n"
    "stderr, and no output file is written.\n";

static const pool_command k_max = {
    "max-pool2d", QK_POOL2D_MAX,
    "usage: qk max-pool2d --input X.npy --output Y.npy --kernel K|KH,KW [--stride S|SH,SW]\n"
    "         [--padding P|PH,PW|T,L,B,R] [--dilation D|DH,DW] [--ceil-mode]\n"
    "         --input-zero-point I [--input-scale F] --numerics MODE\n"
    "\n"
    "Quantized max_pool2d: the integer max of each window, scale and zero point unchanged.\n"
    "  X   uint8 or int8, NCHW                  Y   written with X's dtype, NCHW\n"
    "Stride defaults to the kernel size (PyTorch's default), padding 0, dilation 1. "
    "pytorch-qnnpack\n"
    "with uint8 and no --ceil-mode is QNNPACK (padding taps clamped to the edge, 1x1 refused).\n",
    COMMON | BIT(POOL_KERNEL) | BIT(POOL_STRIDE) | BIT(POOL_PADDING) | BIT(POOL_DILATION) |
        BIT(POOL_CEIL_MODE),
    REQUIRED | BIT(POOL_KERNEL)};

static const pool_command k_avg = {
    "avg-pool2d", QK_POOL2D_AVERAGE,
    "usage: qk avg-pool2d --input X.npy --output Y.npy --kernel K|KH,KW [--stride S|SH,SW]\n"
    "         [--padding P|PH,PW|T,L,B,R] [--ceil-mode] [--count-include-pad 0|1]\n"
    "         [--divisor-override D] [--memory-format channels_last|contiguous]\n"
    "         --input-scale F --input-zero-point I --numerics MODE\n"
    "\n"
    "Quantized avg_pool2d as PyTorch computes it (PyTorch modes), or TFLite's AVERAGE_POOL_2D\n"
    "(tflite: padding T,L,B,R as TFLite's SAME / VALID give it).\n"
    "  X   uint8 or int8, NCHW                  Y   written with X's dtype, NCHW\n"
    "--memory-format is that of the PyTorch tensor reproduced (default channels_last, what a\n"
    "quantized conv returns): ATen rounds differently for the two. --count-include-pad defaults\n"
    "to 1 (PyTorch's default); stride defaults to the kernel size.\n",
    COMMON | BIT(POOL_KERNEL) | BIT(POOL_STRIDE) | BIT(POOL_PADDING) | BIT(POOL_CEIL_MODE) |
        BIT(POOL_COUNT_INCLUDE_PAD) | BIT(POOL_DIVISOR_OVERRIDE) | BIT(POOL_MEMORY_FORMAT),
    REQUIRED | BIT(POOL_KERNEL) | BIT(POOL_INPUT_SCALE)};

static const pool_command k_adaptive = {
    "adaptive-avg-pool2d", QK_POOL2D_ADAPTIVE_AVERAGE,
    "usage: qk adaptive-avg-pool2d --input X.npy --output Y.npy --output-size S|OH,OW\n"
    "         [--memory-format channels_last|contiguous]\n"
    "         --input-scale F --input-zero-point I --numerics MODE\n"
    "\n"
    "Quantized adaptive_avg_pool2d as PyTorch computes it (--output-size 1: global average pool).\n"
    "  X   uint8 or int8, NCHW                  Y   written with X's dtype, NCHW\n"
    "--memory-format as for avg-pool2d.\n",
    COMMON | BIT(POOL_OUTPUT_SIZE) | BIT(POOL_MEMORY_FORMAT),
    REQUIRED | BIT(POOL_OUTPUT_SIZE) | BIT(POOL_INPUT_SCALE)};

static int pool_parse(const pool_command* cmd, int argc, char** argv, qk_pool2d_desc* d,
                      const char** input, const char** output, bool* help, failure* f) {
  parsed_options o;
  int s = parse_options(argc, argv, k_pool_options, POOL_OPTION_COUNT, &o, f);
  *help = o.help;
  if (s != EXIT_OK || o.help) return s;
  const char* const* v = o.value;
  for (int k = 0; k < POOL_OPTION_COUNT; k++) {
    if (v[k] != NULL && !(cmd->allowed & BIT(k))) {
      return fail(f, EXIT_USAGE, "--%s is not an option of qk %s", k_pool_options[k].name,
                  cmd->name);
    }
    if ((cmd->required & BIT(k)) && (s = require(&o, k_pool_options, k, f)) != EXIT_OK) return s;
  }
  qk_pool2d_desc_init(d);
  d->kind = cmd->kind;
  *input = v[POOL_INPUT];
  *output = v[POOL_OUTPUT];
  size_t pair[2], pad[4] = {0, 0, 0, 0};
  long long ll;
  float scale = 0.0f;
  if ((s = parse_numerics(v[POOL_NUMERICS], &d->numerics, f)) ||
      (s = parse_int32("input-zero-point", v[POOL_INPUT_ZP], -128, 255, &d->input_zero_point, f))) {
    return s;
  }
  if (v[POOL_KERNEL]) {
    if ((s = parse_pair("kernel", v[POOL_KERNEL], 1, MAX_GEOMETRY, pair, f))) return s;
    d->kernel_height = pair[0], d->kernel_width = pair[1];
  }
  if (v[POOL_STRIDE]) {
    if ((s = parse_pair("stride", v[POOL_STRIDE], 1, MAX_GEOMETRY, pair, f))) return s;
    d->stride_height = pair[0], d->stride_width = pair[1];
  }
  if (v[POOL_DILATION]) {
    if ((s = parse_pair("dilation", v[POOL_DILATION], 1, MAX_GEOMETRY, pair, f))) return s;
    d->dilation_height = pair[0], d->dilation_width = pair[1];
  }
  if (v[POOL_PADDING]) {
    if ((s = parse_padding(v[POOL_PADDING], MAX_GEOMETRY, pad, f))) return s;
    d->padding_top = pad[0], d->padding_left = pad[1];
    d->padding_bottom = pad[2], d->padding_right = pad[3];
  }
  if (v[POOL_OUTPUT_SIZE]) {
    if ((s = parse_pair("output-size", v[POOL_OUTPUT_SIZE], 1, MAX_GEOMETRY, pair, f))) return s;
    d->output_height = pair[0], d->output_width = pair[1];
  }
  d->ceil_mode = v[POOL_CEIL_MODE] != NULL;
  if (v[POOL_COUNT_INCLUDE_PAD]) {
    if ((s = parse_int("count-include-pad", v[POOL_COUNT_INCLUDE_PAD], 0, 1, &ll, f))) return s;
    d->count_include_pad = (int)ll;
  }
  if (v[POOL_DIVISOR_OVERRIDE]) {
    if ((s = parse_int("divisor-override", v[POOL_DIVISOR_OVERRIDE], 1, MAX_GEOMETRY, &ll, f))) {
      return s;
    }
    d->divisor_override = ll;
  }
  if (v[POOL_MEMORY_FORMAT]) {
    if (strcmp(v[POOL_MEMORY_FORMAT], "channels_last") == 0) {
      d->memory_format = QK_PYTORCH_CHANNELS_LAST;
    } else if (strcmp(v[POOL_MEMORY_FORMAT], "contiguous") == 0) {
      d->memory_format = QK_PYTORCH_CONTIGUOUS;
    } else {
      return fail(f, EXIT_USAGE, "--memory-format '%s' is not channels_last or contiguous",
                  v[POOL_MEMORY_FORMAT]);
    }
  }
  if (v[POOL_INPUT_SCALE]) {
    if ((s = parse_scale("input-scale", v[POOL_INPUT_SCALE], &scale, f))) return s;
    d->input_scale = scale;
  }
  if (v[POOL_OUTPUT_SCALE]) {
    if ((s = parse_scale("output-scale", v[POOL_OUTPUT_SCALE], &scale, f))) return s;
    d->output_scale = scale;
    d->output_zero_point = d->input_zero_point;
  }
  if (v[POOL_OUTPUT_ZP]) {
    if (!v[POOL_OUTPUT_SCALE]) {
      return fail(f, EXIT_USAGE, "--output-zero-point goes with --output-scale");
    }
    if ((s = parse_int32("output-zero-point", v[POOL_OUTPUT_ZP], -128, 255, &d->output_zero_point,
                         f))) {
      return s;
    }
  }
  return EXIT_OK;
}

static int pool_input_dtype(const char* path, const qk_npy_array* x, failure* f) {
  if (x->dtype == QK_NPY_U8 || x->dtype == QK_NPY_I8) return EXIT_OK;
  if (is_float(x->dtype)) {
    return wrong_dtype(path, "input", x, "uint8 or int8", NULL,
                       "it holds real values, quantize it first (qk quantize --dtype u8 or s8)", f);
  }
  return wrong_dtype(path, "input", x, "uint8 or int8", "uint8",
                     "(or np.int8 for signed activations) if the values fit", f);
}

static int run_pool(const pool_command* cmd, int argc, char** argv, failure* f) {
  qk_pool2d_desc desc;
  const char *input = NULL, *output = NULL;
  bool help = false;
  int s = pool_parse(cmd, argc, argv, &desc, &input, &output, &help, f);
  if (s != EXIT_OK) return s;
  if (help) {
    fputs(cmd->help, stdout);
    fputs(k_tail_help, stdout);
    printf("\nMODE (--numerics): %s\n(docs/ops-pool.md says what each mode computes)\n",
           numerics_modes());
    return EXIT_OK;
  }
  qk_npy_file* file = NULL;
  qk_npy_array x;
  char error[QK_NPY_ERROR_SIZE];
  if (!qk_npy_open_file(input, &file, &x, error, sizeof(error))) {
    return fail(f, EXIT_ERROR, "%s", error);
  }
  uint8_t *x_nhwc = NULL, *y_nhwc = NULL;
  qk_pool2d* op = NULL;
  if ((s = pool_input_dtype(input, &x, f)) ||
      (s = require_rank(input, "input", &x, 4, "NCHW", f))) {
    qk_npy_close_file(file);
    return s;
  }
  desc.type = x.dtype == QK_NPY_U8 ? QK_DTYPE_U8 : QK_DTYPE_S8;
  int32_t lo, hi;
  dtype_range(desc.type, &lo, &hi);
  const size_t n = x.shape[0], c = x.shape[1], h = x.shape[2], w = x.shape[3];
  desc.channels = c;
  size_t oh = 0, ow = 0, y_count = 0;
  qk_status status;
  if (desc.input_zero_point < lo || desc.input_zero_point > hi || desc.output_zero_point < lo ||
      desc.output_zero_point > hi) {
    s = fail(f, EXIT_ERROR, "a zero point is outside the %s range [%d, %d] of %s",
             qk_npy_dtype_name(x.dtype), (int)lo, (int)hi, input);
  } else if ((status = qk_pool2d_create(&desc, &op)) != QK_SUCCESS ||
             (status = qk_pool2d_output_size(op, h, w, &oh, &ow)) != QK_SUCCESS) {
    s = library_error(status, f);
  } else if (__builtin_mul_overflow(n, c, &y_count) ||
             __builtin_mul_overflow(y_count, oh, &y_count) ||
             __builtin_mul_overflow(y_count, ow, &y_count)) {
    s = fail(f, EXIT_ERROR, "output %s: an array of %zu x %zu x %zu x %zu is too large", output, n,
             c, oh, ow);
  } else if ((x_nhwc = malloc(x.bytes + 1)) == NULL || (y_nhwc = malloc(y_count + 1)) == NULL) {
    s = fail(f, EXIT_ERROR, "out of memory");
  } else {
    const size_t nhwc_strides[4] = {h * w * c, 1, w * c, c};
    if (!qk_npy_read_data(file, x_nhwc, nhwc_strides, error, sizeof(error))) {
      s = fail(f, EXIT_ERROR, "%s", error);
    } else if ((status = qk_pool2d_run(op, n, h, w, x_nhwc, y_nhwc)) != QK_SUCCESS) {
      s = library_error(status, f);
    } else {
      const size_t shape[4] = {n, c, oh, ow}, strides[4] = {oh * ow * c, 1, ow * c, c};
      if (!qk_npy_write_file_strided(output, x.dtype, 4, shape, y_nhwc, strides, error,
                                     sizeof(error))) {
        s = fail(f, EXIT_ERROR, "%s", error);
      }
    }
  }
  qk_npy_close_file(file);
  qk_pool2d_delete(op);
  free(x_nhwc);
  free(y_nhwc);
  return s;
}

int run_max_pool2d(int argc, char** argv, failure* f) { return run_pool(&k_max, argc, argv, f); }
int run_avg_pool2d(int argc, char** argv, failure* f) { return run_pool(&k_avg, argc, argv, f); }
int run_adaptive_avg_pool2d(int argc, char** argv, failure* f) {
  return run_pool(&k_adaptive, argc, argv, f);
}
