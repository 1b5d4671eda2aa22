/*
 * A strict reader and writer of NumPy .npy files, for the qk command-line tool and its tests.
 *
 * Accepted (format versions 1.0, 2.0 and 3.0):
 *   - dtypes uint8 ('|u1' or '<u1'), int8 ('|i1'/'<i1'), int32 ('<i4'), int64 ('<i8'), float32
 *     ('<f4') and float64 ('<f8'); '|' is also accepted for the multi-byte types (NumPy reads it
 *     as native order), '>' (big-endian) never;
 *   - C order and Fortran order (fortran_order True, e.g. a transposed tensor saved as is): the
 *     data is always handed over in C order, whatever the file's order;
 *   - 0 to QK_NPY_MAX_DIMS dimensions;
 *   - a header that is exactly a Python dict literal with the three keys 'descr', 'fortran_order'
 *     and 'shape' in any order, with the whitespace and trailing commas NumPy writes, followed by
 *     spaces/newlines of padding. Anything else (unknown or duplicate keys, other value types,
 *     escapes, comments, garbage) is refused.
 * The data that follows the header must be exactly count * itemsize bytes: a truncated file and a
 * file with trailing bytes are both errors. Every size computation is overflow-checked and nothing
 * is read past the end of the input.
 *
 * Errors are reported as a bool result plus a one-line message in a caller-supplied buffer, that
 * names the file (or the name given for a buffer) and what is wrong with it.
 *
 * The writer produces what numpy.save writes (version 1.0 unless the header needs 2.0, padded so
 * the data starts at a multiple of 64 bytes), always in C order, into a temporary file that is
 * renamed over the target only once complete: a failed write never leaves a partial file.
 *
 * Entry points by use:
 *   - a .npy file held in memory (e.g. a fuzzer's input): qk_npy_read_buffer. It does no I/O.
 *   - a whole file into a new C-order array: qk_npy_read_file.
 *   - a large file straight into a layout of the caller's (e.g. NCHW on disk into an NHWC
 *     buffer, without a second copy): qk_npy_open_file, qk_npy_read_data, qk_npy_close_file.
 *   - writing: qk_npy_write_file (a C-order array), qk_npy_write_file_strided (any layout).
 *
 * Only little-endian hosts are supported (x86-64 and AArch64 Linux): data is copied as is.
 */
#ifndef QK_TOOLS_NPY_H
#define QK_TOOLS_NPY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define QK_NPY_MAX_DIMS 8
/* Longest header (the dict text and its padding) accepted from any version. NumPy's own reader
 * refuses headers longer than 10000 bytes by default; the arrays qk reads need < 200. */
#define QK_NPY_MAX_HEADER_BYTES 65535
/* A buffer of this size holds every message the functions below write. */
#define QK_NPY_ERROR_SIZE 1024

typedef enum qk_npy_dtype {
  QK_NPY_INVALID = 0,
  QK_NPY_U8 = 1,  /* 'u1' */
  QK_NPY_I8 = 2,  /* 'i1' */
  QK_NPY_I32 = 3, /* 'i4' */
  QK_NPY_I64 = 4, /* 'i8' */
  QK_NPY_F32 = 5, /* 'f4' */
  QK_NPY_F64 = 6, /* 'f8' */
} qk_npy_dtype;

typedef struct qk_npy_array {
  qk_npy_dtype dtype;
  size_t ndim;                   /* 0 (a scalar) .. QK_NPY_MAX_DIMS */
  size_t shape[QK_NPY_MAX_DIMS]; /* shape[ndim..] are 0 */
  size_t count;                  /* product of the shape (1 for ndim == 0) */
  size_t bytes;                  /* count * itemsize */
  void* data;                    /* C order; owned, malloc'ed, never NULL after a success */
} qk_npy_array;

/* NumPy's name of the dtype ("uint8", "int8", "int32", "int64", "float32", "float64"), "invalid"
 * else. */
const char* qk_npy_dtype_name(qk_npy_dtype dtype);
/* Bytes per element, 0 for QK_NPY_INVALID. */
size_t qk_npy_dtype_size(qk_npy_dtype dtype);

/* Allocates array->data for a new array of the given type and shape (zero-filled) and fills every
 * field. On failure (bad dtype or rank, overflow, out of memory) *array is zeroed. */
