// Bit-exact comparison of qk with golden conv2d cases computed by the real frameworks (PyTorch
// 1.13 qnnpack / onednn, ONNX Runtime), on every ISA this CPU can run.
//
// Files: the committed ones under test/data/golden (QK_GOLDEN_DIR), or the list in the environment
// variable QK_GOLDEN_FILES (colon-separated; CI uses it for a freshly generated random set).
#include "golden.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <string>
#include <vector>

#include "isa_util.h"
#include "qk.h"

namespace {

std::vector<std::string> GoldenFiles() {
  std::vector<std::string> files;
  if (const char* env = std::getenv("QK_GOLDEN_FILES")) {
    std::stringstream ss(env);
    for (std::string f; std::getline(ss, f, ':');) {
      if (!f.empty()) files.push_back(f);
    }
    return files;
  }
  for (const char* f : {"torch-qnnpack.txt", "torch-onednn.txt", "ort.txt"}) {
    files.push_back(std::string(QK_GOLDEN_DIR) + "/" + f);
  }
  // From test/data/golden/team-golden.tar.xz (real FBGEMM and TFLite runs) and torch26-golden.tar.xz
  // (real PyTorch 2.6 qnnpack / onednn runs); tools/golden/README.md
  for (const char* f : {"fbgemm-seed31.txt", "tflite-seed77.txt", "torch26-qnnpack.txt",
                        "torch26-onednn.txt"}) {
    files.push_back(std::string(QK_GOLDEN_UNPACKED_DIR) + "/" + f);
  }
  return files;
}

std::string Describe(const qk_test::GoldenCase& c) {
  std::ostringstream s;
  s << c.name << " [" << c.numerics << " " << c.input_type << " N" << c.n << " C" << c.c << " H"
    << c.h << " W" << c.w << " O" << c.o << " k" << c.kh << "x" << c.kw << " s" << c.stride[0]
    << "," << c.stride[1] << " p" << c.padding[0] << "," << c.padding[1] << "," << c.padding[2]
    << "," << c.padding[3] << " d" << c.dilation[0] << "," << c.dilation[1] << " g" << c.groups
    << " wsc" << c.weight_scales.size() << " bias " << c.bias_type << " relu" << c.relu << "]";
  return s.str();
}

// torch 1.13 refused a qint8 (XNNPACK) convolution whose output range is one value (ReLU with
// output zero point 127: "xnn create operator failed(2)"); PyTorch 2.x computes it, every output
// 127 (numerics/pytorch26.md §3), and so does qk's pytorch-qnnpack. Such a 1.13 refusal is
// checked as that constant.
bool OneValueRangeRefusedBy113(const qk_test::GoldenCase& c) {
  return c.expect_unsupported && c.numerics == "pytorch-qnnpack" && c.input_type == "s8" &&
         c.relu && c.output_zero_point == 127 &&
         c.unsupported_reason.find("failed(2)") != std::string::npos;
}

class GoldenTest : public testing::TestWithParam<std::string> {};

TEST_P(GoldenTest, BitExactOnEveryIsa) {
  const std::vector<qk_test::GoldenCase> cases = qk_test::ReadGoldenFile(GetParam());
  ASSERT_FALSE(cases.empty()) << GetParam() << " holds no case";
  for (const std::string& isa : qk_test::SupportedIsas()) {
    qk_test::ScopedIsa scoped(isa);
    size_t checked = 0, refused = 0, bad_cases = 0, bad_values = 0;
    size_t constant = 0;
    for (const auto& c : cases) {
      const qk_test::RunResult r = qk_test::RunGoldenCase(c);
      if (OneValueRangeRefusedBy113(c)) {
        ASSERT_EQ(r.status, QK_SUCCESS) << Describe(c) << ": " << r.message;
        for (int32_t v : r.output) ASSERT_EQ(v, 127) << Describe(c) << " on " << isa;
        constant++;
        continue;
      }
      if (c.expect_unsupported) {
        EXPECT_EQ(r.status, QK_ERROR_UNSUPPORTED)
            << Describe(c) << ": the framework refused it (" << c.unsupported_reason
            << ") but qk returned " << qk_status_string(r.status) << " " << r.message;
        refused++;
        continue;
      }
      ASSERT_EQ(r.status, QK_SUCCESS) << Describe(c) << " on " << isa << ": " << r.message;
      ASSERT_EQ(r.output.size(), c.output.size()) << Describe(c);
      size_t bad = 0;
      for (size_t i = 0; i < c.output.size(); i++) {
        if (r.output[i] != c.output[i]) {
          if (bad < 5) {
            ADD_FAILURE() << Describe(c) << " on " << isa << " (" << r.ukernels << "): output[" << i
                          << "] = " << r.output[i] << ", framework gave " << c.output[i];
          }
          bad++;
        }
      }
      bad_values += bad;
      bad_cases += bad != 0;
      checked++;
    }
    std::printf(
        "[ golden   ] %s on %s: %zu cases bit-exact, %zu refusals matched, %zu torch 1.13 "
        "refusals computed as PyTorch 2.x does (constant 127), %zu bad cases (%zu values)\n",
        GetParam().c_str(), isa.c_str(), checked - bad_cases, refused, constant, bad_cases,
        bad_values);
    EXPECT_EQ(bad_cases, 0u);
  }
}

INSTANTIATE_TEST_SUITE_P(Files, GoldenTest, testing::ValuesIn(GoldenFiles()),
                         [](const testing::TestParamInfo<std::string>& info) {
                           std::string name = info.param.substr(info.param.rfind('/') + 1);
                           for (char& ch : name) {
                             if (!isalnum(static_cast<unsigned char>(ch))) ch = '_';
                           }
                           return name + "_" + std::to_string(info.index);
                         });

}  // namespace
