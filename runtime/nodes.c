/* The node kinds of a qk model (docs/model-format.md): each parses its JSON into an operator of
 * include/qk.h and runs it. Adding an op = one parse, one run, one destroy, one table entry. */
#include <stdlib.h>
#include <string.h>

#include "runtime/graph.h"

/* ---- tensors of the file ---------------------------------------------------------------------- */

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

/* File data has no alignment guarantee: values are copied out with memcpy. */
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

/* The weight quantization and bias of a conv2d / linear node, copied into aligned arrays that
 * live until the operator is created. */
typedef struct weight_params {
  double* scales;
  int32_t* zero_points;
  void* bias;
  size_t scale_count;
  qk_dtype bias_type;
  qk_weight_quantization quantization;
} weight_params;

static void free_weight_params(weight_params* p) {
  free(p->scales);
  free(p->zero_points);
  free(p->bias);
}

static qk_status read_weight_params(const qk_st_file* f, const cJSON* js, size_t o,
                                    const char* what, weight_params* p) {
  memset(p, 0, sizeof(*p));
  const qk_st_tensor *ws, *wzp, *bias;
  qk_status s;
  if ((s = get_tensor(f, js, "weight_scales", what, true, &ws)) != QK_SUCCESS ||
      (s = get_tensor(f, js, "weight_zero_points", what, false, &wzp)) != QK_SUCCESS ||
      (s = get_tensor(f, js, "bias", what, false, &bias)) != QK_SUCCESS) {
    return s;
  }
  const char* wq = qk_json_string(js, "weight_quantization");
  if (wq != NULL && strcmp(wq, "per-tensor") == 0) {
    p->quantization = QK_WEIGHT_QUANTIZATION_PER_TENSOR;
  } else if (wq != NULL && strcmp(wq, "per-channel") == 0) {
    p->quantization = QK_WEIGHT_QUANTIZATION_PER_CHANNEL;
  } else if (wq != NULL || cJSON_GetObjectItemCaseSensitive(js, "weight_quantization") != NULL) {
    return qk_fail(QK_ERROR_INVALID_ARGUMENT,
                   "%s: weight_quantization must be \"per-tensor\" or \"per-channel\"", what);
  }
  if (!is_vector(ws, 1) && !is_vector(ws, o)) {
    return qk_fail(QK_ERROR_INVALID_ARGUMENT, "%s: weight_scales must have 1 or %zu values", what,
                   o);
  }
  if (wzp != NULL && !is_vector(wzp, ws->count)) {
    return qk_fail(QK_ERROR_INVALID_ARGUMENT,
                   "%s: weight_zero_points must have as many values as weight_scales", what);
  }
  if (bias != NULL &&
      (!is_vector(bias, o) || (bias->dtype != QK_ST_F32 && bias->dtype != QK_ST_I32))) {
    return qk_fail(QK_ERROR_INVALID_ARGUMENT, "%s: bias must be F32 or I32 with %zu values", what,
                   o);
  }
  p->scale_count = ws->count;
  p->scales = malloc(ws->count * sizeof(double));
  p->zero_points = wzp != NULL ? malloc(wzp->count * sizeof(int32_t)) : NULL;
  p->bias = bias != NULL ? malloc(o * 4) : NULL;
  if (p->scales == NULL || (wzp != NULL && p->zero_points == NULL) ||
      (bias != NULL && p->bias == NULL)) {
    s = qk_fail(QK_ERROR_OUT_OF_MEMORY, "%s: out of memory", what);
  } else if (!read_doubles(ws, p->scales)) {
    s = qk_fail(QK_ERROR_INVALID_ARGUMENT, "%s: weight_scales must be F64 or F32", what);
  } else if (p->zero_points != NULL && !read_int32s(wzp, p->zero_points)) {
    s = qk_fail(QK_ERROR_INVALID_ARGUMENT,
                "%s: weight_zero_points must be int32 values (I32/I64)", what);
  } else {
    if (bias != NULL) memcpy(p->bias, bias->data, o * 4);
    p->bias_type = bias == NULL                ? QK_DTYPE_NONE
                   : bias->dtype == QK_ST_F32 ? QK_DTYPE_F32
                                              : QK_DTYPE_S32;
    return QK_SUCCESS;
  }
  free_weight_params(p);
  return s;
}

/* The input of a node that computes on quantized values. */
static qk_status quantized_input(const qk_model* m, const qk_node* n, size_t i, const char* what,
                                 const qk_value** x) {
  *x = &m->values[n->inputs[i]];
  if ((*x)->dtype == QK_DTYPE_F32) {
    return qk_fail(QK_ERROR_INVALID_ARGUMENT, "%s: input '%s' is float, not quantized", what,
                   (*x)->name);
  }
  return QK_SUCCESS;
}

static bool optional_int32(const cJSON* js, const char* key, int32_t* out) {
  if (cJSON_GetObjectItemCaseSensitive(js, key) == NULL) return true;
  int64_t v;
  if (!qk_json_int(js, key, INT32_MIN, INT32_MAX, &v)) return false;
  *out = (int32_t)v;
  return true;
}

/* ---- quantize / dequantize -------------------------------------------------------------------- */

