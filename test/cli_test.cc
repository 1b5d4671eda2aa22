// Tests of the `qk` command-line tool: the real binary runs as a child process on .npy files in a
// temporary directory. Successful runs must give exactly the bytes the library API gives on the
// same data; failing runs must exit non-zero (2 for a bad command line, 1 otherwise) with exactly
// one line on stderr and leave no output file behind.
//
// The command that runs qk comes from --qk="<words>" or the environment variable QK_CLI (set by
// test/cli.cmake): words separated by spaces, e.g. "qemu-aarch64 -L / /build/qk" when the tests
// run under an emulator.
#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <iostream>
#include <random>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "npy.h"
#include "qk.h"

extern char** environ;

namespace {

std::vector<std::string> g_qk_command;  // set once in main

// The bytes of a C-order array of `shape` rearranged in Fortran (column-major) order.
std::string ToFortran(const void* c_data, const std::vector<size_t>& shape, size_t itemsize) {
  size_t count = 1;
  for (size_t d : shape) count *= d;
  std::string out(count * itemsize, '\0');
  std::vector<size_t> index(shape.size(), 0);
  for (size_t i = 0; i < count; i++) {  // i: C-order position; index: its multi-index
    size_t f = 0;
    for (size_t k = shape.size(); k-- > 0;) f = f * shape[k] + index[k];
    memcpy(&out[f * itemsize], static_cast<const char*>(c_data) + i * itemsize, itemsize);
    for (size_t k = shape.size(); k-- > 0;) {
      if (++index[k] < shape[k]) break;
      index[k] = 0;
    }
  }
  return out;
}

template <typename T>
std::string BytesOf(const std::vector<T>& v) {
  return std::string(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(T));
}

std::vector<std::string> SplitWords(const std::string& text) {
  std::istringstream in(text);
  std::vector<std::string> words;
  for (std::string w; in >> w;) words.push_back(w);
  return words;
}

struct Outcome {
  int status = -1;       // exit status, or -1 if the child did not exit normally
  int signal = 0;        // the signal that terminated the child, 0 if it exited
  long max_rss_kib = 0;  // peak resident set size of the child (getrusage's ru_maxrss)
  std::string out, err;
};

// A started child: its pid and the files its stdout and stderr go to.
struct Child {
  pid_t pid = -1;
  std::string out_path, err_path;
};

// Removes a file, or a directory and everything in it.
void RemoveTree(const std::string& path) {
  struct stat st;
  if (lstat(path.c_str(), &st) != 0) return;
  if (S_ISDIR(st.st_mode)) {
    if (DIR* d = opendir(path.c_str())) {
      std::vector<std::string> names;
      while (dirent* e = readdir(d)) {
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) names.push_back(e->d_name);
      }
      closedir(d);
      for (const std::string& name : names) RemoveTree(path + "/" + name);
    }
    rmdir(path.c_str());
  } else {
    unlink(path.c_str());
  }
}

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

size_t fileSize(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0 ? size_t(st.st_size) : 0;
}

size_t CountLines(const std::string& s) { return std::count(s.begin(), s.end(), '\n'); }

using Env = std::vector<std::pair<std::string, std::string>>;

// The parent's environment without the variables that change qk's behaviour or output (QK_ISA,
// QK_VERBOSE), plus `extra`.
std::vector<std::string> ChildEnvironment(const Env& extra) {
  std::vector<std::string> env;
  for (char** e = environ; *e; e++) {
    const std::string var = *e;
    if (var.rfind("QK_ISA=", 0) == 0 || var.rfind("QK_VERBOSE=", 0) == 0) continue;
    env.push_back(var);
  }
  for (const auto& kv : extra) env.push_back(kv.first + "=" + kv.second);
  return env;
}

