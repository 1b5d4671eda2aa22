/* The avxvnni table: VEX vpdpbusd on ymm (Alder Lake / Sapphire Rapids and later, Zen 5).
 *
 * This CPU class may lack AVX-512 (Alder Lake, Arrow Lake), so only the GEMM is AVX-VNNI; the
 * epilogues, im2col and depthwise kernel are the AVX2 ones (same bits as the generic ones, tested
 * by test/ukernel_test.cc) when the avx2 folder is compiled in, the generic ones otherwise.
 *
 * GEMM tile 6 x 16 (12 ymm accumulators): the 16 VEX registers hold 12 accumulators, the two
 * weight vectors of a k-group and one broadcast (VEX vpdpbusd has no embedded broadcast, so a
 * 7th row would spill); 12 independent chains cover vpdpbusd's latency x throughput (5 x 2 on
 * Golden Cove, 2 per cycle on Zen 5).
 *
 * Measured on Zen 5 (EPYC Turin VM, 48 KiB L1d, 1 MiB L2; qk-bench, 1 thread, medians of 5):
 * a 1024^3 GEMM at 90-94 % of the register-only ymm vpdpbusd peak (451 GOPS), the ResNet-18 3x3
 * layers at 380-450 GOPS through the operator, 1.4x oneDNN 2.6 capped to AVX2_VNNI on the
 * geometric mean of bench/conv-shapes.tsv. Tile sizes: im2col_tile_bytes 32 / 64 / 128 KiB with
 * weight_block_bytes 256 / 512 KiB moved no layer beyond the run-to-run noise (+-5 %), so the
 * values chosen before the measurement are kept (64 KiB tiles, 256 KiB weight blocks), which
 * also fit the 1.25-2 MiB L2 of Alder Lake's P-cores. */
