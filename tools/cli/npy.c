/* Strict .npy reader/writer (see npy.h for what is accepted). The format is NumPy's
 * (numpy/lib/format.py): a 6-byte magic string, a major and minor version byte, a little-endian
 * header length (2 bytes in 1.0, 4 bytes in 2.0 and 3.0), the header (a Python dict literal padded
 * with spaces and a newline), then the raw array data. */
#include "npy.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the .npy reader copies little-endian data as is: a little-endian host is required"
#endif

#define NPY_MAGIC "\x93NUMPY"
#define NPY_MAGIC_LEN 6
/* Magic, 2 version bytes, then the header length: 2 bytes (1.0) or 4 bytes (2.0, 3.0). */
#define NPY_PREFIX_V1 10
#define NPY_PREFIX_V2 12
/* numpy.save starts the data at a multiple of 64 bytes (ARRAY_ALIGN in numpy/lib/format.py). */
#define NPY_ALIGN 64
/* numpy >= 1.23 leaves room in the header for the first dimension to grow to 21 digits
 * (GROWTH_AXIS_MAX_DIGITS), so that appending writers can rewrite it in place. */
#define NPY_GROWTH_AXIS_MAX_DIGITS 21

typedef struct dtype_info {
  qk_npy_dtype dtype;
  const char* code; /* descr without the byte-order character */
  size_t size;
  const char* name;
} dtype_info;

static const dtype_info k_dtypes[] = {
    {QK_NPY_U8, "u1", 1, "uint8"},    {QK_NPY_I8, "i1", 1, "int8"},
    {QK_NPY_I32, "i4", 4, "int32"},   {QK_NPY_I64, "i8", 8, "int64"},
    {QK_NPY_F32, "f4", 4, "float32"}, {QK_NPY_F64, "f8", 8, "float64"},
};
#define NPY_DTYPE_COUNT (sizeof(k_dtypes) / sizeof(k_dtypes[0]))

static const dtype_info* find_dtype(qk_npy_dtype dtype) {
  for (size_t i = 0; i < NPY_DTYPE_COUNT; i++) {
    if (k_dtypes[i].dtype == dtype) return &k_dtypes[i];
  }
  return NULL;
}

const char* qk_npy_dtype_name(qk_npy_dtype dtype) {
  const dtype_info* info = find_dtype(dtype);
  return info ? info->name : "invalid";
}

size_t qk_npy_dtype_size(qk_npy_dtype dtype) {
  const dtype_info* info = find_dtype(dtype);
  return info ? info->size : 0;
}

/* Writes a message into error (if any) and returns false, so that `return fail(...)` reads well. */
__attribute__((format(printf, 3, 4))) static bool fail(char* error, size_t error_size,
                                                       const char* format, ...) {
  if (error != NULL && error_size > 0) {
    va_list args;
    va_start(args, format);
    vsnprintf(error, error_size, format, args);
    va_end(args);
  }
  return false;
}

/* ---------------------------------------------------------------------------------------------
 * Shapes and sizes
 * ------------------------------------------------------------------------------------------- */

/* "(2, 3)", "(5,)" or "()": the Python repr of the shape tuple, as numpy writes it. */
static void format_shape(size_t ndim, const size_t* shape, char* out, size_t out_size) {
  size_t len = (size_t)snprintf(out, out_size, "(");
  for (size_t i = 0; i < ndim && len < out_size; i++) {
    len += (size_t)snprintf(out + len, out_size - len, "%s%zu", i ? ", " : "", shape[i]);
  }
  if (len < out_size) snprintf(out + len, out_size - len, ndim == 1 ? ",)" : ")");
}

/* Element count and byte size of a shape, overflow-checked. A zero dimension makes the array
 * empty whatever the others are, but the others must still multiply without overflow (NumPy
 * refuses such shapes too). */
static bool shape_sizes(size_t ndim, const size_t* shape, size_t itemsize, size_t* count,
                        size_t* bytes) {
  size_t nonzero_product = 1;
  bool empty = false;
  for (size_t i = 0; i < ndim; i++) {
    if (shape[i] == 0) {
      empty = true;
    } else if (__builtin_mul_overflow(nonzero_product, shape[i], &nonzero_product)) {
      return false;
    }
  }
  size_t total_bytes;
  if (__builtin_mul_overflow(nonzero_product, itemsize, &total_bytes) ||
      total_bytes > (size_t)PTRDIFF_MAX) {
    return false;
  }
  *count = empty ? 0 : nonzero_product;
  *bytes = empty ? 0 : total_bytes;
  return true;
}

bool qk_npy_alloc(qk_npy_array* array, qk_npy_dtype dtype, size_t ndim, const size_t* shape,
                  char* error, size_t error_size) {
  memset(array, 0, sizeof(*array));
  const dtype_info* info = find_dtype(dtype);
  if (info == NULL) return fail(error, error_size, "invalid dtype %d", (int)dtype);
  if (ndim > QK_NPY_MAX_DIMS) {
    return fail(error, error_size, "%zu dimensions, at most %d are supported", ndim,
                QK_NPY_MAX_DIMS);
  }
  size_t count, bytes;
  if (!shape_sizes(ndim, shape, info->size, &count, &bytes)) {
    char text[256];
    format_shape(ndim, shape, text, sizeof(text));
    return fail(error, error_size, "an array of shape %s and dtype %s is too large", text,
                info->name);
  }
  void* data = calloc(bytes ? bytes : 1, 1);
  if (data == NULL) return fail(error, error_size, "out of memory for %zu bytes", bytes);
  array->dtype = dtype;
  array->ndim = ndim;
  for (size_t i = 0; i < ndim; i++) array->shape[i] = shape[i];
  array->count = count;
  array->bytes = bytes;
  array->data = data;
  return true;
}

void qk_npy_free(qk_npy_array* array) {
  if (array == NULL) return;
  free(array->data);
  memset(array, 0, sizeof(*array));
}

