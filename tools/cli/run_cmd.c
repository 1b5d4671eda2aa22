/* qk run: a whole qk model (include/qk_model.h) on a .npy input (docs/cli.md). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "qk_model.h"

static const char k_run_help[] =
    "usage: qk run MODEL --input X.npy (--output Y.npy | --compare DIR | both) [--threads N]\n"
    "              [--isa NAME] [--time]\n"
    "\n"
    "Runs a qk model file (tools/qk_export.py writes one from a quantized PyTorch model;\n"
    "docs/model-format.md) on X and writes the model's output to Y, as the framework returns\n"
    "it: float32 NCHW for a model that ends in a dequantize (torchvision models), the integer\n"
    "representation otherwise. X must have the model's input dtype and shape (qk run MODEL\n"
    "--input X.npy without --output prints them in the error if they differ).\n"
    "  --threads N   threads of the pool the model runs on (default 1; 0 = one per CPU)\n"
    "  --isa NAME    the ISA the operators use (default: the best this CPU runs; or QK_ISA)\n"
    "  --time        print the load time and the run time to stderr\n"
    "  --repeat N    with --time: run N more times in a preallocated arena and print the median\n"
    "                and the fastest of them (latency measurements; default 0)\n"
    "  --compare DIR compare every layer's output with DIR/<layer>.npy, the framework's own\n"
    "                (tools/qk_export.py --dump-layers / export(..., dump_layers=DIR)), and report\n"
    "                the first layer that differs, by how much, and the rule most likely at fault;\n"
    "                exit status 1 when a layer differs\n"
    "\n"
    "exit status: 0 success; 2 bad command line; 1 any other error (unreadable or invalid model\n"
    "or input, model refused by the library). Every error is one line on stderr, and no output\n"
    "file is written.\n";

enum {
  RUN_MODEL,
  RUN_INPUT,
  RUN_OUTPUT,
  RUN_THREADS,
  RUN_ISA,
  RUN_TIME,
  RUN_COMPARE,
  RUN_REPEAT,
  RUN_OPTION_COUNT
};

static const option_spec k_run_options[RUN_OPTION_COUNT] = {
    [RUN_MODEL] = {"model", true},    [RUN_INPUT] = {"input", true},
    [RUN_OUTPUT] = {"output", true},  [RUN_THREADS] = {"threads", true},
    [RUN_ISA] = {"isa", true},        [RUN_TIME] = {"time", false},
    [RUN_COMPARE] = {"compare", true}, [RUN_REPEAT] = {"repeat", true},
};

static double now_seconds(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static qk_npy_dtype npy_of_model_dtype(qk_dtype t) {
  return t == QK_DTYPE_F32 ? QK_NPY_F32 : npy_dtype_of(t);
}

static void info_text(const qk_model_tensor_info* info, char* out, size_t size) {
  const char* dtype = qk_npy_dtype_name(npy_of_model_dtype(info->dtype));
  size_t len = (size_t)snprintf(out, size, "%s (", dtype);
  for (size_t i = 0; i < info->rank && len < size; i++) {
    len += (size_t)snprintf(out + len, size - len, "%s%zu", i ? ", " : "", info->shape[i]);
  }
  if (len < size) snprintf(out + len, size - len, ")");
}

/* ---- --compare: the per-layer diff against the framework's dumped outputs ------------------- */

typedef struct comparison {
  const char* dir;
  size_t compared, missing, differing;
  size_t first;          /* node index of the first differing layer */
  char first_text[1024]; /* its report */
  failure* f;
  int status; /* EXIT_ERROR when a dumped file cannot be used */
} comparison;

/* The exporter's file name for a layer: characters other than [A-Za-z0-9._-] become '_'. */
static void layer_file(const char* dir, const char* layer, char* out, size_t size) {
  size_t len = (size_t)snprintf(out, size, "%s/", dir);
  for (const char* c = layer; *c != '\0' && len + 5 < size; c++) {
    const bool keep = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
                      (*c >= '0' && *c <= '9') || *c == '.' || *c == '_' || *c == '-';
    out[len++] = keep ? *c : '_';
  }
  snprintf(out + len, size - len, ".npy");
}

