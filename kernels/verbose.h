/* QK_VERBOSE=1: one line per operator create / run on stderr, as ONEDNN_VERBOSE does. */
#ifndef QK_KERNELS_VERBOSE_H
#define QK_KERNELS_VERBOSE_H

#include <stdbool.h>

#include "kernels/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Whether QK_VERBOSE is set to a nonzero value (read once). */
QK_INTERNAL bool qk_verbose_enabled(void);
/* Monotonic clock in seconds, for the verbose timings. */
QK_INTERNAL double qk_now_seconds(void);
/* Prints "qk_verbose: " + the formatted line + newline to stderr in one write. */
QK_INTERNAL void qk_verbose_log(const char* format, ...) QK_PRINTF(1, 2);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* QK_KERNELS_VERBOSE_H */