#include "arch/cpu.h"
#include "arch/dispatch.h"
#include "arch/x86/avxvnni/avxvnni.h"
#include "arch/generic/generic.h"
#ifdef QK_HAVE_AVX2
#include "arch/x86/avx2/avx2.h"
#define QK_AVXVNNI_EPILOGUE(family) \
  { qk_requant_##family##__avx2, "qk_requant_" #family "__avx2" }
#define QK_AVXVNNI_IM2COL qk_im2col_u8__avx2
#define QK_AVXVNNI_GEMM_SAT16 \
  { qk_gemm_u8s8_sat16_4x16c4__avx2, "qk_gemm_u8s8_sat16_4x16c4__avx2", 4, 16, 4, \
    qk_packed_block_size__generic, qk_pack_gemm__generic }
#define QK_AVXVNNI_DWCONV \
  { qk_dwconv_u8s8_c16__avx2, "qk_dwconv_u8s8_c16__avx2", 16, qk_packed_dwconv_size__generic, \
    qk_pack_dwconv__generic }
#else
#define QK_AVXVNNI_EPILOGUE(family) \
  { qk_requant_##family##__generic, "qk_requant_" #family "__generic" }
#define QK_AVXVNNI_IM2COL qk_im2col_u8__generic
#define QK_AVXVNNI_GEMM_SAT16 \
  { qk_gemm_u8s8_sat16_4x8c4__generic, "qk_gemm_u8s8_sat16_4x8c4__generic", 4, 8, 4, \
    qk_packed_block_size__generic, qk_pack_gemm__generic }
#define QK_AVXVNNI_DWCONV \
  { qk_dwconv_u8s8_c16__generic, "qk_dwconv_u8s8_c16__generic", 16, \
    qk_packed_dwconv_size__generic, qk_pack_dwconv__generic }
#endif

QK_INTERNAL const qk_isa_config qk_isa_config_avxvnni = {
    .id = QK_ISA_AVXVNNI,
    .name = "avxvnni",
    .required_features = QK_CPU_AVXVNNI | QK_CPU_AVX2,
    .gemm = {qk_gemm_u8s8_6x16c4__avxvnni, "qk_gemm_u8s8_6x16c4__avxvnni", 6, 16, 4,
             qk_packed_block_size__generic, qk_pack_gemm__generic},
    /* VNNI has no saturating form: FBGEMM's rule is vpmaddubsw's, which AVX2 has. */
    .gemm_sat16 = QK_AVXVNNI_GEMM_SAT16,
    .requant =
        {
            [QK_REQUANT_FP32_CVT] = QK_AVXVNNI_EPILOGUE(fp32_cvt),
            [QK_REQUANT_FP32_SAT] = QK_AVXVNNI_EPILOGUE(fp32_sat),
            [QK_REQUANT_FP32_FZP] = QK_AVXVNNI_EPILOGUE(fp32_fzp),
            [QK_REQUANT_GEMMLOWP] = QK_AVXVNNI_EPILOGUE(gemmlowp),
            [QK_REQUANT_FP32_CVT_FMA] = QK_AVXVNNI_EPILOGUE(fp32_cvt_fma),
            [QK_REQUANT_FP32_SBFZP] = QK_AVXVNNI_EPILOGUE(fp32_sbfzp),
        },
    .im2col = QK_AVXVNNI_IM2COL,
    .dwconv = QK_AVXVNNI_DWCONV,
    .im2col_tile_bytes = 64 * 1024,
    .max_tile_pixels = 512,
    .weight_block_bytes = 256 * 1024,

    /* ---- linear (kernels/linear.c) ---- */

    /* ---- add / mul (kernels/eltwise.c) ---- */
    /* The AVX2 kernels (bit-identical to the generic ones, test/eltwise_ukernel_test.cc) when
     * the avx2 folder is compiled in; the FMA one needs FMA, which every CPU of this table has. */
#ifdef QK_HAVE_AVX2
#define QK_ELTWISE_KERNEL(k) {k##__avx2, #k "__avx2"}
#else
#define QK_ELTWISE_KERNEL(k) {k##__generic, #k "__generic"}
#endif
    .eltwise =
        {
            [QK_ELTWISE_ADD_FP32_FMA] = QK_ELTWISE_KERNEL(qk_vadd_fp32_fma_x8),
            [QK_ELTWISE_ADD_FP32] = QK_ELTWISE_KERNEL(qk_vadd_fp32_x8),
            [QK_ELTWISE_ADD_QNNPACK] = QK_ELTWISE_KERNEL(qk_vadd_qnnpack_u8),
            [QK_ELTWISE_ADD_XNNPACK] = QK_ELTWISE_KERNEL(qk_vadd_xnnpack_s8),
            [QK_ELTWISE_MUL_FP32] = QK_ELTWISE_KERNEL(qk_vmul_fp32_x8),
            /* TFLite's reference ADD / MUL (from source): the generic kernels on every ISA */
            [QK_ELTWISE_ADD_GEMMLOWP] = {qk_vadd_gemmlowp_x8__generic,
                                         "qk_vadd_gemmlowp_x8__generic"},
            [QK_ELTWISE_MUL_GEMMLOWP] = {qk_vmul_gemmlowp_x8__generic,
                                         "qk_vmul_gemmlowp_x8__generic"},
        },
#undef QK_ELTWISE_KERNEL

    /* ---- pooling (kernels/pool.c) ---- */
#ifdef QK_HAVE_AVX2
    .pool = {qk_maxpool_x8_c32__avx2, "qk_maxpool_x8_c32__avx2", qk_avgpool_x8_c32__avx2,
             "qk_avgpool_x8_c32__avx2",
             qk_avgpool_div_x8_c1__generic, "qk_avgpool_div_x8_c1__generic"},
#else
    .pool = {qk_maxpool_x8_c1__generic, "qk_maxpool_x8_c1__generic", qk_avgpool_x8_c1__generic,
             "qk_avgpool_x8_c1__generic",
             qk_avgpool_div_x8_c1__generic, "qk_avgpool_div_x8_c1__generic"},
#endif

    /* ---- activations, requantize, cat, channel shuffle (kernels/activation.c, kernels/cat.c) ---- */
#ifdef QK_HAVE_AVX2
    .lut = {qk_lut_u8__avx2, "qk_lut_u8__avx2"},
#else
    .lut = {qk_lut_u8__generic, "qk_lut_u8__generic"},
#endif
    .shuffle = {qk_shuffle_u8__generic, "qk_shuffle_u8__generic"},

};
