/* qk linear: a quantized fully connected layer of .npy arrays (docs/cli.md, docs/ops-linear.md).
 * Options, checks and messages follow qk conv2d. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char k_linear_help[] =
    "usage: qk linear --input X.npy --weight W.npy [--bias B.npy] --output Y.npy\n"
    "         --input-scale F --input-zero-point I\n"
    "         (--weight-scale F --weight-zero-point I | --weight-scales WS.npy\n"
    "          [--weight-zero-points WZ.npy])\n"
    "         --output-scale F --output-zero-point I [--relu] [--output-min I] [--output-max I]\n"
    "         [--weight-quantization per-tensor|per-channel] --numerics MODE\n"
    "\n"
    "Quantized fully connected layer (PyTorch quantized::linear, ONNX QLinearMatMul, TFLite\n"
    "FULLY_CONNECTED) with the exact integer results of the chosen framework:\n"
    "  y[n][o] = requantize(sum_k (x[n][k] - x_zp) * (w[o][k] - w_zp[o]))\n"
    "  X   uint8 or int8, [N, K]                Y   written with X's dtype, [N, O]\n"
    "  W   int8, [O, K] (PyTorch's weight)      B   [O] float32 (PyTorch modes) or int32\n"
    "  WS  [O] float32 or float64 scales            (tflite, xnnpack; onnxruntime has none)\n"
    "  WZ  [O] int32 or int64, in [-128, 127] (default 0)\n"
    "WS and WZ may also hold one value (shape () or (1,)) for every channel. Arrays may be C or\n"
    "Fortran order. Scales on the command line are float32 values (decimal or hex text).\n"
    "--relu clamps outputs below the output zero point; --output-min / --output-max clamp the\n"
    "quantized output, values in X's dtype. --weight-quantization as in qk conv2d (default: a WS\n"
    "or WZ file of shape (O,) is per channel, anything else per tensor).\n"
    "\n"
    "exit status: 0 success; 2 bad command line; 1 any other error (unreadable or invalid file,\n"
    "wrong dtype or shape, arrays that do not match, configuration refused by the library).\n"
    "Every error is one line on stderr, and no output file is written.\n";

enum {
  LIN_INPUT,
  LIN_WEIGHT,
  LIN_BIAS,
  LIN_OUTPUT,
  LIN_INPUT_SCALE,
  LIN_INPUT_ZP,
  LIN_WEIGHT_SCALE,
  LIN_WEIGHT_ZP,
  LIN_WEIGHT_SCALES,
  LIN_WEIGHT_ZPS,
  LIN_OUTPUT_SCALE,
  LIN_OUTPUT_ZP,
  LIN_RELU,
  LIN_OUTPUT_MIN,
  LIN_OUTPUT_MAX,
  LIN_NUMERICS,
  LIN_WEIGHT_QUANTIZATION,
  LIN_OPTION_COUNT
};

static const option_spec k_linear_options[LIN_OPTION_COUNT] = {
    [LIN_INPUT] = {"input", true},
    [LIN_WEIGHT] = {"weight", true},
    [LIN_BIAS] = {"bias", true},
    [LIN_OUTPUT] = {"output", true},
    [LIN_INPUT_SCALE] = {"input-scale", true},
    [LIN_INPUT_ZP] = {"input-zero-point", true},
    [LIN_WEIGHT_SCALE] = {"weight-scale", true},
    [LIN_WEIGHT_ZP] = {"weight-zero-point", true},
    [LIN_WEIGHT_SCALES] = {"weight-scales", true},
    [LIN_WEIGHT_ZPS] = {"weight-zero-points", true},
    [LIN_OUTPUT_SCALE] = {"output-scale", true},
    [LIN_OUTPUT_ZP] = {"output-zero-point", true},
    [LIN_RELU] = {"relu", false},
    [LIN_OUTPUT_MIN] = {"output-min", true},
    [LIN_OUTPUT_MAX] = {"output-max", true},
    [LIN_NUMERICS] = {"numerics", true},
    [LIN_WEIGHT_QUANTIZATION] = {"weight-quantization", true},
};

typedef struct linear_args {
  const char *input, *weight, *bias, *output, *weight_scales, *weight_zero_points;
  float input_scale, weight_scale, output_scale;
  int32_t input_zero_point, weight_zero_point, output_zero_point;
  bool relu, has_output_min, has_output_max;
  int32_t output_min, output_max;
  int weights; /* 0 from the shapes, 1 per tensor, 2 per channel */
  qk_numerics numerics;
} linear_args;

