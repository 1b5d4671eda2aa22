// The pooling commands of the qk tool (qk max-pool2d / avg-pool2d / adaptive-avg-pool2d): the real
// binary on .npy files in a temporary directory. Successful runs must give exactly the bytes the
// library API gives on the same data; failures exit 2 (command line) or 1 (anything else) with one
// line on stderr and no output file. QK_CLI (test/cli.cmake) names the binary.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "npy.h"
#include "qk.h"

namespace {

std::string g_qk;

struct Outcome {
  int status = -1;
  std::string err;
};

class CliPool : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/qk_cli_pool_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::system(("rm -rf " + dir_).c_str()); }
  std::string Path(const std::string& name) const { return dir_ + "/" + name; }

  Outcome Run(const std::string& args) const {
    const std::string err = Path("stderr.txt");
    const std::string cmd =
        "cd " + dir_ + " && " + g_qk + " " + args + " >" + Path("stdout.txt") + " 2>" + err;
    const int rc = std::system(cmd.c_str());
    Outcome o;
    o.status = WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
    std::ifstream in(err);
    std::stringstream s;
    s << in.rdbuf();
    o.err = s.str();
    return o;
  }
  bool Exists(const std::string& name) const {
    struct stat st;
    return stat(Path(name).c_str(), &st) == 0;
  }
  void Save(const std::string& name, qk_npy_dtype dtype, const std::vector<size_t>& shape,
            const std::vector<uint8_t>& bytes) const {
    qk_npy_array a;
    char error[QK_NPY_ERROR_SIZE];
    ASSERT_TRUE(qk_npy_alloc(&a, dtype, shape.size(), shape.data(), error, sizeof(error)));
    std::copy(bytes.begin(), bytes.end(), static_cast<uint8_t*>(a.data));
    ASSERT_TRUE(qk_npy_write_file(Path(name).c_str(), &a, error, sizeof(error))) << error;
    qk_npy_free(&a);
  }
  std::string dir_;
};

// NCHW input -> the library on NHWC -> NCHW bytes.
std::vector<uint8_t> Library(qk_pool2d_desc d, size_t n, size_t c, size_t h, size_t w,
                             const std::vector<uint8_t>& nchw, size_t* oh, size_t* ow) {
  d.channels = c;
  qk_pool2d* op = nullptr;
  EXPECT_EQ(qk_pool2d_create(&d, &op), QK_SUCCESS) << qk_last_error();
  EXPECT_EQ(qk_pool2d_output_size(op, h, w, oh, ow), QK_SUCCESS);
  std::vector<uint8_t> x(nchw.size()), y(n * c * *oh * *ow), out(y.size());
  for (size_t i = 0; i < n; i++)
    for (size_t ch = 0; ch < c; ch++)
      for (size_t p = 0; p < h * w; p++)
        x[(i * h * w + p) * c + ch] = nchw[(i * c + ch) * h * w + p];
  EXPECT_EQ(qk_pool2d_run(op, n, h, w, x.data(), y.data()), QK_SUCCESS) << qk_last_error();
  qk_pool2d_delete(op);
  const size_t op_ = *oh * *ow;
  for (size_t i = 0; i < n; i++)
    for (size_t ch = 0; ch < c; ch++)
      for (size_t p = 0; p < op_; p++) out[(i * c + ch) * op_ + p] = y[(i * op_ + p) * c + ch];
  return out;
}

std::vector<uint8_t> ReadOutput(const std::string& path, std::vector<size_t>* shape) {
  qk_npy_array a;
  char error[QK_NPY_ERROR_SIZE];
  EXPECT_TRUE(qk_npy_read_file(path.c_str(), &a, error, sizeof(error))) << error;
  shape->assign(a.shape, a.shape + a.ndim);
  std::vector<uint8_t> v(static_cast<uint8_t*>(a.data), static_cast<uint8_t*>(a.data) + a.bytes);
  qk_npy_free(&a);
  return v;
}

