/* qk — the command-line front end of the qk library: run a quantized conv2d, quantize or
 * dequantize on .npy files, and show what the library detected (docs/cli.md).
 *
 * Exit status: 0 success; 2 the command line itself is wrong (anything found without opening a
 * file: unknown, missing or repeated options, malformed or out-of-range numbers); 1 everything
 * else (unreadable or invalid files, arrays that do not fit each other or the options, library
 * errors, write errors). Every failure prints exactly one line on stderr and writes no output
 * file: the output is written last, through a temporary file that is renamed into place. */
#include "qk.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "npy.h"

enum { EXIT_OK = 0, EXIT_ERROR = 1, EXIT_USAGE = 2 };

/* The failure of a command: its exit status and its one-line message, printed once by main. */
typedef struct failure {
  char message[2048];
} failure;

__attribute__((format(printf, 3, 4))) static int fail(failure* f, int status, const char* format,
                                                      ...) {
  va_list args;
  va_start(args, format);
  vsnprintf(f->message, sizeof(f->message), format, args);
  va_end(args);
  return status;
}

/* Prints "qk <command>: <message>" as ONE line: control characters (a newline in a file name)
 * are shown as '?' so that scripts can rely on one line per failure. */
static void print_failure(const char* command, const char* message) {
  fprintf(stderr, "qk%s%s: ", command ? " " : "", command ? command : "");
  for (const char* p = message; *p; p++) fputc((unsigned char)*p < 0x20 ? '?' : *p, stderr);
  fputc('\n', stderr);
}

/* ---------------------------------------------------------------------------------------------
 * Options: "--name value" or "--name=value"; flags take no value. Each command declares a table
 * indexed by its own enum; the parser fills one value per entry (NULL = absent, "" = flag set).
 * ------------------------------------------------------------------------------------------- */
typedef struct option_spec {
  const char* name; /* without the leading "--" */
  bool takes_value;
} option_spec;

#define MAX_OPTIONS 24

typedef struct parsed_options {
  const char* value[MAX_OPTIONS];
  bool help;
} parsed_options;

static int find_option(const option_spec* specs, int count, const char* name, size_t len) {
  for (int i = 0; i < count; i++) {
    if (strlen(specs[i].name) == len && strncmp(specs[i].name, name, len) == 0) return i;
  }
  return -1;
}

static int parse_options(int argc, char** argv, const option_spec* specs, int count,
                         parsed_options* out, failure* f) {
  memset(out, 0, sizeof(*out));
  for (int i = 0; i < argc; i++) {
    const char* arg = argv[i];
    if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
      out->help = true;
      return EXIT_OK;
    }
    if (strncmp(arg, "--", 2) != 0 || arg[2] == '\0') {
      return fail(f, EXIT_USAGE, "unexpected argument '%s' (options start with --)", arg);
    }
    const char* name = arg + 2;
    const char* equals = strchr(name, '=');
    const size_t len = equals ? (size_t)(equals - name) : strlen(name);
    const int k = find_option(specs, count, name, len);
    if (k < 0) return fail(f, EXIT_USAGE, "unknown option '--%.*s'", (int)len, name);
    if (out->value[k] != NULL) return fail(f, EXIT_USAGE, "option --%s given twice", specs[k].name);
    if (!specs[k].takes_value) {
      if (equals) return fail(f, EXIT_USAGE, "option --%s takes no value", specs[k].name);
      out->value[k] = "";
      continue;
    }
    if (equals) {
      out->value[k] = equals + 1;
    } else if (i + 1 < argc && strncmp(argv[i + 1], "--", 2) != 0) {
      out->value[k] = argv[++i];
    } else {
      return fail(f, EXIT_USAGE, "option --%s needs a value", specs[k].name);
    }
    if (out->value[k][0] == '\0') {
      return fail(f, EXIT_USAGE, "option --%s has an empty value", specs[k].name);
    }
  }
  return EXIT_OK;
}

static int require(const parsed_options* o, const option_spec* specs, int k, failure* f) {
  if (o->value[k] == NULL) return fail(f, EXIT_USAGE, "missing option --%s", specs[k].name);
  return EXIT_OK;
}

