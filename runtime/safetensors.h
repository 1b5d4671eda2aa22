/* A strict reader of safetensors files (https://huggingface.co/docs/safetensors): the container of
 * qk model files (docs/model-format.md).
 *
 * Layout: an unsigned 64-bit little-endian header length L, L bytes of UTF-8 JSON, then the data
 * region. The JSON is an object whose keys are tensor names, each mapping to
 * {"dtype": "I8"|"U8"|"I32"|"I64"|"F32"|"F64", "shape": [d0, ...], "data_offsets": [begin, end]}
 * (offsets relative to the data region), plus an optional "__metadata__" object of string values.
 *
 * Everything is checked before anything is used: the header length against the buffer and a
 * 16 MiB cap, the JSON's syntax and types, each dtype, each shape (rank <= 8, overflow-checked
 * element count), each tensor's offsets (begin <= end <= data size, end - begin = bytes of the
 * shape), duplicate names. Nothing is ever read outside [data, data + size).
 */
#ifndef QK_RUNTIME_SAFETENSORS_H
#define QK_RUNTIME_SAFETENSORS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arch/common.h"

#define QK_ST_MAX_RANK 8
#define QK_ST_MAX_HEADER_BYTES (16u << 20)

typedef enum qk_st_dtype {
  QK_ST_I8 = 1,
  QK_ST_U8,
  QK_ST_I32,
  QK_ST_I64,
  QK_ST_F32,
  QK_ST_F64,
} qk_st_dtype;

typedef struct qk_st_tensor {
  char* name;
  qk_st_dtype dtype;
  size_t rank;
  size_t shape[QK_ST_MAX_RANK];
  size_t count; /* product of the shape (1 for rank 0) */
  const uint8_t* data; /* count * element size bytes inside the file buffer; any alignment */
} qk_st_tensor;

typedef struct qk_st_file {
  qk_st_tensor* tensors;
  size_t tensor_count;
  struct cJSON* metadata; /* the "__metadata__" object, or NULL */
  struct cJSON* root;     /* owns metadata */
} qk_st_file;

/* Parses `size` bytes at `data` (which must outlive the result: tensors point into it). On
 * failure returns false with a one-line message in error (error_size bytes) and leaves *file
 * empty. */
QK_INTERNAL bool qk_st_parse(const uint8_t* data, size_t size, qk_st_file* file, char* error,
                             size_t error_size);
QK_INTERNAL void qk_st_free(qk_st_file* file);
/* The tensor of that name, or NULL. */
QK_INTERNAL const qk_st_tensor* qk_st_find(const qk_st_file* file, const char* name);
/* The metadata string of that key, or NULL (absent, or not a string). */
QK_INTERNAL const char* qk_st_metadata(const qk_st_file* file, const char* key);
QK_INTERNAL size_t qk_st_dtype_size(qk_st_dtype dtype);
QK_INTERNAL const char* qk_st_dtype_name(qk_st_dtype dtype);

#endif /* QK_RUNTIME_SAFETENSORS_H */
