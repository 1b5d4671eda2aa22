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

/* What cpuinfo answers for AVX2 + FMA and AVX512 F/BW/VL/VNNI, read from cpuid and XCR0 directly:
 * used when cpuinfo cannot initialize (it allocates), so that a failure of cpuinfo never quietly
 * demotes qk to generic. Also reports the AVX-512 flags for the feature list. */
typedef struct x86_flags {
  bool avx2_fma, avx512f, avx512bw, avx512vl, avx512vnni;
} x86_flags;

static x86_flags read_x86_flags_cpuid(void) {
  x86_flags f = {false, false, false, false, false};
  uint32_t eax, ebx, ecx, edx;
  if (__get_cpuid_max(0, NULL) < 7) return f;
  const uint64_t xcr0 = read_xcr0();
  const bool ymm_state = (xcr0 & 0x6) == 0x6;
  const bool zmm_state = ymm_state && (xcr0 & 0xE0) == 0xE0; /* opmask, ZMM_Hi256, Hi16_ZMM */
  __cpuid(1, eax, ebx, ecx, edx);
  const bool fma = (ecx & (1u << 12)) != 0;
  __cpuid_count(7, 0, eax, ebx, ecx, edx);
  f.avx2_fma = ymm_state && fma && (ebx & (1u << 5));
  f.avx512f = zmm_state && (ebx & (1u << 16));
  f.avx512bw = zmm_state && (ebx & (1u << 30));
  f.avx512vl = zmm_state && (ebx & (1u << 31));
  f.avx512vnni = zmm_state && (ecx & (1u << 11));
  return f;
}

static x86_flags read_x86_flags_cpuinfo(void) {
  x86_flags f;
  f.avx2_fma = cpuinfo_has_x86_avx2() && cpuinfo_has_x86_fma3();
  f.avx512f = cpuinfo_has_x86_avx512f();
  f.avx512bw = cpuinfo_has_x86_avx512bw();
  f.avx512vl = cpuinfo_has_x86_avx512vl();
  f.avx512vnni = cpuinfo_has_x86_avx512vnni();
  return f;
}
#endif

static void append(char* list, size_t size, const char* word) {
  const size_t len = strlen(list);
  snprintf(list + len, size - len, "%s%s", len ? " " : "", word);
}

void qk_cpu_detect_into(qk_cpu_info* info, bool use_cpuinfo) {
  memset(info, 0, sizeof(*info));
  info->cpuinfo_ok = use_cpuinfo;
  snprintf(info->name, sizeof(info->name), "unknown");
  if (info->cpuinfo_ok) {
    const struct cpuinfo_package* package = cpuinfo_get_package(0);
    if (package != NULL && package->name[0] != '\0' && strcmp(package->name, "Unknown") != 0) {
      snprintf(info->name, sizeof(info->name), "%s", package->name);
    }
  }
  char* list = info->feature_list;
  const size_t size = sizeof(info->feature_list);
#if defined(__x86_64__)
  const x86_flags f = info->cpuinfo_ok ? read_x86_flags_cpuinfo() : read_x86_flags_cpuid();
  if (f.avx2_fma) info->features |= QK_CPU_AVX2;
  if (f.avx512f && f.avx512bw && f.avx512vl && f.avx512vnni) info->features |= QK_CPU_AVX512VNNI;
  info->features |= detect_x86_supplement();
  /* The list names what the ISA choice depends on, in the order of the ISAs. */
  if (info->features & QK_CPU_AVX2) append(list, size, "avx2");
  if (info->features & QK_CPU_AVXVNNI) append(list, size, "avxvnni");
  if (f.avx512f) append(list, size, "avx512f");
  if (f.avx512bw) append(list, size, "avx512bw");
  if (f.avx512vl) append(list, size, "avx512vl");
  if (f.avx512vnni) append(list, size, "avx512vnni");
  if (info->features & QK_CPU_AMX_INT8) append(list, size, "amx-int8");
#elif defined(__aarch64__)
  if (info->cpuinfo_ok) {
    if (cpuinfo_has_arm_neon()) info->features |= QK_CPU_NEON;
    if (cpuinfo_has_arm_neon_dot()) info->features |= QK_CPU_NEONDOT;
  } else {
    /* cpuinfo fails where /sys is missing (containers, chroots); its NEON and dotprod answers
     * come from the same hwcaps, so read them directly. */
    if (getauxval(AT_HWCAP) & HWCAP_ASIMD) info->features |= QK_CPU_NEON;
    if (getauxval(AT_HWCAP) & HWCAP_ASIMDDP) info->features |= QK_CPU_NEONDOT;
  }
  /* cpuinfo 2022 has no i8mm query; the kernel's hwcaps are authoritative (also under qemu). */
  if (getauxval(AT_HWCAP2) & HWCAP2_I8MM) info->features |= QK_CPU_I8MM;
  if (info->features & QK_CPU_NEON) append(list, size, "neon");
  if (info->features & QK_CPU_NEONDOT) append(list, size, "dotprod");
  if (info->features & QK_CPU_I8MM) append(list, size, "i8mm");
#endif
  /* The feature list stays a plain list (scripts parse it); the name says what went wrong. */
  if (!info->cpuinfo_ok) {
#if defined(__aarch64__)
    snprintf(info->name, sizeof(info->name), "unknown (cpuinfo unavailable; features from hwcaps)");
#elif defined(__x86_64__)
    snprintf(info->name, sizeof(info->name), "unknown (cpuinfo failed; features from cpuid)");
#else
    snprintf(info->name, sizeof(info->name), "unknown (cpuinfo failed)");
#endif
  }
}

static void detect(void) {
#if defined(__aarch64__)
  /* cpuinfo's ARM Linux backend needs /sys/devices/system/cpu: without it (chroots, some
   * containers) it prints errors on stderr and fails. The hwcaps say the same about NEON and
   * dotprod, so skip it there and keep stderr for qk's own messages. */
  const bool ok = access("/sys/devices/system/cpu/possible", R_OK) == 0 && cpuinfo_initialize();
#else
  const bool ok = cpuinfo_initialize();
#endif
  qk_cpu_detect_into(&cpu, ok);
}

const qk_cpu_info* qk_cpu_detect(void) {
  pthread_once(&cpu_once, detect);
  return &cpu;
}