/* ---------------------------------------------------------------------------------------------
 * Numbers from option text: the whole text must be the number, within the option's range.
 * ------------------------------------------------------------------------------------------- */
static bool starts_like_number(const char* text) {
  return text[0] != '\0' && text[0] != ' ' && text[0] != '\t' && text[0] != '\n';
}

/* A scale: float32 from its decimal (or hex) text, as the frameworks store it; positive, finite.
 * qk never calls setlocale, so the decimal point is '.' whatever the environment's locale. */
static int parse_scale(const char* option, const char* text, float* out, failure* f) {
  char* end;
  errno = 0;
  const float v = strtof(text, &end);
  if (!starts_like_number(text) || *end != '\0' || end == text) {
    return fail(f, EXIT_USAGE, "--%s '%s' is not a number", option, text);
  }
  if (errno == ERANGE || !isfinite(v) || !(v > 0.0f)) {
    return fail(f, EXIT_USAGE, "--%s %s must be a positive, finite float32 value", option, text);
  }
  *out = v;
  return EXIT_OK;
}

static int parse_int(const char* option, const char* text, long long min, long long max,
                     long long* out, failure* f) {
  char* end;
  errno = 0;
  const long long v = strtoll(text, &end, 10);
  if (!starts_like_number(text) || *end != '\0' || end == text) {
    return fail(f, EXIT_USAGE, "--%s '%s' is not an integer", option, text);
  }
  if (errno == ERANGE || v < min || v > max) {
    return fail(f, EXIT_USAGE, "--%s %s is outside [%lld, %lld]", option, text, min, max);
  }
  *out = v;
  return EXIT_OK;
}

static int parse_int32(const char* option, const char* text, int32_t min, int32_t max, int32_t* out,
                       failure* f) {
  long long v;
  const int status = parse_int(option, text, min, max, &v, f);
  if (status == EXIT_OK) *out = (int32_t)v;
  return status;
}

/* "N" (both values N) or "A,B", each an integer in [min, max]. */
static int parse_pair(const char* option, const char* text, long long min, long long max,
                      size_t out[2], failure* f) {
  const char* comma = strchr(text, ',');
  char first[64];
  const size_t first_len = comma ? (size_t)(comma - text) : strlen(text);
  if (first_len >= sizeof(first) || (comma && strchr(comma + 1, ','))) {
    return fail(f, EXIT_USAGE, "--%s '%s' must be N or N,M", option, text);
  }
  memcpy(first, text, first_len);
  first[first_len] = '\0';
  long long a, b;
  int status = parse_int(option, first, min, max, &a, f);
  if (status == EXIT_OK) status = parse_int(option, comma ? comma + 1 : first, min, max, &b, f);
  if (status != EXIT_OK) return status;
  out[0] = (size_t)a;
  out[1] = (size_t)b;
  return EXIT_OK;
}

static int parse_numerics(const char* text, qk_numerics* out, failure* f) {
  if (qk_numerics_from_name(text, out) != QK_SUCCESS) {
    return fail(f, EXIT_USAGE,
                "--numerics '%s' is not one of pytorch-fbgemm, pytorch-qnnpack, pytorch-onednn, "
                "onnxruntime, tflite",
                text);
  }
  return EXIT_OK;
}

/* ---------------------------------------------------------------------------------------------
 * Arrays
 * ------------------------------------------------------------------------------------------- */
static int load(const char* path, qk_npy_array* array, failure* f) {
  char error[QK_NPY_ERROR_SIZE];
  if (!qk_npy_read_file(path, array, error, sizeof(error))) return fail(f, EXIT_ERROR, "%s", error);
  return EXIT_OK;
}

static int save(const char* path, const qk_npy_array* array, failure* f) {
  char error[QK_NPY_ERROR_SIZE];
  if (!qk_npy_write_file(path, array, error, sizeof(error))) {
    return fail(f, EXIT_ERROR, "%s", error);
  }
  return EXIT_OK;
}

