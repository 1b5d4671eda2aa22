/* The generic table: portable C, the specification (every SIMD kernel is tested against these
 * kernels bit for bit) and the ISA of any CPU. Tiling: the budgets of a big core (64 KiB im2col
 * tile, 256 KiB of packed weights per N block); speed is not this table's purpose. */
#include "arch/dispatch.h"
#include "arch/generic/generic.h"

QK_INTERNAL const qk_isa_config qk_isa_config_generic = {
    .id = QK_ISA_GENERIC,
    .name = "generic",
    .required_features = 0,
    .gemm = {qk_gemm_u8s8_4x8c4__generic, "qk_gemm_u8s8_4x8c4__generic", 4, 8, 4,
             qk_packed_block_size__generic, qk_pack_gemm__generic},
    .gemm_sat16 = {qk_gemm_u8s8_sat16_4x8c4__generic, "qk_gemm_u8s8_sat16_4x8c4__generic", 4, 8, 4,
                   qk_packed_block_size__generic, qk_pack_gemm__generic},
    .requant =
        {
            [QK_REQUANT_FP32_CVT] = {qk_requant_fp32_cvt__generic, "qk_requant_fp32_cvt__generic"},
            [QK_REQUANT_FP32_SAT] = {qk_requant_fp32_sat__generic, "qk_requant_fp32_sat__generic"},
            [QK_REQUANT_FP32_FZP] = {qk_requant_fp32_fzp__generic, "qk_requant_fp32_fzp__generic"},
            [QK_REQUANT_GEMMLOWP] = {qk_requant_gemmlowp__generic, "qk_requant_gemmlowp__generic"},
            [QK_REQUANT_FP32_CVT_FMA] = {qk_requant_fp32_cvt_fma__generic,
                                         "qk_requant_fp32_cvt_fma__generic"},
            [QK_REQUANT_FP32_SBFZP] = {qk_requant_fp32_sbfzp__generic,
                                       "qk_requant_fp32_sbfzp__generic"},
        },
    .im2col = qk_im2col_u8__generic,
    .dwconv = {qk_dwconv_u8s8_c16__generic, "qk_dwconv_u8s8_c16__generic", 16,
               qk_packed_dwconv_size__generic, qk_pack_dwconv__generic},
    .im2col_tile_bytes = 64 * 1024,
    .max_tile_pixels = 512,
    .weight_block_bytes = 256 * 1024,

    /* ---- linear (kernels/linear.c) ---- */

    /* ---- add / mul (kernels/eltwise.c) ---- */
    .eltwise =
        {
            [QK_ELTWISE_ADD_FP32_FMA] = {qk_vadd_fp32_fma_x8__generic,
                                         "qk_vadd_fp32_fma_x8__generic"},
            [QK_ELTWISE_ADD_FP32] = {qk_vadd_fp32_x8__generic, "qk_vadd_fp32_x8__generic"},
            [QK_ELTWISE_ADD_QNNPACK] = {qk_vadd_qnnpack_u8__generic, "qk_vadd_qnnpack_u8__generic"},
            [QK_ELTWISE_ADD_XNNPACK] = {qk_vadd_xnnpack_s8__generic, "qk_vadd_xnnpack_s8__generic"},
            [QK_ELTWISE_MUL_FP32] = {qk_vmul_fp32_x8__generic, "qk_vmul_fp32_x8__generic"},
            /* TFLite's reference ADD / MUL (from source): the generic kernels on every ISA */
            [QK_ELTWISE_ADD_GEMMLOWP] = {qk_vadd_gemmlowp_x8__generic,
                                         "qk_vadd_gemmlowp_x8__generic"},
            [QK_ELTWISE_MUL_GEMMLOWP] = {qk_vmul_gemmlowp_x8__generic,
                                         "qk_vmul_gemmlowp_x8__generic"},
        },

    /* ---- pooling (kernels/pool.c) ---- */
    .pool = {qk_maxpool_x8_c1__generic, "qk_maxpool_x8_c1__generic", qk_avgpool_x8_c1__generic,
             "qk_avgpool_x8_c1__generic",
             qk_avgpool_div_x8_c1__generic, "qk_avgpool_div_x8_c1__generic"},

    /* ---- activations, requantize, cat, channel shuffle (kernels/activation.c, kernels/cat.c) ---- */
    .lut = {qk_lut_u8__generic, "qk_lut_u8__generic"},
    .shuffle = {qk_shuffle_u8__generic, "qk_shuffle_u8__generic"},

};