TEST_F(CliPool, CommandsGiveTheLibrarysBytes) {
  std::mt19937 rng(5);
  const size_t n = 2, c = 37, h = 9, w = 7;
  std::vector<uint8_t> x(n * c * h * w);
  for (auto& b : x) b = static_cast<uint8_t>(rng());
  Save("x.npy", QK_NPY_U8, {n, c, h, w}, x);
  Save("xs.npy", QK_NPY_I8, {n, c, h, w}, x);
  struct Case {
    std::string args;
    qk_pool2d_desc desc;
  };
  std::vector<Case> cases;
  qk_pool2d_desc d;
  qk_pool2d_desc_init(&d);
  d.type = QK_DTYPE_U8, d.input_zero_point = 3, d.input_scale = 0.25;
  {
    qk_pool2d_desc m = d;
    m.numerics = QK_NUMERICS_PYTORCH_QNNPACK, m.kind = QK_POOL2D_MAX;
    m.kernel_height = 3, m.kernel_width = 2, m.stride_height = m.stride_width = 1;
    m.dilation_height = 2, m.padding_top = m.padding_bottom = 1;
    cases.push_back(
        {"max-pool2d --input x.npy --kernel 3,2 --stride 1 --dilation 2,1 "
         "--padding 1,0 --input-zero-point 3 --numerics pytorch-qnnpack",
         m});
  }
  {
    qk_pool2d_desc a = d;
    a.numerics = QK_NUMERICS_PYTORCH_FBGEMM, a.kind = QK_POOL2D_AVERAGE;
    a.kernel_height = a.kernel_width = 3, a.stride_height = a.stride_width = 2;
    a.padding_top = a.padding_bottom = a.padding_left = a.padding_right = 1;
    a.ceil_mode = 1, a.count_include_pad = 0, a.memory_format = QK_PYTORCH_CONTIGUOUS;
    cases.push_back(
        {"avg-pool2d --input x.npy --kernel 3 --stride 2 --padding 1 --ceil-mode "
         "--count-include-pad 0 --memory-format contiguous --input-scale 0.25 "
         "--input-zero-point 3 --numerics pytorch-fbgemm",
         a});
    a.divisor_override = 5, a.memory_format = QK_PYTORCH_CHANNELS_LAST, a.ceil_mode = 0;
    cases.push_back(
        {"avg-pool2d --input x.npy --kernel 3 --stride 2 --padding 1 "
         "--count-include-pad 0 --divisor-override 5 --input-scale 0.25 "
         "--input-zero-point 3 --numerics pytorch-fbgemm",
         a});
  }
  {
    qk_pool2d_desc g = d;
    g.numerics = QK_NUMERICS_PYTORCH_ONEDNN, g.kind = QK_POOL2D_ADAPTIVE_AVERAGE;
    g.type = QK_DTYPE_S8, g.input_zero_point = -7;
    g.output_height = 4, g.output_width = 3;
    cases.push_back(
        {"adaptive-avg-pool2d --input xs.npy --output-size 4,3 --input-scale 0.25 "
         "--input-zero-point -7 --numerics pytorch-onednn",
         g});
    g.output_height = g.output_width = 1;
    cases.push_back(
        {"adaptive-avg-pool2d --input xs.npy --output-size 1 --input-scale 0.25 "
         "--input-zero-point -7 --numerics pytorch-onednn",
         g});
  }
  for (const Case& k : cases) {
    const Outcome o = Run(k.args + " --output y.npy");  // run in the directory
    ASSERT_EQ(o.status, 0) << k.args << ": " << o.err;
    std::vector<size_t> shape;
    const std::vector<uint8_t> got = ReadOutput(Path("y.npy"), &shape);
    size_t oh, ow;
    const std::vector<uint8_t> want = Library(k.desc, n, c, h, w, x, &oh, &ow);
    EXPECT_EQ(shape, (std::vector<size_t>{n, c, oh, ow})) << k.args;
    EXPECT_EQ(got, want) << k.args;
  }
}

TEST_F(CliPool, FailuresAreOneLineAndWriteNothing) {
  Save("x.npy", QK_NPY_U8, {1, 2, 4, 4}, std::vector<uint8_t>(32, 7));
  Save("f.npy", QK_NPY_F32, {1, 1, 2, 2}, std::vector<uint8_t>(16, 0));
  struct Case {
    std::string args;
    int status;
  };
  const Case cases[] = {
      {"max-pool2d --input x.npy --input-zero-point 0 --numerics pytorch-fbgemm", 2},  // --kernel
      {"max-pool2d --input x.npy --kernel 2 --count-include-pad 1 --input-zero-point 0 "
       "--numerics pytorch-fbgemm",
       2},  // not an option of max-pool2d
      {"avg-pool2d --input x.npy --kernel 2 --input-zero-point 0 --numerics pytorch-fbgemm", 2},
      {"avg-pool2d --input x.npy --kernel 0 --input-scale 1 --input-zero-point 0 "
       "--numerics pytorch-fbgemm",
       2},
      {"avg-pool2d --input x.npy --kernel 2 --memory-format nhwc --input-scale 1 "
       "--input-zero-point 0 --numerics pytorch-fbgemm",
       2},
      {"adaptive-avg-pool2d --input x.npy --input-scale 1 --input-zero-point 0 "
       "--numerics pytorch-fbgemm",
       2},  // --output-size
      {"max-pool2d --input x.npy --kernel 1 --input-zero-point 0 --numerics pytorch-qnnpack", 1},
      {"max-pool2d --input x.npy --kernel 3 --padding 2 --input-zero-point 0 "
       "--numerics pytorch-fbgemm",
       1},
      {"avg-pool2d --input x.npy --kernel 2 --input-scale 1 --input-zero-point 0 "
       "--numerics onnxruntime",
       1},
      {"avg-pool2d --input x.npy --kernel 2 --input-scale 1 --input-zero-point 0 "
       "--output-scale 2 --numerics pytorch-fbgemm",
       1},
      {"max-pool2d --input x.npy --kernel 5 --input-zero-point 0 --numerics pytorch-fbgemm", 1},
      {"max-pool2d --input f.npy --kernel 2 --input-zero-point 0 --numerics pytorch-fbgemm", 1},
      {"max-pool2d --input missing.npy --kernel 2 --input-zero-point 0 --numerics pytorch-fbgemm",
       1},
      {"max-pool2d --input x.npy --kernel 2 --input-zero-point 300 --numerics pytorch-fbgemm", 2},
  };
  for (const Case& k : cases) {
    const Outcome o = Run(k.args + " --output y.npy");
    EXPECT_EQ(o.status, k.status) << k.args << ": " << o.err;
    EXPECT_EQ(std::count(o.err.begin(), o.err.end(), '\n'), 1) << k.args << ": " << o.err;
    EXPECT_FALSE(Exists("y.npy")) << k.args;
  }
  for (const char* cmd : {"max-pool2d", "avg-pool2d", "adaptive-avg-pool2d"}) {
    EXPECT_EQ(Run(std::string(cmd) + " --help").status, 0) << cmd;
  }
}

}  // namespace

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  const char* env = getenv("QK_CLI");
  g_qk = env ? env : "qk";
  return RUN_ALL_TESTS();
}
