/* The ISA table an operator captures at create (kernels/isa.c). */
#ifndef QK_KERNELS_ISA_H
#define QK_KERNELS_ISA_H

#include "arch/dispatch.h"
#include "kernels/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The table new operators use; NULL with qk_last_error() set ("<op>: QK_ISA=...: why") when
 * QK_ISA named an ISA that cannot be used. The caller returns QK_ERROR_UNSUPPORTED_ISA. */
QK_INTERNAL const qk_isa_config* qk_operator_isa(const char* op);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* QK_KERNELS_ISA_H */
