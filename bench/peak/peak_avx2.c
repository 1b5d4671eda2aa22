/* Peak of the avx2 ISA: vpmaddwd ymm (16 int16 multiply-adds into 8 int32 pairs) followed by the
 * vpaddd that accumulates it, 8 independent chains. Compiled with -mavx2. */
#include "peak.h"

uint64_t qk_bench_peak_avx2(uint64_t iterations) {
  if (iterations == 0) return 0;
  uint64_t n = iterations;
  __asm__ volatile(
      "vpxor %%xmm0, %%xmm0, %%xmm0\n\t"
      "vpxor %%xmm1, %%xmm1, %%xmm1\n\t"
      "vpxor %%xmm2, %%xmm2, %%xmm2\n\t"
      "vpxor %%xmm3, %%xmm3, %%xmm3\n\t"
      "vpxor %%xmm4, %%xmm4, %%xmm4\n\t"
      "vpxor %%xmm5, %%xmm5, %%xmm5\n\t"
      "vpxor %%xmm6, %%xmm6, %%xmm6\n\t"
      "vpxor %%xmm7, %%xmm7, %%xmm7\n\t"
      "vpcmpeqd %%ymm14, %%ymm14, %%ymm14\n\t"
      "vpcmpeqd %%ymm15, %%ymm15, %%ymm15\n\t"
      "1:\n\t"
      "vpmaddwd %%ymm14, %%ymm15, %%ymm8\n\t"
      "vpmaddwd %%ymm14, %%ymm15, %%ymm9\n\t"
      "vpmaddwd %%ymm14, %%ymm15, %%ymm10\n\t"
      "vpmaddwd %%ymm14, %%ymm15, %%ymm11\n\t"
      "vpaddd %%ymm8, %%ymm0, %%ymm0\n\t"
      "vpaddd %%ymm9, %%ymm1, %%ymm1\n\t"
      "vpaddd %%ymm10, %%ymm2, %%ymm2\n\t"
      "vpaddd %%ymm11, %%ymm3, %%ymm3\n\t"
      "vpmaddwd %%ymm14, %%ymm15, %%ymm12\n\t"
      "vpmaddwd %%ymm14, %%ymm15, %%ymm13\n\t"
      "vpmaddwd %%ymm14, %%ymm15, %%ymm8\n\t"
      "vpmaddwd %%ymm14, %%ymm15, %%ymm9\n\t"
      "vpaddd %%ymm12, %%ymm4, %%ymm4\n\t"
      "vpaddd %%ymm13, %%ymm5, %%ymm5\n\t"
      "vpaddd %%ymm8, %%ymm6, %%ymm6\n\t"
      "vpaddd %%ymm9, %%ymm7, %%ymm7\n\t"
      "dec %0\n\t"
      "jnz 1b\n\t"
      "vzeroupper\n\t"
      : "+r"(n)
      :
      : "cc", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9",
        "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15");
  return iterations * 8 * 16 * 2;
}
