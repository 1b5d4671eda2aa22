/* CPU feature detection: cpuinfo, supplemented where Debian's 2022 cpuinfo is too old (AVX-VNNI,
 * AMX, ARM i8mm). Detection runs once; the result is immutable afterwards. */
#ifndef QK_ARCH_CPU_H
#define QK_ARCH_CPU_H

#include <stdint.h>

#include "arch/common.h"

#ifdef __cplusplus
extern "C" {
#endif

enum {
  QK_CPU_AVX2 = 1u << 0,       /* AVX2 + FMA state enabled by the OS */
  QK_CPU_AVXVNNI = 1u << 1,    /* VEX vpdpbusd on ymm (cpuid 7.1 EAX bit 4) */
  QK_CPU_AVX512VNNI = 1u << 2, /* AVX512 F + BW + VL + VNNI */
  QK_CPU_AMX_INT8 = 1u << 3,   /* reported only: no AMX kernel yet */
  QK_CPU_NEON = 1u << 8,
  QK_CPU_NEONDOT = 1u << 9, /* sdot / udot */
  QK_CPU_I8MM = 1u << 10,   /* smmla / usmmla / usdot (AT_HWCAP2 HWCAP2_I8MM) */
};

typedef struct qk_cpu_info {
  uint32_t features;
  char name[128];         /* "AMD EPYC 9B14", "unknown" */
  char feature_list[256]; /* "avx2 avx512vnni ..." */
  bool cpuinfo_ok;
} qk_cpu_info;

/* Detected once (thread-safe); never NULL. */
QK_INTERNAL const qk_cpu_info* qk_cpu_detect(void);
/* The detection itself, for tests: with use_cpuinfo false (as when cpuinfo_initialize fails),
 * the features come from cpuid / hwcaps and must be the same. use_cpuinfo needs a successful
 * cpuinfo_initialize(). */
QK_INTERNAL void qk_cpu_detect_into(qk_cpu_info* info, bool use_cpuinfo);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* QK_ARCH_CPU_H */