static const char* const k_quantize_keys[] = {"dtype", "scale", "zero_point", NULL};

static qk_status parse_quantize(qk_model* m, const qk_st_file* f, const cJSON* js, qk_node* n,
                                const char* what) {
  (void)f;
  const qk_value* x = &m->values[n->inputs[0]];
  qk_value* y = &m->values[n->output];
  const char* dtype = qk_json_string(js, "dtype");
  int64_t zp;
  if (x->dtype != QK_DTYPE_F32) {
    return qk_fail(QK_ERROR_INVALID_ARGUMENT, "%s: quantize needs a float input", what);
  }
  if (dtype == NULL || !qk_parse_dtype_name(dtype, &y->dtype) || y->dtype == QK_DTYPE_F32 ||
      !qk_json_double(js, "scale", &y->scale) || !qk_json_int(js, "zero_point", -1e9, 1e9, &zp)) {
    return qk_fail(QK_ERROR_INVALID_ARGUMENT,
                   "%s: quantize needs dtype (u8/s8), scale and zero_point", what);
  }
  qk_status s = qk_check_qparams(what, y->dtype, y->scale, zp);
  if (s != QK_SUCCESS) return s;
  y->zero_point = (int32_t)zp;
  y->rank = x->rank;
  memcpy(y->shape, x->shape, sizeof(y->shape));
  if ((s = qk_value_set_bytes(y, what)) != QK_SUCCESS) return s;
  n->scratch_bytes = y->bytes; /* the quantized NCHW copy before the layout change */
  return QK_SUCCESS;
}

static qk_status run_quantize(const qk_run_context* r, const qk_node* n) {
  const qk_value* x = &r->model->values[n->inputs[0]];
  const qk_value* y = &r->model->values[n->output];
  uint8_t* scratch = r->arena + n->scratch_offset;
  const double scale = y->scale;
  qk_status s = qk_quantize(r->model->numerics, y->dtype, 1, x->bytes / 4, 1,
                            qk_value_data(r, x), 1, &scale, &y->zero_point, scratch);
  if (s == QK_SUCCESS) qk_nchw_to_nhwc_u8(y, scratch, qk_value_data(r, y));
  return s;
}

static qk_status parse_dequantize(qk_model* m, const qk_st_file* f, const cJSON* js, qk_node* n,
                                  const char* what) {
  (void)f;
  (void)js;
  const qk_value* x;
  qk_status s = quantized_input(m, n, 0, what, &x);
  if (s != QK_SUCCESS) return s;
  qk_value* y = &m->values[n->output];
  y->dtype = QK_DTYPE_F32;
  y->rank = x->rank;
  memcpy(y->shape, x->shape, sizeof(y->shape));
  n->scratch_bytes = x->bytes; /* the quantized NCHW copy after the layout change */
  return qk_value_set_bytes(y, what);
}

static qk_status run_dequantize(const qk_run_context* r, const qk_node* n) {
  const qk_value* x = &r->model->values[n->inputs[0]];
  uint8_t* scratch = r->arena + n->scratch_offset;
  const double scale = x->scale;
  qk_nhwc_to_nchw_u8(x, qk_value_data(r, x), scratch);
  return qk_dequantize(r->model->numerics, x->dtype, 1, x->bytes, 1, scratch, 1, &scale,
                       &x->zero_point, qk_value_data(r, &r->model->values[n->output]));
}

/* ---- conv2d ------------------------------------------------------------------------------------ */

static const char* const k_conv2d_keys[] = {
    "weight", "weight_scales", "weight_zero_points", "bias", "stride", "padding", "dilation",
    "groups", "relu", "output_dtype", "output_scale", "output_zero_point", "output_min",
    "output_max", "weight_quantization", NULL};

static qk_status parse_conv2d_geometry(const cJSON* js, const char* what, qk_conv2d_desc* d) {
  size_t pair[2], four[4];
  int64_t groups = 1;
  if (cJSON_GetObjectItemCaseSensitive(js, "groups") != NULL &&
      !qk_json_int(js, "groups", 1, 1e9, &groups)) {
    return qk_fail(QK_ERROR_INVALID_ARGUMENT, "%s: groups must be a positive integer", what);
  }
  d->groups = (size_t)groups;
  if (!qk_json_ints(js, "stride", 2, 1, 1e6, pair)) {
    return qk_fail(QK_ERROR_INVALID_ARGUMENT, "%s: stride must be [SH, SW] >= 1", what);
  }
  d->stride_height = pair[0];
  d->stride_width = pair[1];
  if (!qk_json_ints(js, "dilation", 2, 1, 1e6, pair)) {
    return qk_fail(QK_ERROR_INVALID_ARGUMENT, "%s: dilation must be [DH, DW] >= 1", what);
  }
  d->dilation_height = pair[0];
  d->dilation_width = pair[1];
  if (!qk_json_ints(js, "padding", 4, 0, 1e6, four)) {
    return qk_fail(QK_ERROR_INVALID_ARGUMENT, "%s: padding must be [top, left, bottom, right]",
                   what);
  }
  d->padding_top = four[0];
  d->padding_left = four[1];
  d->padding_bottom = four[2];
  d->padding_right = four[3];
  return QK_SUCCESS;
}

