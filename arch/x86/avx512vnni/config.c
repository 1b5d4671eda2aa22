/* The avx512vnni table: EVEX vpdpbusd on zmm (Cascade Lake, Ice Lake, Sapphire Rapids, Zen 4+).
 *
 * GEMM tile 10 x 32 (20 zmm accumulators): measured on Zen 4 (EPYC, 1 zmm vpdpbusd per cycle,
 * 32 KiB L1d, 1 MiB L2) against 4x64, 6x64, 8x32, 8x48, 12x32, 14x32, 16x16 and 8x16, on the
 * bench/conv-shapes.tsv layers through the operator. 10x32 and 8x32 tie on the geometric mean
 * (358 vs 356 GOPS, median of 5, run-to-run spread 5-10 %); 10x32 is kept because 49-pixel
 * layers (ResNet-18 layer 4) split into 4 full tiles + 9 rows instead of 6 + 1. A 1024^3 GEMM
 * runs at 90-95 % of the register-only vpdpbusd peak (~458 GOPS per core). 12x32 / 14x32 lose
 * 2-4 % (GPR pressure, M tails), x64 tiles lose on the N = 24 / 144 layers (column padding),
 * 16x16 is load-bound (-17 %).
 *
 * Tile sizes: a sweep of im2col_tile_bytes 16K..256K x weight_block_bytes 64K..512K x
 * max_tile_pixels 512 / 2048 moved the geometric mean by less than the noise (+-1 % around
 * 361 GOPS). 32 KiB tiles were best on average (364.6 vs 358-362 for the others): the im2col
 * tile then stays in L1 next to the int32 tile while the packed weights stream from L2, which
 * 256 KiB weight blocks leave room for (tile + weights + acc < 1 MiB).
 *
 * Depthwise: qk_dwconv_u8s8_c64__avx512vnni (vpdpbusd on taps interleaved by fours, its own
 * packing). On Zen 4, MobileNetV2's 144-channel 3x3 layer (56x56, input 16 bytes off a cache
 * line as std::vector gives it): the kernel alone 128 GOPS vs 39 for the avx2 kernel this table
 * used before; through the operator 73 GOPS (stride 1) / 66 (stride 2) vs 30 / 31 before and
 * oneDNN avx512_core_vnni's 47 / 40 (qk-bench, medians of 15). */
#include "arch/cpu.h"
#include "arch/dispatch.h"
#include "arch/x86/avx512vnni/avx512vnni.h"
#include "arch/generic/generic.h"
/* The families with no AVX-512 kernel of their own take AVX2's (every AVX512-VNNI CPU has AVX2
 * and FMA), or the generic ones in a build without the avx2 folder. */
