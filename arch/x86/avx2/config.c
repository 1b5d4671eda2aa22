/* The avx2 table: Haswell, Broadwell, Skylake (client and SP), Zen 1-3 — the x86-64 CPUs with
 * AVX2 but no VNNI. Exact u8 x s8 products via int16 vpmaddwd (qk_gemm_u8s8_5x16c2__avx2).
 *
 * GEMM tile 5x16c2 with A widened to int16 once per call: measured on Zen 4 (1 thread, thread CPU
 * time, best of 7) against 3x8c8 with in-loop vpmovzxbw (the XNNPACK AVX2 scheme, 141 GOPS geomean
 * over the ResNet-18 / MobileNetV2 GEMM shapes + 1024^3) and 4x16 / 6x16 / 8x8 / 3x16 / 2x32 /
 * 3x24 c2 (162 / 161 / 149 / 159 / 156 / 159): 5x16 163, at the vpmaddwd + vpaddd throughput
 * this core sustains in a register-only loop. KC = 512 (the widening chunk) was best of 256..4096.
 *
 * Tiling: on Zen 4 (1 MiB L2) the conv layers move by less than the noise (+-5 %) over
 * im2col_tile_bytes 32..256 KiB and weight_block_bytes 32..512 KiB; only a pixel cap of 128 hurt
 * (1x1 layers, -10 %: more calls per output). The values are chosen for the small-L2 parts this
 * table serves (256 KiB on Haswell..Skylake client): 128 KiB of packed (int16) weights per N
 * block stay in a 256 KiB L2 next to a 64 KiB im2col tile.
 *
 * im2col: 1.6x (1x1 stride 2) to 5.9x (7x7 stem, C = 3) the generic one on the ResNet / MobileNet
 * layers. Depthwise: the kernel alone 39 GOPS vs 3.6 for the generic c16 one (MobileNetV2 3x3). */
#include "arch/cpu.h"
#include "arch/dispatch.h"
#include "arch/generic/generic.h"
#include "arch/x86/avx2/avx2.h"

QK_INTERNAL const qk_isa_config qk_isa_config_avx2 = {
    .id = QK_ISA_AVX2,
    .name = "avx2",
    .required_features = QK_CPU_AVX2,
    .gemm = {qk_gemm_u8s8_5x16c2__avx2, "qk_gemm_u8s8_5x16c2__avx2", 5, 16, 2,
             qk_packed_block_size_c2_i16__avx2, qk_pack_gemm_c2_i16__avx2},
    .gemm_sat16 = {qk_gemm_u8s8_sat16_4x16c4__avx2, "qk_gemm_u8s8_sat16_4x16c4__avx2", 4, 16, 4,
                   qk_packed_block_size__generic, qk_pack_gemm__generic},
    .requant =
        {
            [QK_REQUANT_FP32_CVT] = {qk_requant_fp32_cvt__avx2, "qk_requant_fp32_cvt__avx2"},
            [QK_REQUANT_FP32_SAT] = {qk_requant_fp32_sat__avx2, "qk_requant_fp32_sat__avx2"},
            [QK_REQUANT_FP32_FZP] = {qk_requant_fp32_fzp__avx2, "qk_requant_fp32_fzp__avx2"},
            [QK_REQUANT_GEMMLOWP] = {qk_requant_gemmlowp__avx2, "qk_requant_gemmlowp__avx2"},
            [QK_REQUANT_FP32_CVT_FMA] = {qk_requant_fp32_cvt_fma__avx2,
                                         "qk_requant_fp32_cvt_fma__avx2"},
            [QK_REQUANT_FP32_SBFZP] = {qk_requant_fp32_sbfzp__avx2, "qk_requant_fp32_sbfzp__avx2"},
        },
    .im2col = qk_im2col_u8__avx2,
    .dwconv = {qk_dwconv_u8s8_c16__avx2, "qk_dwconv_u8s8_c16__avx2", 16,
               qk_packed_dwconv_size__generic, qk_pack_dwconv__generic},
    .im2col_tile_bytes = 64 * 1024,
    .max_tile_pixels = 512,
    .weight_block_bytes = 128 * 1024, /* packed bytes (int16 weights), see above */

    /* ---- linear (kernels/linear.c) ---- */

    /* ---- add / mul (kernels/eltwise.c) ---- */
    .eltwise =
        {
            [QK_ELTWISE_ADD_FP32_FMA] = {qk_vadd_fp32_fma_x8__avx2, "qk_vadd_fp32_fma_x8__avx2"},
            [QK_ELTWISE_ADD_FP32] = {qk_vadd_fp32_x8__avx2, "qk_vadd_fp32_x8__avx2"},
            [QK_ELTWISE_ADD_QNNPACK] = {qk_vadd_qnnpack_u8__avx2, "qk_vadd_qnnpack_u8__avx2"},
            [QK_ELTWISE_ADD_XNNPACK] = {qk_vadd_xnnpack_s8__avx2, "qk_vadd_xnnpack_s8__avx2"},
            [QK_ELTWISE_MUL_FP32] = {qk_vmul_fp32_x8__avx2, "qk_vmul_fp32_x8__avx2"},
            /* TFLite's reference ADD / MUL (from source): the generic kernels on every ISA */
            [QK_ELTWISE_ADD_GEMMLOWP] = {qk_vadd_gemmlowp_x8__generic,
                                         "qk_vadd_gemmlowp_x8__generic"},
            [QK_ELTWISE_MUL_GEMMLOWP] = {qk_vmul_gemmlowp_x8__generic,
                                         "qk_vmul_gemmlowp_x8__generic"},
        },

    /* ---- pooling (kernels/pool.c) ---- */
    .pool = {qk_maxpool_x8_c32__avx2, "qk_maxpool_x8_c32__avx2", qk_avgpool_x8_c32__avx2,
             "qk_avgpool_x8_c32__avx2",
             qk_avgpool_div_x8_c1__generic, "qk_avgpool_div_x8_c1__generic"},

    /* ---- activations, requantize, cat, channel shuffle (kernels/activation.c, kernels/cat.c) ---- */
    .lut = {qk_lut_u8__avx2, "qk_lut_u8__avx2"},
    .shuffle = {qk_shuffle_u8__generic, "qk_shuffle_u8__generic"},

};
