/* The qk command-line tool's shared parts (cli.h). */
#include "cli.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int fail(failure* f, int status, const char* format, ...) {
  va_list args;
  va_start(args, format);
  vsnprintf(f->message, sizeof(f->message), format, args);
  va_end(args);
  return status;
}

/* Prints "qk <command>: <message>" as ONE line: control characters (a newline in a file name)
 * are shown as '?' so that scripts can rely on one line per failure. */
void print_failure(const char* command, const char* message) {
  fprintf(stderr, "qk%s%s: ", command ? " " : "", command ? command : "");
  for (const char* p = message; *p; p++) fputc((unsigned char)*p < 0x20 ? '?' : *p, stderr);
  fputc('\n', stderr);
}

/* ---------------------------------------------------------------------------------------------
 * Options: "--name value" or "--name=value"; flags take no value. Each command declares a table
 * indexed by its own enum; the parser fills one value per entry (NULL = absent, "" = flag set).
 * ------------------------------------------------------------------------------------------- */

static int find_option(const option_spec* specs, int count, const char* name, size_t len) {
  for (int i = 0; i < count; i++) {
    if (strlen(specs[i].name) == len && strncmp(specs[i].name, name, len) == 0) return i;
  }
  return -1;
}

int parse_options(int argc, char** argv, const option_spec* specs, int count, parsed_options* out,
                  failure* f) {
  memset(out, 0, sizeof(*out));
  for (int i = 0; i < argc; i++) {
    const char* arg = argv[i];
    if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
      out->help = true;
      return EXIT_OK;
    }
    if (strncmp(arg, "--", 2) != 0 || arg[2] == '\0') {
      return fail(f, EXIT_USAGE, "unexpected argument '%s' (options start with --)", arg);
    }
    const char* name = arg + 2;
    const char* equals = strchr(name, '=');
    const size_t len = equals ? (size_t)(equals - name) : strlen(name);
    const int k = find_option(specs, count, name, len);
    if (k < 0) return fail(f, EXIT_USAGE, "unknown option '--%.*s'", (int)len, name);
    if (out->value[k] != NULL) return fail(f, EXIT_USAGE, "option --%s given twice", specs[k].name);
    if (!specs[k].takes_value) {
      if (equals) return fail(f, EXIT_USAGE, "option --%s takes no value", specs[k].name);
      out->value[k] = "";
      continue;
    }
    if (equals) {
      out->value[k] = equals + 1;
    } else if (i + 1 < argc && strncmp(argv[i + 1], "--", 2) != 0) {
      out->value[k] = argv[++i];
    } else {
      return fail(f, EXIT_USAGE, "option --%s needs a value", specs[k].name);
    }
    if (out->value[k][0] == '\0') {
      return fail(f, EXIT_USAGE, "option --%s has an empty value", specs[k].name);
    }
  }
  return EXIT_OK;
}

int require(const parsed_options* o, const option_spec* specs, int k, failure* f) {
  if (o->value[k] == NULL) return fail(f, EXIT_USAGE, "missing option --%s", specs[k].name);
  return EXIT_OK;
}

/* ---------------------------------------------------------------------------------------------
 * Numbers from option text: the whole text must be the number, within the option's range.
 * ------------------------------------------------------------------------------------------- */
static bool starts_like_number(const char* text) {
  return text[0] != '\0' && text[0] != ' ' && text[0] != '\t' && text[0] != '\n';
}

/* A scale: float32 from its decimal (or hex) text, as the frameworks store it; positive, finite.
 * qk never calls setlocale, so the decimal point is '.' whatever the environment's locale. */
int parse_scale(const char* option, const char* text, float* out, failure* f) {
  char* end;
  errno = 0;
  const float v = strtof(text, &end);
  if (!starts_like_number(text) || *end != '\0' || end == text) {
    return fail(f, EXIT_USAGE, "--%s '%s' is not a number", option, text);
  }
  if (errno == ERANGE || !isfinite(v) || !(v > 0.0f)) {
    return fail(f, EXIT_USAGE, "--%s %s must be a positive, finite float32 value", option, text);
  }
  *out = v;
  return EXIT_OK;
}

