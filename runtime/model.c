/* qk models (include/qk_model.h): load a qk model file (docs/model-format.md), create its operators
 * (runtime/nodes.c), plan its activations into one arena, run it.
 *
 * The runtime is a client of the operator API (include/qk.h), plus the library's internal error
 * and size helpers (kernels/common.h): it never reaches into the operators or arch/, so a model
 * computes exactly what the operators compute one by one.
 *
 * Values (the edges of the graph) are NCHW as the framework sees them (runtime/graph.h).
 * Quantized values live in the arena in NHWC, the operators' layout; float values that are model
 * inputs / outputs live in the caller's buffers (NCHW), others in the arena (NCHW). Each node may
 * have a scratch buffer (the layout change of quantize / dequantize); every operator's workspace
 * slice per thread sits after the planned part of the arena. Buffers whose lifetimes do not
 * overlap share addresses. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/graph.h"

#define QK_MODEL_FORMAT "qk-model"
#define QK_MODEL_VERSION 1
/* A model file larger than this is refused before it is read (a hostile path is not a reason to
 * read terabytes). */
#define QK_MODEL_MAX_FILE_BYTES ((size_t)1 << 34)

/* ---- helpers shared with runtime/nodes.c ------------------------------------------------------ */

static size_t dtype_size(qk_dtype t) { return t == QK_DTYPE_F32 ? 4 : 1; }

bool qk_parse_dtype_name(const char* s, qk_dtype* t) {
  if (strcmp(s, "f32") == 0) *t = QK_DTYPE_F32;
  else if (strcmp(s, "u8") == 0) *t = QK_DTYPE_U8;
  else if (strcmp(s, "s8") == 0) *t = QK_DTYPE_S8;
  else return false;
  return true;
}

static bool in_list(const char* key, const char* const* list) {
  for (; list != NULL && *list != NULL; list++) {
    if (strcmp(key, *list) == 0) return true;
  }
  return false;
}

/* Refuses keys the format does not define: a typo in an exporter must not be silently ignored. */
qk_status qk_check_keys(const cJSON* object, const char* what, const char* const* allowed,
                        const char* const* also) {
  const cJSON* item;
  cJSON_ArrayForEach(item, object) {
    if (!in_list(item->string, allowed) && !in_list(item->string, also)) {
      return qk_fail(QK_ERROR_INVALID_ARGUMENT, "%s: unknown key '%s'", what, item->string);
    }
  }
  return QK_SUCCESS;
}

const char* qk_json_string(const cJSON* object, const char* key) {
  const cJSON* item = cJSON_GetObjectItemCaseSensitive(object, key);
  return cJSON_IsString(item) ? item->valuestring : NULL;
}

/* An integer-valued JSON number in [lo, hi]. */
bool qk_json_int(const cJSON* object, const char* key, double lo, double hi, int64_t* out) {
  const cJSON* item = cJSON_GetObjectItemCaseSensitive(object, key);
  if (!cJSON_IsNumber(item)) return false;
  const double v = item->valuedouble;
  if (!(v >= lo && v <= hi) || v != (double)(int64_t)v) return false;
  *out = (int64_t)v;
  return true;
}

bool qk_json_double(const cJSON* object, const char* key, double* out) {
  const cJSON* item = cJSON_GetObjectItemCaseSensitive(object, key);
  if (!cJSON_IsNumber(item)) return false;
  *out = item->valuedouble;
  return true;
}

