/* Peak of the generic ISA: a scalar multiply-add chain, 8 independent int32 accumulators.
 * The empty asm makes the multiplicands opaque every round, so the compiler can neither hoist
 * the products nor vectorize the loop. */
#include "peak.h"

uint64_t qk_bench_peak_generic(uint64_t iterations) {
  uint32_t x0 = 3, x1 = 5, x2 = 7, x3 = 11, x4 = 13, x5 = 17, x6 = 19, x7 = 23, y = 29;
  uint32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0, a4 = 0, a5 = 0, a6 = 0, a7 = 0;
  for (uint64_t i = 0; i < iterations; i++) {
    __asm__ volatile(""
                     : "+r"(x0), "+r"(x1), "+r"(x2), "+r"(x3), "+r"(x4), "+r"(x5), "+r"(x6),
                       "+r"(x7), "+r"(y));
    a0 += x0 * y;
    a1 += x1 * y;
    a2 += x2 * y;
    a3 += x3 * y;
    a4 += x4 * y;
    a5 += x5 * y;
    a6 += x6 * y;
    a7 += x7 * y;
  }
  __asm__ volatile("" : : "r"(a0), "r"(a1), "r"(a2), "r"(a3), "r"(a4), "r"(a5), "r"(a6), "r"(a7));
  return iterations * 8 * 2;
}
