/* conv2d operator: validate and pack at create; at run, im2col a bounded tile of output pixels,
 * GEMM it against the packed weights into an int32 tile that stays in L1, and requantize that
 * tile into the output. ISA-independent: every kernel comes from the dispatch table captured at
 * create.
 *
 * Zero points. The GEMM computes Σ a·w + colterm on u8 activations a (s8 ones arrive as
 * a = x ^ 0x80 = x + 128 with x_zp' = x_zp + 128, which leaves every a - x_zp' unchanged). With
 *   Σ (a - zx)(w - zw) = Σ a·w - zx·Σw - zw·Σa + K·zx·zw
 * the per-column part -zx·Σw + K·zx·zw (plus the int32 bias of the modes that have one) is folded
 * into colterm at create; the per-row part -zw·Σa is only needed with nonzero weight zero points
 * and is applied to the int32 tile before requantization. All of it is modulo 2^32, as in the
 * frameworks. Padding taps hold x_zp', so they contribute 0 like the frameworks' padding.
 *
 * Depthwise convolutions (one input and one output channel per group) without weight zero points
 * take a direct path instead: an indirection buffer of tap pointers per output pixel and a
 * depthwise microkernel that vectorizes over channels, then the same requantization. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/isa.h"
#include "kernels/numerics.h"
#include "kernels/threadpool.h"
#include "kernels/verbose.h"

/* Fields are only appended: qk 0.1's descriptor is this one's first 240 bytes. */
_Static_assert(offsetof(qk_conv2d_desc, weight_quantization) == QK_CONV2D_DESC_SIZE_0_1,
               "qk_conv2d_desc: qk 0.1's fields must keep their offsets");

struct qk_conv2d {
  qk_conv_op kind; /* a conv2d, or the 1x1 convolution inside a qk_linear */
  qk_numerics numerics;
  qk_dtype input_type, output_type;
  size_t input_channels, output_channels, groups, group_input_channels, group_output_channels;
  size_t kernel_height, kernel_width, stride_height, stride_width;
  size_t dilation_height, dilation_width;
  size_t padding_top, padding_left, padding_bottom, padding_right;
  size_t input_pixel_stride, output_pixel_stride;

  size_t k;            /* GEMM depth: KH * KW * C/G */
  bool depthwise;      /* direct depthwise path (see the top comment) */
  qk_dwconv_config dw; /* its kernel and packing, from the ISA table */
  qk_gemm_config gemm; /* the GEMM otherwise: the ISA's exact or saturating one */
  size_t dw_pixels;    /* output pixels per depthwise kernel call */
  size_t indirection_bytes, zero_row_bytes;
  bool direct;        /* 1x1, no padding, u8: the input is the GEMM's A operand */
  size_t row_stride;  /* bytes per im2col row */
  size_t tile_pixels; /* output pixels per im2col tile (multiple of MR) */
  size_t n_block;     /* output channels per GEMM call (multiple of NR) */
  size_t block_bytes; /* bytes per packed NR-column block */
  size_t group_bytes; /* bytes of packed weights per group */
  size_t im2col_bytes, acc_bytes, rowsum_bytes, workspace_bytes; /* 64-byte multiples */

  void* packed;
  qk_conv_numerics q;
  qk_requant_params requant_params;
  const qk_isa_config* isa;
  qk_requant_ukernel_fn requant;
  char ukernels[192];
};

/* ---------------------------------------------------------------------------------------------
 * create
 * ------------------------------------------------------------------------------------------- */
