/*
 * qk — int8 kernels for quantized neural-network inference that give exactly the integers a
 * framework (PyTorch fbgemm / qnnpack / onednn, ONNX Runtime, TFLite) produces, on every ISA.
 *
 * Conventions of the whole API
 * - Every function that can fail returns a qk_status. On failure nothing is written to the caller's
 *   output buffers and qk_last_error() returns a one-line message, in English, naming the problem.
 * - Activations are NHWC (channels last), contiguous unless a pixel stride says otherwise.
 *   Weights are accepted in PyTorch's OIHW order and packed at create time; the caller's weight
 *   buffer may be freed after create.
 * - Operators are immutable after create: one operator may run concurrently from several threads,
 *   each with its own workspace (or a NULL workspace, see qk_conv2d_run).
 * - The only global mutable state is the ISA selection (QK_ISA, qk_set_isa) and the per-thread
 *   error message.
 * - Scales are `double`, as PyTorch stores them; modes whose framework stores float32 scales
 *   (ONNX Runtime, TFLite) round them to float32 first, exactly as that framework would see them.
 */
#ifndef QK_H
#define QK_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(QK_BUILDING_LIBRARY) && defined(__GNUC__)
#define QK_API __attribute__((visibility("default")))
#else
#define QK_API
#endif

/* ---------------------------------------------------------------------------------------------
 * Version
 * ------------------------------------------------------------------------------------------- */
#define QK_VERSION_MAJOR 0
#define QK_VERSION_MINOR 1
#define QK_VERSION_PATCH 0

/* (major << 16) | (minor << 8) | patch of the library actually loaded (may differ from the
 * QK_VERSION_* macros of the header a program was compiled with). */
QK_API uint32_t qk_version(void);
/* "0.1.0" */
QK_API const char* qk_version_string(void);

/* ---------------------------------------------------------------------------------------------
 * Status codes and error messages
 * ------------------------------------------------------------------------------------------- */
typedef enum qk_status {
  QK_SUCCESS = 0,
  /* A NULL pointer where data is required, a zero or inconsistent size, a scale that is not a
   * positive finite number, a zero point outside its type's range, an empty output ... */
  QK_ERROR_INVALID_ARGUMENT = 1,
  /* Well-formed, but the chosen numerics mode's framework refuses this configuration (e.g. qint8
   * activations with a nonzero weight zero point in pytorch-qnnpack); qk refuses it too rather than
   * compute an answer the framework never gives. qk_last_error() quotes the framework's rule. */
  QK_ERROR_UNSUPPORTED = 2,
  /* The requested ISA (QK_ISA or qk_set_isa) is unknown, not compiled into this library, or not
   * runnable on this CPU. Operators cannot be created until a valid ISA is selected. */
  QK_ERROR_UNSUPPORTED_ISA = 3,
  /* An allocation failed. */
  QK_ERROR_OUT_OF_MEMORY = 4,
  /* A size computed from the arguments (buffer bytes, GEMM dimensions) does not fit size_t or
   * the 32-bit limits of the kernels. */
  QK_ERROR_SIZE_OVERFLOW = 5,
} qk_status;

/* Short constant description of a status ("invalid argument"); never NULL. */
QK_API const char* qk_status_string(qk_status status);
/* Message of the last failing qk call in the calling thread ("" if none). The pointer stays
 * valid until the next qk call in this thread. */
QK_API const char* qk_last_error(void);

/* ---------------------------------------------------------------------------------------------
 * Data types and numerics modes
 * ------------------------------------------------------------------------------------------- */
typedef enum qk_dtype {
  QK_DTYPE_NONE = 0, /* e.g. "no bias" */
  QK_DTYPE_U8 = 1,   /* PyTorch quint8, ONNX/TFLite uint8 */
  QK_DTYPE_S8 = 2,   /* PyTorch qint8,  ONNX/TFLite int8 */
  QK_DTYPE_S32 = 3,  /* int32 (biases of ONNX Runtime / TFLite, qint32) */
  QK_DTYPE_F32 = 4,  /* float32 (biases of the PyTorch modes) */
} qk_dtype;

/* Which framework's arithmetic to reproduce. The names (qk_numerics_name) are a contract; the
 * "which mode am I?" table is in docs/numerics.md. Values are stable; new modes get new values. */
