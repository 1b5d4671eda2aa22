/* qk models (include/qk_model.h): load a qk model file (docs/model-format.md), create its operators,
 * plan its activations into one arena, run it.
 *
 * The runtime is a client of the operator API (include/qk.h) and nothing else: it never reaches
 * into kernels/ or arch/, so a model computes exactly what the operators compute one by one.
 *
 * Values (the edges of the graph) are 4-D, NCHW as the framework sees them. Quantized values live
 * in the arena in NHWC, the operators' layout; float values that are model inputs / outputs live in
 * the caller's buffers (NCHW), others in the arena (NCHW). Each node may have a scratch buffer (the
 * layout change of quantize / dequantize); every conv2d's workspace slice per thread sits after the
 * planned part of the arena. Buffers whose lifetimes do not overlap share addresses. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qk_model.h"
#include "kernels/common.h"
#include "runtime/safetensors.h"

#define QK_MODEL_FORMAT "qk-model"
#define QK_MODEL_VERSION 1
/* A model file larger than this is refused before it is read (a hostile path is not a reason to
 * read terabytes). */
#define QK_MODEL_MAX_FILE_BYTES ((size_t)1 << 34)
#define ARENA_ALIGNMENT 64

typedef enum node_kind { NODE_QUANTIZE, NODE_DEQUANTIZE, NODE_CONV2D } node_kind;
static const char* const k_node_names[] = {"quantize", "dequantize", "conv2d"};

typedef struct value {
  char* name;
  qk_dtype dtype; /* F32, U8 or S8 */
  size_t shape[4]; /* N, C, H, W */
  size_t bytes;
  double scale;
  int32_t zero_point;
  int model_input, model_output; /* index at the model's boundary, or -1 */
  /* Lifetime in steps: step 0 converts quantized model inputs, step i + 1 runs node i, the last
   * step converts quantized model outputs. */
  size_t first_step, last_step;
  bool in_arena;
  size_t offset;
} value;

typedef struct node {
  node_kind kind;
  size_t input, output; /* value indices */
  qk_conv2d* conv;
  size_t conv_workspace; /* bytes per thread */
  size_t scratch_bytes, scratch_offset;
} node;

struct qk_model {
  qk_numerics numerics;
  value* values;
  size_t value_count;
  node* nodes;
  size_t node_count;
  size_t* inputs; /* value indices */
  size_t input_count;
  size_t* outputs;
  size_t output_count;
  size_t planned_bytes;      /* activations and scratch */
  size_t workspace_per_thread; /* max over conv2d nodes, aligned */
};

/* ---- small helpers --------------------------------------------------------------------------- */

static size_t dtype_size(qk_dtype t) { return t == QK_DTYPE_F32 ? 4 : 1; }

static bool parse_dtype_name(const char* s, qk_dtype* t) {
  if (strcmp(s, "f32") == 0) *t = QK_DTYPE_F32;
  else if (strcmp(s, "u8") == 0) *t = QK_DTYPE_U8;
  else if (strcmp(s, "s8") == 0) *t = QK_DTYPE_S8;
  else return false;
  return true;
}

/* Refuses keys the format does not define: a typo in an exporter must not be silently ignored. */
static qk_status check_keys(const cJSON* object, const char* what, const char* const* allowed) {
  const cJSON* item;
  cJSON_ArrayForEach(item, object) {
    bool known = false;
    for (const char* const* a = allowed; *a != NULL; a++) known = known || strcmp(item->string, *a) == 0;
    if (!known) return qk_fail(QK_ERROR_INVALID_ARGUMENT, "%s: unknown key '%s'", what, item->string);
  }
  return QK_SUCCESS;
}

static const char* get_string(const cJSON* object, const char* key) {
  const cJSON* item = cJSON_GetObjectItemCaseSensitive(object, key);
  return cJSON_IsString(item) ? item->valuestring : NULL;
}

/* An integer-valued JSON number in [lo, hi]. */
static bool get_int(const cJSON* object, const char* key, double lo, double hi, int64_t* out) {
  const cJSON* item = cJSON_GetObjectItemCaseSensitive(object, key);
  if (!cJSON_IsNumber(item)) return false;
  const double v = item->valuedouble;
  if (!(v >= lo && v <= hi) || v != (double)(int64_t)v) return false;
  *out = (int64_t)v;
  return true;
}

static bool get_double(const cJSON* object, const char* key, double* out) {
  const cJSON* item = cJSON_GetObjectItemCaseSensitive(object, key);
  if (!cJSON_IsNumber(item)) return false;
  *out = item->valuedouble;
  return true;
}

/* An array of `count` integers in [lo, hi]. */
static bool get_ints(const cJSON* object, const char* key, size_t count, double lo, double hi,
                     size_t* out) {
  const cJSON* array = cJSON_GetObjectItemCaseSensitive(object, key);
  if (!cJSON_IsArray(array) || (size_t)cJSON_GetArraySize(array) != count) return false;
  size_t i = 0;
  const cJSON* item;
  cJSON_ArrayForEach(item, array) {
    const double v = cJSON_IsNumber(item) ? item->valuedouble : -1.0;
    if (!cJSON_IsNumber(item) || !(v >= lo && v <= hi) || v != (double)(size_t)v) return false;
    out[i++] = (size_t)v;
  }
  return true;
}

