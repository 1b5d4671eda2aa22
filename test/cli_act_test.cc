// qk relu / clamp / hardswish / hardsigmoid / sigmoid / leaky-relu / requantize / cat /
// channel-shuffle: the real binary (QK_CLI, set by test/cli.cmake) on .npy files in a temporary
// directory. Outputs must be the library's bytes on the same data (the library itself is checked
// against PyTorch by activation_test); failures exit 2 (command line) or 1 (anything else) with one
// line on stderr and no output file.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
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

std::string g_dir;

std::string Path(const std::string& name) { return g_dir + "/" + name; }

struct Outcome {
  int status = -1;
  std::string err;
};

Outcome RunQk(const std::vector<std::string>& args) {
  const char* env = getenv("QK_CLI");
  std::vector<std::string> words;
  std::istringstream in(env ? env : "qk");
  for (std::string w; in >> w;) words.push_back(w);
  for (const auto& a : args) words.push_back(a);
  std::vector<char*> argv;
  for (auto& w : words) argv.push_back(&w[0]);
  argv.push_back(nullptr);
  const std::string err_path = Path("stderr.txt");
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 2, err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
  pid_t pid;
  Outcome o;
  if (posix_spawnp(&pid, argv[0], &fa, nullptr, argv.data(), environ) != 0) return o;
  posix_spawn_file_actions_destroy(&fa);
  int ws = 0;
  waitpid(pid, &ws, 0);
  o.status = WIFEXITED(ws) ? WEXITSTATUS(ws) : -1;
  std::ifstream f(err_path);
  std::stringstream ss;
  ss << f.rdbuf();
  o.err = ss.str();
  return o;
}

void Save(const std::string& name, qk_npy_dtype dt, const std::vector<size_t>& shape,
          const std::vector<uint8_t>& data) {
  qk_npy_array a;
  char error[QK_NPY_ERROR_SIZE];
  ASSERT_TRUE(qk_npy_alloc(&a, dt, shape.size(), shape.data(), error, sizeof(error))) << error;
  memcpy(a.data, data.data(), data.size());
  ASSERT_TRUE(qk_npy_write_file(Path(name).c_str(), &a, error, sizeof(error))) << error;
  qk_npy_free(&a);
}

std::vector<uint8_t> Load(const std::string& name) {
  qk_npy_array a;
  char error[QK_NPY_ERROR_SIZE];
  EXPECT_TRUE(qk_npy_read_file(Path(name).c_str(), &a, error, sizeof(error))) << error;
  std::vector<uint8_t> v((uint8_t*)a.data, (uint8_t*)a.data + a.bytes);
  qk_npy_free(&a);
  return v;
}

bool Exists(const std::string& name) {
  struct stat st;
  return stat(Path(name).c_str(), &st) == 0;
}

void ExpectFailure(const std::vector<std::string>& args, int status) {
  unlink(Path("y.npy").c_str());
  const Outcome o = RunQk(args);
  EXPECT_EQ(o.status, status) << o.err;
  EXPECT_EQ(std::count(o.err.begin(), o.err.end(), '\n'), 1) << o.err;
  EXPECT_EQ(o.err.rfind("qk ", 0), 0u) << o.err;
  EXPECT_FALSE(Exists("y.npy")) << "a failed command left its output";
}

class CliAct : public testing::Test {
 protected:
  static void SetUpTestSuite() {
    char tmpl[] = "/tmp/qk_cli_act_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    g_dir = tmpl;
  }
};

// x: N=2, C=5, H=3, W=7 (210 elements: a 64-block body and a tail) NCHW.
std::vector<uint8_t> Data(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<uint8_t> v(n);
  for (auto& b : v) b = (uint8_t)rng();
  return v;
}