/* relu, output qparams and output_min / output_max of a conv2d / linear node. */
static qk_status parse_epilogue(const cJSON* js, const char* what, qk_value* y, int* relu,
                                int32_t* output_min, int32_t* output_max) {
  bool r;
  if (!qk_json_bool(js, "relu", &r)) {
    return qk_fail(QK_ERROR_INVALID_ARGUMENT, "%s: relu must be true or false", what);
  }
  *relu = r;
  if (!optional_int32(js, "output_min", output_min) ||
      !optional_int32(js, "output_max", output_max)) {
    return qk_fail(QK_ERROR_INVALID_ARGUMENT, "%s: output_min / output_max must be int32", what);
  }
  return qk_parse_output_qparams(js, what, y);
}

static qk_status parse_conv2d(qk_model* m, const qk_st_file* f, const cJSON* js, qk_node* n,
                              const char* what) {
  const qk_value* x;
  qk_status s = quantized_input(m, n, 0, what, &x);
  if (s != QK_SUCCESS) return s;
  qk_value* y = &m->values[n->output];
  const qk_st_tensor* w;
  if ((s = get_tensor(f, js, "weight", what, true, &w)) != QK_SUCCESS) return s;
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
  if ((s = parse_conv2d_geometry(js, what, &d)) != QK_SUCCESS) return s;
  if (w->shape[1] * d.groups != d.input_channels) {
    return qk_fail(QK_ERROR_INVALID_ARGUMENT,
                   "%s: weight has %zu input channels per group, the input %zu channels in %zu "
                   "groups",
                   what, w->shape[1], d.input_channels, d.groups);
  }
  if ((s = parse_epilogue(js, what, y, &d.relu, &d.output_min, &d.output_max)) != QK_SUCCESS) {
    return s;
  }
  weight_params p;
  if ((s = read_weight_params(f, js, d.output_channels, what, &p)) != QK_SUCCESS) return s;
  d.input_type = x->dtype;
  d.input_scale = x->scale;
  d.input_zero_point = x->zero_point;
  d.weights = (const int8_t*)w->data; /* int8: any alignment */
  d.weight_scale_count = p.scale_count;
  d.weight_scales = p.scales;
  d.weight_zero_points = p.zero_points;
  d.weight_quantization = p.quantization;
  d.bias_type = p.bias_type;
  d.bias = p.bias;
  d.output_type = y->dtype;
  d.output_scale = y->scale;
  d.output_zero_point = y->zero_point;
  qk_conv2d* conv = NULL;
  s = qk_conv2d_create(&d, &conv);
  free_weight_params(&p);
  if (s != QK_SUCCESS) return qk_fail_with_last(s, what);
  n->op = conv;
  y->rank = 4;
  y->shape[0] = x->shape[0];
  y->shape[1] = d.output_channels;
  if (qk_conv2d_output_size(conv, x->shape[2], x->shape[3], &y->shape[2], &y->shape[3]) !=
      QK_SUCCESS) {
    return qk_fail(QK_ERROR_INVALID_ARGUMENT, "%s: the kernel does not fit the %zux%zu input",
                   what, x->shape[2], x->shape[3]);
  }
  n->workspace = qk_conv2d_workspace_size(conv);
  return qk_value_set_bytes(y, what);
}

static qk_status run_conv2d(const qk_run_context* r, const qk_node* n) {
  const qk_value* x = &r->model->values[n->inputs[0]];
  return qk_conv2d_run_threaded(n->op, x->shape[0], x->shape[2], x->shape[3], qk_value_data(r, x),
                                qk_value_data(r, &r->model->values[n->output]), r->workspace,
                                r->pool);
}

static void destroy_conv2d(qk_node* n) { qk_conv2d_delete(n->op); }

/* ---- linear ------------------------------------------------------------------------------------ */

static const char* const k_linear_keys[] = {
    "weight", "weight_scales", "weight_zero_points", "bias", "relu", "output_dtype",
    "output_scale", "output_zero_point", "output_min", "output_max", "weight_quantization", NULL};