/* ---------------------------------------------------------------------------------------------
 * The fixed prefix: magic, version, header length
 * ------------------------------------------------------------------------------------------- */
typedef struct npy_prefix {
  int major;
  size_t prefix_bytes; /* 10 or 12 */
  size_t header_bytes;
} npy_prefix;

/* Bytes of the prefix needed to know its own size: magic + version. */
#define NPY_VERSION_END (NPY_MAGIC_LEN + 2)

/* p holds the first `avail` bytes of the file (at most NPY_PREFIX_V2 are looked at). */
static bool parse_prefix(const uint8_t* p, size_t avail, const char* name, npy_prefix* out,
                         char* error, size_t error_size) {
  const size_t magic_avail = avail < NPY_MAGIC_LEN ? avail : NPY_MAGIC_LEN;
  if (memcmp(p, NPY_MAGIC, magic_avail) != 0) {
    return fail(error, error_size, "%s: not a .npy file (it does not start with \"\\x93NUMPY\")",
                name);
  }
  if (avail < NPY_VERSION_END) {
    return fail(error, error_size, "%s: truncated .npy file (%zu bytes, the prefix alone has 10)",
                name, avail);
  }
  const int major = p[6], minor = p[7];
  if (major < 1 || major > 3 || minor != 0) {
    return fail(error, error_size,
                "%s: unsupported .npy format version %d.%d (1.0, 2.0 and 3.0 are supported)", name,
                major, minor);
  }
  const size_t prefix_bytes = major == 1 ? NPY_PREFIX_V1 : NPY_PREFIX_V2;
  if (avail < prefix_bytes) {
    return fail(error, error_size,
                "%s: truncated .npy file (%zu bytes, the version %d.0 prefix alone has %zu)", name,
                avail, major, prefix_bytes);
  }
  size_t header_bytes = (size_t)p[8] | (size_t)p[9] << 8;
  if (major >= 2) header_bytes |= (size_t)p[10] << 16 | (size_t)p[11] << 24;
  if (header_bytes > QK_NPY_MAX_HEADER_BYTES) {
    return fail(error, error_size, "%s: header length %zu exceeds the limit of %d bytes", name,
                header_bytes, QK_NPY_MAX_HEADER_BYTES);
  }
  out->major = major;
  out->prefix_bytes = prefix_bytes;
  out->header_bytes = header_bytes;
  return true;
}

/* ---------------------------------------------------------------------------------------------
 * The header: a Python dict literal, parsed by a small recursive-descent reader
 * ------------------------------------------------------------------------------------------- */
typedef struct header_meta {
  const dtype_info* dtype;
  bool fortran; /* the data is in Fortran (column-major) order */
  size_t ndim;
  size_t shape[QK_NPY_MAX_DIMS];
} header_meta;

typedef struct cursor {
  const char* start;
  const char* p;
  const char* end;
  size_t file_offset; /* offset of `start` in the file, for messages */
  const char* name;
  char* error;
  size_t error_size;
} cursor;

static size_t cursor_offset(const cursor* c) { return c->file_offset + (size_t)(c->p - c->start); }

/* A well-formed but refused entry (unknown or repeated key): where, and what is wrong. */
__attribute__((format(printf, 2, 3))) static bool header_error(cursor* c, const char* format, ...) {
  char what[256];
  va_list args;
  va_start(args, format);
  vsnprintf(what, sizeof(what), format, args);
  va_end(args);
  return fail(c->error, c->error_size, "%s: malformed header at byte %zu: %s", c->name,
              cursor_offset(c), what);
}

/* One error message format for everything the grammar refuses: where, and what was expected. */
__attribute__((format(printf, 2, 3))) static bool syntax_error(cursor* c, const char* format, ...) {
  char what[256];
  va_list args;
  va_start(args, format);
  vsnprintf(what, sizeof(what), format, args);
  va_end(args);
  const size_t offset = cursor_offset(c);
  if (c->p >= c->end) {
    return fail(c->error, c->error_size, "%s: malformed header: %s, found the end of the header",
                c->name, what);
  }
  const unsigned char ch = (unsigned char)*c->p;
  if (ch >= 0x20 && ch < 0x7f) {
    return fail(c->error, c->error_size, "%s: malformed header at byte %zu: %s, found '%c'",
                c->name, offset, what, ch);
  }
  return fail(c->error, c->error_size, "%s: malformed header at byte %zu: %s, found byte 0x%02x",
              c->name, offset, what, ch);
}