static int linear_parse(int argc, char** argv, linear_args* a, bool* help, failure* f) {
  const option_spec* specs = k_linear_options;
  parsed_options o;
  int s = parse_options(argc, argv, specs, LIN_OPTION_COUNT, &o, f);
  *help = o.help;
  if (s != EXIT_OK || o.help) return s;
  static const int required[] = {LIN_INPUT,    LIN_WEIGHT,       LIN_OUTPUT,    LIN_INPUT_SCALE,
                                 LIN_INPUT_ZP, LIN_OUTPUT_SCALE, LIN_OUTPUT_ZP, LIN_NUMERICS};
  for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++) {
    if ((s = require(&o, specs, required[i], f)) != EXIT_OK) return s;
  }
  const char* const* v = o.value;
  const bool per_tensor = v[LIN_WEIGHT_SCALE] != NULL, per_channel = v[LIN_WEIGHT_SCALES] != NULL;
  if (per_tensor && per_channel) {
    return fail(f, EXIT_USAGE, "give either --weight-scale or --weight-scales, not both");
  }
  if (!per_tensor && !per_channel) {
    return fail(f, EXIT_USAGE, "missing option --weight-scale (or --weight-scales)");
  }
  if (per_tensor && v[LIN_WEIGHT_ZP] == NULL) {
    return fail(f, EXIT_USAGE, "missing option --weight-zero-point (needed with --weight-scale)");
  }
  if (per_tensor && v[LIN_WEIGHT_ZPS] != NULL) {
    return fail(f, EXIT_USAGE,
                "--weight-zero-points goes with --weight-scales, not --weight-scale");
  }
  if (per_channel && v[LIN_WEIGHT_ZP] != NULL) {
    return fail(f, EXIT_USAGE, "--weight-zero-point goes with --weight-scale, not --weight-scales");
  }
  memset(a, 0, sizeof(*a));
  a->input = v[LIN_INPUT];
  a->weight = v[LIN_WEIGHT];
  a->bias = v[LIN_BIAS];
  a->output = v[LIN_OUTPUT];
  a->weight_scales = v[LIN_WEIGHT_SCALES];
  a->weight_zero_points = v[LIN_WEIGHT_ZPS];
  a->relu = v[LIN_RELU] != NULL;
  a->has_output_min = v[LIN_OUTPUT_MIN] != NULL;
  a->has_output_max = v[LIN_OUTPUT_MAX] != NULL;
  if ((s = parse_numerics(v[LIN_NUMERICS], &a->numerics, f)) ||
      (s = parse_scale("input-scale", v[LIN_INPUT_SCALE], &a->input_scale, f)) ||
      (s = parse_int32("input-zero-point", v[LIN_INPUT_ZP], -128, 255, &a->input_zero_point, f)) ||
      (s = parse_scale("output-scale", v[LIN_OUTPUT_SCALE], &a->output_scale, f)) ||
      (s = parse_int32("output-zero-point", v[LIN_OUTPUT_ZP], -128, 255, &a->output_zero_point,
                       f)) ||
      (per_tensor && (s = parse_scale("weight-scale", v[LIN_WEIGHT_SCALE], &a->weight_scale, f))) ||
      (per_tensor && (s = parse_int32("weight-zero-point", v[LIN_WEIGHT_ZP], -128, 127,
                                      &a->weight_zero_point, f))) ||
      (a->has_output_min &&
       (s = parse_int32("output-min", v[LIN_OUTPUT_MIN], -128, 255, &a->output_min, f))) ||
      (a->has_output_max &&
       (s = parse_int32("output-max", v[LIN_OUTPUT_MAX], -128, 255, &a->output_max, f)))) {
    return s;
  }
  if (a->has_output_min && a->has_output_max && a->output_min > a->output_max) {
    return fail(f, EXIT_USAGE, "--output-min %d is greater than --output-max %d (an empty range)",
                (int)a->output_min, (int)a->output_max);
  }
  const char* wq = v[LIN_WEIGHT_QUANTIZATION];
  if (wq != NULL) {
    if (strcmp(wq, "per-tensor") == 0) {
      a->weights = 1;
    } else if (strcmp(wq, "per-channel") == 0) {
      a->weights = 2;
    } else {
      return fail(f, EXIT_USAGE, "--weight-quantization '%s' is not per-tensor or per-channel", wq);
    }
  }
  return EXIT_OK;
}

typedef struct linear_data {
  qk_npy_array x, w, b, ws, wz, y;
  size_t weight_count;
  bool per_channel;
  double* weight_scales;
  int32_t* weight_zero_points;
} linear_data;