static qk_status check_geometry(const qk_conv2d_desc* d) {
  if (qk_numerics_name(d->numerics) == NULL) {
    return qk_fail(QK_ERROR_INVALID_ARGUMENT, "conv2d: numerics %d is not a qk_numerics mode",
                   (int)d->numerics);
  }
  if (d->input_channels == 0 || d->output_channels == 0 || d->groups == 0 ||
      d->kernel_height == 0 || d->kernel_width == 0) {
    return qk_fail(QK_ERROR_INVALID_ARGUMENT,
                   "conv2d: input_channels (%zu), output_channels (%zu), groups (%zu) and the "
                   "kernel size (%zux%zu) must be nonzero",
                   d->input_channels, d->output_channels, d->groups, d->kernel_height,
                   d->kernel_width);
  }
  if (d->input_channels % d->groups != 0 || d->output_channels % d->groups != 0) {
    return qk_fail(QK_ERROR_INVALID_ARGUMENT,
                   "conv2d: groups (%zu) must divide input_channels (%zu) and output_channels "
                   "(%zu)",
                   d->groups, d->input_channels, d->output_channels);
  }
  if (d->stride_height == 0 || d->stride_width == 0 || d->dilation_height == 0 ||
      d->dilation_width == 0) {
    return qk_fail(QK_ERROR_INVALID_ARGUMENT, "conv2d: strides and dilations must be nonzero");
  }
  if (d->weights == NULL) return qk_fail(QK_ERROR_INVALID_ARGUMENT, "conv2d: weights is NULL");
  if ((d->input_pixel_stride != 0 && d->input_pixel_stride < d->input_channels) ||
      (d->output_pixel_stride != 0 && d->output_pixel_stride < d->output_channels)) {
    return qk_fail(QK_ERROR_INVALID_ARGUMENT,
                   "conv2d: a pixel stride (input %zu, output %zu) is smaller than the channel "
                   "count (%zu, %zu)",
                   d->input_pixel_stride, d->output_pixel_stride, d->input_channels,
                   d->output_channels);
  }
  /* Sizes the run path multiplies: the dilated kernel extent and the GEMM depth. */
  size_t k, extent_h, extent_w;
  if (!qk_mul_size(d->kernel_height, d->kernel_width, &k) ||
      !qk_mul_size(k, d->input_channels / d->groups, &k) || k > (size_t)INT32_MAX ||
      !qk_mul_size(d->kernel_height - 1, d->dilation_height, &extent_h) ||
      !qk_mul_size(d->kernel_width - 1, d->dilation_width, &extent_w) ||
      d->padding_top > SIZE_MAX / 4 || d->padding_bottom > SIZE_MAX / 4 ||
      d->padding_left > SIZE_MAX / 4 || d->padding_right > SIZE_MAX / 4 ||
      extent_h > SIZE_MAX / 4 || extent_w > SIZE_MAX / 4) {
    return qk_fail(QK_ERROR_SIZE_OVERFLOW, "conv2d: kernel size, dilation or padding too large");
  }
  return QK_SUCCESS;
}

/* Column terms of one group: int_bias - zx·Σw + K·zx·zw, modulo 2^32 (see the top comment). */
static void column_terms(const qk_conv2d* op, size_t group, const int8_t* weights, int32_t* terms) {
  const size_t ng = op->group_output_channels;
  const uint32_t zx = (uint32_t)op->q.input_zero_point_u8;
  for (size_t j = 0; j < ng; j++) {
    const size_t o = group * ng + j;
    const int8_t* w = weights + o * op->k;
    uint32_t sum = 0;
    for (size_t i = 0; i < op->k; i++) sum += (uint32_t)(int32_t)w[i];
    const uint32_t zw = (uint32_t)op->q.weight_zero_point[o];
    terms[j] = (int32_t)((uint32_t)op->q.int_bias[o] - zx * sum + (uint32_t)op->k * zx * zw);
  }
}

/* Accumulator budget of one depthwise call: pixels x channels int32 stay in L1. */
#define QK_DWCONV_ACC_BYTES (16 * 1024)
#define QK_DWCONV_MAX_PIXELS 64

static qk_status plan_and_pack_depthwise(qk_conv2d* op, const int8_t* weights) {
  op->dw = op->isa->dwconv;
  const size_t c = op->input_channels, taps = op->kernel_height * op->kernel_width;
  op->dw_pixels = qk_min_size(qk_max_size(QK_DWCONV_ACC_BYTES / (c * sizeof(int32_t)), 1),
                              QK_DWCONV_MAX_PIXELS);
  size_t packed_bytes, acc, ind;
  if (!op->dw.packed_size(c, taps, op->dw.cb, &packed_bytes) ||
      !qk_mul_size(op->dw_pixels * sizeof(int32_t), c, &acc) ||
      !qk_mul_size(op->dw_pixels * sizeof(void*), taps, &ind) || acc > SIZE_MAX / 2 ||
      ind > SIZE_MAX / 4) {
    return qk_fail(QK_ERROR_SIZE_OVERFLOW, "conv2d: depthwise kernel or channel count too large");
  }
  op->acc_bytes = qk_round_up(acc, 64);
  op->indirection_bytes = qk_round_up(ind, 64);
  op->zero_row_bytes = qk_round_up(c, 64);
  op->workspace_bytes = op->acc_bytes + op->indirection_bytes + op->zero_row_bytes;

  op->packed = qk_aligned_alloc(64, packed_bytes);
  int32_t* terms = malloc(c * sizeof(int32_t));
  if (op->packed == NULL || terms == NULL) {
    free(terms);
    return qk_fail(QK_ERROR_OUT_OF_MEMORY, "conv2d: cannot allocate %zu bytes of packed weights",
                   packed_bytes);
  }
  /* colterm = int_bias - zx·Σw (no weight zero point on this path), modulo 2^32 */
  const uint32_t zx = (uint32_t)op->q.input_zero_point_u8;
  for (size_t ch = 0; ch < c; ch++) {
    uint32_t sum = 0;
    for (size_t t = 0; t < taps; t++) sum += (uint32_t)(int32_t)weights[ch * taps + t];
    terms[ch] = (int32_t)((uint32_t)op->q.int_bias[ch] - zx * sum);
  }
  op->dw.pack(c, taps, op->dw.cb, weights, terms, op->packed);
  free(terms);
  return QK_SUCCESS;
}