static bool is_space(char ch) { return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r'; }
static bool is_digit(char ch) { return ch >= '0' && ch <= '9'; }
static bool is_identifier_char(char ch) {
  return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || is_digit(ch) || ch == '_';
}

static void skip_space(cursor* c) {
  while (c->p < c->end && is_space(*c->p)) c->p++;
}

/* Skips whitespace; consumes `ch` if it comes next. */
static bool accept(cursor* c, char ch) {
  skip_space(c);
  if (c->p < c->end && *c->p == ch) {
    c->p++;
    return true;
  }
  return false;
}

static bool expect(cursor* c, char ch, const char* context) {
  if (accept(c, ch)) return true;
  return syntax_error(c, "expected '%c' %s", ch, context);
}

/* A plain Python string literal ('...' or "..."), printable ASCII without backslashes; the text
 * (without quotes) is copied to out. */
static bool parse_string(cursor* c, char* out, size_t out_size, const char* what) {
  skip_space(c);
  if (c->p >= c->end || (*c->p != '\'' && *c->p != '"')) {
    return syntax_error(c, "expected %s as a quoted string", what);
  }
  const char quote = *c->p++;
  size_t len = 0;
  while (c->p < c->end && *c->p != quote) {
    const unsigned char ch = (unsigned char)*c->p;
    if (ch < 0x20 || ch >= 0x7f || ch == '\\') {
      return syntax_error(c, "expected a plain ASCII character in %s", what);
    }
    if (len + 1 >= out_size) return syntax_error(c, "%s is too long", what);
    out[len++] = (char)ch;
    c->p++;
  }
  if (c->p >= c->end) return syntax_error(c, "expected the closing quote of %s", what);
  c->p++;
  out[len] = '\0';
  return true;
}

/* Python's True or False, as a whole word. */
static bool parse_bool(cursor* c, bool* value) {
  skip_space(c);
  const size_t left = (size_t)(c->end - c->p);
  size_t len = 0;
  if (left >= 4 && memcmp(c->p, "True", 4) == 0) {
    len = 4;
    *value = true;
  } else if (left >= 5 && memcmp(c->p, "False", 5) == 0) {
    len = 5;
    *value = false;
  }
  if (len == 0 || (len < left && is_identifier_char(c->p[len]))) {
    return syntax_error(c, "expected True or False for 'fortran_order'");
  }
  c->p += len;
  return true;
}

/* A non-negative decimal integer as Python writes it (no sign, no leading zeros, no '_', no 'L'),
 * that fits size_t. */
static bool parse_dim(cursor* c, size_t* value) {
  skip_space(c);
  if (c->p < c->end && *c->p == '-') {
    return syntax_error(c, "expected a non-negative dimension in 'shape'");
  }
  if (c->p >= c->end || !is_digit(*c->p)) {
    return syntax_error(c, "expected an integer dimension in 'shape'");
  }
  const char* digits = c->p;
  size_t v = 0;
  while (c->p < c->end && is_digit(*c->p)) {
    if (__builtin_mul_overflow(v, (size_t)10, &v) ||
        __builtin_add_overflow(v, (size_t)(*c->p - '0'), &v)) {
      c->p = digits;
      return syntax_error(c, "expected a dimension in 'shape' that fits in %zu bits",
                          sizeof(size_t) * 8);
    }
    c->p++;
  }
  if (*digits == '0' && c->p - digits > 1) {
    c->p = digits;
    return syntax_error(c, "expected a dimension without leading zeros in 'shape'");
  }
  if (c->p < c->end && is_identifier_char(*c->p)) {
    return syntax_error(c, "expected a plain decimal integer dimension in 'shape'");
  }
  *value = v;
  return true;
}

/* A tuple of dimensions: "()", "(n,)", "(n, m)", "(n, m,)". "(n)" is an int, not a tuple. */
static bool parse_shape(cursor* c, header_meta* meta) {
  if (!expect(c, '(', "to open the 'shape' tuple")) return false;
  meta->ndim = 0;
  if (accept(c, ')')) return true;
  for (;;) {
    size_t dim = 0;
    if (!parse_dim(c, &dim)) return false;
    if (meta->ndim == QK_NPY_MAX_DIMS) {
      return syntax_error(c, "expected at most %d dimensions in 'shape'", QK_NPY_MAX_DIMS);
    }
    meta->shape[meta->ndim++] = dim;
    if (accept(c, ')')) {
      if (meta->ndim == 1)
        return syntax_error(c,
                            "expected ',' after the only dimension (\"(n)\" "
                            "is not a tuple)");
      return true;
    }
    if (!expect(c, ',', "or ')' after a dimension in 'shape'")) return false;
    if (accept(c, ')')) return true; /* trailing comma */
  }
}

/* '<f4', '|u1' ...: byte order then one of the supported type codes. */
static bool parse_descr(cursor* c, header_meta* meta) {
  skip_space(c);
  if (c->p < c->end && *c->p == '[') {
    return fail(c->error, c->error_size,
                "%s: structured dtypes (a list of named fields) are not supported; save a plain "
                "numeric array",
                c->name);
  }
  char descr[32];
  if (!parse_string(c, descr, sizeof(descr), "'descr'")) return false;
  const char order = descr[0];
  if (strcmp(descr, "|O") == 0) {
    return fail(c->error, c->error_size,
                "%s: object arrays (dtype '|O', pickled Python objects) are not supported; save "
                "a numeric array",
                c->name);
  }
  if (order == '>') {
    return fail(c->error, c->error_size,
                "%s: big-endian dtype '%s' is not supported (only little-endian data)", c->name,
                descr);
  }
  if (order == '<' || order == '|') {
    for (size_t i = 0; i < NPY_DTYPE_COUNT; i++) {
      if (strcmp(descr + 1, k_dtypes[i].code) == 0) {
        meta->dtype = &k_dtypes[i];
        return true;
      }
    }
  }
  return fail(c->error, c->error_size,
              "%s: unsupported dtype '%s' (supported: '|u1' uint8, '|i1' int8, '<i4' int32, "
              "'<i8' int64, '<f4' float32, '<f8' float64)",
              c->name, descr);
}

enum { KEY_DESCR, KEY_FORTRAN_ORDER, KEY_SHAPE, KEY_COUNT };
static const char* const k_keys[KEY_COUNT] = {"descr", "fortran_order", "shape"};

static bool parse_entry(cursor* c, header_meta* meta, bool seen[KEY_COUNT]) {
  char key[32];
  const char* key_start;
  skip_space(c);
  key_start = c->p;
  if (!parse_string(c, key, sizeof(key), "a key")) return false;
  int k = 0;
  while (k < KEY_COUNT && strcmp(key, k_keys[k]) != 0) k++;
  if (k == KEY_COUNT) {
    c->p = key_start;
    return header_error(c, "unknown key '%s' (the keys are 'descr', 'fortran_order', 'shape')",
                        key);
  }
  if (seen[k]) {
    c->p = key_start;
    return header_error(c, "duplicate key '%s'", key);
  }
  seen[k] = true;
  if (!expect(c, ':', "after a key")) return false;
  switch (k) {
    case KEY_DESCR: return parse_descr(c, meta);
    case KEY_SHAPE: return parse_shape(c, meta);
    default: return parse_bool(c, &meta->fortran);
  }
}

/* The whole header: '{' entries '}' then padding. Entries are separated by ',' with an optional
 * trailing ','; all three keys are required. */
static bool parse_header(const char* text, size_t len, size_t file_offset, const char* name,
                         header_meta* meta, char* error, size_t error_size) {
  cursor c = {text, text, text + len, file_offset, name, error, error_size};
  bool seen[KEY_COUNT] = {false, false, false};
  memset(meta, 0, sizeof(*meta));
  if (!expect(&c, '{', "at the start of the header dict")) return false;
  while (!accept(&c, '}')) {
    if (!parse_entry(&c, meta, seen)) return false;
    if (accept(&c, '}')) break;
    if (!expect(&c, ',', "or '}' after a dict entry")) return false;
  }
  skip_space(&c); /* numpy pads with spaces and a final newline */
  if (c.p != c.end) return syntax_error(&c, "expected only padding after the header dict");
  for (int k = 0; k < KEY_COUNT; k++) {
    if (!seen[k]) {
      return fail(error, error_size, "%s: malformed header: the key '%s' is missing", name,
                  k_keys[k]);
    }
  }
  return true;
}

/* Sizes of the data the header declares, checked against the bytes actually present. */
static bool check_data_size(const header_meta* meta, size_t present, const char* name,
                            size_t* count, size_t* bytes, char* error, size_t error_size) {
  char shape[256];
  format_shape(meta->ndim, meta->shape, shape, sizeof(shape));
  if (!shape_sizes(meta->ndim, meta->shape, meta->dtype->size, count, bytes)) {
    return fail(error, error_size, "%s: shape %s of %s overflows the address space", name, shape,
                meta->dtype->name);
  }
  if (present < *bytes) {
    return fail(error, error_size,
                "%s: truncated data: shape %s of %s needs %zu bytes, the file has %zu after the "
                "header",
                name, shape, meta->dtype->name, *bytes, present);
  }
  if (present > *bytes) {
    return fail(error, error_size,
                "%s: %zu unexpected bytes after the data (shape %s of %s is %zu bytes)", name,
                present - *bytes, shape, meta->dtype->name, *bytes);
  }
  return true;
}

/* Fills *array from the parsed header, taking ownership of data. */
static void fill_array(qk_npy_array* array, const header_meta* meta, size_t count, size_t bytes,
                       void* data) {
  array->dtype = meta->dtype->dtype;
  array->ndim = meta->ndim;
  memcpy(array->shape, meta->shape, sizeof(array->shape));
  array->count = count;
  array->bytes = bytes;
  array->data = data;
}

/* ---------------------------------------------------------------------------------------------
 * Layouts: elements in file order <-> elements of a strided array
 *
 * A walker visits the elements of an array in the order they are stored in the file (C order:
 * the last index fastest; Fortran order: the first index fastest) and tracks where each one is
 * in the caller's array (strides in items). Runs along the fastest file dimension are handled
 * as one loop, so the per-element cost is a copy of itemsize bytes.
 * ------------------------------------------------------------------------------------------- */
typedef struct walker {
  size_t ndim; /* >= 1: a 0-D array walks as shape (1,) */
  size_t itemsize;
  size_t shape[QK_NPY_MAX_DIMS];   /* in file order: [0] is the fastest dimension */
  size_t strides[QK_NPY_MAX_DIMS]; /* the caller's strides, in items, same order */
  size_t index[QK_NPY_MAX_DIMS];
  size_t offset; /* the current element's position in the caller's array, in items */
} walker;

/* strides == NULL: the dense C-order strides of the shape. */
static void walker_init(walker* w, size_t ndim, const size_t* shape, bool fortran,
                        const size_t* strides, size_t itemsize) {
  memset(w, 0, sizeof(*w));
  w->itemsize = itemsize;
  size_t c_strides[QK_NPY_MAX_DIMS];
  size_t step = 1;
  for (size_t i = ndim; i-- > 0;) {
    c_strides[i] = step;
    step *= shape[i]; /* cannot overflow: the array's size was checked */
  }
  if (strides == NULL) strides = c_strides;
  w->ndim = ndim ? ndim : 1;
  w->shape[0] = w->strides[0] = 1;
  for (size_t j = 0; j < ndim; j++) {
    const size_t dim = fortran ? j : ndim - 1 - j;
    w->shape[j] = shape[dim];
    w->strides[j] = strides[dim];
  }
}

/* Advances past a completed run of the fastest dimension (index[0] == shape[0]). */
static void walker_carry(walker* w) {
  w->offset -= w->shape[0] * w->strides[0];
  w->index[0] = 0;
  for (size_t k = 1; k < w->ndim; k++) {
    w->offset += w->strides[k];
    if (++w->index[k] < w->shape[k]) return;
    w->offset -= w->shape[k] * w->strides[k];
    w->index[k] = 0;
  }
}

/* Copies n elements between `file` (consecutive, file order) and the caller's array `array`.
 * to_array: file -> array (reading); else array -> file (writing). */
static void walker_copy(walker* w, uint8_t* file, uint8_t* array, size_t n, bool to_array) {
  const size_t size = w->itemsize;
  while (n > 0) {
    size_t run = w->shape[0] - w->index[0];
    if (run > n) run = n;
    const size_t stride = w->strides[0] * size;
    uint8_t* a = array + w->offset * size;
    if (stride == size) {
      if (to_array)
        memcpy(a, file, run * size);
      else
        memcpy(file, a, run * size);
    } else if (size == 1) {
      if (to_array) {
        for (size_t i = 0; i < run; i++) a[i * stride] = file[i];
      } else {
        for (size_t i = 0; i < run; i++) file[i] = a[i * stride];
      }
    } else {
      for (size_t i = 0; i < run; i++) {
        if (to_array)
          memcpy(a + i * stride, file + i * size, size);
        else
          memcpy(file + i * size, a + i * stride, size);
      }
    }
    file += run * size;
    n -= run;
    w->index[0] += run;
    w->offset += run * w->strides[0];
    if (w->index[0] == w->shape[0]) walker_carry(w);
  }
}

bool qk_npy_read_buffer(const void* buffer, size_t size, const char* name, qk_npy_array* array,
                        char* error, size_t error_size) {
  memset(array, 0, sizeof(*array));
  const uint8_t* p = (const uint8_t*)buffer;
  if (p == NULL && size != 0) return fail(error, error_size, "%s: NULL buffer", name);
  npy_prefix prefix = {0, 0, 0};
  if (!parse_prefix(p, size, name, &prefix, error, error_size)) return false;
  if (size - prefix.prefix_bytes < prefix.header_bytes) {
    return fail(error, error_size,
                "%s: truncated header: the prefix declares %zu header bytes, the file has %zu",
                name, prefix.header_bytes, size - prefix.prefix_bytes);
  }
  header_meta meta;
  if (!parse_header((const char*)p + prefix.prefix_bytes, prefix.header_bytes, prefix.prefix_bytes,
                    name, &meta, error, error_size)) {
    return false;
  }
  const size_t data_offset = prefix.prefix_bytes + prefix.header_bytes;
  size_t count, bytes;
  if (!check_data_size(&meta, size - data_offset, name, &count, &bytes, error, error_size)) {
    return false;
  }
  void* data = malloc(bytes ? bytes : 1);
  if (data == NULL) return fail(error, error_size, "%s: out of memory for %zu bytes", name, bytes);
  if (bytes && !meta.fortran) {
    memcpy(data, p + data_offset, bytes);
  } else if (bytes) {
    walker w;
    walker_init(&w, meta.ndim, meta.shape, true, NULL, meta.dtype->size);
    walker_copy(&w, (uint8_t*)(uintptr_t)(p + data_offset), data, count, true);
  }
  fill_array(array, &meta, count, bytes, data);
  return true;
}

/* ---------------------------------------------------------------------------------------------
 * Reading a file: qk_npy_open_file (prefix, header, size check), qk_npy_read_data (the data, into
 * any layout), qk_npy_close_file. qk_npy_read_file is the three in a row.
 * ------------------------------------------------------------------------------------------- */
struct qk_npy_file {
  FILE* f;
  char* path; /* a copy, for messages */
  header_meta meta;
  size_t count, bytes;
  bool data_read; /* qk_npy_read_data was called (it reads once) */
};

/* Reads up to n bytes; returns how many were read (< n only at end of file or on error). */
static size_t read_fully(FILE* f, void* out, size_t n) {
  size_t done = 0;
  while (done < n) {
    const size_t got = fread((char*)out + done, 1, n - done, f);
    if (got == 0) break;
    done += got;
  }
  return done;
}

static bool read_error(FILE* f, const char* path, char* error, size_t error_size) {
  if (ferror(f)) return fail(error, error_size, "%s: read error: %s", path, strerror(errno));
  return true;
}

/* The prefix: magic and version, then the 2- or 4-byte header length the version implies. */
static bool read_prefix(FILE* f, const char* path, npy_prefix* prefix, char* error,
                        size_t error_size) {
  uint8_t head[NPY_PREFIX_V2];
  size_t got = read_fully(f, head, NPY_VERSION_END);
  if (got == NPY_VERSION_END) got += read_fully(f, head + got, head[6] >= 2 ? 4 : 2);
  return read_error(f, path, error, error_size) &&
         parse_prefix(head, got, path, prefix, error, error_size);
}

static bool read_header(FILE* f, const char* path, const npy_prefix* prefix, header_meta* meta,
                        char* error, size_t error_size) {
  char* header = malloc(prefix->header_bytes ? prefix->header_bytes : 1);
  if (header == NULL) return fail(error, error_size, "%s: out of memory", path);
  const size_t got = read_fully(f, header, prefix->header_bytes);
  bool ok = read_error(f, path, error, error_size);
  if (ok && got < prefix->header_bytes) {
    ok = fail(error, error_size,
              "%s: truncated header: the prefix declares %zu header bytes, the file has %zu", path,
              prefix->header_bytes, got);
  }
  ok = ok && parse_header(header, prefix->header_bytes, prefix->prefix_bytes, path, meta, error,
                          error_size);
  free(header);
  return ok;
}

/* Everything after the file is open: prefix, header, sizes. */
static bool open_header(qk_npy_file* file, char* error, size_t error_size) {
  FILE* f = file->f;
  const char* path = file->path;
  struct stat st;
  if (fstat(fileno(f), &st) != 0) {
    return fail(error, error_size, "%s: cannot stat: %s", path, strerror(errno));
  }
  if (S_ISDIR(st.st_mode)) return fail(error, error_size, "%s: is a directory", path);
  npy_prefix prefix = {0, 0, 0};
  if (!read_prefix(f, path, &prefix, error, error_size) ||
      !read_header(f, path, &prefix, &file->meta, error, error_size)) {
    return false;
  }
  /* A regular file's size is compared before anything is allocated, so that a shape claiming
   * terabytes is refused as a truncated file rather than attempted. Pipes are checked while
   * their data is read. */
  const size_t data_offset = prefix.prefix_bytes + prefix.header_bytes;
  if (S_ISREG(st.st_mode)) {
    const size_t size = (size_t)st.st_size;
    const size_t present = size > data_offset ? size - data_offset : 0;
    return check_data_size(&file->meta, present, path, &file->count, &file->bytes, error,
                           error_size);
  }
  if (!shape_sizes(file->meta.ndim, file->meta.shape, file->meta.dtype->size, &file->count,
                   &file->bytes)) {
    return check_data_size(&file->meta, 0, path, &file->count, &file->bytes, error,
                           error_size); /* the overflow message */
  }
  return true;
}

bool qk_npy_open_file(const char* path, qk_npy_file** file_out, qk_npy_array* info, char* error,
                      size_t error_size) {
  *file_out = NULL;
  memset(info, 0, sizeof(*info));
  qk_npy_file* file = calloc(1, sizeof(*file));
  const size_t path_size = strlen(path) + 1;
  char* copy = malloc(path_size);
  if (file == NULL || copy == NULL) {
    free(file);
    free(copy);
    return fail(error, error_size, "%s: out of memory", path);
  }
  memcpy(copy, path, path_size);
  file->path = copy;
  file->f = fopen(path, "rb");
  if (file->f == NULL) {
    fail(error, error_size, "%s: cannot open: %s", path, strerror(errno));
    qk_npy_close_file(file);
    return false;
  }
  if (!open_header(file, error, error_size)) {
    qk_npy_close_file(file);
    return false;
  }
  fill_array(info, &file->meta, file->count, file->bytes, NULL);
  *file_out = file;
  return true;
}

/* After the last byte of data: the file must end there. Only one byte is probed, so an endless
 * pipe cannot keep the reader busy. */
static bool check_end(qk_npy_file* file, char* error, size_t error_size) {
  uint8_t extra;
  if (read_fully(file->f, &extra, 1) != 0) {
    char shape[256];
    format_shape(file->meta.ndim, file->meta.shape, shape, sizeof(shape));
    return fail(error, error_size,
                "%s: unexpected bytes after the data (shape %s of %s is %zu bytes)", file->path,
                shape, file->meta.dtype->name, file->bytes);
  }
  return read_error(file->f, file->path, error, error_size);
}

/* Fewer than the declared bytes arrived (a pipe, or a file that shrank): the error. */
static bool short_read(qk_npy_file* file, size_t got, char* error, size_t error_size) {
  if (!read_error(file->f, file->path, error, error_size)) return false;
  size_t count, bytes;
  if (!check_data_size(&file->meta, got, file->path, &count, &bytes, error, error_size)) {
    return false;
  }
  return fail(error, error_size, "%s: truncated data", file->path); /* not reached */
}

bool qk_npy_read_data(qk_npy_file* file, void* out, const size_t* strides, char* error,
                      size_t error_size) {
  if (file == NULL || file->data_read) {
    return fail(error, error_size, "%s: the data was already read",
                file ? file->path : "qk_npy_read_data");
  }
  file->data_read = true;
  if (file->bytes == 0) return check_end(file, error, error_size);
  if (strides == NULL && !file->meta.fortran) { /* the file's layout is the caller's: no copy */
    const size_t got = read_fully(file->f, out, file->bytes);
    if (got < file->bytes) return short_read(file, got, error, error_size);
    return check_end(file, error, error_size);
  }
  const size_t itemsize = file->meta.dtype->size;
  const size_t chunk_items = QK_NPY_CHUNK_BYTES / itemsize;
  const size_t chunk_bytes =
      (file->bytes < chunk_items * itemsize ? file->bytes : chunk_items * itemsize);
  uint8_t* chunk = malloc(chunk_bytes);
  if (chunk == NULL) return fail(error, error_size, "%s: out of memory", file->path);
  walker w;
  walker_init(&w, file->meta.ndim, file->meta.shape, file->meta.fortran, strides, itemsize);
  bool ok = true;
  for (size_t done = 0; ok && done < file->bytes;) {
    const size_t want = file->bytes - done < chunk_bytes ? file->bytes - done : chunk_bytes;
    const size_t got = read_fully(file->f, chunk, want);
    if (got < want) {
      ok = short_read(file, done + got, error, error_size);
      break;
    }
    walker_copy(&w, chunk, out, got / itemsize, true);
    done += got;
  }
  free(chunk);
  return ok && check_end(file, error, error_size);
}

void qk_npy_close_file(qk_npy_file* file) {
  if (file == NULL) return;
  if (file->f != NULL) fclose(file->f);
  free(file->path);
  free(file);
}

bool qk_npy_read_file(const char* path, qk_npy_array* array, char* error, size_t error_size) {
  memset(array, 0, sizeof(*array));
  qk_npy_file* file;
  qk_npy_array info;
  if (!qk_npy_open_file(path, &file, &info, error, error_size)) return false;
  void* data = malloc(info.bytes ? info.bytes : 1);
  bool ok =
      data != NULL || fail(error, error_size, "%s: out of memory for %zu bytes", path, info.bytes);
  ok = ok && qk_npy_read_data(file, data, NULL, error, error_size);
  qk_npy_close_file(file);
  if (!ok) {
    free(data);
    return false;
  }
  *array = info;
  array->data = data;
  return true;
}

/* ---------------------------------------------------------------------------------------------
 * Writing
 * ------------------------------------------------------------------------------------------- */

/* The header as numpy.save writes it: sorted keys, a trailing ", ", room for the first dimension
 * to grow, then spaces and a newline up to a multiple of NPY_ALIGN bytes including the prefix.
 * Returns the header length, or 0 if the array is not valid. */
static size_t format_header(const qk_npy_array* array, char* out, size_t out_size, int* major,
                            char* error, size_t error_size) {
  const dtype_info* info = find_dtype(array->dtype);
  if (info == NULL) {
    fail(error, error_size, "invalid dtype %d", (int)array->dtype);
    return 0;
  }
  char shape[256];
  format_shape(array->ndim, array->shape, shape, sizeof(shape));
  char dict[512];
  int len = snprintf(dict, sizeof(dict), "{'descr': '%c%s', 'fortran_order': False, 'shape': %s, }",
                     info->size == 1 ? '|' : '<', info->code, shape);
  if (array->ndim > 0) {
    char first[32];
    const int digits = snprintf(first, sizeof(first), "%zu", array->shape[0]);
    for (int i = digits; i < NPY_GROWTH_AXIS_MAX_DIGITS; i++) dict[len++] = ' ';
    dict[len] = '\0';
  }
  /* Version 1.0 stores the length in 2 bytes; a longer header needs 2.0 (never for <= 8 dims). */
  const size_t unpadded = (size_t)len + 1; /* + '\n' */
  *major = unpadded + NPY_ALIGN + NPY_PREFIX_V1 > 65535 ? 2 : 1;
  const size_t prefix = *major == 1 ? NPY_PREFIX_V1 : NPY_PREFIX_V2;
  const size_t padding = NPY_ALIGN - (prefix + unpadded) % NPY_ALIGN;
  const size_t total = unpadded + padding;
  if (total > out_size) {
    fail(error, error_size, "header too long");
    return 0;
  }
  memcpy(out, dict, (size_t)len);
  memset(out + len, ' ', padding);
  out[total - 1] = '\n';
  return total;
}

/* Prefix + header into out (at least NPY_PREFIX_V2 + 1024 bytes); returns its size or 0. */
static size_t encode_header(const qk_npy_array* array, uint8_t* out, size_t out_size, char* error,
                            size_t error_size) {
  size_t count, bytes;
  if (find_dtype(array->dtype) == NULL || array->ndim > QK_NPY_MAX_DIMS ||
      (array->data == NULL && array->bytes != 0) ||
      !shape_sizes(array->ndim, array->shape, qk_npy_dtype_size(array->dtype), &count, &bytes) ||
      count != array->count || bytes != array->bytes) {
    fail(error, error_size, "invalid array (dtype, rank, sizes or data inconsistent)");
    return 0;
  }
  int major;
  const size_t header_bytes = format_header(array, (char*)out + NPY_PREFIX_V2,
                                            out_size - NPY_PREFIX_V2, &major, error, error_size);
  if (header_bytes == 0) return 0;
  const size_t prefix = major == 1 ? NPY_PREFIX_V1 : NPY_PREFIX_V2;
  memmove(out + prefix, out + NPY_PREFIX_V2, header_bytes);
  memcpy(out, NPY_MAGIC, NPY_MAGIC_LEN);
  out[6] = (uint8_t)major;
  out[7] = 0;
  for (size_t i = 0; i < prefix - 8; i++) out[8 + i] = (uint8_t)(header_bytes >> (8 * i));
  return prefix + header_bytes;
}

#define NPY_HEADER_BUFFER (NPY_PREFIX_V2 + 1024)

bool qk_npy_write_buffer(const qk_npy_array* array, void** buffer, size_t* size, char* error,
                         size_t error_size) {
  *buffer = NULL;
  *size = 0;
  uint8_t header[NPY_HEADER_BUFFER];
  const size_t header_bytes = encode_header(array, header, sizeof(header), error, error_size);
  if (header_bytes == 0) return false;
  uint8_t* out = malloc(header_bytes + array->bytes);
  if (out == NULL) return fail(error, error_size, "out of memory");
  memcpy(out, header, header_bytes);
  if (array->bytes) memcpy(out + header_bytes, array->data, array->bytes);
  *buffer = out;
  *size = header_bytes + array->bytes;
  return true;
}

static bool write_all(int fd, const void* data, size_t n) {
  const char* p = (const char*)data;
  while (n > 0) {
    const ssize_t done = write(fd, p, n);
    if (done < 0 && errno == EINTR) continue;
    if (done <= 0) {
      if (done == 0) errno = EIO; /* no progress and no error: do not spin */
      return false;
    }
    p += done;
    n -= (size_t)done;
  }
  return true;
}

/* ---- The temporary file of the write in progress, for qk_npy_remove_partial_output ----
 * A fixed buffer (a signal handler can neither allocate nor wait for a lock), filled and cleared
 * with the three signals blocked, so a handler sees either no name or a complete one. */
#define NPY_TEMPORARY_MAX (PATH_MAX + 64)
static char g_partial_name[NPY_TEMPORARY_MAX];
static volatile sig_atomic_t g_partial_set;

static void block_termination_signals(sigset_t* saved) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGHUP);
  sigprocmask(SIG_BLOCK, &set, saved);
}

