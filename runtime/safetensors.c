/* safetensors reader (runtime/safetensors.h). */
#include "runtime/safetensors.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool fail(char* error, size_t error_size, const char* format, ...)
    __attribute__((format(printf, 3, 4)));
static bool fail(char* error, size_t error_size, const char* format, ...) {
  va_list args;
  va_start(args, format);
  vsnprintf(error, error_size, format, args);
  va_end(args);
  return false;
}

size_t qk_st_dtype_size(qk_st_dtype dtype) {
  switch (dtype) {
    case QK_ST_I8:
    case QK_ST_U8: return 1;
    case QK_ST_I32:
    case QK_ST_F32: return 4;
    case QK_ST_I64:
    case QK_ST_F64: return 8;
  }
  return 0;
}

static const char* const k_dtype_names[] = {NULL, "I8", "U8", "I32", "I64", "F32", "F64"};

const char* qk_st_dtype_name(qk_st_dtype dtype) {
  return dtype >= QK_ST_I8 && dtype <= QK_ST_F64 ? k_dtype_names[dtype] : "invalid";
}

static bool parse_dtype(const cJSON* item, qk_st_dtype* dtype) {
  if (!cJSON_IsString(item)) return false;
  for (int d = QK_ST_I8; d <= QK_ST_F64; d++) {
    if (strcmp(item->valuestring, k_dtype_names[d]) == 0) {
      *dtype = (qk_st_dtype)d;
      return true;
    }
  }
  return false;
}

/* A JSON number that is a non-negative integer exactly representable in a double (< 2^53). */
static bool parse_size(const cJSON* item, size_t* value) {
  if (!cJSON_IsNumber(item)) return false;
  const double v = item->valuedouble;
  if (!(v >= 0.0 && v < 9007199254740992.0) || v != floor(v)) return false;
  if ((double)(size_t)v != v) return false;
  *value = (size_t)v;
  return true;
}

static bool parse_tensor(const cJSON* entry, const uint8_t* region, size_t region_size,
                         qk_st_tensor* t, char* error, size_t error_size) {
  const char* name = entry->string;
  if (!cJSON_IsObject(entry)) {
    return fail(error, error_size, "tensor '%s': its entry is not a JSON object", name);
  }
  const cJSON* dtype = cJSON_GetObjectItemCaseSensitive(entry, "dtype");
  const cJSON* shape = cJSON_GetObjectItemCaseSensitive(entry, "shape");
  const cJSON* offsets = cJSON_GetObjectItemCaseSensitive(entry, "data_offsets");
  if (cJSON_GetArraySize(entry) != 3 || dtype == NULL || shape == NULL || offsets == NULL) {
    return fail(error, error_size,
                "tensor '%s': needs exactly the keys dtype, shape and data_offsets", name);
  }
  if (!parse_dtype(dtype, &t->dtype)) {
    return fail(error, error_size, "tensor '%s': dtype must be one of I8 U8 I32 I64 F32 F64",
                name);
  }
  if (!cJSON_IsArray(shape) || cJSON_GetArraySize(shape) > QK_ST_MAX_RANK) {
    return fail(error, error_size, "tensor '%s': shape must be an array of at most %d sizes",
                name, QK_ST_MAX_RANK);
  }
  t->rank = 0;
  t->count = 1;
  const cJSON* dim;
  cJSON_ArrayForEach(dim, shape) {
    size_t d;
    if (!parse_size(dim, &d)) {
      return fail(error, error_size, "tensor '%s': shape[%zu] is not a non-negative integer", name,
                  t->rank);
    }
    t->shape[t->rank++] = d;
    if (!qk_mul_size(t->count, d, &t->count)) {
      return fail(error, error_size, "tensor '%s': element count overflows", name);
    }
  }
  size_t begin, end, bytes;
  if (!cJSON_IsArray(offsets) || cJSON_GetArraySize(offsets) != 2 ||
      !parse_size(cJSON_GetArrayItem(offsets, 0), &begin) ||
      !parse_size(cJSON_GetArrayItem(offsets, 1), &end)) {
    return fail(error, error_size, "tensor '%s': data_offsets must be [begin, end]", name);
  }
  if (!qk_mul_size(t->count, qk_st_dtype_size(t->dtype), &bytes)) {
    return fail(error, error_size, "tensor '%s': byte size overflows", name);
  }
  if (begin > end || end > region_size || end - begin != bytes) {
    return fail(error, error_size,
                "tensor '%s': data_offsets [%zu, %zu] do not hold %zu bytes inside the %zu-byte "
                "data region",
                name, begin, end, bytes, region_size);
  }
  t->data = region + begin;
  t->name = strdup(name);
  if (t->name == NULL) return fail(error, error_size, "out of memory");
  return true;
}

