/* qk_dwconv_u8s8_c64__avx512vnni — depthwise convolution accumulators, 64 channels per zmm step.
 *
 *   acc[p][c] = colterm[c] + Σ_{t < taps} (input[p * taps + t][c] ^ xor_mask) * w[t][c]
 * for p < pixels, c < channels, int32 wrapping modulo 2^32 (contract: arch/ukernel.h).
 *
 * Scheme: vpdpbusd on 4 taps at once. The bytes of 4 taps are interleaved by in-lane unpacks so
 * that each dword holds the 4 taps of one channel (arch/x86/avx512vnni/dwconv.h): 8 shuffles and
 * 4 vpdpbusd per 4 taps x 64 channels, plus an 8-shuffle transpose back to channel order per
 * pixel, where widening every tap to int16 (the avx2 kernel) costs ~5 operations per 16 channels
 * and tap. Zen 4 retires about 1.6 zmm operations per cycle whatever their kind, so the count of
 * vector operations is the cost: the XOR is only done for s8 inputs, and with taps <= 12 (3x3)
 * the block's weights stay in 16 registers while the loop runs over the pixels.
 *
 * Weights: qk_pack_dwconv_c64q4__avx512vnni (CB = 64), per 64-channel block, in the interleave's
 * (j, L, i) order, c = 16L + 4j + i:
 *   int32 colterm[j][L][i];  int8 w[ceil(taps / 4)][j][L][i][k]  (k: tap 4g + k)
 * with zeros past `channels` and past `taps`.
 * input: pixels * taps pointers; exactly `channels` bytes are read through each (masked loads in
 * a partial block). A last block of <= 32 channels runs 16-channel xmm slices (lane L of the
 * layout): 144 channels cost 2 zmm blocks and one xmm slice, not 3 zmm blocks.
 * acc: row stride acc_stride int32; only the first `channels` written. Any taps, any channels.
 * Needs AVX512 F + BW + VL + VNNI.
 *
 * Exactness: vpdpbusd multiplies u8 (x ^ xor_mask, in [0, 255]) by s8 weights into exact products
 * (|x * w| <= 255 * 128 = 32640), sums 4 of them exactly (|sum| <= 130560 < 2^31) and adds the sum
 * to the int32 accumulator modulo 2^32 (vpdpbusd, not the saturating vpdpbusds), as the C kernel
 * does. Padding taps and channels have zero weights: they add nothing. */
#include "arch/x86/avx512vnni/avx512vnni.h"
#include "arch/x86/avx512vnni/dwconv.h"

enum { CB = 64, QUAD = 256 /* bytes of the colterms or of one tap quad in a block */ };

static inline size_t min_size(size_t a, size_t b) { return a < b ? a : b; }

/* n <= 64 channels from c of every pixel, taps <= 12: weights and colterms held in registers. */
QK_DW_INLINE void few_zmm(const uint8_t* const* input, size_t pixels, size_t taps, size_t c,
                          size_t n, bool use_xor, __m512i vxor, const uint8_t* block, int32_t* acc,
                          size_t acc_stride) {
  const bool full = n == CB;
  const __mmask64 m = full ? ~(__mmask64)0 : ((__mmask64)1 << n) - 1;
  const qk_dw_zmm4 ct = qk_dw_load_zmm4(block), w0 = qk_dw_load_zmm4(block + QUAD);
  const qk_dw_zmm4 w1 = taps > 4 ? qk_dw_load_zmm4(block + 2 * QUAD) : ct;
  const qk_dw_zmm4 w2 = taps > 8 ? qk_dw_load_zmm4(block + 3 * QUAD) : ct;
  for (size_t p = 0; p < pixels; p++) {
    const uint8_t* const* rows = input + p * taps;
    qk_dw_zmm4 a = ct;
    qk_dw_quad_zmm(&a, rows, min_size(taps, 4), c, full, m, use_xor, vxor, &w0);
    if (taps > 4) {
      qk_dw_quad_zmm(&a, rows + 4, min_size(taps - 4, 4), c, full, m, use_xor, vxor, &w1);
    }
    if (taps > 8) qk_dw_quad_zmm(&a, rows + 8, taps - 8, c, full, m, use_xor, vxor, &w2);
    qk_dw_store_zmm(acc + p * acc_stride + c, a, n);
  }
}