static void shape_text(const qk_npy_array* a, char* out, size_t size) {
  size_t len = (size_t)snprintf(out, size, "(");
  for (size_t i = 0; i < a->ndim && len < size; i++) {
    len += (size_t)snprintf(out + len, size - len, "%s%zu", i ? ", " : "", a->shape[i]);
  }
  if (len < size) snprintf(out + len, size - len, a->ndim == 1 ? ",)" : ")");
}

/* `what` names the role ("input", "bias"...) in messages. */
static int require_rank(const char* path, const char* what, const qk_npy_array* a, size_t ndim,
                        const char* layout, failure* f) {
  if (a->ndim != ndim) {
    char shape[256];
    shape_text(a, shape, sizeof(shape));
    return fail(f, EXIT_ERROR, "%s: the %s must be %zu-D %s, got shape %s", path, what, ndim,
                layout, shape);
  }
  return EXIT_OK;
}

static int require_vector(const char* path, const char* what, const qk_npy_array* a, size_t length,
                          const char* length_name, failure* f) {
  int status = require_rank(path, what, a, 1, "vector", f);
  if (status == EXIT_OK && a->shape[0] != length) {
    status = fail(f, EXIT_ERROR, "%s: the %s has %zu values, %s is %zu", path, what, a->shape[0],
                  length_name, length);
  }
  return status;
}

static int wrong_dtype(const char* path, const char* what, const qk_npy_array* a,
                       const char* expected, failure* f) {
  return fail(f, EXIT_ERROR, "%s: the %s must be %s, got %s", path, what, expected,
              qk_npy_dtype_name(a->dtype));
}

/* Zero points from an int32 or int64 vector, each in [min, max], as a new int32 array. */
static int zero_points_from(const char* path, const qk_npy_array* a, int32_t min, int32_t max,
                            const char* range_name, int32_t** out, failure* f) {
  if (a->dtype != QK_NPY_I32 && a->dtype != QK_NPY_I64) {
    return wrong_dtype(path, "zero points", a, "int32 or int64", f);
  }
  int32_t* zp = malloc((a->count ? a->count : 1) * sizeof(int32_t));
  if (zp == NULL) return fail(f, EXIT_ERROR, "out of memory");
  for (size_t i = 0; i < a->count; i++) {
    const int64_t v =
        a->dtype == QK_NPY_I32 ? ((const int32_t*)a->data)[i] : ((const int64_t*)a->data)[i];
    if (v < min || v > max) {
      free(zp);
      return fail(f, EXIT_ERROR, "%s: zero point [%zu] = %lld is outside the %s range [%d, %d]",
                  path, i, (long long)v, range_name, (int)min, (int)max);
    }
    zp[i] = (int32_t)v;
  }
  *out = zp;
  return EXIT_OK;
}

/* Scales from a float32 vector, widened to the double the API takes (exactly). */
static int scales_from(const char* path, const qk_npy_array* a, double** out, failure* f) {
  if (a->dtype != QK_NPY_F32) return wrong_dtype(path, "scales", a, "float32", f);
  double* s = malloc((a->count ? a->count : 1) * sizeof(double));
  if (s == NULL) return fail(f, EXIT_ERROR, "out of memory");
  for (size_t i = 0; i < a->count; i++) s[i] = ((const float*)a->data)[i];
  *out = s;
  return EXIT_OK;
}

static int library_error(qk_status status, failure* f) {
  return fail(f, EXIT_ERROR, "%s (%s)", qk_last_error(), qk_status_string(status));
}

/* [N][C][HW] <-> [N][HW][C] for 1-byte elements: the CLI speaks NCHW, the library NHWC. */
static void nchw_to_nhwc(const uint8_t* src, uint8_t* dst, size_t n, size_t c, size_t hw) {
  for (size_t b = 0; b < n; b++) {
    for (size_t ch = 0; ch < c; ch++) {
      for (size_t p = 0; p < hw; p++) dst[(b * hw + p) * c + ch] = src[(b * c + ch) * hw + p];
    }
  }
}

