/*
 * qk models: whole quantized networks, loaded from a qk model file and run bit-exactly as the
 * framework that produced them (docs/model-format.md, docs/deploy.md).
 *
 * A model file is a safetensors file: the weights as tensors, the graph as JSON in its metadata.
 * tools/qk_export.py writes one from a quantized PyTorch model. Loading validates every offset,
 * size, shape, dtype, operator argument and graph reference, creates every operator once (weights
 * packed for the selected ISA) and plans all activations into one arena: a corrupt or hostile file
 * is an error with a message (qk_last_error), never a crash, an over-read or a huge allocation.
 *
 * Tensors at the model's boundary are in the framework's layout (NCHW for PyTorch), C order:
 * float32 for an input the model quantizes itself / an output it dequantizes, the integer
 * representation for a quantized one. Inside, activations are NHWC.
 *
 * A loaded model is immutable: several threads may run it at once, each with its own arena.
 */
#ifndef QK_MODEL_H
#define QK_MODEL_H

#include "qk.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct qk_model qk_model;

#define QK_MODEL_MAX_RANK 8

/* A model input or output as the caller hands it over or receives it. */
typedef struct qk_model_tensor_info {
  const char* name;  /* as in the graph; valid while the model lives */
  qk_dtype dtype;    /* F32, or U8 / S8 (quantized) */
  size_t rank;
  size_t shape[QK_MODEL_MAX_RANK];
  size_t bytes;      /* product of the shape times the element size */
  double scale;      /* quantized tensors only (else 0) */
  int32_t zero_point;
} qk_model_tensor_info;

/* Loads a model from a file / from memory (the memory is copied: the caller may free it after
 * the call). Operators use the ISA selected at this moment (qk_set_isa, QK_ISA). */
QK_API qk_status qk_model_load_file(const char* path, qk_model** model);
QK_API qk_status qk_model_load_memory(const void* data, size_t size, qk_model** model);

QK_API size_t qk_model_input_count(const qk_model* model);
QK_API size_t qk_model_output_count(const qk_model* model);
/* QK_ERROR_INVALID_ARGUMENT for an index >= the count. */
QK_API qk_status qk_model_input_info(const qk_model* model, size_t index,
                                     qk_model_tensor_info* info);
QK_API qk_status qk_model_output_info(const qk_model* model, size_t index,
                                      qk_model_tensor_info* info);
/* Numerics mode the model was exported for (e.g. QK_NUMERICS_PYTORCH_QNNPACK). */
QK_API qk_numerics qk_model_numerics(const qk_model* model);
/* Operators in the model (quantize, conv2d, ... : one per graph node). */
QK_API size_t qk_model_node_count(const qk_model* model);

/* Bytes of the arena a run with up to `threads` threads needs (all activations and every
 * operator's workspace, planned at load; threads 0 counts as 1). */
QK_API size_t qk_model_arena_size(const qk_model* model, size_t threads);

/* Runs the model. inputs[i] / outputs[i]: buffers of qk_model_input_info(i).bytes /
 * qk_model_output_info(i).bytes. arena: NULL (the run allocates qk_model_arena_size bytes and
 * frees them before returning) or at least qk_model_arena_size(model, threads of the pool) bytes
 * aligned to 64, which the run uses and nothing else. threadpool: NULL runs on the caller's
 * thread; the outputs are the same bytes for any number of threads. */
QK_API qk_status qk_model_run(const qk_model* model, const void* const* inputs,
                              void* const* outputs, void* arena, qk_threadpool* threadpool);

/* One node (operator) of the model, for per-layer comparisons and logs. */
typedef struct qk_model_node_info {
  const char* name; /* the framework's layer name from the graph (e.g. "layer1.0.conv1"), else the
                       name of its output value; valid while the model lives */
  const char* op;   /* "conv2d", "add", ... (docs/model-format.md) */
  qk_model_tensor_info output; /* its output value (shape NCHW as the framework sees it) */
} qk_model_node_info;

QK_API qk_status qk_model_describe_node(const qk_model* model, size_t index,
                                        qk_model_node_info* info);

/* Called after each node of an observed run with the node's output. `data` holds
 * info->output.bytes bytes: a quantized output in NHWC order (N, H, W, C: the operators' layout),
 * a float one in NCHW. Valid only during the call. Return 0 to go on; anything else stops the
 * run, which then fails with QK_ERROR_INVALID_ARGUMENT. */
typedef int (*qk_model_observer)(void* user, size_t node, const qk_model_node_info* info,
                                 const void* data);

/* qk_model_run, calling observer (if not NULL) after each node: how `qk run --compare` finds the
 * first layer where qk and the framework differ. */
QK_API qk_status qk_model_run_observed(const qk_model* model, const void* const* inputs,
                                       void* const* outputs, void* arena,
                                       qk_threadpool* threadpool, qk_model_observer observer,
                                       void* user);

/* Frees the model. NULL is accepted. */
QK_API void qk_model_delete(qk_model* model);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* QK_MODEL_H */