static bool find_value(const qk_model* m, const char* name, size_t* index) {
  for (size_t i = 0; i < m->value_count; i++) {
    if (strcmp(m->values[i].name, name) == 0) {
      *index = i;
      return true;
    }
  }
  return false;
}

static qk_status add_value(qk_model* m, const char* name, const char* what, size_t* index) {
  size_t existing;
  if (find_value(m, name, &existing)) {
    return qk_fail(QK_ERROR_INVALID_ARGUMENT, "%s: value '%s' is defined twice", what, name);
  }
  value* v = &m->values[m->value_count];
  memset(v, 0, sizeof(*v));
  v->name = strdup(name);
  if (v->name == NULL) return qk_fail(QK_ERROR_OUT_OF_MEMORY, "%s: out of memory", what);
  v->model_input = v->model_output = -1;
  *index = m->value_count++;
  return QK_SUCCESS;
}

static qk_status set_bytes(value* v, const char* what) {
  size_t n = dtype_size(v->dtype);
  for (int d = 0; d < 4; d++) {
    if (v->shape[d] == 0 || !qk_mul_size(n, v->shape[d], &n)) {
      return qk_fail(QK_ERROR_SIZE_OVERFLOW, "%s: value '%s' is empty or its size overflows", what,
                     v->name);
    }
  }
  v->bytes = n;
  return QK_SUCCESS;
}

static qk_status check_qparams(const char* what, qk_dtype dtype, double scale, int64_t zp) {
  int32_t lo, hi;
  if (!qk_dtype_range(dtype, &lo, &hi) || dtype == QK_DTYPE_S32) {
    return qk_fail(QK_ERROR_INVALID_ARGUMENT, "%s: the dtype must be u8 or s8", what);
  }
  if (!qk_scale_is_valid(scale) || zp < lo || zp > hi) {
    return qk_fail(QK_ERROR_INVALID_ARGUMENT,
                   "%s: scale %g must be positive and finite, zero point %lld in [%d, %d]", what,
                   scale, (long long)zp, (int)lo, (int)hi);
  }
  return QK_SUCCESS;
}

/* ---- graph inputs ---------------------------------------------------------------------------- */

static qk_status parse_input(qk_model* m, const cJSON* in, size_t index) {
  char what[64];
  snprintf(what, sizeof(what), "graph input %zu", index);
  static const char* const keys[] = {"name", "dtype", "shape", "scale", "zero_point", NULL};
  qk_status s = check_keys(in, what, keys);
  if (s != QK_SUCCESS) return s;
  const char* name = get_string(in, "name");
  const char* dtype = get_string(in, "dtype");
  if (name == NULL || dtype == NULL) {
    return qk_fail(QK_ERROR_INVALID_ARGUMENT, "%s: needs a name and a dtype", what);
  }
  size_t vi;
  if ((s = add_value(m, name, what, &vi)) != QK_SUCCESS) return s;
  value* v = &m->values[vi];
  if (!parse_dtype_name(dtype, &v->dtype)) {
    return qk_fail(QK_ERROR_INVALID_ARGUMENT, "%s: dtype '%s' is not f32, u8 or s8", what, dtype);
  }
  if (!get_ints(in, "shape", 4, 1, 1e15, v->shape)) {
    return qk_fail(QK_ERROR_INVALID_ARGUMENT, "%s: shape must be [N, C, H, W] of positive sizes",
                   what);
  }
  if (v->dtype != QK_DTYPE_F32) {
    int64_t zp;
    if (!get_double(in, "scale", &v->scale) || !get_int(in, "zero_point", -1e9, 1e9, &zp)) {
      return qk_fail(QK_ERROR_INVALID_ARGUMENT, "%s: a quantized input needs scale and zero_point",
                     what);
    }
    if ((s = check_qparams(what, v->dtype, v->scale, zp)) != QK_SUCCESS) return s;
    v->zero_point = (int32_t)zp;
    v->in_arena = true; /* converted from the caller's NCHW at step 0 */
  }
  v->model_input = (int)index;
  m->inputs[index] = vi;
  return set_bytes(v, what);
}

/* ---- nodes ------------------------------------------------------------------------------------ */

/* A tensor of the file, by the name a node field gives, with its dtype and element count checked. */
static qk_status get_tensor(const qk_st_file* f, const cJSON* js, const char* key,
                            const char* what, bool required, const qk_st_tensor** t) {
  *t = NULL;
  const cJSON* item = cJSON_GetObjectItemCaseSensitive(js, key);
  if (item == NULL && !required) return QK_SUCCESS;
  if (!cJSON_IsString(item)) {
    return qk_fail(QK_ERROR_INVALID_ARGUMENT, "%s: '%s' must name a tensor", what, key);
  }
  *t = qk_st_find(f, item->valuestring);
  if (*t == NULL) {
    return qk_fail(QK_ERROR_INVALID_ARGUMENT, "%s: %s tensor '%s' is not in the file", what, key,
                   item->valuestring);
  }
  return QK_SUCCESS;
}

/* Copies a 1-D tensor of `count` values into doubles / int32s (file data may be unaligned). */
static bool read_doubles(const qk_st_tensor* t, double* out) {
  if (t->dtype != QK_ST_F64 && t->dtype != QK_ST_F32) return false;
  for (size_t i = 0; i < t->count; i++) {
    if (t->dtype == QK_ST_F64) {
      memcpy(&out[i], t->data + 8 * i, 8);
    } else {
      float f;
      memcpy(&f, t->data + 4 * i, 4);
      out[i] = f;
    }
  }
  return true;
}