typedef enum qk_numerics {
  /* "pytorch-fbgemm": PyTorch's fbgemm engine as it computes on an AVX512-VNNI CPU with a
   * GCC-built FBGEMM: exact GEMM accumulators; per-tensor float bias fused into one FMA on the
   * im2col / pointwise / groupwise paths; FBGEMM's depthwise kernel (3x3/5x5/7x7 "same" padding,
   * channels % 8 == 0) adds filter-tap pairs with int16 saturation. u8 activations. */
  QK_NUMERICS_PYTORCH_FBGEMM = 1,
  /* "pytorch-qnnpack": PyTorch's qnnpack engine: u8 activations take QNNPACK (int32 bias,
   * multiplier (sw*sx)*(1/so)), s8 activations XNNPACK (int32 bias, multiplier (sx*sw)/so,
   * saturating). Where 1.13 and 2.x differ, 2.x (s8 with a one-value output range is accepted). */
  QK_NUMERICS_PYTORCH_QNNPACK = 2,
  /* "pytorch-onednn-1.13": PyTorch 1.13 - 2.0 onednn engine (oneDNN 2.x): float bias, reciprocal
   * scales, zero point added in float before rounding. u8 activations, symmetric weights. */
  QK_NUMERICS_PYTORCH_ONEDNN_1_13 = 3,
  /* "onnxruntime": ONNX Runtime QLinearConv (x86-64 MLAS): int32 bias, float scale, clamp, round. */
  QK_NUMERICS_ONNXRUNTIME = 4,
  /* "tflite": TFLite's reference integer kernels (= TFLite Micro = CMSIS-NN): gemmlowp multiplier
   * and shift with double rounding, int32 acc + output zero point wrapping before the clamp. */
  QK_NUMERICS_TFLITE = 5,
  /* "pytorch-onednn": PyTorch >= 2.2 onednn engine (oneDNN 3.x): acc * (xs' * ws) + bias,
   * * (1/os), + zp in float, xs' = 1/(1/xs) in float. u8 activations, symmetric weights. */
  QK_NUMERICS_PYTORCH_ONEDNN = 6,
  /* "pytorch-fbgemm-avx2": "pytorch-fbgemm" on a CPU without AVX512-VNNI: the GEMM paths also add
   * pairs of K indices with int16 saturation (vpmaddubsw), as FBGEMM orders K. */
  QK_NUMERICS_PYTORCH_FBGEMM_AVX2 = 7,
  /* "pytorch-x86": PyTorch's x86 engine on an AVX512-VNNI Linux machine: "pytorch-onednn" for a
   * convolution with groups <= 100 and all weight zero points 0, "pytorch-fbgemm" otherwise. (On
   * an AVX2-only machine the x86 engine is "pytorch-fbgemm-avx2".) */
  QK_NUMERICS_PYTORCH_X86 = 8,
  /* "xnnpack": XNNPACK's qs8 / qc8w convolution as ExecuTorch's XNNPACK backend and TFLite's
   * XNNPACK delegate run it (PyTorch 2 export users): int32 bias, float32 scales
   * sx * sw / so, float clamp, round half to even, integer zero point. */
  QK_NUMERICS_XNNPACK = 9,
} qk_numerics;

/* How the weight scales (and zero points) apply: per tensor or per output channel. AUTO (the
 * default, 0) takes it from weight_scale_count (1: per tensor, O: per channel); PER_CHANNEL with
 * one scale expresses a per-channel weight of one output channel, which some frameworks
 * (fbgemm) compute differently from a per-tensor one. */
#define QK_WEIGHT_QUANTIZATION_API 1 /* this header has qk_conv2d_desc.weight_quantization */
typedef enum qk_weight_quantization {
  QK_WEIGHT_QUANTIZATION_AUTO = 0,
  QK_WEIGHT_QUANTIZATION_PER_TENSOR = 1,
  QK_WEIGHT_QUANTIZATION_PER_CHANNEL = 2,
} qk_weight_quantization;

/* "pytorch-qnnpack" ... ; NULL for a value that is not a mode. */
QK_API const char* qk_numerics_name(qk_numerics numerics);
/* Parses the names above; QK_ERROR_INVALID_ARGUMENT for anything else. */
QK_API qk_status qk_numerics_from_name(const char* name, qk_numerics* numerics);

/* ---------------------------------------------------------------------------------------------
 * ISA selection
 *
 * At the first qk call the library detects the CPU (cpuinfo, plus a few lines of cpuid / hwcaps for
 * what Debian's cpuinfo does not know; if cpuinfo fails, the features are read with cpuid on x86
 * and from the kernel's hwcaps on ARM, and qk_isa_reason() says so) and selects the best ISA
 * compiled in.
 * The environment variable QK_ISA (read once, then) forces one by name: "generic", "avx2",
 * "avxvnni", "avx512vnni", "neon", "neondot", "i8mm". An unknown name, or one this CPU cannot run,
 * is not silently replaced: operator creation fails with QK_ERROR_UNSUPPORTED_ISA and a message
 * until qk_set_isa selects a valid one. Operators keep the ISA they were created with.
 * QK_VERBOSE=1 prints one line per operator create and run to stderr (op, shapes, numerics, ISA,
 * microkernel, time).
 * ------------------------------------------------------------------------------------------- */

/* Name of the ISA new operators will use ("generic", "avx512vnni"...), or NULL when QK_ISA named
 * an ISA that cannot be used (qk_last_error() says why). */
QK_API const char* qk_get_isa(void);
/* Selects the ISA for operators created from now on (NULL or "" = the best supported one).
 * QK_ERROR_UNSUPPORTED_ISA for unknown, not compiled in or not runnable here. Thread-safe. */
QK_API qk_status qk_set_isa(const char* name);
/* 1 if the ISA is compiled in and this CPU can run it, else 0. */
QK_API int qk_isa_is_supported(const char* name);
/* Space-separated list of the ISAs compiled into this library, best last ("generic avx2 ..."). */
QK_API const char* qk_compiled_isas(void);
/* Human-readable CPU name from cpuinfo ("AMD EPYC 9B14"), "unknown" if not reported. */
QK_API const char* qk_cpu_name(void);
/* Space-separated list of the detected CPU features qk cares about ("avx2 avx512f avx512vnni"). */
QK_API const char* qk_cpu_features(void);
/* Why the current ISA was selected: "best ISA this CPU supports", "QK_ISA=avx2",
 * "qk_set_isa(\"avx2\")"; when QK_ISA names an unusable ISA, the error message. */
QK_API const char* qk_isa_reason(void);

/* ---------------------------------------------------------------------------------------------
 * Thread pool. Operators never start threads by themselves: pass a pool to the *_threaded run
 * functions.
 * ------------------------------------------------------------------------------------------- */
typedef struct qk_threadpool qk_threadpool;
/* threads: 0 = one per logical processor; 1 = no extra thread (work runs on the caller's). */
QK_API qk_status qk_threadpool_create(size_t threads, qk_threadpool** threadpool);
/* Threads that share the work (1 for NULL). */
QK_API size_t qk_threadpool_threads(const qk_threadpool* threadpool);
/* Stops the threads and frees the pool. NULL is accepted. */
QK_API void qk_threadpool_delete(qk_threadpool* threadpool);