TEST_F(CliAct, UnaryOpsMatchLibrary) {
  const std::vector<size_t> shape = {2, 5, 3, 7};
  const std::vector<uint8_t> x = Data(210, 1);
  struct Case {
    const char* cmd;
    qk_unary_op op;
    std::vector<std::string> args;
  };
  const std::vector<Case> cases = {
      {"relu", QK_UNARY_RELU, {}},
      {"clamp", QK_UNARY_CLAMP, {"--min", "-0.25", "--max", "0.5"}},
      {"hardswish", QK_UNARY_HARDSWISH, {"--output-scale", "0.0123", "--output-zero-point", "20"}},
      {"hardsigmoid", QK_UNARY_HARDSIGMOID, {}},
      {"sigmoid", QK_UNARY_SIGMOID, {}},
      {"leaky-relu",
       QK_UNARY_LEAKY_RELU,
       {"--negative-slope", "0.2", "--output-scale", "0.0123", "--output-zero-point", "20"}},
      {"requantize",
       QK_UNARY_REQUANTIZE,
       {"--output-scale", "0.0123", "--output-zero-point", "20"}},
  };
  for (const char* numerics : {"pytorch-qnnpack", "pytorch-onednn-1.13"}) {
    for (int s8 = 0; s8 < 2; s8++) {
      Save("x.npy", s8 ? QK_NPY_I8 : QK_NPY_U8, shape, x);
      for (const Case& c : cases) {
        std::vector<std::string> args = {c.cmd,         "--input",    Path("x.npy"), "--output",
                                         Path("y.npy"), "--scale",    "0.0371",      "--zero-point",
                                         "7",           "--numerics", numerics};
        args.insert(args.end(), c.args.begin(), c.args.end());
        const Outcome o = RunQk(args);
        ASSERT_EQ(o.status, 0) << c.cmd << ": " << o.err;
        qk_unary_desc d;
        qk_unary_desc_init(&d);
        qk_numerics_from_name(numerics, &d.numerics);
        d.op = c.op;
        d.channels = 1;
        d.type = s8 ? QK_DTYPE_S8 : QK_DTYPE_U8;
        d.input_scale = 0.0371;
        d.input_zero_point = 7;
        if (!c.args.empty() && c.op != QK_UNARY_CLAMP) {
          d.output_scale = 0.0123;
          d.output_zero_point = 20;
        }
        if (c.op == QK_UNARY_CLAMP) {
          d.min = -0.25f;
          d.max = 0.5f;
        }
        if (c.op == QK_UNARY_LEAKY_RELU) d.negative_slope = 0.2f;
        qk_unary* op = nullptr;
        ASSERT_EQ(qk_unary_create(&d, &op), QK_SUCCESS) << qk_last_error();
        std::vector<uint8_t> want(210);
        ASSERT_EQ(qk_unary_run(op, 210, x.data(), want.data()), QK_SUCCESS);
        qk_unary_delete(op);
        EXPECT_EQ(Load("y.npy"), want) << c.cmd << " " << numerics;
      }
    }
  }
}

TEST_F(CliAct, NhwcMemoryFormatIsTheChannelsLastOrder) {
  const std::vector<size_t> shape = {1, 3, 5, 29};  // 435 elements
  const std::vector<uint8_t> x = Data(435, 2);
  Save("x.npy", QK_NPY_U8, shape, x);
  const Outcome o =
      RunQk({"hardswish", "--input", Path("x.npy"), "--output", Path("y.npy"), "--scale", "0.1",
             "--zero-point", "128", "--output-scale", "0.07", "--output-zero-point", "3",
             "--numerics", "pytorch-onednn-1.13", "--memory-format", "nhwc"});
  ASSERT_EQ(o.status, 0) << o.err;
  qk_unary_desc d;
  qk_unary_desc_init(&d);
  d.numerics = QK_NUMERICS_PYTORCH_ONEDNN_1_13;
  d.op = QK_UNARY_HARDSWISH;
  d.channels = 3;
  d.type = QK_DTYPE_U8;
  d.input_scale = 0.1;
  d.input_zero_point = 128;
  d.output_scale = 0.07;
  d.output_zero_point = 3;
  qk_unary* op = nullptr;
  ASSERT_EQ(qk_unary_create(&d, &op), QK_SUCCESS);
  std::vector<uint8_t> nhwc(435), y(435);
  for (size_t c = 0; c < 3; c++)
    for (size_t p = 0; p < 145; p++) nhwc[p * 3 + c] = x[c * 145 + p];
  ASSERT_EQ(qk_unary_run(op, 145, nhwc.data(), nhwc.data()), QK_SUCCESS);
  qk_unary_delete(op);
  for (size_t c = 0; c < 3; c++)
    for (size_t p = 0; p < 145; p++) y[c * 145 + p] = nhwc[p * 3 + c];
  EXPECT_EQ(Load("y.npy"), y);
}

