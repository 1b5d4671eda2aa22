/* CPU detection with cpuinfo plus small architecture-specific supplements. */
#include "arch/cpu.h"

#include <cpuinfo.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#if defined(__x86_64__)
#include <cpuid.h>
#elif defined(__aarch64__)
#include <sys/auxv.h>
/* linux/arch/arm64/include/uapi/asm/hwcap.h */
#ifndef HWCAP_ASIMD
#define HWCAP_ASIMD (1UL << 1)
#endif
#ifndef HWCAP_ASIMDDP
#define HWCAP_ASIMDDP (1UL << 20)
#endif
#ifndef HWCAP2_I8MM
#define HWCAP2_I8MM (1UL << 13)
#endif
#endif

static pthread_once_t cpu_once = PTHREAD_ONCE_INIT;
static qk_cpu_info cpu;

#if defined(__x86_64__)
/* XCR0: which register states the OS saves on context switch. */
static uint64_t read_xcr0(void) {
  uint32_t eax, ebx, ecx, edx;
  __cpuid(1, eax, ebx, ecx, edx);
  if (!(ecx & (1u << 27))) return 0; /* no OSXSAVE: XGETBV is not available */
  uint32_t lo, hi;
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  return ((uint64_t)hi << 32) | lo;
}

/* cpuinfo 2022 predates AVX-VNNI (VEX) and AMX: read cpuid leaf 7 ourselves. */
static uint32_t detect_x86_supplement(void) {
  uint32_t features = 0, eax, ebx, ecx, edx;
  if (__get_cpuid_max(0, NULL) < 7) return 0;
  const uint64_t xcr0 = read_xcr0();
  const bool ymm_state = (xcr0 & 0x6) == 0x6;               /* SSE + AVX state */
  const bool amx_state = (xcr0 & (3u << 17)) == (3u << 17); /* XTILECFG + XTILEDATA */
  __cpuid_count(7, 1, eax, ebx, ecx, edx);
  if (ymm_state && (eax & (1u << 4))) features |= QK_CPU_AVXVNNI;
  __cpuid_count(7, 0, eax, ebx, ecx, edx);
  if (amx_state && (edx & (1u << 25))) features |= QK_CPU_AMX_INT8;
  return features;
}
#endif

static void append(char* list, size_t size, const char* word) {
  const size_t len = strlen(list);
  snprintf(list + len, size - len, "%s%s", len ? " " : "", word);
}

static void detect(void) {
#if defined(__aarch64__)
  /* cpuinfo's ARM Linux backend needs /sys/devices/system/cpu: without it (chroots, some
   * containers) it prints errors on stderr and fails. The hwcaps below say the same about NEON and
   * dotprod, so skip it there and keep stderr for qk's own messages. */
  cpu.cpuinfo_ok = access("/sys/devices/system/cpu/possible", R_OK) == 0 && cpuinfo_initialize();
#else
  cpu.cpuinfo_ok = cpuinfo_initialize();
#endif
  snprintf(cpu.name, sizeof(cpu.name), "unknown");
  if (cpu.cpuinfo_ok) {
    const struct cpuinfo_package* package = cpuinfo_get_package(0);
    if (package != NULL && package->name[0] != '\0' && strcmp(package->name, "Unknown") != 0) {
      snprintf(cpu.name, sizeof(cpu.name), "%s", package->name);
    }
  }
  char* list = cpu.feature_list;
  const size_t size = sizeof(cpu.feature_list);
#if defined(__x86_64__)
  if (cpu.cpuinfo_ok) {
    if (cpuinfo_has_x86_avx2() && cpuinfo_has_x86_fma3()) cpu.features |= QK_CPU_AVX2;
    if (cpuinfo_has_x86_avx512f() && cpuinfo_has_x86_avx512bw() && cpuinfo_has_x86_avx512vl() &&
        cpuinfo_has_x86_avx512vnni()) {
      cpu.features |= QK_CPU_AVX512VNNI;
    }
    cpu.features |= detect_x86_supplement();
    /* The list names what the ISA choice depends on, in the order of the ISAs. */
    if (cpu.features & QK_CPU_AVX2) append(list, size, "avx2");
    if (cpu.features & QK_CPU_AVXVNNI) append(list, size, "avxvnni");
    if (cpuinfo_has_x86_avx512f()) append(list, size, "avx512f");
    if (cpuinfo_has_x86_avx512bw()) append(list, size, "avx512bw");
    if (cpuinfo_has_x86_avx512vl()) append(list, size, "avx512vl");
    if (cpuinfo_has_x86_avx512vnni()) append(list, size, "avx512vnni");
    if (cpu.features & QK_CPU_AMX_INT8) append(list, size, "amx-int8");
  }
#elif defined(__aarch64__)
  if (cpu.cpuinfo_ok) {
    if (cpuinfo_has_arm_neon()) cpu.features |= QK_CPU_NEON;
    if (cpuinfo_has_arm_neon_dot()) cpu.features |= QK_CPU_NEONDOT;
  } else {
    /* cpuinfo fails where /sys is missing (containers, chroots); its NEON and dotprod answers
     * come from the same hwcaps, so read them directly. */
    if (getauxval(AT_HWCAP) & HWCAP_ASIMD) cpu.features |= QK_CPU_NEON;
    if (getauxval(AT_HWCAP) & HWCAP_ASIMDDP) cpu.features |= QK_CPU_NEONDOT;
  }
  /* cpuinfo 2022 has no i8mm query; the kernel's hwcaps are authoritative (also under qemu). */
  if (getauxval(AT_HWCAP2) & HWCAP2_I8MM) cpu.features |= QK_CPU_I8MM;
  if (cpu.features & QK_CPU_NEON) append(list, size, "neon");
  if (cpu.features & QK_CPU_NEONDOT) append(list, size, "dotprod");
  if (cpu.features & QK_CPU_I8MM) append(list, size, "i8mm");
#endif
  /* The feature list stays a plain list (scripts parse it); the name says what went wrong. */
  if (!cpu.cpuinfo_ok) {
#if defined(__aarch64__)
    snprintf(cpu.name, sizeof(cpu.name), "unknown (cpuinfo unavailable; features from hwcaps)");
#else
    snprintf(cpu.name, sizeof(cpu.name), "unknown (cpuinfo failed; only generic is used)");
#endif
  }
}

const qk_cpu_info* qk_cpu_detect(void) {
  pthread_once(&cpu_once, detect);
  return &cpu;
}

const char* qk_cpu_name(void) { return qk_cpu_detect()->name; }

const char* qk_cpu_features(void) { return qk_cpu_detect()->feature_list; }