/* ---------------------------------------------------------------------------------------------
 * quantize / dequantize
 *
 * The tensor is viewed as [outer][channels][inner] (for a per-channel axis a, `channels` is the
 * size of dimension a, `outer` the product of the dimensions before it, `inner` after it; for
 * per-tensor parameters any split works, e.g. outer = inner = 1, channels = element count).
 * scale_count is 1 (per tensor) or `channels` (per channel); zero_points may be NULL (all zero).
 *
 * quantize, per numerics mode (NaN inputs are QK_ERROR_INVALID_ARGUMENT; ±inf saturate):
 *   PyTorch modes: q = clamp(rne(x * (1.0f / (float)scale)) + zero_point)   (reciprocal multiplied,
 *                  zero point added after rounding; output U8, S8 or S32); xnnpack the same
 *                  (XNNPACK's convert; U8, S8)
 *   onnxruntime:   q = rne(clamp(x / (float)scale, qmin - zp, qmax - zp)) + zp   (MLAS; U8, S8)
 *   tflite:        q = clamp(round_half_away(x / (float)scale) + zp)   (reference AffineQuantize;
 * U8, S8) dequantize: y = (float)scale * (float)(q - zero_point) (input U8, S8 or S32); tflite
 * computes (float)((double)(float)scale * (q - zero_point)), the same for U8/S8.
 * ------------------------------------------------------------------------------------------- */
QK_API qk_status qk_quantize(qk_numerics numerics, qk_dtype output_type, size_t outer,
                             size_t channels, size_t inner, const float* input, size_t scale_count,
                             const double* scales, const int32_t* zero_points, void* output);
QK_API qk_status qk_dequantize(qk_numerics numerics, qk_dtype input_type, size_t outer,
                               size_t channels, size_t inner, const void* input, size_t scale_count,
                               const double* scales, const int32_t* zero_points, float* output);

/* ---------------------------------------------------------------------------------------------
 * conv2d
 *
 * y[n, oy, ox, o] for input x[n, iy, ix, c] (NHWC) and weights w[o][c'][kh][kw] (OIHW, c' < C/G):
 *   acc = Σ_{c', kh, kw} (x[n, oy*SH + kh*DH - PT, ox*SW + kw*DW - PL, g*C/G + c'] - x_zp)
 *                        * (w[o][c'][kh][kw] - w_zp[o])          (g = o / (O/G); taps outside
 *                                                                  the image contribute 0)
 *   y = requantize(acc) as the numerics mode's framework does it (docs/numerics.md).
 * Output size: OH = (H + PT + PB - DH*(KH-1) - 1) / SH + 1, likewise OW.
 * ------------------------------------------------------------------------------------------- */
typedef struct qk_conv2d qk_conv2d;

typedef struct qk_conv2d_desc {
  /* sizeof(qk_conv2d_desc) as the caller compiled it; set by qk_conv2d_desc_init. Fields are
   * only ever appended: a descriptor from an older header (smaller struct_size, at least the 240
   * bytes of qk 0.1) gets the documented defaults for the fields it lacks; one from a newer header
   * is accepted when every byte this library does not know is zero (i.e. the newer fields are at
   * their defaults), and refused with QK_ERROR_UNSUPPORTED otherwise. */
  size_t struct_size;
  qk_numerics numerics;

  size_t input_channels;  /* C, all groups together */
  size_t output_channels; /* O, all groups together */
  size_t groups;          /* G divides C and O; G = C = O/k is depthwise. Default 1. */
  size_t kernel_height, kernel_width;
  size_t stride_height, stride_width;                              /* default 1 */
  size_t dilation_height, dilation_width;                          /* default 1 */
  size_t padding_top, padding_left, padding_bottom, padding_right; /* default 0 */

  qk_dtype input_type; /* U8 or S8 */
  double input_scale;
  int32_t input_zero_point;

  /* OIHW int8, O * (C/G) * KH * KW values. Read at create only. */
  const int8_t* weights;
  size_t weight_scale_count;         /* 1 (per tensor) or O (per output channel); see also
                                        weight_quantization */
  const double* weight_scales;       /* weight_scale_count values */
  const int32_t* weight_zero_points; /* weight_scale_count values in [-128, 127], or NULL = 0 */

  qk_dtype bias_type; /* NONE, F32 (PyTorch modes) or S32 (ONNX Runtime, TFLite) */
  const void* bias;   /* O values of bias_type; read at create only */

  qk_dtype output_type; /* U8 or S8 */
  double output_scale;
  int32_t output_zero_point;
  /* Fused ReLU: outputs below output_zero_point become output_zero_point (the quantized 0). */
  int relu;
  /* Further clamp of the quantized output (e.g. ReLU6, TFLite's activation_min/max). Defaults:
   * INT32_MIN / INT32_MAX, i.e. the output type's range. */
  int32_t output_min, output_max;

  /* Elements between consecutive pixels of the input / output (0 = channel count, i.e. dense),
   * so an operator can read from or write into a slice of a wider (concatenated) tensor. */
  size_t input_pixel_stride, output_pixel_stride;

  /* ---- qk 0.2 ---- */
  /* Per tensor or per channel (see qk_weight_quantization). Default AUTO. PER_TENSOR needs
   * weight_scale_count 1; PER_CHANNEL needs weight_scale_count O. */
  qk_weight_quantization weight_quantization;
} qk_conv2d_desc;

/* Fills a descriptor with the defaults documented above (everything else zero). */
static inline void qk_conv2d_desc_init(qk_conv2d_desc* desc) {
  memset(desc, 0, sizeof(*desc));
  desc->struct_size = sizeof(*desc);
  desc->groups = 1;
  desc->stride_height = desc->stride_width = 1;
  desc->dilation_height = desc->dilation_width = 1;
  desc->output_min = INT32_MIN;
  desc->output_max = INT32_MAX;
}

