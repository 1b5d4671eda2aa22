/* qk relu / clamp / hardswish / hardsigmoid / sigmoid / leaky-relu / requantize / cat /
 * channel-shuffle on .npy arrays (docs/cli.md, docs/ops-activation.md). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* ---------------------------------------------------------------------------------------------
 * Shared parts
 * ------------------------------------------------------------------------------------------- */
/* A scale as PyTorch holds it: a double (the text is parsed with strtod). */
static int parse_double_scale(const char* option, const char* text, double* out, failure* f) {
  char* end;
  errno = 0;
  const double v = strtod(text, &end);
  if (end == text || *end != '\0')
    return fail(f, EXIT_USAGE, "--%s '%s' is not a number", option, text);
  if (errno == ERANGE || !isfinite(v) || !(v > 0.0)) {
    return fail(f, EXIT_USAGE, "--%s %s must be a positive, finite number", option, text);
  }
  *out = v;
  return EXIT_OK;
}

static int parse_float(const char* option, const char* text, float* out, failure* f) {
  char* end;
  errno = 0;
  const float v = strtof(text, &end);
  if (end == text || *end != '\0')
    return fail(f, EXIT_USAGE, "--%s '%s' is not a number", option, text);
  if (errno == ERANGE || !isfinite(v)) {
    return fail(f, EXIT_USAGE, "--%s %s must be a finite float32 value", option, text);
  }
  *out = v;
  return EXIT_OK;
}

static int input_dtype(const char* path, const qk_npy_array* a, qk_dtype* t, failure* f) {
  if (a->dtype == QK_NPY_U8) {
    *t = QK_DTYPE_U8;
  } else if (a->dtype == QK_NPY_I8) {
    *t = QK_DTYPE_S8;
  } else {
    return wrong_dtype(path, "input", a, "uint8 or int8", "", "quantize it first (qk quantize)", f);
  }
  return EXIT_OK;
}

/* NCHW <-> NHWC of a 4-D byte array. */
static void to_nhwc(const uint8_t* x, const size_t s[4], uint8_t* y) {
  const size_t n = s[0], c = s[1], hw = s[2] * s[3];
  for (size_t i = 0; i < n; i++)
    for (size_t k = 0; k < c; k++)
      for (size_t p = 0; p < hw; p++) y[(i * hw + p) * c + k] = x[(i * c + k) * hw + p];
}
static void to_nchw(const uint8_t* x, const size_t s[4], uint8_t* y) {
  const size_t n = s[0], c = s[1], hw = s[2] * s[3];
  for (size_t i = 0; i < n; i++)
    for (size_t k = 0; k < c; k++)
      for (size_t p = 0; p < hw; p++) y[(i * c + k) * hw + p] = x[(i * hw + p) * c + k];
}

/* ---------------------------------------------------------------------------------------------
 * Unary ops
 * ------------------------------------------------------------------------------------------- */
enum {
  U_INPUT,
  U_OUTPUT,
  U_SCALE,
  U_ZP,
  U_OUT_SCALE,
  U_OUT_ZP,
  U_MIN,
  U_MAX,
  U_SLOPE,
  U_NUMERICS,
  U_FORMAT,
  U_BLOCK,
  U_COUNT
};

static const option_spec k_unary_options[U_COUNT] = {
    [U_INPUT] = {"input", true},
    [U_OUTPUT] = {"output", true},
    [U_SCALE] = {"scale", true},
    [U_ZP] = {"zero-point", true},
    [U_OUT_SCALE] = {"output-scale", true},
    [U_OUT_ZP] = {"output-zero-point", true},
    [U_MIN] = {"min", true},
    [U_MAX] = {"max", true},
    [U_SLOPE] = {"negative-slope", true},
    [U_NUMERICS] = {"numerics", true},
    [U_FORMAT] = {"memory-format", true},
    [U_BLOCK] = {"aten-vector-block", true},
};