static void nhwc_to_nchw(const uint8_t* src, uint8_t* dst, size_t n, size_t c, size_t hw) {
  for (size_t b = 0; b < n; b++) {
    for (size_t ch = 0; ch < c; ch++) {
      for (size_t p = 0; p < hw; p++) dst[(b * c + ch) * hw + p] = src[(b * hw + p) * c + ch];
    }
  }
}

/* ---------------------------------------------------------------------------------------------
 * qk info
 * ------------------------------------------------------------------------------------------- */
static const char k_info_help[] =
    "usage: qk info\n"
    "\n"
    "Prints the library version, the CPU and its features, the ISAs compiled into the library,\n"
    "the ISA new operators use and why. QK_ISA=<name> forces an ISA; an invalid QK_ISA makes\n"
    "'qk info' print the reason on stderr and exit 1.\n"
    "\n"
    "exit status: 0 success, 1 QK_ISA is invalid, 2 bad command line\n";

static int run_info(int argc, char** argv, failure* f) {
  parsed_options o;
  int status = parse_options(argc, argv, NULL, 0, &o, f);
  if (status != EXIT_OK) return status;
  if (o.help) {
    fputs(k_info_help, stdout);
    return EXIT_OK;
  }
  const char* isa = qk_get_isa(); /* NULL when QK_ISA names an ISA that cannot be used */
  const char* why = qk_isa_reason();
  printf("version: %s\n", qk_version_string());
  printf("cpu: %s\n", qk_cpu_name());
  printf("cpu features: %s\n", qk_cpu_features());
  printf("compiled isas: %s\n", qk_compiled_isas());
  printf("selected isa: %s\n", isa ? isa : "none");
  printf("reason: %s\n", why);
  if (isa == NULL) return fail(f, EXIT_ERROR, "%s", why);
  return EXIT_OK;
}

/* ---------------------------------------------------------------------------------------------
 * qk conv2d
 * ------------------------------------------------------------------------------------------- */
static const char k_conv2d_help[] =
    "usage: qk conv2d --input X.npy --weight W.npy [--bias B.npy] --output Y.npy\n"
    "         [--stride S|SH,SW] [--padding P|PH,PW] [--dilation D|DH,DW] [--groups G]\n"
    "         --input-scale F --input-zero-point I\n"
    "         (--weight-scale F --weight-zero-point I | --weight-scales WS.npy\n"
    "          [--weight-zero-points WZ.npy])\n"
    "         --output-scale F --output-zero-point I [--relu]\n"
    "         --numerics pytorch-fbgemm|pytorch-qnnpack|pytorch-onednn|onnxruntime|tflite\n"
    "\n"
    "Quantized 2-D convolution with the exact integer results of the chosen framework.\n"
    "  X   uint8 or int8, NCHW                  Y   written with X's dtype, NCHW\n"
    "  W   int8, OIHW with I = C / groups       B   [O] float32 (PyTorch modes) or int32\n"
    "  WS  [O] float32 per-channel scales            (onnxruntime, tflite)\n"
    "  WZ  [O] int32 or int64, in [-128, 127] (default 0)\n"
    "Scales are float32 values (decimal or hex text). Padding is symmetric: P pads all sides,\n"
    "PH,PW pads top and bottom by PH, left and right by PW. Defaults: stride 1, padding 0,\n"
    "dilation 1, groups 1. --relu clamps outputs below the output zero point.\n"
    "\n"
    "exit status: 0 success; 2 bad command line (unknown, missing or repeated option, malformed\n"
    "or out-of-range number); 1 any other error (unreadable or invalid file, wrong dtype or\n"
    "shape, arrays that do not match, configuration refused by the library). Every error is one\n"
    "line on stderr, and no output file is written.\n";

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
  CONV_NUMERICS,
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
    [CONV_NUMERICS] = {"numerics", true},
};

/* Geometry options are bounded by int32 so every product the library forms stays checkable. */
#define MAX_GEOMETRY 2147483647LL