static bool read_int32s(const qk_st_tensor* t, int32_t* out) {
  for (size_t i = 0; i < t->count; i++) {
    if (t->dtype == QK_ST_I32) {
      memcpy(&out[i], t->data + 4 * i, 4);
    } else if (t->dtype == QK_ST_I64) {
      int64_t v;
      memcpy(&v, t->data + 8 * i, 8);
      if (v < INT32_MIN || v > INT32_MAX) return false;
      out[i] = (int32_t)v;
    } else {
      return false;
    }
  }
  return true;
}

static bool is_vector(const qk_st_tensor* t, size_t count) {
  return t->rank == 1 && t->shape[0] == count;
}

static qk_status parse_conv2d(qk_model* m, const qk_st_file* f, const cJSON* js, node* n,
                              const char* what) {
  static const char* const keys[] = {
      "op", "name", "input", "output", "weight", "weight_scales", "weight_zero_points", "bias",
      "stride", "padding", "dilation", "groups", "relu", "output_dtype", "output_scale",
      "output_zero_point", "output_min", "output_max", "weight_quantization", NULL};
  qk_status s = check_keys(js, what, keys);
  if (s != QK_SUCCESS) return s;
  const value* x = &m->values[n->input];
  if (x->dtype == QK_DTYPE_F32) {
    return qk_fail(QK_ERROR_INVALID_ARGUMENT, "%s: input '%s' is float, not quantized", what,
                   x->name);
  }
  const qk_st_tensor *w, *ws, *wzp, *bias;
  if ((s = get_tensor(f, js, "weight", what, true, &w)) != QK_SUCCESS ||
      (s = get_tensor(f, js, "weight_scales", what, true, &ws)) != QK_SUCCESS ||
      (s = get_tensor(f, js, "weight_zero_points", what, false, &wzp)) != QK_SUCCESS ||
      (s = get_tensor(f, js, "bias", what, false, &bias)) != QK_SUCCESS) {
    return s;
  }
  if (w->dtype != QK_ST_I8 || w->rank != 4 || w->count == 0) {
    return qk_fail(QK_ERROR_INVALID_ARGUMENT, "%s: weight must be I8 [O, C/G, KH, KW]", what);
  }
  qk_conv2d_desc d;
  qk_conv2d_desc_init(&d);
  d.numerics = m->numerics;
  d.output_channels = w->shape[0];
  d.input_channels = x->shape[1];
  d.kernel_height = w->shape[2];
  d.kernel_width = w->shape[3];
  int64_t groups = 1;
  if (cJSON_GetObjectItemCaseSensitive(js, "groups") != NULL &&
      !get_int(js, "groups", 1, 1e9, &groups)) {
    return qk_fail(QK_ERROR_INVALID_ARGUMENT, "%s: groups must be a positive integer", what);
  }
  d.groups = (size_t)groups;
  if (w->shape[1] * d.groups != d.input_channels) {
    return qk_fail(QK_ERROR_INVALID_ARGUMENT,
                   "%s: weight has %zu input channels per group, the input %zu channels in %zu "
                   "groups",
                   what, w->shape[1], d.input_channels, d.groups);
  }
  size_t pair[2], four[4];
  if (!get_ints(js, "stride", 2, 1, 1e6, pair)) {
    return qk_fail(QK_ERROR_INVALID_ARGUMENT, "%s: stride must be [SH, SW] >= 1", what);
  }
  d.stride_height = pair[0];
  d.stride_width = pair[1];
  if (!get_ints(js, "dilation", 2, 1, 1e6, pair)) {
    return qk_fail(QK_ERROR_INVALID_ARGUMENT, "%s: dilation must be [DH, DW] >= 1", what);
  }
  d.dilation_height = pair[0];
  d.dilation_width = pair[1];
  if (!get_ints(js, "padding", 4, 0, 1e6, four)) {
    return qk_fail(QK_ERROR_INVALID_ARGUMENT, "%s: padding must be [top, left, bottom, right]",
                   what);
  }
  d.padding_top = four[0];
  d.padding_left = four[1];
  d.padding_bottom = four[2];
  d.padding_right = four[3];
  const cJSON* relu = cJSON_GetObjectItemCaseSensitive(js, "relu");
  if (relu != NULL && !cJSON_IsBool(relu)) {
    return qk_fail(QK_ERROR_INVALID_ARGUMENT, "%s: relu must be true or false", what);
  }
  d.relu = cJSON_IsTrue(relu);
  d.input_type = x->dtype;
  d.input_scale = x->scale;
  d.input_zero_point = x->zero_point;

  const char* wq = get_string(js, "weight_quantization");
  if (wq != NULL) {
    if (strcmp(wq, "per-tensor") == 0) d.weight_quantization = QK_WEIGHT_QUANTIZATION_PER_TENSOR;
    else if (strcmp(wq, "per-channel") == 0) d.weight_quantization = QK_WEIGHT_QUANTIZATION_PER_CHANNEL;
    else return qk_fail(QK_ERROR_INVALID_ARGUMENT, "%s: weight_quantization '%s'", what, wq);
  }
  const size_t o = d.output_channels;
  if (!is_vector(ws, 1) && !is_vector(ws, o)) {
    return qk_fail(QK_ERROR_INVALID_ARGUMENT, "%s: weight_scales must have 1 or %zu values", what,
                   o);
  }
  if (wzp != NULL && !is_vector(wzp, ws->count)) {
    return qk_fail(QK_ERROR_INVALID_ARGUMENT,
                   "%s: weight_zero_points must have as many values as weight_scales", what);
  }
  if (bias != NULL && (!is_vector(bias, o) || (bias->dtype != QK_ST_F32 && bias->dtype != QK_ST_I32))) {
    return qk_fail(QK_ERROR_INVALID_ARGUMENT, "%s: bias must be F32 or I32 with %zu values", what,
                   o);
  }
  const char* odtype = get_string(js, "output_dtype");
  int64_t ozp;
  if (odtype == NULL || !parse_dtype_name(odtype, &d.output_type) ||
      d.output_type == QK_DTYPE_F32 || !get_double(js, "output_scale", &d.output_scale) ||
      !get_int(js, "output_zero_point", -1e9, 1e9, &ozp)) {
    return qk_fail(QK_ERROR_INVALID_ARGUMENT,
                   "%s: needs output_dtype (u8/s8), output_scale and output_zero_point", what);
  }
  if ((s = check_qparams(what, d.output_type, d.output_scale, ozp)) != QK_SUCCESS) return s;
  d.output_zero_point = (int32_t)ozp;
  int64_t bound;
  if (cJSON_GetObjectItemCaseSensitive(js, "output_min") != NULL) {
    if (!get_int(js, "output_min", INT32_MIN, INT32_MAX, &bound)) {
      return qk_fail(QK_ERROR_INVALID_ARGUMENT, "%s: output_min must be an int32", what);
    }
    d.output_min = (int32_t)bound;
  }
  if (cJSON_GetObjectItemCaseSensitive(js, "output_max") != NULL) {
    if (!get_int(js, "output_max", INT32_MIN, INT32_MAX, &bound)) {
      return qk_fail(QK_ERROR_INVALID_ARGUMENT, "%s: output_max must be an int32", what);
    }
    d.output_max = (int32_t)bound;
  }

  /* File data has no alignment guarantee: scales, zero points and bias are copied. */
  double* scales = malloc(ws->count * sizeof(double));
  int32_t* zps = wzp != NULL ? malloc(wzp->count * sizeof(int32_t)) : NULL;
  void* b = bias != NULL ? malloc(o * 4) : NULL;
  if (scales == NULL || (wzp != NULL && zps == NULL) || (bias != NULL && b == NULL)) {
    s = qk_fail(QK_ERROR_OUT_OF_MEMORY, "%s: out of memory", what);
  } else if (!read_doubles(ws, scales)) {
    s = qk_fail(QK_ERROR_INVALID_ARGUMENT, "%s: weight_scales must be F64 or F32", what);
  } else if (zps != NULL && !read_int32s(wzp, zps)) {
    s = qk_fail(QK_ERROR_INVALID_ARGUMENT, "%s: weight_zero_points must be int32 values (I32/I64)",
                what);
  } else {
    if (b != NULL) memcpy(b, bias->data, o * 4);
    d.weights = (const int8_t*)w->data; /* int8: any alignment */
    d.weight_scale_count = ws->count;
    d.weight_scales = scales;
    d.weight_zero_points = zps;
    d.bias_type = bias == NULL ? QK_DTYPE_NONE : bias->dtype == QK_ST_F32 ? QK_DTYPE_F32 : QK_DTYPE_S32;
    d.bias = b;
    s = qk_conv2d_create(&d, &n->conv);
    if (s != QK_SUCCESS) {
      char message[512];
      snprintf(message, sizeof(message), "%s", qk_last_error());
      s = qk_fail(s, "%s: %s", what, message);
    }
  }
  free(scales);
  free(zps);
  free(b);
  if (s != QK_SUCCESS) return s;

  value* y = &m->values[n->output];
  y->dtype = d.output_type;
  y->scale = d.output_scale;
  y->zero_point = d.output_zero_point;
  y->shape[0] = x->shape[0];
  y->shape[1] = o;
  if (qk_conv2d_output_size(n->conv, x->shape[2], x->shape[3], &y->shape[2], &y->shape[3]) !=
      QK_SUCCESS) {
    return qk_fail(QK_ERROR_INVALID_ARGUMENT, "%s: the kernel does not fit the %zux%zu input",
                   what, x->shape[2], x->shape[3]);
  }
  n->conv_workspace = qk_round_up(qk_conv2d_workspace_size(n->conv), ARENA_ALIGNMENT);
  y->in_arena = true;
  return set_bytes(y, what);
}

