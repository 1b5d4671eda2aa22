/* qk add / qk mul: quantized elementwise add (add_relu) and mul of .npy arrays (docs/cli.md). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char k_add_help[] =
    "usage: qk add --a A.npy --a-scale F --a-zero-point I --b B.npy --b-scale F --b-zero-point I\n"
    "         --output Y.npy --output-scale F --output-zero-point I [--relu]\n"
    "         [--output-min I] [--output-max I] --numerics MODE\n"
    "\n"
    "Quantized y = a + b (add_relu with --relu) with the exact integers of the chosen framework.\n"
    "  A, B  uint8 or int8 (the same dtype), the same shape: NCHW (4-D) or any 1-D..3-D shape\n"
    "  Y     written with A's dtype and shape\n";

static const char k_mul_help[] =
    "usage: qk mul --a A.npy --a-scale F --a-zero-point I --b B.npy --b-scale F --b-zero-point I\n"
    "         --output Y.npy --output-scale F --output-zero-point I [--relu]\n"
    "         [--output-min I] [--output-max I] --numerics MODE\n"
    "\n"
    "Quantized y = a * b (mul_relu with --relu) with the exact integers of the chosen framework.\n"
    "  A     uint8 or int8, NCHW (4-D) or any 1-D..3-D shape\n"
    "  B     A's dtype; A's shape, or [N, C, 1, 1] with A NCHW (broadcast over the pixels, as\n"
    "        MobileNetV3's squeeze-and-excite multiplies)\n"
    "  Y     written with A's dtype and shape\n";

static const char k_common_help[] =
    "Scales on the command line are float32 values (decimal or hex text). --relu clamps outputs\n"
    "below the output zero point; --output-min / --output-max clamp the quantized output.\n"
    "Arrays may be C or Fortran order.\n"
    "\n"
    "exit status: 0 success; 2 bad command line (unknown, missing or repeated option, malformed\n"
    "or out-of-range number); 1 any other error (unreadable or invalid file, wrong dtype or\n"
    "shape, arrays that do not match, configuration refused by the library). Every error is one\n"
    "line on stderr, and no output file is written.\n";

enum {
  ELT_A,
  ELT_A_SCALE,
  ELT_A_ZP,
  ELT_B,
  ELT_B_SCALE,
  ELT_B_ZP,
  ELT_OUTPUT,
  ELT_OUTPUT_SCALE,
  ELT_OUTPUT_ZP,
  ELT_RELU,
  ELT_OUTPUT_MIN,
  ELT_OUTPUT_MAX,
  ELT_NUMERICS,
  ELT_OPTION_COUNT
};

static const option_spec k_elt_options[ELT_OPTION_COUNT] = {
    [ELT_A] = {"a", true},
    [ELT_A_SCALE] = {"a-scale", true},
    [ELT_A_ZP] = {"a-zero-point", true},
    [ELT_B] = {"b", true},
    [ELT_B_SCALE] = {"b-scale", true},
    [ELT_B_ZP] = {"b-zero-point", true},
    [ELT_OUTPUT] = {"output", true},
    [ELT_OUTPUT_SCALE] = {"output-scale", true},
    [ELT_OUTPUT_ZP] = {"output-zero-point", true},
    [ELT_RELU] = {"relu", false},
    [ELT_OUTPUT_MIN] = {"output-min", true},
    [ELT_OUTPUT_MAX] = {"output-max", true},
    [ELT_NUMERICS] = {"numerics", true},
};

typedef struct elt_args {
  const char *a, *b, *output;
  float a_scale, b_scale, output_scale;
  int32_t a_zero_point, b_zero_point, output_zero_point;
  bool relu, has_min, has_max;
  int32_t output_min, output_max;
  qk_numerics numerics;
} elt_args;

static int elt_parse(int argc, char** argv, elt_args* a, bool* help, failure* f) {
  parsed_options o;
  int s = parse_options(argc, argv, k_elt_options, ELT_OPTION_COUNT, &o, f);
  *help = o.help;
  if (s != EXIT_OK || o.help) return s;
  static const int required[] = {ELT_A,         ELT_A_SCALE, ELT_A_ZP,   ELT_B,
                                 ELT_B_SCALE,   ELT_B_ZP,    ELT_OUTPUT, ELT_OUTPUT_SCALE,
                                 ELT_OUTPUT_ZP, ELT_NUMERICS};
  for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++) {
    if ((s = require(&o, k_elt_options, required[i], f)) != EXIT_OK) return s;
  }
  memset(a, 0, sizeof(*a));
  const char* const* v = o.value;
  a->a = v[ELT_A];
  a->b = v[ELT_B];
  a->output = v[ELT_OUTPUT];
  a->relu = v[ELT_RELU] != NULL;
  a->has_min = v[ELT_OUTPUT_MIN] != NULL;
  a->has_max = v[ELT_OUTPUT_MAX] != NULL;
  if ((s = parse_numerics(v[ELT_NUMERICS], &a->numerics, f)) ||
      (s = parse_scale("a-scale", v[ELT_A_SCALE], &a->a_scale, f)) ||
      (s = parse_int32("a-zero-point", v[ELT_A_ZP], -128, 255, &a->a_zero_point, f)) ||
      (s = parse_scale("b-scale", v[ELT_B_SCALE], &a->b_scale, f)) ||
      (s = parse_int32("b-zero-point", v[ELT_B_ZP], -128, 255, &a->b_zero_point, f)) ||
      (s = parse_scale("output-scale", v[ELT_OUTPUT_SCALE], &a->output_scale, f)) ||
      (s = parse_int32("output-zero-point", v[ELT_OUTPUT_ZP], -128, 255, &a->output_zero_point,
                       f)) ||
      (a->has_min &&
       (s = parse_int32("output-min", v[ELT_OUTPUT_MIN], -128, 255, &a->output_min, f))) ||
      (a->has_max &&
       (s = parse_int32("output-max", v[ELT_OUTPUT_MAX], -128, 255, &a->output_max, f)))) {
    return s;
  }
  if (a->has_min && a->has_max && a->output_min > a->output_max) {
    return fail(f, EXIT_USAGE, "--output-min %d is greater than --output-max %d (an empty range)",
                (int)a->output_min, (int)a->output_max);
  }
  return EXIT_OK;
}

/* NCHW [N, C, H, W] <-> NHWC; other ranks are taken as flat (one pixel of `count` channels). */
static void to_nhwc(const uint8_t* src, uint8_t* dst, size_t n, size_t c, size_t hw) {
  for (size_t i = 0; i < n; i++) {
    for (size_t ch = 0; ch < c; ch++) {
      for (size_t p = 0; p < hw; p++) dst[(i * hw + p) * c + ch] = src[(i * c + ch) * hw + p];
    }
  }
}
static void to_nchw(const uint8_t* src, uint8_t* dst, size_t n, size_t c, size_t hw) {
  for (size_t i = 0; i < n; i++) {
    for (size_t ch = 0; ch < c; ch++) {
      for (size_t p = 0; p < hw; p++) dst[(i * c + ch) * hw + p] = src[(i * hw + p) * c + ch];
    }
  }
}

