/* qk conv2d: a quantized 2-D convolution of .npy arrays (docs/cli.md). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* ---------------------------------------------------------------------------------------------
 * qk conv2d
 * ------------------------------------------------------------------------------------------- */
static const char k_conv2d_help[] =
    "usage: qk conv2d --input X.npy --weight W.npy [--bias B.npy] --output Y.npy\n"
    "         [--stride S|SH,SW] [--padding P|PH,PW|T,L,B,R] [--dilation D|DH,DW] [--groups G]\n"
    "         --input-scale F --input-zero-point I\n"
    "         (--weight-scale F --weight-zero-point I | --weight-scales WS.npy\n"
    "          [--weight-zero-points WZ.npy])\n"
    "         --output-scale F --output-zero-point I [--relu] [--output-min I] [--output-max I]\n"
#ifdef QK_WEIGHT_QUANTIZATION_API
    "         [--weight-quantization per-tensor|per-channel]\n"
#endif
    "         --numerics MODE\n"
    "\n"
    "Quantized 2-D convolution with the exact integer results of the chosen framework.\n"
    "  X   uint8 or int8, NCHW                  Y   written with X's dtype, NCHW\n"
    "  W   int8, OIHW with I = C / groups       B   [O] float32 (PyTorch modes) or int32\n"
    "  WS  [O] float32 or float64 scales            (onnxruntime, tflite, xnnpack)\n"
    "  WZ  [O] int32 or int64, in [-128, 127] (default 0)\n"
    "WS and WZ may also hold one value (shape () or (1,)) for every channel: ONNX's per-tensor\n"
    "scale and zero point. Arrays may be C or Fortran order. Scales on the command line are\n"
    "float32 values (decimal or hex text).\n"
    "Padding: P pads all sides; PH,PW pads top and bottom by PH, left and right by PW;\n"
    "T,L,B,R pads each side (top, left, bottom, right, as ONNX's pads; TFLite SAME with an odd\n"
    "total puts the extra row/column at the bottom/right). Defaults: stride 1, padding 0,\n"
    "dilation 1, groups 1. --relu clamps outputs below the output zero point; --output-min /\n"
    "--output-max clamp the quantized output to [min, max] (ReLU6, TFLite's activation range),\n"
    "values in X's dtype.\n"
#ifdef QK_WEIGHT_QUANTIZATION_API
    "--weight-quantization says whether the weights are per tensor or per output channel. By\n"
    "default a WS or WZ file of shape (O,) is per channel (also for O = 1, as PyTorch's\n"
    "q_per_channel_scales), anything else per tensor; per-channel with one value repeats it.\n"
#endif
    "\n"
    "exit status: 0 success; 2 bad command line (unknown, missing or repeated option, malformed\n"
    "or out-of-range number); 1 any other error (unreadable or invalid file, wrong dtype or\n"
    "shape, arrays that do not match, configuration refused by the library). Every error is one\n"
    "line on stderr, and no output file is written; an interrupted write (SIGINT, SIGTERM,\n"
    "SIGHUP) leaves no partial file.\n";

enum {
  CONV_INPUT,
  CONV_WEIGHT,
  CONV_BIAS,
  CONV_OUTPUT,
  CONV_STRIDE,
  CONV_PADDING,
  CONV_DILATION,
  CONV_GROUPS,
  CONV_INPUT_SCALE,
  CONV_INPUT_ZP,
  CONV_WEIGHT_SCALE,
  CONV_WEIGHT_ZP,
  CONV_WEIGHT_SCALES,
  CONV_WEIGHT_ZPS,
  CONV_OUTPUT_SCALE,
  CONV_OUTPUT_ZP,
  CONV_RELU,
  CONV_OUTPUT_MIN,
  CONV_OUTPUT_MAX,
  CONV_NUMERICS,
#ifdef QK_WEIGHT_QUANTIZATION_API
  CONV_WEIGHT_QUANTIZATION,
#endif
  CONV_OPTION_COUNT
};

