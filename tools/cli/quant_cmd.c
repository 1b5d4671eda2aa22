/* qk quantize / qk dequantize on .npy arrays (docs/cli.md). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* ---------------------------------------------------------------------------------------------
 * qk quantize / qk dequantize: the same options, the direction differs
 * ------------------------------------------------------------------------------------------- */
static const char k_quantize_help[] =
    "usage: qk quantize --input X.npy --output Q.npy --dtype u8|s8|s32\n"
    "         (--scale F --zero-point I | --scales S.npy [--zero-points Z.npy] --axis A)\n"
    "         [--numerics MODE]\n"
    "\n"
    "Quantizes a float32 array (any shape) per tensor or along axis A (negative counts\n"
    "from the end), as the numerics mode's framework does:\n"
    "  PyTorch modes  q = clamp(round_half_even(x * (1 / scale)) + zero_point)\n"
    "  onnxruntime    q = round_half_even(clamp(x / scale, qmin - zp, qmax - zp)) + zp\n"
    "  tflite         q = clamp(round_half_away(x / scale) + zp)\n"
    "MODE defaults to pytorch-fbgemm (all PyTorch modes quantize alike). Q is uint8 (u8), int8\n"
    "(s8) or int32 (s32, PyTorch modes only). S: float32 or float64 [shape[A]]; Z: int32 or\n"
    "int64 [shape[A]]; either may hold one value (shape () or (1,)) for the whole axis. Arrays\n"
    "may be C or Fortran order. Scales on the command line are float32 values (decimal or hex\n"
    "text); NaN inputs are an error.\n"
    "\n"
    "exit status: 0 success; 2 bad command line; 1 any other error (one line on stderr, no\n"
    "output file).\n";

static const char k_dequantize_help[] =
    "usage: qk dequantize --input Q.npy --output X.npy\n"
    "         (--scale F --zero-point I | --scales S.npy [--zero-points Z.npy] --axis A)\n"
    "         [--numerics MODE]\n"
    "\n"
    "Dequantizes a uint8, int8 or int32 array (any shape) to float32, per tensor or\n"
    "along axis A (negative counts from the end): x = scale * (q - zero_point) in float32\n"
    "(tflite: in double, rounded once to float32). MODE defaults to pytorch-fbgemm.\n"
    "S: float32 or float64 [shape[A]]; Z: int32 or int64 [shape[A]], in the range of Q's\n"
    "dtype; either may hold one value (shape () or (1,)) for the whole axis.\n"
    "\n"
    "exit status: 0 success; 2 bad command line; 1 any other error (one line on stderr, no\n"
    "output file).\n";

enum {
  QUANT_INPUT,
  QUANT_OUTPUT,
  QUANT_DTYPE,
  QUANT_SCALE,
  QUANT_ZP,
  QUANT_SCALES,
  QUANT_ZPS,
  QUANT_AXIS,
  QUANT_NUMERICS,
  QUANT_OPTION_COUNT
};

static const option_spec k_quant_options[QUANT_OPTION_COUNT] = {
    [QUANT_INPUT] = {"input", true},       [QUANT_OUTPUT] = {"output", true},
    [QUANT_DTYPE] = {"dtype", true},       [QUANT_SCALE] = {"scale", true},
    [QUANT_ZP] = {"zero-point", true},     [QUANT_SCALES] = {"scales", true},
    [QUANT_ZPS] = {"zero-points", true},   [QUANT_AXIS] = {"axis", true},
    [QUANT_NUMERICS] = {"numerics", true},
};

typedef struct quant_args {
  bool quantize;
  const char *input, *output, *scales, *zero_points;
  qk_dtype dtype; /* quantize: the output type; dequantize: from the input file */
  float scale;
  int32_t zero_point;
  long long axis;
  qk_numerics numerics;
} quant_args;

static int quant_check_parameter_options(const parsed_options* o, failure* f) {
  const bool per_tensor = o->value[QUANT_SCALE] != NULL;
  const bool per_axis = o->value[QUANT_SCALES] != NULL;
  if (per_tensor == per_axis) {
    return fail(f, EXIT_USAGE,
                per_tensor ? "give either --scale or --scales, not both"
                           : "missing option --scale (or --scales)");
  }
  if (per_tensor && o->value[QUANT_ZP] == NULL) {
    return fail(f, EXIT_USAGE, "missing option --zero-point (needed with --scale)");
  }
  if (per_tensor && (o->value[QUANT_ZPS] || o->value[QUANT_AXIS])) {
    return fail(f, EXIT_USAGE, "--zero-points and --axis go with --scales, not --scale");
  }
  if (per_axis && o->value[QUANT_ZP]) {
    return fail(f, EXIT_USAGE, "--zero-point goes with --scale, not --scales");
  }
  if (per_axis && o->value[QUANT_AXIS] == NULL) {
    return fail(f, EXIT_USAGE, "missing option --axis (needed with --scales)");
  }
  return EXIT_OK;
}