static int check_zp(const char* option, int32_t v, qk_dtype t, const char* path, failure* f) {
  int32_t lo, hi;
  dtype_range(t, &lo, &hi);
  if (v < lo || v > hi) {
    return fail(f, EXIT_ERROR, "--%s %d is outside the %s range [%d, %d] of %s", option, (int)v,
                t == QK_DTYPE_U8 ? "uint8" : "int8", (int)lo, (int)hi, path);
  }
  return EXIT_OK;
}

static int elt_run(int argc, char** argv, bool is_mul, failure* f) {
  elt_args a;
  bool help;
  int s = elt_parse(argc, argv, &a, &help, f);
  if (s != EXIT_OK) return s;
  if (help) {
    fputs(is_mul ? k_mul_help : k_add_help, stdout);
    fputs(k_common_help, stdout);
    printf("\nMODE (--numerics): %s\n(docs/ops-eltwise.md says which mode computes what)\n",
           numerics_modes());
    return EXIT_OK;
  }
  qk_npy_array x, y, out;
  memset(&x, 0, sizeof(x));
  memset(&y, 0, sizeof(y));
  memset(&out, 0, sizeof(out));
  uint8_t *xa = NULL, *xb = NULL, *xy = NULL;
  char shape_a[256], shape_b[256];
  if ((s = load(a.a, &x, f)) || (s = load(a.b, &y, f))) goto done;
  if (x.dtype != QK_NPY_U8 && x.dtype != QK_NPY_I8) {
    s = wrong_dtype(a.a, "a", &x, "uint8 or int8", NULL, "quantize it first (qk quantize)", f);
    goto done;
  }
  if (y.dtype != x.dtype) {
    s = fail(f, EXIT_ERROR, "%s: b is %s but a (%s) is %s: both inputs need one dtype", a.b,
             qk_npy_dtype_name(y.dtype), a.a, qk_npy_dtype_name(x.dtype));
    goto done;
  }
  if (x.ndim == 0 || x.count == 0) {
    s = fail(f, EXIT_ERROR, "%s: a is empty", a.a);
    goto done;
  }
  const qk_dtype type = x.dtype == QK_NPY_U8 ? QK_DTYPE_U8 : QK_DTYPE_S8;
  if ((s = check_zp("a-zero-point", a.a_zero_point, type, a.a, f)) ||
      (s = check_zp("b-zero-point", a.b_zero_point, type, a.a, f)) ||
      (s = check_zp("output-zero-point", a.output_zero_point, type, a.a, f)) ||
      (a.has_min && (s = check_zp("output-min", a.output_min, type, a.a, f))) ||
      (a.has_max && (s = check_zp("output-max", a.output_max, type, a.a, f)))) {
    goto done;
  }
  const bool nchw = x.ndim == 4;
  const size_t n = nchw ? x.shape[0] : 1, c = nchw ? x.shape[1] : x.count;
  const size_t hw = nchw ? x.shape[2] * x.shape[3] : 1;
  bool same = y.ndim == x.ndim;
  for (size_t i = 0; same && i < x.ndim; i++) same = y.shape[i] == x.shape[i];
  const bool bcast = is_mul && nchw && !same && y.ndim == 4 && y.shape[0] == n && y.shape[1] == c &&
                     y.shape[2] == 1 && y.shape[3] == 1;
  if (!same && !bcast) {
    shape_text(&x, shape_a, sizeof(shape_a));
    shape_text(&y, shape_b, sizeof(shape_b));
    s = fail(f, EXIT_ERROR, "%s: b has shape %s, a (%s) has %s; b must have a's shape%s", a.b,
             shape_b, a.a, shape_a, is_mul ? " or [N, C, 1, 1]" : "");
    goto done;
  }
  if (hw == 0 || c == 0) {
    s = fail(f, EXIT_ERROR, "%s: a is empty", a.a);
    goto done;
  }
  xa = malloc(x.count);
  xb = malloc(y.count);
  xy = malloc(x.count);
  if (xa == NULL || xb == NULL || xy == NULL) {
    s = fail(f, EXIT_ERROR, "out of memory for %zu elements", x.count);
    goto done;
  }
  to_nhwc(x.data, xa, n, c, hw);
  memcpy(xb, y.data, y.count);
  if (same) to_nhwc(y.data, xb, n, c, hw);
  qk_status st;
  if (is_mul) {
    qk_mul_desc d;
    qk_mul_desc_init(&d);
    d.numerics = a.numerics;
    d.channels = c;
    d.type = type;
    d.a_scale = a.a_scale;
    d.a_zero_point = a.a_zero_point;
    d.b_scale = a.b_scale;
    d.b_zero_point = a.b_zero_point;
    d.output_scale = a.output_scale;
    d.output_zero_point = a.output_zero_point;
    d.relu = a.relu;
    if (a.has_min) d.output_min = a.output_min;
    if (a.has_max) d.output_max = a.output_max;
    d.broadcast_b = bcast;
    qk_mul* op = NULL;
    st = qk_mul_create(&d, &op);
    if (st == QK_SUCCESS) st = qk_mul_run(op, n, hw, xa, xb, xy);
    qk_mul_delete(op);
  } else {
    qk_add_desc d;
    qk_add_desc_init(&d);
    d.numerics = a.numerics;
    d.channels = c;
    d.type = type;
    d.a_scale = a.a_scale;
    d.a_zero_point = a.a_zero_point;
    d.b_scale = a.b_scale;
    d.b_zero_point = a.b_zero_point;
    d.output_scale = a.output_scale;
    d.output_zero_point = a.output_zero_point;
    d.relu = a.relu;
    if (a.has_min) d.output_min = a.output_min;
    if (a.has_max) d.output_max = a.output_max;
    qk_add* op = NULL;
    st = qk_add_create(&d, &op);
    if (st == QK_SUCCESS) st = qk_add_run(op, n * hw, xa, xb, xy);
    qk_add_delete(op);
  }
  if (st != QK_SUCCESS) {
    s = library_error(st, f);
    goto done;
  }
  char error[QK_NPY_ERROR_SIZE];
  if (!qk_npy_alloc(&out, x.dtype, x.ndim, x.shape, error, sizeof(error))) {
    s = fail(f, EXIT_ERROR, "%s", error);
    goto done;
  }
  to_nchw(xy, out.data, n, c, hw);
  s = save(a.output, &out, f);
done:
  free(xa);
  free(xb);
  free(xy);
  qk_npy_free(&x);
  qk_npy_free(&y);
  qk_npy_free(&out);
  return s;
}

int run_add(int argc, char** argv, failure* f) { return elt_run(argc, argv, false, f); }
int run_mul(int argc, char** argv, failure* f) { return elt_run(argc, argv, true, f); }