/* An array of `count` integers in [lo, hi] (lo >= 0). */
bool qk_json_ints(const cJSON* object, const char* key, size_t count, double lo, double hi,
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

bool qk_json_bool(const cJSON* object, const char* key, bool* out) {
  const cJSON* item = cJSON_GetObjectItemCaseSensitive(object, key);
  *out = cJSON_IsTrue(item);
  return item == NULL || cJSON_IsBool(item);
}

qk_status qk_check_qparams(const char* what, qk_dtype dtype, double scale, int64_t zp) {
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

qk_status qk_parse_output_qparams(const cJSON* js, const char* what, qk_value* y) {
  const char* dtype = qk_json_string(js, "output_dtype");
  int64_t zp;
  if (dtype == NULL || !qk_parse_dtype_name(dtype, &y->dtype) || y->dtype == QK_DTYPE_F32 ||
      !qk_json_double(js, "output_scale", &y->scale) ||
      !qk_json_int(js, "output_zero_point", -1e9, 1e9, &zp)) {
    return qk_fail(QK_ERROR_INVALID_ARGUMENT,
                   "%s: needs output_dtype (u8/s8), output_scale and output_zero_point", what);
  }
  qk_status s = qk_check_qparams(what, y->dtype, y->scale, zp);
  y->zero_point = (int32_t)zp;
  return s;
}

qk_status qk_fail_with_last(qk_status s, const char* what) {
  char message[512];
  snprintf(message, sizeof(message), "%s", qk_last_error());
  return qk_fail(s, "%s: %s", what, message);
}

qk_status qk_value_set_bytes(qk_value* v, const char* what) {
  size_t n = dtype_size(v->dtype);
  for (int d = 0; d < 4; d++) {
    if (v->shape[d] == 0 || !qk_mul_size(n, v->shape[d], &n)) {
      return qk_fail(QK_ERROR_SIZE_OVERFLOW, "%s: value '%s' is empty or its size overflows", what,
                     v->name);
    }
  }
  v->bytes = n;
  v->in_arena = true; /* until it turns out to be a float model input / output */
  return QK_SUCCESS;
}

void qk_nchw_to_nhwc_u8(const qk_value* v, const uint8_t* in, uint8_t* out) {
  const size_t c = v->shape[1], hw = v->shape[2] * v->shape[3];
  for (size_t n = 0; n < v->shape[0]; n++, in += c * hw, out += c * hw) {
    for (size_t ch = 0; ch < c; ch++) {
      for (size_t p = 0; p < hw; p++) out[p * c + ch] = in[ch * hw + p];
    }
  }
}

void qk_nhwc_to_nchw_u8(const qk_value* v, const uint8_t* in, uint8_t* out) {
  const size_t c = v->shape[1], hw = v->shape[2] * v->shape[3];
  for (size_t n = 0; n < v->shape[0]; n++, in += c * hw, out += c * hw) {
    for (size_t p = 0; p < hw; p++) {
      for (size_t ch = 0; ch < c; ch++) out[ch * hw + p] = in[p * c + ch];
    }
  }
}

void* qk_value_data(const qk_run_context* r, const qk_value* v) {
  if (v->in_arena) return r->arena + v->offset;
  if (v->model_input >= 0) return (void*)r->inputs[v->model_input];
  return r->outputs[v->model_output];
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
  if (m->value_count == m->value_capacity) {
    return qk_fail(QK_ERROR_INVALID_ARGUMENT, "%s: more values than nodes and inputs", what);
  }
  qk_value* v = &m->values[m->value_count];
  memset(v, 0, sizeof(*v));
  v->name = strdup(name);
  if (v->name == NULL) return qk_fail(QK_ERROR_OUT_OF_MEMORY, "%s: out of memory", what);
  v->model_input = v->model_output = -1;
  *index = m->value_count++;
  return QK_SUCCESS;
}

/* ---- graph inputs ---------------------------------------------------------------------------- */

static qk_status parse_input(qk_model* m, const cJSON* in, size_t index) {
  char what[64];
  snprintf(what, sizeof(what), "graph input %zu", index);
  static const char* const keys[] = {"name", "dtype", "shape", "scale", "zero_point", NULL};
  qk_status s = qk_check_keys(in, what, keys, NULL);
  if (s != QK_SUCCESS) return s;
  const char* name = qk_json_string(in, "name");
  const char* dtype = qk_json_string(in, "dtype");
  if (name == NULL || dtype == NULL) {
    return qk_fail(QK_ERROR_INVALID_ARGUMENT, "%s: needs a name and a dtype", what);
  }
  size_t vi;
  if ((s = add_value(m, name, what, &vi)) != QK_SUCCESS) return s;
  qk_value* v = &m->values[vi];
  if (!qk_parse_dtype_name(dtype, &v->dtype)) {
    return qk_fail(QK_ERROR_INVALID_ARGUMENT, "%s: dtype '%s' is not f32, u8 or s8", what, dtype);
  }
  if (!qk_json_ints(in, "shape", 4, 1, 1e15, v->shape)) {
    return qk_fail(QK_ERROR_INVALID_ARGUMENT, "%s: shape must be [N, C, H, W] of positive sizes",
                   what);
  }
  if (v->dtype != QK_DTYPE_F32) {
    int64_t zp;
    if (!qk_json_double(in, "scale", &v->scale) || !qk_json_int(in, "zero_point", -1e9, 1e9, &zp)) {
      return qk_fail(QK_ERROR_INVALID_ARGUMENT, "%s: a quantized input needs scale and zero_point",
                     what);
    }
    if ((s = qk_check_qparams(what, v->dtype, v->scale, zp)) != QK_SUCCESS) return s;
    v->zero_point = (int32_t)zp;
  }
  v->model_input = (int)index;
  m->inputs[index] = vi;
  v->rank = 4;
  s = qk_value_set_bytes(v, what);
  v->in_arena = v->dtype != QK_DTYPE_F32; /* a quantized input is converted at step 0 */
  return s;
}

/* ---- nodes ------------------------------------------------------------------------------------ */

static const char* const k_common_keys[] = {"op", "name", "input", "inputs", "output", NULL};

static const qk_node_kind* find_kind(const char* op) {
  for (size_t k = 0; op != NULL && qk_node_kinds[k] != NULL; k++) {
    if (strcmp(op, qk_node_kinds[k]->name) == 0) return qk_node_kinds[k];
  }
  return NULL;
}

static qk_status unsupported_op(const char* what, const char* op) {
  char list[512];
  size_t len = 0;
  list[0] = '\0';
  for (size_t k = 0; qk_node_kinds[k] != NULL && len < sizeof(list); k++) {
    len += (size_t)snprintf(list + len, sizeof(list) - len, "%s%s", k ? ", " : "",
                            qk_node_kinds[k]->name);
  }
  return qk_fail(QK_ERROR_UNSUPPORTED, "%s: op '%s' is not one this qk runs (%s)", what,
                 op != NULL ? op : "(missing)", list);
}

/* "input": "x" or "inputs": ["a", "b", ...], each a value defined before this node. */
static qk_status resolve_inputs(qk_model* m, const cJSON* js, qk_node* n, const char* what) {
  const cJSON* one = cJSON_GetObjectItemCaseSensitive(js, "input");
  const cJSON* many = cJSON_GetObjectItemCaseSensitive(js, "inputs");
  if ((one == NULL) == (many == NULL) || (one != NULL && !cJSON_IsString(one)) ||
      (many != NULL && !cJSON_IsArray(many))) {
    return qk_fail(QK_ERROR_INVALID_ARGUMENT,
                   "%s: needs \"input\" (a value name) or \"inputs\" (an array of them)", what);
  }
  const size_t count = one != NULL ? 1 : (size_t)cJSON_GetArraySize(many);
  if (count < n->kind->min_inputs || count > n->kind->max_inputs) {
    return qk_fail(QK_ERROR_INVALID_ARGUMENT, "%s: %s takes %zu to %zu inputs, got %zu", what,
                   n->kind->name, n->kind->min_inputs, n->kind->max_inputs, count);
  }
  const cJSON* item = one;
  for (size_t i = 0; i < count; i++) {
    if (many != NULL) item = cJSON_GetArrayItem(many, (int)i);
    if (!cJSON_IsString(item) || !find_value(m, item->valuestring, &n->inputs[i])) {
      return qk_fail(QK_ERROR_INVALID_ARGUMENT,
                     "%s: input '%s' is not a graph input or an earlier node's output", what,
                     cJSON_IsString(item) ? item->valuestring : "(not a string)");
    }
  }
  n->input_count = count;
  return QK_SUCCESS;
}

static qk_status parse_node(qk_model* m, const qk_st_file* f, const cJSON* js, size_t index) {
  char what[160];
  snprintf(what, sizeof(what), "node %zu", index);
  if (!cJSON_IsObject(js)) return qk_fail(QK_ERROR_INVALID_ARGUMENT, "%s: not an object", what);
  const char* op = qk_json_string(js, "op");
  const char* name = qk_json_string(js, "name");
  const char* output = qk_json_string(js, "output");
  if (name != NULL) snprintf(what, sizeof(what), "node %zu ('%.100s')", index, name);
  qk_node* n = &m->nodes[index];
  memset(n, 0, sizeof(*n));
  n->kind = find_kind(op);
  if (n->kind == NULL) return unsupported_op(what, op);
  if (name != NULL && (n->name = strdup(name)) == NULL) {
    return qk_fail(QK_ERROR_OUT_OF_MEMORY, "%s: out of memory", what);
  }
  qk_status s = qk_check_keys(js, what, k_common_keys, n->kind->keys);
  if (s != QK_SUCCESS || (s = resolve_inputs(m, js, n, what)) != QK_SUCCESS) return s;
  if (output == NULL) return qk_fail(QK_ERROR_INVALID_ARGUMENT, "%s: needs an output", what);
  if ((s = add_value(m, output, what, &n->output)) != QK_SUCCESS) return s;
  if ((s = n->kind->parse(m, f, js, n, what)) != QK_SUCCESS) return s;
  qk_value* y = &m->values[n->output];
  y->first_step = y->last_step = index + 1;
  for (size_t i = 0; i < n->input_count; i++) {
    qk_value* x = &m->values[n->inputs[i]];
    x->last_step = qk_max_size(x->last_step, index + 1);
  }
  n->workspace = qk_round_up(n->workspace, QK_ARENA_ALIGNMENT);
  return QK_SUCCESS;
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
    qk_value* v = &m->values[i];
    if (v->in_arena) b[count++] = (buffer){qk_round_up(v->bytes, QK_ARENA_ALIGNMENT), v->first_step, v->last_step, &v->offset};
  }
  for (size_t i = 0; i < m->node_count; i++) {
    qk_node* n = &m->nodes[i];
    if (n->scratch_bytes) b[count++] = (buffer){qk_round_up(n->scratch_bytes, QK_ARENA_ALIGNMENT), i + 1, i + 1, &n->scratch_offset};
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
  qk_status s = qk_check_keys(g, "qk.graph", keys, NULL);
  const char* numerics = qk_json_string(g, "numerics");
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
  m->nodes = calloc(m->node_count + 1, sizeof(qk_node));
  m->value_capacity = m->input_count + m->node_count;
  m->values = calloc(m->value_capacity, sizeof(qk_value));
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
    qk_value* v = &m->values[vi];
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
    m->workspace_per_thread = qk_max_size(m->workspace_per_thread, m->nodes[n].workspace);
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
  for (size_t i = 0; m->nodes != NULL && i < m->node_count; i++) {
    if (m->nodes[i].kind != NULL) m->nodes[i].kind->destroy(&m->nodes[i]);
    free(m->nodes[i].name);
  }
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

static void fill_info(const qk_value* v, qk_model_tensor_info* info) {
  memset(info, 0, sizeof(*info));
  info->name = v->name;
  info->dtype = v->dtype;
  info->rank = v->rank;
  for (size_t d = 0; d < v->rank; d++) info->shape[d] = v->shape[d];
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

qk_status qk_model_describe_node(const qk_model* m, size_t index, qk_model_node_info* info) {
  if (m == NULL || info == NULL || index >= m->node_count) {
    return qk_fail(QK_ERROR_INVALID_ARGUMENT, "qk_model_describe_node: no node %zu", index);
  }
  const qk_node* n = &m->nodes[index];
  info->op = n->kind->name;
  info->name = n->name != NULL ? n->name : m->values[n->output].name;
  fill_info(&m->values[n->output], &info->output);
  return QK_SUCCESS;
}

qk_status qk_model_run(const qk_model* m, const void* const* inputs, void* const* outputs,
                       void* arena, qk_threadpool* pool) {
  return qk_model_run_observed(m, inputs, outputs, arena, pool, NULL, NULL);
}

qk_status qk_model_run_observed(const qk_model* m, const void* const* inputs,
                                void* const* outputs, void* arena, qk_threadpool* pool,
                                qk_model_observer observer, void* user) {
  if (m == NULL || inputs == NULL || outputs == NULL) {
    return qk_fail(QK_ERROR_INVALID_ARGUMENT,
                   "qk_model_run: model, inputs and outputs must not be NULL");
  }
  for (size_t i = 0; i < m->input_count; i++) {
    if (inputs[i] == NULL) {
      return qk_fail(QK_ERROR_INVALID_ARGUMENT, "qk_model_run: inputs[%zu] is NULL", i);
    }
  }
  for (size_t i = 0; i < m->output_count; i++) {
    if (outputs[i] == NULL) {
      return qk_fail(QK_ERROR_INVALID_ARGUMENT, "qk_model_run: outputs[%zu] is NULL", i);
    }
  }
  if (arena != NULL && ((uintptr_t)arena % QK_ARENA_ALIGNMENT) != 0) {
    return qk_fail(QK_ERROR_INVALID_ARGUMENT, "qk_model_run: the arena must be aligned to 64 bytes");
  }
  const size_t arena_bytes = qk_model_arena_size(m, qk_threadpool_threads(pool));
  if (arena_bytes == SIZE_MAX) {
    return qk_fail(QK_ERROR_SIZE_OVERFLOW, "qk_model_run: the arena size overflows");
  }
  void* owned = NULL;
  if (arena == NULL) {
    arena = owned = qk_aligned_alloc(QK_ARENA_ALIGNMENT, arena_bytes);
    if (owned == NULL) {
      return qk_fail(QK_ERROR_OUT_OF_MEMORY, "qk_model_run: cannot allocate the %zu-byte arena",
                     arena_bytes);
    }
  }
  qk_run_context r = {m, inputs, outputs, arena, (uint8_t*)arena + m->planned_bytes, pool};
  for (size_t i = 0; i < m->input_count; i++) {
    const qk_value* v = &m->values[m->inputs[i]];
    if (v->in_arena) qk_nchw_to_nhwc_u8(v, inputs[i], r.arena + v->offset);
  }
  qk_status s = QK_SUCCESS;
  for (size_t i = 0; s == QK_SUCCESS && i < m->node_count; i++) {
    s = m->nodes[i].kind->run(&r, &m->nodes[i]);
    if (s == QK_SUCCESS && observer != NULL) {
      qk_model_node_info info;
      qk_model_describe_node(m, i, &info);
      if (observer(user, i, &info, qk_value_data(&r, &m->values[m->nodes[i].output])) != 0) {
        s = qk_fail(QK_ERROR_INVALID_ARGUMENT, "qk_model_run: the observer stopped the run after "
                    "node %zu", i);
        break;
      }
    }
    if (s != QK_SUCCESS) {
      char what[64];
      snprintf(what, sizeof(what), "qk_model_run: node %zu (%s)", i, m->nodes[i].kind->name);
      s = qk_fail_with_last(s, what);
    }
  }
  for (size_t i = 0; s == QK_SUCCESS && i < m->output_count; i++) {
    const qk_value* v = &m->values[m->outputs[i]];
    if (v->in_arena) qk_nhwc_to_nchw_u8(v, r.arena + v->offset, outputs[i]);
  }
  qk_aligned_free(owned);
  return s;
}