/* The rule a user should look at first, from the op and the size of the difference. */
static const char* likely_rule(const char* op, long long max_diff) {
  const bool conv = strcmp(op, "conv2d") == 0 || strcmp(op, "linear") == 0;
  if (conv && max_diff <= 1) {
    return "off by one in a convolution: the requantization rounding of the numerics mode; is "
           "the model's mode the framework's engine, version and CPU? (docs/numerics.md, "
           "'which mode am I?')";
  }
  if (conv) {
    return "large differences in a convolution: FBGEMM's int16 saturation on AVX2 machines "
           "(mode pytorch-fbgemm-avx2), or weights / zero points / bias not what the framework "
           "used";
  }
  if (strcmp(op, "add") == 0 || strcmp(op, "mul") == 0) {
    return "ATen's float add / mul works in 64-element blocks with an FMA, counted from the start "
           "of each torch thread's chunk: dump the layers with torch.set_num_threads(1) "
           "(docs/ops-eltwise.md)";
  }
  if (strstr(op, "pool") != NULL) {
    return "ATen rounds average pools differently for channels-last and contiguous tensors "
           "(docs/ops-pool.md)";
  }
  if (strcmp(op, "quantize") == 0) {
    return "quantize multiplies by the float32 reciprocal of the scale: check the scale and zero "
           "point of the model's input";
  }
  return "see the op's formulas in docs/operators.md";
}

static void nhwc_to_nchw(const qk_model_tensor_info* info, const uint8_t* in, uint8_t* out) {
  const size_t n = info->shape[0], c = info->shape[1];
  const size_t hw = info->rank == 4 ? info->shape[2] * info->shape[3] : 1;
  for (size_t b = 0; b < n; b++, in += c * hw, out += c * hw) {
    for (size_t p = 0; p < hw; p++) {
      for (size_t ch = 0; ch < c; ch++) out[ch * hw + p] = in[p * c + ch];
    }
  }
}

static long long element(const void* data, qk_npy_dtype t, size_t i, double* real) {
  switch (t) {
    case QK_NPY_U8: return ((const uint8_t*)data)[i];
    case QK_NPY_I8: return ((const int8_t*)data)[i];
    default: *real = ((const float*)data)[i]; return 0;
  }
}

static int compare_layer(void* user, size_t node, const qk_model_node_info* info,
                         const void* data) {
  comparison* c = user;
  char path[1024];
  layer_file(c->dir, info->name, path, sizeof(path));
  qk_npy_array want;
  char error[QK_NPY_ERROR_SIZE];
  if (access(path, F_OK) != 0) { /* a layer the framework's dump does not have */
    c->missing++;
    return 0;
  }
  if (!qk_npy_read_file(path, &want, error, sizeof(error))) {
    c->status = fail(c->f, EXIT_ERROR, "%s", error);
    return 1;
  }
  const qk_npy_dtype dtype = npy_of_model_dtype(info->output.dtype);
  bool same_shape = want.dtype == dtype && want.ndim == info->output.rank;
  for (size_t d = 0; same_shape && d < want.ndim; d++) {
    same_shape = want.shape[d] == info->output.shape[d];
  }
  if (!same_shape) {
    char want_text[256], got[256];
    info_text(&info->output, want_text, sizeof(want_text));
    shape_text(&want, got, sizeof(got));
    c->status = fail(c->f, EXIT_ERROR, "%s: layer '%s' is %s in the model, the file holds %s %s",
                     path, info->name, want_text, qk_npy_dtype_name(want.dtype), got);
    free(want.data);
    return 1;
  }
  const void* have = data;
  uint8_t* nchw = NULL;
  if (dtype != QK_NPY_F32) {
    nchw = malloc(info->output.bytes ? info->output.bytes : 1);
    if (nchw == NULL) {
      free(want.data);
      c->status = fail(c->f, EXIT_ERROR, "out of memory");
      return 1;
    }
    nhwc_to_nchw(&info->output, data, nchw);
    have = nchw;
  }
  size_t differ = 0;
  long long max_diff = 0;
  double max_real = 0.0;
  const size_t size = qk_npy_dtype_size(dtype);
  for (size_t i = 0; i < want.count; i++) {
    double a = 0.0, b = 0.0;
    const long long qa = element(have, dtype, i, &a), qb = element(want.data, dtype, i, &b);
    const long long d = qa > qb ? qa - qb : qb - qa;
    const double dr = a > b ? a - b : b - a;
    /* bytes, not values: a float -0.0 or NaN that differs in bits is a difference too */
    differ += memcmp((const char*)have + i * size, (const char*)want.data + i * size, size) != 0;
    if (d > max_diff) max_diff = d;
    if (dr > max_real) max_real = dr;
  }
  c->compared++;
  if (differ != 0) {
    if (c->differing++ == 0) {
      c->first = node;
      if (dtype == QK_NPY_F32) {
        snprintf(c->first_text, sizeof(c->first_text),
                 "node %zu '%s' (%s): %zu of %zu values differ, by at most %g", node, info->name,
                 info->op, differ, want.count, max_real);
      } else {
        snprintf(c->first_text, sizeof(c->first_text),
                 "node %zu '%s' (%s): %zu of %zu values differ, by at most %lld (quantized "
                 "units); likely: %s",
                 node, info->name, info->op, differ, want.count, max_diff,
                 likely_rule(info->op, max_diff));
      }
    }
  }
  free(nchw);
  free(want.data);
  return 0;
}