/* Everything the command line says, checked on its own (no file opened yet). */
typedef struct conv2d_args {
  const char *input, *weight, *bias, *output, *weight_scales, *weight_zero_points;
  size_t stride[2], padding[2], dilation[2], groups;
  float input_scale, weight_scale, output_scale;
  int32_t input_zero_point, weight_zero_point, output_zero_point;
  bool relu;
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
      (v[CONV_PADDING] &&
       (s = parse_pair("padding", v[CONV_PADDING], 0, MAX_GEOMETRY, a->padding, f))) ||
      (v[CONV_DILATION] &&
       (s = parse_pair("dilation", v[CONV_DILATION], 1, MAX_GEOMETRY, a->dilation, f))) ||
      (v[CONV_GROUPS] && (s = parse_int("groups", v[CONV_GROUPS], 1, MAX_GEOMETRY, &groups, f)))) {
    return s;
  }
  a->groups = (size_t)groups;
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
                                             &a->weight_zero_point, f)))) {
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

/* Every array of one conv2d run, owned here and freed in one place. */
typedef struct conv2d_data {
  qk_npy_array x, w, b, ws, wz, y;
  double* weight_scales;
  int32_t* weight_zero_points;
  uint8_t *x_nhwc, *y_nhwc;
} conv2d_data;

static void conv2d_data_free(conv2d_data* d) {
  qk_npy_free(&d->x);
  qk_npy_free(&d->w);
  qk_npy_free(&d->b);
  qk_npy_free(&d->ws);
  qk_npy_free(&d->wz);
  qk_npy_free(&d->y);
  free(d->weight_scales);
  free(d->weight_zero_points);
  free(d->x_nhwc);
  free(d->y_nhwc);
}

static int check_zero_point_for(const char* option, int32_t zp, qk_npy_dtype dtype,
                                const char* path, failure* f) {
  const int32_t lo = dtype == QK_NPY_U8 ? 0 : -128, hi = dtype == QK_NPY_U8 ? 255 : 127;
  if (zp < lo || zp > hi) {
    return fail(f, EXIT_ERROR, "--%s %d is outside the %s range [%d, %d] of %s", option, (int)zp,
                qk_npy_dtype_name(dtype), (int)lo, (int)hi, path);
  }
  return EXIT_OK;
}

/* X and W: dtypes, ranks, and the channel relations with --groups. */
static int conv2d_load_input_and_weight(const conv2d_args* a, conv2d_data* d, failure* f) {
  int s;
  if ((s = load(a->input, &d->x, f)) || (s = load(a->weight, &d->w, f))) return s;
  if (d->x.dtype != QK_NPY_U8 && d->x.dtype != QK_NPY_I8) {
    return wrong_dtype(a->input, "input", &d->x, "uint8 or int8", f);
  }
  if (d->w.dtype != QK_NPY_I8) return wrong_dtype(a->weight, "weight", &d->w, "int8", f);
  if ((s = require_rank(a->input, "input", &d->x, 4, "NCHW", f)) ||
      (s = require_rank(a->weight, "weight", &d->w, 4, "OIHW", f)) ||
      (s = check_zero_point_for("input-zero-point", a->input_zero_point, d->x.dtype, a->input,
                                f)) ||
      (s = check_zero_point_for("output-zero-point", a->output_zero_point, d->x.dtype, a->input,
                                f))) {
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

/* B, WS, WZ: optional vectors of length O. */
static int conv2d_load_vectors(const conv2d_args* a, conv2d_data* d, failure* f) {
  const size_t o = d->w.shape[0];
  int s;
  if (a->bias) {
    const bool int_bias =
        a->numerics == QK_NUMERICS_ONNXRUNTIME || a->numerics == QK_NUMERICS_TFLITE;
    if ((s = load(a->bias, &d->b, f))) return s;
    if (d->b.dtype != (int_bias ? QK_NPY_I32 : QK_NPY_F32)) {
      char expected[96];
      snprintf(expected, sizeof(expected), "%s with --numerics %s", int_bias ? "int32" : "float32",
               qk_numerics_name(a->numerics));
      return wrong_dtype(a->bias, "bias", &d->b, expected, f);
    }
    if ((s = require_vector(a->bias, "bias", &d->b, o, "the output channel count O", f))) return s;
  }
  if (a->weight_scales) {
    if ((s = load(a->weight_scales, &d->ws, f)) ||
        (s = require_vector(a->weight_scales, "weight scales", &d->ws, o,
                            "the output channel count O", f)) ||
        (s = scales_from(a->weight_scales, &d->ws, &d->weight_scales, f))) {
      return s;
    }
  }
  if (a->weight_zero_points) {
    if ((s = load(a->weight_zero_points, &d->wz, f)) ||
        (s = require_vector(a->weight_zero_points, "weight zero points", &d->wz, o,
                            "the output channel count O", f)) ||
        (s = zero_points_from(a->weight_zero_points, &d->wz, -128, 127, "int8",
                              &d->weight_zero_points, f))) {
      return s;
    }
  }
  return EXIT_OK;
}

static void conv2d_fill_desc(const conv2d_args* a, const conv2d_data* d, const double* ws,
                             const int32_t* wz, qk_conv2d_desc* desc) {
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
  desc->padding_top = desc->padding_bottom = a->padding[0];
  desc->padding_left = desc->padding_right = a->padding[1];
  desc->input_type = d->x.dtype == QK_NPY_U8 ? QK_DTYPE_U8 : QK_DTYPE_S8;
  desc->input_scale = a->input_scale;
  desc->input_zero_point = a->input_zero_point;
  desc->weights = (const int8_t*)d->w.data;
  desc->weight_scale_count = d->weight_scales ? d->w.shape[0] : 1;
  desc->weight_scales = d->weight_scales ? d->weight_scales : ws;
  desc->weight_zero_points = d->weight_scales ? d->weight_zero_points : wz;
  if (a->bias) {
    desc->bias_type = d->b.dtype == QK_NPY_I32 ? QK_DTYPE_S32 : QK_DTYPE_F32;
    desc->bias = d->b.data;
  }
  desc->output_type = desc->input_type;
  desc->output_scale = a->output_scale;
  desc->output_zero_point = a->output_zero_point;
  desc->relu = a->relu;
}

/* Creates the operator, runs it on X (transposed to NHWC) and leaves Y (NCHW) in d->y. */
static int conv2d_compute(const conv2d_args* a, conv2d_data* d, failure* f) {
  const double weight_scale = a->weight_scale;
  const int32_t weight_zero_point = a->weight_zero_point;
  qk_conv2d_desc desc;
  conv2d_fill_desc(a, d, &weight_scale, &weight_zero_point, &desc);
  qk_conv2d* op = NULL;
  qk_status status = qk_conv2d_create(&desc, &op);
  if (status != QK_SUCCESS) return library_error(status, f);

  const size_t n = d->x.shape[0], c = d->x.shape[1], h = d->x.shape[2], w = d->x.shape[3];
  const size_t o = d->w.shape[0];
  size_t oh = 0, ow = 0;
  int s = EXIT_OK;
  char error[QK_NPY_ERROR_SIZE];
  if ((status = qk_conv2d_output_size(op, h, w, &oh, &ow)) != QK_SUCCESS) {
    s = library_error(status, f);
  } else if (!qk_npy_alloc(&d->y, d->x.dtype, 4, (const size_t[4]){n, o, oh, ow}, error,
                           sizeof(error))) {
    s = fail(f, EXIT_ERROR, "output %s: %s", a->output, error);
  } else if ((d->x_nhwc = malloc(d->x.bytes + 1)) == NULL ||
             (d->y_nhwc = malloc(d->y.bytes + 1)) == NULL) {
    s = fail(f, EXIT_ERROR, "out of memory");
  } else {
    nchw_to_nhwc(d->x.data, d->x_nhwc, n, c, h * w);
    status = qk_conv2d_run(op, n, h, w, d->x_nhwc, d->y_nhwc, NULL);
    if (status != QK_SUCCESS)
      s = library_error(status, f);
    else
      nhwc_to_nchw(d->y_nhwc, d->y.data, n, o, oh * ow);
  }
  qk_conv2d_delete(op);
  return s;
}

static int run_conv2d(int argc, char** argv, failure* f) {
  conv2d_args a;
  bool help;
  int s = conv2d_parse(argc, argv, &a, &help, f);
  if (s != EXIT_OK) return s;
  if (help) {
    fputs(k_conv2d_help, stdout);
    return EXIT_OK;
  }
  conv2d_data d;
  memset(&d, 0, sizeof(d));
  if (!(s = conv2d_load_input_and_weight(&a, &d, f)) && !(s = conv2d_load_vectors(&a, &d, f)) &&
      !(s = conv2d_compute(&a, &d, f))) {
    s = save(a.output, &d.y, f);
  }
  conv2d_data_free(&d);
  return s;
}

/* ---------------------------------------------------------------------------------------------
 * qk quantize / qk dequantize: the same options, the direction differs
 * ------------------------------------------------------------------------------------------- */
static const char k_quantize_help[] =
    "usage: qk quantize --input X.npy --output Q.npy --dtype u8|s8|s32\n"
    "         (--scale F --zero-point I | --scales S.npy [--zero-points Z.npy] --axis A)\n"
    "         [--numerics MODE]\n"
    "\n"
    "Quantizes a float32 array (any shape, C order) per tensor or along axis A (negative counts\n"
    "from the end), as the numerics mode's framework does:\n"
    "  PyTorch modes  q = clamp(round_half_even(x * (1 / scale)) + zero_point)\n"
    "  onnxruntime    q = round_half_even(clamp(x / scale, qmin - zp, qmax - zp)) + zp\n"
    "  tflite         q = clamp(round_half_away(x / scale) + zp)\n"
    "MODE defaults to pytorch-fbgemm (all PyTorch modes quantize alike). Q is uint8 (u8), int8\n"
    "(s8) or int32 (s32, PyTorch modes only). S: float32 [shape[A]]; Z: int32 or int64\n"
    "[shape[A]]. Scales are float32 values (decimal or hex text); NaN inputs are an error.\n"
    "\n"
    "exit status: 0 success; 2 bad command line; 1 any other error (one line on stderr, no\n"
    "output file).\n";

static const char k_dequantize_help[] =
    "usage: qk dequantize --input Q.npy --output X.npy\n"
    "         (--scale F --zero-point I | --scales S.npy [--zero-points Z.npy] --axis A)\n"
    "         [--numerics MODE]\n"
    "\n"
    "Dequantizes a uint8, int8 or int32 array (any shape, C order) to float32, per tensor or\n"
    "along axis A (negative counts from the end): x = scale * (q - zero_point) in float32\n"
    "(tflite: in double, rounded once to float32). MODE defaults to pytorch-fbgemm.\n"
    "S: float32 [shape[A]]; Z: int32 or int64 [shape[A]], in the range of Q's dtype.\n"
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

static int parse_dtype(const char* text, qk_dtype* out, failure* f) {
  if (strcmp(text, "u8") == 0)
    *out = QK_DTYPE_U8;
  else if (strcmp(text, "s8") == 0)
    *out = QK_DTYPE_S8;
  else if (strcmp(text, "s32") == 0)
    *out = QK_DTYPE_S32;
  else
    return fail(f, EXIT_USAGE, "--dtype '%s' is not one of u8, s8, s32", text);
  return EXIT_OK;
}

static void dtype_range(qk_dtype type, int32_t* lo, int32_t* hi) {
  *lo = type == QK_DTYPE_U8 ? 0 : type == QK_DTYPE_S8 ? -128 : INT32_MIN;
  *hi = type == QK_DTYPE_U8 ? 255 : type == QK_DTYPE_S8 ? 127 : INT32_MAX;
}

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
    return in->dtype == QK_NPY_F32 ? EXIT_OK : wrong_dtype(a->input, "input", in, "float32", f);
  }
  switch (in->dtype) {
    case QK_NPY_U8: a->dtype = QK_DTYPE_U8; break;
    case QK_NPY_I8: a->dtype = QK_DTYPE_S8; break;
    case QK_NPY_I32: a->dtype = QK_DTYPE_S32; break;
    default: return wrong_dtype(a->input, "input", in, "uint8, int8 or int32", f);
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
      (s = require_vector(a->scales, "scales", &d->s, channels, "the size of the axis", f)) ||
      (s = scales_from(a->scales, &d->s, &d->scales, f))) {
    return s;
  }
  if (a->zero_points && ((s = load(a->zero_points, &d->z, f)) ||
                         (s = require_vector(a->zero_points, "zero points", &d->z, channels,
                                             "the size of the axis", f)) ||
                         (s = zero_points_from(a->zero_points, &d->z, lo, hi,
                                               a->dtype == QK_DTYPE_U8   ? "uint8"
                                               : a->dtype == QK_DTYPE_S8 ? "int8"
                                                                         : "int32",
                                               &d->zero_points, f)))) {
    return s;
  }
  return EXIT_OK;
}

static qk_npy_dtype npy_dtype_of(qk_dtype type) {
  return type == QK_DTYPE_U8 ? QK_NPY_U8 : type == QK_DTYPE_S8 ? QK_NPY_I8 : QK_NPY_I32;
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

static int run_quantize(int argc, char** argv, failure* f) {
  return run_quant(argc, argv, true, f);
}
static int run_dequantize(int argc, char** argv, failure* f) {
  return run_quant(argc, argv, false, f);
}

/* ---------------------------------------------------------------------------------------------
 * main
 * ------------------------------------------------------------------------------------------- */
typedef struct command {
  const char* name;
  const char* summary;
  int (*run)(int argc, char** argv, failure* f);
} command;

static const command k_commands[] = {
    {"info", "show the library version, the CPU, and the ISA selected", run_info},
    {"conv2d", "quantized 2-D convolution of .npy arrays", run_conv2d},
    {"quantize", "quantize a float32 .npy array", run_quantize},
    {"dequantize", "dequantize a uint8/int8/int32 .npy array to float32", run_dequantize},
};
#define COMMAND_COUNT (sizeof(k_commands) / sizeof(k_commands[0]))

static void print_main_help(void) {
  printf("usage: qk <command> [options]    (qk <command> --help for its options)\n\ncommands:\n");
  for (size_t i = 0; i < COMMAND_COUNT; i++) {
    printf("  %-11s %s\n", k_commands[i].name, k_commands[i].summary);
  }
  printf(
      "\noptions:\n  --help      this text\n  --version   the version of qk\n"
      "\nexit status: 0 success, 1 error (invalid file, library error...), 2 bad command "
      "line.\nErrors are one line on stderr; a failed command writes no output file.\n"
      "Environment: QK_ISA=<isa> forces an ISA, QK_VERBOSE=1 logs each operator to stderr.\n");
}

int main(int argc, char** argv) {
  if (argc < 2) {
    print_failure(NULL, "missing command (try 'qk --help')");
    return EXIT_USAGE;
  }
  const char* name = argv[1];
  if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0 || strcmp(name, "help") == 0) {
    print_main_help();
    return EXIT_OK;
  }
  if (strcmp(name, "--version") == 0) {
    printf("qk %s\n", qk_version_string());
    return EXIT_OK;
  }
  for (size_t i = 0; i < COMMAND_COUNT; i++) {
    if (strcmp(name, k_commands[i].name) != 0) continue;
    failure f = {""};
    const int status = k_commands[i].run(argc - 2, argv + 2, &f);
    if (status != EXIT_OK) {
      const bool usage = status == EXIT_USAGE;
      char line[sizeof(f.message) + 64];
      snprintf(line, sizeof(line), "%s%s%s%s", f.message, usage ? " (see 'qk " : "",
               usage ? name : "", usage ? " --help')" : "");
      print_failure(name, line);
    }
    return status;
  }
  char message[256];
  snprintf(message, sizeof(message), "unknown command '%.100s' (try 'qk --help')", name);
  print_failure(NULL, message);
  return EXIT_USAGE;
}