static qk_status parse_linear(qk_model* m, const qk_st_file* f, const cJSON* js, qk_node* n,
                              const char* what) {
  const qk_value* x;
  qk_status s = quantized_input(m, n, 0, what, &x);
  if (s != QK_SUCCESS) return s;
  if (x->rank != 2) {
    return qk_fail(QK_ERROR_INVALID_ARGUMENT,
                   "%s: input '%s' must be 2-D [N, K] (flatten it first)", what, x->name);
  }
  qk_value* y = &m->values[n->output];
  const qk_st_tensor* w;
  if ((s = get_tensor(f, js, "weight", what, true, &w)) != QK_SUCCESS) return s;
  if (w->dtype != QK_ST_I8 || w->rank != 2 || w->count == 0 || w->shape[1] != x->shape[1]) {
    return qk_fail(QK_ERROR_INVALID_ARGUMENT, "%s: weight must be I8 [O, K] with K = %zu", what,
                   x->shape[1]);
  }
  qk_linear_desc d;
  qk_linear_desc_init(&d);
  d.numerics = m->numerics;
  d.input_channels = w->shape[1];
  d.output_channels = w->shape[0];
  if ((s = parse_epilogue(js, what, y, &d.relu, &d.output_min, &d.output_max)) != QK_SUCCESS) {
    return s;
  }
  weight_params p;
  if ((s = read_weight_params(f, js, d.output_channels, what, &p)) != QK_SUCCESS) return s;
  d.input_type = x->dtype;
  d.input_scale = x->scale;
  d.input_zero_point = x->zero_point;
  d.weights = (const int8_t*)w->data;
  d.weight_scale_count = p.scale_count;
  d.weight_scales = p.scales;
  d.weight_zero_points = p.zero_points;
  d.weight_quantization = p.quantization;
  d.bias_type = p.bias_type;
  d.bias = p.bias;
  d.output_type = y->dtype;
  d.output_scale = y->scale;
  d.output_zero_point = y->zero_point;
  qk_linear* op = NULL;
  s = qk_linear_create(&d, &op);
  free_weight_params(&p);
  if (s != QK_SUCCESS) return qk_fail_with_last(s, what);
  n->op = op;
  n->workspace = qk_linear_workspace_size(op);
  y->rank = 2;
  y->shape[0] = x->shape[0];
  y->shape[1] = d.output_channels;
  y->shape[2] = y->shape[3] = 1;
  return qk_value_set_bytes(y, what);
}

static qk_status run_linear(const qk_run_context* r, const qk_node* n) {
  const qk_value* x = &r->model->values[n->inputs[0]];
  return qk_linear_run_threaded(n->op, x->shape[0], qk_value_data(r, x),
                                qk_value_data(r, &r->model->values[n->output]), r->workspace,
                                r->pool);
}

static void destroy_linear(qk_node* n) { qk_linear_delete(n->op); }

/* ---- flatten ------------------------------------------------------------------------------------ */

/* torch.flatten(x, 1) of an [N, C, H, W] value: [N, C*H*W] in NCHW order. NHWC storage holds the
 * same bytes when H = W = 1 (after a global pool); otherwise the channels move to the front. */
static const char* const k_flatten_keys[] = {NULL};

static qk_status parse_flatten(qk_model* m, const qk_st_file* f, const cJSON* js, qk_node* n,
                               const char* what) {
  (void)f;
  (void)js;
  const qk_value* x;
  qk_status s = quantized_input(m, n, 0, what, &x);
  if (s != QK_SUCCESS) return s;
  qk_value* y = &m->values[n->output];
  y->dtype = x->dtype;
  y->scale = x->scale;
  y->zero_point = x->zero_point;
  y->rank = 2;
  y->shape[0] = x->shape[0];
  if (!qk_mul_size(x->shape[1], x->shape[2], &y->shape[1]) ||
      !qk_mul_size(y->shape[1], x->shape[3], &y->shape[1])) {
    return qk_fail(QK_ERROR_SIZE_OVERFLOW, "%s: the flattened size overflows", what);
  }
  y->shape[2] = y->shape[3] = 1;
  return qk_value_set_bytes(y, what);
}

static qk_status run_flatten(const qk_run_context* r, const qk_node* n) {
  const qk_value* x = &r->model->values[n->inputs[0]];
  const uint8_t* in = qk_value_data(r, x);
  uint8_t* out = qk_value_data(r, &r->model->values[n->output]);
  if (x->shape[2] * x->shape[3] == 1) {
    memcpy(out, in, x->bytes);
  } else {
    qk_nhwc_to_nchw_u8(x, in, out);
  }
  return QK_SUCCESS;
}

/* ---- pooling ----------------------------------------------------------------------------------- */

static const char* const k_max_pool2d_keys[] = {"kernel", "stride", "padding", "dilation",
                                                "ceil_mode", NULL};
static const char* const k_avg_pool2d_keys[] = {"kernel", "stride", "padding", "ceil_mode",
                                                "count_include_pad", "divisor_override", NULL};
static const char* const k_adaptive_avg_pool2d_keys[] = {"output_size", NULL};

static qk_status parse_pool_window(const cJSON* js, const char* what, bool dilation,
                                   qk_pool2d_desc* d) {
  size_t pair[2], four[4];
  bool ceil_mode;
  if (!qk_json_ints(js, "kernel", 2, 1, 1e6, pair)) {
    return qk_fail(QK_ERROR_INVALID_ARGUMENT, "%s: kernel must be [KH, KW] >= 1", what);
  }
  d->kernel_height = pair[0];
  d->kernel_width = pair[1];
  if (!qk_json_ints(js, "stride", 2, 1, 1e6, pair)) {
    return qk_fail(QK_ERROR_INVALID_ARGUMENT, "%s: stride must be [SH, SW] >= 1", what);
  }
  d->stride_height = pair[0];
  d->stride_width = pair[1];
  if (dilation) {
    if (!qk_json_ints(js, "dilation", 2, 1, 1e6, pair)) {
      return qk_fail(QK_ERROR_INVALID_ARGUMENT, "%s: dilation must be [DH, DW] >= 1", what);
    }
    d->dilation_height = pair[0];
    d->dilation_width = pair[1];
  }
  if (!qk_json_ints(js, "padding", 4, 0, 1e6, four)) {
    return qk_fail(QK_ERROR_INVALID_ARGUMENT, "%s: padding must be [top, left, bottom, right]",
                   what);
  }
  d->padding_top = four[0];
  d->padding_left = four[1];
  d->padding_bottom = four[2];
  d->padding_right = four[3];
  if (!qk_json_bool(js, "ceil_mode", &ceil_mode)) {
    return qk_fail(QK_ERROR_INVALID_ARGUMENT, "%s: ceil_mode must be true or false", what);
  }
  d->ceil_mode = ceil_mode;
  return QK_SUCCESS;
}

