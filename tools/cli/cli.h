/* The qk command-line tool's shared parts: failures, option parsing, numbers from option text,
 * .npy arrays and quantization parameters from files. Each command lives in its own file
 * (conv2d_cmd.c, quant_cmd.c, ...) and is listed in qk.c's command table.
 *
 * Conventions every command follows (docs/cli.md): a command returns EXIT_OK, EXIT_USAGE (the
 * command line itself is wrong: found without opening a file) or EXIT_ERROR (anything else), and
 * on failure has filled its `failure` with ONE line, which main prints. A failed command writes no
 * output file: outputs are written last, through a temporary file renamed into place (npy.h). */
#ifndef QK_CLI_H
#define QK_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "npy.h"
#include "qk.h"

enum { EXIT_OK = 0, EXIT_ERROR = 1, EXIT_USAGE = 2 };

/* The failure of a command: its exit status and its one-line message, printed once by main. */
typedef struct failure {
  char message[2048];
} failure;

/* Fills f->message (printf-style) and returns status, so that `return fail(f, ...)` reads well. */
__attribute__((format(printf, 3, 4))) int fail(failure* f, int status, const char* format, ...);
/* Prints "qk <command>: <message>" as one line (control characters shown as '?'). */
void print_failure(const char* command, const char* message);

/* Options: "--name value" or "--name=value"; flags take no value. Each command declares a table
 * indexed by its own enum; the parser fills one value per entry (NULL = absent, "" = flag set). */
typedef struct option_spec {
  const char* name; /* without the leading "--" */
  bool takes_value;
} option_spec;

#define MAX_OPTIONS 24

typedef struct parsed_options {
  const char* value[MAX_OPTIONS];
  bool help;
} parsed_options;

int parse_options(int argc, char** argv, const option_spec* specs, int count, parsed_options* out,
                  failure* f);
/* EXIT_USAGE "missing option --name" unless option k was given. */
int require(const parsed_options* o, const option_spec* specs, int k, failure* f);

/* Numbers from option text: the whole text must be the number, within the option's range. */
int parse_scale(const char* option, const char* text, float* out, failure* f);
int parse_int(const char* option, const char* text, long long min, long long max, long long* out,
              failure* f);
int parse_int32(const char* option, const char* text, int32_t min, int32_t max, int32_t* out,
                failure* f);
int parse_ints(const char* option, const char* text, long long min, long long max,
               const int* counts, const char* forms, size_t out[4], int* n, failure* f);
int parse_pair(const char* option, const char* text, long long min, long long max, size_t out[2],
               failure* f);
int parse_padding(const char* text, long long max, size_t out[4], failure* f);
/* The library's numerics modes, space separated (asked of the library). */
const char* numerics_modes(void);
int parse_numerics(const char* text, qk_numerics* out, failure* f);
int parse_dtype(const char* text, qk_dtype* out, failure* f);
void dtype_range(qk_dtype type, int32_t* lo, int32_t* hi);
qk_npy_dtype npy_dtype_of(qk_dtype type);

/* Arrays. `path` names the file and `what` its role ("input", "bias"...) in messages. */
int load(const char* path, qk_npy_array* array, failure* f);
int save(const char* path, const qk_npy_array* array, failure* f);
void shape_text(const qk_npy_array* a, char* out, size_t size);
int require_rank(const char* path, const char* what, const qk_npy_array* a, size_t ndim,
                 const char* layout, failure* f);
int require_vector(const char* path, const char* what, const qk_npy_array* a, size_t length,
                   const char* length_name, failure* f);
int require_channels(const char* path, const char* what, const qk_npy_array* a, size_t length,
                     const char* length_name, failure* f);
int wrong_dtype(const char* path, const char* what, const qk_npy_array* a, const char* expected,
                const char* cast, const char* advice, failure* f);
bool is_float(qk_npy_dtype t);
int zero_points_from(const char* path, const qk_npy_array* a, size_t length, int32_t min,
                     int32_t max, const char* range_name, int32_t** out, failure* f);
int scales_from(const char* path, const qk_npy_array* a, size_t length, double** out, failure* f);
/* EXIT_ERROR with the library's last error and the status name. */
int library_error(qk_status status, failure* f);

/* The commands: argv holds the command's own arguments (after "qk <command>"). */
int run_conv2d(int argc, char** argv, failure* f);
int run_quantize(int argc, char** argv, failure* f);
int run_dequantize(int argc, char** argv, failure* f);

/* ---- linear (kernels/linear.c) ---- */
int run_linear(int argc, char** argv, failure* f);

/* ---- add / mul (kernels/eltwise.c) ---- */
int run_add(int argc, char** argv, failure* f);
int run_mul(int argc, char** argv, failure* f);

/* ---- pooling (kernels/pool.c) ---- */
int run_max_pool2d(int argc, char** argv, failure* f);
int run_avg_pool2d(int argc, char** argv, failure* f);
int run_adaptive_avg_pool2d(int argc, char** argv, failure* f);

/* ---- activations, requantize, cat, channel shuffle (kernels/activation.c, kernels/cat.c) ---- */
int run_relu(int argc, char** argv, failure* f);
int run_clamp(int argc, char** argv, failure* f);
int run_hardswish(int argc, char** argv, failure* f);
int run_hardsigmoid(int argc, char** argv, failure* f);
int run_sigmoid(int argc, char** argv, failure* f);
int run_leaky_relu(int argc, char** argv, failure* f);
int run_requantize(int argc, char** argv, failure* f);
int run_cat(int argc, char** argv, failure* f);
int run_channel_shuffle(int argc, char** argv, failure* f);


/* qk run (tools/cli/run_cmd.c): a whole qk model. */
int run_model(int argc, char** argv, failure* f);

#endif /* QK_CLI_H */
