/* Version, status strings, the per-thread error message and small shared helpers. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/common.h"
#include "kernels/verbose.h"

#define QK_STR2(x) #x
#define QK_STR(x) QK_STR2(x)

uint32_t qk_version(void) {
  return ((uint32_t)QK_VERSION_MAJOR << 16) | ((uint32_t)QK_VERSION_MINOR << 8) |
         (uint32_t)QK_VERSION_PATCH;
}

const char* qk_version_string(void) {
  return QK_STR(QK_VERSION_MAJOR) "." QK_STR(QK_VERSION_MINOR) "." QK_STR(QK_VERSION_PATCH);
}

const char* qk_status_string(qk_status status) {
  switch (status) {
    case QK_SUCCESS: return "success";
    case QK_ERROR_INVALID_ARGUMENT: return "invalid argument";
    case QK_ERROR_UNSUPPORTED: return "unsupported configuration";
    case QK_ERROR_UNSUPPORTED_ISA: return "unsupported ISA";
    case QK_ERROR_OUT_OF_MEMORY: return "out of memory";
    case QK_ERROR_SIZE_OVERFLOW: return "size overflow";
  }
  return "unknown status";
}

/* One message per thread: errors of concurrent calls in different threads never mix. */
static _Thread_local char tls_error[512];

const char* qk_last_error(void) { return tls_error; }

qk_status qk_fail(qk_status status, const char* format, ...) {
  va_list args;
  va_start(args, format);
  vsnprintf(tls_error, sizeof(tls_error), format, args);
  va_end(args);
  if (qk_verbose_enabled()) fprintf(stderr, "qk_verbose: error: %s\n", tls_error);
  return status;
}

void* qk_aligned_alloc(size_t alignment, size_t size) {
  void* p = NULL;
  if (posix_memalign(&p, alignment, size == 0 ? 1 : size) != 0) return NULL;
  return p;
}

void qk_aligned_free(void* p) { free(p); }

bool qk_dtype_range(qk_dtype type, int32_t* qmin, int32_t* qmax) {
  switch (type) {
    case QK_DTYPE_U8:
      *qmin = 0;
      *qmax = 255;
      return true;
    case QK_DTYPE_S8:
      *qmin = -128;
      *qmax = 127;
      return true;
    case QK_DTYPE_S32:
      *qmin = INT32_MIN;
      *qmax = INT32_MAX;
      return true;
    default: *qmin = *qmax = 0; return false;
  }
}

const char* qk_dtype_name(qk_dtype type) {
  switch (type) {
    case QK_DTYPE_NONE: return "none";
    case QK_DTYPE_U8: return "u8";
    case QK_DTYPE_S8: return "s8";
    case QK_DTYPE_S32: return "s32";
    case QK_DTYPE_F32: return "f32";
  }
  return "invalid dtype";
}

qk_status qk_import_desc(const void* desc, size_t caller_size, void* local, size_t local_size,
                         size_t min_size, const char* fn, const char* init) {
  if (caller_size < min_size) {
    return qk_fail(QK_ERROR_INVALID_ARGUMENT,
                   "%s: desc->struct_size is %zu, less than the %zu bytes of the oldest "
                   "descriptor (initialize the descriptor with %s)",
                   fn, caller_size, min_size, init);
  }
  const unsigned char* bytes = (const unsigned char*)desc;
  for (size_t i = local_size; i < caller_size; i++) {
    if (bytes[i] != 0) {
      return qk_fail(QK_ERROR_UNSUPPORTED,
                     "%s: the descriptor comes from a newer qk (struct_size %zu, this library "
                     "knows %zu bytes) and sets a field this version does not have (nonzero "
                     "byte at offset %zu); upgrade the library",
                     fn, caller_size, local_size, i);
    }
  }
  memcpy(local, desc, caller_size < local_size ? caller_size : local_size);
  return QK_SUCCESS;
}