static const char k_unary_common_help[] =
    "  --input X.npy         uint8 or int8 array (any shape; NCHW for --memory-format nhwc)\n"
    "  --output Y.npy        written with X's dtype and shape\n"
    "  --scale F --zero-point I   X's quantization (the scale is a double, as in PyTorch)\n"
    "  --numerics MODE       a PyTorch mode (default pytorch-fbgemm = ATen's kernels;\n"
    "                        pytorch-qnnpack = the qnnpack engine's u8 tables)\n"
    "  --memory-format F     nchw (default: the PyTorch tensor was contiguous, as the .npy) or\n"
    "                        nhwc (it was channels_last, e.g. a quantized conv's output): ATen\n"
    "                        computes its first floor(count / 64) * 64 elements in memory order\n"
    "                        with SIMD code and the rest with scalar code, which round\n"
    "                        differently, so the order decides some outputs\n"
    "  --aten-vector-block B 64 (default, an AVX2 PyTorch build) or 128 (AVX-512 build)\n"
    "\n"
    "exit status: 0 success; 2 bad command line; 1 any other error (one line on stderr, no\n"
    "output file).\n";

typedef struct unary_spec {
  const char* name;
  qk_unary_op op;
  const char* usage;
} unary_spec;

static const unary_spec k_unary[] = {
    {"relu", QK_UNARY_RELU,
     "qk relu --input X.npy --output Y.npy --scale F --zero-point I\n\n"
     "y = max(q, zero_point); Y keeps X's quantization.\n"},
    {"clamp", QK_UNARY_CLAMP,
     "qk clamp --input X.npy --output Y.npy --scale F --zero-point I [--min A] [--max B]\n\n"
     "hardtanh / relu6 / clamp: y = clamp(q, quantize(A), quantize(B)) with X's quantization\n"
     "(default A = -1, B = 1 as hardtanh; relu6 is --min 0 --max 6).\n"},
    {"hardswish", QK_UNARY_HARDSWISH,
     "qk hardswish --input X.npy --output Y.npy --scale F --zero-point I\n"
     "             --output-scale F --output-zero-point I\n\n"
     "y = quantize(x * clamp(x + 3, 0, 6) / 6) as the numerics mode computes it.\n"},
    {"hardsigmoid", QK_UNARY_HARDSIGMOID,
     "qk hardsigmoid --input X.npy --output Y.npy --scale F --zero-point I\n\n"
     "y = quantize(clamp(x + 3, 0, 6) / 6); Y's quantization is PyTorch's fixed 1/256 with\n"
     "zero point 0 (uint8) or -128 (int8).\n"},
    {"sigmoid", QK_UNARY_SIGMOID,
     "qk sigmoid --input X.npy --output Y.npy --scale F --zero-point I\n\n"
     "y = quantize(1 / (1 + exp(-x))); Y's quantization is PyTorch's fixed 1/256 with zero\n"
     "point 0 (uint8) or -128 (int8).\n"},
    {"leaky-relu", QK_UNARY_LEAKY_RELU,
     "qk leaky-relu --input X.npy --output Y.npy --scale F --zero-point I\n"
     "              --output-scale F --output-zero-point I [--negative-slope A]\n\n"
     "y = quantize(x > 0 ? x : A * x) (default A = 0.01), quantized::leaky_relu.\n"},
    {"requantize", QK_UNARY_REQUANTIZE,
     "qk requantize --input X.npy --output Y.npy --scale F --zero-point I\n"
     "              --output-scale F --output-zero-point I\n\n"
     "y = clamp(rne((float)F * (float)(q - I) * (1 / (float)output-scale)) + output-zero-point),\n"
     "torch.quantize_per_tensor(x.dequantize(), ...).\n"},
};