static int quant_parse(int argc, char** argv, quant_args* a, bool* help, failure* f) {
  const option_spec* specs = k_quant_options;
  parsed_options o;
  int s = parse_options(argc, argv, specs, QUANT_OPTION_COUNT, &o, f);
  *help = o.help;
  if (s != EXIT_OK || o.help) return s;
  if ((s = require(&o, specs, QUANT_INPUT, f)) || (s = require(&o, specs, QUANT_OUTPUT, f)) ||
      (a->quantize && (s = require(&o, specs, QUANT_DTYPE, f)))) {
    return s;
  }
  if (!a->quantize && o.value[QUANT_DTYPE]) {
    return fail(f, EXIT_USAGE,
                "dequantize takes no --dtype (the input's dtype is used; the "
                "output is float32)");
  }
  if ((s = quant_check_parameter_options(&o, f)) != EXIT_OK) return s;
  a->input = o.value[QUANT_INPUT];
  a->output = o.value[QUANT_OUTPUT];
  a->scales = o.value[QUANT_SCALES];
  a->zero_points = o.value[QUANT_ZPS];
  a->numerics = QK_NUMERICS_PYTORCH_FBGEMM;
  a->dtype = QK_DTYPE_NONE;
  int32_t lo = INT32_MIN, hi = INT32_MAX;
  if (a->quantize) {
    if ((s = parse_dtype(o.value[QUANT_DTYPE], &a->dtype, f))) return s;
    dtype_range(a->dtype, &lo, &hi);
  }
  if ((o.value[QUANT_NUMERICS] && (s = parse_numerics(o.value[QUANT_NUMERICS], &a->numerics, f))) ||
      (o.value[QUANT_SCALE] && (s = parse_scale("scale", o.value[QUANT_SCALE], &a->scale, f))) ||
      (o.value[QUANT_ZP] &&
       (s = parse_int32("zero-point", o.value[QUANT_ZP], lo, hi, &a->zero_point, f))) ||
      (o.value[QUANT_AXIS] && (s = parse_int("axis", o.value[QUANT_AXIS], -QK_NPY_MAX_DIMS,
                                             QK_NPY_MAX_DIMS - 1, &a->axis, f)))) {
    return s;
  }
  return EXIT_OK;
}

typedef struct quant_data {
  qk_npy_array in, out, s, z;
  double* scales;
  int32_t* zero_points;
} quant_data;

static void quant_data_free(quant_data* d) {
  qk_npy_free(&d->in);
  qk_npy_free(&d->out);
  qk_npy_free(&d->s);
  qk_npy_free(&d->z);
  free(d->scales);
  free(d->zero_points);
}

/* The input's dtype: float32 for quantize; uint8/int8/int32 for dequantize (sets a->dtype). */
static int quant_check_input(quant_args* a, const qk_npy_array* in, failure* f) {
  if (a->quantize) {
    return in->dtype == QK_NPY_F32
               ? EXIT_OK
               : wrong_dtype(a->input, "input", in, "float32", "float32", NULL, f);
  }
  switch (in->dtype) {
    case QK_NPY_U8: a->dtype = QK_DTYPE_U8; break;
    case QK_NPY_I8: a->dtype = QK_DTYPE_S8; break;
    case QK_NPY_I32: a->dtype = QK_DTYPE_S32; break;
    default:
      return wrong_dtype(a->input, "input", in, "uint8, int8 or int32",
                         is_float(in->dtype) ? NULL : "int32",
                         is_float(in->dtype) ? "it is not quantized (qk quantize makes it so)"
                                             : "if the values fit",
                         f);
  }
  int32_t lo, hi;
  dtype_range(a->dtype, &lo, &hi);
  if (!a->scales && (a->zero_point < lo || a->zero_point > hi)) {
    return fail(f, EXIT_ERROR, "--zero-point %d is outside the %s range [%d, %d] of %s",
                (int)a->zero_point, qk_npy_dtype_name(in->dtype), (int)lo, (int)hi, a->input);
  }
  return EXIT_OK;
}