#ifdef QK_HAVE_AVX2
#include "arch/x86/avx2/avx2.h"
#define QK_AVX512VNNI_EPILOGUE(family) \
  { qk_requant_##family##__avx2, "qk_requant_" #family "__avx2" }
#define QK_AVX512VNNI_GEMM_SAT16 \
  { qk_gemm_u8s8_sat16_4x16c4__avx2, "qk_gemm_u8s8_sat16_4x16c4__avx2", 4, 16, 4, \
    qk_packed_block_size__generic, qk_pack_gemm__generic }
#else
#define QK_AVX512VNNI_EPILOGUE(family) \
  { qk_requant_##family##__generic, "qk_requant_" #family "__generic" }
#define QK_AVX512VNNI_GEMM_SAT16 \
  { qk_gemm_u8s8_sat16_4x8c4__generic, "qk_gemm_u8s8_sat16_4x8c4__generic", 4, 8, 4, \
    qk_packed_block_size__generic, qk_pack_gemm__generic }
#endif

QK_INTERNAL const qk_isa_config qk_isa_config_avx512vnni = {
    .id = QK_ISA_AVX512VNNI,
    .name = "avx512vnni",
    .required_features = QK_CPU_AVX512VNNI,
    .gemm = {qk_gemm_u8s8_10x32c4__avx512vnni, "qk_gemm_u8s8_10x32c4__avx512vnni", 10, 32, 4,
             qk_packed_block_size__generic, qk_pack_gemm__generic},
    /* VNNI has no saturating form: FBGEMM's rule is vpmaddubsw's (AVX2). */
    .gemm_sat16 = QK_AVX512VNNI_GEMM_SAT16,
    .requant =
        {
            [QK_REQUANT_FP32_CVT] = {qk_requant_fp32_cvt__avx512vnni,
                                     "qk_requant_fp32_cvt__avx512vnni"},
            [QK_REQUANT_FP32_SAT] = {qk_requant_fp32_sat__avx512vnni,
                                     "qk_requant_fp32_sat__avx512vnni"},
            [QK_REQUANT_FP32_FZP] = {qk_requant_fp32_fzp__avx512vnni,
                                     "qk_requant_fp32_fzp__avx512vnni"},
            [QK_REQUANT_GEMMLOWP] = {qk_requant_gemmlowp__avx512vnni,
                                     "qk_requant_gemmlowp__avx512vnni"},
            [QK_REQUANT_FP32_CVT_FMA] = QK_AVX512VNNI_EPILOGUE(fp32_cvt_fma),
            [QK_REQUANT_FP32_SBFZP] = QK_AVX512VNNI_EPILOGUE(fp32_sbfzp),
        },
    .im2col = qk_im2col_u8__avx512vnni,
    .dwconv = {qk_dwconv_u8s8_c64__avx512vnni, "qk_dwconv_u8s8_c64__avx512vnni", 64,
               qk_packed_dwconv_size_c64q4__avx512vnni, qk_pack_dwconv_c64q4__avx512vnni},
    .im2col_tile_bytes = 32 * 1024,
    .max_tile_pixels = 512,
    .weight_block_bytes = 256 * 1024,

    /* ---- linear (kernels/linear.c) ---- */

    /* ---- add / mul (kernels/eltwise.c) ---- */
    /* 16 lanes per zmm, masked tails (arch/x86/avx512vnni/qk_v*_x16__avx512vnni.c). */
    .eltwise =
        {
            [QK_ELTWISE_ADD_FP32_FMA] = {qk_vadd_fp32_fma_x16__avx512vnni,
                                         "qk_vadd_fp32_fma_x16__avx512vnni"},
            [QK_ELTWISE_ADD_FP32] = {qk_vadd_fp32_x16__avx512vnni, "qk_vadd_fp32_x16__avx512vnni"},
            [QK_ELTWISE_ADD_QNNPACK] = {qk_vadd_qnnpack_u8_x16__avx512vnni,
                                        "qk_vadd_qnnpack_u8_x16__avx512vnni"},
            [QK_ELTWISE_ADD_XNNPACK] = {qk_vadd_xnnpack_s8_x16__avx512vnni,
                                        "qk_vadd_xnnpack_s8_x16__avx512vnni"},
            [QK_ELTWISE_MUL_FP32] = {qk_vmul_fp32_x16__avx512vnni, "qk_vmul_fp32_x16__avx512vnni"},
            /* TFLite's reference ADD / MUL (from source): the generic kernels on every ISA */
            [QK_ELTWISE_ADD_GEMMLOWP] = {qk_vadd_gemmlowp_x8__generic,
                                         "qk_vadd_gemmlowp_x8__generic"},
            [QK_ELTWISE_MUL_GEMMLOWP] = {qk_vmul_gemmlowp_x8__generic,
                                         "qk_vmul_gemmlowp_x8__generic"},
        },

    /* ---- pooling (kernels/pool.c) ---- */
    .pool = {qk_maxpool_x8_c64__avx512vnni, "qk_maxpool_x8_c64__avx512vnni",
             qk_avgpool_x8_c64__avx512vnni, "qk_avgpool_x8_c64__avx512vnni",
             qk_avgpool_div_x8_c1__generic, "qk_avgpool_div_x8_c1__generic"},

    /* ---- activations, requantize, cat, channel shuffle (kernels/activation.c, kernels/cat.c) ---- */
#ifdef QK_HAVE_AVX2
    .lut = {qk_lut_u8__avx2, "qk_lut_u8__avx2"},
#else
    .lut = {qk_lut_u8__generic, "qk_lut_u8__generic"},
#endif
    .shuffle = {qk_shuffle_u8__generic, "qk_shuffle_u8__generic"},

};