static qk_status parse_pool2d(qk_model* m, const cJSON* js, qk_node* n, const char* what,
                              qk_pool2d_kind kind) {
  const qk_value* x;
  qk_status s = quantized_input(m, n, 0, what, &x);
  if (s != QK_SUCCESS) return s;
  if (x->rank != 4) {
    return qk_fail(QK_ERROR_INVALID_ARGUMENT, "%s: input '%s' must be 4-D", what, x->name);
  }
  qk_pool2d_desc d;
  qk_pool2d_desc_init(&d);
  d.numerics = m->numerics;
  d.kind = kind;
  d.type = x->dtype;
  d.channels = x->shape[1];
  d.input_scale = x->scale;
  d.input_zero_point = x->zero_point;
  d.output_zero_point = x->zero_point; /* PyTorch's pools keep the input's qparams */
  if (kind == QK_POOL2D_ADAPTIVE_AVERAGE) {
    size_t size[2];
    if (!qk_json_ints(js, "output_size", 2, 1, 1e6, size)) {
      return qk_fail(QK_ERROR_INVALID_ARGUMENT, "%s: output_size must be [OH, OW] >= 1", what);
    }
    d.output_height = size[0];
    d.output_width = size[1];
  } else {
    if ((s = parse_pool_window(js, what, kind == QK_POOL2D_MAX, &d)) != QK_SUCCESS) return s;
  }
  if (kind == QK_POOL2D_AVERAGE) {
    bool count_include_pad = true;
    if (cJSON_GetObjectItemCaseSensitive(js, "count_include_pad") != NULL &&
        !qk_json_bool(js, "count_include_pad", &count_include_pad)) {
      return qk_fail(QK_ERROR_INVALID_ARGUMENT, "%s: count_include_pad must be true or false",
                     what);
    }
    d.count_include_pad = count_include_pad;
    int64_t divisor = 0;
    if (cJSON_GetObjectItemCaseSensitive(js, "divisor_override") != NULL &&
        !qk_json_int(js, "divisor_override", 1, 1e9, &divisor)) {
      return qk_fail(QK_ERROR_INVALID_ARGUMENT, "%s: divisor_override must be >= 1", what);
    }
    d.divisor_override = divisor;
  }
  qk_pool2d* op = NULL;
  if ((s = qk_pool2d_create(&d, &op)) != QK_SUCCESS) return qk_fail_with_last(s, what);
  n->op = op;
  qk_value* y = &m->values[n->output];
  y->dtype = x->dtype;
  y->scale = x->scale;
  y->zero_point = x->zero_point;
  y->rank = 4;
  y->shape[0] = x->shape[0];
  y->shape[1] = x->shape[1];
  if (qk_pool2d_output_size(op, x->shape[2], x->shape[3], &y->shape[2], &y->shape[3]) !=
      QK_SUCCESS) {
    return qk_fail(QK_ERROR_INVALID_ARGUMENT, "%s: the window does not fit the %zux%zu input",
                   what, x->shape[2], x->shape[3]);
  }
  return qk_value_set_bytes(y, what);
}

static qk_status parse_max_pool2d(qk_model* m, const qk_st_file* f, const cJSON* js, qk_node* n,
                                  const char* what) {
  (void)f;
  return parse_pool2d(m, js, n, what, QK_POOL2D_MAX);
}

static qk_status parse_avg_pool2d(qk_model* m, const qk_st_file* f, const cJSON* js, qk_node* n,
                                  const char* what) {
  (void)f;
  return parse_pool2d(m, js, n, what, QK_POOL2D_AVERAGE);
}

static qk_status parse_adaptive_avg_pool2d(qk_model* m, const qk_st_file* f, const cJSON* js,
                                           qk_node* n, const char* what) {
  (void)f;
  return parse_pool2d(m, js, n, what, QK_POOL2D_ADAPTIVE_AVERAGE);
}

static qk_status run_pool2d(const qk_run_context* r, const qk_node* n) {
  const qk_value* x = &r->model->values[n->inputs[0]];
  return qk_pool2d_run_threaded(n->op, x->shape[0], x->shape[2], x->shape[3], qk_value_data(r, x),
                                qk_value_data(r, &r->model->values[n->output]), r->pool);
}

static void destroy_pool2d(qk_node* n) { qk_pool2d_delete(n->op); }

/* ---- add / mul ---------------------------------------------------------------------------------- */

static const char* const k_binary_keys[] = {"relu", "output_dtype", "output_scale",
                                            "output_zero_point", NULL};

/* Two quantized inputs of one dtype; mul also takes b as [N, C, 1, 1] against a's [N, C, H, W]
 * (squeeze-and-excite). */