static void restore_signals(const sigset_t* saved) { sigprocmask(SIG_SETMASK, saved, NULL); }

void qk_npy_remove_partial_output(void) {
  if (g_partial_set) {
    unlink(g_partial_name);
    g_partial_set = 0;
  }
}

/* The file a write to `path` replaces: `path` itself, or for a symbolic link the end of its
 * chain (a relative link target counts from the link's directory). At most 40 links, as Linux
 * allows; a loop is ELOOP. Returns a malloc'ed path, or NULL with errno set. */
static char* resolve_target(const char* path) {
  size_t len = strlen(path);
  char* current = malloc(len + 1);
  if (current == NULL) return NULL;
  memcpy(current, path, len + 1);
  for (int links = 0;; links++) {
    struct stat st;
    if (lstat(current, &st) != 0) {
      if (errno == ENOENT) return current; /* a new file (or a missing directory: open says) */
      const int saved = errno;
      free(current);
      errno = saved;
      return NULL;
    }
    if (!S_ISLNK(st.st_mode)) return current;
    if (links == 40) {
      free(current);
      errno = ELOOP;
      return NULL;
    }
    const size_t link_size = (size_t)st.st_size > 0 ? (size_t)st.st_size : PATH_MAX;
    char* target = malloc(link_size + 1);
    const ssize_t n = target ? readlink(current, target, link_size + 1) : -1;
    if (n < 0 || (size_t)n > link_size) { /* n > link_size: the link changed meanwhile */
      const int saved = n < 0 ? errno : EAGAIN;
      free(target);
      free(current);
      errno = saved;
      return NULL;
    }
    target[n] = '\0';
    const char* slash = strrchr(current, '/');
    const size_t dir_len = (target[0] != '/' && slash) ? (size_t)(slash - current) + 1 : 0;
    char* next = malloc(dir_len + (size_t)n + 1);
    if (next == NULL) {
      free(target);
      free(current);
      errno = ENOMEM;
      return NULL;
    }
    memcpy(next, current, dir_len);
    memcpy(next + dir_len, target, (size_t)n + 1);
    free(target);
    free(current);
    current = next;
  }
}