static qk_status plan_and_pack(qk_conv2d* op, const int8_t* weights) {
  /* The depthwise kernels are exact: saturating modes take the GEMM, whose K pairs are then the
   * filter-tap pairs FBGEMM's depthwise kernel saturates. */
  op->depthwise = op->group_input_channels == 1 && op->group_output_channels == 1 &&
                  !op->q.has_weight_zero_point && !op->q.saturate_pairs;
  if (op->depthwise) return plan_and_pack_depthwise(op, weights);
  op->gemm = op->q.saturate_pairs ? op->isa->gemm_sat16 : op->isa->gemm;
  const qk_gemm_config* g = &op->gemm;
  op->k = op->kernel_height * op->kernel_width * op->group_input_channels;
  /* 1x1 without padding on u8: each GEMM row is an input pixel, read in place (any stride). */
  op->direct = op->kernel_height == 1 && op->kernel_width == 1 && op->padding_top == 0 &&
               op->padding_left == 0 && op->padding_bottom == 0 && op->padding_right == 0 &&
               op->q.input_xor_mask == 0;
  op->row_stride = qk_round_up(op->k, g->kr);

  /* Tile sizes come from the ISA table (measured per ISA, docs/design.md). */
  size_t tile = op->isa->im2col_tile_bytes / op->row_stride / g->mr * g->mr;
  op->tile_pixels = qk_min_size(qk_max_size(tile, g->mr), op->isa->max_tile_pixels);
  const size_t ng_padded = qk_round_up(op->group_output_channels, g->nr);
  size_t blocks = ng_padded / g->nr, packed_bytes;
  if (!g->packed_block_size(op->k, g->nr, g->kr, &op->block_bytes) ||
      !qk_mul_size(op->block_bytes, blocks, &op->group_bytes) ||
      !qk_mul_size(op->group_bytes, op->groups, &packed_bytes)) {
    return qk_fail(QK_ERROR_SIZE_OVERFLOW, "conv2d: packed weights do not fit in memory");
  }
  /* N block: as many NR-column blocks as fit the ISA's budget of packed weight bytes (whatever
   * the packing's bytes per weight). */
  const size_t nblock = op->isa->weight_block_bytes / op->block_bytes * g->nr;
  op->n_block = qk_min_size(qk_max_size(nblock, g->nr), ng_padded);
  op->im2col_bytes = op->direct ? 0 : qk_round_up(op->tile_pixels * op->row_stride, 64);
  op->acc_bytes = qk_round_up(g->mr * op->n_block * sizeof(int32_t), 64);
  op->rowsum_bytes =
      op->q.has_weight_zero_point ? qk_round_up(op->tile_pixels * sizeof(int32_t), 64) : 0;
  op->workspace_bytes = op->im2col_bytes + op->acc_bytes + op->rowsum_bytes;

  op->packed = qk_aligned_alloc(64, packed_bytes);
  int32_t* terms = malloc(op->group_output_channels * sizeof(int32_t));
  if (op->packed == NULL || terms == NULL) {
    free(terms);
    return qk_fail(QK_ERROR_OUT_OF_MEMORY, "conv2d: cannot allocate %zu bytes of packed weights",
                   packed_bytes);
  }
  for (size_t group = 0; group < op->groups; group++) {
    column_terms(op, group, weights, terms);
    g->pack(op->group_output_channels, op->group_input_channels, op->kernel_height,
            op->kernel_width, g->nr, g->kr, weights + group * op->group_output_channels * op->k,
            terms, (uint8_t*)op->packed + group * op->group_bytes);
  }
  free(terms);
  return QK_SUCCESS;
}

static void copy_geometry(qk_conv2d* op, const qk_conv2d_desc* d) {
  op->numerics = d->numerics;
  op->input_type = d->input_type;
  op->output_type = d->output_type;
  op->input_channels = d->input_channels;
  op->output_channels = d->output_channels;
  op->groups = d->groups;
  op->group_input_channels = d->input_channels / d->groups;
  op->group_output_channels = d->output_channels / d->groups;
  op->kernel_height = d->kernel_height;
  op->kernel_width = d->kernel_width;
  op->stride_height = d->stride_height;
  op->stride_width = d->stride_width;
  op->dilation_height = d->dilation_height;
  op->dilation_width = d->dilation_width;
  op->padding_top = d->padding_top;
  op->padding_left = d->padding_left;
  op->padding_bottom = d->padding_bottom;
  op->padding_right = d->padding_right;
  op->input_pixel_stride = d->input_pixel_stride ? d->input_pixel_stride : d->input_channels;
  op->output_pixel_stride = d->output_pixel_stride ? d->output_pixel_stride : d->output_channels;
}