static qk_status binary_inputs(const qk_model* m, const qk_node* n, const char* what,
                               bool broadcast_allowed, const qk_value** a, const qk_value** b,
                               bool* broadcast) {
  qk_status s;
  if ((s = quantized_input(m, n, 0, what, a)) != QK_SUCCESS ||
      (s = quantized_input(m, n, 1, what, b)) != QK_SUCCESS) {
    return s;
  }
  if ((*a)->dtype != (*b)->dtype) {
    return qk_fail(QK_ERROR_INVALID_ARGUMENT, "%s: inputs '%s' and '%s' differ in dtype", what,
                   (*a)->name, (*b)->name);
  }
  const bool same = memcmp((*a)->shape, (*b)->shape, sizeof((*a)->shape)) == 0;
  *broadcast = !same && broadcast_allowed && (*b)->shape[0] == (*a)->shape[0] &&
               (*b)->shape[1] == (*a)->shape[1] && (*b)->shape[2] == 1 && (*b)->shape[3] == 1;
  if (!same && !*broadcast) {
    return qk_fail(QK_ERROR_INVALID_ARGUMENT, "%s: inputs '%s' and '%s' differ in shape%s", what,
                   (*a)->name, (*b)->name,
                   broadcast_allowed ? " (and b is not [N, C, 1, 1])" : "");
  }
  return QK_SUCCESS;
}

static qk_status binary_output(qk_model* m, const cJSON* js, qk_node* n, const char* what,
                               const qk_value* a, int* relu) {
  qk_value* y = &m->values[n->output];
  bool r;
  if (!qk_json_bool(js, "relu", &r)) {
    return qk_fail(QK_ERROR_INVALID_ARGUMENT, "%s: relu must be true or false", what);
  }
  *relu = r;
  qk_status s = qk_parse_output_qparams(js, what, y);
  if (s != QK_SUCCESS) return s;
  if (y->dtype != a->dtype) {
    return qk_fail(QK_ERROR_INVALID_ARGUMENT, "%s: output_dtype must be the inputs' dtype", what);
  }
  y->rank = a->rank;
  memcpy(y->shape, a->shape, sizeof(y->shape));
  return QK_SUCCESS;
}

/* The fields qk_add_desc and qk_mul_desc share (same names, two struct types). */
#define QK_FILL_BINARY_DESC(d, m, a, b, y) \
  do {                                     \
    (d).numerics = (m)->numerics;          \
    (d).channels = (a)->shape[1];          \
    (d).type = (a)->dtype;                 \
    (d).a_scale = (a)->scale;              \
    (d).a_zero_point = (a)->zero_point;    \
    (d).b_scale = (b)->scale;              \
    (d).b_zero_point = (b)->zero_point;    \
    (d).output_scale = (y)->scale;         \
    (d).output_zero_point = (y)->zero_point; \
  } while (0)

static qk_status parse_add(qk_model* m, const qk_st_file* f, const cJSON* js, qk_node* n,
                           const char* what) {
  (void)f;
  const qk_value *a, *b;
  bool broadcast;
  qk_status s = binary_inputs(m, n, what, false, &a, &b, &broadcast);
  if (s != QK_SUCCESS) return s;
  qk_add_desc d;
  qk_add_desc_init(&d);
  if ((s = binary_output(m, js, n, what, a, &d.relu)) != QK_SUCCESS) return s;
  const qk_value* y = &m->values[n->output];
  QK_FILL_BINARY_DESC(d, m, a, b, y);
  qk_add* op = NULL;
  if ((s = qk_add_create(&d, &op)) != QK_SUCCESS) return qk_fail_with_last(s, what);
  n->op = op;
  return qk_value_set_bytes(&m->values[n->output], what);
}

static qk_status run_add(const qk_run_context* r, const qk_node* n) {
  const qk_value* a = &r->model->values[n->inputs[0]];
  const qk_value* b = &r->model->values[n->inputs[1]];
  return qk_add_run_threaded(n->op, a->shape[0] * a->shape[2] * a->shape[3], qk_value_data(r, a),
                             qk_value_data(r, b), qk_value_data(r, &r->model->values[n->output]),
                             r->pool);
}

static void destroy_add(qk_node* n) { qk_add_delete(n->op); }

static qk_status parse_mul(qk_model* m, const qk_st_file* f, const cJSON* js, qk_node* n,
                           const char* what) {
  (void)f;
  const qk_value* first = &m->values[n->inputs[0]];
  const qk_value* second = &m->values[n->inputs[1]];
  if (first->shape[2] * first->shape[3] == 1 && second->shape[2] * second->shape[3] > 1) {
    /* mul(scale [N, C, 1, 1], x) as squeeze-and-excite writes it: the broadcast operand second
     * (the product of two dequantized floats does not depend on their order). */
    const size_t t = n->inputs[0];
    n->inputs[0] = n->inputs[1];
    n->inputs[1] = t;
  }
  const qk_value *a, *b;
  bool broadcast;
  qk_status s = binary_inputs(m, n, what, true, &a, &b, &broadcast);
  if (s != QK_SUCCESS) return s;
  qk_mul_desc d;
  qk_mul_desc_init(&d);
  if ((s = binary_output(m, js, n, what, a, &d.relu)) != QK_SUCCESS) return s;
  const qk_value* y = &m->values[n->output];
  QK_FILL_BINARY_DESC(d, m, a, b, y);
  d.broadcast_b = broadcast;
  qk_mul* op = NULL;
  if ((s = qk_mul_create(&d, &op)) != QK_SUCCESS) return qk_fail_with_last(s, what);
  n->op = op;
  return qk_value_set_bytes(&m->values[n->output], what);
}