TEST_F(CliAct, CatAndChannelShuffle) {
  const std::vector<uint8_t> a = Data(2 * 3 * 4 * 5, 3), b = Data(2 * 2 * 4 * 5, 4);
  Save("a.npy", QK_NPY_I8, {2, 3, 4, 5}, a);
  Save("b.npy", QK_NPY_I8, {2, 2, 4, 5}, b);
  Outcome o =
      RunQk({"cat", "--input", Path("a.npy"), "--input-scale", "0.05", "--input-zero-point", "-3",
             "--input=" + Path("b.npy"), "--input-scale=0.02", "--input-zero-point=9", "--output",
             Path("y.npy"), "--output-scale", "0.04", "--output-zero-point", "1"});
  ASSERT_EQ(o.status, 0) << o.err;
  qk_cat_input ins[2] = {{3, 0.05, -3, 0}, {2, 0.02, 9, 0}};
  qk_cat_desc d;
  qk_cat_desc_init(&d);
  d.numerics = QK_NUMERICS_PYTORCH_FBGEMM;
  d.type = QK_DTYPE_S8;
  d.input_count = 2;
  d.inputs = ins;
  d.output_scale = 0.04;
  d.output_zero_point = 1;
  qk_cat* op = nullptr;
  ASSERT_EQ(qk_cat_create(&d, &op), QK_SUCCESS);
  std::vector<uint8_t> an(a.size()), bn(b.size()), yn(2 * 20 * 5), y(2 * 5 * 20);
  for (size_t n = 0; n < 2; n++)
    for (size_t p = 0; p < 20; p++) {
      for (size_t c = 0; c < 3; c++) an[(n * 20 + p) * 3 + c] = a[(n * 3 + c) * 20 + p];
      for (size_t c = 0; c < 2; c++) bn[(n * 20 + p) * 2 + c] = b[(n * 2 + c) * 20 + p];
    }
  const void* ptrs[2] = {an.data(), bn.data()};
  ASSERT_EQ(qk_cat_run(op, 40, ptrs, yn.data()), QK_SUCCESS);
  qk_cat_delete(op);
  for (size_t n = 0; n < 2; n++)
    for (size_t p = 0; p < 20; p++)
      for (size_t c = 0; c < 5; c++) y[(n * 5 + c) * 20 + p] = yn[(n * 20 + p) * 5 + c];
  EXPECT_EQ(Load("y.npy"), y);

  const std::vector<uint8_t> x = Data(6 * 2 * 3, 5);
  Save("x.npy", QK_NPY_U8, {1, 6, 2, 3}, x);
  o = RunQk(
      {"channel-shuffle", "--input", Path("x.npy"), "--output", Path("y.npy"), "--groups", "2"});
  ASSERT_EQ(o.status, 0) << o.err;
  std::vector<uint8_t> want(x.size());
  for (size_t c = 0; c < 6; c++)  // out channel c = in channel (c % 2) * 3 + c / 2
    for (size_t p = 0; p < 6; p++) want[c * 6 + p] = x[((c % 2) * 3 + c / 2) * 6 + p];
  EXPECT_EQ(Load("y.npy"), want);
}