static int run_unary(const unary_spec* spec, int argc, char** argv, failure* f) {
  parsed_options o;
  int s = parse_options(argc, argv, k_unary_options, U_COUNT, &o, f);
  if (s != EXIT_OK) return s;
  if (o.help) {
    printf("usage: %s\noptions:\n%s", spec->usage, k_unary_common_help);
    return EXIT_OK;
  }
  if ((s = require(&o, k_unary_options, U_INPUT, f)) ||
      (s = require(&o, k_unary_options, U_OUTPUT, f)) ||
      (s = require(&o, k_unary_options, U_SCALE, f)) ||
      (s = require(&o, k_unary_options, U_ZP, f))) {
    return s;
  }
  const bool needs_out = spec->op == QK_UNARY_HARDSWISH || spec->op == QK_UNARY_LEAKY_RELU ||
                         spec->op == QK_UNARY_REQUANTIZE;
  if (needs_out && ((s = require(&o, k_unary_options, U_OUT_SCALE, f)) ||
                    (s = require(&o, k_unary_options, U_OUT_ZP, f)))) {
    return s;
  }
  if (!needs_out && (o.value[U_OUT_SCALE] || o.value[U_OUT_ZP])) {
    return fail(f, EXIT_USAGE, "%s takes no --output-scale / --output-zero-point", spec->name);
  }
  if (spec->op != QK_UNARY_CLAMP && (o.value[U_MIN] || o.value[U_MAX])) {
    return fail(f, EXIT_USAGE, "--min / --max go with qk clamp only");
  }
  if (spec->op != QK_UNARY_LEAKY_RELU && o.value[U_SLOPE]) {
    return fail(f, EXIT_USAGE, "--negative-slope goes with qk leaky-relu only");
  }
  qk_unary_desc d;
  qk_unary_desc_init(&d);
  d.op = spec->op;
  d.numerics = QK_NUMERICS_PYTORCH_FBGEMM;
  long long zp = 0, ozp = 0, block = 0;
  bool nhwc = false;
  if ((s = parse_double_scale("scale", o.value[U_SCALE], &d.input_scale, f)) ||
      (s = parse_int("zero-point", o.value[U_ZP], -128, 255, &zp, f)) ||
      (o.value[U_OUT_SCALE] &&
       (s = parse_double_scale("output-scale", o.value[U_OUT_SCALE], &d.output_scale, f))) ||
      (o.value[U_OUT_ZP] &&
       (s = parse_int("output-zero-point", o.value[U_OUT_ZP], -128, 255, &ozp, f))) ||
      (o.value[U_MIN] && (s = parse_float("min", o.value[U_MIN], &d.min, f))) ||
      (o.value[U_MAX] && (s = parse_float("max", o.value[U_MAX], &d.max, f))) ||
      (o.value[U_SLOPE] &&
       (s = parse_float("negative-slope", o.value[U_SLOPE], &d.negative_slope, f))) ||
      (o.value[U_NUMERICS] && (s = parse_numerics(o.value[U_NUMERICS], &d.numerics, f))) ||
      (o.value[U_BLOCK] &&
       (s = parse_int("aten-vector-block", o.value[U_BLOCK], 64, 128, &block, f)))) {
    return s;
  }
  if (block != 0 && block != 64 && block != 128) {
    return fail(f, EXIT_USAGE, "--aten-vector-block must be 64 or 128, got %lld", block);
  }
  if (o.value[U_FORMAT]) {
    if (strcmp(o.value[U_FORMAT], "nhwc") == 0) {
      nhwc = true;
    } else if (strcmp(o.value[U_FORMAT], "nchw") != 0) {
      return fail(f, EXIT_USAGE, "--memory-format must be nchw or nhwc, got '%s'",
                  o.value[U_FORMAT]);
    }
  }
  d.input_zero_point = (int32_t)zp;
  d.output_zero_point = (int32_t)ozp;
  d.aten_vector_block = (size_t)block;

  qk_npy_array x = {0}, y = {0};
  if ((s = load(o.value[U_INPUT], &x, f))) return s;
  if ((s = input_dtype(o.value[U_INPUT], &x, &d.type, f)) ||
      (nhwc && (s = require_rank(o.value[U_INPUT], "input", &x, 4, "NCHW", f)))) {
    qk_npy_free(&x);
    return s;
  }
  d.channels = 1; /* elementwise: the buffer in PyTorch's memory order, one element per "pixel" */
  char error[QK_NPY_ERROR_SIZE];
  uint8_t* tmp = NULL;
  qk_unary* op = NULL;
  qk_status st;
  if (!qk_npy_alloc(&y, x.dtype, x.ndim, x.shape, error, sizeof(error))) {
    s = fail(f, EXIT_ERROR, "%s", error);
  } else if (x.count == 0) {
    s = save(o.value[U_OUTPUT], &y, f);
  } else if ((st = qk_unary_create(&d, &op)) != QK_SUCCESS) {
    s = library_error(st, f);
  } else if (nhwc && (tmp = malloc(x.count)) == NULL) {
    s = fail(f, EXIT_ERROR, "out of memory");
  } else {
    if (nhwc) to_nhwc(x.data, x.shape, tmp);
    st = qk_unary_run(op, x.count, nhwc ? tmp : x.data, nhwc ? tmp : y.data);
    if (st != QK_SUCCESS) {
      s = library_error(st, f);
    } else {
      if (nhwc) to_nchw(tmp, x.shape, y.data);
      s = save(o.value[U_OUTPUT], &y, f);
    }
  }
  qk_unary_delete(op);
  free(tmp);
  qk_npy_free(&x);
  qk_npy_free(&y);
  return s;
}

