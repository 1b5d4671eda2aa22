// Tests of `qk linear`: the real binary runs as a child process on .npy files in a temporary
// directory. Successful runs must give exactly the bytes qk_linear gives on the same data; failing
// runs must exit 2 (bad command line) or 1 (anything else) with exactly one line on stderr and
// leave no output file behind. The command comes from QK_CLI (test/cli.cmake) or --qk="<words>".
#include <fcntl.h>
#include <gtest/gtest.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "npy.h"
#include "qk.h"

extern char** environ;

namespace {

std::vector<std::string> g_qk;

std::vector<std::string> SplitWords(const std::string& text) {
  std::istringstream in(text);
  std::vector<std::string> words;
  for (std::string w; in >> w;) words.push_back(w);
  return words;
}

struct Outcome {
  int status = -1;
  std::string out, err;
};

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

class CliLinear : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(g_qk.empty()) << "set QK_CLI or pass --qk=<command>";
    const char* base = getenv("TMPDIR");
    dir_ = std::string(base && *base ? base : "/tmp") + "/qk_cli_linear.XXXXXX";
    ASSERT_NE(mkdtemp(&dir_[0]), nullptr);
  }
  void TearDown() override {
    for (const char* f : {"x.npy", "w.npy", "b.npy", "ws.npy", "wz.npy", "y.npy", "x3.npy"}) {
      unlink(Path(f).c_str());
    }
    unlink((dir_ + ".out").c_str());
    unlink((dir_ + ".err").c_str());
    rmdir(dir_.c_str());
  }
  std::string Path(const std::string& name) const { return dir_ + "/" + name; }
  bool Exists(const std::string& name) const {
    struct stat st;
    return stat(Path(name).c_str(), &st) == 0;
  }

  Outcome Run(const std::vector<std::string>& args) {
    std::vector<std::string> words = g_qk;
    words.push_back("linear");
    words.insert(words.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (std::string& w : words) argv.push_back(&w[0]);
    argv.push_back(nullptr);
    std::vector<std::string> env;
    for (char** e = environ; *e; e++) {
      const std::string v = *e;
      if (v.rfind("QK_ISA=", 0) != 0 && v.rfind("QK_VERBOSE=", 0) != 0) env.push_back(v);
    }
    std::vector<char*> envp;
    for (std::string& e : env) envp.push_back(&e[0]);
    envp.push_back(nullptr);
    const std::string out = dir_ + ".out", err = dir_ + ".err";
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_addopen(&actions, 2, err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    pid_t pid = -1;
    Outcome r;
    const int rc = posix_spawnp(&pid, argv[0], &actions, nullptr, argv.data(), envp.data());
    posix_spawn_file_actions_destroy(&actions);
    EXPECT_EQ(rc, 0) << strerror(rc);
    if (rc != 0) return r;
    int ws = 0;
    while (waitpid(pid, &ws, 0) < 0 && errno == EINTR) {
    }
    r.status = WIFEXITED(ws) ? WEXITSTATUS(ws) : -1;
    r.out = Slurp(out);
    r.err = Slurp(err);
    return r;
  }

  void Save(const std::string& name, qk_npy_dtype dtype, std::vector<size_t> shape,
            const void* data) {
    qk_npy_array a;
    char error[QK_NPY_ERROR_SIZE];
    ASSERT_TRUE(qk_npy_alloc(&a, dtype, shape.size(), shape.data(), error, sizeof(error))) << error;
    memcpy(a.data, data, a.bytes);
    ASSERT_TRUE(qk_npy_write_file(Path(name).c_str(), &a, error, sizeof(error))) << error;
    qk_npy_free(&a);
  }

  // A failing run: the status, one line on stderr naming `needle`, no y.npy.
  void ExpectFailure(const std::vector<std::string>& args, int status, const std::string& needle) {
    const Outcome r = Run(args);
    EXPECT_EQ(r.status, status) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_NE(r.err.find(needle), std::string::npos) << r.err;
    EXPECT_FALSE(Exists("y.npy")) << r.err;
  }

  std::vector<std::string> Base() {
    return {"--input",
            Path("x.npy"),
            "--weight",
            Path("w.npy"),
            "--output",
            Path("y.npy"),
            "--input-scale",
            "0.05",
            "--input-zero-point",
            "3",
            "--weight-scale",
            "0.01",
            "--weight-zero-point",
            "0",
            "--output-scale",
            "0.1",
            "--output-zero-point",
            "-2",
            "--numerics",
            "pytorch-qnnpack"};
  }

  std::string dir_;
};

TEST_F(CliLinear, MatchesTheLibrary) {
  std::mt19937 rng(5);
  const size_t n = 13, k = 37, o = 9;
  for (const char* mode : {"pytorch-qnnpack", "pytorch-onednn", "pytorch-fbgemm", "tflite"}) {
    const bool s8 = std::string(mode) == "pytorch-qnnpack" || std::string(mode) == "tflite";
    std::vector<uint8_t> x(n * k);
    std::vector<int8_t> w(o * k);
    for (auto& v : x) v = static_cast<uint8_t>(rng());
    for (auto& v : w) v = static_cast<int8_t>(rng());
    std::vector<float> bf(o);
    std::vector<int32_t> bi(o);
    for (size_t i = 0; i < o; i++)
      bf[i] = 0.01f * static_cast<float>(i), bi[i] = 7 * int32_t(i) - 20;
    std::vector<double> ws(o);
    for (size_t i = 0; i < o; i++) ws[i] = 0.001 * static_cast<double>(i + 1);
    const bool per_channel = std::string(mode) != "pytorch-qnnpack";
    const bool int_bias = std::string(mode) == "tflite";
    Save("x.npy", s8 ? QK_NPY_I8 : QK_NPY_U8, {n, k}, x.data());
    Save("w.npy", QK_NPY_I8, {o, k}, w.data());
    Save("ws.npy", QK_NPY_F64, {per_channel ? o : 1}, ws.data());
    if (int_bias) {
      Save("b.npy", QK_NPY_I32, {o}, bi.data());
    } else {
      Save("b.npy", QK_NPY_F32, {o}, bf.data());
    }
    const int32_t xz = s8 ? -3 : 130, oz = s8 ? 5 : 120;
    const Outcome r = Run({"--input",
                           Path("x.npy"),
                           "--weight",
                           Path("w.npy"),
                           "--bias",
                           Path("b.npy"),
                           "--output",
                           Path("y.npy"),
                           "--input-scale",
                           "0.05",
                           "--input-zero-point",
                           std::to_string(xz),
                           "--weight-scales",
                           Path("ws.npy"),
                           "--output-scale",
                           "0.3",
                           "--output-zero-point",
                           std::to_string(oz),
                           "--relu",
                           "--numerics",
                           mode});
    ASSERT_EQ(r.status, 0) << mode << ": " << r.err;
    EXPECT_EQ(r.err, "");
    qk_npy_array y;
    char error[QK_NPY_ERROR_SIZE];
    ASSERT_TRUE(qk_npy_read_file(Path("y.npy").c_str(), &y, error, sizeof(error))) << error;
    ASSERT_EQ(y.ndim, 2u);
    EXPECT_EQ(y.shape[0], n);
    EXPECT_EQ(y.shape[1], o);
    EXPECT_EQ(y.dtype, s8 ? QK_NPY_I8 : QK_NPY_U8);

    qk_linear_desc d;
    qk_linear_desc_init(&d);
    ASSERT_EQ(qk_numerics_from_name(mode, &d.numerics), QK_SUCCESS);
    d.input_channels = k;
    d.output_channels = o;
    d.input_type = d.output_type = s8 ? QK_DTYPE_S8 : QK_DTYPE_U8;
    d.input_scale = 0.05f;
    d.input_zero_point = xz;
    d.weights = w.data();
    d.weight_scale_count = per_channel ? o : 1;
    d.weight_scales = ws.data();
    d.weight_quantization =
        per_channel ? QK_WEIGHT_QUANTIZATION_PER_CHANNEL : QK_WEIGHT_QUANTIZATION_PER_TENSOR;
    d.bias_type = int_bias ? QK_DTYPE_S32 : QK_DTYPE_F32;
    d.bias = int_bias ? static_cast<const void*>(bi.data()) : static_cast<const void*>(bf.data());
    d.output_scale = 0.3f;
    d.output_zero_point = oz;
    d.relu = 1;
    qk_linear* op = nullptr;
    ASSERT_EQ(qk_linear_create(&d, &op), QK_SUCCESS) << qk_last_error();
    std::vector<uint8_t> want(n * o);
    ASSERT_EQ(qk_linear_run(op, n, x.data(), want.data(), nullptr), QK_SUCCESS);
    qk_linear_delete(op);
    EXPECT_EQ(memcmp(y.data, want.data(), want.size()), 0) << mode;
    qk_npy_free(&y);
    unlink(Path("y.npy").c_str());
  }
}

TEST_F(CliLinear, HelpAndUsageErrors) {
  const Outcome h = Run({"--help"});
  EXPECT_EQ(h.status, 0);
  EXPECT_NE(h.out.find("usage: qk linear"), std::string::npos);
  EXPECT_NE(h.out.find("pytorch-onednn"), std::string::npos);
  std::vector<std::string> a = Base();
  a.resize(a.size() - 2);  // no --numerics
  ExpectFailure(a, 2, "missing option --numerics");
  a = Base();
  a.push_back("--weight-scales");
  a.push_back(Path("ws.npy"));
  ExpectFailure(a, 2, "not both");
  a = Base();
  a.push_back("--bogus");
  ExpectFailure(a, 2, "bogus");
  a = Base();
  a.push_back("--weight-quantization");
  a.push_back("per-row");
  ExpectFailure(a, 2, "per-row");
  a = Base();
  a[a.size() - 1] = "pytorch-nothing";
  ExpectFailure(a, 2, "pytorch-nothing");
}

TEST_F(CliLinear, FileAndLibraryErrors) {
  const uint8_t x[6] = {1, 2, 3, 4, 5, 6};
  const int8_t w[6] = {1, 2, 3, 4, 5, 6};
  ExpectFailure(Base(), 1, "x.npy");  // no input file
  Save("x.npy", QK_NPY_I8, {2, 3}, x);
  Save("w.npy", QK_NPY_I8, {3, 2}, w);
  ExpectFailure(Base(), 1, "K = 2");
  Save("w.npy", QK_NPY_I8, {2, 3}, w);
  Save("x3.npy", QK_NPY_I8, {1, 2, 3}, x);
  std::vector<std::string> a = Base();
  a[1] = Path("x3.npy");
  ExpectFailure(a, 1, "[N, K]");
  // pytorch-onednn refuses int8 activations: the library's one line.
  a = Base();
  a[a.size() - 1] = "pytorch-onednn";
  ExpectFailure(a, 1, "linear: pytorch-onednn needs u8 activations");
  // A bias of the wrong dtype for the mode.
  const int32_t b[2] = {1, 2};
  Save("b.npy", QK_NPY_I32, {2}, b);
  a = Base();
  a.push_back("--bias");
  a.push_back(Path("b.npy"));
  ExpectFailure(a, 1, "float32");
  // The weight zero point must fit the weights (int8).
  a = Base();
  a[13] = "200";
  ExpectFailure(a, 2, "weight-zero-point");
  // A passing run on the same files, so the failures above are the ones tested.
  const Outcome ok = Run(Base());
  EXPECT_EQ(ok.status, 0) << ok.err;
  EXPECT_TRUE(Exists("y.npy"));
}

}  // namespace

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  for (int i = 1; i < argc; i++) {
    if (strncmp(argv[i], "--qk=", 5) == 0) g_qk = SplitWords(argv[i] + 5);
  }
  if (g_qk.empty()) {
    if (const char* env = getenv("QK_CLI")) g_qk = SplitWords(env);
  }
  return RUN_ALL_TESTS();
}
