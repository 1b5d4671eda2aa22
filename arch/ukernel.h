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

/* ---- add / mul (kernels/eltwise.c) ---- */

/* ---- pooling (kernels/pool.c) ---- */

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
