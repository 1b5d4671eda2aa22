/* ISA dispatch: one table of microkernels per ISA, one place that decides which table new
 * operators use. Operators copy the pointer at create and never look again, so an operator keeps
 * its ISA (and its weight packing) for life. */
#ifndef QK_ARCH_DISPATCH_H
#define QK_ARCH_DISPATCH_H

#include <stdbool.h>

#include "arch/ukernel.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum qk_isa_id {
  QK_ISA_GENERIC = 0,
  QK_ISA_AVX2,
  QK_ISA_AVXVNNI,
  QK_ISA_AVX512VNNI,
  QK_ISA_NEON,
  QK_ISA_NEONDOT,
  QK_ISA_I8MM,
  QK_ISA_COUNT
} qk_isa_id;

typedef struct qk_isa_config {
  qk_isa_id id;
  const char* name;           /* "generic", "avx512vnni", ... (the QK_ISA spelling) */
  uint32_t required_features; /* QK_CPU_* bits (arch/cpu.h) */
  qk_gemm_config gemm;
  /* The same GEMM with FBGEMM's int16 saturation of K pairs (the pytorch-fbgemm modes' rule,
   * arch/generic/qk_gemm_u8s8_sat16_4x8c4__generic.c), as fast as this ISA does it. */
  qk_gemm_config gemm_sat16;
  qk_requant_config requant[QK_REQUANT_KIND_COUNT];
  qk_im2col_fn im2col;
  qk_dwconv_config dwconv;
  /* Tiling of the conv2d loop nest, chosen per ISA by measurement (docs/design.md):
   * im2col_tile_bytes: budget of one im2col tile (output pixels x K bytes), kept in L2;
   * max_tile_pixels:   cap on the pixels of a tile whatever the budget allows;
   * weight_block_bytes: packed weight bytes (as the ISA packs them) of one N block, re-read for
   *                     every MR rows of a tile. */
  size_t im2col_tile_bytes, max_tile_pixels, weight_block_bytes;

  /* ---- linear (kernels/linear.c) ---- */
  /* (no slots: qk_linear runs as a 1x1 conv2d on gemm / gemm_sat16 / requant above) */

  /* ---- add / mul (kernels/eltwise.c) ---- */
  qk_eltwise_config eltwise[QK_ELTWISE_KIND_COUNT]; /* arch/ukernel.h */

  /* ---- pooling (kernels/pool.c) ---- */
  qk_pool_config pool;

  /* ---- activations, requantize, cat, channel shuffle (kernels/activation.c, kernels/cat.c) ---- */
  qk_lut_config lut;         /* unary ops, requantize, cat (arch/ukernel.h) */
  qk_shuffle_config shuffle; /* channel shuffle */

} qk_isa_config;

/* The tables, one per ISA folder (arch/x86/<isa>/config.c, arch/arm/<isa>/config.c), compiled in
 * when CMake defines QK_HAVE_<ISA>. */
QK_INTERNAL extern const qk_isa_config qk_isa_config_generic;
QK_INTERNAL extern const qk_isa_config qk_isa_config_avx2;
QK_INTERNAL extern const qk_isa_config qk_isa_config_avxvnni;
QK_INTERNAL extern const qk_isa_config qk_isa_config_avx512vnni;
QK_INTERNAL extern const qk_isa_config qk_isa_config_neon;
QK_INTERNAL extern const qk_isa_config qk_isa_config_neondot;
QK_INTERNAL extern const qk_isa_config qk_isa_config_i8mm;

/* The ISA new operators use, or NULL when QK_ISA named one that cannot be used; *error (when
 * error is not NULL) then points at the message. Thread-safe. */
QK_INTERNAL const qk_isa_config* qk_isa_current(const char** error);
/* Why the current ISA was chosen ("best ISA this CPU supports", "QK_ISA=avx2"...), or the error. */
QK_INTERNAL const char* qk_isa_selection_reason(void);
/* Makes the named ISA (NULL or "": the best supported) the one new operators use. false, with the
 * reason in error, when it is unknown, not compiled in or not runnable on this CPU. */
QK_INTERNAL bool qk_isa_select(const char* name, char* error, size_t error_size);
/* Every ISA table compiled into this library, generic first; *count receives their number. */
QK_INTERNAL const qk_isa_config* const* qk_isa_compiled(size_t* count);
/* Space-separated names of the compiled tables, generic first. */
QK_INTERNAL const char* qk_isa_compiled_list(void);
/* Table of the named ISA if compiled in and runnable on this CPU, else NULL. */
QK_INTERNAL const qk_isa_config* qk_isa_find_supported(const char* name);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* QK_ARCH_DISPATCH_H */