int run_relu(int argc, char** argv, failure* f) { return run_unary(&k_unary[0], argc, argv, f); }
int run_clamp(int argc, char** argv, failure* f) { return run_unary(&k_unary[1], argc, argv, f); }
int run_hardswish(int argc, char** argv, failure* f) {
  return run_unary(&k_unary[2], argc, argv, f);
}
int run_hardsigmoid(int argc, char** argv, failure* f) {
  return run_unary(&k_unary[3], argc, argv, f);
}
int run_sigmoid(int argc, char** argv, failure* f) { return run_unary(&k_unary[4], argc, argv, f); }
int run_leaky_relu(int argc, char** argv, failure* f) {
  return run_unary(&k_unary[5], argc, argv, f);
}
int run_requantize(int argc, char** argv, failure* f) {
  return run_unary(&k_unary[6], argc, argv, f);
}

/* ---------------------------------------------------------------------------------------------
 * qk cat: repeated --input / --input-scale / --input-zero-point triples
 * ------------------------------------------------------------------------------------------- */
static const char k_cat_help[] =
    "usage: qk cat --input A.npy --input-scale F --input-zero-point I\n"
    "              [--input B.npy --input-scale F --input-zero-point I ...]\n"
    "              --output Y.npy --output-scale F --output-zero-point I [--numerics MODE]\n"
    "\n"
    "Concatenates NCHW uint8/int8 arrays (same dtype, N, H, W) along C, as quantized::cat:\n"
    "each input is requantized into the output's quantization by PyTorch's float path\n"
    "clamp(rne((float)s_i * (float)(q - zp_i) * (1 / (float)s_out)) + zp_out) (a copy when its\n"
    "quantization equals the output's). The k-th --input-scale / --input-zero-point belong to\n"
    "the k-th --input. MODE: a PyTorch mode (default pytorch-fbgemm; all compute alike).\n"
    "\n"
    "exit status: 0 success; 2 bad command line; 1 any other error (one line on stderr, no\n"
    "output file).\n";

#define CAT_MAX_INPUTS 64

enum { C_OUTPUT, C_OUT_SCALE, C_OUT_ZP, C_NUMERICS, C_COUNT };
static const option_spec k_cat_options[C_COUNT] = {
    [C_OUTPUT] = {"output", true},
    [C_OUT_SCALE] = {"output-scale", true},
    [C_OUT_ZP] = {"output-zero-point", true},
    [C_NUMERICS] = {"numerics", true},
};

/* Takes "--name value" / "--name=value" of a repeated option out of argv. */
static int take_repeated(int* argc, char** argv, const char* name, const char** values, int* n,
                         failure* f) {
  const size_t len = strlen(name);
  int w = 0;
  *n = 0;
  for (int i = 0; i < *argc; i++) {
    const char* a = argv[i];
    const bool match = strncmp(a, "--", 2) == 0 && strncmp(a + 2, name, len) == 0 &&
                       (a[2 + len] == '\0' || a[2 + len] == '=');
    if (!match) {
      argv[w++] = argv[i];
      continue;
    }
    if (*n == CAT_MAX_INPUTS)
      return fail(f, EXIT_USAGE, "more than %d --%s options", CAT_MAX_INPUTS, name);
    if (a[2 + len] == '=') {
      values[(*n)++] = a + 3 + len;
    } else if (i + 1 < *argc) {
      values[(*n)++] = argv[++i];
    } else {
      return fail(f, EXIT_USAGE, "option --%s needs a value", name);
    }
  }
  *argc = w;
  return EXIT_OK;
}

