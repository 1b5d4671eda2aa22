/* qk_im2col_u8__generic — gathers the receptive fields of a block of output pixels into rows.
 *
 * Row r (output pixel p0 + r of one image, one group) holds K = KH * KW * Cg bytes in
 * (kh, kw, c) order, each x[iy][ix][group_offset + c] ^ xor_mask, or pad_value for taps outside
 * the image, then zeros up to row_stride. The caller bounds `rows` so the block stays a small,
 * image-size-independent workspace (docs/design.md). */
#include <string.h>

#include "arch/generic/generic.h"

void qk_im2col_u8__generic(const qk_im2col_geometry* g, const uint8_t* image, size_t p0,
                           size_t rows, uint8_t* out, size_t row_stride) {
  const size_t cg = g->group_channels;
  const size_t k = g->kernel_height * g->kernel_width * cg;
  for (size_t r = 0; r < rows; r++) {
    const size_t oy = (p0 + r) / g->output_width;
    const size_t ox = (p0 + r) % g->output_width;
    uint8_t* row = out + r * row_stride;
    for (size_t kh = 0; kh < g->kernel_height; kh++) {
      /* iy = oy * SH + kh * DH - PT computed without going negative in size_t. */
      const size_t iy_plus_pad = oy * g->stride_height + kh * g->dilation_height;
      const bool row_inside =
          iy_plus_pad >= g->padding_top && iy_plus_pad - g->padding_top < g->input_height;
      for (size_t kw = 0; kw < g->kernel_width; kw++) {
        uint8_t* dst = row + (kh * g->kernel_width + kw) * cg;
        const size_t ix_plus_pad = ox * g->stride_width + kw * g->dilation_width;
        if (!row_inside || ix_plus_pad < g->padding_left ||
            ix_plus_pad - g->padding_left >= g->input_width) {
          memset(dst, g->pad_value, cg);
          continue;
        }
        const size_t pixel =
            (iy_plus_pad - g->padding_top) * g->input_width + (ix_plus_pad - g->padding_left);
        const uint8_t* src = image + pixel * g->input_pixel_stride + g->group_offset;
        for (size_t c = 0; c < cg; c++) dst[c] = (uint8_t)(src[c] ^ g->xor_mask);
      }
    }
    memset(row + k, 0, row_stride - k);
  }
}