static qk_status parse_node(qk_model* m, const qk_st_file* f, const cJSON* js, size_t index) {
  char what[160];
  snprintf(what, sizeof(what), "node %zu", index);
  if (!cJSON_IsObject(js)) return qk_fail(QK_ERROR_INVALID_ARGUMENT, "%s: not an object", what);
  const char* op = get_string(js, "op");
  const char* name = get_string(js, "name");
  const char* input = get_string(js, "input");
  const char* output = get_string(js, "output");
  if (name != NULL) snprintf(what, sizeof(what), "node %zu ('%.100s')", index, name);
  node* n = &m->nodes[index];
  memset(n, 0, sizeof(*n));
  bool known = false;
  for (int k = 0; op != NULL && k < 3; k++) {
    if (strcmp(op, k_node_names[k]) == 0) {
      n->kind = (node_kind)k;
      known = true;
    }
  }
  if (!known) {
    return qk_fail(QK_ERROR_UNSUPPORTED, "%s: op '%s' is not one this qk runs (%s)", what,
                   op != NULL ? op : "(missing)", "quantize, dequantize, conv2d");
  }
  if (input == NULL || output == NULL) {
    return qk_fail(QK_ERROR_INVALID_ARGUMENT, "%s: needs an input and an output", what);
  }
  if (!find_value(m, input, &n->input)) {
    return qk_fail(QK_ERROR_INVALID_ARGUMENT,
                   "%s: input '%s' is not a graph input or an earlier node's output", what, input);
  }
  qk_status s = add_value(m, output, what, &n->output);
  if (s != QK_SUCCESS) return s;
  value* x = &m->values[n->input];
  value* y = &m->values[n->output];
  if (n->kind == NODE_CONV2D) {
    s = parse_conv2d(m, f, js, n, what);
  } else if (n->kind == NODE_QUANTIZE) {
    static const char* const keys[] = {"op", "name", "input", "output", "dtype", "scale",
                                       "zero_point", NULL};
    const char* dtype = get_string(js, "dtype");
    int64_t zp;
    if ((s = check_keys(js, what, keys)) != QK_SUCCESS) return s;
    if (x->dtype != QK_DTYPE_F32) {
      return qk_fail(QK_ERROR_INVALID_ARGUMENT, "%s: quantize needs a float input", what);
    }
    if (dtype == NULL || !parse_dtype_name(dtype, &y->dtype) || y->dtype == QK_DTYPE_F32 ||
        !get_double(js, "scale", &y->scale) || !get_int(js, "zero_point", -1e9, 1e9, &zp)) {
      return qk_fail(QK_ERROR_INVALID_ARGUMENT, "%s: quantize needs dtype (u8/s8), scale, zero_point",
                     what);
    }
    if ((s = check_qparams(what, y->dtype, y->scale, zp)) != QK_SUCCESS) return s;
    y->zero_point = (int32_t)zp;
    memcpy(y->shape, x->shape, sizeof(y->shape));
    y->in_arena = true;
    if ((s = set_bytes(y, what)) != QK_SUCCESS) return s;
    n->scratch_bytes = y->bytes; /* the quantized NCHW copy before the layout change */
  } else {
    static const char* const keys[] = {"op", "name", "input", "output", NULL};
    if ((s = check_keys(js, what, keys)) != QK_SUCCESS) return s;
    if (x->dtype == QK_DTYPE_F32) {
      return qk_fail(QK_ERROR_INVALID_ARGUMENT, "%s: dequantize needs a quantized input", what);
    }
    y->dtype = QK_DTYPE_F32;
    memcpy(y->shape, x->shape, sizeof(y->shape));
    y->in_arena = true; /* unless it is a model output (decided once the outputs are known) */
    if ((s = set_bytes(y, what)) != QK_SUCCESS) return s;
    n->scratch_bytes = x->bytes; /* the quantized NCHW copy after the layout change */
  }
  if (s == QK_SUCCESS) {
    y->first_step = index + 1;
    y->last_step = index + 1;
    x->last_step = index + 1 > x->last_step ? index + 1 : x->last_step;
  }
  return s;
}