int run_cat(int argc, char** argv, failure* f) {
  for (int i = 0; i < argc; i++) {
    if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
      fputs(k_cat_help, stdout);
      return EXIT_OK;
    }
  }
  const char *paths[CAT_MAX_INPUTS], *scales[CAT_MAX_INPUTS], *zps[CAT_MAX_INPUTS];
  int np, ns, nz, s;
  if ((s = take_repeated(&argc, argv, "input-scale", scales, &ns, f)) ||
      (s = take_repeated(&argc, argv, "input-zero-point", zps, &nz, f)) ||
      (s = take_repeated(&argc, argv, "input", paths, &np, f))) {
    return s;
  }
  parsed_options o;
  if ((s = parse_options(argc, argv, k_cat_options, C_COUNT, &o, f))) return s;
  if (np == 0) return fail(f, EXIT_USAGE, "missing option --input");
  if (ns != np || nz != np) {
    return fail(f, EXIT_USAGE,
                "give one --input-scale and one --input-zero-point per --input (%d "
                "inputs, %d scales, %d zero points)",
                np, ns, nz);
  }
  if ((s = require(&o, k_cat_options, C_OUTPUT, f)) ||
      (s = require(&o, k_cat_options, C_OUT_SCALE, f)) ||
      (s = require(&o, k_cat_options, C_OUT_ZP, f))) {
    return s;
  }
  qk_cat_desc d;
  qk_cat_desc_init(&d);
  d.numerics = QK_NUMERICS_PYTORCH_FBGEMM;
  qk_cat_input ins[CAT_MAX_INPUTS];
  memset(ins, 0, sizeof(ins));
  long long v;
  if ((s = parse_double_scale("output-scale", o.value[C_OUT_SCALE], &d.output_scale, f)) ||
      (s = parse_int("output-zero-point", o.value[C_OUT_ZP], -128, 255, &v, f)) ||
      (o.value[C_NUMERICS] && (s = parse_numerics(o.value[C_NUMERICS], &d.numerics, f)))) {
    return s;
  }
  d.output_zero_point = (int32_t)v;
  for (int i = 0; i < np; i++) {
    if ((s = parse_double_scale("input-scale", scales[i], &ins[i].scale, f)) ||
        (s = parse_int("input-zero-point", zps[i], -128, 255, &v, f))) {
      return s;
    }
    ins[i].zero_point = (int32_t)v;
  }
  qk_npy_array xs[CAT_MAX_INPUTS], y = {0};
  memset(xs, 0, sizeof(xs));
  uint8_t* nhwc[CAT_MAX_INPUTS] = {NULL};
  uint8_t* ynhwc = NULL;
  qk_cat* op = NULL;
  size_t total = 0;
  char error[QK_NPY_ERROR_SIZE];
  for (int i = 0; i < np && s == EXIT_OK; i++) {
    if ((s = load(paths[i], &xs[i], f)) ||
        (s = require_rank(paths[i], "input", &xs[i], 4, "NCHW", f)) ||
        (s = input_dtype(paths[i], &xs[i], &d.type, f))) {
      break;
    }
    if (i > 0 && (xs[i].dtype != xs[0].dtype || xs[i].shape[0] != xs[0].shape[0] ||
                  xs[i].shape[2] != xs[0].shape[2] || xs[i].shape[3] != xs[0].shape[3])) {
      s = fail(f, EXIT_ERROR, "%s: inputs must share dtype, N, H and W with %s", paths[i],
               paths[0]);
      break;
    }
    ins[i].channels = xs[i].shape[1];
    total += xs[i].shape[1];
  }
  qk_status st;
  if (s == EXIT_OK) {
    const size_t shape[4] = {xs[0].shape[0], total, xs[0].shape[2], xs[0].shape[3]};
    const size_t pixels = shape[0] * shape[2] * shape[3];
    d.input_count = (size_t)np;
    d.inputs = ins;
    if (!qk_npy_alloc(&y, xs[0].dtype, 4, shape, error, sizeof(error))) {
      s = fail(f, EXIT_ERROR, "%s", error);
    } else if ((st = qk_cat_create(&d, &op)) != QK_SUCCESS) {
      s = library_error(st, f);
    } else if (y.count != 0) {
      const void* ptrs[CAT_MAX_INPUTS];
      for (int i = 0; i < np && s == EXIT_OK; i++) {
        if ((nhwc[i] = malloc(xs[i].count + 1)) == NULL)
          s = fail(f, EXIT_ERROR, "out of memory");
        else
          to_nhwc(xs[i].data, xs[i].shape, nhwc[i]);
        ptrs[i] = nhwc[i];
      }
      if (s == EXIT_OK && (ynhwc = malloc(y.count)) == NULL)
        s = fail(f, EXIT_ERROR, "out of memory");
      if (s == EXIT_OK && (st = qk_cat_run(op, pixels, ptrs, ynhwc)) != QK_SUCCESS) {
        s = library_error(st, f);
      }
      if (s == EXIT_OK) to_nchw(ynhwc, shape, y.data);
    }
    if (s == EXIT_OK) s = save(o.value[C_OUTPUT], &y, f);
  }
  qk_cat_delete(op);
  for (int i = 0; i < np; i++) {
    qk_npy_free(&xs[i]);
    free(nhwc[i]);
  }
  free(ynhwc);
  qk_npy_free(&y);
  return s;
}

