/* Peak of the avx512vnni ISA: EVEX vpdpbusd zmm (64 u8 x s8 multiply-adds into 16 int32),
 * 24 independent accumulators. Compiled with -mavx512f -mavx512vnni; run only when the CPU has
 * AVX512-VNNI. */
#include "peak.h"

uint64_t qk_bench_peak_avx512vnni(uint64_t iterations) {
  if (iterations == 0) return 0;
  uint64_t n = iterations;
  __asm__ volatile(
      "vpternlogd $0xff, %%zmm30, %%zmm30, %%zmm30\n\t"
      "vpternlogd $0xff, %%zmm31, %%zmm31, %%zmm31\n\t"
      "1:\n\t"
      "vpdpbusd %%zmm31, %%zmm30, %%zmm0\n\t"
      "vpdpbusd %%zmm31, %%zmm30, %%zmm1\n\t"
      "vpdpbusd %%zmm31, %%zmm30, %%zmm2\n\t"
      "vpdpbusd %%zmm31, %%zmm30, %%zmm3\n\t"
      "vpdpbusd %%zmm31, %%zmm30, %%zmm4\n\t"
      "vpdpbusd %%zmm31, %%zmm30, %%zmm5\n\t"
      "vpdpbusd %%zmm31, %%zmm30, %%zmm6\n\t"
      "vpdpbusd %%zmm31, %%zmm30, %%zmm7\n\t"
      "vpdpbusd %%zmm31, %%zmm30, %%zmm8\n\t"
      "vpdpbusd %%zmm31, %%zmm30, %%zmm9\n\t"
      "vpdpbusd %%zmm31, %%zmm30, %%zmm10\n\t"
      "vpdpbusd %%zmm31, %%zmm30, %%zmm11\n\t"
      "vpdpbusd %%zmm31, %%zmm30, %%zmm12\n\t"
      "vpdpbusd %%zmm31, %%zmm30, %%zmm13\n\t"
      "vpdpbusd %%zmm31, %%zmm30, %%zmm14\n\t"
      "vpdpbusd %%zmm31, %%zmm30, %%zmm15\n\t"
      "vpdpbusd %%zmm31, %%zmm30, %%zmm16\n\t"
      "vpdpbusd %%zmm31, %%zmm30, %%zmm17\n\t"
      "vpdpbusd %%zmm31, %%zmm30, %%zmm18\n\t"
      "vpdpbusd %%zmm31, %%zmm30, %%zmm19\n\t"
      "vpdpbusd %%zmm31, %%zmm30, %%zmm20\n\t"
      "vpdpbusd %%zmm31, %%zmm30, %%zmm21\n\t"
      "vpdpbusd %%zmm31, %%zmm30, %%zmm22\n\t"
      "vpdpbusd %%zmm31, %%zmm30, %%zmm23\n\t"
      "dec %0\n\t"
      "jnz 1b\n\t"
      "vzeroupper\n\t"
      : "+r"(n)
      :
      : "cc", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9",
        "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15", "xmm16", "xmm17", "xmm18", "xmm19",
        "xmm20", "xmm21", "xmm22", "xmm23", "xmm30", "xmm31");
  return iterations * 24 * 64 * 2;
}