static int check_input(const char* path, const qk_npy_array* x, const qk_model_tensor_info* in,
                       failure* f) {
  bool same = x->dtype == npy_of_model_dtype(in->dtype) && x->ndim == in->rank;
  for (size_t i = 0; same && i < in->rank; i++) same = x->shape[i] == in->shape[i];
  if (!same) {
    char want[256], got[256];
    info_text(in, want, sizeof(want));
    shape_text(x, got, sizeof(got));
    return fail(f, EXIT_ERROR, "%s: the model's input '%s' is %s, the file holds %s %s", path,
                in->name, want, qk_npy_dtype_name(x->dtype), got);
  }
  return EXIT_OK;
}

static int report_comparison(const comparison* c, failure* f) {
  if (c->status != EXIT_OK) return c->status;
  printf("qk run: compared %zu layers with %s (%zu without a file there)\n", c->compared, c->dir,
         c->missing);
  if (c->compared == 0) {
    return fail(f, EXIT_ERROR, "%s holds no layer file of this model (tools/qk_export.py "
                "--dump-layers writes them)", c->dir);
  }
  if (c->differing == 0) {
    printf("qk run: every compared layer is identical\n");
    return EXIT_OK;
  }
  printf("qk run: first difference at %s\n", c->first_text);
  printf("qk run: %zu of %zu compared layers differ (later ones inherit the first difference)\n",
         c->differing, c->compared);
  return fail(f, EXIT_ERROR, "the model's layers differ from %s from node %zu on", c->dir,
              c->first);
}

static int compare_doubles(const void* a, const void* b) {
  const double x = *(const double*)a, y = *(const double*)b;
  return x < y ? -1 : x > y;
}

/* `repeat` more runs in an arena allocated once: the steady-state latency, median and minimum. */
static qk_status time_runs(const qk_model* m, const void* x, void* y, qk_threadpool* pool,
                           size_t repeat, double* median, double* fastest) {
  void* arena = NULL;
  double* times = malloc(repeat * sizeof(double));
  if (times == NULL ||
      posix_memalign(&arena, 64, qk_model_arena_size(m, qk_threadpool_threads(pool))) != 0) {
    free(times);
    return QK_ERROR_OUT_OF_MEMORY;
  }
  qk_status st = QK_SUCCESS;
  for (size_t i = 0; i < repeat && st == QK_SUCCESS; i++) {
    const void* inputs[] = {x};
    void* outputs[] = {y};
    const double t0 = now_seconds();
    st = qk_model_run(m, inputs, outputs, arena, pool);
    times[i] = now_seconds() - t0;
  }
  qsort(times, repeat, sizeof(double), compare_doubles);
  *median = times[repeat / 2];
  *fastest = times[0];
  free(arena);
  free(times);
  return st;
}