int parse_int(const char* option, const char* text, long long min, long long max, long long* out,
              failure* f) {
  char* end;
  errno = 0;
  const long long v = strtoll(text, &end, 10);
  if (!starts_like_number(text) || *end != '\0' || end == text) {
    return fail(f, EXIT_USAGE, "--%s '%s' is not an integer", option, text);
  }
  if (errno == ERANGE || v < min || v > max) {
    return fail(f, EXIT_USAGE, "--%s %s is outside [%lld, %lld]", option, text, min, max);
  }
  *out = v;
  return EXIT_OK;
}

int parse_int32(const char* option, const char* text, int32_t min, int32_t max, int32_t* out,
                failure* f) {
  long long v = 0;
  const int status = parse_int(option, text, min, max, &v, f);
  if (status == EXIT_OK) *out = (int32_t)v;
  return status;
}

/* Comma-separated integers, each in [min, max]: as many as one of the counts in `counts` (a
 * zero-terminated list), else `forms` says what is allowed. Returns the count in *n. */
int parse_ints(const char* option, const char* text, long long min, long long max,
               const int* counts, const char* forms, size_t out[4], int* n, failure* f) {
  int count = 1;
  for (const char* p = text; *p; p++) count += *p == ',';
  bool allowed = false;
  for (const int* c = counts; *c; c++) allowed |= *c == count;
  if (!allowed) return fail(f, EXIT_USAGE, "--%s '%s' must be %s", option, text, forms);
  const char* p = text;
  for (int i = 0; i < count; i++) {
    const char* comma = strchr(p, ',');
    const size_t len = comma ? (size_t)(comma - p) : strlen(p);
    char item[64];
    if (len >= sizeof(item)) return fail(f, EXIT_USAGE, "--%s '%s' is not an integer", option, p);
    memcpy(item, p, len);
    item[len] = '\0';
    long long v = 0;
    const int status = parse_int(option, item, min, max, &v, f);
    if (status != EXIT_OK) return status;
    out[i] = (size_t)v;
    p += len + (comma != NULL);
  }
  *n = count;
  return EXIT_OK;
}

/* "N" (both values N) or "A,B". */
int parse_pair(const char* option, const char* text, long long min, long long max, size_t out[2],
               failure* f) {
  static const int counts[] = {1, 2, 0};
  size_t v[4];
  int n;
  const int status = parse_ints(option, text, min, max, counts, "N or N,M", v, &n, f);
  if (status != EXIT_OK) return status;
  out[0] = v[0];
  out[1] = n == 2 ? v[1] : v[0];
  return EXIT_OK;
}

/* "P" (every side), "PH,PW" (top and bottom PH, left and right PW) or "T,L,B,R" (the order of
 * qk_conv2d_desc and of ONNX's pads: begins then ends). out: top, left, bottom, right. */
int parse_padding(const char* text, long long max, size_t out[4], failure* f) {
  static const int counts[] = {1, 2, 4, 0};
  size_t v[4];
  int n;
  const int status = parse_ints("padding", text, 0, max, counts, "P, PH,PW or T,L,B,R", v, &n, f);
  if (status != EXIT_OK) return status;
  out[0] = v[0];
  out[1] = n >= 2 ? v[1] : v[0];
  out[2] = n == 4 ? v[2] : out[0];
  out[3] = n == 4 ? v[3] : out[1];
  return EXIT_OK;
}

/* The library's numerics modes, space separated, in value order: asked of the library
 * (qk_numerics_name of 1..63), so that a new mode appears here without a change to qk. */
const char* numerics_modes(void) {
  static char list[1024];
  if (list[0] != '\0') return list;
  for (int v = 1; v < 64; v++) {
    const char* name = qk_numerics_name((qk_numerics)v);
    if (name == NULL) continue;
    const size_t used = strlen(list);
    snprintf(list + used, sizeof(list) - used, "%s%s", used ? " " : "", name);
  }
  return list;
}

int parse_numerics(const char* text, qk_numerics* out, failure* f) {
  if (qk_numerics_from_name(text, out) != QK_SUCCESS) {
    return fail(f, EXIT_USAGE, "--numerics '%s' is not one of: %s (docs/numerics.md: which mode)",
                text, numerics_modes());
  }
  return EXIT_OK;
}

