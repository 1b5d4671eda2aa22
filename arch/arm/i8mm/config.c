/* The ARMv8.6 int8 matrix-multiply table (FEAT_I8MM: usmmla / smmla / usdot): Cortex-A510/A710/
 * X2 and later, Neoverse N2/V1/V2. Epilogues, depthwise and im2col are the baseline NEON ones. */
#include "arch/arm/neon/ukernels.h"
#include "arch/cpu.h"
#include "arch/dispatch.h"
#include "arch/generic/generic.h"

QK_INTERNAL const qk_isa_config qk_isa_config_i8mm = {
    .id = QK_ISA_I8MM,
    .name = "i8mm",
    /* Every i8mm core also has dotprod; requiring both keeps the ladder strictly ordered. */
    .required_features = QK_CPU_NEON | QK_CPU_NEONDOT | QK_CPU_I8MM,
    /* usmmla wants 8 k of two columns per register: the generic layout with KR = 8, u8 x s8
     * directly (no correction term). */
    .gemm = {qk_gemm_u8s8_4x16c8__i8mm, "qk_gemm_u8s8_4x16c8__i8mm", 4, 16, 8, qk_packed_block_size__generic,
             qk_pack_gemm__generic},
    /* NEON has no u8 x s8 pair instruction to emulate FBGEMM's saturation with: generic. */
    .gemm_sat16 = {qk_gemm_u8s8_sat16_4x8c4__generic, "qk_gemm_u8s8_sat16_4x8c4__generic", 4, 8, 4,
                   qk_packed_block_size__generic, qk_pack_gemm__generic},
    .requant =
        {
            [QK_REQUANT_FP32_CVT] = {qk_requant_fp32_cvt__neon, "qk_requant_fp32_cvt__neon"},
            [QK_REQUANT_FP32_SAT] = {qk_requant_fp32_sat__neon, "qk_requant_fp32_sat__neon"},
            [QK_REQUANT_FP32_FZP] = {qk_requant_fp32_fzp__neon, "qk_requant_fp32_fzp__neon"},
            [QK_REQUANT_GEMMLOWP] = {qk_requant_gemmlowp__neon, "qk_requant_gemmlowp__neon"},
            [QK_REQUANT_FP32_CVT_FMA] = {qk_requant_fp32_cvt_fma__neon,
                                         "qk_requant_fp32_cvt_fma__neon"},
            [QK_REQUANT_FP32_SBFZP] = {qk_requant_fp32_sbfzp__neon, "qk_requant_fp32_sbfzp__neon"},
        },
    .im2col = qk_im2col_u8__neon,
    .dwconv = {qk_dwconv_u8s8_c16__neon, "qk_dwconv_u8s8_c16__neon", 16,
               qk_packed_dwconv_size__generic, qk_pack_dwconv__generic},
    /* Not measured (docs/performance-arm.md): X2/A710/V1-class cores, 64 KiB L1D, 512 KiB-1 MiB
     * L2: the generic budget. */
    .im2col_tile_bytes = 64 * 1024,
    .max_tile_pixels = 512,
    .weight_block_bytes = 256 * 1024,

    /* ---- linear (kernels/linear.c) ---- */

    /* ---- add / mul (kernels/eltwise.c) ---- */
    .eltwise =
        {
            [QK_ELTWISE_ADD_FP32_FMA] = {qk_vadd_fp32_fma_x8__neon, "qk_vadd_fp32_fma_x8__neon"},
            [QK_ELTWISE_ADD_FP32] = {qk_vadd_fp32_x8__neon, "qk_vadd_fp32_x8__neon"},
            [QK_ELTWISE_ADD_QNNPACK] = {qk_vadd_qnnpack_u8__neon, "qk_vadd_qnnpack_u8__neon"},
            [QK_ELTWISE_ADD_XNNPACK] = {qk_vadd_xnnpack_s8__neon, "qk_vadd_xnnpack_s8__neon"},
            [QK_ELTWISE_MUL_FP32] = {qk_vmul_fp32_x8__neon, "qk_vmul_fp32_x8__neon"},
            /* TFLite's reference ADD / MUL (from source): the generic kernels on every ISA */
            [QK_ELTWISE_ADD_GEMMLOWP] = {qk_vadd_gemmlowp_x8__generic,
                                         "qk_vadd_gemmlowp_x8__generic"},
            [QK_ELTWISE_MUL_GEMMLOWP] = {qk_vmul_gemmlowp_x8__generic,
                                         "qk_vmul_gemmlowp_x8__generic"},
        },

    /* ---- pooling (kernels/pool.c) ---- */
    .pool = {qk_maxpool_x8_c16__neon, "qk_maxpool_x8_c16__neon", qk_avgpool_x8_c16__neon,
             "qk_avgpool_x8_c16__neon",
             qk_avgpool_div_x8_c1__generic, "qk_avgpool_div_x8_c1__generic"},

    /* ---- activations, requantize, cat, channel shuffle (kernels/activation.c, kernels/cat.c) ---- */
    .lut = {qk_lut_u8__neon, "qk_lut_u8__neon"},
    .shuffle = {qk_shuffle_u8__generic, "qk_shuffle_u8__generic"},

};
