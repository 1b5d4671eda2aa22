/* ISA selection: detect once, honour QK_ISA, let qk_isa_select change the choice for new
 * operators. An ISA that cannot run is an error with a message, never a silent fallback. The
 * tables themselves live in their ISA folders (arch/generic/config.c, arch/x86/<isa>/config.c...);
 * the public API over this file is kernels/isa.c. */
#include "arch/dispatch.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arch/cpu.h"

/* Compiled-in tables, worst to best: the default is the last one the CPU can run. */
static const qk_isa_config* const k_compiled[] = {
    &qk_isa_config_generic,
#ifdef QK_HAVE_AVX2
    &qk_isa_config_avx2,
#endif
#ifdef QK_HAVE_AVXVNNI
    &qk_isa_config_avxvnni,
#endif
#ifdef QK_HAVE_AVX512VNNI
    &qk_isa_config_avx512vnni,
#endif
#ifdef QK_HAVE_NEON
    &qk_isa_config_neon,
#endif
#ifdef QK_HAVE_NEONDOT
    &qk_isa_config_neondot,
#endif
#ifdef QK_HAVE_I8MM
    &qk_isa_config_i8mm,
#endif
};
static const size_t k_compiled_count = sizeof(k_compiled) / sizeof(k_compiled[0]);

/* Every name QK_ISA accepts, compiled in or not, so a typo and a missing ISA read differently. */
static const char* const k_known_names[QK_ISA_COUNT] = {
    "generic", "avx2", "avxvnni", "avx512vnni", "neon", "neondot", "i8mm"};

/* ---- the selection: an immutable record swapped atomically ---- */
typedef struct selection {
  const qk_isa_config* isa; /* NULL: unusable QK_ISA, see error */
  char reason[128]; /* "best ISA this CPU supports", "QK_ISA=avx2", "qk_set_isa(\"avx2\")" */
  char error[600];
} selection;

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static selection env_selection;                                  /* written once, inside init */
static selection best_selection, setter_selection[QK_ISA_COUNT]; /* written once, inside init */
static _Atomic(const selection*) current;

static const qk_isa_config* best_supported(void) {
  const uint32_t features = qk_cpu_detect()->features;
  const qk_isa_config* best = k_compiled[0];
  for (size_t i = 0; i < k_compiled_count; i++) {
    const uint32_t need = k_compiled[i]->required_features;
    if ((features & need) == need) best = k_compiled[i];
  }
  return best;
}

static bool is_known_name(const char* name) {
  for (size_t i = 0; i < QK_ISA_COUNT; i++) {
    if (strcmp(k_known_names[i], name) == 0) return true;
  }
  return false;
}

static const qk_isa_config* find_compiled(const char* name) {
  for (size_t i = 0; i < k_compiled_count; i++) {
    if (strcmp(k_compiled[i]->name, name) == 0) return k_compiled[i];
  }
  return NULL;
}

/* Looks the name up; on failure writes why into error (if given) and returns NULL. */
static const qk_isa_config* resolve(const char* name, char* error, size_t error_size) {
  const qk_isa_config* isa = find_compiled(name);
  const qk_cpu_info* cpu = qk_cpu_detect();
  if (isa != NULL && (cpu->features & isa->required_features) == isa->required_features) {
    return isa;
  }
  if (error == NULL) return NULL;
  if (isa != NULL) {
    snprintf(error, error_size,
             "ISA '%.40s' is compiled in but this CPU (%s; features: %s) cannot "
             "run it",
             name, cpu->name, cpu->feature_list[0] ? cpu->feature_list : "none");
  } else if (is_known_name(name)) {
    snprintf(error, error_size, "ISA '%.40s' is not compiled into this build of qk (compiled: %s)",
             name, qk_isa_compiled_list());
  } else {
    snprintf(error, error_size,
             "unknown ISA '%.40s' (known: generic avx2 avxvnni avx512vnni neon "
             "neondot i8mm)",
             name);
  }
  return NULL;
}

/* The reason recorded for the default choice: says so when cpuinfo could not be used. */
static void best_reason(const qk_cpu_info* cpu, char* reason, size_t size) {
  snprintf(reason, size, "best ISA this CPU supports%s",
           cpu->cpuinfo_ok ? "" : " (cpuinfo failed; features read from the CPU directly)");
}

static void init(void) {
  best_selection.isa = best_supported();
  best_reason(qk_cpu_detect(), best_selection.reason, sizeof(best_selection.reason));
  for (size_t i = 0; i < k_compiled_count; i++) {
    setter_selection[k_compiled[i]->id].isa = k_compiled[i];
    snprintf(setter_selection[k_compiled[i]->id].reason, sizeof(best_selection.reason),
             "qk_set_isa(\"%s\")", k_compiled[i]->name);
  }
  const char* env = getenv("QK_ISA");
  if (env == NULL || env[0] == '\0') {
    atomic_store(&current, &best_selection);
    return;
  }
  char error[512];
  env_selection.isa = resolve(env, error, sizeof(error));
  snprintf(env_selection.reason, sizeof(env_selection.reason), "QK_ISA=%.40s", env);
  if (env_selection.isa == NULL) {
    snprintf(env_selection.error, sizeof(env_selection.error), "QK_ISA=%.40s: %s", env, error);
  }
  atomic_store(&current, &env_selection);
}

static const selection* current_selection(void) {
  pthread_once(&init_once, init);
  return atomic_load(&current);
}

const qk_isa_config* qk_isa_current(const char** error) {
  const selection* s = current_selection();
  if (s->isa == NULL && error != NULL) *error = s->error;
  return s->isa;
}

const char* qk_isa_selection_reason(void) {
  const selection* s = current_selection();
  return s->isa ? s->reason : s->error;
}

bool qk_isa_select(const char* name, char* error, size_t error_size) {
  current_selection();
  if (name == NULL || name[0] == '\0') {
    atomic_store(&current, &best_selection);
    return true;
  }
  const qk_isa_config* isa = resolve(name, error, error_size);
  if (isa == NULL) return false;
  atomic_store(&current, &setter_selection[isa->id]);
  return true;
}

const qk_isa_config* const* qk_isa_compiled(size_t* count) {
  *count = k_compiled_count;
  return k_compiled;
}

const qk_isa_config* qk_isa_find_supported(const char* name) {
  return name ? resolve(name, NULL, 0) : NULL;
}

static char compiled_list[96];
static pthread_once_t compiled_list_once = PTHREAD_ONCE_INIT;

static void build_compiled_list(void) {
  for (size_t i = 0; i < k_compiled_count; i++) {
    const size_t len = strlen(compiled_list);
    snprintf(compiled_list + len, sizeof(compiled_list) - len, "%s%s", len ? " " : "",
             k_compiled[i]->name);
  }
}

const char* qk_isa_compiled_list(void) {
  pthread_once(&compiled_list_once, build_compiled_list);
  return compiled_list;
}