static qk_status run_mul(const qk_run_context* r, const qk_node* n) {
  const qk_value* a = &r->model->values[n->inputs[0]];
  const qk_value* b = &r->model->values[n->inputs[1]];
  return qk_mul_run_threaded(n->op, a->shape[0], a->shape[2] * a->shape[3], qk_value_data(r, a),
                             qk_value_data(r, b), qk_value_data(r, &r->model->values[n->output]),
                             r->pool);
}

static void destroy_mul(qk_node* n) { qk_mul_delete(n->op); }

/* ---- activations ---------------------------------------------------------------------------- */

static const char* const k_unary_keys[] = {"min", "max", "negative_slope", "output_dtype",
                                           "output_scale", "output_zero_point", NULL};

static qk_status parse_unary(qk_model* m, const cJSON* js, qk_node* n, const char* what,
                             qk_unary_op op) {
  const qk_value* x;
  qk_status s = quantized_input(m, n, 0, what, &x);
  if (s != QK_SUCCESS) return s;
  qk_unary_desc d;
  qk_unary_desc_init(&d);
  d.numerics = m->numerics;
  d.op = op;
  d.channels = x->shape[1];
  d.type = x->dtype;
  d.input_scale = x->scale;
  d.input_zero_point = x->zero_point;
  double v;
  if (qk_json_double(js, "min", &v)) d.min = (float)v;
  if (qk_json_double(js, "max", &v)) d.max = (float)v;
  if (qk_json_double(js, "negative_slope", &v)) d.negative_slope = (float)v;
  qk_value* y = &m->values[n->output];
  if (cJSON_GetObjectItemCaseSensitive(js, "output_scale") != NULL) {
    if ((s = qk_parse_output_qparams(js, what, y)) != QK_SUCCESS) return s;
    if (y->dtype != x->dtype) {
      return qk_fail(QK_ERROR_INVALID_ARGUMENT, "%s: output_dtype must be the input's", what);
    }
    d.output_scale = y->scale;
    d.output_zero_point = y->zero_point;
  }
  qk_unary* u = NULL;
  if ((s = qk_unary_create(&d, &u)) != QK_SUCCESS) return qk_fail_with_last(s, what);
  n->op = u;
  y->dtype = x->dtype;
  qk_unary_output_quantization(u, &y->scale, &y->zero_point);
  y->rank = x->rank;
  memcpy(y->shape, x->shape, sizeof(y->shape));
  return qk_value_set_bytes(y, what);
}

#define QK_UNARY_PARSER(fn, op)                                                           \
  static qk_status fn(qk_model* m, const qk_st_file* f, const cJSON* js, qk_node* n,       \
                      const char* what) {                                                 \
    (void)f;                                                                              \
    return parse_unary(m, js, n, what, op);                                               \
  }
QK_UNARY_PARSER(parse_relu, QK_UNARY_RELU)
QK_UNARY_PARSER(parse_clamp, QK_UNARY_CLAMP)
QK_UNARY_PARSER(parse_hardswish, QK_UNARY_HARDSWISH)
QK_UNARY_PARSER(parse_hardsigmoid, QK_UNARY_HARDSIGMOID)
QK_UNARY_PARSER(parse_sigmoid, QK_UNARY_SIGMOID)
QK_UNARY_PARSER(parse_leaky_relu, QK_UNARY_LEAKY_RELU)

static qk_status run_unary(const qk_run_context* r, const qk_node* n) {
  const qk_value* x = &r->model->values[n->inputs[0]];
  return qk_unary_run_threaded(n->op, x->shape[0] * x->shape[2] * x->shape[3],
                               qk_value_data(r, x),
                               qk_value_data(r, &r->model->values[n->output]), r->pool);
}

static void destroy_unary(qk_node* n) { qk_unary_delete(n->op); }

/* ---- cat along channels ------------------------------------------------------------------------ */

static const char* const k_cat_keys[] = {"axis", "output_dtype", "output_scale",
                                         "output_zero_point", NULL};