/* ---- planning ------------------------------------------------------------------------------- */

typedef struct buffer {
  size_t bytes, first, last;
  size_t* offset;
} buffer;

static int by_size_descending(const void* a, const void* b) {
  const buffer *x = a, *y = b;
  return x->bytes < y->bytes ? 1 : x->bytes > y->bytes ? -1 : 0;
}

/* Greedy by size: each buffer takes the lowest aligned offset that no buffer already placed and
 * alive at the same time occupies. */
static qk_status plan_arena(qk_model* m) {
  size_t count = 0;
  buffer* b = calloc(m->value_count + m->node_count + 1, sizeof(buffer));
  if (b == NULL) return qk_fail(QK_ERROR_OUT_OF_MEMORY, "qk_model_load: out of memory");
  for (size_t i = 0; i < m->value_count; i++) {
    value* v = &m->values[i];
    if (v->in_arena) b[count++] = (buffer){qk_round_up(v->bytes, ARENA_ALIGNMENT), v->first_step, v->last_step, &v->offset};
  }
  for (size_t i = 0; i < m->node_count; i++) {
    node* n = &m->nodes[i];
    if (n->scratch_bytes) b[count++] = (buffer){qk_round_up(n->scratch_bytes, ARENA_ALIGNMENT), i + 1, i + 1, &n->scratch_offset};
  }
  qsort(b, count, sizeof(buffer), by_size_descending);
  size_t total = 0;
  for (size_t i = 0; i < count; i++) {
    size_t offset = 0;
    for (bool moved = true; moved;) {
      moved = false;
      for (size_t j = 0; j < i; j++) {
        const bool alive = b[j].first <= b[i].last && b[i].first <= b[j].last;
        if (alive && *b[j].offset < offset + b[i].bytes && offset < *b[j].offset + b[j].bytes) {
          offset = *b[j].offset + b[j].bytes;
          moved = true;
        }
      }
    }
    *b[i].offset = offset;
    if (!qk_add_size(offset, b[i].bytes, &offset)) {
      free(b);
      return qk_fail(QK_ERROR_SIZE_OVERFLOW, "qk_model_load: the arena size overflows");
    }
    total = offset > total ? offset : total;
  }
  free(b);
  m->planned_bytes = total;
  return QK_SUCCESS;
}