/* ---------------------------------------------------------------------------------------------
 * Arrays
 * ------------------------------------------------------------------------------------------- */
int load(const char* path, qk_npy_array* array, failure* f) {
  char error[QK_NPY_ERROR_SIZE];
  if (!qk_npy_read_file(path, array, error, sizeof(error))) return fail(f, EXIT_ERROR, "%s", error);
  return EXIT_OK;
}

int save(const char* path, const qk_npy_array* array, failure* f) {
  char error[QK_NPY_ERROR_SIZE];
  if (!qk_npy_write_file(path, array, error, sizeof(error))) {
    return fail(f, EXIT_ERROR, "%s", error);
  }
  return EXIT_OK;
}

void shape_text(const qk_npy_array* a, char* out, size_t size) {
  size_t len = (size_t)snprintf(out, size, "(");
  for (size_t i = 0; i < a->ndim && len < size; i++) {
    len += (size_t)snprintf(out + len, size - len, "%s%zu", i ? ", " : "", a->shape[i]);
  }
  if (len < size) snprintf(out + len, size - len, a->ndim == 1 ? ",)" : ")");
}

/* `what` names the role ("input", "bias"...) in messages. */
int require_rank(const char* path, const char* what, const qk_npy_array* a, size_t ndim,
                 const char* layout, failure* f) {
  if (a->ndim != ndim) {
    char shape[256];
    shape_text(a, shape, sizeof(shape));
    return fail(f, EXIT_ERROR, "%s: the %s must be %zu-D %s, got shape %s", path, what, ndim,
                layout, shape);
  }
  return EXIT_OK;
}

int require_vector(const char* path, const char* what, const qk_npy_array* a, size_t length,
                   const char* length_name, failure* f) {
  int status = require_rank(path, what, a, 1, "vector", f);
  if (status == EXIT_OK && a->shape[0] != length) {
    status = fail(f, EXIT_ERROR, "%s: the %s has %zu values, %s is %zu", path, what, a->shape[0],
                  length_name, length);
  }
  return status;
}

/* A per-channel parameter file: a vector of `length` values, or one value for all of them
 * (shape () or (1,): ONNX's per-tensor scales and zero points). */
int require_channels(const char* path, const char* what, const qk_npy_array* a, size_t length,
                     const char* length_name, failure* f) {
  if (a->ndim > 1) {
    char shape[256];
    shape_text(a, shape, sizeof(shape));
    return fail(f, EXIT_ERROR, "%s: the %s must be 1-D vector (or one value), got shape %s", path,
                what, shape);
  }
  if (a->count != length && a->count != 1) {
    return fail(f, EXIT_ERROR, "%s: the %s has %zu values, %s is %zu (or give one value for all)",
                path, what, a->count, length_name, length);
  }
  return EXIT_OK;
}

/* The Python name a file's array probably had, for hints: "x" for ".../x.npy", else "a". */
static void array_variable(const char* path, char* out, size_t size) {
  const char* slash = strrchr(path, '/');
  const char* base = slash ? slash + 1 : path;
  size_t len = strlen(base);
  if (len > 4 && strcmp(base + len - 4, ".npy") == 0) len -= 4;
  bool identifier = len > 0 && len < size && !(base[0] >= '0' && base[0] <= '9');
  for (size_t i = 0; identifier && i < len; i++) {
    const char ch = base[i];
    identifier = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
                 ch == '_';
  }
  snprintf(out, size, "%.*s", identifier ? (int)len : 1, identifier ? base : "a");
}

/* "the input must be uint8 or int8, got int64: save it with x.astype(np.uint8)": `cast` is the
 * NumPy type to convert to (NULL: no conversion helps), `advice` a further hint or NULL. */
