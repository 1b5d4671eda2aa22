/* Register-only loops of each ISA's int8 dot-product instruction, to measure the peak the GEMM
 * microkernels are compared with (the %peak counter). Each function runs `iterations` rounds of
 * independent accumulations held in registers (no memory traffic) and returns the number of
 * operations done (2 per multiply-add). Each file is compiled with its ISA's flags only
 * (bench/CMakeLists.txt); the caller runs only what the CPU supports. */
#ifndef QK_BENCH_PEAK_H
#define QK_BENCH_PEAK_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* 8 independent int32 chains acc += x * y (imul + add), values hidden from the compiler. */
uint64_t qk_bench_peak_generic(uint64_t iterations);
#if defined(__x86_64__)
/* 8 x (vpmaddwd ymm + vpaddd ymm): 16 int16 multiply-adds each. */
uint64_t qk_bench_peak_avx2(uint64_t iterations);
/* 16 x {vex} vpdpbusd ymm: 32 u8 x s8 multiply-adds each. */
uint64_t qk_bench_peak_avxvnni(uint64_t iterations);
/* 24 x vpdpbusd zmm: 64 u8 x s8 multiply-adds each. */
uint64_t qk_bench_peak_avx512vnni(uint64_t iterations);
#elif defined(__aarch64__)
/* 16 x smlal/smlal2 (4 int16 multiply-adds each). */
uint64_t qk_bench_peak_neon(uint64_t iterations);
/* 16 x sdot .4s (16 int8 multiply-adds each). */
uint64_t qk_bench_peak_neondot(uint64_t iterations);
/* 16 x usmmla (32 u8 x s8 multiply-adds each). */
uint64_t qk_bench_peak_i8mm(uint64_t iterations);
#endif

#ifdef __cplusplus
}
#endif

#endif
