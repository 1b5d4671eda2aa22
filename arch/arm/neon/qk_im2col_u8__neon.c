/* qk_im2col_u8__neon — im2col of a block of output pixels with NEON copies (ARMv8.0).
 *
 * What:    row r (output pixel p0 + r of one image and one group) gets K = KH * KW * Cg bytes in
 *          (kh, kw, c) order: x[iy][ix][group_offset + c] ^ xor_mask inside the image, pad_value
 *          outside, then zeros up to row_stride — byte-identical to qk_im2col_u8__generic.
 * Layout:  image is NHWC of one image (pixel stride input_pixel_stride bytes); rows are
 *          row_stride bytes apart. No alignment required.
 * Tails:   each tap copies Cg bytes in 16- and 8-byte vectors and a byte loop for the rest; no
 *          byte outside a tap's Cg channels is read, none past row_stride written.
 * ISA:     ARMv8.0 Advanced SIMD (eor of the s8 -> u8 flip folded into the copy).
 * Why:     the generic byte loop does not vectorize at -O2; deep layers have Cg of 64..512, where
 *          this copy is 16 bytes per instruction pair. */
#include <arm_neon.h>
#include <string.h>

#include "arch/arm/neon/ukernels.h"

static void copy_xor(uint8_t* dst, const uint8_t* src, size_t n, uint8_t mask) {
  const uint8x16_t vmask = vdupq_n_u8(mask);
  for (; n >= 16; n -= 16, src += 16, dst += 16) {
    vst1q_u8(dst, veorq_u8(vld1q_u8(src), vmask));
  }
  if (n >= 8) {
    vst1_u8(dst, veor_u8(vld1_u8(src), vget_low_u8(vmask)));
    n -= 8, src += 8, dst += 8;
  }
  for (; n != 0; n--) *dst++ = (uint8_t)(*src++ ^ mask);
}

/* Source of tap (kh, kw) of output pixel (oy, ox), or NULL when it falls in the padding. */
static const uint8_t* tap(const qk_im2col_geometry* g, const uint8_t* image, size_t oy, size_t ox,
                          size_t kh, size_t kw) {
  const size_t iy_plus_pad = oy * g->stride_height + kh * g->dilation_height;
  const size_t ix_plus_pad = ox * g->stride_width + kw * g->dilation_width;
  if (iy_plus_pad < g->padding_top || iy_plus_pad - g->padding_top >= g->input_height ||
      ix_plus_pad < g->padding_left || ix_plus_pad - g->padding_left >= g->input_width) {
    return NULL;
  }
  const size_t pixel =
      (iy_plus_pad - g->padding_top) * g->input_width + (ix_plus_pad - g->padding_left);
  return image + pixel * g->input_pixel_stride + g->group_offset;
}

void qk_im2col_u8__neon(const qk_im2col_geometry* g, const uint8_t* image, size_t p0, size_t rows,
                        uint8_t* out, size_t row_stride) {
  const size_t cg = g->group_channels;
  const size_t k = g->kernel_height * g->kernel_width * cg;
  for (size_t r = 0; r < rows; r++) {
    const size_t oy = (p0 + r) / g->output_width, ox = (p0 + r) % g->output_width;
    uint8_t* dst = out + r * row_stride;
    for (size_t kh = 0; kh < g->kernel_height; kh++) {
      for (size_t kw = 0; kw < g->kernel_width; kw++, dst += cg) {
        const uint8_t* src = tap(g, image, oy, ox, kh, kw);
        if (src == NULL) {
          memset(dst, g->pad_value, cg);
        } else {
          copy_xor(dst, src, cg, g->xor_mask);
        }
      }
    }
    memset(out + r * row_stride + k, 0, row_stride - k);
  }
}