/* ---- load ------------------------------------------------------------------------------------ */

static qk_status parse_graph(qk_model* m, const qk_st_file* f) {
  const char* format = qk_st_metadata(f, "qk.format");
  const char* version = qk_st_metadata(f, "qk.version");
  const char* graph_text = qk_st_metadata(f, "qk.graph");
  if (format == NULL || strcmp(format, QK_MODEL_FORMAT) != 0 || graph_text == NULL) {
    return qk_fail(QK_ERROR_INVALID_ARGUMENT,
                   "qk_model_load: a safetensors file, but not a qk model (its metadata needs "
                   "qk.format = \"%s\" and qk.graph)",
                   QK_MODEL_FORMAT);
  }
  if (version == NULL || strcmp(version, "1") != 0) {
    return qk_fail(QK_ERROR_UNSUPPORTED,
                   "qk_model_load: model format version '%s'; this qk reads version %d",
                   version != NULL ? version : "(missing)", QK_MODEL_VERSION);
  }
  cJSON* g = cJSON_Parse(graph_text);
  if (g == NULL || !cJSON_IsObject(g)) {
    cJSON_Delete(g);
    return qk_fail(QK_ERROR_INVALID_ARGUMENT, "qk_model_load: qk.graph is not a JSON object");
  }
  static const char* const keys[] = {"numerics", "inputs", "outputs", "nodes", NULL};
  qk_status s = check_keys(g, "qk.graph", keys);
  const char* numerics = get_string(g, "numerics");
  const cJSON* inputs = cJSON_GetObjectItemCaseSensitive(g, "inputs");
  const cJSON* outputs = cJSON_GetObjectItemCaseSensitive(g, "outputs");
  const cJSON* nodes = cJSON_GetObjectItemCaseSensitive(g, "nodes");
  if (s != QK_SUCCESS) goto done;
  if (numerics == NULL || qk_numerics_from_name(numerics, &m->numerics) != QK_SUCCESS) {
    s = qk_fail(QK_ERROR_INVALID_ARGUMENT, "qk.graph: numerics '%s' is not a qk mode",
                numerics != NULL ? numerics : "(missing)");
    goto done;
  }
  if (!cJSON_IsArray(inputs) || !cJSON_IsArray(outputs) || !cJSON_IsArray(nodes) ||
      cJSON_GetArraySize(inputs) < 1 || cJSON_GetArraySize(outputs) < 1) {
    s = qk_fail(QK_ERROR_INVALID_ARGUMENT,
                "qk.graph: needs arrays inputs (>= 1), outputs (>= 1) and nodes");
    goto done;
  }
  m->input_count = (size_t)cJSON_GetArraySize(inputs);
  m->output_count = (size_t)cJSON_GetArraySize(outputs);
  m->node_count = (size_t)cJSON_GetArraySize(nodes);
  m->inputs = calloc(m->input_count, sizeof(size_t));
  m->outputs = calloc(m->output_count, sizeof(size_t));
  m->nodes = calloc(m->node_count + 1, sizeof(node));
  m->values = calloc(m->input_count + m->node_count, sizeof(value));
  if (!m->inputs || !m->outputs || !m->nodes || !m->values) {
    s = qk_fail(QK_ERROR_OUT_OF_MEMORY, "qk_model_load: out of memory");
    goto done;
  }
  size_t i = 0;
  const cJSON* item;
  cJSON_ArrayForEach(item, inputs) {
    if (!cJSON_IsObject(item)) {
      s = qk_fail(QK_ERROR_INVALID_ARGUMENT, "graph input %zu: not an object", i);
      goto done;
    }
    if ((s = parse_input(m, item, i++)) != QK_SUCCESS) goto done;
  }
  m->node_count = 0; /* counts the nodes created so far, for qk_model_delete */
  cJSON_ArrayForEach(item, nodes) {
    s = parse_node(m, f, item, m->node_count);
    m->node_count++;
    if (s != QK_SUCCESS) goto done;
  }
  const size_t last_step = m->node_count + 1;
  i = 0;
  cJSON_ArrayForEach(item, outputs) {
    size_t vi;
    if (!cJSON_IsString(item) || !find_value(m, item->valuestring, &vi)) {
      s = qk_fail(QK_ERROR_INVALID_ARGUMENT, "graph output %zu: not the name of a value", i);
      goto done;
    }
    value* v = &m->values[vi];
    if (v->model_input >= 0 || v->model_output >= 0) {
      s = qk_fail(QK_ERROR_INVALID_ARGUMENT,
                  "graph output %zu: '%s' is a graph input or listed twice", i, v->name);
      goto done;
    }
    v->model_output = (int)i;
    if (v->dtype == QK_DTYPE_F32) {
      v->in_arena = false; /* written straight into the caller's buffer */
    } else {
      v->last_step = last_step; /* converted to the caller's NCHW after the last node */
    }
    m->outputs[i++] = vi;
  }
  s = plan_arena(m);
  for (size_t n = 0; s == QK_SUCCESS && n < m->node_count; n++) {
    m->workspace_per_thread = qk_max_size(m->workspace_per_thread, m->nodes[n].conv_workspace);
  }
done:
  cJSON_Delete(g);
  return s;
}

