/* qk_im2col_u8__avx2 — im2col of a block of output pixels (contract: arch/ukernel.h), the
 * same bytes as qk_im2col_u8__generic, written with fewer, wider copies.
 *
 * Row r (output pixel p0 + r) holds, for each kh, the KW taps of one input row in (kw, c) order:
 * x ^ xor_mask for taps inside the image, pad_value outside, then zeros up to row_stride.
 * Per (row, kh) the taps inside the image are one interval [lo, hi) of kw (computed once per row),
 * so the row is: a pad run, the inside taps, a pad run. When the channels of consecutive input
 * pixels are contiguous (input_pixel_stride == group_channels, dilation_width == 1) the inside
 * taps are a single copy of (hi - lo) * Cg bytes — ResNet's 7x7 stem (Cg = 3) copies 21-byte
 * runs instead of 3-byte ones; otherwise one copy per tap. Copies and fills go 32 bytes at a time
 * with 16/8/4/2/1-byte tails: nothing is read or written outside the source pixels and the rows.
 * (oy, ox) advance incrementally instead of a division per row. Needs AVX2. */
#include <immintrin.h>
#include <string.h>

#include "arch/x86/avx2/avx2.h"

/* dst[i] = src[i] ^ x for i < n (x: the xor byte in every byte of vx and x64). */
static inline void copy_xor(uint8_t* dst, const uint8_t* src, size_t n, __m256i vx, uint64_t x64) {
  for (; n >= 32; n -= 32, src += 32, dst += 32) {
    _mm256_storeu_si256((__m256i*)dst,
                        _mm256_xor_si256(_mm256_loadu_si256((const __m256i*)src), vx));
  }
  if (n & 16) {
    const __m128i v = _mm_loadu_si128((const __m128i*)src);
    _mm_storeu_si128((__m128i*)dst, _mm_xor_si128(v, _mm256_castsi256_si128(vx)));
    src += 16, dst += 16;
  }
  uint64_t v8;
  if (n & 8) memcpy(&v8, src, 8), v8 ^= x64, memcpy(dst, &v8, 8), src += 8, dst += 8;
  uint32_t v4;
  if (n & 4) memcpy(&v4, src, 4), v4 ^= (uint32_t)x64, memcpy(dst, &v4, 4), src += 4, dst += 4;
  uint16_t v2;
  if (n & 2) memcpy(&v2, src, 2), v2 ^= (uint16_t)x64, memcpy(dst, &v2, 2), src += 2, dst += 2;
  if (n & 1) *dst = (uint8_t)(*src ^ (uint8_t)x64);
}

/* dst[i] = the byte of v64 for i < n. */
static inline void fill(uint8_t* dst, size_t n, __m256i v, uint64_t v64) {
  for (; n >= 32; n -= 32, dst += 32) _mm256_storeu_si256((__m256i*)dst, v);
  if (n & 16) _mm_storeu_si128((__m128i*)dst, _mm256_castsi256_si128(v)), dst += 16;
  if (n & 8) memcpy(dst, &v64, 8), dst += 8;
  if (n & 4) memcpy(dst, &v64, 4), dst += 4;
  if (n & 2) memcpy(dst, &v64, 2), dst += 2;
  if (n & 1) *dst = (uint8_t)v64;
}

/* First kw >= 0 with ox_pos + kw * dilation >= bound (ox_pos = ox * SW), at most kw_count. */
static inline size_t first_tap_at(size_t ox_pos, size_t bound, size_t dilation, size_t kw_count) {
  if (ox_pos >= bound) return 0;
  const size_t kw = dilation == 1 ? bound - ox_pos : (bound - ox_pos + dilation - 1) / dilation;
  return kw < kw_count ? kw : kw_count;
}

void qk_im2col_u8__avx2(const qk_im2col_geometry* g, const uint8_t* image, size_t p0, size_t rows,
                        uint8_t* out, size_t row_stride) {
  const size_t cg = g->group_channels, kw_count = g->kernel_width, dw = g->dilation_width;
  const size_t run = kw_count * cg, k = g->kernel_height * run;
  const size_t pixel = g->input_pixel_stride, image_row = g->input_width * pixel;
  const bool contiguous = pixel == cg && dw == 1;
  const uint64_t x64 = g->xor_mask * UINT64_C(0x0101010101010101);
  const uint64_t pad64 = g->pad_value * UINT64_C(0x0101010101010101);
  const __m256i vx = _mm256_set1_epi8((char)g->xor_mask);
  const __m256i vpad = _mm256_set1_epi8((char)g->pad_value);
  size_t oy = p0 / g->output_width, ox = p0 % g->output_width;
  for (size_t r = 0; r < rows; r++, out += row_stride) {
    const size_t ox_pos = ox * g->stride_width;
    /* taps [lo, hi) of this output column are inside the image horizontally */
    const size_t lo = first_tap_at(ox_pos, g->padding_left, dw, kw_count);
    size_t hi = first_tap_at(ox_pos, g->padding_left + g->input_width, dw, kw_count);
    hi = hi < lo ? lo : hi;
    const size_t before = lo * cg, inside = (hi - lo) * cg, after = run - before - inside;
    /* the first inside tap in input row 0 (formed only when there is one: no wrapped pointer) */
    const uint8_t* src =
        inside ? image + g->group_offset + (ox_pos + lo * dw - g->padding_left) * pixel : image;
    size_t iy_plus_pad = oy * g->stride_height;
    uint8_t* dst = out;
    for (size_t kh = 0; kh < g->kernel_height; kh++, dst += run) {
      const size_t iy = iy_plus_pad - g->padding_top; /* above the image: wraps to >= height */
      iy_plus_pad += g->dilation_height;
      if (iy >= g->input_height || inside == 0) {
        fill(dst, run, vpad, pad64);
        continue;
      }
      if (before != 0) fill(dst, before, vpad, pad64);
      if (contiguous) {
        copy_xor(dst + before, src + iy * image_row, inside, vx, x64);
      } else {
        for (size_t t = 0; t < hi - lo; t++) {
          copy_xor(dst + before + t * cg, src + iy * image_row + t * dw * pixel, cg, vx, x64);
        }
      }
      if (after != 0) fill(dst + before + inside, after, vpad, pad64);
    }
    if (row_stride != k) fill(out + k, row_stride - k, _mm256_setzero_si256(), 0);
    if (++ox == g->output_width) ox = 0, oy++;
  }
}
