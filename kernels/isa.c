/* The public ISA-selection API (include/qk.h) over arch/dispatch.c and arch/cpu.c, which report
 * problems as messages and know nothing of qk_status or qk_last_error(). */
#include "arch/cpu.h"
#include "arch/dispatch.h"
#include "kernels/isa.h"

const char* qk_get_isa(void) {
  const char* error = NULL;
  const qk_isa_config* isa = qk_isa_current(&error);
  if (isa == NULL) {
    qk_fail(QK_ERROR_UNSUPPORTED_ISA, "%s", error);
    return NULL;
  }
  return isa->name;
}

const char* qk_isa_reason(void) { return qk_isa_selection_reason(); }

qk_status qk_set_isa(const char* name) {
  char error[512];
  if (!qk_isa_select(name, error, sizeof(error))) {
    return qk_fail(QK_ERROR_UNSUPPORTED_ISA, "qk_set_isa: %s", error);
  }
  return QK_SUCCESS;
}

int qk_isa_is_supported(const char* name) { return qk_isa_find_supported(name) != NULL; }

const char* qk_compiled_isas(void) { return qk_isa_compiled_list(); }

const char* qk_cpu_name(void) { return qk_cpu_detect()->name; }

const char* qk_cpu_features(void) { return qk_cpu_detect()->feature_list; }

const qk_isa_config* qk_operator_isa(const char* op) {
  const char* error = NULL;
  const qk_isa_config* isa = qk_isa_current(&error);
  if (isa == NULL) qk_fail(QK_ERROR_UNSUPPORTED_ISA, "%s: %s", op, error);
  return isa;
}
