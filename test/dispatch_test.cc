// QK_ISA handling, one process per environment (ctest runs this binary several times):
//   QK_EXPECT_ISA=<name>         the selection must be <name> (with QK_ISA set or not)
//   QK_EXPECT_ISA_ERROR=<text>   QK_ISA must be refused with a message containing <text>, and
//                                operator creation must fail with QK_ERROR_UNSUPPORTED_ISA until
//                                qk_set_isa picks a valid ISA.
// Without either variable the test checks that the default is the best supported ISA.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <string>

#include "arch/cpu.h"
#include "qk.h"

namespace {

qk_status CreateSmallConv() {
  const int8_t w = 1;
  const double ws = 0.5;
  qk_conv2d_desc d;
  qk_conv2d_desc_init(&d);
  d.numerics = QK_NUMERICS_PYTORCH_QNNPACK;
  d.input_channels = d.output_channels = 1;
  d.kernel_height = d.kernel_width = 1;
  d.input_type = d.output_type = QK_DTYPE_U8;
  d.input_scale = d.output_scale = 1;
  d.weights = &w;
  d.weight_scale_count = 1;
  d.weight_scales = &ws;
  qk_conv2d* op = nullptr;
  const qk_status s = qk_conv2d_create(&d, &op);
  qk_conv2d_delete(op);
  return s;
}

std::string BestSupported() {
  std::stringstream ss(qk_compiled_isas());
  std::string best;
  for (std::string isa; ss >> isa;) {
    if (qk_isa_is_supported(isa.c_str())) best = isa;
  }
  return best;
}

TEST(Dispatch, QkIsaEnvironment) {
  const char* env = std::getenv("QK_ISA");
  const char* expect = std::getenv("QK_EXPECT_ISA");
  const char* expect_error = std::getenv("QK_EXPECT_ISA_ERROR");
  std::printf("[ dispatch ] QK_ISA=%s -> %s (%s); CPU: %s; features: %s; compiled: %s\n",
              env ? env : "(unset)", qk_get_isa() ? qk_get_isa() : "none", qk_isa_reason(),
              qk_cpu_name(), qk_cpu_features(), qk_compiled_isas());
  if (expect_error != nullptr) {
    EXPECT_EQ(qk_get_isa(), nullptr);
    EXPECT_THAT(qk_last_error(), testing::HasSubstr(expect_error));
    EXPECT_THAT(qk_isa_reason(), testing::HasSubstr(expect_error));
    EXPECT_EQ(CreateSmallConv(), QK_ERROR_UNSUPPORTED_ISA);
    EXPECT_THAT(qk_last_error(), testing::HasSubstr("QK_ISA="));
    ASSERT_EQ(qk_set_isa("generic"), QK_SUCCESS);
    EXPECT_EQ(CreateSmallConv(), QK_SUCCESS) << "qk_set_isa repairs an invalid QK_ISA";
    return;
  }
  ASSERT_NE(qk_get_isa(), nullptr) << qk_last_error();
  if (expect != nullptr) {
    EXPECT_STREQ(qk_get_isa(), expect);
  } else {
    EXPECT_EQ(qk_get_isa(), BestSupported());
  }
  EXPECT_EQ(std::string(qk_isa_reason()),
            env && *env ? "QK_ISA=" + std::string(env) : "best ISA this CPU supports");
  EXPECT_EQ(CreateSmallConv(), QK_SUCCESS) << qk_last_error();
}

// A failing cpuinfo_initialize (it allocates) must not demote qk to generic: the features then
// come from cpuid (x86) or the hwcaps (ARM), the same ones cpuinfo reports.
TEST(Dispatch, DetectionWithoutCpuinfoFindsTheSameFeatures) {
  const qk_cpu_info* with = qk_cpu_detect();
  if (!with->cpuinfo_ok) GTEST_SKIP() << "cpuinfo failed in this process: nothing to compare";
  qk_cpu_info without;
  qk_cpu_detect_into(&without, /*use_cpuinfo=*/false);
  EXPECT_EQ(without.features, with->features);
  EXPECT_STREQ(without.feature_list, with->feature_list);
  EXPECT_THAT(without.name, testing::HasSubstr("cpuinfo"));
  std::printf("[ dispatch ] without cpuinfo: features '%s' (%s)\n", without.feature_list,
              without.name);
}

}  // namespace