static int run_loaded(const qk_model* m, const parsed_options* o, size_t threads, bool timing,
                      size_t repeat, failure* f) {
  if (qk_model_input_count(m) != 1 || qk_model_output_count(m) != 1) {
    return fail(f, EXIT_ERROR, "the model has %zu inputs and %zu outputs; qk run handles 1 and 1",
                qk_model_input_count(m), qk_model_output_count(m));
  }
  qk_model_tensor_info in, out;
  qk_model_input_info(m, 0, &in);
  qk_model_output_info(m, 0, &out);
  qk_npy_array x;
  int s = load(o->value[RUN_INPUT], &x, f);
  if (s != EXIT_OK) return s;
  if ((s = check_input(o->value[RUN_INPUT], &x, &in, f)) != EXIT_OK) {
    free(x.data);
    return s;
  }
  qk_npy_array y = {.dtype = npy_of_model_dtype(out.dtype), .ndim = out.rank, .bytes = out.bytes};
  y.count = 1;
  for (size_t i = 0; i < out.rank; i++) y.count *= (y.shape[i] = out.shape[i]);
  y.data = malloc(out.bytes);
  qk_threadpool* pool = NULL;
  comparison cmp = {.dir = o->value[RUN_COMPARE], .f = f};
  qk_status st = y.data == NULL ? QK_ERROR_OUT_OF_MEMORY : QK_SUCCESS;
  if (st == QK_SUCCESS && threads != 1) st = qk_threadpool_create(threads, &pool);
  const double start = now_seconds();
  if (st == QK_SUCCESS) {
    const void* inputs[] = {x.data};
    void* outputs[] = {y.data};
    st = qk_model_run_observed(m, inputs, outputs, NULL, pool,
                               o->value[RUN_COMPARE] != NULL ? compare_layer : NULL, &cmp);
  }
  const double seconds = now_seconds() - start;
  if (cmp.status != EXIT_OK) {
    s = cmp.status;
  } else if (st != QK_SUCCESS) {
    s = library_error(st, f);
  } else {
    s = o->value[RUN_OUTPUT] != NULL ? save(o->value[RUN_OUTPUT], &y, f) : EXIT_OK;
    if (s == EXIT_OK && o->value[RUN_COMPARE] != NULL) s = report_comparison(&cmp, f);
  }
  if (s == EXIT_OK && timing) {
    fprintf(stderr, "qk run: %zu nodes, %zu thread(s), ISA %s: run %.3f ms\n",
            qk_model_node_count(m), qk_threadpool_threads(pool), qk_get_isa(), 1e3 * seconds);
    double median, fastest;
    if (repeat > 0 && (st = time_runs(m, x.data, y.data, pool, repeat, &median, &fastest)) !=
                          QK_SUCCESS) {
      s = library_error(st, f);
    } else if (repeat > 0) {
      fprintf(stderr, "qk run: %zu more runs: median %.3f ms, fastest %.3f ms\n", repeat,
              1e3 * median, 1e3 * fastest);
    }
  }
  qk_threadpool_delete(pool);
  free(x.data);
  free(y.data);
  return s;
}

int run_model(int argc, char** argv, failure* f) {
  /* The model may come first, without an option name: qk run MODEL --input ... */
  const char* model_path = NULL;
  if (argc > 0 && strncmp(argv[0], "--", 2) != 0 && strcmp(argv[0], "-h") != 0) {
    model_path = argv[0];
    argc--;
    argv++;
  }
  parsed_options o;
  int s = parse_options(argc, argv, k_run_options, RUN_OPTION_COUNT, &o, f);
  if (s != EXIT_OK) return s;
  if (o.help) {
    fputs(k_run_help, stdout);
    return EXIT_OK;
  }
  if (model_path != NULL && o.value[RUN_MODEL] != NULL) {
    return fail(f, EXIT_USAGE, "the model is given twice (MODEL and --model)");
  }
  if (model_path == NULL) model_path = o.value[RUN_MODEL];
  if (model_path == NULL) return fail(f, EXIT_USAGE, "missing MODEL (qk run MODEL --input ...)");
  if ((s = require(&o, k_run_options, RUN_INPUT, f))) return s;
  if (o.value[RUN_OUTPUT] == NULL && o.value[RUN_COMPARE] == NULL) {
    return fail(f, EXIT_USAGE, "missing option --output (or --compare DIR)");
  }
  long long threads = 1;
  if (o.value[RUN_THREADS] && (s = parse_int("threads", o.value[RUN_THREADS], 0, 1024, &threads, f))) {
    return s;
  }
  long long repeat = 0;
  if (o.value[RUN_REPEAT] &&
      (s = parse_int("repeat", o.value[RUN_REPEAT], 0, 1000000, &repeat, f))) {
    return s;
  }
  qk_status st;
  if (o.value[RUN_ISA] != NULL && (st = qk_set_isa(o.value[RUN_ISA])) != QK_SUCCESS) {
    return library_error(st, f);
  }
  const double start = now_seconds();
  qk_model* m = NULL;
  if ((st = qk_model_load_file(model_path, &m)) != QK_SUCCESS) return library_error(st, f);
  if (o.value[RUN_TIME] != NULL) {
    fprintf(stderr, "qk run: loaded %s (%s) in %.3f ms\n", model_path,
            qk_numerics_name(qk_model_numerics(m)), 1e3 * (now_seconds() - start));
  }
  s = run_loaded(m, &o, (size_t)threads, o.value[RUN_TIME] != NULL, (size_t)repeat, f);
  qk_model_delete(m);
  return s;
}