/* Validates the descriptor, computes every weight-dependent quantity of the numerics mode, and
 * packs the weights for the selected ISA. On success *op owns everything it needs. */
QK_API qk_status qk_conv2d_create(const qk_conv2d_desc* desc, qk_conv2d** op);

/* Output height/width for an input of height x width; QK_ERROR_INVALID_ARGUMENT if the window
 * does not fit (the output would be empty). */
QK_API qk_status qk_conv2d_output_size(const qk_conv2d* op, size_t height, size_t width,
                                       size_t* output_height, size_t* output_width);

/* Bytes of workspace qk_conv2d_run needs. It depends on the operator only (channels, kernel
 * size), never on the image size: the convolution works on bounded tiles of output pixels.
 * See docs/design.md for the formula. */
QK_API size_t qk_conv2d_workspace_size(const qk_conv2d* op);

/* Runs the convolution on `batch` images of height x width (any sizes; they are arguments of
 * each run, not of create). input: batch*H*W pixels of input_pixel_stride elements of input_type;
 * output: batch*OH*OW pixels of output_pixel_stride elements of output_type. workspace: NULL, or
 * at least qk_conv2d_workspace_size(op) bytes aligned to 64; with NULL, run allocates that
 * bounded amount itself and frees it before returning. Input and output must not overlap. */
QK_API qk_status qk_conv2d_run(const qk_conv2d* op, size_t batch, size_t height, size_t width,
                               const void* input, void* output, void* workspace);

/* Runs the convolution split over the threads of a pool (NULL: the caller's thread only, exactly
 * like qk_conv2d_run). workspace: NULL, or qk_conv2d_workspace_size(op) *
 * qk_threadpool_threads(threadpool) bytes aligned to 64 (one slice per thread). The output is the
 * same bytes whatever the number of threads. One pool may serve one run at a time. */
QK_API qk_status qk_conv2d_run_threaded(const qk_conv2d* op, size_t batch, size_t height,
                                        size_t width, const void* input, void* output,
                                        void* workspace, struct qk_threadpool* threadpool);

/* Frees the operator. NULL is accepted. */
QK_API void qk_conv2d_delete(qk_conv2d* op);

/* Names of what the operator runs, for logs and tests: ISA ("avx512vnni") and microkernels
 * ("qk_gemm_u8s8_4x16c4__avx512vnni + qk_requant_fp32_cvt__avx512vnni"). */
QK_API const char* qk_conv2d_isa(const qk_conv2d* op);
QK_API const char* qk_conv2d_ukernels(const qk_conv2d* op);

/* ---------------------------------------------------------------------------------------------
 * Operators beyond conv2d (one section each; docs/operators.md)
 * ------------------------------------------------------------------------------------------- */

/* ---- linear (kernels/linear.c) ---- */
/* linear (fully connected): for rows x[n][k] (n < batch, k < K) and weights w[o][k] (PyTorch's
 * [out_features, in_features] order):
 *   acc[n][o] = Σ_k (x[n][k] - x_zp) * (w[o][k] - w_zp[o])      (int32, modulo 2^32)
 *   y[n][o]   = requantize(acc) as the numerics mode's framework computes a fully connected layer
 * (docs/ops-linear.md: where a framework's linear differs from its conv2d, e.g. PyTorch >= 2.2's
 * onednn linear inverts the weight scale twice, and the x86 engine sends every linear to FBGEMM).
 * It runs as a 1x1 conv2d over the rows, on the same GEMM microkernels. */
typedef struct qk_linear qk_linear;

typedef struct qk_linear_desc {
  /* sizeof(qk_linear_desc) as the caller compiled it (set by qk_linear_desc_init); the same
   * versioning contract as qk_conv2d_desc (fields only appended; this is the first version). */
  size_t struct_size;
  qk_numerics numerics;

  size_t input_channels;  /* K, PyTorch's in_features */
  size_t output_channels; /* O, PyTorch's out_features */

  qk_dtype input_type; /* U8 or S8 */
  double input_scale;
  int32_t input_zero_point;

  /* [O][K] int8, row major. Read at create only. */
  const int8_t* weights;
  size_t weight_scale_count;         /* 1 (per tensor) or O (per output channel) */
  const double* weight_scales;       /* weight_scale_count values */
  const int32_t* weight_zero_points; /* weight_scale_count values in [-128, 127], or NULL = 0 */
  /* As qk_conv2d_desc.weight_quantization. Default AUTO. */
  qk_weight_quantization weight_quantization;

  qk_dtype bias_type; /* NONE, F32 (PyTorch modes) or S32 (TFLite, XNNPACK) */
  const void* bias;   /* O values of bias_type; read at create only */

  qk_dtype output_type; /* U8 or S8 (the input's type in every framework) */
  double output_scale;
  int32_t output_zero_point;
  int relu;                       /* fused ReLU: outputs >= output_zero_point */
  int32_t output_min, output_max; /* further clamp; defaults INT32_MIN / INT32_MAX */

  /* Elements between consecutive rows of the input / output (0 = K / O, i.e. dense). */
  size_t input_row_stride, output_row_stride;
} qk_linear_desc;

/* Fills a descriptor with the defaults documented above (everything else zero). */
static inline void qk_linear_desc_init(qk_linear_desc* desc) {
  memset(desc, 0, sizeof(*desc));
  desc->struct_size = sizeof(*desc);
  desc->output_min = INT32_MIN;
  desc->output_max = INT32_MAX;
}