TEST_F(CliAct, Failures) {
  Save("x.npy", QK_NPY_U8, {1, 2, 2, 2}, Data(8, 6));
  Save("f.npy", QK_NPY_F32, {2}, std::vector<uint8_t>(8, 0));
  const std::string x = Path("x.npy"), y = Path("y.npy");
  ExpectFailure({"relu", "--input", x, "--output", y, "--scale", "0.1"}, 2);  // no --zero-point
  ExpectFailure({"relu", "--input", x, "--output", y, "--scale", "abc", "--zero-point", "1"}, 2);
  ExpectFailure({"relu", "--input", x, "--output", y, "--scale", "-1", "--zero-point", "1"}, 2);
  ExpectFailure({"relu", "--input", x, "--output", y, "--scale", "0.1", "--zero-point", "1",
                 "--output-scale", "0.2"},
                2);
  ExpectFailure(
      {"relu", "--input", x, "--output", y, "--scale", "0.1", "--zero-point", "1", "--min", "0"},
      2);
  ExpectFailure({"hardswish", "--input", x, "--output", y, "--scale", "0.1", "--zero-point", "1"},
                2);
  ExpectFailure({"relu", "--input", x, "--output", y, "--scale", "0.1", "--zero-point", "1",
                 "--memory-format", "nchwc"},
                2);
  ExpectFailure({"relu", "--input", x, "--output", y, "--scale", "0.1", "--zero-point", "1",
                 "--aten-vector-block", "100"},
                2);
  ExpectFailure({"relu", "--input", x, "--output", y, "--scale", "0.1", "--zero-point", "1",
                 "--numerics", "nope"},
                2);
  ExpectFailure({"relu", "--input", Path("missing.npy"), "--output", y, "--scale", "0.1",
                 "--zero-point", "1"},
                1);
  ExpectFailure(
      {"relu", "--input", Path("f.npy"), "--output", y, "--scale", "0.1", "--zero-point", "1"}, 1);
  ExpectFailure({"relu", "--input", x, "--output", y, "--scale", "0.1", "--zero-point", "-1"}, 1);
  ExpectFailure({"sigmoid", "--input", x, "--output", y, "--scale", "0.1", "--zero-point", "1",
                 "--numerics", "tflite"},
                1);  // QK_ERROR_UNSUPPORTED
  ExpectFailure(
      {"hardswish", "--input", x, "--output", y, "--scale", "0.1", "--zero-point", "1",
       "--output-scale", "0.1", "--output-zero-point", "0", "--numerics", "xnnpack"},
      1);  // QK_ERROR_UNSUPPORTED (pytorch-onednn is accepted: verified against torch 2.6)
  ExpectFailure({"cat", "--output", y, "--output-scale", "0.1", "--output-zero-point", "0"}, 2);
  ExpectFailure({"cat", "--input", x, "--input-scale", "0.1", "--output", y, "--output-scale",
                 "0.1", "--output-zero-point", "0"},
                2);
  ExpectFailure({"cat", "--input", x, "--input-scale", "0.1", "--input-zero-point", "3", "--input",
                 Path("f.npy"), "--input-scale", "0.1", "--input-zero-point", "3", "--output", y,
                 "--output-scale", "0.1", "--output-zero-point", "0"},
                1);
  ExpectFailure({"channel-shuffle", "--input", x, "--output", y, "--groups", "0"}, 2);
  ExpectFailure({"channel-shuffle", "--input", x, "--output", y, "--groups", "3"}, 1);
  ExpectFailure({"channel-shuffle", "--input", x, "--output", y}, 2);
  for (const char* cmd : {"relu", "clamp", "hardswish", "hardsigmoid", "sigmoid", "leaky-relu",
                          "requantize", "cat", "channel-shuffle"}) {
    const Outcome o = RunQk({cmd, "--help"});
    EXPECT_EQ(o.status, 0) << cmd;
  }
}

}  // namespace