/* [outer][channels][inner] around the axis (per tensor: everything is one channel block). */
static int quant_split(const quant_args* a, const qk_npy_array* in, size_t split[3], failure* f) {
  if (!a->scales) {
    split[0] = split[2] = 1;
    split[1] = in->count;
    return EXIT_OK;
  }
  const long long ndim = (long long)in->ndim;
  if (a->axis < -ndim || a->axis >= ndim) {
    return fail(f, EXIT_ERROR, "--axis %lld is out of range for the %lld-D input %s", a->axis, ndim,
                a->input);
  }
  const size_t axis = (size_t)(a->axis < 0 ? a->axis + ndim : a->axis);
  split[1] = in->shape[axis];
  if (in->count == 0) { /* nothing to convert; the other dimensions may not even multiply */
    split[0] = split[2] = 0;
    return EXIT_OK;
  }
  split[0] = split[2] = 1; /* the products are at most in->count: no overflow */
  for (size_t i = 0; i < axis; i++) split[0] *= in->shape[i];
  for (size_t i = axis + 1; i < in->ndim; i++) split[2] *= in->shape[i];
  return EXIT_OK;
}

static int quant_load_parameters(const quant_args* a, quant_data* d, size_t channels, failure* f) {
  if (!a->scales) return EXIT_OK;
  int s;
  int32_t lo, hi;
  dtype_range(a->dtype, &lo, &hi);
  if ((s = load(a->scales, &d->s, f)) ||
      (s = require_channels(a->scales, "scales", &d->s, channels, "the size of the axis", f)) ||
      (s = scales_from(a->scales, &d->s, channels, &d->scales, f))) {
    return s;
  }
  if (a->zero_points && ((s = load(a->zero_points, &d->z, f)) ||
                         (s = require_channels(a->zero_points, "zero points", &d->z, channels,
                                               "the size of the axis", f)) ||
                         (s = zero_points_from(a->zero_points, &d->z, channels, lo, hi,
                                               a->dtype == QK_DTYPE_U8   ? "uint8"
                                               : a->dtype == QK_DTYPE_S8 ? "int8"
                                                                         : "int32",
                                               &d->zero_points, f)))) {
    return s;
  }
  return EXIT_OK;
}

static int quant_compute(const quant_args* a, quant_data* d, const size_t split[3], failure* f) {
  char error[QK_NPY_ERROR_SIZE];
  const qk_npy_dtype out_type = a->quantize ? npy_dtype_of(a->dtype) : QK_NPY_F32;
  if (!qk_npy_alloc(&d->out, out_type, d->in.ndim, d->in.shape, error, sizeof(error))) {
    return fail(f, EXIT_ERROR, "output %s: %s", a->output, error);
  }
  const double scale = a->scale;
  const int32_t zero_point = a->zero_point;
  const size_t count = a->scales ? split[1] : 1;
  const double* scales = a->scales ? d->scales : &scale;
  const int32_t* zero_points = a->scales ? d->zero_points : &zero_point;
  const qk_status status = a->quantize
                               ? qk_quantize(a->numerics, a->dtype, split[0], split[1], split[2],
                                             d->in.data, count, scales, zero_points, d->out.data)
                               : qk_dequantize(a->numerics, a->dtype, split[0], split[1], split[2],
                                               d->in.data, count, scales, zero_points, d->out.data);
  return status == QK_SUCCESS ? EXIT_OK : library_error(status, f);
}

static int run_quant(int argc, char** argv, bool quantize, failure* f) {
  quant_args a;
  memset(&a, 0, sizeof(a));
  a.quantize = quantize;
  bool help;
  int s = quant_parse(argc, argv, &a, &help, f);
  if (s != EXIT_OK) return s;
  if (help) {
    fputs(quantize ? k_quantize_help : k_dequantize_help, stdout);
    return EXIT_OK;
  }
  quant_data d;
  memset(&d, 0, sizeof(d));
  size_t split[3] = {0, 0, 0};
  if (!(s = load(a.input, &d.in, f)) && !(s = quant_check_input(&a, &d.in, f)) &&
      !(s = quant_split(&a, &d.in, split, f)) &&
      !(s = quant_load_parameters(&a, &d, split[1], f)) && !(s = quant_compute(&a, &d, split, f))) {
    s = save(a.output, &d.out, f);
  }
  quant_data_free(&d);
  return s;
}

int run_quantize(int argc, char** argv, failure* f) { return run_quant(argc, argv, true, f); }
int run_dequantize(int argc, char** argv, failure* f) { return run_quant(argc, argv, false, f); }