/* Creates ".qk-<pid>-<n>.tmp" exclusively in the directory of `target` (mode 0666 less the umask,
 * as for any new file) and records its name, with the termination signals blocked. The name is
 * short whatever the target's, so that any valid target name works. */
static int create_temporary(const char* target, char* name) {
  const char* slash = strrchr(target, '/');
  const size_t dir_len = slash ? (size_t)(slash - target) + 1 : 0;
  if (dir_len + 48 > NPY_TEMPORARY_MAX) {
    errno = ENAMETOOLONG;
    return -1;
  }
  for (int attempt = 0; attempt < 100; attempt++) {
    memcpy(name, target, dir_len);
    snprintf(name + dir_len, NPY_TEMPORARY_MAX - dir_len, ".qk-%ld-%d.tmp", (long)getpid(),
             attempt);
    sigset_t saved;
    block_termination_signals(&saved);
    const int fd = open(name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd >= 0) {
      memcpy(g_partial_name, name, strlen(name) + 1);
      g_partial_set = 1;
    }
    const int saved_errno = errno;
    restore_signals(&saved);
    errno = saved_errno;
    if (fd >= 0 || errno != EEXIST) return fd;
  }
  errno = EEXIST;
  return -1;
}

/* Writes the data of an array (header excluded) in C order: directly when `strides` is NULL,
 * else gathered through a bounded buffer. */
