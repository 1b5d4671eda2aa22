/* qk_lut_u8__generic: y[i] = table[x[i]], i < n — the specification of the byte lookup every
 * SIMD lookup kernel must reproduce (test/activation_test.cc, LutUkernel). Bytes are u8, or s8
 * as their two's complement bytes; the table has 256 entries indexed by the byte. In place
 * (y == x) allowed. No alignment, no read past x[n - 1]. Portable C. */
#include "arch/ukernel.h"

void qk_lut_u8__generic(size_t n, const uint8_t* x, uint8_t* y, const uint8_t* table) {
  for (size_t i = 0; i < n; i++) y[i] = table[x[i]];
}