static void describe(const qk_conv2d* op, char* buf, size_t size) {
  snprintf(buf, size,
           "conv2d C=%zu O=%zu G=%zu k=%zux%zu s=%zux%zu d=%zux%zu p=%zu,%zu,%zu,%zu %s->%s "
           "numerics=%s isa=%s ukernels=%s",
           op->input_channels, op->output_channels, op->groups, op->kernel_height, op->kernel_width,
           op->stride_height, op->stride_width, op->dilation_height, op->dilation_width,
           op->padding_top, op->padding_left, op->padding_bottom, op->padding_right,
           qk_dtype_name(op->input_type), qk_dtype_name(op->output_type),
           qk_numerics_name(op->numerics), op->isa->name, op->ukernels);
}

qk_status qk_conv2d_create(const qk_conv2d_desc* desc, qk_conv2d** op_out) {
  return qk_conv2d_create_for(desc, QK_CONV_OP_CONV2D, op_out);
}

qk_status qk_conv2d_create_for(const qk_conv2d_desc* desc, qk_conv_op kind, qk_conv2d** op_out) {
  const double t0 = qk_verbose_enabled() ? qk_now_seconds() : 0.0;
  if (op_out == NULL) return qk_fail(QK_ERROR_INVALID_ARGUMENT, "qk_conv2d_create: op is NULL");
  *op_out = NULL;
  if (desc == NULL) return qk_fail(QK_ERROR_INVALID_ARGUMENT, "qk_conv2d_create: desc is NULL");
  /* The caller's descriptor, from whichever header version, as this version's (defaults for
   * the fields an older caller lacks). From here on only `d` is read. */
  qk_conv2d_desc d;
  qk_conv2d_desc_init(&d);
  qk_status status = qk_import_desc(desc, desc->struct_size, &d, sizeof(d),
                                    QK_CONV2D_DESC_SIZE_0_1, "qk_conv2d_create",
                                    "qk_conv2d_desc_init");
  if (status != QK_SUCCESS) return status;
  d.struct_size = sizeof(d);
  desc = &d;
  status = check_geometry(desc);
  if (status != QK_SUCCESS) return status;

  const qk_isa_config* isa = qk_operator_isa("qk_conv2d_create");
  if (isa == NULL) return QK_ERROR_UNSUPPORTED_ISA;

  qk_conv2d* op = calloc(1, sizeof(*op));
  if (op == NULL) return qk_fail(QK_ERROR_OUT_OF_MEMORY, "conv2d: out of memory");
  copy_geometry(op, desc);
  op->kind = kind;
  op->isa = isa;
  if ((status = qk_conv_numerics_prepare_for(desc, kind, &op->q)) != QK_SUCCESS ||
      (status = plan_and_pack(op, desc->weights)) != QK_SUCCESS) {
    qk_conv2d_delete(op);
    return status;
  }
  op->requant = isa->requant[op->q.kind].fn;
  op->requant_params = (qk_requant_params){
      .scale = op->q.scale,
      .bias = op->q.bias,
      .multiplier = op->q.multiplier,
      .shift = op->q.shift,
      .zero_point = op->q.output_zero_point,
      .min = op->q.output_min,
      .max = op->q.output_max,
      .bias_scale = op->q.bias_scale,
      .post_scale = op->q.post_scale,
  };
  snprintf(op->ukernels, sizeof(op->ukernels), "%s + %s%s",
           op->depthwise ? op->dw.name : op->gemm.name, isa->requant[op->q.kind].name,
           op->direct ? " (1x1 direct)" : "");
  if (qk_verbose_enabled() && kind == QK_CONV_OP_CONV2D) {
    char what[512];
    describe(op, what, sizeof(what));
    qk_verbose_log("create %s time=%.3fms", what, (qk_now_seconds() - t0) * 1e3);
  }
  *op_out = op;
  return QK_SUCCESS;
}

void qk_conv2d_delete(qk_conv2d* op) {
  if (op == NULL) return;
  qk_aligned_free(op->packed);
  qk_conv_numerics_free(&op->q);
  free(op);
}