static const option_spec k_conv2d_options[CONV_OPTION_COUNT] = {
    [CONV_INPUT] = {"input", true},
    [CONV_WEIGHT] = {"weight", true},
    [CONV_BIAS] = {"bias", true},
    [CONV_OUTPUT] = {"output", true},
    [CONV_STRIDE] = {"stride", true},
    [CONV_PADDING] = {"padding", true},
    [CONV_DILATION] = {"dilation", true},
    [CONV_GROUPS] = {"groups", true},
    [CONV_INPUT_SCALE] = {"input-scale", true},
    [CONV_INPUT_ZP] = {"input-zero-point", true},
    [CONV_WEIGHT_SCALE] = {"weight-scale", true},
    [CONV_WEIGHT_ZP] = {"weight-zero-point", true},
    [CONV_WEIGHT_SCALES] = {"weight-scales", true},
    [CONV_WEIGHT_ZPS] = {"weight-zero-points", true},
    [CONV_OUTPUT_SCALE] = {"output-scale", true},
    [CONV_OUTPUT_ZP] = {"output-zero-point", true},
    [CONV_RELU] = {"relu", false},
    [CONV_OUTPUT_MIN] = {"output-min", true},
    [CONV_OUTPUT_MAX] = {"output-max", true},
    [CONV_NUMERICS] = {"numerics", true},
#ifdef QK_WEIGHT_QUANTIZATION_API
    [CONV_WEIGHT_QUANTIZATION] = {"weight-quantization", true},
#endif
};

/* Geometry options are bounded by int32 so every product the library forms stays checkable. */
#define MAX_GEOMETRY 2147483647LL

/* How the weights are quantized: from the files' shapes unless --weight-quantization says. */
typedef enum weight_granularity {
  WEIGHTS_FROM_SHAPES = 0,
  WEIGHTS_PER_TENSOR = 1,
  WEIGHTS_PER_CHANNEL = 2,
} weight_granularity;

/* Everything the command line says, checked on its own (no file opened yet). */
typedef struct conv2d_args {
  const char *input, *weight, *bias, *output, *weight_scales, *weight_zero_points;
  size_t stride[2], padding[4] /* top, left, bottom, right */, dilation[2], groups;
  float input_scale, weight_scale, output_scale;
  int32_t input_zero_point, weight_zero_point, output_zero_point;
  bool relu;
  bool has_output_min, has_output_max;
  int32_t output_min, output_max;
  weight_granularity weights;
  qk_numerics numerics;
} conv2d_args;

static int conv2d_check_weight_options(const parsed_options* o, failure* f) {
  const bool per_tensor = o->value[CONV_WEIGHT_SCALE] != NULL;
  const bool per_channel = o->value[CONV_WEIGHT_SCALES] != NULL;
  if (per_tensor && per_channel) {
    return fail(f, EXIT_USAGE, "give either --weight-scale or --weight-scales, not both");
  }
  if (!per_tensor && !per_channel) {
    return fail(f, EXIT_USAGE, "missing option --weight-scale (or --weight-scales)");
  }
  if (per_tensor && o->value[CONV_WEIGHT_ZP] == NULL) {
    return fail(f, EXIT_USAGE, "missing option --weight-zero-point (needed with --weight-scale)");
  }
  if (per_tensor && o->value[CONV_WEIGHT_ZPS] != NULL) {
    return fail(f, EXIT_USAGE,
                "--weight-zero-points goes with --weight-scales, not --weight-scale");
  }
  if (per_channel && o->value[CONV_WEIGHT_ZP] != NULL) {
    return fail(f, EXIT_USAGE, "--weight-zero-point goes with --weight-scale, not --weight-scales");
  }
  return EXIT_OK;
}

static int conv2d_parse_geometry(const parsed_options* o, conv2d_args* a, failure* f) {
  const char* const* v = o->value;
  a->stride[0] = a->stride[1] = a->dilation[0] = a->dilation[1] = 1;
  long long groups = 1;
  int s;
  if ((v[CONV_STRIDE] &&
       (s = parse_pair("stride", v[CONV_STRIDE], 1, MAX_GEOMETRY, a->stride, f))) ||
      (v[CONV_PADDING] && (s = parse_padding(v[CONV_PADDING], MAX_GEOMETRY, a->padding, f))) ||
      (v[CONV_DILATION] &&
       (s = parse_pair("dilation", v[CONV_DILATION], 1, MAX_GEOMETRY, a->dilation, f))) ||
      (v[CONV_GROUPS] && (s = parse_int("groups", v[CONV_GROUPS], 1, MAX_GEOMETRY, &groups, f)))) {
    return s;
  }
  a->groups = (size_t)groups;
  return EXIT_OK;
}