/* Validates the descriptor (as qk_conv2d_create, with the linear rules of the mode), computes
 * the epilogue parameters and packs the weights for the selected ISA. */
QK_API qk_status qk_linear_create(const qk_linear_desc* desc, qk_linear** op);

/* Bytes of workspace qk_linear_run needs (independent of the batch). */
QK_API size_t qk_linear_workspace_size(const qk_linear* op);

/* Computes `batch` rows (0 is a no-op). input: batch rows of input_row_stride elements of
 * input_type; output: batch rows of output_row_stride elements of output_type. workspace: NULL
 * (run allocates and frees the bounded amount itself) or qk_linear_workspace_size(op) bytes
 * aligned to 64. Input and output must not overlap. */
QK_API qk_status qk_linear_run(const qk_linear* op, size_t batch, const void* input, void* output,
                               void* workspace);

/* Rows split over the threads of a pool (NULL: the caller's thread); workspace: NULL or
 * qk_linear_workspace_size(op) * qk_threadpool_threads(threadpool) bytes aligned to 64. The
 * output is the same bytes whatever the number of threads. */
QK_API qk_status qk_linear_run_threaded(const qk_linear* op, size_t batch, const void* input,
                                        void* output, void* workspace,
                                        struct qk_threadpool* threadpool);

/* Frees the operator. NULL is accepted. */
QK_API void qk_linear_delete(qk_linear* op);

/* ISA and microkernel names, as qk_conv2d_isa / qk_conv2d_ukernels. */
QK_API const char* qk_linear_isa(const qk_linear* op);
QK_API const char* qk_linear_ukernels(const qk_linear* op);

/* ---- add / mul (kernels/eltwise.c) ---- */
/* Quantized elementwise add / add_relu and mul of two NHWC tensors of one 8-bit type (both
 * inputs and the output U8, or all S8), each with its own scale and zero point:
 *   add: y = quantize(dequantize(a) + dequantize(b))
 *   mul: y = quantize(dequantize(a) * dequantize(b))
 * computed exactly as the numerics mode's framework computes it (docs/ops-eltwise.md):
 *   PyTorch modes, add:  ATen's float path (fbgemm / x86 / onednn engines); pytorch-qnnpack:
 *                        QNNPACK q8vadd fixed point for U8, XNNPACK qs8 vadd for S8.
 *   PyTorch modes, mul:  S8 with output zero point != 127: XNNPACK qs8 vmul (every engine);
 *                        otherwise ATen's qmul.
 *   xnnpack:             XNNPACK qs8 vadd / vmul (S8 only).
 *   tflite:              TFLite's reference ADD (U8, S8) and MUL (S8): gemmlowp fixed point, from
 *                        source (no TFLite run here).
 *   onnxruntime:         not implemented (QK_ERROR_UNSUPPORTED).
 * A tensor is `pixels` pixels of `channels` elements; a pixel starts every *_pixel_stride
 * elements (0 = channels, dense). The ATen add rounds positionally (an FMA in blocks of 64
 * elements of the flattened dense tensor, plain multiplies in the last n mod 64): qk reproduces
 * single-threaded PyTorch, with element i of pixel p at flat index p * channels + i. */
typedef struct qk_add qk_add;

typedef struct qk_add_desc {
  size_t struct_size; /* sizeof(qk_add_desc), set by qk_add_desc_init (see qk_conv2d_desc) */
  qk_numerics numerics;
  size_t channels; /* elements per pixel, >= 1 */
  qk_dtype type;   /* U8 or S8: a, b and the output */
  double a_scale;
  int32_t a_zero_point;
  double b_scale;
  int32_t b_zero_point;
  double output_scale;
  int32_t output_zero_point;
  /* add_relu: outputs below output_zero_point become output_zero_point. */
  int relu;
  /* Further clamp of the output; defaults INT32_MIN / INT32_MAX (the type's range). */
  int32_t output_min, output_max;
  size_t a_pixel_stride, b_pixel_stride, output_pixel_stride; /* 0 = channels */
} qk_add_desc;

static inline void qk_add_desc_init(qk_add_desc* desc) {
  memset(desc, 0, sizeof(*desc));
  desc->struct_size = sizeof(*desc);
  desc->output_min = INT32_MIN;
  desc->output_max = INT32_MAX;
}

/* Validates the descriptor (QK_ERROR_UNSUPPORTED, quoting the rule, for what the framework
 * refuses: e.g. pytorch-qnnpack scale ratios outside QNNPACK's / XNNPACK's range) and precomputes
 * the mode's multipliers. */
QK_API qk_status qk_add_create(const qk_add_desc* desc, qk_add** op);
/* y = a + b over `pixels` pixels (0 pixels: nothing to do). y may be a or b when their pixel
 * strides are equal (in place); other overlaps are not allowed. Allocates nothing. */
QK_API qk_status qk_add_run(const qk_add* op, size_t pixels, const void* a, const void* b, void* y);
/* The same split over a pool's threads; the output is the same bytes for any thread count. */
QK_API qk_status qk_add_run_threaded(const qk_add* op, size_t pixels, const void* a, const void* b,
                                     void* y, struct qk_threadpool* threadpool);
QK_API void qk_add_delete(qk_add* op);
QK_API const char* qk_add_isa(const qk_add* op);
QK_API const char* qk_add_ukernels(const qk_add* op);

typedef struct qk_mul qk_mul;