/* The same for any taps, the weights read from L1 for every pixel. */
QK_DW_INLINE void many_zmm(const uint8_t* const* input, size_t pixels, size_t taps, size_t c,
                           size_t n, bool use_xor, __m512i vxor, const uint8_t* block, int32_t* acc,
                           size_t acc_stride) {
  const bool full = n == CB;
  const __mmask64 m = full ? ~(__mmask64)0 : ((__mmask64)1 << n) - 1;
  for (size_t p = 0; p < pixels; p++) {
    const uint8_t* const* rows = input + p * taps;
    qk_dw_zmm4 a = qk_dw_load_zmm4(block);
    for (size_t t = 0; t < taps; t += 4) {
      const qk_dw_zmm4 w = qk_dw_load_zmm4(block + QUAD + t / 4 * QUAD);
      qk_dw_quad_zmm(&a, rows + t, min_size(taps - t, 4), c, full, m, use_xor, vxor, &w);
    }
    qk_dw_store_zmm(acc + p * acc_stride + c, a, n);
  }
}

/* One 16-channel slice (n <= 16 channels from c) on xmm; lane = the slice's lane in the block
 * layout (a 16-byte offset in every 64-byte row of it). */
QK_DW_INLINE void slice_xmm(const uint8_t* const* input, size_t pixels, size_t taps, size_t c,
                            size_t n, bool use_xor, __m128i vxor, const uint8_t* lane, int32_t* acc,
                            size_t acc_stride) {
  const __mmask16 m = (__mmask16)(n >= 16 ? 0xFFFFu : (1u << n) - 1);
  const qk_dw_xmm4 ct = qk_dw_load_xmm4(lane), w0 = qk_dw_load_xmm4(lane + QUAD);
  const qk_dw_xmm4 w1 = taps > 4 ? qk_dw_load_xmm4(lane + 2 * QUAD) : ct;
  const qk_dw_xmm4 w2 = taps > 8 ? qk_dw_load_xmm4(lane + 3 * QUAD) : ct;
  for (size_t p = 0; p < pixels; p++) {
    const uint8_t* const* rows = input + p * taps;
    qk_dw_xmm4 a = ct;
    if (taps <= 12) {
      qk_dw_quad_xmm(&a, rows, min_size(taps, 4), c, m, use_xor, vxor, &w0);
      if (taps > 4) qk_dw_quad_xmm(&a, rows + 4, min_size(taps - 4, 4), c, m, use_xor, vxor, &w1);
      if (taps > 8) qk_dw_quad_xmm(&a, rows + 8, taps - 8, c, m, use_xor, vxor, &w2);
    } else {
      for (size_t t = 0; t < taps; t += 4) {
        const qk_dw_xmm4 w = qk_dw_load_xmm4(lane + QUAD + t / 4 * QUAD);
        qk_dw_quad_xmm(&a, rows + t, min_size(taps - t, 4), c, m, use_xor, vxor, &w);
      }
    }
    qk_dw_store_xmm(acc + p * acc_stride + c, a, n);
  }
}

/* Block by block (each block's weights stay in L1 or in registers while all pixels pass). */
QK_DW_INLINE void run(size_t channels, size_t pixels, size_t taps, const uint8_t* const* input,
                      bool use_xor, uint8_t xor_mask, const uint8_t* w, int32_t* acc,
                      size_t acc_stride) {
  const size_t block_bytes = QUAD + (taps + 3) / 4 * QUAD;
  const __m512i vxor = _mm512_set1_epi8((char)xor_mask);
  for (size_t c = 0; c < channels; c += CB, w += block_bytes) {
    const size_t n = min_size(channels - c, CB);
    if (n > 32 && taps <= 12) {
      few_zmm(input, pixels, taps, c, n, use_xor, vxor, w, acc, acc_stride);
    } else if (n > 32) {
      many_zmm(input, pixels, taps, c, n, use_xor, vxor, w, acc, acc_stride);
    } else {
      for (size_t s = 0; s < n; s += 16) {
        slice_xmm(input, pixels, taps, c + s, min_size(n - s, 16), use_xor,
                  _mm512_castsi512_si128(vxor), w + s, acc, acc_stride);
      }
    }
  }
}

void qk_dwconv_u8s8_c64__avx512vnni(size_t channels, size_t pixels, size_t taps,
                                    const uint8_t* const* input, uint8_t xor_mask, const void* w,
                                    int32_t* acc, size_t acc_stride) {
  const uint8_t* packed = (const uint8_t*)w;
  /* Constant taps and XOR flag let the compiler drop the branches of the common cases. */
  if (taps == 9 && xor_mask == 0) {
    run(channels, pixels, 9, input, false, 0, packed, acc, acc_stride);
  } else if (taps == 9) {
    run(channels, pixels, 9, input, true, xor_mask, packed, acc, acc_stride);
  } else if (xor_mask == 0) {
    run(channels, pixels, taps, input, false, 0, packed, acc, acc_stride);
  } else {
    run(channels, pixels, taps, input, true, xor_mask, packed, acc, acc_stride);
  }
}