static qk_status parse_cat(qk_model* m, const qk_st_file* f, const cJSON* js, qk_node* n,
                           const char* what) {
  (void)f;
  int64_t axis;
  if (!qk_json_int(js, "axis", 1, 1, &axis)) {
    return qk_fail(QK_ERROR_UNSUPPORTED, "%s: cat along axis 1 (channels) only", what);
  }
  qk_cat_input in[QK_NODE_MAX_INPUTS];
  const qk_value* x0 = NULL;
  size_t channels = 0;
  qk_status s;
  for (size_t i = 0; i < n->input_count; i++) {
    const qk_value* x;
    if ((s = quantized_input(m, n, i, what, &x)) != QK_SUCCESS) return s;
    if (i == 0) x0 = x;
    if (x->dtype != x0->dtype || x->rank != 4 || x->shape[0] != x0->shape[0] ||
        x->shape[2] != x0->shape[2] || x->shape[3] != x0->shape[3]) {
      return qk_fail(QK_ERROR_INVALID_ARGUMENT,
                     "%s: input '%s' differs from '%s' in dtype or in N, H, W", what, x->name,
                     x0->name);
    }
    in[i] = (qk_cat_input){x->shape[1], x->scale, x->zero_point, 0};
    channels += x->shape[1];
  }
  qk_value* y = &m->values[n->output];
  if ((s = qk_parse_output_qparams(js, what, y)) != QK_SUCCESS) return s;
  qk_cat_desc d;
  qk_cat_desc_init(&d);
  d.numerics = m->numerics;
  d.type = x0->dtype;
  d.input_count = n->input_count;
  d.inputs = in;
  d.output_scale = y->scale;
  d.output_zero_point = y->zero_point;
  qk_cat* op = NULL;
  if ((s = qk_cat_create(&d, &op)) != QK_SUCCESS) return qk_fail_with_last(s, what);
  n->op = op;
  y->rank = 4;
  memcpy(y->shape, x0->shape, sizeof(y->shape));
  y->shape[1] = channels;
  return qk_value_set_bytes(y, what);
}

static qk_status run_cat(const qk_run_context* r, const qk_node* n) {
  const void* inputs[QK_NODE_MAX_INPUTS];
  for (size_t i = 0; i < n->input_count; i++) {
    inputs[i] = qk_value_data(r, &r->model->values[n->inputs[i]]);
  }
  const qk_value* y = &r->model->values[n->output];
  return qk_cat_run_threaded(n->op, y->shape[0] * y->shape[2] * y->shape[3], inputs,
                             qk_value_data(r, y), r->pool);
}

static void destroy_cat(qk_node* n) { qk_cat_delete(n->op); }

/* ---- the table ---------------------------------------------------------------------------------- */

static void destroy_nothing(qk_node* n) { (void)n; }

static const qk_node_kind k_quantize = {"quantize", 1, 1, k_quantize_keys, parse_quantize,
                                        run_quantize, destroy_nothing};
static const qk_node_kind k_dequantize = {"dequantize", 1, 1, k_flatten_keys, parse_dequantize,
                                          run_dequantize, destroy_nothing};
static const qk_node_kind k_conv2d = {"conv2d", 1, 1, k_conv2d_keys, parse_conv2d, run_conv2d,
                                      destroy_conv2d};
static const qk_node_kind k_linear = {"linear", 1, 1, k_linear_keys, parse_linear, run_linear,
                                      destroy_linear};
static const qk_node_kind k_flatten = {"flatten", 1, 1, k_flatten_keys, parse_flatten,
                                       run_flatten, destroy_nothing};

static const qk_node_kind k_max_pool2d = {"max_pool2d", 1, 1, k_max_pool2d_keys,
                                          parse_max_pool2d, run_pool2d, destroy_pool2d};
static const qk_node_kind k_avg_pool2d = {"avg_pool2d", 1, 1, k_avg_pool2d_keys,
                                          parse_avg_pool2d, run_pool2d, destroy_pool2d};
static const qk_node_kind k_adaptive_avg_pool2d = {"adaptive_avg_pool2d", 1, 1,
                                                   k_adaptive_avg_pool2d_keys,
                                                   parse_adaptive_avg_pool2d, run_pool2d,
                                                   destroy_pool2d};
static const qk_node_kind k_add = {"add", 2, 2, k_binary_keys, parse_add, run_add, destroy_add};
static const qk_node_kind k_mul = {"mul", 2, 2, k_binary_keys, parse_mul, run_mul, destroy_mul};
static const qk_node_kind k_relu = {"relu", 1, 1, k_unary_keys, parse_relu, run_unary,
                                    destroy_unary};
static const qk_node_kind k_clamp = {"clamp", 1, 1, k_unary_keys, parse_clamp, run_unary,
                                     destroy_unary};
static const qk_node_kind k_hardswish = {"hardswish", 1, 1, k_unary_keys, parse_hardswish,
                                         run_unary, destroy_unary};
static const qk_node_kind k_hardsigmoid = {"hardsigmoid", 1, 1, k_unary_keys, parse_hardsigmoid,
                                           run_unary, destroy_unary};
static const qk_node_kind k_sigmoid = {"sigmoid", 1, 1, k_unary_keys, parse_sigmoid, run_unary,
                                       destroy_unary};
static const qk_node_kind k_leaky_relu = {"leaky_relu", 1, 1, k_unary_keys, parse_leaky_relu,
                                          run_unary, destroy_unary};
static const qk_node_kind k_cat = {"cat", 1, QK_NODE_MAX_INPUTS, k_cat_keys, parse_cat, run_cat,
                                   destroy_cat};

const qk_node_kind* const qk_node_kinds[] = {
    &k_quantize, &k_dequantize, &k_conv2d, &k_linear, &k_flatten, &k_max_pool2d, &k_avg_pool2d,
    &k_adaptive_avg_pool2d, &k_add, &k_mul, &k_relu, &k_clamp, &k_hardswish, &k_hardsigmoid,
    &k_sigmoid, &k_leaky_relu, &k_cat, NULL};