typedef struct qk_mul_desc {
  size_t struct_size; /* sizeof(qk_mul_desc), set by qk_mul_desc_init */
  qk_numerics numerics;
  size_t channels; /* elements per pixel, >= 1 */
  qk_dtype type;   /* U8 or S8: a, b and the output */
  double a_scale;
  int32_t a_zero_point;
  double b_scale;
  int32_t b_zero_point;
  double output_scale;
  int32_t output_zero_point;
  int relu; /* mul_relu */
  int32_t output_min, output_max; /* defaults INT32_MIN / INT32_MAX */
  size_t a_pixel_stride, b_pixel_stride, output_pixel_stride; /* 0 = channels */
  /* 0: b has a's shape [N, H, W, C]. 1: b is [N, 1, 1, C] (one pixel per image, applied to every
   * pixel of that image: MobileNetV3's squeeze-and-excite). */
  int broadcast_b;
} qk_mul_desc;

static inline void qk_mul_desc_init(qk_mul_desc* desc) {
  memset(desc, 0, sizeof(*desc));
  desc->struct_size = sizeof(*desc);
  desc->output_min = INT32_MIN;
  desc->output_max = INT32_MAX;
}

QK_API qk_status qk_mul_create(const qk_mul_desc* desc, qk_mul** op);
/* y = a * b for `batch` images of `pixels` pixels each (H * W); b holds batch * pixels pixels, or
 * batch pixels with broadcast_b. */
QK_API qk_status qk_mul_run(const qk_mul* op, size_t batch, size_t pixels, const void* a,
                            const void* b, void* y);
QK_API qk_status qk_mul_run_threaded(const qk_mul* op, size_t batch, size_t pixels, const void* a,
                                     const void* b, void* y, struct qk_threadpool* threadpool);
QK_API void qk_mul_delete(qk_mul* op);
QK_API const char* qk_mul_isa(const qk_mul* op);
QK_API const char* qk_mul_ukernels(const qk_mul* op);

/* ---- pooling (kernels/pool.c) ---- */
/* qk_pool2d: max_pool2d, avg_pool2d and adaptive_avg_pool2d (global average pool = adaptive
 * with a 1x1 output) on NHWC u8 / s8 tensors, as each framework computes them. One operator with
 * a `kind` field rather than three: the three share the descriptor, the window walk, the run
 * functions and the refusals; what differs is which fields are read (marked per field below).
 * Formulas per mode, sources and refusals: docs/ops-pool.md.
 *
 * Window of output pixel (oy, ox):
 *   MAX:      taps (oy*SH - PT + kh*DH, ox*SW - PL + kw*DW); taps outside the image are ignored,
 *             except in pytorch-qnnpack u8 (QNNPACK) and xnnpack, which clamp each tap to the
 *             nearest edge row/column (different from ignoring them when padding > 0 and
 *             dilation > 1). Output = the integer max; scale and zero point unchanged.
 *   AVERAGE:  rows [oy*SH - PT, oy*SH - PT + KH) cut to the image (PyTorch's divisor rules;
 *             tflite: TFLite's reference AVERAGE_POOL_2D, the sum of the taps inside divided by
 *             their count, rounded half away from zero). Other non-PyTorch modes: refused.
 *   ADAPTIVE: rows [floor(f32(oy*H)/OH), ceil(f32((oy+1)*H)/OH)), likewise columns.
 * Output size: MAX / AVERAGE: PyTorch's pooling_output_shape (ceil_mode included):
 *   OH = floor((H + PT + PB - DH*(KH-1) - 1 + (ceil_mode ? SH-1 : 0)) / SH) + 1, and with
 *   ceil_mode one less if the last window would start past H + PT; ADAPTIVE: output_height x
 *   output_width whatever the input size.
 * ------------------------------------------------------------------------------------------- */
typedef struct qk_pool2d qk_pool2d;

typedef enum qk_pool2d_kind {
  QK_POOL2D_MAX = 1,              /* max_pool2d */
  QK_POOL2D_AVERAGE = 2,          /* avg_pool2d */
  QK_POOL2D_ADAPTIVE_AVERAGE = 3, /* adaptive_avg_pool2d (1x1 output: global average pool) */
} qk_pool2d_kind;

/* The memory format of the PyTorch tensor being reproduced. ATen's quantized avg_pool2d and
 * adaptive_avg_pool2d have two kernels that round differently: the channels-last one adds the
 * output zero point as an integer after rounding, the contiguous (NCHW) one adds it in float
 * before rounding (avg_pool2d) or never uses it (adaptive). Quantized convolutions return
 * channels-last tensors, so a pool after a conv is CHANNELS_LAST (the default). A contiguous
 * tensor with C == 1 or H*W == 1 is also channels-last to ATen, and qk follows it. Only the
 * average kinds of the PyTorch modes read this field (QNNPACK's u8 path has one formula). */
typedef enum qk_pytorch_memory_format {
  QK_PYTORCH_CHANNELS_LAST = 0,
  QK_PYTORCH_CONTIGUOUS = 1,
} qk_pytorch_memory_format;

typedef struct qk_pool2d_desc {
  /* sizeof(qk_pool2d_desc) as the caller compiled it (qk_pool2d_desc_init sets it); same
   * versioning contract as qk_conv2d_desc.struct_size. */
  size_t struct_size;
  qk_numerics numerics;
  qk_pool2d_kind kind;
  qk_dtype type; /* U8 or S8, input and output */
  size_t channels;

  /* MAX and AVERAGE: */
  size_t kernel_height, kernel_width;
  size_t stride_height, stride_width; /* default 0 = the kernel size (PyTorch's default) */
  size_t dilation_height, dilation_width; /* MAX only (AVERAGE: must be 1). Default 1 */
  /* PyTorch pads symmetrically (top == bottom, left == right, each <= kernel / 2). Default 0. */
  size_t padding_top, padding_left, padding_bottom, padding_right;
  int ceil_mode;            /* PyTorch's ceil_mode. Default 0 */
  int count_include_pad;    /* AVERAGE: PyTorch's count_include_pad. Default 1 (PyTorch's);
                               not read by tflite, which never counts padding */
  int64_t divisor_override; /* AVERAGE: PyTorch's divisor_override; 0 = none (default) */

  /* ADAPTIVE_AVERAGE: the output size (nonzero). */
  size_t output_height, output_width;

  qk_pytorch_memory_format memory_format; /* see above; default CHANNELS_LAST */

  /* Quantization: PyTorch's pools return the input's scale and zero point, so output_scale
   * 0.0 (default) means "the input's", and another value must equal the input's (and the output
   * zero point the input's) in the PyTorch modes. MAX reads only the zero point's range. */
  double input_scale;
  int32_t input_zero_point;
  double output_scale;
  int32_t output_zero_point;

  /* Elements between consecutive pixels (0 = channels, dense). */
  size_t input_pixel_stride, output_pixel_stride;
} qk_pool2d_desc;