qk_status qk_model_load_memory(const void* data, size_t size, qk_model** model) {
  if (model == NULL) return qk_fail(QK_ERROR_INVALID_ARGUMENT, "qk_model_load: model is NULL");
  *model = NULL;
  if (data == NULL) return qk_fail(QK_ERROR_INVALID_ARGUMENT, "qk_model_load: data is NULL");
  qk_st_file f;
  char error[512];
  if (!qk_st_parse(data, size, &f, error, sizeof(error))) {
    return qk_fail(QK_ERROR_INVALID_ARGUMENT, "qk_model_load: %s", error);
  }
  qk_model* m = calloc(1, sizeof(qk_model));
  qk_status s = m == NULL ? qk_fail(QK_ERROR_OUT_OF_MEMORY, "qk_model_load: out of memory")
                          : parse_graph(m, &f);
  qk_st_free(&f); /* the operators own copies of everything they need */
  if (s != QK_SUCCESS) {
    qk_model_delete(m);
    return s;
  }
  *model = m;
  return QK_SUCCESS;
}

qk_status qk_model_load_file(const char* path, qk_model** model) {
  if (model == NULL || path == NULL) {
    return qk_fail(QK_ERROR_INVALID_ARGUMENT, "qk_model_load_file: path and model must not be NULL");
  }
  *model = NULL;
  FILE* file = fopen(path, "rb");
  if (file == NULL) {
    return qk_fail(QK_ERROR_INVALID_ARGUMENT, "qk_model_load_file: cannot open %s: %s", path,
                   strerror(errno));
  }
  long size = -1;
  if (fseek(file, 0, SEEK_END) == 0) size = ftell(file);
  if (size < 0 || (unsigned long)size > QK_MODEL_MAX_FILE_BYTES || fseek(file, 0, SEEK_SET) != 0) {
    fclose(file);
    return qk_fail(QK_ERROR_INVALID_ARGUMENT,
                   "qk_model_load_file: %s is not a regular file of at most 16 GiB", path);
  }
  uint8_t* data = malloc(size ? (size_t)size : 1);
  if (data == NULL) {
    fclose(file);
    return qk_fail(QK_ERROR_OUT_OF_MEMORY, "qk_model_load_file: %s: out of memory", path);
  }
  const size_t read = fread(data, 1, (size_t)size, file);
  fclose(file);
  qk_status s = read == (size_t)size
                    ? qk_model_load_memory(data, (size_t)size, model)
                    : qk_fail(QK_ERROR_INVALID_ARGUMENT, "qk_model_load_file: cannot read %s", path);
  if (s != QK_SUCCESS && read == (size_t)size) {
    char message[512];
    snprintf(message, sizeof(message), "%s", qk_last_error());
    s = qk_fail(s, "%s: %s", path, message);
  }
  free(data);
  return s;
}

void qk_model_delete(qk_model* m) {
  if (m == NULL) return;
  for (size_t i = 0; m->nodes != NULL && i < m->node_count; i++) qk_conv2d_delete(m->nodes[i].conv);
  for (size_t i = 0; m->values != NULL && i < m->value_count; i++) free(m->values[i].name);
  free(m->values);
  free(m->nodes);
  free(m->inputs);
  free(m->outputs);
  free(m);
}

/* ---- queries -------------------------------------------------------------------------------- */

size_t qk_model_input_count(const qk_model* m) { return m ? m->input_count : 0; }
size_t qk_model_output_count(const qk_model* m) { return m ? m->output_count : 0; }
size_t qk_model_node_count(const qk_model* m) { return m ? m->node_count : 0; }
qk_numerics qk_model_numerics(const qk_model* m) { return m ? m->numerics : (qk_numerics)0; }

static void fill_info(const value* v, qk_model_tensor_info* info) {
  memset(info, 0, sizeof(*info));
  info->name = v->name;
  info->dtype = v->dtype;
  info->rank = 4;
  memcpy(info->shape, v->shape, sizeof(v->shape));
  info->bytes = v->bytes;
  if (v->dtype != QK_DTYPE_F32) {
    info->scale = v->scale;
    info->zero_point = v->zero_point;
  }
}

qk_status qk_model_input_info(const qk_model* m, size_t index, qk_model_tensor_info* info) {
  if (m == NULL || info == NULL || index >= m->input_count) {
    return qk_fail(QK_ERROR_INVALID_ARGUMENT, "qk_model_input_info: no input %zu", index);
  }
  fill_info(&m->values[m->inputs[index]], info);
  return QK_SUCCESS;
}

qk_status qk_model_output_info(const qk_model* m, size_t index, qk_model_tensor_info* info) {
  if (m == NULL || info == NULL || index >= m->output_count) {
    return qk_fail(QK_ERROR_INVALID_ARGUMENT, "qk_model_output_info: no output %zu", index);
  }
  fill_info(&m->values[m->outputs[index]], info);
  return QK_SUCCESS;
}

size_t qk_model_arena_size(const qk_model* m, size_t threads) {
  if (m == NULL) return 0;
  if (threads == 0) threads = 1;
  size_t workspace, total;
  if (!qk_mul_size(m->workspace_per_thread, threads, &workspace) ||
      !qk_add_size(m->planned_bytes, workspace, &total)) {
    return SIZE_MAX;
  }
  return total;
}

/* ---- run ------------------------------------------------------------------------------------- */