const char* qk_conv2d_isa(const qk_conv2d* op) { return op ? op->isa->name : NULL; }
const char* qk_conv2d_ukernels(const qk_conv2d* op) { return op ? op->ukernels : NULL; }

size_t qk_conv2d_workspace_size(const qk_conv2d* op) { return op ? op->workspace_bytes : 0; }

/* ---------------------------------------------------------------------------------------------
 * run
 * ------------------------------------------------------------------------------------------- */
static bool output_extent(size_t in, size_t pad_a, size_t pad_b, size_t kernel, size_t dilation,
                          size_t stride, size_t* out) {
  const size_t padded = in + pad_a + pad_b; /* pads and extent were bounded at create */
  const size_t extent = (kernel - 1) * dilation + 1;
  if (in == 0 || padded < extent) return false;
  *out = (padded - extent) / stride + 1;
  return true;
}

qk_status qk_conv2d_output_size(const qk_conv2d* op, size_t height, size_t width,
                                size_t* output_height, size_t* output_width) {
  if (op == NULL || output_height == NULL || output_width == NULL) {
    return qk_fail(QK_ERROR_INVALID_ARGUMENT, "qk_conv2d_output_size: NULL argument");
  }
  size_t oh, ow;
  if (height > SIZE_MAX / 2 || width > SIZE_MAX / 2) {
    return qk_fail(QK_ERROR_SIZE_OVERFLOW, "conv2d: image size %zux%zu too large", height, width);
  }
  if (!output_extent(height, op->padding_top, op->padding_bottom, op->kernel_height,
                     op->dilation_height, op->stride_height, &oh) ||
      !output_extent(width, op->padding_left, op->padding_right, op->kernel_width,
                     op->dilation_width, op->stride_width, &ow)) {
    return qk_fail(QK_ERROR_INVALID_ARGUMENT,
                   "conv2d: a %zux%zu input gives an empty output (kernel %zux%zu, dilation "
                   "%zux%zu, padding %zu,%zu,%zu,%zu)",
                   height, width, op->kernel_height, op->kernel_width, op->dilation_height,
                   op->dilation_width, op->padding_top, op->padding_left, op->padding_bottom,
                   op->padding_right);
  }
  *output_height = oh;
  *output_width = ow;
  return QK_SUCCESS;
}

/* acc[m][n] -= zw[n] * rowsum[m], modulo 2^32: the -zw·Σa term of nonzero weight zero points. */
static void subtract_row_terms(size_t mr, size_t nc, int32_t* acc, size_t acc_stride,
                               const int32_t* rowsum, const int32_t* zw) {
  for (size_t m = 0; m < mr; m++) {
    for (size_t n = 0; n < nc; n++) {
      acc[m * acc_stride + n] =
          (int32_t)((uint32_t)acc[m * acc_stride + n] - (uint32_t)zw[n] * (uint32_t)rowsum[m]);
    }
  }
}

typedef struct run_context {
  const qk_conv2d* op;
  const uint8_t* image;  /* input of the current image */
  uint8_t* output_image; /* output of the current image */
  uint8_t* im2col;
  int32_t* acc;
  int32_t* rowsum;
} run_context;

/* The GEMM's A operand of a tile: im2col rows in the workspace, or, on the direct path, the input
 * pixels themselves. Output pixel p of a direct 1x1 convolution reads input pixel (oy·SH, ox·SW):
 * rows of one output row are a_stride = SW·pixel_stride apart, and with stride 1 every row is. */
typedef struct tile_operand {
  const uint8_t* base; /* row of the tile's first pixel */
  size_t a_stride;
  bool split_at_rows; /* strided direct path: a GEMM call must stay within one output row */
} tile_operand;

static const uint8_t* direct_row(const run_context* ctx, const qk_im2col_geometry* geo, size_t p) {
  const qk_conv2d* op = ctx->op;
  const size_t oy = p / geo->output_width, ox = p % geo->output_width;
  const size_t pixel = oy * op->stride_height * geo->input_width + ox * op->stride_width;
  return ctx->image + pixel * op->input_pixel_stride + geo->group_offset;
}

static const uint8_t* tile_row(const run_context* ctx, const qk_im2col_geometry* geo,
                               const tile_operand* a, size_t p0, size_t r) {
  return a->split_at_rows ? direct_row(ctx, geo, p0 + r) : a->base + r * a->a_stride;
}

/* Σ_k a[r][k] of each row: the -w_zp·Σa term of nonzero weight zero points. */
static void row_sums(const run_context* ctx, const qk_im2col_geometry* geo, const tile_operand* a,
                     size_t p0, size_t rows) {
  for (size_t r = 0; r < rows; r++) {
    const uint8_t* row = tile_row(ctx, geo, a, p0, r);
    uint32_t s = 0;
    for (size_t i = 0; i < ctx->op->k; i++) s += row[i];
    ctx->rowsum[r] = (int32_t)s;
  }
}