static inline void qk_pool2d_desc_init(qk_pool2d_desc* desc) {
  memset(desc, 0, sizeof(*desc));
  desc->struct_size = sizeof(*desc);
  desc->dilation_height = desc->dilation_width = 1;
  desc->count_include_pad = 1;
}

/* Validates the descriptor against the mode's framework (QK_ERROR_UNSUPPORTED quoting its rule for
 * what it refuses) and captures the ISA. */
QK_API qk_status qk_pool2d_create(const qk_pool2d_desc* desc, qk_pool2d** op);
/* Output height/width for a height x width input; QK_ERROR_INVALID_ARGUMENT for an empty output
 * or an empty input. */
QK_API qk_status qk_pool2d_output_size(const qk_pool2d* op, size_t height, size_t width,
                                       size_t* output_height, size_t* output_width);
/* Runs on `batch` images (NHWC, pixel strides of the descriptor). Allocates only a small
 * per-thread list of window rows and columns (kernel height + width pointers, or input height +
 * width for ADAPTIVE). Input and output must not overlap. */
QK_API qk_status qk_pool2d_run(const qk_pool2d* op, size_t batch, size_t height, size_t width,
                               const void* input, void* output);
/* The same split over the threads of a pool (NULL: the caller's thread); identical bytes for any
 * number of threads. */
QK_API qk_status qk_pool2d_run_threaded(const qk_pool2d* op, size_t batch, size_t height,
                                        size_t width, const void* input, void* output,
                                        struct qk_threadpool* threadpool);
/* NULL is accepted. */
QK_API void qk_pool2d_delete(qk_pool2d* op);
/* "avx2", and the kernel ("qk_maxpool_x8_c32__avx2", "qk_avgpool_x8_c32__avx2",
 * "qk_avgpool_div_x8_c1__generic" for tflite's average pool). */
QK_API const char* qk_pool2d_isa(const qk_pool2d* op);
QK_API const char* qk_pool2d_ukernels(const qk_pool2d* op);

/* ---- activations, requantize, cat, channel shuffle (kernels/activation.c, kernels/cat.c) ---- */

/* Elementwise ops on NHWC tensors (docs/ops-activation.md). `type` is U8 or S8 (input and output
 * alike). Every unary op is a 256-entry table built at create from the numerics mode's exact
 * per-element formula and applied by a lookup microkernel at run. Modes: the PyTorch ones
 * ("pytorch-qnnpack" = engine qnnpack; "pytorch-onednn-1.13", "pytorch-fbgemm",
 * "pytorch-fbgemm-avx2", "pytorch-x86" = ATen's own kernels, which these engines share); other
 * modes are QK_ERROR_UNSUPPORTED, except for channel shuffle (no arithmetic).
 *
 * Position rule. ATen's kernels (hardswish, hardsigmoid, sigmoid, leaky_relu outside the qnnpack
 * u8 tables) compute the elements of a SIMD body and of the scalar tail with different float
 * code: over the tensor's elements in memory order (pixel-major, then channel; batch * H * W * C
 * of them), the first floor(count / aten_vector_block) * aten_vector_block elements take the
 * SIMD formula, the rest the scalar one. qk reproduces that with two tables, so a tensor must be
 * run in ONE qk_unary_run call (as PyTorch ran it, with one thread) to get PyTorch's bytes. */
typedef enum qk_unary_op {
  QK_UNARY_RELU = 1,        /* max(q, zp); output qparams = input's */
  QK_UNARY_CLAMP = 2,       /* hardtanh / relu6 / clamp(min, max); output qparams = input's */
  QK_UNARY_HARDSWISH = 3,   /* x * clamp(x + 3, 0, 6) / 6 */
  QK_UNARY_HARDSIGMOID = 4, /* clamp(x + 3, 0, 6) / 6; output 1/256, zp 0 (u8) / -128 (s8) */
  QK_UNARY_SIGMOID = 5,     /* 1 / (1 + exp(-x)); output 1/256, zp 0 (u8) / -128 (s8) */
  QK_UNARY_LEAKY_RELU = 6,  /* x > 0 ? x : x * negative_slope */
  QK_UNARY_REQUANTIZE = 7,  /* quantize(dequantize(q, in), out) */
} qk_unary_op;

typedef struct qk_unary qk_unary;