static bool write_data(int fd, qk_npy_dtype dtype, size_t ndim, const size_t* shape, size_t count,
                       size_t bytes, const void* data, const size_t* strides) {
  if (strides == NULL) return write_all(fd, data, bytes);
  const size_t itemsize = qk_npy_dtype_size(dtype);
  const size_t chunk_items = QK_NPY_CHUNK_BYTES / itemsize;
  const size_t chunk_count = count < chunk_items ? count : chunk_items;
  uint8_t* chunk = malloc(chunk_count ? chunk_count * itemsize : 1);
  if (chunk == NULL) {
    errno = ENOMEM;
    return false;
  }
  walker w;
  walker_init(&w, ndim, shape, false, strides, itemsize);
  bool ok = true;
  for (size_t done = 0; ok && done < count;) {
    const size_t n = count - done < chunk_count ? count - done : chunk_count;
    walker_copy(&w, chunk, (uint8_t*)(uintptr_t)data, n, false);
    ok = write_all(fd, chunk, n * itemsize);
    done += n;
  }
  const int saved = errno;
  free(chunk);
  errno = saved;
  return ok;
}

bool qk_npy_write_file_strided(const char* path, qk_npy_dtype dtype, size_t ndim,
                               const size_t* shape, const void* data, const size_t* strides,
                               char* error, size_t error_size) {
  if (path == NULL || path[0] == '\0') return fail(error, error_size, "empty output path");
  /* The header (and the checks of dtype, rank and sizes) of the C-order array described. */
  qk_npy_array array;
  memset(&array, 0, sizeof(array));
  array.dtype = dtype;
  array.ndim = ndim;
  if (ndim <= QK_NPY_MAX_DIMS) {
    for (size_t i = 0; i < ndim; i++) array.shape[i] = shape[i];
  }
  array.data = (void*)(uintptr_t)data;
  if (find_dtype(dtype) != NULL && ndim <= QK_NPY_MAX_DIMS &&
      !shape_sizes(ndim, array.shape, qk_npy_dtype_size(dtype), &array.count, &array.bytes)) {
    array.count = SIZE_MAX; /* refused by encode_header */
  }
  uint8_t header[NPY_HEADER_BUFFER];
  char detail[256];
  const size_t header_bytes = encode_header(&array, header, sizeof(header), detail, sizeof(detail));
  if (header_bytes == 0) return fail(error, error_size, "%s: cannot write: %s", path, detail);

  char* target = resolve_target(path);
  if (target == NULL) {
    return fail(error, error_size, "%s: cannot resolve the output path: %s", path, strerror(errno));
  }
  /* A replaced file keeps its permission bits (as when numpy.save overwrites it in place). */
  struct stat st;
  const bool replaces_file = stat(target, &st) == 0 && S_ISREG(st.st_mode);
  char temporary[NPY_TEMPORARY_MAX];
  const int fd = create_temporary(target, temporary);
  if (fd < 0) {
    fail(error, error_size, "%s: cannot create a temporary file next to it: %s", path,
         strerror(errno));
    free(target);
    return false;
  }
  bool ok = (!replaces_file || fchmod(fd, st.st_mode & 07777) == 0) &&
            write_all(fd, header, header_bytes) &&
            write_data(fd, dtype, ndim, array.shape, array.count, array.bytes, data, strides);
  int saved_errno = errno;
  if (close(fd) != 0 && ok) {
    ok = false;
    saved_errno = errno;
  }
  if (!ok) fail(error, error_size, "%s: write error: %s", path, strerror(saved_errno));
  sigset_t saved;
  block_termination_signals(&saved);
  if (ok && rename(temporary, target) != 0) {
    ok = fail(error, error_size, "%s: cannot replace it with %s: %s", path, temporary,
              strerror(errno));
  }
  if (!ok) unlink(temporary);
  g_partial_set = 0;
  restore_signals(&saved);
  free(target);
  return ok;
}

bool qk_npy_write_file(const char* path, const qk_npy_array* array, char* error,
                       size_t error_size) {
  if (path == NULL || path[0] == '\0') return fail(error, error_size, "empty output path");
  uint8_t header[NPY_HEADER_BUFFER];
  char detail[256];
  if (encode_header(array, header, sizeof(header), detail, sizeof(detail)) == 0) {
    return fail(error, error_size, "%s: cannot write: %s", path, detail);
  }
  return qk_npy_write_file_strided(path, array->dtype, array->ndim, array->shape, array->data, NULL,
                                   error, error_size);
}