/* One tile of `rows` output pixels starting at p0, one group: A, then GEMM + requant per block. */
static void run_tile_group(const run_context* ctx, const qk_im2col_geometry* geo, size_t p0,
                           size_t rows, size_t group) {
  const qk_conv2d* op = ctx->op;
  const qk_gemm_config* gemm = &op->gemm;
  tile_operand a;
  if (op->direct) {
    a.split_at_rows = op->stride_height != 1 || op->stride_width != 1;
    a.base = direct_row(ctx, geo, p0);
    a.a_stride = op->stride_width * op->input_pixel_stride;
  } else {
    op->isa->im2col(geo, ctx->image, p0, rows, ctx->im2col, op->row_stride);
    a = (tile_operand){ctx->im2col, op->row_stride, false};
  }
  if (op->q.has_weight_zero_point) row_sums(ctx, geo, &a, p0, rows);

  const size_t ng = op->group_output_channels;
  const uint8_t* packed = (const uint8_t*)op->packed + group * op->group_bytes;
  for (size_t n0 = 0; n0 < ng; n0 += op->n_block) {
    const size_t nc = qk_min_size(op->n_block, ng - n0);
    const void* w = packed + n0 / gemm->nr * op->block_bytes;
    const size_t channel = group * ng + n0;
    for (size_t m0 = 0, mr; m0 < rows; m0 += mr) {
      mr = qk_min_size(gemm->mr, rows - m0);
      if (a.split_at_rows) {
        mr = qk_min_size(mr, geo->output_width - (p0 + m0) % geo->output_width);
      }
      gemm->fn(mr, nc, op->k, tile_row(ctx, geo, &a, p0, m0), a.a_stride, w, ctx->acc, nc);
      if (op->q.has_weight_zero_point) {
        subtract_row_terms(mr, nc, ctx->acc, nc, ctx->rowsum + m0,
                           op->q.weight_zero_point + channel);
      }
      uint8_t* out = ctx->output_image + (p0 + m0) * op->output_pixel_stride + channel;
      op->requant(mr, nc, ctx->acc, nc, out, op->output_pixel_stride, &op->requant_params, channel);
    }
  }
}

/* Tap pointers of `count` output pixels of row oy from column ox (all in that row): the input
 * pixel of each tap, or the zero-point row. A pixel whose window lies inside the image
 * horizontally, like its left neighbour's, takes the neighbour's pointers moved by one stride
 * (kernel rows in the vertical padding stay at the zero row): an add per tap instead of the
 * coordinates and their bounds, for all but the border pixels. */
static void depthwise_taps(const qk_conv2d* op, const qk_im2col_geometry* geo, size_t oy, size_t ox,
                           size_t count, const uint8_t* image, const uint8_t* zero_row,
                           const uint8_t** taps) {
  const size_t kh_n = op->kernel_height, kw_n = op->kernel_width, n = kh_n * kw_n;
  const size_t pixel = op->input_pixel_stride, row_bytes = geo->input_width * pixel;
  const size_t step = op->stride_width * pixel;
  /* Input coordinates plus padding, so nothing goes negative in size_t. */
  const size_t y0 = oy * op->stride_height, y_end = y0 + (kh_n - 1) * op->dilation_height;
  const size_t x_span = (kw_n - 1) * op->dilation_width;
  const bool rows_inside = y0 >= op->padding_top && y_end - op->padding_top < geo->input_height;
  bool left_inside = false;
  for (size_t i = 0; i < count; i++, taps += n) {
    const uint8_t* const* left = taps - n; /* the left neighbour's pointers when left_inside */
    const size_t x0 = (ox + i) * op->stride_width;
    const bool inside = x0 >= op->padding_left && x0 + x_span - op->padding_left < geo->input_width;
    if (inside && left_inside && rows_inside) { /* the common case */
      for (size_t t = 0; t < n; t++) taps[t] = left[t] + step;
      continue;
    }
    for (size_t kh = 0, t = 0; kh < kh_n; kh++) {
      const size_t iy = y0 + kh * op->dilation_height;
      const bool row_inside = iy >= op->padding_top && iy - op->padding_top < geo->input_height;
      const uint8_t* row = row_inside ? image + (iy - op->padding_top) * row_bytes : NULL;
      for (size_t kw = 0; kw < kw_n; kw++, t++) {
        const size_t ix = x0 + kw * op->dilation_width;
        const bool tap_inside =
            row_inside && ix >= op->padding_left && ix - op->padding_left < geo->input_width;
        taps[t] = !tap_inside             ? zero_row
                  : inside && left_inside ? left[t] + step
                                          : row + (ix - op->padding_left) * pixel;
      }
    }
    left_inside = inside;
  }
}

