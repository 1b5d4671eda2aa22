/* QK_VERBOSE logging. */
#include "kernels/verbose.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static pthread_once_t verbose_once = PTHREAD_ONCE_INIT;
static bool verbose_on;

static void read_verbose_env(void) {
  const char* v = getenv("QK_VERBOSE");
  verbose_on = v != NULL && v[0] != '\0' && !(v[0] == '0' && v[1] == '\0');
}

bool qk_verbose_enabled(void) {
  pthread_once(&verbose_once, read_verbose_env);
  return verbose_on;
}

double qk_now_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void qk_verbose_log(const char* format, ...) {
  char line[768];
  va_list args;
  va_start(args, format);
  vsnprintf(line, sizeof(line), format, args);
  va_end(args);
  /* One fprintf call per line so lines of concurrent operators do not interleave. */
  fprintf(stderr, "qk_verbose: %s\n", line);
}