/* ---------------------------------------------------------------------------------------------
 * qk channel-shuffle
 * ------------------------------------------------------------------------------------------- */
static const char k_shuffle_help[] =
    "usage: qk channel-shuffle --input X.npy --output Y.npy --groups G\n"
    "\n"
    "torch.nn.ChannelShuffle(G) of an NCHW uint8/int8 array (C a multiple of G): output\n"
    "channel j * G + g is input channel g * (C / G) + j. No arithmetic (every mode alike).\n"
    "\n"
    "exit status: 0 success; 2 bad command line; 1 any other error (one line on stderr, no\n"
    "output file).\n";

enum { S_INPUT, S_OUTPUT, S_GROUPS, S_COUNT };
static const option_spec k_shuffle_options[S_COUNT] = {
    [S_INPUT] = {"input", true}, [S_OUTPUT] = {"output", true}, [S_GROUPS] = {"groups", true}};

int run_channel_shuffle(int argc, char** argv, failure* f) {
  parsed_options o;
  int s = parse_options(argc, argv, k_shuffle_options, S_COUNT, &o, f);
  if (s != EXIT_OK) return s;
  if (o.help) {
    fputs(k_shuffle_help, stdout);
    return EXIT_OK;
  }
  long long groups;
  if ((s = require(&o, k_shuffle_options, S_INPUT, f)) ||
      (s = require(&o, k_shuffle_options, S_OUTPUT, f)) ||
      (s = require(&o, k_shuffle_options, S_GROUPS, f)) ||
      (s = parse_int("groups", o.value[S_GROUPS], 1, 1 << 24, &groups, f))) {
    return s;
  }
  qk_npy_array x = {0}, y = {0};
  if ((s = load(o.value[S_INPUT], &x, f))) return s;
  qk_channel_shuffle_desc d;
  qk_channel_shuffle_desc_init(&d);
  d.numerics = QK_NUMERICS_PYTORCH_FBGEMM;
  uint8_t *a = NULL, *b = NULL;
  qk_channel_shuffle* op = NULL;
  qk_status st;
  char error[QK_NPY_ERROR_SIZE];
  if ((s = require_rank(o.value[S_INPUT], "input", &x, 4, "NCHW", f)) ||
      (s = input_dtype(o.value[S_INPUT], &x, &d.type, f))) {
    /* s set */
  } else if (x.shape[1] % (size_t)groups != 0) {
    s = fail(f, EXIT_ERROR, "%s: channels (%zu) are not a multiple of --groups %lld",
             o.value[S_INPUT], x.shape[1], groups);
  } else if (!qk_npy_alloc(&y, x.dtype, 4, x.shape, error, sizeof(error))) {
    s = fail(f, EXIT_ERROR, "%s", error);
  } else if (x.count != 0) {
    d.groups = (size_t)groups;
    d.group_channels = x.shape[1] / (size_t)groups;
    if ((st = qk_channel_shuffle_create(&d, &op)) != QK_SUCCESS) {
      s = library_error(st, f);
    } else if ((a = malloc(x.count)) == NULL || (b = malloc(x.count)) == NULL) {
      s = fail(f, EXIT_ERROR, "out of memory");
    } else {
      to_nhwc(x.data, x.shape, a);
      if ((st = qk_channel_shuffle_run(op, x.shape[0] * x.shape[2] * x.shape[3], a, b)) !=
          QK_SUCCESS) {
        s = library_error(st, f);
      } else {
        to_nchw(b, x.shape, y.data);
      }
    }
  }
  if (s == EXIT_OK) s = save(o.value[S_OUTPUT], &y, f);
  qk_channel_shuffle_delete(op);
  free(a);
  free(b);
  qk_npy_free(&x);
  qk_npy_free(&y);
  return s;
}
