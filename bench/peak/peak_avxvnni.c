/* Peak of the avxvnni ISA: VEX-encoded vpdpbusd ymm (32 u8 x s8 multiply-adds into 8 int32),
 * 14 independent accumulators. Compiled with -mavxvnni; run only when the CPU has AVX-VNNI. */
#include "peak.h"

uint64_t qk_bench_peak_avxvnni(uint64_t iterations) {
  if (iterations == 0) return 0;
  uint64_t n = iterations;
  __asm__ volatile(
      "vpcmpeqd %%ymm14, %%ymm14, %%ymm14\n\t"
      "vpcmpeqd %%ymm15, %%ymm15, %%ymm15\n\t"
      "1:\n\t"
      "%{vex%} vpdpbusd %%ymm15, %%ymm14, %%ymm0\n\t"
      "%{vex%} vpdpbusd %%ymm15, %%ymm14, %%ymm1\n\t"
      "%{vex%} vpdpbusd %%ymm15, %%ymm14, %%ymm2\n\t"
      "%{vex%} vpdpbusd %%ymm15, %%ymm14, %%ymm3\n\t"
      "%{vex%} vpdpbusd %%ymm15, %%ymm14, %%ymm4\n\t"
      "%{vex%} vpdpbusd %%ymm15, %%ymm14, %%ymm5\n\t"
      "%{vex%} vpdpbusd %%ymm15, %%ymm14, %%ymm6\n\t"
      "%{vex%} vpdpbusd %%ymm15, %%ymm14, %%ymm7\n\t"
      "%{vex%} vpdpbusd %%ymm15, %%ymm14, %%ymm8\n\t"
      "%{vex%} vpdpbusd %%ymm15, %%ymm14, %%ymm9\n\t"
      "%{vex%} vpdpbusd %%ymm15, %%ymm14, %%ymm10\n\t"
      "%{vex%} vpdpbusd %%ymm15, %%ymm14, %%ymm11\n\t"
      "%{vex%} vpdpbusd %%ymm15, %%ymm14, %%ymm12\n\t"
      "%{vex%} vpdpbusd %%ymm15, %%ymm14, %%ymm13\n\t"
      "dec %0\n\t"
      "jnz 1b\n\t"
      "vzeroupper\n\t"
      : "+r"(n)
      :
      : "cc", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9",
        "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15");
  return iterations * 14 * 32 * 2;
}
