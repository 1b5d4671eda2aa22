/* qk — the command-line front end of the qk library: run a quantized conv2d, quantize or
 * dequantize on .npy files, and show what the library detected (docs/cli.md).
 *
 * Exit status: 0 success; 2 the command line itself is wrong (anything found without opening a
 * file: unknown, missing or repeated options, malformed or out-of-range numbers); 1 everything
 * else (unreadable or invalid files, arrays that do not fit each other or the options, library
 * errors, write errors). Every failure prints exactly one line on stderr and writes no output
 * file: the output is written last, through a temporary file that is renamed into place. */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

/* ---------------------------------------------------------------------------------------------
 * qk info
 * ------------------------------------------------------------------------------------------- */
static const char k_info_help[] =
    "usage: qk info\n"
    "\n"
    "Prints the library version, the CPU and its features, the ISAs compiled into the library,\n"
    "the ISA new operators use and why, and the numerics modes of the library (the values of\n"
    "--numerics). QK_ISA=<name> forces an ISA; an invalid QK_ISA makes 'qk info' print the\n"
    "reason on stderr and exit 1.\n"
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
  printf("numerics modes: %s\n", numerics_modes());
  if (isa == NULL) return fail(f, EXIT_ERROR, "%s", why);
  return EXIT_OK;
}

/* ---------------------------------------------------------------------------------------------
 * main
 * ------------------------------------------------------------------------------------------- */

/* SIGTERM, SIGINT, SIGHUP: remove the temporary file of the output being written (if any), then
 * die of the signal as without a handler, so that the caller sees the usual status. The handler
 * is reset on entry and the signal not blocked in it (SA_RESETHAND | SA_NODEFER), so raise()
 * terminates at once. A signal that the caller ignores (nohup) stays ignored. */
static void on_termination_signal(int sig) {
  qk_npy_remove_partial_output();
  raise(sig);
}

static void install_signal_handlers(void) {
  const int signals[] = {SIGTERM, SIGINT, SIGHUP};
  for (size_t i = 0; i < sizeof(signals) / sizeof(signals[0]); i++) {
    struct sigaction old;
    if (sigaction(signals[i], NULL, &old) == 0 && old.sa_handler == SIG_IGN) continue;
    struct sigaction action;
    memset(&action, 0, sizeof(action));
    action.sa_handler = on_termination_signal;
    sigemptyset(&action.sa_mask);
    action.sa_flags = SA_RESETHAND | SA_NODEFER;
    sigaction(signals[i], &action, NULL);
  }
}
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

    /* ---- linear (kernels/linear.c) ---- */
    {"linear", "quantized fully connected layer of .npy arrays", run_linear},

    /* ---- add / mul (kernels/eltwise.c) ---- */
    {"add", "quantized elementwise add (add_relu) of two .npy arrays", run_add},
    {"mul", "quantized elementwise mul of two .npy arrays (b may broadcast over pixels)", run_mul},

    /* ---- pooling (kernels/pool.c) ---- */
    {"max-pool2d", "quantized max_pool2d of a .npy array", run_max_pool2d},
    {"avg-pool2d", "quantized avg_pool2d of a .npy array", run_avg_pool2d},
    {"adaptive-avg-pool2d", "quantized adaptive_avg_pool2d (global average pool)",
     run_adaptive_avg_pool2d},

    /* ---- activations, requantize, cat, channel shuffle (kernels/activation.c, kernels/cat.c) ---- */
    {"relu", "quantized relu (max(q, zero point))", run_relu},
    {"clamp", "quantized clamp / hardtanh / relu6", run_clamp},
    {"hardswish", "quantized hardswish", run_hardswish},
    {"hardsigmoid", "quantized hardsigmoid (fixed output quantization)", run_hardsigmoid},
    {"sigmoid", "quantized sigmoid (fixed output quantization)", run_sigmoid},
    {"leaky-relu", "quantized leaky_relu", run_leaky_relu},
    {"requantize", "requantize to another scale / zero point", run_requantize},
    {"cat", "concatenate quantized arrays along channels", run_cat},
    {"channel-shuffle", "channel shuffle (a permutation of channels)", run_channel_shuffle},

    {"run", "run a whole qk model file on a .npy input", run_model},
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
  install_signal_handlers();
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