static void linear_data_free(linear_data* d) {
  qk_npy_free(&d->x);
  qk_npy_free(&d->w);
  qk_npy_free(&d->b);
  qk_npy_free(&d->ws);
  qk_npy_free(&d->wz);
  qk_npy_free(&d->y);
  free(d->weight_scales);
  free(d->weight_zero_points);
}

static int check_value_for(const char* option, int32_t value, qk_npy_dtype dtype, const char* path,
                           failure* f) {
  const int32_t lo = dtype == QK_NPY_U8 ? 0 : -128, hi = dtype == QK_NPY_U8 ? 255 : 127;
  if (value < lo || value > hi) {
    return fail(f, EXIT_ERROR, "--%s %d is outside the %s range [%d, %d] of %s", option, (int)value,
                qk_npy_dtype_name(dtype), (int)lo, (int)hi, path);
  }
  return EXIT_OK;
}

static int linear_load_arrays(const linear_args* a, linear_data* d, failure* f) {
  int s;
  if ((s = load(a->input, &d->x, f)) || (s = load(a->weight, &d->w, f))) return s;
  if (d->x.dtype != QK_NPY_U8 && d->x.dtype != QK_NPY_I8) {
    return wrong_dtype(
        a->input, "input", &d->x, "uint8 or int8", is_float(d->x.dtype) ? NULL : "uint8",
        is_float(d->x.dtype)
            ? "it holds real values, quantize it first (qk quantize --dtype u8 or s8)"
            : "(or np.int8 for signed activations) if the values fit",
        f);
  }
  if (d->w.dtype != QK_NPY_I8) {
    return wrong_dtype(a->weight, "weight", &d->w, "int8", is_float(d->w.dtype) ? NULL : "int8",
                       is_float(d->w.dtype)
                           ? "it holds real values, quantize it first (qk quantize --dtype s8)"
                           : "if the values fit in [-128, 127]",
                       f);
  }
  if ((s = require_rank(a->input, "input", &d->x, 2, "[N, K]", f)) ||
      (s = require_rank(a->weight, "weight", &d->w, 2, "[O, K]", f)) ||
      (s = check_value_for("input-zero-point", a->input_zero_point, d->x.dtype, a->input, f)) ||
      (s = check_value_for("output-zero-point", a->output_zero_point, d->x.dtype, a->input, f)) ||
      (a->has_output_min &&
       (s = check_value_for("output-min", a->output_min, d->x.dtype, a->input, f))) ||
      (a->has_output_max &&
       (s = check_value_for("output-max", a->output_max, d->x.dtype, a->input, f)))) {
    return s;
  }
  if (d->w.shape[1] != d->x.shape[1]) {
    return fail(f, EXIT_ERROR, "%s: the weight has K = %zu (dimension 1), the input %s has K = %zu",
                a->weight, d->w.shape[1], a->input, d->x.shape[1]);
  }
  const size_t o = d->w.shape[0];
  if (a->bias) {
    const char* name = qk_numerics_name(a->numerics);
    const bool int_bias = name != NULL && strncmp(name, "pytorch-", 8) != 0;
    if ((s = load(a->bias, &d->b, f))) return s;
    if (d->b.dtype != (int_bias ? QK_NPY_I32 : QK_NPY_F32)) {
      char expected[96];
      snprintf(expected, sizeof(expected), "%s with --numerics %s", int_bias ? "int32" : "float32",
               name);
      const bool convertible = int_bias ? !is_float(d->b.dtype) : is_float(d->b.dtype);
      return wrong_dtype(a->bias, "bias", &d->b, expected,
                         convertible ? (int_bias ? "int32" : "float32") : NULL,
                         convertible ? NULL
                         : int_bias  ? "this mode adds the quantized bias"
                                     : "this mode adds the float bias of the float module",
                         f);
    }
    if ((s = require_vector(a->bias, "bias", &d->b, o, "the output channel count O", f))) return s;
  }
  if (a->weight_scales && ((s = load(a->weight_scales, &d->ws, f)) ||
                           (s = require_channels(a->weight_scales, "weight scales", &d->ws, o,
                                                 "the output channel count O", f)))) {
    return s;
  }
  if (a->weight_zero_points &&
      ((s = load(a->weight_zero_points, &d->wz, f)) ||
       (s = require_channels(a->weight_zero_points, "weight zero points", &d->wz, o,
                             "the output channel count O", f)))) {
    return s;
  }
  const bool ws_pc = a->weight_scales && d->ws.ndim == 1 && d->ws.shape[0] == o;
  const bool wz_pc = a->weight_zero_points && d->wz.ndim == 1 && d->wz.shape[0] == o;
  d->per_channel = a->weights == 0 ? ws_pc || wz_pc : a->weights == 2;
  if (a->weights == 1) {
    const char* many = a->weight_scales && d->ws.count > 1        ? a->weight_scales
                       : a->weight_zero_points && d->wz.count > 1 ? a->weight_zero_points
                                                                  : NULL;
    if (many != NULL) {
      return fail(f, EXIT_ERROR,
                  "--weight-quantization per-tensor needs one weight scale and zero point, %s "
                  "has %zu values",
                  many, many == a->weight_scales ? d->ws.count : d->wz.count);
    }
  }
  const size_t n = d->weight_count = d->per_channel ? o : 1;
  if (a->weight_scales) {
    if ((s = scales_from(a->weight_scales, &d->ws, n, &d->weight_scales, f))) return s;
  } else if ((d->weight_scales = malloc(n * sizeof(double))) != NULL) {
    for (size_t i = 0; i < n; i++) d->weight_scales[i] = a->weight_scale;
  }
  if (a->weight_zero_points) {
    if ((s = zero_points_from(a->weight_zero_points, &d->wz, n, -128, 127, "int8",
                              &d->weight_zero_points, f))) {
      return s;
    }
  } else if ((d->weight_zero_points = malloc(n * sizeof(int32_t))) != NULL) {
    for (size_t i = 0; i < n; i++) d->weight_zero_points[i] = a->weight_zero_point;
  }
  if (d->weight_scales == NULL || d->weight_zero_points == NULL) {
    return fail(f, EXIT_ERROR, "out of memory");
  }
  return EXIT_OK;
}

