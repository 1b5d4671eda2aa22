/* The in-memory graph of a qk model (runtime/): values, nodes, the operations each node kind
 * provides, and the JSON helpers their parsers share. Internal to libqk. */
#ifndef QK_RUNTIME_GRAPH_H
#define QK_RUNTIME_GRAPH_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kernels/common.h"
#include "qk_model.h"
#include "runtime/safetensors.h"

#define QK_NODE_MAX_INPUTS 16
#define QK_ARENA_ALIGNMENT 64

/* An edge of the graph. Shapes are kept 4-D, NCHW as the framework sees them; a 2-D value
 * [N, K] (after flatten, of a linear) is [N, K, 1, 1] with rank 2. Quantized values are stored
 * NHWC (the operators' layout; for rank 2 the same bytes as [N][K]). */
typedef struct qk_value {
  char* name;
  qk_dtype dtype; /* F32, U8 or S8 */
  size_t rank;    /* 4 or 2, as reported */
  size_t shape[4];
  size_t bytes;
  double scale;
  int32_t zero_point;
  int model_input, model_output; /* index at the model's boundary, or -1 */
  /* Lifetime in steps: step 0 converts quantized model inputs, step i + 1 runs node i, the last
   * step converts quantized model outputs. */
  size_t first_step, last_step;
  bool in_arena;
  size_t offset;
} qk_value;

struct qk_node_kind;

typedef struct qk_node {
  const struct qk_node_kind* kind;
  char* name; /* the graph's "name" (the framework's layer), or NULL */
  size_t inputs[QK_NODE_MAX_INPUTS]; /* value indices */
  size_t input_count;
  size_t output;
  void* op;             /* the operator (qk_conv2d*, qk_linear*, ...), owned */
  size_t workspace;     /* the operator's workspace per thread, bytes (aligned) */
  size_t scratch_bytes; /* per-node scratch in the arena (layout changes) */
  size_t scratch_offset;
} qk_node;

struct qk_model {
  qk_numerics numerics;
  qk_value* values;
  size_t value_count, value_capacity;
  qk_node* nodes;
  size_t node_count;
  size_t* inputs; /* value indices */
  size_t input_count;
  size_t* outputs;
  size_t output_count;
  size_t planned_bytes;        /* activations and scratch */
  size_t workspace_per_thread; /* max over the nodes */
};

/* What a run hands each node. */
typedef struct qk_run_context {
  const qk_model* model;
  const void* const* inputs;
  void* const* outputs;
  uint8_t* arena;
  void* workspace; /* qk_model.workspace_per_thread * threads bytes */
  qk_threadpool* pool;
} qk_run_context;

/* One kind of node. parse validates the node's JSON (the common keys op, name, input(s), output
 * are already resolved into n->inputs / n->output), creates the operator and fills the output
 * value (dtype, qparams, shape, then qk_value_set_bytes). run computes it. */
typedef struct qk_node_kind {
  const char* name;
  size_t min_inputs, max_inputs;
  const char* const* keys; /* the keys it accepts besides op, name, input(s), output */
  qk_status (*parse)(qk_model* m, const qk_st_file* f, const cJSON* js, qk_node* n,
                     const char* what);
  qk_status (*run)(const qk_run_context* r, const qk_node* n);
  void (*destroy)(qk_node* n);
} qk_node_kind;

/* The node kinds, in runtime/nodes.c; NULL-terminated. */
QK_INTERNAL extern const qk_node_kind* const qk_node_kinds[];

/* ---- helpers (runtime/model.c) ---- */
QK_INTERNAL void* qk_value_data(const qk_run_context* r, const qk_value* v);
QK_INTERNAL qk_status qk_value_set_bytes(qk_value* v, const char* what);
QK_INTERNAL qk_status qk_check_qparams(const char* what, qk_dtype dtype, double scale, int64_t zp);
QK_INTERNAL qk_status qk_check_keys(const cJSON* object, const char* what,
                                    const char* const* allowed, const char* const* also);
QK_INTERNAL const char* qk_json_string(const cJSON* object, const char* key);
QK_INTERNAL bool qk_json_int(const cJSON* object, const char* key, double lo, double hi,
                             int64_t* out);
QK_INTERNAL bool qk_json_double(const cJSON* object, const char* key, double* out);
QK_INTERNAL bool qk_json_ints(const cJSON* object, const char* key, size_t count, double lo,
                              double hi, size_t* out);
/* An optional boolean: false when absent; false with an error when not a boolean. */
QK_INTERNAL bool qk_json_bool(const cJSON* object, const char* key, bool* out);
QK_INTERNAL bool qk_parse_dtype_name(const char* s, qk_dtype* t);
/* The output qparams of a node: "output_dtype" (u8/s8), "output_scale", "output_zero_point". */
QK_INTERNAL qk_status qk_parse_output_qparams(const cJSON* js, const char* what, qk_value* y);
/* Copies qk_last_error() into a new failure prefixed by `what`. */
QK_INTERNAL qk_status qk_fail_with_last(qk_status s, const char* what);

/* [N][C][H*W] <-> [N][H*W][C] for 8-bit elements. */
QK_INTERNAL void qk_nchw_to_nhwc_u8(const qk_value* v, const uint8_t* in, uint8_t* out);
QK_INTERNAL void qk_nhwc_to_nchw_u8(const qk_value* v, const uint8_t* in, uint8_t* out);

#endif /* QK_RUNTIME_GRAPH_H */