int wrong_dtype(const char* path, const char* what, const qk_npy_array* a, const char* expected,
                const char* cast, const char* advice, failure* f) {
  char variable[64], hint[256] = "";
  array_variable(path, variable, sizeof(variable));
  if (cast != NULL) {
    snprintf(hint, sizeof(hint), ": save it with %s.astype(np.%s)%s%s", variable, cast,
             advice ? " " : "", advice ? advice : "");
  } else if (advice != NULL) {
    snprintf(hint, sizeof(hint), ": %s", advice);
  }
  return fail(f, EXIT_ERROR, "%s: the %s must be %s, got %s%s", path, what, expected,
              qk_npy_dtype_name(a->dtype), hint);
}

bool is_float(qk_npy_dtype t) { return t == QK_NPY_F32 || t == QK_NPY_F64; }

/* Zero points from an int32 or int64 array of `length` values or one value for all, each in
 * [min, max], as a new int32 array of `length` values. */
int zero_points_from(const char* path, const qk_npy_array* a, size_t length, int32_t min,
                     int32_t max, const char* range_name, int32_t** out, failure* f) {
  if (a->dtype != QK_NPY_I32 && a->dtype != QK_NPY_I64) {
    return wrong_dtype(path, "zero points", a, "int32 or int64", "int32",
                       is_float(a->dtype) ? "(zero points are integers)" : NULL, f);
  }
  int32_t* zp = malloc((length ? length : 1) * sizeof(int32_t));
  if (zp == NULL) return fail(f, EXIT_ERROR, "out of memory");
  for (size_t i = 0; i < a->count; i++) {
    const int64_t v =
        a->dtype == QK_NPY_I32 ? ((const int32_t*)a->data)[i] : ((const int64_t*)a->data)[i];
    if (v < min || v > max) {
      free(zp);
      return fail(f, EXIT_ERROR, "%s: zero point [%zu] = %lld is outside the %s range [%d, %d]",
                  path, i, (long long)v, range_name, (int)min, (int)max);
    }
    zp[i] = (int32_t)v;
  }
  for (size_t i = a->count; i < length; i++) zp[i] = zp[0]; /* one value for all */
  *out = zp;
  return EXIT_OK;
}

/* Scales from a float32 array (widened exactly to the double the API takes) or a float64 one
 * (as is: PyTorch's q_per_channel_scales() is float64), `length` values or one for all. */
int scales_from(const char* path, const qk_npy_array* a, size_t length, double** out, failure* f) {
  if (!is_float(a->dtype)) {
    return wrong_dtype(path, "scales", a, "float32 or float64", "float32", NULL, f);
  }
  double* s = malloc((length ? length : 1) * sizeof(double));
  if (s == NULL) return fail(f, EXIT_ERROR, "out of memory");
  for (size_t i = 0; i < a->count; i++) {
    s[i] = a->dtype == QK_NPY_F32 ? ((const float*)a->data)[i] : ((const double*)a->data)[i];
  }
  for (size_t i = a->count; i < length; i++) s[i] = s[0]; /* one value for all */
  *out = s;
  return EXIT_OK;
}

int library_error(qk_status status, failure* f) {
  return fail(f, EXIT_ERROR, "%s (%s)", qk_last_error(), qk_status_string(status));
}

/* "u8", "s8", "s32" (--dtype). */
int parse_dtype(const char* text, qk_dtype* out, failure* f) {
  if (strcmp(text, "u8") == 0)
    *out = QK_DTYPE_U8;
  else if (strcmp(text, "s8") == 0)
    *out = QK_DTYPE_S8;
  else if (strcmp(text, "s32") == 0)
    *out = QK_DTYPE_S32;
  else
    return fail(f, EXIT_USAGE, "--dtype '%s' is not one of u8, s8, s32", text);
  return EXIT_OK;
}

/* The value range of a quantized type. */
void dtype_range(qk_dtype type, int32_t* lo, int32_t* hi) {
  *lo = type == QK_DTYPE_U8 ? 0 : type == QK_DTYPE_S8 ? -128 : INT32_MIN;
  *hi = type == QK_DTYPE_U8 ? 255 : type == QK_DTYPE_S8 ? 127 : INT32_MAX;
}

qk_npy_dtype npy_dtype_of(qk_dtype type) {
  return type == QK_DTYPE_U8 ? QK_NPY_U8 : type == QK_DTYPE_S8 ? QK_NPY_I8 : QK_NPY_I32;
}