static int linear_compute(const linear_args* a, linear_data* d, failure* f) {
  qk_linear_desc desc;
  qk_linear_desc_init(&desc);
  desc.numerics = a->numerics;
  desc.input_channels = d->x.shape[1];
  desc.output_channels = d->w.shape[0];
  desc.input_type = d->x.dtype == QK_NPY_U8 ? QK_DTYPE_U8 : QK_DTYPE_S8;
  desc.input_scale = a->input_scale;
  desc.input_zero_point = a->input_zero_point;
  desc.weights = (const int8_t*)d->w.data;
  desc.weight_scale_count = d->weight_count;
  desc.weight_scales = d->weight_scales;
  desc.weight_zero_points = d->weight_zero_points;
  desc.weight_quantization =
      d->per_channel ? QK_WEIGHT_QUANTIZATION_PER_CHANNEL : QK_WEIGHT_QUANTIZATION_PER_TENSOR;
  if (a->bias) {
    desc.bias_type = d->b.dtype == QK_NPY_I32 ? QK_DTYPE_S32 : QK_DTYPE_F32;
    desc.bias = d->b.data;
  }
  desc.output_type = desc.input_type;
  desc.output_scale = a->output_scale;
  desc.output_zero_point = a->output_zero_point;
  desc.relu = a->relu;
  if (a->has_output_min) desc.output_min = a->output_min;
  if (a->has_output_max) desc.output_max = a->output_max;
  qk_linear* op = NULL;
  qk_status status = qk_linear_create(&desc, &op);
  if (status != QK_SUCCESS) return library_error(status, f);
  const size_t shape[2] = {d->x.shape[0], d->w.shape[0]};
  char error[QK_NPY_ERROR_SIZE];
  int s = EXIT_OK;
  if (!qk_npy_alloc(&d->y, d->x.dtype, 2, shape, error, sizeof(error))) {
    s = fail(f, EXIT_ERROR, "output %s: %s", a->output, error);
  } else if ((status = qk_linear_run(op, shape[0], d->x.data, d->y.data, NULL)) != QK_SUCCESS) {
    s = library_error(status, f);
  }
  qk_linear_delete(op);
  return s;
}

int run_linear(int argc, char** argv, failure* f) {
  linear_args a;
  bool help;
  int s = linear_parse(argc, argv, &a, &help, f);
  if (s != EXIT_OK) return s;
  if (help) {
    fputs(k_linear_help, stdout);
    printf("\nMODE (--numerics): %s\n(docs/ops-linear.md says how each mode computes a linear)\n",
           numerics_modes());
    return EXIT_OK;
  }
  linear_data d;
  memset(&d, 0, sizeof(d));
  if (!(s = linear_load_arrays(&a, &d, f)) && !(s = linear_compute(&a, &d, f))) {
    s = save(a.output, &d.y, f);
  }
  linear_data_free(&d);
  return s;
}