static int compare_names(const void* a, const void* b) {
  return strcmp(((const qk_st_tensor*)a)->name, ((const qk_st_tensor*)b)->name);
}

bool qk_st_parse(const uint8_t* data, size_t size, qk_st_file* file, char* error,
                 size_t error_size) {
  memset(file, 0, sizeof(*file));
  if (data == NULL || size < 8) {
    return fail(error, error_size, "not a safetensors file: shorter than its 8-byte header length");
  }
  uint64_t header = 0;
  for (int i = 7; i >= 0; i--) header = (header << 8) | data[i];
  if (header > QK_ST_MAX_HEADER_BYTES || header > size - 8) {
    return fail(error, error_size,
                "not a safetensors file: header length %llu exceeds the file (%zu bytes) or the "
                "%u-byte limit",
                (unsigned long long)header, size, QK_ST_MAX_HEADER_BYTES);
  }
  const char* text = (const char*)data + 8;
  file->root = cJSON_ParseWithLength(text, (size_t)header);
  if (file->root == NULL) {
    const char* at = cJSON_GetErrorPtr();
    size_t offset = at != NULL && at >= text && at <= text + header ? (size_t)(at - text) : 0;
    return fail(error, error_size, "safetensors header: invalid JSON near byte %zu", offset);
  }
  if (!cJSON_IsObject(file->root)) {
    qk_st_free(file);
    return fail(error, error_size, "safetensors header: not a JSON object");
  }
  const uint8_t* region = data + 8 + header;
  const size_t region_size = size - 8 - (size_t)header;
  size_t entries = (size_t)cJSON_GetArraySize(file->root);
  file->tensors = entries ? calloc(entries, sizeof(qk_st_tensor)) : NULL;
  if (entries && file->tensors == NULL) {
    qk_st_free(file);
    return fail(error, error_size, "out of memory");
  }
  const cJSON* entry;
  cJSON_ArrayForEach(entry, file->root) {
    if (strcmp(entry->string, "__metadata__") == 0) {
      if (file->metadata != NULL || !cJSON_IsObject(entry)) {
        qk_st_free(file);
        return fail(error, error_size, "safetensors header: __metadata__ must be one object");
      }
      file->metadata = (cJSON*)entry;
      continue;
    }
    if (!parse_tensor(entry, region, region_size, &file->tensors[file->tensor_count], error,
                      error_size)) {
      qk_st_free(file);
      return false;
    }
    file->tensor_count++;
  }
  if (file->tensor_count > 1) {
    qsort(file->tensors, file->tensor_count, sizeof(qk_st_tensor), compare_names);
    for (size_t i = 1; i < file->tensor_count; i++) {
      if (strcmp(file->tensors[i - 1].name, file->tensors[i].name) == 0) {
        char name[128];
        snprintf(name, sizeof(name), "%s", file->tensors[i].name);
        qk_st_free(file);
        return fail(error, error_size, "safetensors header: tensor '%s' appears twice", name);
      }
    }
  }
  return true;
}

void qk_st_free(qk_st_file* file) {
  if (file->tensors != NULL) {
    for (size_t i = 0; i < file->tensor_count; i++) free(file->tensors[i].name);
    free(file->tensors);
  }
  cJSON_Delete(file->root);
  memset(file, 0, sizeof(*file));
}

const qk_st_tensor* qk_st_find(const qk_st_file* file, const char* name) {
  if (file->tensor_count == 0) return NULL;
  qk_st_tensor key;
  key.name = (char*)name;
  return bsearch(&key, file->tensors, file->tensor_count, sizeof(qk_st_tensor), compare_names);
}

const char* qk_st_metadata(const qk_st_file* file, const char* key) {
  if (file->metadata == NULL) return NULL;
  const cJSON* item = cJSON_GetObjectItemCaseSensitive(file->metadata, key);
  return cJSON_IsString(item) ? item->valuestring : NULL;
}