typedef struct qk_unary_desc {
  size_t struct_size; /* sizeof(qk_unary_desc), set by qk_unary_desc_init */
  qk_numerics numerics;
  qk_unary_op op;
  size_t channels; /* C, > 0 */
  qk_dtype type;   /* U8 or S8 */
  double input_scale;
  int32_t input_zero_point;
  /* HARDSWISH, LEAKY_RELU, REQUANTIZE: required. RELU, CLAMP: 0 / 0 (default) or equal to the
   * input's. HARDSIGMOID, SIGMOID: 0 / 0 = PyTorch's fixed 1/256 and 0 (u8) or -128 (s8); any
   * other value is QK_ERROR_UNSUPPORTED (PyTorch fixes them). */
  double output_scale;
  int32_t output_zero_point;
  float min, max;       /* CLAMP bounds in real units (relu6: 0, 6); default -1, 1 (hardtanh) */
  float negative_slope; /* LEAKY_RELU; default 0.01 */
  size_t input_pixel_stride, output_pixel_stride; /* elements between pixels; 0 = channels */
  /* Elements per SIMD block of ATen (the position rule above): 0 = 64, an AVX2 build (as
   * Debian's and most distributions' PyTorch); 128 = an AVX-512 build (from source, not
   * verified). Other values are QK_ERROR_INVALID_ARGUMENT. */
  size_t aten_vector_block;
} qk_unary_desc;

static inline void qk_unary_desc_init(qk_unary_desc* desc) {
  memset(desc, 0, sizeof(*desc));
  desc->struct_size = sizeof(*desc);
  desc->min = -1.0f;
  desc->max = 1.0f;
  desc->negative_slope = 0.01f;
}

QK_API qk_status qk_unary_create(const qk_unary_desc* desc, qk_unary** op);
/* The output's quantization (the fixed one of SIGMOID / HARDSIGMOID, the input's for RELU /
 * CLAMP, the descriptor's otherwise). */
QK_API qk_status qk_unary_output_quantization(const qk_unary* op, double* scale,
                                              int32_t* zero_point);
/* pixels (batch * H * W) pixels of `channels` elements. Input and output may be the same buffer
 * (with equal pixel strides); otherwise they must not overlap. No allocation. */
QK_API qk_status qk_unary_run(const qk_unary* op, size_t pixels, const void* input,
                              void* output);
/* Split over a pool's threads; the same bytes as qk_unary_run (the position rule uses the
 * element's index in the whole call, whichever thread computes it). */
QK_API qk_status qk_unary_run_threaded(const qk_unary* op, size_t pixels, const void* input,
                                       void* output, struct qk_threadpool* threadpool);
QK_API void qk_unary_delete(qk_unary* op);
QK_API const char* qk_unary_isa(const qk_unary* op);
QK_API const char* qk_unary_ukernels(const qk_unary* op);

/* cat along channels (quantized::cat of NHWC tensors): output pixel p holds input 0's channels,
 * then input 1's, ... Each input is requantized into the output's qparams by PyTorch's float
 * path clamp(rne((float)s_i * (float)(q - zp_i) * (1.0f / (float)s_out)) + zp_out), a plain copy
 * when its qparams equal the output's. The output pixel stride lets cat write into a slice. */
typedef struct qk_cat_input {
  size_t channels;     /* > 0 */
  double scale;
  int32_t zero_point;
  size_t pixel_stride; /* 0 = channels */
} qk_cat_input;

typedef struct qk_cat qk_cat;

typedef struct qk_cat_desc {
  size_t struct_size;
  qk_numerics numerics; /* a PyTorch mode */
  qk_dtype type;        /* U8 or S8 */
  size_t input_count;   /* >= 1 */
  const qk_cat_input* inputs; /* input_count entries; read at create only */
  double output_scale;
  int32_t output_zero_point;
  size_t output_pixel_stride; /* 0 = the sum of the input channels */
} qk_cat_desc;

static inline void qk_cat_desc_init(qk_cat_desc* desc) {
  memset(desc, 0, sizeof(*desc));
  desc->struct_size = sizeof(*desc);
}

QK_API qk_status qk_cat_create(const qk_cat_desc* desc, qk_cat** op);
/* inputs: input_count pointers, each to `pixels` pixels of that input. */
QK_API qk_status qk_cat_run(const qk_cat* op, size_t pixels, const void* const* inputs,
                            void* output);
QK_API qk_status qk_cat_run_threaded(const qk_cat* op, size_t pixels, const void* const* inputs,
                                     void* output, struct qk_threadpool* threadpool);
QK_API void qk_cat_delete(qk_cat* op);
QK_API const char* qk_cat_isa(const qk_cat* op);
QK_API const char* qk_cat_ukernels(const qk_cat* op);

/* channel_shuffle(groups): C = groups * group_channels; out[j * groups + g] = in[g * group_channels
 * + j] within each pixel (torch.nn.ChannelShuffle). A permutation: every mode, U8 or S8. */
typedef struct qk_channel_shuffle qk_channel_shuffle;

typedef struct qk_channel_shuffle_desc {
  size_t struct_size;
  qk_numerics numerics;
  qk_dtype type;
  size_t groups, group_channels; /* both > 0 */
  size_t input_pixel_stride, output_pixel_stride; /* 0 = groups * group_channels */
} qk_channel_shuffle_desc;

static inline void qk_channel_shuffle_desc_init(qk_channel_shuffle_desc* desc) {
  memset(desc, 0, sizeof(*desc));
  desc->struct_size = sizeof(*desc);
}

QK_API qk_status qk_channel_shuffle_create(const qk_channel_shuffle_desc* desc,
                                           qk_channel_shuffle** op);
/* Input and output must not overlap. */
QK_API qk_status qk_channel_shuffle_run(const qk_channel_shuffle* op, size_t pixels,
                                        const void* input, void* output);
QK_API qk_status qk_channel_shuffle_run_threaded(const qk_channel_shuffle* op, size_t pixels,
                                                 const void* input, void* output,
                                                 struct qk_threadpool* threadpool);
QK_API void qk_channel_shuffle_delete(qk_channel_shuffle* op);
QK_API const char* qk_channel_shuffle_isa(const qk_channel_shuffle* op);
QK_API const char* qk_channel_shuffle_ukernels(const qk_channel_shuffle* op);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* QK_H */