/* --output-min / --output-max: any 8-bit value here, checked against X's dtype once X is read. */
static int conv2d_parse_output_range(const parsed_options* o, conv2d_args* a, failure* f) {
  const char* const* v = o->value;
  int s;
  a->has_output_min = v[CONV_OUTPUT_MIN] != NULL;
  a->has_output_max = v[CONV_OUTPUT_MAX] != NULL;
  if ((a->has_output_min &&
       (s = parse_int32("output-min", v[CONV_OUTPUT_MIN], -128, 255, &a->output_min, f))) ||
      (a->has_output_max &&
       (s = parse_int32("output-max", v[CONV_OUTPUT_MAX], -128, 255, &a->output_max, f)))) {
    return s;
  }
  if (a->has_output_min && a->has_output_max && a->output_min > a->output_max) {
    return fail(f, EXIT_USAGE, "--output-min %d is greater than --output-max %d (an empty range)",
                (int)a->output_min, (int)a->output_max);
  }
  return EXIT_OK;
}

static int conv2d_parse_weight_quantization(const parsed_options* o, conv2d_args* a, failure* f) {
  a->weights = WEIGHTS_FROM_SHAPES;
#ifdef QK_WEIGHT_QUANTIZATION_API
  const char* text = o->value[CONV_WEIGHT_QUANTIZATION];
  if (text == NULL) return EXIT_OK;
  if (strcmp(text, "per-tensor") == 0) {
    a->weights = WEIGHTS_PER_TENSOR;
  } else if (strcmp(text, "per-channel") == 0) {
    a->weights = WEIGHTS_PER_CHANNEL;
  } else {
    return fail(f, EXIT_USAGE, "--weight-quantization '%s' is not per-tensor or per-channel", text);
  }
#else
  (void)o;
  (void)f;
#endif
  return EXIT_OK;
}

/* Zero points are checked against X's dtype once X is read; here, against any 8-bit type. */
static int conv2d_parse_quantization(const parsed_options* o, conv2d_args* a, failure* f) {
  const char* const* v = o->value;
  int s;
  if ((s = parse_numerics(v[CONV_NUMERICS], &a->numerics, f)) ||
      (s = parse_scale("input-scale", v[CONV_INPUT_SCALE], &a->input_scale, f)) ||
      (s = parse_int32("input-zero-point", v[CONV_INPUT_ZP], -128, 255, &a->input_zero_point, f)) ||
      (s = parse_scale("output-scale", v[CONV_OUTPUT_SCALE], &a->output_scale, f)) ||
      (s = parse_int32("output-zero-point", v[CONV_OUTPUT_ZP], -128, 255, &a->output_zero_point,
                       f)) ||
      (v[CONV_WEIGHT_SCALE] &&
       (s = parse_scale("weight-scale", v[CONV_WEIGHT_SCALE], &a->weight_scale, f))) ||
      (v[CONV_WEIGHT_ZP] && (s = parse_int32("weight-zero-point", v[CONV_WEIGHT_ZP], -128, 127,
                                             &a->weight_zero_point, f))) ||
      (s = conv2d_parse_output_range(o, a, f)) || (s = conv2d_parse_weight_quantization(o, a, f))) {
    return s;
  }
  return EXIT_OK;
}

static int conv2d_parse(int argc, char** argv, conv2d_args* a, bool* help, failure* f) {
  const option_spec* specs = k_conv2d_options;
  parsed_options o;
  int s = parse_options(argc, argv, specs, CONV_OPTION_COUNT, &o, f);
  *help = o.help;
  if (s != EXIT_OK || o.help) return s;
  static const int required[] = {CONV_INPUT,    CONV_WEIGHT,       CONV_OUTPUT,    CONV_INPUT_SCALE,
                                 CONV_INPUT_ZP, CONV_OUTPUT_SCALE, CONV_OUTPUT_ZP, CONV_NUMERICS};
  for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++) {
    if ((s = require(&o, specs, required[i], f)) != EXIT_OK) return s;
  }
  if ((s = conv2d_check_weight_options(&o, f)) != EXIT_OK) return s;

  memset(a, 0, sizeof(*a));
  a->input = o.value[CONV_INPUT];
  a->weight = o.value[CONV_WEIGHT];
  a->bias = o.value[CONV_BIAS];
  a->output = o.value[CONV_OUTPUT];
  a->weight_scales = o.value[CONV_WEIGHT_SCALES];
  a->weight_zero_points = o.value[CONV_WEIGHT_ZPS];
  a->relu = o.value[CONV_RELU] != NULL;
  if ((s = conv2d_parse_geometry(&o, a, f)) != EXIT_OK) return s;
  return conv2d_parse_quantization(&o, a, f);
}