/* Depthwise, output pixels [p_begin, p_end) of one image: for each block of dw_pixels, the tap
 * pointers (row by row), the kernel, the requantization. */
static void run_depthwise(const qk_conv2d* op, const qk_im2col_geometry* geo, size_t p_begin,
                          size_t p_end, const uint8_t* image, uint8_t* output_image,
                          uint8_t* workspace) {
  int32_t* acc = (int32_t*)(void*)workspace;
  const uint8_t** indirection = (const uint8_t**)(void*)(workspace + op->acc_bytes);
  const uint8_t* zero_row = workspace + op->acc_bytes + op->indirection_bytes;
  const size_t taps = op->kernel_height * op->kernel_width, c = op->input_channels;
  const size_t ow = geo->output_width;
  size_t oy = p_begin / ow, ox = p_begin % ow;
  for (size_t p0 = p_begin; p0 < p_end; p0 += op->dw_pixels) {
    const size_t pixels = qk_min_size(op->dw_pixels, p_end - p0);
    for (size_t p = 0; p < pixels;) {
      const size_t in_row = qk_min_size(pixels - p, ow - ox);
      depthwise_taps(op, geo, oy, ox, in_row, image, zero_row, indirection + p * taps);
      p += in_row;
      ox += in_row;
      if (ox == ow) ox = 0, oy++;
    }
    op->dw.fn(c, pixels, taps, indirection, op->q.input_xor_mask, op->packed, acc, c);
    op->requant(pixels, c, acc, c, output_image + p0 * op->output_pixel_stride,
                op->output_pixel_stride, &op->requant_params, 0);
  }
}

/* A run is cut into units of `tile` output pixels of one image; thread t of T takes the units
 * [t·U/T, (t+1)·U/T) and the t-th workspace slice. Static ranges need no thread id from the pool,
 * and the tiles of a convolution cost the same, so there is little to balance. */
typedef struct run_plan {
  const qk_conv2d* op;
  qk_im2col_geometry geo;
  const uint8_t* input;
  uint8_t* output;
  size_t in_pixels, out_pixels;
  size_t tile, tiles_per_image, units, threads;
  uint8_t* workspace; /* threads slices of op->workspace_bytes */
} run_plan;

static void run_thread(void* context, size_t t) {
  const run_plan* plan = (const run_plan*)context;
  const qk_conv2d* op = plan->op;
  uint8_t* ws = plan->workspace + t * op->workspace_bytes;
  run_context ctx = {
      .op = op,
      .im2col = ws,
      .acc = (int32_t*)(void*)(ws + op->im2col_bytes),
      .rowsum = (int32_t*)(void*)(ws + op->im2col_bytes + op->acc_bytes),
  };
  if (op->depthwise) {
    /* The padding row holds the raw zero point: the kernel's XOR turns it into x_zp'. */
    memset(ws + op->acc_bytes + op->indirection_bytes,
           (uint8_t)op->q.input_zero_point_u8 ^ op->q.input_xor_mask, op->input_channels);
  }
  const size_t u_end = (t + 1) * plan->units / plan->threads;
  for (size_t u = t * plan->units / plan->threads; u < u_end; u++) {
    const size_t n = u / plan->tiles_per_image;
    const size_t p0 = u % plan->tiles_per_image * plan->tile;
    const size_t rows = qk_min_size(plan->tile, plan->out_pixels - p0);
    ctx.image = plan->input + n * plan->in_pixels * op->input_pixel_stride;
    ctx.output_image = plan->output + n * plan->out_pixels * op->output_pixel_stride;
    if (op->depthwise) {
      run_depthwise(op, &plan->geo, p0, p0 + rows, ctx.image, ctx.output_image, ws);
      continue;
    }
    for (size_t group = 0; group < op->groups; group++) {
      qk_im2col_geometry g = plan->geo;
      g.group_offset = group * op->group_input_channels;
      run_tile_group(&ctx, &g, p0, rows, group);
    }
  }
}

/* Output pixels per unit: the operator's tile, made smaller when there would be fewer units than
 * threads (small images), never below one GEMM row block. */
static size_t unit_pixels(const qk_conv2d* op, size_t batch, size_t out_pixels, size_t threads) {
  const size_t granule = op->depthwise ? 1 : op->gemm.mr;
  size_t tile = op->depthwise ? op->dw_pixels * 4 : op->tile_pixels;
  if (threads > 1) {
    const size_t per_image = (threads + batch - 1) / batch;
    const size_t even = qk_round_up((out_pixels + per_image - 1) / per_image, granule);
    tile = qk_max_size(qk_min_size(tile, even), granule);
  }
  return tile;
}