// ---------------------------------------------------------------------------------------------
// A temporary directory per test, and the qk runner
// ---------------------------------------------------------------------------------------------
class Cli : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(g_qk_command.empty()) << "set QK_CLI or pass --qk=<command>";
    const char* base = getenv("TMPDIR");
    dir_ = std::string(base && *base ? base : "/tmp") + "/qk_cli_test.XXXXXX";
    ASSERT_NE(mkdtemp(&dir_[0]), nullptr);
  }
  void TearDown() override { RemoveTree(dir_); }

  std::string Path(const std::string& name) const { return dir_ + "/" + name; }
  bool Exists(const std::string& name) const {
    struct stat st;
    return stat(Path(name).c_str(), &st) == 0;
  }
  // The names in the test's directory (or in its subdirectory `sub`), sorted.
  std::vector<std::string> Entries(const std::string& sub = "") const {
    std::vector<std::string> names;
    if (DIR* d = opendir(sub.empty() ? dir_.c_str() : Path(sub).c_str())) {
      while (dirent* e = readdir(d)) {
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) names.push_back(e->d_name);
      }
      closedir(d);
    }
    std::sort(names.begin(), names.end());
    return names;
  }

  // Starts qk with args (file names are used as given: pass Path(...) for files of the test),
  // with stdout and stderr captured in files outside the working set.
  Child Start(const std::vector<std::string>& args, const Env& env = {}) {
    std::vector<std::string> words = g_qk_command;
    words.insert(words.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (std::string& w : words) argv.push_back(&w[0]);
    argv.push_back(nullptr);
    std::vector<std::string> env_strings = ChildEnvironment(env);
    std::vector<char*> envp;
    for (std::string& e : env_strings) envp.push_back(&e[0]);
    envp.push_back(nullptr);

    Child child;
    child.out_path = dir_ + ".stdout";
    child.err_path = dir_ + ".stderr";
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, child.out_path.c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_addopen(&actions, 2, child.err_path.c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    const int rc = posix_spawnp(&child.pid, argv[0], &actions, nullptr, argv.data(), envp.data());
    posix_spawn_file_actions_destroy(&actions);
    EXPECT_EQ(rc, 0) << "cannot start " << argv[0] << ": " << strerror(rc);
    if (rc != 0) child.pid = -1;
    return child;
  }

  // Waits for the child; collects its status, terminating signal, peak RSS and output.
  Outcome Wait(const Child& child) {
    Outcome run;
    if (child.pid < 0) return run;
    int wstatus = 0;
    struct rusage usage;
    memset(&usage, 0, sizeof(usage));
    while (wait4(child.pid, &wstatus, 0, &usage) < 0 && errno == EINTR) {
    }
    run.status = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : -1;
    run.signal = WIFSIGNALED(wstatus) ? WTERMSIG(wstatus) : 0;
    run.max_rss_kib = usage.ru_maxrss;
    run.out = Slurp(child.out_path);
    run.err = Slurp(child.err_path);
    unlink(child.out_path.c_str());
    unlink(child.err_path.c_str());
    return run;
  }

  Outcome Qk(const std::vector<std::string>& args, const Env& env = {}) {
    return Wait(Start(args, env));
  }

  // A successful run: status 0, nothing on stderr.
  void ExpectSuccess(const Outcome& r) {
    EXPECT_EQ(r.status, 0) << "stderr: " << r.err;
    EXPECT_EQ(r.err, "");
  }

  // A refused run: the expected status, one line on stderr containing `words`, and no file in the
  // directory besides the inputs (no output, no temporary file).
  void ExpectFailure(const Outcome& r, int status, const std::string& words,
                     const std::vector<std::string>& inputs_before) {
    EXPECT_EQ(r.status, status) << "stderr: " << r.err;
    EXPECT_EQ(CountLines(r.err), 1u) << "stderr: " << r.err;
    EXPECT_TRUE(!r.err.empty() && r.err.back() == '\n') << r.err;
    EXPECT_NE(r.err.find(words), std::string::npos)
        << "stderr: " << r.err << "expected to contain: " << words;
    EXPECT_EQ(r.out, "");
    EXPECT_EQ(Entries(), inputs_before) << "a failed run must not leave files behind";
  }

  void WriteNpy(const std::string& name, qk_npy_dtype dtype, const std::vector<size_t>& shape,
                const void* data) {
    qk_npy_array a;
    char error[QK_NPY_ERROR_SIZE];
    ASSERT_TRUE(qk_npy_alloc(&a, dtype, shape.size(), shape.data(), error, sizeof(error))) << error;
    if (a.bytes) memcpy(a.data, data, a.bytes);
    ASSERT_TRUE(qk_npy_write_file(Path(name).c_str(), &a, error, sizeof(error))) << error;
    qk_npy_free(&a);
  }
  template <typename T>
  void WriteNpy(const std::string& name, qk_npy_dtype dtype, const std::vector<size_t>& shape,
                const std::vector<T>& values) {
    WriteNpy(name, dtype, shape, values.data());
  }

  // A .npy file written by hand (not by the code under test): the header text NumPy writes,
  // then `data` as given. fortran: the data is column-major (see ToFortran).
  void WriteRawNpy(const std::string& name, const std::string& descr, const std::string& shape,
                   const std::string& data, bool fortran = false) {
    std::string header = "{'descr': '" + descr +
                         "', 'fortran_order': " + (fortran ? "True" : "False") +
                         ", 'shape': " + shape + ", }";
    while ((10 + header.size() + 1) % 64 != 0) header += ' ';
    header += '\n';
    std::string bytes = std::string("\x93") + "NUMPY" + std::string("\x01\x00", 2);
    bytes += static_cast<char>(header.size() & 0xff);
    bytes += static_cast<char>(header.size() >> 8);
    std::ofstream(Path(name), std::ios::binary) << bytes << header << data;
  }

  qk_npy_array ReadNpy(const std::string& name) {
    qk_npy_array a;
    char error[QK_NPY_ERROR_SIZE];
    EXPECT_TRUE(qk_npy_read_file(Path(name).c_str(), &a, error, sizeof(error))) << error;
    return a;
  }

  std::string dir_;
};

// ---------------------------------------------------------------------------------------------
// conv2d: one configuration, run through the CLI and through the API
// ---------------------------------------------------------------------------------------------
struct ConvCase {
  std::string numerics;
  bool s8 = false;  // int8 activations (else uint8)
  size_t n = 1, c = 4, h = 7, w = 6, o = 6, kh = 3, kw = 3, groups = 1;
  std::string stride, padding, dilation;  // CLI text ("" = option absent)
  size_t sh = 1, sw = 1, ph = 0, pw = 0, dh = 1, dw = 1;
  std::string input_scale = "0.05", weight_scale = "0.01", output_scale = "0.1";
  int32_t input_zp = 3, weight_zp = 0, output_zp = 5;
  enum Bias { kNoBias, kFloatBias, kIntBias } bias = kNoBias;
  bool per_channel = false;  // --weight-scales WS.npy
  enum Wz { kNoWz, kWzInt32, kWzInt64 } wz = kNoWz;
  std::vector<int32_t> wz_values;  // per-channel weight zero points when wz != kNoWz
  bool relu = false;
  // Four-sided padding (--padding T,L,B,R): used instead of ph/pw when set.
  bool four_sided = false;
  size_t pt = 0, pl = 0, pb = 0, pr = 0;
  std::string output_min, output_max;  // CLI text ("" = option absent)
  // The form of the --weight-scales file (per_channel only): float32 [O], float64 [O] (what
  // q_per_channel_scales() saves), or one float32 value as shape () / (1,) (per tensor, with
  // ws[0]; the zero points then too: one value wz_values[0], int64, same shape).
  enum WsForm { kWsF32, kWsF64, kWsScalar, kWsOne } ws_form = kWsF32;
  bool fortran = false;  // X and W saved in Fortran order (transposed tensors saved as is)
  std::string weight_quantization;  // --weight-quantization text ("" = absent)
  int api_weight_quantization = 0;  // what the API gets: 0 auto, 1 per tensor, 2 per channel
};

struct ConvData {
  std::vector<uint8_t> x;  // NCHW, raw bytes (uint8 or int8)
  std::vector<int8_t> w;   // OIHW
  std::vector<float> bias_f;
  std::vector<int32_t> bias_i;
  std::vector<float> ws;     // per-channel scales, float32 values
  std::vector<double> ws64;  // per-channel scales with no float32 equivalent (kWsF64)
};

ConvData MakeData(const ConvCase& k, uint32_t seed) {
  std::mt19937 rng(seed);
  ConvData d;
  std::uniform_int_distribution<int> byte(0, 255), weight(-128, 127), bias_i(-2000, 2000);
  std::uniform_real_distribution<float> bias_f(-0.5f, 0.5f), scale(0.004f, 0.02f);
  d.x.resize(k.n * k.c * k.h * k.w);
  for (auto& v : d.x) v = static_cast<uint8_t>(byte(rng));
  d.w.resize(k.o * (k.c / k.groups) * k.kh * k.kw);
  for (auto& v : d.w) v = static_cast<int8_t>(weight(rng));
  for (size_t i = 0; i < k.o; i++) {
    d.bias_f.push_back(bias_f(rng));
    d.bias_i.push_back(bias_i(rng));
    d.ws.push_back(scale(rng));
    d.ws64.push_back(double(scale(rng)) * (1.0 + 1e-12));
  }
  return d;
}

float ParseScale(const std::string& text) { return std::strtof(text.c_str(), nullptr); }

// The API on the same data: NCHW -> NHWC, create, run, NHWC -> NCHW. Returns NCHW bytes and the
// output height/width.
std::vector<uint8_t> ApiConv(const ConvCase& k, const ConvData& d, size_t* oh, size_t* ow) {
  qk_numerics numerics;
  EXPECT_EQ(qk_numerics_from_name(k.numerics.c_str(), &numerics), QK_SUCCESS);
  qk_conv2d_desc desc;
  qk_conv2d_desc_init(&desc);
  desc.numerics = numerics;
  desc.input_channels = k.c;
  desc.output_channels = k.o;
  desc.groups = k.groups;
  desc.kernel_height = k.kh;
  desc.kernel_width = k.kw;
  desc.stride_height = k.sh;
  desc.stride_width = k.sw;
  desc.dilation_height = k.dh;
  desc.dilation_width = k.dw;
  desc.padding_top = desc.padding_bottom = k.ph;
  desc.padding_left = desc.padding_right = k.pw;
  if (k.four_sided) {
    desc.padding_top = k.pt;
    desc.padding_left = k.pl;
    desc.padding_bottom = k.pb;
    desc.padding_right = k.pr;
  }
  if (!k.output_min.empty()) desc.output_min = std::atoi(k.output_min.c_str());
  if (!k.output_max.empty()) desc.output_max = std::atoi(k.output_max.c_str());
#ifdef QK_WEIGHT_QUANTIZATION_API
  desc.weight_quantization = static_cast<qk_weight_quantization>(k.api_weight_quantization);
#endif
  desc.input_type = desc.output_type = k.s8 ? QK_DTYPE_S8 : QK_DTYPE_U8;
  desc.input_scale = ParseScale(k.input_scale);
  desc.input_zero_point = k.input_zp;
  desc.output_scale = ParseScale(k.output_scale);
  desc.output_zero_point = k.output_zp;
  desc.relu = k.relu;
  desc.weights = d.w.data();
  std::vector<double> scales;
  std::vector<int32_t> zps;
  if (k.per_channel && (k.ws_form == ConvCase::kWsScalar || k.ws_form == ConvCase::kWsOne)) {
    scales.push_back(d.ws[0]);
    zps.push_back(k.wz == ConvCase::kNoWz ? 0 : k.wz_values[0]);
  } else if (k.per_channel) {
    if (k.ws_form == ConvCase::kWsF64)
      scales = d.ws64;
    else
      for (float s : d.ws) scales.push_back(s);
    zps = k.wz == ConvCase::kNoWz ? std::vector<int32_t>(k.o, 0) : k.wz_values;
  } else {
    scales.push_back(ParseScale(k.weight_scale));
    zps.push_back(k.weight_zp);
  }
  desc.weight_scale_count = scales.size();
  desc.weight_scales = scales.data();
  desc.weight_zero_points = zps.data();
  if (k.bias == ConvCase::kFloatBias) {
    desc.bias_type = QK_DTYPE_F32;
    desc.bias = d.bias_f.data();
  } else if (k.bias == ConvCase::kIntBias) {
    desc.bias_type = QK_DTYPE_S32;
    desc.bias = d.bias_i.data();
  }
  qk_conv2d* op = nullptr;
  EXPECT_EQ(qk_conv2d_create(&desc, &op), QK_SUCCESS) << qk_last_error();
  if (op == nullptr) return {};
  EXPECT_EQ(qk_conv2d_output_size(op, k.h, k.w, oh, ow), QK_SUCCESS) << qk_last_error();
  const size_t hw = k.h * k.w, ohw = *oh * *ow;
  std::vector<uint8_t> x_nhwc(d.x.size()), y_nhwc(k.n * ohw * k.o), y(k.n * k.o * ohw);
  for (size_t b = 0; b < k.n; b++)
    for (size_t c = 0; c < k.c; c++)
      for (size_t p = 0; p < hw; p++) x_nhwc[(b * hw + p) * k.c + c] = d.x[(b * k.c + c) * hw + p];
  EXPECT_EQ(qk_conv2d_run(op, k.n, k.h, k.w, x_nhwc.data(), y_nhwc.data(), nullptr), QK_SUCCESS)
      << qk_last_error();
  qk_conv2d_delete(op);
  for (size_t b = 0; b < k.n; b++)
    for (size_t o = 0; o < k.o; o++)
      for (size_t p = 0; p < ohw; p++) y[(b * k.o + o) * ohw + p] = y_nhwc[(b * ohw + p) * k.o + o];
  return y;
}

class CliConv2d : public Cli {
 protected:
  // Writes the case's files and returns the full argument list of `qk conv2d`.
  std::vector<std::string> Prepare(const ConvCase& k, const ConvData& d) {
    if (k.fortran) {
      const std::vector<size_t> xs = {k.n, k.c, k.h, k.w}, wsh = {k.o, k.c / k.groups, k.kh, k.kw};
      auto text = [](const std::vector<size_t>& v) {
        return "(" + std::to_string(v[0]) + ", " + std::to_string(v[1]) + ", " +
               std::to_string(v[2]) + ", " + std::to_string(v[3]) + ")";
      };
      WriteRawNpy("x.npy", k.s8 ? "|i1" : "|u1", text(xs), ToFortran(d.x.data(), xs, 1), true);
      WriteRawNpy("w.npy", "|i1", text(wsh), ToFortran(d.w.data(), wsh, 1), true);
    } else {
      WriteNpy("x.npy", k.s8 ? QK_NPY_I8 : QK_NPY_U8, {k.n, k.c, k.h, k.w}, d.x);
      WriteNpy("w.npy", QK_NPY_I8, {k.o, k.c / k.groups, k.kh, k.kw}, d.w);
    }
    std::vector<std::string> args = {"conv2d",      "--input",  Path("x.npy"), "--weight",
                                     Path("w.npy"), "--output", Path("y.npy")};
    if (k.bias == ConvCase::kFloatBias) WriteNpy("b.npy", QK_NPY_F32, {k.o}, d.bias_f);
    if (k.bias == ConvCase::kIntBias) WriteNpy("b.npy", QK_NPY_I32, {k.o}, d.bias_i);
    if (k.bias != ConvCase::kNoBias) args.insert(args.end(), {"--bias", Path("b.npy")});
    if (!k.stride.empty()) args.insert(args.end(), {"--stride", k.stride});
    if (!k.padding.empty()) args.insert(args.end(), {"--padding", k.padding});
    if (!k.output_min.empty()) args.insert(args.end(), {"--output-min", k.output_min});
    if (!k.output_max.empty()) args.insert(args.end(), {"--output-max", k.output_max});
    if (!k.weight_quantization.empty())
      args.insert(args.end(), {"--weight-quantization", k.weight_quantization});
    if (!k.dilation.empty()) args.insert(args.end(), {"--dilation", k.dilation});
    if (k.groups != 1) args.insert(args.end(), {"--groups", std::to_string(k.groups)});
    args.insert(args.end(),
                {"--input-scale", k.input_scale, "--input-zero-point", std::to_string(k.input_zp)});
    if (k.per_channel && (k.ws_form == ConvCase::kWsScalar || k.ws_form == ConvCase::kWsOne)) {
      const std::string shape = k.ws_form == ConvCase::kWsScalar ? "()" : "(1,)";
      WriteRawNpy("ws.npy", "<f4", shape, BytesOf(std::vector<float>{d.ws[0]}));
      args.insert(args.end(), {"--weight-scales", Path("ws.npy")});
      if (k.wz != ConvCase::kNoWz) {
        WriteRawNpy("wz.npy", "<i8", shape, BytesOf(std::vector<int64_t>{k.wz_values[0]}));
        args.insert(args.end(), {"--weight-zero-points", Path("wz.npy")});
      }
    } else if (k.per_channel) {
      if (k.ws_form == ConvCase::kWsF64) {
        WriteRawNpy("ws.npy", "<f8", "(" + std::to_string(k.o) + ",)", BytesOf(d.ws64));
      } else {
        WriteNpy("ws.npy", QK_NPY_F32, {k.o}, d.ws);
      }
      args.insert(args.end(), {"--weight-scales", Path("ws.npy")});
      if (k.wz == ConvCase::kWzInt32) WriteNpy("wz.npy", QK_NPY_I32, {k.o}, k.wz_values);
      if (k.wz == ConvCase::kWzInt64) {
        std::vector<int64_t> wz64(k.wz_values.begin(), k.wz_values.end());
        WriteNpy("wz.npy", QK_NPY_I64, {k.o}, wz64);
      }
      if (k.wz != ConvCase::kNoWz)
        args.insert(args.end(), {"--weight-zero-points", Path("wz.npy")});
    } else {
      args.insert(args.end(), {"--weight-scale", k.weight_scale, "--weight-zero-point",
                               std::to_string(k.weight_zp)});
    }
    args.insert(args.end(), {"--output-scale", k.output_scale, "--output-zero-point",
                             std::to_string(k.output_zp)});
    if (k.relu) args.push_back("--relu");
    args.insert(args.end(), {"--numerics", k.numerics});
    return args;
  }

  void CheckAgainstApi(const ConvCase& k, uint32_t seed = 1) {
    const ConvData d = MakeData(k, seed);
    const Outcome r = Qk(Prepare(k, d));
    ExpectSuccess(r);
    size_t oh = 0, ow = 0;
    const std::vector<uint8_t> expected = ApiConv(k, d, &oh, &ow);
    ASSERT_TRUE(Exists("y.npy"));
    qk_npy_array y = ReadNpy("y.npy");
    EXPECT_EQ(y.dtype, k.s8 ? QK_NPY_I8 : QK_NPY_U8);
    ASSERT_EQ(y.ndim, 4u);
    EXPECT_EQ(y.shape[0], k.n);
    EXPECT_EQ(y.shape[1], k.o);
    EXPECT_EQ(y.shape[2], oh);
    EXPECT_EQ(y.shape[3], ow);
    ASSERT_EQ(y.bytes, expected.size());
    EXPECT_EQ(memcmp(y.data, expected.data(), y.bytes), 0) << "CLI and API outputs differ";
    // The data must exercise the requantization, not saturate to one value.
    if (y.bytes > 1) {
      const uint8_t* p = static_cast<const uint8_t*>(y.data);
      EXPECT_FALSE(std::all_of(p, p + y.bytes, [&](uint8_t v) { return v == p[0]; }));
    }
    qk_npy_free(&y);
  }
};

TEST_F(CliConv2d, FbgemmWithFloatBiasAndPadding) {
  ConvCase k;
  k.numerics = "pytorch-fbgemm";
  k.padding = "1";
  k.ph = k.pw = 1;
  k.bias = ConvCase::kFloatBias;
  CheckAgainstApi(k);
}

TEST_F(CliConv2d, FbgemmGroupsStrideDilationAsymmetricPadding) {
  ConvCase k;
  k.numerics = "pytorch-fbgemm";
  k.c = 6;
  k.o = 9;
  k.groups = 3;
  k.h = 11;
  k.w = 9;
  k.stride = "2";
  k.sh = k.sw = 2;
  k.padding = "2,1";
  k.ph = 2;
  k.pw = 1;
  k.dilation = "2,1";
  k.dh = 2;
  k.dw = 1;
  k.bias = ConvCase::kFloatBias;
  k.relu = true;
  CheckAgainstApi(k);
}

TEST_F(CliConv2d, FbgemmPerChannelScalesAndInt64ZeroPoints) {
  ConvCase k;
  k.numerics = "pytorch-fbgemm";
  k.per_channel = true;
  k.wz = ConvCase::kWzInt64;
  k.wz_values = {0, -3, 5, 127, -128, 1};
  k.n = 2;
  k.stride = "1,2";
  k.sw = 2;
  CheckAgainstApi(k);
}

TEST_F(CliConv2d, QnnpackDepthwisePerChannelInt32ZeroPoints) {
  ConvCase k;
  k.numerics = "pytorch-qnnpack";
  k.c = k.o = k.groups = 5;
  k.padding = "1";
  k.ph = k.pw = 1;
  k.per_channel = true;
  k.wz = ConvCase::kWzInt32;
  k.wz_values = {2, 0, -1, 7, -9};
  k.bias = ConvCase::kFloatBias;
  CheckAgainstApi(k);
}

TEST_F(CliConv2d, QnnpackInt8ActivationsTakeXnnpackNumerics) {
  ConvCase k;
  k.numerics = "pytorch-qnnpack";
  k.s8 = true;
  k.input_zp = -4;
  k.output_zp = -2;
  k.bias = ConvCase::kFloatBias;
  k.relu = true;
  k.padding = "1,0";
  k.ph = 1;
  CheckAgainstApi(k);
}

TEST_F(CliConv2d, OnednnWithBiasAndRelu) {
  ConvCase k;
  k.numerics = "pytorch-onednn";
  k.bias = ConvCase::kFloatBias;
  k.relu = true;
  k.stride = "2,1";
  k.sh = 2;
  CheckAgainstApi(k);
}

TEST_F(CliConv2d, OnnxruntimeInt32BiasAndEqualInt64ZeroPoints) {
  ConvCase k;
  k.numerics = "onnxruntime";
  k.bias = ConvCase::kIntBias;
  k.per_channel = true;
  k.wz = ConvCase::kWzInt64;
  k.wz_values = std::vector<int32_t>(6, 3);
  k.padding = "1";
  k.ph = k.pw = 1;
  CheckAgainstApi(k);
}

TEST_F(CliConv2d, TfliteInt8PerChannelInt32Bias) {
  ConvCase k;
  k.numerics = "tflite";
  k.s8 = true;
  k.input_zp = -128;
  k.output_zp = 10;
  k.per_channel = true;
  k.bias = ConvCase::kIntBias;
  k.padding = "1";
  k.ph = k.pw = 1;
  k.dilation = "2";
  k.dh = k.dw = 2;
  CheckAgainstApi(k);
}

TEST_F(CliConv2d, TfliteUint8PerTensorWithWeightZeroPoint) {
  ConvCase k;
  k.numerics = "tflite";
  k.weight_zp = 7;
  k.bias = ConvCase::kIntBias;
  CheckAgainstApi(k);
}

TEST_F(CliConv2d, BatchedPointwise) {
  ConvCase k;
  k.numerics = "pytorch-fbgemm";
  k.n = 3;
  k.kh = k.kw = 1;
  k.c = 8;
  k.o = 16;
  CheckAgainstApi(k);
}

TEST_F(CliConv2d, HexScalesAndEqualsSyntax) {
  ConvCase k;
  k.numerics = "pytorch-fbgemm";
  k.input_scale = "0x1.99999ap-5";  // 0.05f exactly
  const ConvData d = MakeData(k, 7);
  std::vector<std::string> args = Prepare(k, d);
  for (std::string& a : args) {
    if (a == "--numerics") a = "--numerics=pytorch-fbgemm";
  }
  args.pop_back();  // the separate value of --numerics
  ExpectSuccess(Qk(args));
  size_t oh, ow;
  const std::vector<uint8_t> expected = ApiConv(k, d, &oh, &ow);
  qk_npy_array y = ReadNpy("y.npy");
  ASSERT_EQ(y.bytes, expected.size());
  EXPECT_EQ(memcmp(y.data, expected.data(), y.bytes), 0);
  qk_npy_free(&y);
}

// TFLite SAME padding with an odd total: 8x6 input, 3x3 kernel, stride 2 gives 4x3 outputs and
// needs 1 row and 1 column of padding, both after (bottom, right): --padding 0,0,1,1. Also the
// fused activation range of an int8 TFLite conv (activation_min/max).
TEST_F(CliConv2d, TfliteSamePaddingFourSidedWithActivationRange) {
  ConvCase k;
  k.numerics = "tflite";
  k.s8 = true;
  k.input_zp = -3;
  k.output_zp = 10;
  k.per_channel = true;
  k.bias = ConvCase::kIntBias;
  k.h = 8;
  k.w = 6;
  k.stride = "2";
  k.sh = k.sw = 2;
  k.padding = "0,0,1,1";
  k.four_sided = true;
  k.pb = k.pr = 1;
  k.output_min = "-20";
  k.output_max = "40";
  CheckAgainstApi(k);
  qk_npy_array y = ReadNpy("y.npy");
  EXPECT_EQ(y.shape[2], 4u);
  EXPECT_EQ(y.shape[3], 3u);
  const int8_t* v = static_cast<const int8_t*>(y.data);
  EXPECT_TRUE(std::all_of(v, v + y.count, [](int8_t q) { return q >= -20 && q <= 40; }));
  qk_npy_free(&y);
  // Every side its own value, top and left first (ONNX's pads order).
  k.padding = "2,0,1,3";
  k.pt = 2;
  k.pl = 0;
  k.pb = 1;
  k.pr = 3;
  k.output_min = k.output_max = "";
  k.stride = "1";
  k.sh = k.sw = 1;
  CheckAgainstApi(k);
}

// PyTorch's ReLU6 after a quantized conv: --relu and --output-max q(6).
TEST_F(CliConv2d, QnnpackRelu6) {
  ConvCase k;
  k.numerics = "pytorch-qnnpack";
  k.bias = ConvCase::kFloatBias;
  k.relu = true;
  k.output_scale = "0.05";
  k.output_max = "125";  // 5 + 6 / 0.05
  k.padding = "1";
  k.ph = k.pw = 1;
  CheckAgainstApi(k);
  k.output_min = "7";  // --output-min alone, above the zero point
  k.output_max = "";
  k.relu = false;
  CheckAgainstApi(k, 2);
}

TEST_F(CliConv2d, Float64ScalesAsQPerChannelScalesSaves) {
  ConvCase k;
  k.numerics = "pytorch-fbgemm";
  k.per_channel = true;
  k.ws_form = ConvCase::kWsF64;
  k.wz = ConvCase::kWzInt64;  // q_per_channel_zero_points() is int64
  k.wz_values = {0, 1, -1, 2, 0, 5};
  k.bias = ConvCase::kFloatBias;
  CheckAgainstApi(k);
}

// ONNX's per-tensor QLinearConv keeps its scale and zero point in files as well: shape () or
// (1,), one value for every channel. With uint8 tflite (per tensor only) a per-channel reading
// would be refused by the library.
TEST_F(CliConv2d, OneValueScaleAndZeroPointFilesArePerTensor) {
  for (ConvCase::WsForm form : {ConvCase::kWsScalar, ConvCase::kWsOne}) {
    for (const char* numerics : {"onnxruntime", "tflite"}) {
      SCOPED_TRACE(std::string(numerics) + (form == ConvCase::kWsScalar ? " ()" : " (1,)"));
      ConvCase k;
      k.numerics = numerics;
      k.per_channel = true;
      k.ws_form = form;
      k.wz = ConvCase::kWzInt64;
      k.wz_values = {4};
      k.bias = ConvCase::kIntBias;
      k.padding = "1";
      k.ph = k.pw = 1;
      CheckAgainstApi(k);
      unlink(Path("y.npy").c_str());
    }
  }
}

// Transposed tensors saved as they are (np.save of x.transpose(...) keeps fortran_order True
// when the result is column-major): the same output as C-order files.
TEST_F(CliConv2d, FortranOrderInputAndWeight) {
  ConvCase k;
  k.numerics = "pytorch-fbgemm";
  k.fortran = true;
  k.n = 2;
  k.c = 4;
  k.o = 5;
  k.h = 9;
  k.w = 7;
  k.kh = 3;
  k.kw = 2;
  k.bias = ConvCase::kFloatBias;
  CheckAgainstApi(k);
  k.numerics = "pytorch-qnnpack";
  k.s8 = true;
  k.input_zp = -1;
  k.output_zp = 0;
  CheckAgainstApi(k, 4);
}

#ifdef QK_WEIGHT_QUANTIZATION_API
// One output channel: PyTorch's per-channel weight (q_per_channel_scales of shape (1,)) and a
// per-tensor one are different computations in some modes (fbgemm); the file's shape (1,) is
// per channel unless --weight-quantization per-tensor says otherwise.
TEST_F(CliConv2d, WeightQuantizationOption) {
  ConvCase k;
  k.numerics = "pytorch-fbgemm";
  k.o = 1;
  k.per_channel = true;
  k.bias = ConvCase::kFloatBias;
  k.api_weight_quantization = QK_WEIGHT_QUANTIZATION_PER_CHANNEL;
  CheckAgainstApi(k);  // ws.npy of shape (1,), no option: per channel
  k.weight_quantization = "per-channel";
  CheckAgainstApi(k);
  k.weight_quantization = "per-tensor";
  k.api_weight_quantization = QK_WEIGHT_QUANTIZATION_PER_TENSOR;
  CheckAgainstApi(k);
  // A shape () file is per tensor without the option.
  k.weight_quantization = "";
  k.ws_form = ConvCase::kWsScalar;
  CheckAgainstApi(k);
  // uint8 tflite is per tensor only: the library refuses a (1,) file read as per channel, and
  // takes it with per-tensor (so the option does reach the descriptor).
  ConvCase u;
  u.numerics = "tflite";
  u.o = 1;
  u.per_channel = true;
  u.ws_form = ConvCase::kWsOne;
  u.bias = ConvCase::kIntBias;
  const ConvData ud = MakeData(u, 3);
  const std::vector<std::string> u_args = Prepare(u, ud);
  RemoveTree(Path("y.npy"));
  ExpectFailure(Qk(u_args), 1, "takes per-channel weights with int8 activations only", Entries());
  std::vector<std::string> u_tensor = u_args;
  u_tensor.insert(u_tensor.end(), {"--weight-quantization", "per-tensor"});
  ExpectSuccess(Qk(u_tensor));
  // --weight-scale F with per-channel: the value holds for every channel.
  ConvCase t;
  t.numerics = "pytorch-fbgemm";
  t.weight_quantization = "per-channel";
  t.bias = ConvCase::kFloatBias;
  const ConvData d = MakeData(t, 9);
  ExpectSuccess(Qk(Prepare(t, d)));
  ConvCase api = t;  // the API run: per channel with six equal scales and zero points
  api.per_channel = true;
  api.weight_quantization = "";
  api.api_weight_quantization = QK_WEIGHT_QUANTIZATION_PER_CHANNEL;
  api.wz = ConvCase::kWzInt32;
  api.wz_values = std::vector<int32_t>(6, t.weight_zp);
  ConvData dd = d;
  dd.ws = std::vector<float>(6, ParseScale(t.weight_scale));
  size_t oh, ow;
  const std::vector<uint8_t> expected = ApiConv(api, dd, &oh, &ow);
  qk_npy_array y = ReadNpy("y.npy");
  ASSERT_EQ(y.bytes, expected.size());
  EXPECT_EQ(memcmp(y.data, expected.data(), y.bytes), 0);
  qk_npy_free(&y);
}
#endif

// ---- conv2d failures ----
class CliConv2dErrors : public CliConv2d {
 protected:
  void SetUp() override {
    CliConv2d::SetUp();
    base_.numerics = "pytorch-fbgemm";
    base_.bias = ConvCase::kFloatBias;
    data_ = MakeData(base_, 3);
    args_ = Prepare(base_, data_);
    inputs_ = Entries();
  }
  // The base command with option `name` given `value` (added if absent; "" removes it).
  std::vector<std::string> With(const std::string& name, const std::string& value) const {
    std::vector<std::string> args = args_;
    auto it = std::find(args.begin(), args.end(), name);
    if (it == args.end()) {
      if (!value.empty()) args.insert(args.end(), {name, value});
    } else if (value.empty()) {
      args.erase(it, it + 2);
    } else {
      *(it + 1) = value;
    }
    return args;
  }
  void ExpectUsageError(const std::vector<std::string>& args, const std::string& words) {
    ExpectFailure(Qk(args), 2, words, inputs_);
  }
  void ExpectError(const std::vector<std::string>& args, const std::string& words,
                   const Env& env = {}) {
    ExpectFailure(Qk(args, env), 1, words, inputs_);
  }
  ConvCase base_;
  ConvData data_;
  std::vector<std::string> args_, inputs_;
};

TEST_F(CliConv2dErrors, BaseCommandSucceeds) {
  ExpectSuccess(Qk(args_));
  EXPECT_TRUE(Exists("y.npy"));
}

TEST_F(CliConv2dErrors, MissingUnknownAndDuplicateOptions) {
  ExpectUsageError(With("--input", ""), "missing option --input");
  ExpectUsageError(With("--weight", ""), "missing option --weight");
  ExpectUsageError(With("--output", ""), "missing option --output");
  ExpectUsageError(With("--numerics", ""), "missing option --numerics");
  ExpectUsageError(With("--input-scale", ""), "missing option --input-scale");
  ExpectUsageError(With("--output-zero-point", ""), "missing option --output-zero-point");
  ExpectUsageError(With("--weight-zero-point", ""), "missing option --weight-zero-point");
  ExpectUsageError(With("--weight-scale", ""), "missing option --weight-scale");
  ExpectUsageError(With("--bogus", "1"), "unknown option '--bogus'");
  std::vector<std::string> twice = args_;
  twice.insert(twice.end(), {"--input", Path("x.npy")});
  ExpectUsageError(twice, "option --input given twice");
  std::vector<std::string> relu_twice = args_;
  relu_twice.insert(relu_twice.end(), {"--relu", "--relu"});
  ExpectUsageError(relu_twice, "option --relu given twice");
  std::vector<std::string> positional = args_;
  positional.push_back("extra");
  ExpectUsageError(positional, "unexpected argument 'extra'");
  std::vector<std::string> no_value = args_;
  no_value.push_back("--groups");
  ExpectUsageError(no_value, "option --groups needs a value");
  std::vector<std::string> relu_value = args_;
  relu_value.push_back("--relu=1");
  ExpectUsageError(relu_value, "option --relu takes no value");
  ExpectUsageError(With("--weight-scales", Path("ws.npy")), "not both");
  ExpectUsageError(With("--weight-zero-points", Path("wz.npy")), "goes with --weight-scales");
  ExpectUsageError(With("--output", "--relu"), "option --output needs a value");
}

TEST_F(CliConv2dErrors, BadNumbers) {
  ExpectUsageError(With("--input-scale", "1.5x"), "--input-scale '1.5x' is not a number");
  ExpectUsageError(With("--input-scale", " 0.5"), "is not a number");
  ExpectUsageError(With("--input-scale", "0"), "must be a positive, finite float32");
  ExpectUsageError(With("--output-scale", "-0.1"), "must be a positive, finite float32");
  ExpectUsageError(With("--weight-scale", "nan"), "must be a positive, finite float32");
  ExpectUsageError(With("--weight-scale", "inf"), "must be a positive, finite float32");
  ExpectUsageError(With("--input-scale", "1e60"), "must be a positive, finite float32");
  ExpectUsageError(With("--input-zero-point", "12abc"), "is not an integer");
  ExpectUsageError(With("--input-zero-point", "1.0"), "is not an integer");
  ExpectUsageError(With("--input-zero-point", "1000"), "outside [-128, 255]");
  ExpectUsageError(With("--output-zero-point", "99999999999999999999"), "outside");
  ExpectUsageError(With("--weight-zero-point", "128"), "outside [-128, 127]");
  ExpectUsageError(With("--stride", "0"), "--stride 0 is outside");
  ExpectUsageError(With("--stride", "1,2,3"), "must be N or N,M");
  ExpectUsageError(With("--stride", "2,"), "is not an integer");
  ExpectUsageError(With("--stride", "99999999999"), "outside");
  ExpectUsageError(With("--padding", "-1"), "--padding -1 is outside");
  ExpectUsageError(With("--dilation", "a,b"), "is not an integer");
  ExpectUsageError(With("--groups", "0"), "--groups 0 is outside");
  ExpectUsageError(With("--numerics", "pytorch"), "--numerics 'pytorch' is not one of");
}

TEST_F(CliConv2dErrors, BadFiles) {
  ExpectError(With("--input", Path("missing.npy")), "missing.npy: cannot open");
  ExpectError(With("--weight", Path("ws-missing.npy")), "ws-missing.npy: cannot open");
  {
    std::ofstream(Path("garbage.npy")) << "not an npy file\n";
    inputs_ = Entries();
    ExpectError(With("--input", Path("garbage.npy")), "garbage.npy: not a .npy file");
  }
  {
    const std::string bytes = Slurp(Path("x.npy"));
    std::ofstream(Path("cut.npy"), std::ios::binary) << bytes.substr(0, bytes.size() - 1);
    inputs_ = Entries();
    ExpectError(With("--input", Path("cut.npy")), "cut.npy: truncated data");
  }
}

TEST_F(CliConv2dErrors, WrongDtypesAndRanks) {
  const std::vector<float> f(4 * 7 * 6, 0.5f);
  WriteNpy("xf.npy", QK_NPY_F32, {1, 4, 7, 6}, f);
  WriteNpy("x3.npy", QK_NPY_U8, {4, 7, 6}, data_.x);
  WriteNpy("wu.npy", QK_NPY_U8, {6, 4, 3, 3}, data_.w);
  WriteNpy("w3.npy", QK_NPY_I8, {6, 4, 9}, data_.w);
  WriteNpy("bi.npy", QK_NPY_I32, {6}, data_.bias_i);
  WriteNpy("b2.npy", QK_NPY_F32, {2, 3}, data_.bias_f);
  inputs_ = Entries();
  ExpectError(With("--input", Path("xf.npy")), "the input must be uint8 or int8, got float32");
  ExpectError(With("--input", Path("x3.npy")), "the input must be 4-D NCHW, got shape (4, 7, 6)");
  ExpectError(With("--weight", Path("wu.npy")), "the weight must be int8, got uint8");
  ExpectError(With("--weight", Path("w3.npy")), "the weight must be 4-D OIHW");
  ExpectError(With("--bias", Path("bi.npy")),
              "the bias must be float32 with --numerics pytorch-fbgemm, got int32");
  ExpectError(With("--bias", Path("b2.npy")), "the bias must be 1-D vector");
}

TEST_F(CliConv2dErrors, ShapeMismatches) {
  WriteNpy("w5.npy", QK_NPY_I8, {6, 3, 3, 3}, data_.w);
  WriteNpy("b5.npy", QK_NPY_F32, {5}, data_.bias_f);
  inputs_ = Entries();
  ExpectError(With("--weight", Path("w5.npy")), "the weight has 3 input channels per group");
  ExpectError(With("--groups", "2"), "the weight has 4 input channels per group");
  ExpectError(With("--groups", "3"), "--groups 3 does not divide the 4 input channels");
  ExpectError(With("--groups", "4"), "--groups 4 does not divide the 6 output channels");
  ExpectError(With("--bias", Path("b5.npy")),
              "the bias has 5 values, the output channel count O is 6");
  // The 3x3 kernel does not fit a 7x6 image with dilation 4: the library refuses the run.
  ExpectError(With("--dilation", "4"), "empty output");
}

TEST_F(CliConv2dErrors, PerChannelParameterFiles) {
  std::vector<std::string> per_channel = With("--weight-scale", "");
  per_channel = [&] {
    std::vector<std::string> a = per_channel;
    auto it = std::find(a.begin(), a.end(), "--weight-zero-point");
    a.erase(it, it + 2);
    return a;
  }();
  const std::vector<float> ws(6, 0.01f), ws5(5, 0.01f);
  const std::vector<int32_t> wz_bad = {0, 0, 300, 0, 0, 0}, ws_int(6, 1);
  const std::vector<int64_t> wz_huge = {0, 0, 0, 0, 0, int64_t(1) << 40};
  const std::vector<float> wz_float(6, 0.0f),
      ws_negative = {0.01f, 0.01f, -0.01f, 0.01f, 0.01f, 0.01f};
  WriteNpy("ws.npy", QK_NPY_F32, {6}, ws);
  WriteNpy("ws5.npy", QK_NPY_F32, {5}, ws5);
  WriteNpy("wsi.npy", QK_NPY_I32, {6}, ws_int);
  WriteNpy("wsn.npy", QK_NPY_F32, {6}, ws_negative);
  WriteNpy("wzbad.npy", QK_NPY_I32, {6}, wz_bad);
  WriteNpy("wzhuge.npy", QK_NPY_I64, {6}, wz_huge);
  WriteNpy("wzf.npy", QK_NPY_F32, {6}, wz_float);
  inputs_ = Entries();
  auto with = [&](std::vector<std::string> extra) {
    std::vector<std::string> a = per_channel;
    a.insert(a.end(), extra.begin(), extra.end());
    return a;
  };
  ExpectSuccess(Qk(with({"--weight-scales", Path("ws.npy")})));
  unlink(Path("y.npy").c_str());
  ExpectError(with({"--weight-scales", Path("ws5.npy")}), "the weight scales has 5 values");
  ExpectError(
      with({"--weight-scales", Path("wsi.npy")}),
      "the scales must be float32 or float64, got int32: save it with wsi.astype(np.float32)");
  ExpectError(with({"--weight-scales", Path("wsn.npy")}), "weight_scales[2]");
  ExpectError(with({"--weight-scales", Path("ws.npy"), "--weight-zero-points", Path("wzbad.npy")}),
              "zero point [2] = 300 is outside the int8 range");
  ExpectError(with({"--weight-scales", Path("ws.npy"), "--weight-zero-points", Path("wzhuge.npy")}),
              "zero point [5] = 1099511627776 is outside");
  ExpectError(with({"--weight-scales", Path("ws.npy"), "--weight-zero-points", Path("wzf.npy")}),
              "the zero points must be int32 or int64, got float32");
  ExpectUsageError(with({"--weight-zero-points", Path("wzbad.npy")}),
                   "missing option --weight-scale");
}

TEST_F(CliConv2dErrors, ZeroPointsOutsideTheInputType) {
  WriteNpy("xs.npy", QK_NPY_I8, {1, 4, 7, 6}, data_.x);
  inputs_ = Entries();
  std::vector<std::string> s8 = With("--input", Path("xs.npy"));
  s8 = [&] {  // int8 activations with qnnpack, so only the zero points are wrong
    auto a = s8;
    *(std::find(a.begin(), a.end(), "--numerics") + 1) = "pytorch-qnnpack";
    return a;
  }();
  auto set = [](std::vector<std::string> a, const std::string& name, const std::string& v) {
    *(std::find(a.begin(), a.end(), name) + 1) = v;
    return a;
  };
  ExpectError(set(s8, "--input-zero-point", "200"),
              "--input-zero-point 200 is outside the int8 range [-128, 127]");
  ExpectError(set(s8, "--output-zero-point", "128"),
              "--output-zero-point 128 is outside the int8 range");
  ExpectError(With("--input-zero-point", "-1"), "is outside the uint8 range [0, 255]");
}

TEST_F(CliConv2dErrors, LibraryRefusals) {
  WriteNpy("xs.npy", QK_NPY_I8, {1, 4, 7, 6}, data_.x);
  inputs_ = Entries();
  // fbgemm convolutions take quint8 only.
  ExpectError(With("--input", Path("xs.npy")), "pytorch-fbgemm needs u8 activations");
  // onednn needs symmetric weights.
  std::vector<std::string> onednn = With("--weight-zero-point", "3");
  *(std::find(onednn.begin(), onednn.end(), "--numerics") + 1) = "pytorch-onednn";
  ExpectError(onednn, "pytorch-onednn needs weight zero points of 0");
  // An invalid QK_ISA makes operator creation fail.
  ExpectError(args_, "unknown ISA 'bogus'", {{"QK_ISA", "bogus"}});
}

TEST_F(CliConv2dErrors, UnwritableOutput) {
  ExpectError(With("--output", Path("no-such-dir/y.npy")), "no-such-dir/y.npy: cannot create");
}

TEST_F(CliConv2dErrors, PaddingOutputRangeAndNumericsOptions) {
  ExpectUsageError(With("--padding", "1,2,3"), "--padding '1,2,3' must be P, PH,PW or T,L,B,R");
  ExpectUsageError(With("--padding", "1,2,3,4,5"), "must be P, PH,PW or T,L,B,R");
  ExpectUsageError(With("--padding", "1,,2,3"), "--padding '' is not an integer");
  ExpectUsageError(With("--padding", "0,0,0,"), "is not an integer");
  ExpectUsageError(With("--padding", "0,-1,0,0"), "--padding -1 is outside [0, 2147483647]");
  ExpectUsageError(With("--padding", "0,0,0,99999999999"), "--padding 99999999999 is outside");
  ExpectUsageError(With("--padding", "1,2,3,x4"), "--padding 'x4' is not an integer");
  ExpectUsageError(With("--stride", "1,1,1,1"), "--stride '1,1,1,1' must be N or N,M");
  ExpectUsageError(With("--output-min", "300"), "--output-min 300 is outside [-128, 255]");
  ExpectUsageError(With("--output-max", "-129"), "--output-max -129 is outside [-128, 255]");
  ExpectUsageError(With("--output-max", "6.0"), "--output-max '6.0' is not an integer");
  std::vector<std::string> empty_range = With("--output-min", "10");
  empty_range.insert(empty_range.end(), {"--output-max", "5"});
  ExpectUsageError(empty_range, "--output-min 10 is greater than --output-max 5");
  std::vector<std::string> twice = With("--output-max", "10");
  twice.insert(twice.end(), {"--output-max", "11"});
  ExpectUsageError(twice, "option --output-max given twice");
  // The range must suit X's dtype (uint8 here), like the zero points.
  ExpectError(With("--output-min", "-1"), "--output-min -1 is outside the uint8 range [0, 255]");
  // One value: the output is that constant (a valid, if odd, activation range).
  std::vector<std::string> constant = With("--output-min", "77");
  constant.insert(constant.end(), {"--output-max", "77"});
  ExpectSuccess(Qk(constant));
  qk_npy_array y = ReadNpy("y.npy");
  const uint8_t* v = static_cast<const uint8_t*>(y.data);
  EXPECT_TRUE(std::all_of(v, v + y.count, [](uint8_t q) { return q == 77; }));
  qk_npy_free(&y);
  unlink(Path("y.npy").c_str());
  // The --numerics message lists the library's modes, asked of the library.
  ExpectUsageError(With("--numerics", "pytorch"), "(docs/numerics.md: which mode)");
  for (int m = 1; m < 16; m++) {
    if (const char* name = qk_numerics_name(static_cast<qk_numerics>(m))) {
      ExpectUsageError(With("--numerics", "torch"), name);
    }
  }
}

#ifdef QK_WEIGHT_QUANTIZATION_API
TEST_F(CliConv2dErrors, WeightQuantizationErrors) {
  ExpectUsageError(With("--weight-quantization", "per-row"),
                   "--weight-quantization 'per-row' is not per-tensor or per-channel");
  ExpectUsageError(With("--weight-quantization", "Per-Tensor"), "is not per-tensor or per-channel");
  std::vector<std::string> per_channel = With("--weight-scale", "");
  auto it = std::find(per_channel.begin(), per_channel.end(), "--weight-zero-point");
  per_channel.erase(it, it + 2);
  WriteNpy("ws.npy", QK_NPY_F32, {6}, std::vector<float>(6, 0.01f));
  WriteNpy("wz.npy", QK_NPY_I32, {6}, std::vector<int32_t>(6, 0));
  WriteRawNpy("ws1.npy", "<f4", "(1,)", BytesOf(std::vector<float>{0.01f}));
  inputs_ = Entries();
  std::vector<std::string> a = per_channel;
  a.insert(a.end(), {"--weight-scales", Path("ws.npy"), "--weight-quantization", "per-tensor"});
  ExpectError(a, "--weight-quantization per-tensor needs one weight scale and zero point, " +
                     Path("ws.npy") + " has 6 values");
  a = per_channel;
  a.insert(a.end(), {"--weight-scales", Path("ws1.npy"), "--weight-zero-points", Path("wz.npy"),
                     "--weight-quantization", "per-tensor"});
  ExpectError(a, Path("wz.npy") + " has 6 values");
  // Per-channel from the zero points' shape alone: ws1 (one scale) repeated for the 6 channels.
  a = per_channel;
  a.insert(a.end(), {"--weight-scales", Path("ws1.npy"), "--weight-zero-points", Path("wz.npy")});
  ExpectSuccess(Qk(a));
}
#else
TEST_F(CliConv2dErrors, WeightQuantizationNeedsTheLibraryField) {
  ExpectUsageError(With("--weight-quantization", "per-tensor"),
                   "unknown option '--weight-quantization'");
}
#endif

TEST_F(CliConv2dErrors, WrongDtypesComeWithAHint) {
  std::vector<int64_t> x64(data_.x.begin(), data_.x.end());
  std::vector<double> xf(data_.x.size(), 0.5);
  std::vector<uint8_t> wu(data_.w.size(), 1);
  std::vector<float> wf(data_.w.size(), 0.5f);
  std::vector<double> b64(data_.bias_f.begin(), data_.bias_f.end());
  std::vector<int64_t> bi64(6, 7);
  WriteRawNpy("xi64.npy", "<i8", "(1, 4, 7, 6)", BytesOf(x64));
  WriteRawNpy("xf64.npy", "<f8", "(1, 4, 7, 6)", BytesOf(xf));
  WriteRawNpy("wu.npy", "|u1", "(6, 4, 3, 3)", BytesOf(wu));
  WriteRawNpy("wf.npy", "<f4", "(6, 4, 3, 3)", BytesOf(wf));
  WriteRawNpy("b64.npy", "<f8", "(6,)", BytesOf(b64));
  WriteRawNpy("bi64.npy", "<i8", "(6,)", BytesOf(bi64));
  WriteRawNpy("2-x.npy", "<i4", "(1, 4, 7, 6)", std::string(4 * 168, '\0'));
  inputs_ = Entries();
  ExpectError(With("--input", Path("xi64.npy")),
              "xi64.npy: the input must be uint8 or int8, got int64: save it with "
              "xi64.astype(np.uint8) (or np.int8 for signed activations) if the values fit");
  ExpectError(With("--input", Path("xf64.npy")),
              "the input must be uint8 or int8, got float64: it holds real values, quantize it "
              "first (qk quantize --dtype u8 or s8)");
  ExpectError(With("--input", Path("2-x.npy")), "got int32: save it with a.astype(np.uint8)");
  ExpectError(With("--weight", Path("wu.npy")),
              "the weight must be int8, got uint8: save it with wu.astype(np.int8) if the values "
              "fit in [-128, 127]");
  ExpectError(With("--weight", Path("wf.npy")), "got float32: it holds real values, quantize it");
  ExpectError(With("--bias", Path("b64.npy")),
              "the bias must be float32 with --numerics pytorch-fbgemm, got float64: save it with "
              "b64.astype(np.float32)");
  std::vector<std::string> onnx = With("--bias", Path("bi64.npy"));
  *(std::find(onnx.begin(), onnx.end(), "--numerics") + 1) = "onnxruntime";
  ExpectError(onnx,
              "the bias must be int32 with --numerics onnxruntime, got int64: save it with "
              "bi64.astype(np.int32)");
  *(std::find(onnx.begin(), onnx.end(), "--bias") + 1) = Path("b64.npy");
  ExpectError(onnx, "got float64: this mode adds the quantized bias");
}

// Scale and zero-point files: every shape or value that is not what it must be is refused.
TEST_F(CliConv2dErrors, HostileParameterFiles) {
  std::vector<std::string> per_channel = With("--weight-scale", "");
  auto it = std::find(per_channel.begin(), per_channel.end(), "--weight-zero-point");
  per_channel.erase(it, it + 2);
  auto with = [&](std::vector<std::string> extra) {
    std::vector<std::string> a = per_channel;
    a.insert(a.end(), extra.begin(), extra.end());
    return a;
  };
  const std::vector<double> good(6, 0.01);
  std::vector<double> nan_scale = good, inf_scale = good, zero_scale = good;
  nan_scale[3] = NAN;
  inf_scale[1] = INFINITY;
  zero_scale[5] = 0.0;
  WriteRawNpy("ws23.npy", "<f8", "(2, 3)", BytesOf(good));
  WriteRawNpy("ws11.npy", "<f4", "(1, 1)", BytesOf(std::vector<float>{0.01f}));
  WriteRawNpy("ws0.npy", "<f8", "(0,)", "");
  WriteRawNpy("wsnan.npy", "<f8", "(6,)", BytesOf(nan_scale));
  WriteRawNpy("wsinf.npy", "<f8", "(6,)", BytesOf(inf_scale));
  WriteRawNpy("wszero.npy", "<f8", "(6,)", BytesOf(zero_scale));
  WriteRawNpy("wscut.npy", "<f8", "(6,)", BytesOf(good).substr(0, 47));
  WriteRawNpy("wslong.npy", "<f8", "(6,)", BytesOf(good) + "!");
  WriteRawNpy("wslie.npy", "<f8", "(600000000000,)", BytesOf(good));
  WriteRawNpy("wsf.npy", "<f8", "(6,)", BytesOf(good), true);  // Fortran 1-D: fine
  WriteRawNpy("wz1.npy", "<i8", "()", BytesOf(std::vector<int64_t>{-129}));
  WriteRawNpy("wzbig.npy", "<i8", "(1,)", BytesOf(std::vector<int64_t>{INT64_MIN}));
  WriteRawNpy("wzf.npy", "<f8", "(6,)", BytesOf(good));
  inputs_ = Entries();
  ExpectError(with({"--weight-scales", Path("ws23.npy")}),
              "ws23.npy: the weight scales must be 1-D vector (or one value), got shape (2, 3)");
  ExpectError(with({"--weight-scales", Path("ws11.npy")}), "got shape (1, 1)");
  ExpectError(with({"--weight-scales", Path("ws0.npy")}),
              "the weight scales has 0 values, the output channel count O is 6 (or give one "
              "value for all)");
  ExpectError(with({"--weight-scales", Path("wsnan.npy")}), "weight_scales[3]");
  ExpectError(with({"--weight-scales", Path("wsinf.npy")}), "weight_scales[1]");
  ExpectError(with({"--weight-scales", Path("wszero.npy")}), "weight_scales[5]");
  ExpectError(with({"--weight-scales", Path("wscut.npy")}), "wscut.npy: truncated data");
  ExpectError(with({"--weight-scales", Path("wslong.npy")}), "wslong.npy: 1 unexpected bytes");
  ExpectError(with({"--weight-scales", Path("wslie.npy")}), "wslie.npy: truncated data");
  ExpectError(with({"--weight-scales", Path("wsf.npy"), "--weight-zero-points", Path("wz1.npy")}),
              "wz1.npy: zero point [0] = -129 is outside the int8 range [-128, 127]");
  ExpectError(with({"--weight-scales", Path("wsf.npy"), "--weight-zero-points", Path("wzbig.npy")}),
              "zero point [0] = -9223372036854775808 is outside");
  ExpectError(with({"--weight-scales", Path("wsf.npy"), "--weight-zero-points", Path("wzf.npy")}),
              "the zero points must be int32 or int64, got float64: save it with "
              "wzf.astype(np.int32) (zero points are integers)");
  ExpectSuccess(Qk(with({"--weight-scales", Path("wsf.npy")})));
}

// The input is read straight into the library's layout: a lying or damaged X is still refused,
// whatever its order, and no output appears.
TEST_F(CliConv2dErrors, HostileInputFiles) {
  const std::string fortran = ToFortran(data_.x.data(), {1, 4, 7, 6}, 1);
  WriteRawNpy("xcut.npy", "|u1", "(1, 4, 7, 6)", fortran.substr(0, fortran.size() - 1), true);
  WriteRawNpy("xlong.npy", "|u1", "(1, 4, 7, 6)", fortran + "xx", true);
  WriteRawNpy("xlie.npy", "|u1", "(1, 4, 70000, 60000)", fortran, true);
  WriteRawNpy("x5.npy", "|u1", "(1, 1, 4, 7, 6)", fortran, true);
  WriteRawNpy("xover.npy", "|u1", "(4294967296, 4294967296, 1, 2)", fortran);
  inputs_ = Entries();
  ExpectError(With("--input", Path("xcut.npy")),
              "xcut.npy: truncated data: shape (1, 4, 7, 6) of uint8 needs 168 bytes, the file "
              "has 167");
  ExpectError(With("--input", Path("xlong.npy")), "xlong.npy: 2 unexpected bytes after the data");
  ExpectError(With("--input", Path("xlie.npy")), "xlie.npy: truncated data");
  ExpectError(With("--input", Path("x5.npy")),
              "the input must be 4-D NCHW, got shape (1, 1, 4, 7, 6)");
  ExpectError(With("--input", Path("xover.npy")),
              "xover.npy: shape (4294967296, 4294967296, 1, 2) "
              "of uint8 overflows");
  // From a pipe the size is only known while reading: a short one fails then, with no output.
  const std::string bytes = Slurp(Path("xcut.npy"));
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  ASSERT_EQ(write(fds[1], bytes.data(), bytes.size()), ssize_t(bytes.size()));
  close(fds[1]);
  // The child inherits the read end (no O_CLOEXEC) and opens it by its /proc name.
  ExpectError(With("--input", "/proc/self/fd/" + std::to_string(fds[0])), "truncated data");
  close(fds[0]);
}

// ---- outputs: names, symbolic links, signals (issue 13) ----
TEST_F(CliConv2dErrors, OutputNamesUpToNameMax) {
  // The temporary file must not be named after the output: a 250-character name (and one of
  // NAME_MAX = 255) worked with numpy.save but not with qk, whose temporary name was longer.
  for (size_t length : {250, 255}) {
    const std::string name = std::string(length - 4, 'y') + ".npy";
    ExpectSuccess(Qk(With("--output", Path(name))));
    std::vector<std::string> expected = inputs_;
    expected.push_back(name);
    std::sort(expected.begin(), expected.end());
    EXPECT_EQ(Entries(), expected) << length;
    unlink(Path(name).c_str());
  }
  // One more than NAME_MAX is the file system's refusal, reported as such.
  ExpectError(With("--output", Path(std::string(252, 'y') + ".npy")), "File name too long");
}

std::string LinkTarget(const std::string& path) {
  char buffer[4096];
  const ssize_t n = readlink(path.c_str(), buffer, sizeof(buffer));
  return n < 0 ? std::string("(not a link)") : std::string(buffer, size_t(n));
}

TEST_F(CliConv2dErrors, OutputSymlinksAreWrittenThrough) {
  ExpectSuccess(Qk(args_));
  const std::string expected = Slurp(Path("y.npy"));
  unlink(Path("y.npy").c_str());
  ASSERT_EQ(mkdir(Path("real").c_str(), 0700), 0);
  std::ofstream(Path("real/old.npy")) << "old content\n";
  ASSERT_EQ(chmod(Path("real/old.npy").c_str(), 0640), 0);
  // link.npy -> real/old.npy (relative to the link's directory), chain.npy -> link.npy,
  // dangling.npy -> real/new.npy (absent), dir.npy -> real (a directory).
  ASSERT_EQ(symlink("real/old.npy", Path("link.npy").c_str()), 0);
  ASSERT_EQ(symlink(Path("link.npy").c_str(), Path("chain.npy").c_str()), 0);
  ASSERT_EQ(symlink("real/new.npy", Path("dangling.npy").c_str()), 0);
  ASSERT_EQ(symlink("real", Path("dir.npy").c_str()), 0);
  ASSERT_EQ(symlink("loop2.npy", Path("loop1.npy").c_str()), 0);
  ASSERT_EQ(symlink("loop1.npy", Path("loop2.npy").c_str()), 0);
  inputs_ = Entries();

  ExpectSuccess(Qk(With("--output", Path("link.npy"))));
  EXPECT_EQ(LinkTarget(Path("link.npy")), "real/old.npy") << "the link itself must stay";
  EXPECT_EQ(Slurp(Path("real/old.npy")), expected) << "the link's target gets the output";
  struct stat st;
  ASSERT_EQ(stat(Path("real/old.npy").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0640u) << "an overwritten file keeps its permissions";

  std::ofstream(Path("real/old.npy")) << "old content\n";
  ExpectSuccess(Qk(With("--output", Path("chain.npy"))));
  EXPECT_EQ(LinkTarget(Path("chain.npy")), Path("link.npy"));
  EXPECT_EQ(Slurp(Path("real/old.npy")), expected) << "a chain of links is followed to its end";

  ExpectSuccess(Qk(With("--output", Path("dangling.npy"))));
  EXPECT_EQ(LinkTarget(Path("dangling.npy")), "real/new.npy");
  EXPECT_EQ(Slurp(Path("real/new.npy")), expected) << "a dangling link's target is created";
  EXPECT_EQ(Entries(), inputs_);
  EXPECT_EQ(Entries("real"), (std::vector<std::string>{"new.npy", "old.npy"}));
  unlink(Path("real/new.npy").c_str());

  // A link to a directory, and a loop of links: refused, nothing left anywhere.
  ExpectError(With("--output", Path("dir.npy")), "dir.npy: cannot replace");
  EXPECT_EQ(Entries("real"), std::vector<std::string>{"old.npy"});
  ExpectError(With("--output", Path("loop1.npy")), "loop1.npy: cannot resolve");
}

// A large depthwise convolution (1 x 64 x size x size uint8, 3x3, padding 1): big enough that
// writing its output takes a while and that its peak memory is dominated by the tensors.
class CliLarge : public Cli {
 protected:
  std::vector<std::string> PrepareLarge(size_t size) {
    std::mt19937 rng(5);
    std::vector<uint8_t> x(64 * size * size);
    for (size_t i = 0; i < x.size(); i += 4) {
      const uint32_t r = rng();
      memcpy(&x[i], &r, std::min<size_t>(4, x.size() - i));
    }
    std::vector<int8_t> w(64 * 9);
    for (auto& v : w) v = static_cast<int8_t>(rng());
    WriteNpy("x.npy", QK_NPY_U8, {1, 64, size, size}, x);
    WriteNpy("w.npy", QK_NPY_I8, {64, 1, 3, 3}, w);
    return {"conv2d",
            "--input",
            Path("x.npy"),
            "--weight",
            Path("w.npy"),
            "--output",
            Path("y.npy"),
            "--padding",
            "1",
            "--groups",
            "64",
            "--input-scale",
            "0.02",
            "--input-zero-point",
            "128",
            "--weight-scale",
            "0.01",
            "--weight-zero-point",
            "0",
            "--output-scale",
            "0.05",
            "--output-zero-point",
            "120",
            "--numerics",
            "pytorch-qnnpack"};
  }
};

TEST_F(CliLarge, PeakMemoryIsAboutInputPlusOutput) {
  if (g_qk_command.size() > 1) GTEST_SKIP() << "under an emulator the peak RSS is the emulator's";
  const size_t size = 1024, tensor = 64 * size * size;  // 64 MiB in, 64 MiB out
  const std::vector<std::string> args = PrepareLarge(size);
  const Outcome r = Qk(args);
  ExpectSuccess(r);
  EXPECT_EQ(fileSize(Path("y.npy")), tensor + 128);
  // Input + output + a bounded rest (program, library, weights, workspace, I/O buffers). A
  // sanitizer build adds its shadow memory (1/8) and allocator overhead.
#if defined(__SANITIZE_ADDRESS__)
  const size_t bound = 2 * tensor + 2 * tensor / 8 + (64 << 20);
#else
  const size_t bound = 2 * tensor + (16 << 20);
#endif
  std::cout << "[ measured ] qk conv2d 1x64x" << size << "x" << size << " u8: peak RSS "
            << r.max_rss_kib / 1024 << " MiB = " << double(r.max_rss_kib) * 1024 / double(tensor)
            << " x the input tensor (bound " << bound / (1 << 20) << " MiB)" << std::endl;
  EXPECT_LE(size_t(r.max_rss_kib) * 1024, bound);
}

TEST_F(CliLarge, SignalsDuringTheWriteLeaveNoFile) {
  const std::vector<std::string> args = PrepareLarge(1024);
  const std::vector<std::string> inputs = Entries();
  for (int sig : {SIGTERM, SIGINT, SIGHUP}) {
    SCOPED_TRACE(strsignal(sig));
    bool interrupted = false;  // the signal arrived while the temporary file was being written
    for (int attempt = 0; attempt < 5 && !interrupted; attempt++) {
      const Child child = Start(args);
      // Wait for the temporary file to appear (any new name but the output's), then signal.
      bool seen = false;
      for (;;) {
        const std::vector<std::string> now = Entries();
        if (now.size() > inputs.size()) {
          seen = std::find(now.begin(), now.end(), "y.npy") == now.end();
          break;
        }
        siginfo_t info;
        memset(&info, 0, sizeof(info));
        if (waitid(P_PID, child.pid, &info, WEXITED | WNOHANG | WNOWAIT) != 0 || info.si_pid != 0) {
          break;  // it has ended already
        }
      }
      if (seen) kill(child.pid, sig);
      const Outcome r = Wait(child);
      if (seen && r.signal == sig && !Exists("y.npy")) {
        interrupted = true;
        EXPECT_EQ(Entries(), inputs) << "the temporary file must be removed";
        EXPECT_EQ(r.err, "");
      } else {  // too late (the output was complete): try again
        unlink(Path("y.npy").c_str());
      }
    }
    EXPECT_TRUE(interrupted) << "the signal never arrived during the write";
    for (const std::string& name : Entries()) {
      if (std::find(inputs.begin(), inputs.end(), name) == inputs.end()) {
        unlink(Path(name).c_str());
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// quantize / dequantize
// ---------------------------------------------------------------------------------------------
class CliQuant : public Cli {
 protected:
  std::vector<float> Floats(size_t n, uint32_t seed) {
    std::mt19937 rng(seed);
    std::uniform_real_distribution<float> dist(-3.0f, 3.0f);
    std::vector<float> v(n);
    for (auto& x : v) x = dist(rng);
    return v;
  }
};

TEST_F(CliQuant, PerTensorRoundTripMatchesTheApi) {
  const std::vector<size_t> shape = {2, 3, 5};
  const std::vector<float> x = Floats(30, 1);
  WriteNpy("x.npy", QK_NPY_F32, shape, x);
  struct Mode {
    const char* numerics;
    qk_numerics mode;
  };
  for (const Mode m :
       {Mode{"pytorch-fbgemm", QK_NUMERICS_PYTORCH_FBGEMM},
        Mode{"onnxruntime", QK_NUMERICS_ONNXRUNTIME}, Mode{"tflite", QK_NUMERICS_TFLITE}}) {
    SCOPED_TRACE(m.numerics);
    ExpectSuccess(Qk({"quantize", "--input", Path("x.npy"), "--output", Path("q.npy"), "--dtype",
                      "u8", "--scale", "0.025", "--zero-point", "128", "--numerics", m.numerics}));
    const double scale = std::strtof("0.025", nullptr);
    const int32_t zp = 128;
    std::vector<uint8_t> q(30);
    ASSERT_EQ(qk_quantize(m.mode, QK_DTYPE_U8, 1, 30, 1, x.data(), 1, &scale, &zp, q.data()),
              QK_SUCCESS);
    qk_npy_array qa = ReadNpy("q.npy");
    EXPECT_EQ(qa.dtype, QK_NPY_U8);
    ASSERT_EQ(qa.ndim, 3u);
    EXPECT_EQ(qa.shape[2], 5u);
    ASSERT_EQ(qa.bytes, q.size());
    EXPECT_EQ(memcmp(qa.data, q.data(), q.size()), 0);
    qk_npy_free(&qa);

    ExpectSuccess(Qk({"dequantize", "--input", Path("q.npy"), "--output", Path("y.npy"), "--scale",
                      "0.025", "--zero-point", "128", "--numerics", m.numerics}));
    std::vector<float> y(30);
    ASSERT_EQ(qk_dequantize(m.mode, QK_DTYPE_U8, 1, 30, 1, q.data(), 1, &scale, &zp, y.data()),
              QK_SUCCESS);
    qk_npy_array ya = ReadNpy("y.npy");
    EXPECT_EQ(ya.dtype, QK_NPY_F32);
    ASSERT_EQ(ya.bytes, y.size() * sizeof(float));
    EXPECT_EQ(memcmp(ya.data, y.data(), ya.bytes), 0);
    for (size_t i = 0; i < 30; i++) {  // in range: the round trip is within half a step
      EXPECT_LE(std::fabs(static_cast<const float*>(ya.data)[i] - x[i]), 0.0125f + 1e-6f);
    }
    qk_npy_free(&ya);
  }
}

TEST_F(CliQuant, PerAxisWithInt64ZeroPointsMatchesTheApi) {
  const std::vector<size_t> shape = {2, 3, 4};
  const std::vector<float> x = Floats(24, 2);
  const std::vector<float> scales = {0.02f, 0.03f, 0.05f};
  const std::vector<int64_t> zps = {-5, 0, 7};
  WriteNpy("x.npy", QK_NPY_F32, shape, x);
  WriteNpy("s.npy", QK_NPY_F32, {3}, scales);
  WriteNpy("z.npy", QK_NPY_I64, {3}, zps);
  for (const char* axis : {"1", "-2"}) {
    ExpectSuccess(
        Qk({"quantize", "--input", Path("x.npy"), "--output", Path("q.npy"), "--dtype", "s8",
            "--scales", Path("s.npy"), "--zero-points", Path("z.npy"), "--axis", axis}));
    const double s[3] = {scales[0], scales[1], scales[2]};
    const int32_t z[3] = {-5, 0, 7};
    std::vector<int8_t> q(24);
    ASSERT_EQ(
        qk_quantize(QK_NUMERICS_PYTORCH_FBGEMM, QK_DTYPE_S8, 2, 3, 4, x.data(), 3, s, z, q.data()),
        QK_SUCCESS);
    qk_npy_array qa = ReadNpy("q.npy");
    EXPECT_EQ(qa.dtype, QK_NPY_I8);
    ASSERT_EQ(qa.bytes, q.size());
    EXPECT_EQ(memcmp(qa.data, q.data(), q.size()), 0);
    qk_npy_free(&qa);

    ExpectSuccess(Qk({"dequantize", "--input", Path("q.npy"), "--output", Path("y.npy"), "--scales",
                      Path("s.npy"), "--zero-points", Path("z.npy"), "--axis", axis}));
    std::vector<float> y(24);
    ASSERT_EQ(qk_dequantize(QK_NUMERICS_PYTORCH_FBGEMM, QK_DTYPE_S8, 2, 3, 4, q.data(), 3, s, z,
                            y.data()),
              QK_SUCCESS);
    qk_npy_array ya = ReadNpy("y.npy");
    ASSERT_EQ(ya.bytes, 24 * sizeof(float));
    EXPECT_EQ(memcmp(ya.data, y.data(), ya.bytes), 0);
    qk_npy_free(&ya);
  }
}

TEST_F(CliQuant, Int32ScalarsAndEmptyArrays) {
  const float scalar = 12.5f;
  WriteNpy("s.npy", QK_NPY_F32, {}, &scalar);
  ExpectSuccess(Qk({"quantize", "--input", Path("s.npy"), "--output", Path("q.npy"), "--dtype",
                    "s32", "--scale", "0.5", "--zero-point", "-100000"}));
  qk_npy_array q = ReadNpy("q.npy");
  EXPECT_EQ(q.dtype, QK_NPY_I32);
  EXPECT_EQ(q.ndim, 0u);
  EXPECT_EQ(*static_cast<int32_t*>(q.data), 25 - 100000);
  qk_npy_free(&q);
  ExpectSuccess(Qk({"dequantize", "--input", Path("q.npy"), "--output", Path("d.npy"), "--scale",
                    "0.5", "--zero-point", "-100000"}));
  qk_npy_array d = ReadNpy("d.npy");
  EXPECT_EQ(d.dtype, QK_NPY_F32);
  EXPECT_EQ(*static_cast<float*>(d.data), 12.5f);
  qk_npy_free(&d);

  WriteNpy("e.npy", QK_NPY_F32, {3, 0}, nullptr);
  WriteNpy("es.npy", QK_NPY_F32, {3}, std::vector<float>{1, 1, 1});
  ExpectSuccess(Qk({"quantize", "--input", Path("e.npy"), "--output", Path("eq.npy"), "--dtype",
                    "u8", "--scales", Path("es.npy"), "--axis", "0"}));
  qk_npy_array e = ReadNpy("eq.npy");
  EXPECT_EQ(e.ndim, 2u);
  EXPECT_EQ(e.shape[0], 3u);
  EXPECT_EQ(e.count, 0u);
  qk_npy_free(&e);
}

// Per-tensor parameters as files of one value (ONNX's QuantizeLinear with a scalar scale),
// float64 scales, and a Fortran-order input: all read as what they mean.
TEST_F(CliQuant, OneValueFilesFloat64ScalesAndFortranInput) {
  const std::vector<size_t> shape = {3, 4};
  const std::vector<float> x = Floats(12, 5);
  WriteRawNpy("xf.npy", "<f4", "(3, 4)", ToFortran(x.data(), shape, 4), true);
  WriteNpy("x.npy", QK_NPY_F32, shape, x);
  WriteRawNpy("s.npy", "<f8", "()", BytesOf(std::vector<double>{0.03}));
  WriteRawNpy("z.npy", "<i8", "(1,)", BytesOf(std::vector<int64_t>{-7}));
  WriteRawNpy("s4.npy", "<f8", "(4,)", BytesOf(std::vector<double>{0.01, 0.02, 0.03, 0.04}));
  for (const char* input : {"x.npy", "xf.npy"}) {
    SCOPED_TRACE(input);
    ExpectSuccess(Qk({"quantize", "--input", Path(input), "--output", Path("q.npy"), "--dtype",
                      "s8", "--scales", Path("s.npy"), "--zero-points", Path("z.npy"), "--axis",
                      "1", "--numerics", "onnxruntime"}));
    const double scale = 0.03;  // the double from the file, not a float
    const int32_t zp = -7;
    std::vector<int8_t> q(12);
    ASSERT_EQ(qk_quantize(QK_NUMERICS_ONNXRUNTIME, QK_DTYPE_S8, 1, 12, 1, x.data(), 1, &scale, &zp,
                          q.data()),
              QK_SUCCESS);
    qk_npy_array qa = ReadNpy("q.npy");
    ASSERT_EQ(qa.bytes, q.size());
    EXPECT_EQ(memcmp(qa.data, q.data(), q.size()), 0);
    qk_npy_free(&qa);

    ExpectSuccess(Qk({"quantize", "--input", Path(input), "--output", Path("q4.npy"), "--dtype",
                      "u8", "--scales", Path("s4.npy"), "--axis", "-1"}));
    const double s4[4] = {0.01, 0.02, 0.03, 0.04};
    const int32_t z4[4] = {0, 0, 0, 0};
    std::vector<uint8_t> q4(12);
    ASSERT_EQ(qk_quantize(QK_NUMERICS_PYTORCH_FBGEMM, QK_DTYPE_U8, 3, 4, 1, x.data(), 4, s4, z4,
                          q4.data()),
              QK_SUCCESS);
    qk_npy_array q4a = ReadNpy("q4.npy");
    ASSERT_EQ(q4a.bytes, q4.size());
    EXPECT_EQ(memcmp(q4a.data, q4.data(), q4.size()), 0);
    qk_npy_free(&q4a);
  }
  // Dequantize with the same one-value files.
  ExpectSuccess(Qk({"dequantize", "--input", Path("q.npy"), "--output", Path("d.npy"), "--scales",
                    Path("s.npy"), "--zero-points", Path("z.npy"), "--axis", "0"}));
  qk_npy_array q = ReadNpy("q.npy");
  std::vector<float> expected(12);
  const double scale = 0.03;
  const int32_t zp = -7;
  ASSERT_EQ(qk_dequantize(QK_NUMERICS_PYTORCH_FBGEMM, QK_DTYPE_S8, 1, 12, 1, q.data, 1, &scale, &zp,
                          expected.data()),
            QK_SUCCESS);
  qk_npy_free(&q);
  qk_npy_array d = ReadNpy("d.npy");
  ASSERT_EQ(d.bytes, 48u);
  EXPECT_EQ(memcmp(d.data, expected.data(), 48), 0);
  qk_npy_free(&d);
}

TEST_F(CliQuant, WrongDtypesComeWithAHint) {
  WriteRawNpy("x64.npy", "<f8", "(2,)", BytesOf(std::vector<double>{1, 2}));
  WriteRawNpy("q64.npy", "<i8", "(2,)", BytesOf(std::vector<int64_t>{1, 2}));
  WriteRawNpy("si.npy", "<i4", "(2,)", BytesOf(std::vector<int32_t>{1, 2}));
  WriteRawNpy("s22.npy", "<f4", "(2, 2)", BytesOf(std::vector<float>{1, 2, 3, 4}));
  const std::vector<std::string> inputs = Entries();
  ExpectFailure(Qk({"quantize", "--input", Path("x64.npy"), "--output", Path("o.npy"), "--dtype",
                    "u8", "--scale", "1", "--zero-point", "0"}),
                1, "the input must be float32, got float64: save it with x64.astype(np.float32)",
                inputs);
  ExpectFailure(Qk({"dequantize", "--input", Path("q64.npy"), "--output", Path("o.npy"), "--scale",
                    "1", "--zero-point", "0"}),
                1, "got int64: save it with q64.astype(np.int32) if the values fit", inputs);
  ExpectFailure(Qk({"dequantize", "--input", Path("x64.npy"), "--output", Path("o.npy"), "--scale",
                    "1", "--zero-point", "0"}),
                1, "got float64: it is not quantized (qk quantize makes it so)", inputs);
  ExpectFailure(Qk({"quantize", "--input", Path("x64.npy"), "--output", Path("o.npy"), "--dtype",
                    "u8", "--scales", Path("si.npy"), "--axis", "0"}),
                1, "the input must be float32", inputs);
  WriteRawNpy("x.npy", "<f4", "(2,)", BytesOf(std::vector<float>{1, 2}));
  const std::vector<std::string> inputs2 = Entries();
  ExpectFailure(Qk({"quantize", "--input", Path("x.npy"), "--output", Path("o.npy"), "--dtype",
                    "u8", "--scales", Path("si.npy"), "--axis", "0"}),
                1,
                "the scales must be float32 or float64, got int32: save it with "
                "si.astype(np.float32)",
                inputs2);
  ExpectFailure(Qk({"quantize", "--input", Path("x.npy"), "--output", Path("o.npy"), "--dtype",
                    "u8", "--scales", Path("s22.npy"), "--axis", "0"}),
                1, "the scales must be 1-D vector (or one value), got shape (2, 2)", inputs2);
}

TEST_F(CliQuant, Failures) {
  const std::vector<float> x = {0.5f, NAN, 1.0f, 2.0f};
  const std::vector<float> ok = {0.5f, 0.25f, 1.0f, 2.0f};
  const std::vector<uint8_t> q = {1, 2, 3, 4};
  WriteNpy("nan.npy", QK_NPY_F32, {2, 2}, x);
  WriteNpy("x.npy", QK_NPY_F32, {2, 2}, ok);
  WriteNpy("q.npy", QK_NPY_I8, {2, 2}, q);
  WriteNpy("s3.npy", QK_NPY_F32, {3}, std::vector<float>{1, 1, 1});
  WriteNpy("s2.npy", QK_NPY_F32, {2}, std::vector<float>{1, 1});
  WriteNpy("z2.npy", QK_NPY_I32, {2}, std::vector<int32_t>{0, 200});
  const std::vector<std::string> inputs = Entries();
  const std::string in = Path("x.npy"), out = Path("out.npy");
  auto usage = [&](const std::vector<std::string>& args, const std::string& words) {
    ExpectFailure(Qk(args), 2, words, inputs);
  };
  auto error = [&](const std::vector<std::string>& args, const std::string& words) {
    ExpectFailure(Qk(args), 1, words, inputs);
  };
  usage({"quantize", "--input", in, "--output", out, "--scale", "1", "--zero-point", "0"},
        "missing option --dtype");
  usage({"quantize", "--input", in, "--output", out, "--dtype", "u16", "--scale", "1",
         "--zero-point", "0"},
        "--dtype 'u16' is not one of u8, s8, s32");
  usage({"quantize", "--input", in, "--output", out, "--dtype", "u8", "--scale", "1",
         "--zero-point", "300"},
        "--zero-point 300 is outside [0, 255]");
  usage({"quantize", "--input", in, "--output", out, "--dtype", "u8", "--scales", Path("s2.npy")},
        "missing option --axis");
  usage({"quantize", "--input", in, "--output", out, "--dtype", "u8", "--scale", "1"},
        "missing option --zero-point");
  usage({"quantize", "--input", in, "--output", out, "--dtype", "u8", "--scale", "1",
         "--zero-point", "0", "--axis", "0"},
        "go with --scales");
  usage({"quantize", "--input", in, "--output", out, "--dtype", "u8", "--scale", "1",
         "--zero-point", "0", "--numerics", "torch"},
        "--numerics 'torch' is not one of");
  usage({"quantize", "--input", in, "--output", out, "--dtype", "u8", "--scales", Path("s2.npy"),
         "--axis", "9"},
        "--axis 9 is outside [-8, 7]");
  usage({"dequantize", "--input", Path("q.npy"), "--output", out, "--dtype", "s8", "--scale", "1",
         "--zero-point", "0"},
        "dequantize takes no --dtype");
  error({"quantize", "--input", Path("q.npy"), "--output", out, "--dtype", "u8", "--scale", "1",
         "--zero-point", "0"},
        "the input must be float32, got int8");
  error({"quantize", "--input", Path("nan.npy"), "--output", out, "--dtype", "u8", "--scale", "1",
         "--zero-point", "0"},
        "is NaN");
  error({"quantize", "--input", in, "--output", out, "--dtype", "s32", "--scale", "1",
         "--zero-point", "0", "--numerics", "tflite"},
        "tflite quantizes to 8-bit types only");
  error({"quantize", "--input", in, "--output", out, "--dtype", "u8", "--scales", Path("s2.npy"),
         "--axis", "2"},
        "--axis 2 is out of range for the 2-D input");
  error({"quantize", "--input", in, "--output", out, "--dtype", "u8", "--scales", Path("s3.npy"),
         "--axis", "0"},
        "the scales has 3 values, the size of the axis is 2");
  error({"quantize", "--input", in, "--output", out, "--dtype", "s8", "--scales", Path("s2.npy"),
         "--zero-points", Path("z2.npy"), "--axis", "-1"},
        "zero point [1] = 200 is outside the int8 range");
  error({"dequantize", "--input", Path("x.npy"), "--output", out, "--scale", "1", "--zero-point",
         "0"},
        "the input must be uint8, int8 or int32, got float32");
  error({"dequantize", "--input", Path("q.npy"), "--output", out, "--scale", "1", "--zero-point",
         "255"},
        "--zero-point 255 is outside the int8 range [-128, 127]");
}

// ---------------------------------------------------------------------------------------------
// info, help, version, top level
// ---------------------------------------------------------------------------------------------
TEST_F(Cli, InfoPrintsEveryField) {
  const Outcome r = Qk({"info"});
  ExpectSuccess(r);
  EXPECT_NE(r.out.find(std::string("version: ") + qk_version_string() + "\n"), std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find(std::string("cpu: ") + qk_cpu_name() + "\n"), std::string::npos);
  EXPECT_NE(r.out.find("cpu features: "), std::string::npos);
  EXPECT_NE(r.out.find(std::string("compiled isas: ") + qk_compiled_isas() + "\n"),
            std::string::npos);
  EXPECT_NE(r.out.find("selected isa: "), std::string::npos);
  EXPECT_NE(r.out.find("reason: "), std::string::npos);

  const Outcome forced = Qk({"info"}, {{"QK_ISA", "generic"}});
  ExpectSuccess(forced);
  EXPECT_NE(forced.out.find("selected isa: generic\n"), std::string::npos) << forced.out;
  EXPECT_NE(forced.out.find("reason: QK_ISA"), std::string::npos) << forced.out;
}

TEST_F(Cli, InfoFailsOnAnInvalidIsa) {
  const Outcome r = Qk({"info"}, {{"QK_ISA", "bogus"}});
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(CountLines(r.err), 1u) << r.err;
  EXPECT_NE(r.err.find("qk info: QK_ISA=bogus: unknown ISA 'bogus'"), std::string::npos) << r.err;
  EXPECT_NE(r.out.find("selected isa: none\n"), std::string::npos) << r.out;
}

TEST_F(Cli, HelpOfEveryCommand) {
  for (const std::vector<std::string>& args :
       std::vector<std::vector<std::string>>{{"--help"},
                                             {"-h"},
                                             {"info", "--help"},
                                             {"conv2d", "--help"},
                                             {"quantize", "--help"},
                                             {"dequantize", "--help"},
                                             {"conv2d", "--input", "x.npy", "--help"}}) {
    const Outcome r = Qk(args);
    ExpectSuccess(r);
    EXPECT_NE(r.out.find("usage: qk"), std::string::npos) << args[0];
    EXPECT_NE(r.out.find("exit status"), std::string::npos) << args[0];
  }
  const Outcome conv = Qk({"conv2d", "--help"});
  for (const char* word : {"--input X.npy",
                           "--weight W.npy",
                           "--bias B.npy",
                           "--output Y.npy",
                           "--stride S|SH,SW",
                           "--padding P|PH,PW",
                           "--dilation D|DH,DW",
                           "--groups G",
                           "--input-scale F",
                           "--input-zero-point I",
                           "--weight-scale F",
                           "--weight-zero-point I",
                           "--weight-scales WS.npy",
                           "--weight-zero-points WZ.npy",
                           "--output-scale F",
                           "--output-zero-point I",
                           "--relu",
                           "--output-min I",
                           "--output-max I",
                           "--padding P|PH,PW|T,L,B,R",
                           "T,L,B,R pads each side",
                           "float32 or float64",
                           "one value (shape () or (1,))",
                           "Fortran order",
                           "--numerics MODE"}) {
    EXPECT_NE(conv.out.find(word), std::string::npos) << word;
  }
#ifdef QK_WEIGHT_QUANTIZATION_API
  EXPECT_NE(conv.out.find("--weight-quantization per-tensor|per-channel"), std::string::npos);
#else
  EXPECT_EQ(conv.out.find("--weight-quantization"), std::string::npos)
      << "the option exists only with a library that has qk_conv2d_desc.weight_quantization";
#endif
  // Every mode of the library, asked of the library (qk_numerics_name), in --help and qk info.
  const Outcome info = Qk({"info"});
  ExpectSuccess(info);
  size_t modes = 0;  // values 1..15: qk_numerics's range (forming one past it is UB in C++)
  for (int v = 1; v < 16; v++) {
    const char* name = qk_numerics_name(static_cast<qk_numerics>(v));
    if (name == nullptr) continue;
    modes++;
    EXPECT_NE(conv.out.find(std::string(" ") + name), std::string::npos) << name;
    EXPECT_NE(info.out.find(std::string(" ") + name), std::string::npos) << name;
  }
  EXPECT_GE(modes, 5u);
  const size_t line = info.out.find("numerics modes: ");
  ASSERT_NE(line, std::string::npos) << info.out;
  EXPECT_EQ(std::count(info.out.begin() + long(line), info.out.end(), ' '), long(modes) + 1)
      << "one line, the modes separated by spaces: " << info.out.substr(line);
  EXPECT_TRUE(Entries().empty());
}

TEST_F(Cli, VersionAndBadCommands) {
  const Outcome v = Qk({"--version"});
  ExpectSuccess(v);
  EXPECT_EQ(v.out, std::string("qk ") + qk_version_string() + "\n");
  ExpectFailure(Qk({}), 2, "missing command", {});
  ExpectFailure(Qk({"convolve"}), 2, "unknown command 'convolve'", {});
  ExpectFailure(Qk({"info", "--bogus"}), 2, "unknown option '--bogus'", {});
  // A file name with a newline still gives one line on stderr.
  ExpectFailure(Qk({"dequantize", "--input", Path("a\nb.npy"), "--output", Path("o.npy"), "--scale",
                    "1", "--zero-point", "0"}),
                1, "a?b.npy: cannot open", {});
}

}  // namespace

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  for (int i = 1; i < argc; i++) {
    if (strncmp(argv[i], "--qk=", 5) == 0) g_qk_command = SplitWords(argv[i] + 5);
  }
  if (g_qk_command.empty()) {
    const char* env = getenv("QK_CLI");
    if (env != nullptr) g_qk_command = SplitWords(env);
  }
  return RUN_ALL_TESTS();
}