/* Every array of one conv2d run, owned here and freed in one place. X is only opened (its
 * header read) until its data goes straight into the NHWC buffer the library runs on; Y is
 * written from its NHWC buffer as NCHW: no NCHW copy of either is ever made. */
typedef struct conv2d_data {
  qk_npy_file* x_file;
  qk_npy_array x; /* the header: dtype and shape, no data */
  qk_npy_array w, b, ws, wz;
  size_t weight_count; /* 1 (per tensor) or O: the lengths of the two arrays below */
  bool per_channel;
  double* weight_scales;
  int32_t* weight_zero_points;
  size_t y_shape[4]; /* N, O, OH, OW */
  uint8_t *x_nhwc, *y_nhwc;
} conv2d_data;

static void conv2d_data_free(conv2d_data* d) {
  qk_npy_close_file(d->x_file);
  qk_npy_free(&d->w);
  qk_npy_free(&d->b);
  qk_npy_free(&d->ws);
  qk_npy_free(&d->wz);
  free(d->weight_scales);
  free(d->weight_zero_points);
  free(d->x_nhwc);
  free(d->y_nhwc);
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

/* X's dtype: the hint depends on what was saved instead. */
static int conv2d_check_input_dtype(const char* path, const qk_npy_array* x, failure* f) {
  if (x->dtype == QK_NPY_U8 || x->dtype == QK_NPY_I8) return EXIT_OK;
  if (is_float(x->dtype)) {
    return wrong_dtype(path, "input", x, "uint8 or int8", NULL,
                       "it holds real values, quantize it first (qk quantize --dtype u8 or s8)", f);
  }
  return wrong_dtype(path, "input", x, "uint8 or int8", "uint8",
                     "(or np.int8 for signed activations) if the values fit", f);
}

/* X (header only) and W: dtypes, ranks, and the channel relations with --groups. */
static int conv2d_load_input_and_weight(const conv2d_args* a, conv2d_data* d, failure* f) {
  char error[QK_NPY_ERROR_SIZE];
  if (!qk_npy_open_file(a->input, &d->x_file, &d->x, error, sizeof(error))) {
    return fail(f, EXIT_ERROR, "%s", error);
  }
  int s;
  if ((s = load(a->weight, &d->w, f)) || (s = conv2d_check_input_dtype(a->input, &d->x, f))) {
    return s;
  }
  if (d->w.dtype != QK_NPY_I8) {
    return wrong_dtype(a->weight, "weight", &d->w, "int8", is_float(d->w.dtype) ? NULL : "int8",
                       is_float(d->w.dtype)
                           ? "it holds real values, quantize it first (qk quantize --dtype s8)"
                           : "if the values fit in [-128, 127]",
                       f);
  }
  if ((s = require_rank(a->input, "input", &d->x, 4, "NCHW", f)) ||
      (s = require_rank(a->weight, "weight", &d->w, 4, "OIHW", f)) ||
      (s = check_value_for("input-zero-point", a->input_zero_point, d->x.dtype, a->input, f)) ||
      (s = check_value_for("output-zero-point", a->output_zero_point, d->x.dtype, a->input, f)) ||
      (a->has_output_min &&
       (s = check_value_for("output-min", a->output_min, d->x.dtype, a->input, f))) ||
      (a->has_output_max &&
       (s = check_value_for("output-max", a->output_max, d->x.dtype, a->input, f)))) {
    return s;
  }
  const size_t c = d->x.shape[1], o = d->w.shape[0], g = a->groups;
  if (c % g != 0) {
    return fail(f, EXIT_ERROR, "--groups %zu does not divide the %zu input channels of %s", g, c,
                a->input);
  }
  if (o % g != 0) {
    return fail(f, EXIT_ERROR, "--groups %zu does not divide the %zu output channels of %s", g, o,
                a->weight);
  }
  if (d->w.shape[1] != c / g) {
    return fail(f, EXIT_ERROR,
                "%s: the weight has %zu input channels per group (dimension 1), the input %s "
                "has %zu channels / %zu groups = %zu",
                a->weight, d->w.shape[1], a->input, c, g, c / g);
  }
  return EXIT_OK;
}

static bool int_bias_mode(qk_numerics numerics) {
  /* The modes whose framework adds an int32 bias: every mode but PyTorch's fbgemm, qnnpack and
   * onednn, which take the float bias of the float module. */
  const char* name = qk_numerics_name(numerics);
  return name != NULL && strncmp(name, "pytorch-", 8) != 0;
}

static int conv2d_load_bias(const conv2d_args* a, conv2d_data* d, failure* f) {
  const size_t o = d->w.shape[0];
  const bool int_bias = int_bias_mode(a->numerics);
  int s;
  if ((s = load(a->bias, &d->b, f))) return s;
  if (d->b.dtype != (int_bias ? QK_NPY_I32 : QK_NPY_F32)) {
    char expected[96];
    snprintf(expected, sizeof(expected), "%s with --numerics %s", int_bias ? "int32" : "float32",
             qk_numerics_name(a->numerics));
    const bool convertible = int_bias ? !is_float(d->b.dtype) : is_float(d->b.dtype);
    return wrong_dtype(a->bias, "bias", &d->b, expected,
                       convertible ? (int_bias ? "int32" : "float32") : NULL,
                       convertible ? NULL
                       : int_bias  ? "this mode adds the quantized bias (float bias / (input "
                                     "scale * weight scale), rounded)"
                                   : "this mode adds the float bias of the float module",
                       f);
  }
  return require_vector(a->bias, "bias", &d->b, o, "the output channel count O", f);
}

/* Per tensor or per channel: --weight-quantization if given, else a WS or WZ file of shape (O,)
 * is per channel and anything else (a command-line value, shape () or (1,) with O > 1) per
 * tensor. Per tensor needs one value of each; per channel repeats a single value. */
static int conv2d_weight_granularity(const conv2d_args* a, conv2d_data* d, failure* f) {
  const size_t o = d->w.shape[0];
  const bool ws_per_channel = a->weight_scales && d->ws.ndim == 1 && d->ws.shape[0] == o;
  const bool wz_per_channel = a->weight_zero_points && d->wz.ndim == 1 && d->wz.shape[0] == o;
  d->per_channel = a->weights == WEIGHTS_FROM_SHAPES ? ws_per_channel || wz_per_channel
                                                     : a->weights == WEIGHTS_PER_CHANNEL;
  if (a->weights == WEIGHTS_PER_TENSOR) {
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
  d->weight_count = d->per_channel ? o : 1;
  return EXIT_OK;
}

/* B, WS, WZ: optional vectors of length O (WS and WZ: or one value), then the weights'
 * per-tensor or per-channel parameters. */
static int conv2d_load_vectors(const conv2d_args* a, conv2d_data* d, failure* f) {
  const size_t o = d->w.shape[0];
  int s;
  if (a->bias && (s = conv2d_load_bias(a, d, f))) return s;
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
  if ((s = conv2d_weight_granularity(a, d, f))) return s;
  const size_t n = d->weight_count;
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

static void conv2d_fill_desc(const conv2d_args* a, const conv2d_data* d, qk_conv2d_desc* desc) {
  qk_conv2d_desc_init(desc);
  desc->numerics = a->numerics;
  desc->input_channels = d->x.shape[1];
  desc->output_channels = d->w.shape[0];
  desc->groups = a->groups;
  desc->kernel_height = d->w.shape[2];
  desc->kernel_width = d->w.shape[3];
  desc->stride_height = a->stride[0];
  desc->stride_width = a->stride[1];
  desc->dilation_height = a->dilation[0];
  desc->dilation_width = a->dilation[1];
  desc->padding_top = a->padding[0];
  desc->padding_left = a->padding[1];
  desc->padding_bottom = a->padding[2];
  desc->padding_right = a->padding[3];
  desc->input_type = d->x.dtype == QK_NPY_U8 ? QK_DTYPE_U8 : QK_DTYPE_S8;
  desc->input_scale = a->input_scale;
  desc->input_zero_point = a->input_zero_point;
  desc->weights = (const int8_t*)d->w.data;
  desc->weight_scale_count = d->weight_count;
  desc->weight_scales = d->weight_scales;
  desc->weight_zero_points = d->weight_zero_points;
#ifdef QK_WEIGHT_QUANTIZATION_API
  desc->weight_quantization =
      d->per_channel ? QK_WEIGHT_QUANTIZATION_PER_CHANNEL : QK_WEIGHT_QUANTIZATION_PER_TENSOR;
#endif
  if (a->bias) {
    desc->bias_type = d->b.dtype == QK_NPY_I32 ? QK_DTYPE_S32 : QK_DTYPE_F32;
    desc->bias = d->b.data;
  }
  desc->output_type = desc->input_type;
  desc->output_scale = a->output_scale;
  desc->output_zero_point = a->output_zero_point;
  desc->relu = a->relu;
  if (a->has_output_min) desc->output_min = a->output_min;
  if (a->has_output_max) desc->output_max = a->output_max;
}

/* Creates the operator, reads X's data straight into NHWC (the file's [n][c][h][w] goes to
 * [n][h][w][c]), runs, and leaves Y in NHWC in d->y_nhwc. */
static int conv2d_compute(const conv2d_args* a, conv2d_data* d, failure* f) {
  qk_conv2d_desc desc;
  conv2d_fill_desc(a, d, &desc);
  qk_conv2d* op = NULL;
  qk_status status = qk_conv2d_create(&desc, &op);
  if (status != QK_SUCCESS) return library_error(status, f);

  const size_t n = d->x.shape[0], c = d->x.shape[1], h = d->x.shape[2], w = d->x.shape[3];
  const size_t o = d->w.shape[0];
  size_t oh = 0, ow = 0, y_count = 0;
  int s = EXIT_OK;
  char error[QK_NPY_ERROR_SIZE];
  const size_t nhwc_strides[4] = {h * w * c, 1, w * c, c}; /* no overflow: X's size fits */
  if ((status = qk_conv2d_output_size(op, h, w, &oh, &ow)) != QK_SUCCESS) {
    s = library_error(status, f);
  } else if (__builtin_mul_overflow(n, o, &y_count) ||
             __builtin_mul_overflow(y_count, oh, &y_count) ||
             __builtin_mul_overflow(y_count, ow, &y_count)) {
    s = fail(f, EXIT_ERROR, "output %s: an array of %zu x %zu x %zu x %zu is too large", a->output,
             n, o, oh, ow);
  } else if ((d->x_nhwc = malloc(d->x.bytes + 1)) == NULL ||
             (d->y_nhwc = malloc(y_count + 1)) == NULL) {
    s = fail(f, EXIT_ERROR, "out of memory");
  } else if (!qk_npy_read_data(d->x_file, d->x_nhwc, nhwc_strides, error, sizeof(error))) {
    s = fail(f, EXIT_ERROR, "%s", error);
  } else {
    qk_npy_close_file(d->x_file);
    d->x_file = NULL;
    status = qk_conv2d_run(op, n, h, w, d->x_nhwc, d->y_nhwc, NULL);
    if (status != QK_SUCCESS) s = library_error(status, f);
    d->y_shape[0] = n;
    d->y_shape[1] = o;
    d->y_shape[2] = oh;
    d->y_shape[3] = ow;
  }
  qk_conv2d_delete(op);
  free(d->x_nhwc); /* not needed any more: the output is written with one buffer less */
  d->x_nhwc = NULL;
  return s;
}

/* Y from its NHWC buffer, as the NCHW array [n][o][oh][ow] = y_nhwc[((n * OH + oh) * OW + ow) * O
 * + o], through a bounded buffer. */
static int conv2d_save(const conv2d_args* a, const conv2d_data* d, failure* f) {
  const size_t o = d->y_shape[1], oh = d->y_shape[2], ow = d->y_shape[3];
  const size_t strides[4] = {oh * ow * o, 1, ow * o, o};
  char error[QK_NPY_ERROR_SIZE];
  if (!qk_npy_write_file_strided(a->output, d->x.dtype, 4, d->y_shape, d->y_nhwc, strides, error,
                                 sizeof(error))) {
    return fail(f, EXIT_ERROR, "%s", error);
  }
  return EXIT_OK;
}

int run_conv2d(int argc, char** argv, failure* f) {
  conv2d_args a;
  bool help;
  int s = conv2d_parse(argc, argv, &a, &help, f);
  if (s != EXIT_OK) return s;
  if (help) {
    fputs(k_conv2d_help, stdout);
    printf(
        "\nMODE (--numerics): %s\n(docs/numerics.md says which mode reproduces which framework "
        "and version)\n",
        numerics_modes());
    return EXIT_OK;
  }
  conv2d_data d;
  memset(&d, 0, sizeof(d));
  if (!(s = conv2d_load_input_and_weight(&a, &d, f)) && !(s = conv2d_load_vectors(&a, &d, f)) &&
      !(s = conv2d_compute(&a, &d, f))) {
    s = conv2d_save(&a, &d, f);
  }
  conv2d_data_free(&d);
  return s;
}