bool qk_npy_alloc(qk_npy_array* array, qk_npy_dtype dtype, size_t ndim, const size_t* shape,
                  char* error, size_t error_size);
/* Frees the data and zeroes the array; NULL and zeroed arrays are accepted. */
void qk_npy_free(qk_npy_array* array);

/* Parses a whole .npy file held in memory (`size` bytes at `buffer`, never read beyond); `name`
 * is used in error messages. On success *array owns a copy of the data in C order (suitably
 * aligned for its type); on failure *array is zeroed. No I/O, no global state: the entry point
 * for fuzzing the parser. */
bool qk_npy_read_buffer(const void* buffer, size_t size, const char* name, qk_npy_array* array,
                        char* error, size_t error_size);
/* Reads and parses a .npy file. Same contract as qk_npy_read_buffer; messages name `path`. */
bool qk_npy_read_file(const char* path, qk_npy_array* array, char* error, size_t error_size);

/* ---- Reading in two steps: the header, then the data straight into the caller's layout ----
 *
 * qk_npy_open_file opens `path`, reads and checks its header and, for a regular file, that the
 * data has exactly the declared size (a pipe is checked while its data is read). On success
 * *file is an open reader and *info describes the array (dtype, ndim, shape, count, bytes) with
 * info->data NULL; on failure *file is NULL and *info zeroed. */
typedef struct qk_npy_file qk_npy_file;
bool qk_npy_open_file(const char* path, qk_npy_file** file, qk_npy_array* info, char* error,
                      size_t error_size);
/* Reads the data, once, into `out`. Element [i0][i1]...[i(n-1)] (C-order indices of the shape in
 * info) goes to element sum(i_k * strides[k]) of out, counted in items of the dtype; strides NULL
 * means C order (strides of a dense C-order array). The caller's buffer must hold every element
 * so addressed. Works through a bounded buffer (QK_NPY_CHUNK_BYTES), whatever the file's order.
 * Fails on a read error, a truncated pipe, or bytes after the data. */
bool qk_npy_read_data(qk_npy_file* file, void* out, const size_t* strides, char* error,
                      size_t error_size);
/* Closes the reader; NULL is accepted. */
void qk_npy_close_file(qk_npy_file* file);

/* Bytes of the intermediate buffer that reads into a strided layout and strided writes use. */
#define QK_NPY_CHUNK_BYTES ((size_t)1 << 20)

/* Encodes the array as a complete .npy file in a malloc'ed buffer (*buffer, *size). */
bool qk_npy_write_buffer(const qk_npy_array* array, void** buffer, size_t* size, char* error,
                         size_t error_size);

/* Writes the array to `path` atomically: the bytes go to a temporary file ".qk-<pid>-<n>.tmp" in
 * the target's directory (a short name, so any valid target name works), which is renamed over
 * the target once complete. A target that is a symbolic link is written through, like open(2)
 * and numpy.save do: the link stays, the file it points to (followed to the end of a chain of
 * links, created if the link dangles) is replaced. A replaced file keeps its permission bits.
 *
 * While the temporary file exists its name is recorded for qk_npy_remove_partial_output, with
 * SIGTERM, SIGINT and SIGHUP blocked around its creation and its rename so that the record is
 * never stale. One write at a time per process (the record has one slot). */
bool qk_npy_write_file(const char* path, const qk_npy_array* array, char* error, size_t error_size);
/* The same for an array of `dtype` and `shape` whose element [i0]...[i(n-1)] is element
 * sum(i_k * strides[k]) of `data` (strides in items; NULL = C order), e.g. an NHWC buffer written
 * as an NCHW array. The file is written through a bounded buffer (QK_NPY_CHUNK_BYTES). */
bool qk_npy_write_file_strided(const char* path, qk_npy_dtype dtype, size_t ndim,
                               const size_t* shape, const void* data, const size_t* strides,
                               char* error, size_t error_size);

/* Removes the temporary file of a write in progress, if any. Async-signal-safe (one unlink):
 * meant for a handler of SIGTERM, SIGINT and SIGHUP that then re-raises the signal, so that an
 * interrupted program leaves no partial file. */
void qk_npy_remove_partial_output(void);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* QK_TOOLS_NPY_H */
