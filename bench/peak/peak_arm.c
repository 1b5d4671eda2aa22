/* Peaks of the ARM ISAs: 16 independent accumulators of the ISA's multiply-add instruction.
 * Each function carries its own target attribute, so the file compiles with the baseline flags.
 * Run only when the CPU has the extension. */
#include "peak.h"

#if defined(__aarch64__)

/* neon: smlal .4s (4 int16 multiply-adds; smlal2 is alike). */
uint64_t qk_bench_peak_neon(uint64_t iterations) {
  if (iterations == 0) return 0;
  uint64_t n = iterations;
  __asm__ volatile(
      "movi v16.16b, #1\n\t"
      "movi v17.16b, #1\n\t"
      "1:\n\t"
      "smlal v0.4s, v16.4h, v17.4h\n\t"
      "smlal v1.4s, v16.4h, v17.4h\n\t"
      "smlal v2.4s, v16.4h, v17.4h\n\t"
      "smlal v3.4s, v16.4h, v17.4h\n\t"
      "smlal v4.4s, v16.4h, v17.4h\n\t"
      "smlal v5.4s, v16.4h, v17.4h\n\t"
      "smlal v6.4s, v16.4h, v17.4h\n\t"
      "smlal v7.4s, v16.4h, v17.4h\n\t"
      "smlal v8.4s, v16.4h, v17.4h\n\t"
      "smlal v9.4s, v16.4h, v17.4h\n\t"
      "smlal v10.4s, v16.4h, v17.4h\n\t"
      "smlal v11.4s, v16.4h, v17.4h\n\t"
      "smlal v12.4s, v16.4h, v17.4h\n\t"
      "smlal v13.4s, v16.4h, v17.4h\n\t"
      "smlal v14.4s, v16.4h, v17.4h\n\t"
      "smlal v15.4s, v16.4h, v17.4h\n\t"
      "subs %0, %0, #1\n\t"
      "b.ne 1b\n\t"
      : "+r"(n)
      :
      : "cc", "v0", "v1", "v2", "v3", "v4", "v5", "v6", "v7", "v8", "v9", "v10", "v11", "v12",
        "v13", "v14", "v15", "v16", "v17");
  return iterations * 16 * 4 * 2;
}

/* neondot: sdot .4s (16 int8 multiply-adds). */
__attribute__((target("arch=armv8.2-a+dotprod"))) uint64_t qk_bench_peak_neondot(
    uint64_t iterations) {
  if (iterations == 0) return 0;
  uint64_t n = iterations;
  __asm__ volatile(
      "movi v16.16b, #1\n\t"
      "movi v17.16b, #1\n\t"
      "1:\n\t"
      "sdot v0.4s, v16.16b, v17.16b\n\t"
      "sdot v1.4s, v16.16b, v17.16b\n\t"
      "sdot v2.4s, v16.16b, v17.16b\n\t"
      "sdot v3.4s, v16.16b, v17.16b\n\t"
      "sdot v4.4s, v16.16b, v17.16b\n\t"
      "sdot v5.4s, v16.16b, v17.16b\n\t"
      "sdot v6.4s, v16.16b, v17.16b\n\t"
      "sdot v7.4s, v16.16b, v17.16b\n\t"
      "sdot v8.4s, v16.16b, v17.16b\n\t"
      "sdot v9.4s, v16.16b, v17.16b\n\t"
      "sdot v10.4s, v16.16b, v17.16b\n\t"
      "sdot v11.4s, v16.16b, v17.16b\n\t"
      "sdot v12.4s, v16.16b, v17.16b\n\t"
      "sdot v13.4s, v16.16b, v17.16b\n\t"
      "sdot v14.4s, v16.16b, v17.16b\n\t"
      "sdot v15.4s, v16.16b, v17.16b\n\t"
      "subs %0, %0, #1\n\t"
      "b.ne 1b\n\t"
      : "+r"(n)
      :
      : "cc", "v0", "v1", "v2", "v3", "v4", "v5", "v6", "v7", "v8", "v9", "v10", "v11", "v12",
        "v13", "v14", "v15", "v16", "v17");
  return iterations * 16 * 16 * 2;
}

/* i8mm: usmmla (2x8 by 8x2, 32 u8 x s8 multiply-adds). */
__attribute__((target("arch=armv8.6-a+i8mm"))) uint64_t qk_bench_peak_i8mm(uint64_t iterations) {
  if (iterations == 0) return 0;
  uint64_t n = iterations;
  __asm__ volatile(
      "movi v16.16b, #1\n\t"
      "movi v17.16b, #1\n\t"
      "1:\n\t"
      "usmmla v0.4s, v16.16b, v17.16b\n\t"
      "usmmla v1.4s, v16.16b, v17.16b\n\t"
      "usmmla v2.4s, v16.16b, v17.16b\n\t"
      "usmmla v3.4s, v16.16b, v17.16b\n\t"
      "usmmla v4.4s, v16.16b, v17.16b\n\t"
      "usmmla v5.4s, v16.16b, v17.16b\n\t"
      "usmmla v6.4s, v16.16b, v17.16b\n\t"
      "usmmla v7.4s, v16.16b, v17.16b\n\t"
      "usmmla v8.4s, v16.16b, v17.16b\n\t"
      "usmmla v9.4s, v16.16b, v17.16b\n\t"
      "usmmla v10.4s, v16.16b, v17.16b\n\t"
      "usmmla v11.4s, v16.16b, v17.16b\n\t"
      "usmmla v12.4s, v16.16b, v17.16b\n\t"
      "usmmla v13.4s, v16.16b, v17.16b\n\t"
      "usmmla v14.4s, v16.16b, v17.16b\n\t"
      "usmmla v15.4s, v16.16b, v17.16b\n\t"
      "subs %0, %0, #1\n\t"
      "b.ne 1b\n\t"
      : "+r"(n)
      :
      : "cc", "v0", "v1", "v2", "v3", "v4", "v5", "v6", "v7", "v8", "v9", "v10", "v11", "v12",
        "v13", "v14", "v15", "v16", "v17");
  return iterations * 16 * 32 * 2;
}

#endif
