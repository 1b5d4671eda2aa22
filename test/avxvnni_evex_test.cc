// The AVX-VNNI GEMM kernel's logic, bit-exactly, on machines without AVX-VNNI: its EVEX twin
// (qk_gemm_u8s8_6x16c4__avxvnni_evex, the same source with the AVX512-VNNI + VL encoding of ymm
// vpdpbusd) runs through the GEMM tester of test/gemm_tester.h like every table's kernel. The
// VEX kernel itself runs in ukernel_test, through the avxvnni table, on CPUs with AVX-VNNI.
#include <gtest/gtest.h>

#include "arch/cpu.h"
#include "arch/x86/avxvnni/avxvnni.h"
#include "gemm_tester.h"
#include "arch/generic/generic.h"

namespace {

// The twin is outside any ISA table: describe it like one, with the generic packing it uses.
const qk_gemm_config kEvex = {qk_gemm_u8s8_6x16c4__avxvnni_evex,
                              "qk_gemm_u8s8_6x16c4__avxvnni_evex",
                              6,
                              16,
                              4,
                              qk_packed_block_size__generic,
                              qk_pack_gemm__generic};

bool Has(uint32_t features) { return (qk_cpu_detect()->features & features) == features; }

TEST(AvxvnniEvexTwin, AllTailsBitExact) {
  if (!Has(QK_CPU_AVX512VNNI)) GTEST_SKIP() << "CPU lacks AVX512-VNNI (needed by the EVEX twin)";
  qk_test::GemmAllTails(kEvex);
}

TEST(AvxvnniEvexTwin, LargeKAndExtremesNoSaturation) {
  if (!Has(QK_CPU_AVX512VNNI)) GTEST_SKIP() << "CPU lacks AVX512-VNNI (needed by the EVEX twin)";
  qk_test::GemmLargeKAndExtremes(kEvex);
}

}  // namespace