static qk_status run(const char* fn, const qk_conv2d* op, size_t batch, size_t height, size_t width,
                     const void* input, void* output, void* workspace, qk_threadpool* pool) {
  const double t0 = qk_verbose_enabled() ? qk_now_seconds() : 0.0;
  if (op == NULL) return qk_fail(QK_ERROR_INVALID_ARGUMENT, "%s: op is NULL", fn);
  size_t oh, ow;
  qk_status status = qk_conv2d_output_size(op, height, width, &oh, &ow);
  if (status != QK_SUCCESS) return status;
  if (batch == 0) return QK_SUCCESS;
  if (input == NULL || output == NULL) {
    return qk_fail(QK_ERROR_INVALID_ARGUMENT, "%s: input or output is NULL", fn);
  }
  const size_t threads = qk_threadpool_threads(pool);
  size_t in_pixels, out_pixels, in_bytes, out_bytes, ws_bytes;
  if (!qk_mul_size(height, width, &in_pixels) || !qk_mul_size(oh, ow, &out_pixels) ||
      !qk_mul_size(in_pixels, op->input_pixel_stride, &in_bytes) ||
      !qk_mul_size(in_bytes, batch, &in_bytes) ||
      !qk_mul_size(out_pixels, op->output_pixel_stride, &out_bytes) ||
      !qk_mul_size(out_bytes, batch, &out_bytes) ||
      !qk_mul_size(op->workspace_bytes, threads, &ws_bytes)) {
    return qk_fail(QK_ERROR_SIZE_OVERFLOW, "%s: %zu images of %zux%zu exceed the address space", fn,
                   batch, height, width);
  }
  void* owned = NULL;
  if (workspace == NULL) {
    workspace = owned = qk_aligned_alloc(64, ws_bytes);
    if (owned == NULL) {
      return qk_fail(QK_ERROR_OUT_OF_MEMORY, "%s: cannot allocate %zu bytes of workspace", fn,
                     ws_bytes);
    }
  } else if ((uintptr_t)workspace % 64 != 0) {
    return qk_fail(QK_ERROR_INVALID_ARGUMENT, "%s: workspace is not 64-byte aligned", fn);
  }

  run_plan plan = {
      .op = op,
      .geo =
          {
              .input_height = height,
              .input_width = width,
              .input_pixel_stride = op->input_pixel_stride,
              .group_channels = op->group_input_channels,
              .output_width = ow,
              .kernel_height = op->kernel_height,
              .kernel_width = op->kernel_width,
              .stride_height = op->stride_height,
              .stride_width = op->stride_width,
              .dilation_height = op->dilation_height,
              .dilation_width = op->dilation_width,
              .padding_top = op->padding_top,
              .padding_left = op->padding_left,
              .pad_value = (uint8_t)op->q.input_zero_point_u8,
              .xor_mask = op->q.input_xor_mask,
          },
      .input = (const uint8_t*)input,
      .output = (uint8_t*)output,
      .in_pixels = in_pixels,
      .out_pixels = out_pixels,
      .threads = threads,
      .workspace = (uint8_t*)workspace,
  };
  plan.tile = unit_pixels(op, batch, out_pixels, threads);
  plan.tiles_per_image = (out_pixels + plan.tile - 1) / plan.tile;
  plan.units = batch * plan.tiles_per_image;
  qk_threadpool_run(pool, run_thread, &plan, threads);
  qk_aligned_free(owned);
  if (qk_verbose_enabled() && op->kind == QK_CONV_OP_CONV2D) {
    qk_verbose_log(
        "run conv2d N=%zu H=%zu W=%zu -> %zux%zu C=%zu O=%zu G=%zu numerics=%s isa=%s "
        "ukernels=%s threads=%zu time=%.3fms",
        batch, height, width, oh, ow, op->input_channels, op->output_channels, op->groups,
        qk_numerics_name(op->numerics), op->isa->name, op->ukernels, threads,
        (qk_now_seconds() - t0) * 1e3);
  }
  return QK_SUCCESS;
}

qk_status qk_conv2d_run(const qk_conv2d* op, size_t batch, size_t height, size_t width,
                        const void* input, void* output, void* workspace) {
  return run("qk_conv2d_run", op, batch, height, width, input, output, workspace, NULL);
}

qk_status qk_conv2d_run_threaded(const qk_conv2d* op, size_t batch, size_t height, size_t width,
                                 const void* input, void* output, void* workspace,
                                 qk_threadpool* threadpool) {
  return run("qk_conv2d_run_threaded", op, batch, height, width, input, output, workspace,
             threadpool);
}
