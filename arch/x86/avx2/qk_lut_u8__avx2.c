/* qk_lut_u8__avx2: y[i] = table[x[i]], i < n, bit-identical to qk_lut_u8__generic.
 *
 * 32 bytes per step. The 256-entry table is 16 rows of 16 bytes; vpshufb looks up the low
 * nibble of every byte in one row (broadcast to both 128-bit lanes), and a compare of the high
 * nibble with the row number selects the row's result: 16 x (vpshufb, vpcmpeqb, vpblendvb).
 * The last n mod 32 bytes go through a 32-byte stack buffer, so nothing past x[n - 1] is read
 * and nothing past y[n - 1] written. In place (y == x) allowed. Needs AVX2. */
#include <immintrin.h>
#include <string.h>

#include "arch/ukernel.h"

static inline __m256i lookup32(__m256i vx, const __m256i* rows) {
  const __m256i vnibble = _mm256_set1_epi8(0x0F);
  const __m256i vlo = _mm256_and_si256(vx, vnibble);
  const __m256i vhi = _mm256_and_si256(_mm256_srli_epi16(vx, 4), vnibble);
  __m256i vy = _mm256_shuffle_epi8(rows[0], vlo);
  for (int r = 1; r < 16; r++) {
    const __m256i vrow = _mm256_shuffle_epi8(rows[r], vlo);
    const __m256i vsel = _mm256_cmpeq_epi8(vhi, _mm256_set1_epi8((char)r));
    vy = _mm256_blendv_epi8(vy, vrow, vsel);
  }
  return vy;
}

void qk_lut_u8__avx2(size_t n, const uint8_t* x, uint8_t* y, const uint8_t* table) {
  __m256i rows[16];
  for (int r = 0; r < 16; r++) {
    rows[r] = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i*)(table + 16 * r)));
  }
  for (; n >= 32; n -= 32, x += 32, y += 32) {
    const __m256i vx = _mm256_loadu_si256((const __m256i*)x);
    _mm256_storeu_si256((__m256i*)y, lookup32(vx, rows));
  }
  if (n != 0) {
    uint8_t buf[32] = {0};
    memcpy(buf, x, n);
    const __m256i vy = lookup32(_mm256_loadu_si256((const __m256i*)buf), rows);
    _mm256_storeu_si256((__m256i*)buf, vy);
    memcpy(y, buf, n);
  }
}
