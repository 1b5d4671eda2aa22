/* Internal helpers of the operator layer: error reporting, aligned allocation, dtype ranges, and
 * (from arch/common.h) overflow-checked sizes and the frameworks' conversions. Not part of the API. */
#ifndef QK_KERNELS_COMMON_H
#define QK_KERNELS_COMMON_H

#include <math.h>
#include <stdbool.h>

#include "arch/common.h"
#include "qk.h"

#ifdef __cplusplus
extern "C" {
#endif

#define QK_PRINTF(f, a) __attribute__((format(printf, f, a)))

/* Records a one-line message for qk_last_error() in the calling thread and returns status. */
QK_INTERNAL qk_status qk_fail(qk_status status, const char* format, ...) QK_PRINTF(2, 3);

/* Descriptors from other header versions (the struct_size contract of include/qk.h): copies
 * the caller's `caller_size` bytes over `local` (a descriptor of this version, `local_size`
 * bytes, already holding the defaults), so an older, smaller descriptor keeps the defaults of the
 * fields it lacks. caller_size < min_size (the first release's size) is
 * QK_ERROR_INVALID_ARGUMENT; bytes past local_size (fields of a newer version) must all be zero
 * (those fields at their defaults), else QK_ERROR_UNSUPPORTED. `fn` names the caller and
 * `init` the descriptor's init function in the messages. */
QK_INTERNAL qk_status qk_import_desc(const void* desc, size_t caller_size, void* local,
                                     size_t local_size, size_t min_size, const char* fn,
                                     const char* init);
/* sizeof(qk_conv2d_desc) in qk 0.1 (the offset of weight_quantization). */
#define QK_CONV2D_DESC_SIZE_0_1 240

/* Allocation with the alignment the SIMD kernels like; free with qk_aligned_free. */
QK_INTERNAL void* qk_aligned_alloc(size_t alignment, size_t size);
QK_INTERNAL void qk_aligned_free(void* p);

/* Validity of user-provided quantization parameters. */
static inline bool qk_scale_is_valid(double s) { return isfinite(s) && s > 0.0; }
QK_INTERNAL bool qk_dtype_range(qk_dtype type, int32_t* qmin, int32_t* qmax);
QK_INTERNAL const char* qk_dtype_name(qk_dtype type);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* QK_KERNELS_COMMON_H */
