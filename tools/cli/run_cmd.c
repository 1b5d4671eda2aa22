/* qk run: a whole qk model (include/qk_model.h) on a .npy input (docs/cli.md). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "qk_model.h"

static const char k_run_help[] =
    "usage: qk run MODEL --input X.npy --output Y.npy [--threads N] [--isa NAME] [--time]\n"
    "\n"
    "Runs a qk model file (tools/qk_export.py writes one from a quantized PyTorch model;\n"
    "docs/model-format.md) on X and writes the model's output to Y, as the framework returns\n"
    "it: float32 NCHW for a model that ends in a dequantize (torchvision models), the integer\n"
    "representation otherwise. X must have the model's input dtype and shape (qk run MODEL\n"
    "--input X.npy without --output prints them in the error if they differ).\n"
    "  --threads N   threads of the pool the model runs on (default 1; 0 = one per CPU)\n"
    "  --isa NAME    the ISA the operators use (default: the best this CPU runs; or QK_ISA)\n"
    "  --time        print the load time and the run time to stderr\n"
    "\n"
    "exit status: 0 success; 2 bad command line; 1 any other error (unreadable or invalid model\n"
    "or input, model refused by the library). Every error is one line on stderr, and no output\n"
    "file is written.\n";

enum { RUN_MODEL, RUN_INPUT, RUN_OUTPUT, RUN_THREADS, RUN_ISA, RUN_TIME, RUN_OPTION_COUNT };

static const option_spec k_run_options[RUN_OPTION_COUNT] = {
    [RUN_MODEL] = {"model", true},    [RUN_INPUT] = {"input", true},
    [RUN_OUTPUT] = {"output", true},  [RUN_THREADS] = {"threads", true},
    [RUN_ISA] = {"isa", true},        [RUN_TIME] = {"time", false},
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

static int run_loaded(const qk_model* m, const parsed_options* o, size_t threads, bool timing,
                      failure* f) {
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
  qk_status st = y.data == NULL ? QK_ERROR_OUT_OF_MEMORY : QK_SUCCESS;
  if (st == QK_SUCCESS && threads != 1) st = qk_threadpool_create(threads, &pool);
  const double start = now_seconds();
  if (st == QK_SUCCESS) {
    const void* inputs[] = {x.data};
    void* outputs[] = {y.data};
    st = qk_model_run(m, inputs, outputs, NULL, pool);
  }
  const double seconds = now_seconds() - start;
  s = st == QK_SUCCESS ? save(o->value[RUN_OUTPUT], &y, f) : library_error(st, f);
  if (s == EXIT_OK && timing) {
    fprintf(stderr, "qk run: %zu nodes, %zu thread(s), ISA %s: run %.3f ms\n",
            qk_model_node_count(m), qk_threadpool_threads(pool), qk_get_isa(), 1e3 * seconds);
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
  if ((s = require(&o, k_run_options, RUN_INPUT, f)) || (s = require(&o, k_run_options, RUN_OUTPUT, f))) {
    return s;
  }
  long long threads = 1;
  if (o.value[RUN_THREADS] && (s = parse_int("threads", o.value[RUN_THREADS], 0, 1024, &threads, f))) {
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
  s = run_loaded(m, &o, (size_t)threads, o.value[RUN_TIME] != NULL, f);
  qk_model_delete(m);
  return s;
}