/* [N][C][H*W] <-> [N][H*W][C], 8-bit elements. */
static void nchw_to_nhwc_u8(const value* v, const uint8_t* in, uint8_t* out) {
  const size_t c = v->shape[1], hw = v->shape[2] * v->shape[3];
  for (size_t n = 0; n < v->shape[0]; n++, in += c * hw, out += c * hw) {
    for (size_t ch = 0; ch < c; ch++) {
      for (size_t p = 0; p < hw; p++) out[p * c + ch] = in[ch * hw + p];
    }
  }
}

static void nhwc_to_nchw_u8(const value* v, const uint8_t* in, uint8_t* out) {
  const size_t c = v->shape[1], hw = v->shape[2] * v->shape[3];
  for (size_t n = 0; n < v->shape[0]; n++, in += c * hw, out += c * hw) {
    for (size_t p = 0; p < hw; p++) {
      for (size_t ch = 0; ch < c; ch++) out[ch * hw + p] = in[p * c + ch];
    }
  }
}

typedef struct run_state {
  const qk_model* m;
  const void* const* inputs;
  void* const* outputs;
  uint8_t* arena;
} run_state;

static void* value_data(const run_state* r, const value* v) {
  if (v->in_arena) return r->arena + v->offset;
  if (v->model_input >= 0) return (void*)r->inputs[v->model_input];
  return r->outputs[v->model_output];
}

static qk_status run_node(const run_state* r, const node* n, void* workspace,
                          qk_threadpool* pool) {
  const value* x = &r->m->values[n->input];
  const value* y = &r->m->values[n->output];
  void* xd = value_data(r, x);
  void* yd = value_data(r, y);
  uint8_t* scratch = r->arena + n->scratch_offset;
  switch (n->kind) {
    case NODE_QUANTIZE: {
      const double scale = y->scale;
      qk_status s = qk_quantize(r->m->numerics, y->dtype, 1, x->bytes / 4, 1, xd, 1, &scale,
                                &y->zero_point, scratch);
      if (s == QK_SUCCESS) nchw_to_nhwc_u8(y, scratch, yd);
      return s;
    }
    case NODE_DEQUANTIZE: {
      const double scale = x->scale;
      nhwc_to_nchw_u8(x, xd, scratch);
      return qk_dequantize(r->m->numerics, x->dtype, 1, x->bytes, 1, scratch, 1, &scale,
                           &x->zero_point, yd);
    }
    case NODE_CONV2D:
      return qk_conv2d_run_threaded(n->conv, x->shape[0], x->shape[2], x->shape[3], xd, yd,
                                    workspace, pool);
  }
  return QK_ERROR_INVALID_ARGUMENT;
}

qk_status qk_model_run(const qk_model* m, const void* const* inputs, void* const* outputs,
                       void* arena, qk_threadpool* pool) {
  if (m == NULL || inputs == NULL || outputs == NULL) {
    return qk_fail(QK_ERROR_INVALID_ARGUMENT, "qk_model_run: model, inputs and outputs must not be NULL");
  }
  for (size_t i = 0; i < m->input_count; i++) {
    if (inputs[i] == NULL) return qk_fail(QK_ERROR_INVALID_ARGUMENT, "qk_model_run: inputs[%zu] is NULL", i);
  }
  for (size_t i = 0; i < m->output_count; i++) {
    if (outputs[i] == NULL) return qk_fail(QK_ERROR_INVALID_ARGUMENT, "qk_model_run: outputs[%zu] is NULL", i);
  }
  if (arena != NULL && ((uintptr_t)arena % ARENA_ALIGNMENT) != 0) {
    return qk_fail(QK_ERROR_INVALID_ARGUMENT, "qk_model_run: the arena must be aligned to 64 bytes");
  }
  const size_t threads = qk_threadpool_threads(pool);
  const size_t arena_bytes = qk_model_arena_size(m, threads);
  if (arena_bytes == SIZE_MAX) {
    return qk_fail(QK_ERROR_SIZE_OVERFLOW, "qk_model_run: the arena size overflows");
  }
  void* owned = NULL;
  if (arena == NULL) {
    arena = owned = qk_aligned_alloc(ARENA_ALIGNMENT, arena_bytes);
    if (owned == NULL) {
      return qk_fail(QK_ERROR_OUT_OF_MEMORY, "qk_model_run: cannot allocate the %zu-byte arena",
                     arena_bytes);
    }
  }
  run_state r = {m, inputs, outputs, arena};
  uint8_t* workspace = r.arena + m->planned_bytes;
  for (size_t i = 0; i < m->input_count; i++) {
    const value* v = &m->values[m->inputs[i]];
    if (v->in_arena) nchw_to_nhwc_u8(v, inputs[i], r.arena + v->offset);
  }
  qk_status s = QK_SUCCESS;
  for (size_t i = 0; s == QK_SUCCESS && i < m->node_count; i++) {
    s = run_node(&r, &m->nodes[i], workspace, pool);
    if (s != QK_SUCCESS) {
      char message[512];
      snprintf(message, sizeof(message), "%s", qk_last_error());
      s = qk_fail(s, "qk_model_run: node %zu (%s): %s", i, k_node_names[m->nodes[i].kind], message);
    }
  }
  for (size_t i = 0; s == QK_SUCCESS && i < m->output_count; i++) {
    const value* v = &m->values[m->outputs[i]];
    if (v->in_arena) nhwc_to_nchw_u8(v, r.arena + v->offset, outputs[i]);
  }
  qk_aligned_free(owned);
  return s;
}
