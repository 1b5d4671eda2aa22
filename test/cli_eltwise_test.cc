// Tests of `qk add` and `qk mul`: the real binary (QK_CLI, set by test/cli.cmake) on .npy files
// in a temporary directory. Successful runs must give the library API's bytes on the same data
// (NCHW on the command line, NHWC in the library); failures exit 1 or 2 with one line on stderr
// and leave no output file.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "npy.h"
#include "qk.h"

namespace {

std::string g_qk;  // the command words that run qk
std::string g_dir;

struct Outcome {
  int status = -1;
  std::string out, err;
};

std::string Slurp(const std::string& path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

Outcome Qk(const std::string& args) {
  const std::string out = g_dir + "/stdout", err = g_dir + "/stderr";
  const std::string cmd = g_qk + " " + args + " >" + out + " 2>" + err;
  const int rc = std::system(cmd.c_str());
  Outcome o;
  o.status = WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
  o.out = Slurp(out);
  o.err = Slurp(err);
  return o;
}

bool Exists(const std::string& p) {
  struct stat st;
  return stat(p.c_str(), &st) == 0;
}

void Save(const std::string& path, qk_npy_dtype t, const std::vector<size_t>& shape,
          const std::vector<uint8_t>& data) {
  qk_npy_array a;
  char error[QK_NPY_ERROR_SIZE];
  ASSERT_TRUE(qk_npy_alloc(&a, t, shape.size(), shape.data(), error, sizeof(error))) << error;
  std::memcpy(a.data, data.data(), data.size());
  ASSERT_TRUE(qk_npy_write_file(path.c_str(), &a, error, sizeof(error))) << error;
  qk_npy_free(&a);
}

std::vector<uint8_t> Load(const std::string& path) {
  qk_npy_array a;
  char error[QK_NPY_ERROR_SIZE];
  EXPECT_TRUE(qk_npy_read_file(path.c_str(), &a, error, sizeof(error))) << error;
  std::vector<uint8_t> v((const uint8_t*)a.data, (const uint8_t*)a.data + a.count);
  qk_npy_free(&a);
  return v;
}

std::vector<uint8_t> Random(size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::vector<uint8_t> v(n);
  for (auto& x : v) x = (uint8_t)rng();
  return v;
}

std::vector<uint8_t> ToNhwc(const std::vector<uint8_t>& x, size_t n, size_t c, size_t hw) {
  std::vector<uint8_t> y(x.size());
  for (size_t i = 0; i < n; i++)
    for (size_t ch = 0; ch < c; ch++)
      for (size_t p = 0; p < hw; p++) y[(i * hw + p) * c + ch] = x[(i * c + ch) * hw + p];
  return y;
}

std::string P(const char* name) { return g_dir + "/" + name; }

const char* kQ =
    " --a-scale 0.1 --a-zero-point 3 --b-scale 0.05 --b-zero-point 100"
    " --output-scale 0.1 --output-zero-point 20";

TEST(CliEltwise, AddMatchesLibrary) {
  const size_t N = 2, C = 5, H = 3, W = 7;
  for (const char* mode : {"pytorch-onednn", "pytorch-qnnpack", "pytorch-fbgemm"}) {
    for (int relu = 0; relu < 2; relu++) {
      const auto a = Random(N * C * H * W, 1), b = Random(N * C * H * W, 2);
      Save(P("a.npy"), QK_NPY_U8, {N, C, H, W}, a);
      Save(P("b.npy"), QK_NPY_U8, {N, C, H, W}, b);
      unlink(P("y.npy").c_str());
      const Outcome o = Qk("add --a " + P("a.npy") + " --b " + P("b.npy") + " --output " +
                           P("y.npy") + kQ + (relu ? " --relu" : "") + " --numerics " + mode);
      ASSERT_EQ(o.status, 0) << o.err;
      const auto y = Load(P("y.npy"));
      qk_add_desc d;
      qk_add_desc_init(&d);
      ASSERT_EQ(qk_numerics_from_name(mode, &d.numerics), QK_SUCCESS);
      d.channels = C;
      d.type = QK_DTYPE_U8;
      d.a_scale = 0.1f;
      d.a_zero_point = 3;
      d.b_scale = 0.05f;
      d.b_zero_point = 100;
      d.output_scale = 0.1f;
      d.output_zero_point = 20;
      d.relu = relu;
      qk_add* op = nullptr;
      ASSERT_EQ(qk_add_create(&d, &op), QK_SUCCESS) << qk_last_error();
      std::vector<uint8_t> ref(a.size());
      ASSERT_EQ(qk_add_run(op, N * H * W, ToNhwc(a, N, C, H * W).data(),
                           ToNhwc(b, N, C, H * W).data(), ref.data()),
                QK_SUCCESS);
      qk_add_delete(op);
      EXPECT_EQ(ToNhwc(y, N, C, H * W), ref) << mode << " relu " << relu;
    }
  }
}

TEST(CliEltwise, MulBroadcastMatchesLibrary) {
  const size_t N = 2, C = 6, H = 4, W = 3;
  for (int s8 = 0; s8 < 2; s8++) {
    const auto a = Random(N * C * H * W, 3), b = Random(N * C, 4);
    const qk_npy_dtype t = s8 ? QK_NPY_I8 : QK_NPY_U8;
    Save(P("a.npy"), t, {N, C, H, W}, a);
    Save(P("b.npy"), t, {N, C, 1, 1}, b);
    const Outcome o =
        Qk("mul --a " + P("a.npy") + " --b " + P("b.npy") + " --output " + P("y.npy") +
           " --a-scale 0.1 --a-zero-point 3 --b-scale 0.05 --b-zero-point 10 --output-scale 0.02"
           " --output-zero-point 5 --numerics pytorch-qnnpack");
    ASSERT_EQ(o.status, 0) << o.err;
    const auto y = Load(P("y.npy"));
    qk_mul_desc d;
    qk_mul_desc_init(&d);
    d.numerics = QK_NUMERICS_PYTORCH_QNNPACK;
    d.channels = C;
    d.type = s8 ? QK_DTYPE_S8 : QK_DTYPE_U8;
    d.a_scale = 0.1f;
    d.a_zero_point = 3;
    d.b_scale = 0.05f;
    d.b_zero_point = 10;
    d.output_scale = 0.02f;
    d.output_zero_point = 5;
    d.broadcast_b = 1;
    qk_mul* op = nullptr;
    ASSERT_EQ(qk_mul_create(&d, &op), QK_SUCCESS) << qk_last_error();
    std::vector<uint8_t> ref(a.size());
    ASSERT_EQ(qk_mul_run(op, N, H * W, ToNhwc(a, N, C, H * W).data(), b.data(), ref.data()),
              QK_SUCCESS);
    qk_mul_delete(op);
    EXPECT_EQ(ToNhwc(y, N, C, H * W), ref) << "s8 " << s8;
  }
}

void ExpectFailure(const std::string& args, int status, const char* needle) {
  unlink(P("y.npy").c_str());
  const Outcome o = Qk(args);
  EXPECT_EQ(o.status, status) << args << "\n" << o.err;
  EXPECT_EQ(std::count(o.err.begin(), o.err.end(), '\n'), 1) << o.err;
  EXPECT_NE(o.err.find(needle), std::string::npos) << o.err;
  EXPECT_FALSE(Exists(P("y.npy"))) << "an output file was written";
}

TEST(CliEltwise, Failures) {
  Save(P("a.npy"), QK_NPY_U8, {1, 2, 3, 4}, Random(24, 5));
  Save(P("b.npy"), QK_NPY_U8, {1, 2, 3, 4}, Random(24, 6));
  Save(P("b1.npy"), QK_NPY_U8, {1, 2, 1, 1}, Random(2, 7));
  Save(P("s.npy"), QK_NPY_I8, {1, 2, 3, 4}, Random(24, 8));
  const std::string io = " --a " + P("a.npy") + " --b " + P("b.npy") + " --output " + P("y.npy");
  ExpectFailure("add" + io + kQ, 2, "--numerics");
  ExpectFailure(
      "add --a " + P("a.npy") + " --output " + P("y.npy") + kQ + " --numerics pytorch-onednn", 2,
      "--b");
  ExpectFailure("add" + io +
                    " --a-scale 0 --a-zero-point 3 --b-scale 0.05 --b-zero-point 100"
                    " --output-scale 0.1 --output-zero-point 20 --numerics pytorch-onednn",
                2, "a-scale");
  ExpectFailure("add" + io + kQ + " --numerics nonsense", 2, "nonsense");
  ExpectFailure("add" + io + kQ + " --bogus 1 --numerics pytorch-onednn", 2, "bogus");
  ExpectFailure("add" + io +
                    " --a-scale 0.1 --a-zero-point 3 --b-scale 0.05 --b-zero-point 100"
                    " --output-scale 0.1 --output-zero-point 255 --relu --numerics pytorch-qnnpack",
                1, "QNNPACK");
  ExpectFailure("add --a " + P("a.npy") + " --b " + P("b1.npy") + " --output " + P("y.npy") + kQ +
                    " --numerics pytorch-onednn",
                1, "shape");
  ExpectFailure("add --a " + P("a.npy") + " --b " + P("s.npy") + " --output " + P("y.npy") + kQ +
                    " --numerics pytorch-onednn",
                1, "dtype");
  ExpectFailure("mul" + io + kQ + " --numerics tflite", 1, "int8 MUL only");
  ExpectFailure("add" + io + kQ + " --numerics onnxruntime", 1, "not implemented");
  ExpectFailure("add --a " + P("missing.npy") + " --b " + P("b.npy") + " --output " + P("y.npy") +
                    kQ + " --numerics pytorch-onednn",
                1, "missing.npy");
  const Outcome h = Qk("add --help");
  EXPECT_EQ(h.status, 0);
  EXPECT_NE(h.out.find("usage: qk add"), std::string::npos);
  const Outcome hm = Qk("mul --help");
  EXPECT_EQ(hm.status, 0);
  EXPECT_NE(hm.out.find("[N, C, 1, 1]"), std::string::npos);
}

}  // namespace

int main(int argc, char** argv) {
  testing::InitGoogleTest(&argc, argv);
  const char* env = std::getenv("QK_CLI");
  for (int i = 1; i < argc; i++) {
    if (std::strncmp(argv[i], "--qk=", 5) == 0) env = argv[i] + 5;
  }
  if (env == nullptr || *env == '\0') {
    std::fprintf(stderr, "cli_eltwise_test: set QK_CLI (or --qk=) to the command that runs qk\n");
    return 1;
  }
  g_qk = env;
  char tmpl[] = "/tmp/qk-cli-eltwise-XXXXXX";
  if (mkdtemp(tmpl) == nullptr) return 1;
  g_dir = tmpl;
  const int rc = RUN_ALL_TESTS();
  std::system(("rm -rf " + g_dir).c_str());
  return rc;
}
