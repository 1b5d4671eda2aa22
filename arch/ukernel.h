/* Microkernel families of qk: one signature per family, identical on every ISA, so the dispatch
 * table and the testers treat all ISAs alike. The generic C kernels in arch/generic/ are the
 * specification; every SIMD kernel must give the same bits (test/ukernel_test.cc,
 * test/requant_test.cc). */
#ifndef QK_ARCH_UKERNEL_H
#define QK_ARCH_UKERNEL_H

#include <stddef.h>
#include <stdint.h>

#include "arch/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------------------------------------
 * GEMM: int32 accumulator tile of an im2col row block times packed weights.
 *
 *   c[m][n] = colterm[n] + Σ_{k < kc} a[m][k] * w[n][k]      (int32, wrapping modulo 2^32)
 *   for m < mr (1 <= mr <= MR) and n < nc (nc >= 1, any value: the kernel walks the NR-column
 *   blocks of w and stores only the first nc columns).
 *
 * a: u8, row m at a + m * a_stride bytes; the kernel reads exactly kc bytes of each row (it may be
 *    the user's input tensor: no reading past it), no alignment required.
 * w: packed weights for ceil(nc / NR) consecutive column blocks, each laid out as
 *        int32 colterm[NR]; int8 w[ceil(kc / KR)][NR][KR]
 *    (columns past nc and k past kc are zero). See qk_pack_gemm__generic (arch/generic/).
 *    Blocks start 4-byte aligned.
 * c: int32, row m at c + m * c_stride elements.
 * s8 activations reach this kernel as u8 (x ^ 0x80) with the zero point moved by 128, which leaves
 * every product (x - x_zp) unchanged; the zero-point terms are folded into colterm at pack time.
 * ------------------------------------------------------------------------------------------- */
typedef void (*qk_gemm_ukernel_fn)(size_t mr, size_t nc, size_t kc, const uint8_t* a,
                                   size_t a_stride, const void* w, int32_t* c, size_t c_stride);

/* Weight packing for a GEMM kernel (arch/generic/ packs the layout above; an ISA may bring
 * its own, e.g. weights widened to int16, as long as its kernel reads it).
 * block_size: bytes of one NR-column block for depth k (false on size_t overflow).
 * pack: n output channels of one group, w in OIHW order [n][cg][kh][kw], K order (kh, kw, c);
 *       colterm[n] int32 column terms; writes ceil(n / nr) blocks, padding zeroed. */
typedef bool (*qk_packed_block_size_fn)(size_t k, size_t nr, size_t kr, size_t* bytes);
typedef void (*qk_pack_weights_fn)(size_t n, size_t cg, size_t kh, size_t kw, size_t nr, size_t kr,
                                   const int8_t* w, const int32_t* colterm, void* packed);

typedef struct qk_gemm_config {
  qk_gemm_ukernel_fn fn;
  const char* name; /* "qk_gemm_u8s8_4x8c4__generic" */
  uint32_t mr, nr, kr;
  qk_packed_block_size_fn packed_block_size;
  qk_pack_weights_fn pack;
} qk_gemm_config;

/* ---------------------------------------------------------------------------------------------
 * Requantization epilogues: int32 accumulators (bias already inside for the int32-bias modes) to
 * u8 / s8 outputs, one arithmetic per family (docs/numerics.md says which mode uses which):
 *
 *  FP32_CVT      (fbgemm depthwise / per-channel; qnnpack u8 with bias = 0):
 *                v = ((float)acc + bias[n]) * scale[n]; r = cvtps2dq(v) (INT32_MIN: |v| >= 2^31)
 *                y = clamp(r + zero_point, min, max)
 *  FP32_CVT_FMA  (fbgemm per-tensor bias on its im2col / pointwise / groupwise paths, as GCC
 *                compiles FBGEMM): v = fma(bias[n], bias_scale[n], (float)acc) * scale[n], the
 *                fma rounded once; then as FP32_CVT
 *  FP32_SAT      (qnnpack s8 = XNNPACK; ONNX Runtime):
 *                v = (float)acc * scale[n]; v = clamp(v, min - zero_point, max - zero_point)
 *                y = rne(v) + zero_point
 *  FP32_FZP      (onednn 1.13): v = ((float)acc + bias[n]) * scale[n] + (float)zero_point (zero
 *                point added in float, before rounding); y = rne(clamp(v, min, max))
 *  FP32_SBFZP    (onednn 3.x): v = ((float)acc * scale[n] + bias[n]) * post_scale
 *                + (float)zero_point; y = rne(clamp(v, min, max))
 *  GEMMLOWP      (TFLite): y = clamp(MultiplyByQuantizedMultiplier(acc, multiplier[n], shift[n])
 *                + zero_point, min, max), the + an int32 add that wraps modulo 2^32 (TFLite's)
 * Float operations are float32, in exactly this order, no FMA unless the family says so.
 * min/max are the final output bounds (type range ∩ user clamp ∩ ReLU): min <= max, both inside
 * the u8 or s8 range, and zero_point inside it too (operators refuse anything else).
 * ------------------------------------------------------------------------------------------- */
typedef enum qk_requant_kind {
  QK_REQUANT_FP32_CVT = 0,
  QK_REQUANT_FP32_SAT = 1,
  QK_REQUANT_FP32_FZP = 2,
  QK_REQUANT_GEMMLOWP = 3,
  QK_REQUANT_FP32_CVT_FMA = 4,
  QK_REQUANT_FP32_SBFZP = 5,
  QK_REQUANT_KIND_COUNT = 6,
} qk_requant_kind;

typedef struct qk_requant_params {
  const float* scale;        /* [channels]: FP32_* */
  const float* bias;         /* [channels]: FP32_CVT*, FP32_FZP, FP32_SBFZP (zeros if none) */
  const int32_t* multiplier; /* [channels]: GEMMLOWP, Q31 in [2^30, 2^31) or 0 */
  const int32_t* shift;      /* [channels]: GEMMLOWP, left shift if > 0, right if < 0 */
  int32_t zero_point;
  int32_t min, max;
  const float* bias_scale; /* [channels]: FP32_CVT_FMA */
  float post_scale;        /* FP32_SBFZP */
} qk_requant_params;

/* Requantizes an mr x nc tile: acc row m at acc + m * acc_stride (int32 elements), output row m at
 * out + m * out_stride bytes (u8 or s8 bit patterns: min/max already say which range).
 * Per-channel parameter j of column n is params->xxx[channel_offset + n]. */
typedef void (*qk_requant_ukernel_fn)(size_t mr, size_t nc, const int32_t* acc, size_t acc_stride,
                                      uint8_t* out, size_t out_stride,
                                      const qk_requant_params* params, size_t channel_offset);

typedef struct qk_requant_config {
  qk_requant_ukernel_fn fn;
  const char* name;
} qk_requant_config;

/* ---------------------------------------------------------------------------------------------
 * im2col of a block of output pixels (portable; also the fallback of every ISA).
 * Writes rows r < rows for output pixels p0 + r of one image (p = oy * OW + ox) and one group:
 *   row[(kh * KW + kw) * Cg + c] = x[iy, ix, group_offset + c] ^ xor_mask  (iy, ix in the image)
 *                                 = pad_value                               (outside)
 * followed by zero bytes up to row_stride. x ^ 0x80 turns s8 activations into u8.
 * ------------------------------------------------------------------------------------------- */
typedef struct qk_im2col_geometry {
  size_t input_height, input_width, input_pixel_stride, group_offset, group_channels;
  size_t output_width;
  size_t kernel_height, kernel_width, stride_height, stride_width;
  size_t dilation_height, dilation_width, padding_top, padding_left;
  uint8_t pad_value, xor_mask;
} qk_im2col_geometry;

typedef void (*qk_im2col_fn)(const qk_im2col_geometry* g, const uint8_t* image, size_t p0,
                             size_t rows, uint8_t* out, size_t row_stride);

/* ---------------------------------------------------------------------------------------------
 * Depthwise convolution (groups = input channels = output channels), direct: no im2col.
 *
 *   acc[p][c] = colterm[c] + Σ_{t < taps} (input[p * taps + t][c] ^ xor_mask) * w[t][c]
 *   for p < pixels, c < channels (int32, wrapping modulo 2^32).
 *
 * input: pixels * taps pointers (an indirection buffer), each to `channels` bytes: the tap's input
 *        pixel, or a row holding the raw input zero point for taps in the padding. The kernel
 *        reads exactly `channels` bytes through each pointer (they point into the user's tensor).
 * w: packed per block of CB channels: int32 colterm[CB]; int8 w[taps][CB] (channels past
 *    `channels` zero). qk_pack_dwconv__generic (arch/generic/). An ISA may bring its own layout
 *    (e.g. taps interleaved for a dot-product instruction) with its pack functions below.
 * acc: row p at acc + p * acc_stride int32 elements; only the first `channels` are written.
 * ------------------------------------------------------------------------------------------- */
typedef void (*qk_dwconv_ukernel_fn)(size_t channels, size_t pixels, size_t taps,
                                     const uint8_t* const* input, uint8_t xor_mask, const void* w,
                                     int32_t* acc, size_t acc_stride);

/* Depthwise weight packing (arch/generic/ packs the layout above).
 * packed_size: bytes for `channels` channels of `taps` taps (false on size_t overflow).
 * pack: w[c][tap] int8 (OIHW, I = 1), colterm[c] int32; writes the whole packed buffer. */
typedef bool (*qk_packed_dwconv_size_fn)(size_t channels, size_t taps, size_t cb, size_t* bytes);
typedef void (*qk_pack_dwconv_fn)(size_t channels, size_t taps, size_t cb, const int8_t* w,
                                  const int32_t* colterm, void* packed);

typedef struct qk_dwconv_config {
  qk_dwconv_ukernel_fn fn;
  const char* name;
  uint32_t cb; /* channel block of the packed weights */
  qk_packed_dwconv_size_fn packed_size;
  qk_pack_dwconv_fn pack;
} qk_dwconv_config;

/* ---- declarations of a family's kernel, packing or gather function (one per file) ---- */
#define QK_DECLARE_GEMM(name)                                                               \
  QK_INTERNAL void name(size_t mr, size_t nc, size_t kc, const uint8_t* a, size_t a_stride, \
                        const void* w, int32_t* c, size_t c_stride)
#define QK_DECLARE_REQUANT(name)                                                                   \
  QK_INTERNAL void name(size_t mr, size_t nc, const int32_t* acc, size_t acc_stride, uint8_t* out, \
                        size_t out_stride, const qk_requant_params* params, size_t channel_offset)
#define QK_DECLARE_IM2COL(name)                                                                 \
  QK_INTERNAL void name(const qk_im2col_geometry* g, const uint8_t* image, size_t p0, size_t rows, \
                        uint8_t* out, size_t row_stride)
#define QK_DECLARE_DWCONV(name)                                                                \
  QK_INTERNAL void name(size_t channels, size_t pixels, size_t taps, const uint8_t* const* input, \
                        uint8_t xor_mask, const void* w, int32_t* acc, size_t acc_stride)
#define QK_DECLARE_PACKED_BLOCK_SIZE(name) \
  QK_INTERNAL bool name(size_t k, size_t nr, size_t kr, size_t* bytes)
#define QK_DECLARE_PACK_WEIGHTS(name)                                                            \
  QK_INTERNAL void name(size_t n, size_t cg, size_t kh, size_t kw, size_t nr, size_t kr,         \
                        const int8_t* w, const int32_t* colterm, void* packed)
#define QK_DECLARE_PACKED_DWCONV_SIZE(name) \
  QK_INTERNAL bool name(size_t channels, size_t taps, size_t cb, size_t* bytes)
#define QK_DECLARE_PACK_DWCONV(name)                                                   \
  QK_INTERNAL void name(size_t channels, size_t taps, size_t cb, const int8_t* w, \
                        const int32_t* colterm, void* packed)

/* ---- Microkernels of the operators beyond conv2d (one section per operator family) ---- */

/* ---- linear (kernels/linear.c) ---- */
/* (none: qk_linear runs as a 1x1 conv2d on the GEMM and requantization kernels above) */

/* ---- add / mul (kernels/eltwise.c) ---- */

/* Elementwise binary kernels of quantized add and mul (kernels/eltwise.c).
 *
 *   y[i] = f(a[i], b[i])  for i < n (n >= 1), a, b, y of one 8-bit type: u8, or s8 when
 *   params->is_signed is nonzero (the same kernel serves both; only the loads and stores differ).
 * No alignment required; the kernel reads exactly n bytes of a and b and writes n bytes of y.
 * y may alias a or b exactly (in place); other overlaps are not allowed.
 * The arithmetic of each kind, one function per kind:
 *   ADD_FP32_FMA (ATen qadd SIMD body): da = fma(a_scale, (float)a, a_premul) (one rounding),
 *                 likewise db; c = da + db; r = rne(c * inv_output_scale) (cvtps2dq, int32
 *                 indefinite on overflow), y = clamp(r + output_zero_point, min, max).
 *   ADD_FP32 (ATen qadd scalar tail): da = a_scale * (float)(a - a_zero_point), likewise db,
 *                 then as ADD_FP32_FMA.
 *   ADD_QNNPACK (QNNPACK q8vadd, u8): acc = bias + a_multiplier * a + b_multiplier * b (int32);
 *                 q = acc >> shift rounded half away from zero; y = clamp(q + zp, min, max).
 *   ADD_XNNPACK (XNNPACK qs8 vadd): acc as above with the rounding constant in bias;
 *                 q = acc >> shift (arithmetic, i.e. half up); y = clamp(q + zp, min, max).
 *   MUL_FP32 (ATen qmul and XNNPACK qs8 vmul fp32): p = (a - a_zp) * (b - b_zp) (int32);
 *                 r = rne((float)p * scale) (cvtps2dq); y = clamp(r + zp, min, max).
 *   ADD_GEMMLOWP (TFLite reference ADD): va = MBQM((a - a_zp) << left_shift, a_multiplier,
 *                 a_shift), likewise vb; r = MBQM(va + vb, output_multiplier, output_shift);
 *                 y = clamp(r + zp, min, max) (MBQM = qk_gemmlowp_mbqm, shifts <= 0 here).
 *   MUL_GEMMLOWP (TFLite reference MUL): r = MBQM((a - a_zp) * (b - b_zp), output_multiplier,
 *                 output_shift); y = clamp(wrap32(r + zp), min, max).
 * min/max are the final integer bounds (the type's range intersected with relu and the user's
 * output_min/max). The caller keeps every rounded value r and r + output_zero_point inside
 * int32 (kernels/eltwise.c refuses the scales that could leave it), where x86's cvtps2dq, ARM's
 * saturating vcvtnq and lrintf all agree. */
typedef struct qk_eltwise_params {
  float a_scale, b_scale;     /* f32(scale) of the inputs (ADD_FP32*) */
  float a_premul, b_premul;   /* f32(scale) * -(float)zero_point (ADD_FP32_FMA) */
  float scale;                /* ADD_FP32*: f32(1 / f32(output scale)); MUL_FP32: multiplier */
  int32_t a_zero_point, b_zero_point;
  int32_t a_multiplier, b_multiplier, bias; /* ADD_QNNPACK / ADD_XNNPACK */
  uint32_t shift;                           /* 1..31 */
  int32_t a_shift, b_shift, left_shift;     /* ADD_GEMMLOWP */
  int32_t output_multiplier, output_shift;  /* ADD_GEMMLOWP / MUL_GEMMLOWP */
  int32_t output_zero_point, min, max;
  int32_t is_signed; /* 0: u8, 1: s8 */
} qk_eltwise_params;

typedef enum qk_eltwise_kind {
  QK_ELTWISE_ADD_FP32_FMA = 0,
  QK_ELTWISE_ADD_FP32,
  QK_ELTWISE_ADD_QNNPACK,
  QK_ELTWISE_ADD_XNNPACK,
  QK_ELTWISE_MUL_FP32,
  QK_ELTWISE_ADD_GEMMLOWP,
  QK_ELTWISE_MUL_GEMMLOWP,
  QK_ELTWISE_KIND_COUNT
} qk_eltwise_kind;

typedef void (*qk_eltwise_ukernel_fn)(size_t n, const void* a, const void* b, void* y,
                                      const qk_eltwise_params* params);

typedef struct qk_eltwise_config {
  qk_eltwise_ukernel_fn fn;
  const char* name;
} qk_eltwise_config;

#define QK_DECLARE_ELTWISE(name)                                              \
  QK_INTERNAL void name(size_t n, const void* a, const void* b, void* y, \
                        const qk_eltwise_params* params)

/* The elementwise kernels of every ISA, declared here so each ISA table can name them (an ISA
 * without its own kernel names another ISA's). Files: arch/<isa>/<name>.c. */
QK_DECLARE_ELTWISE(qk_vadd_fp32_fma_x8__generic);
QK_DECLARE_ELTWISE(qk_vadd_fp32_x8__generic);
QK_DECLARE_ELTWISE(qk_vadd_qnnpack_u8__generic);
QK_DECLARE_ELTWISE(qk_vadd_xnnpack_s8__generic);
QK_DECLARE_ELTWISE(qk_vmul_fp32_x8__generic);
QK_DECLARE_ELTWISE(qk_vadd_gemmlowp_x8__generic);
QK_DECLARE_ELTWISE(qk_vmul_gemmlowp_x8__generic);
QK_DECLARE_ELTWISE(qk_vadd_fp32_fma_x8__avx2);
QK_DECLARE_ELTWISE(qk_vadd_fp32_x8__avx2);
QK_DECLARE_ELTWISE(qk_vadd_qnnpack_u8__avx2);
QK_DECLARE_ELTWISE(qk_vadd_xnnpack_s8__avx2);
QK_DECLARE_ELTWISE(qk_vmul_fp32_x8__avx2);
QK_DECLARE_ELTWISE(qk_vadd_fp32_fma_x16__avx512vnni);
QK_DECLARE_ELTWISE(qk_vadd_fp32_x16__avx512vnni);
QK_DECLARE_ELTWISE(qk_vadd_qnnpack_u8_x16__avx512vnni);
QK_DECLARE_ELTWISE(qk_vadd_xnnpack_s8_x16__avx512vnni);
QK_DECLARE_ELTWISE(qk_vmul_fp32_x16__avx512vnni);
QK_DECLARE_ELTWISE(qk_vadd_fp32_fma_x8__neon);
QK_DECLARE_ELTWISE(qk_vadd_fp32_x8__neon);
QK_DECLARE_ELTWISE(qk_vadd_qnnpack_u8__neon);
QK_DECLARE_ELTWISE(qk_vadd_xnnpack_s8__neon);
QK_DECLARE_ELTWISE(qk_vmul_fp32_x8__neon);

/* ---- pooling (kernels/pool.c) ---- */
/* Pooling window: taps = rows x cols input pixels, pixel (r, j) at row_ptrs[r] + col_offsets[j]
 * bytes; each tap is `channels` contiguous bytes (the kernel reads exactly those: the pointers are
 * into the user's tensor). rows, cols >= 1; channels >= 1. u8 and s8 data: s8 goes through
 * xor_mask = 0x80 (x ^ 0x80 = x + 128 as u8), which keeps the order and shifts sums by 128/tap.
 *
 * maxpool:  out[c] = (max over taps of (in[c] ^ xor_mask)) ^ xor_mask.
 * avgpool:  acc[c] = init + Σ_taps (in[c] ^ xor_mask)          (int32, exact: the operator
 *                                                              bounds taps * 255 < 2^31)
 *           zero_point_in_float == 0:  y = clamp(cvtps2dq((float)acc * scale) + zero_point)
 *           zero_point_in_float != 0:  y = rne(clamp((float)acc * scale + (float)zero_point))
 *           (float32, no FMA, this order; clamp to [min, max]; out[c] = (uint8_t)y)
 * ------------------------------------------------------------------------------------------- */
typedef struct qk_avgpool_params {
  int32_t init;
  float scale;
  int32_t zero_point;
  int32_t min, max;
  int zero_point_in_float;
  uint8_t xor_mask;
  int32_t divisor; /* avgpool_div only (below) */
} qk_avgpool_params;

typedef void (*qk_maxpool_ukernel_fn)(size_t channels, size_t rows, const uint8_t* const* row_ptrs,
                                      size_t cols, const size_t* col_offsets, uint8_t xor_mask,
                                      uint8_t* out);
typedef void (*qk_avgpool_ukernel_fn)(size_t channels, size_t rows, const uint8_t* const* row_ptrs,
                                      size_t cols, const size_t* col_offsets,
                                      const qk_avgpool_params* params, uint8_t* out);
/* avgpool_div (TFLite's integer average, reference_ops / reference_integer_ops AveragePool):
 *   acc[c] = init + Σ_taps (in[c] ^ xor_mask)                       (int32)
 *   y = acc > 0 ? (acc + divisor / 2) / divisor : (acc - divisor / 2) / divisor  (C division,
 *       truncating: round half away from zero), clamped to [min, max]; divisor >= 1.
 * Same signature as avgpool (scale / zero_point unused). */
typedef struct qk_pool_config {
  qk_maxpool_ukernel_fn maxpool;
  const char* maxpool_name;
  qk_avgpool_ukernel_fn avgpool;
  const char* avgpool_name;
  qk_avgpool_ukernel_fn avgpool_div;
  const char* avgpool_div_name;
} qk_pool_config;

#define QK_DECLARE_MAXPOOL(name)                                                             \
  QK_INTERNAL void name(size_t channels, size_t rows, const uint8_t* const* row_ptrs,        \
                        size_t cols, const size_t* col_offsets, uint8_t xor_mask, uint8_t* out)
#define QK_DECLARE_AVGPOOL(name)                                                       \
  QK_INTERNAL void name(size_t channels, size_t rows, const uint8_t* const* row_ptrs,  \
                        size_t cols, const size_t* col_offsets,                        \
                        const qk_avgpool_params* params, uint8_t* out)
/* The pooling kernels (declared here, not in the ISA folders' headers, to keep the family in one
 * place; each is only referenced by tables compiled with its ISA). */
QK_DECLARE_MAXPOOL(qk_maxpool_x8_c1__generic);
QK_DECLARE_AVGPOOL(qk_avgpool_x8_c1__generic);
QK_DECLARE_AVGPOOL(qk_avgpool_div_x8_c1__generic);
QK_DECLARE_MAXPOOL(qk_maxpool_x8_c32__avx2);
QK_DECLARE_AVGPOOL(qk_avgpool_x8_c32__avx2);
QK_DECLARE_MAXPOOL(qk_maxpool_x8_c16__neon);
QK_DECLARE_AVGPOOL(qk_avgpool_x8_c16__neon);
QK_DECLARE_MAXPOOL(qk_maxpool_x8_c64__avx512vnni);
QK_DECLARE_AVGPOOL(qk_avgpool_x8_c64__avx512vnni);

/* ---- activations, requantize, cat, channel shuffle (kernels/activation.c, kernels/cat.c) ---- */
/* Table lookup of bytes: y[i] = table[x[i]] for i < n (n >= 1). x and y are bytes (u8, or s8 as
 * their two's complement bytes; the table is indexed by the byte). y may equal x (in place),
 * otherwise they must not overlap. No alignment needed; no byte past x[n-1] is read. */
typedef void (*qk_lut_ukernel_fn)(size_t n, const uint8_t* x, uint8_t* y, const uint8_t* table);
typedef struct qk_lut_config {
  qk_lut_ukernel_fn fn;
  const char* name;
} qk_lut_config;
#define QK_DECLARE_LUT(name) \
  QK_INTERNAL void name(size_t n, const uint8_t* x, uint8_t* y, const uint8_t* table)
/* Channel shuffle of `pixels` pixels: y[p*ys + j*groups + g] = x[p*xs + g*gc + j]. */
typedef void (*qk_shuffle_ukernel_fn)(size_t pixels, size_t groups, size_t gc, const uint8_t* x,
                                      size_t xs, uint8_t* y, size_t ys);
typedef struct qk_shuffle_config {
  qk_shuffle_ukernel_fn fn;
  const char* name;
} qk_shuffle_config;
#define QK_DECLARE_SHUFFLE(name)                                                              \
  QK_INTERNAL void name(size_t pixels, size_t groups, size_t gc, const uint8_t* x, size_t xs, \
                        uint8_t* y, size_t ys)
QK_DECLARE_LUT(qk_lut_u8__generic);
QK_DECLARE_SHUFFLE(qk_shuffle_u8__generic);
QK_DECLARE_LUT(qk_lut_u8__avx2);
QK_DECLARE_LUT(qk_lut_u8__neon);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* QK_ARCH_UKERNEL_H */
