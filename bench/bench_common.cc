#include "bench_common.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace qkbench {

// ---------------------------------------------------------------------------------------------
// shapes
// ---------------------------------------------------------------------------------------------
std::string Shape::Fields() const {
  std::ostringstream ss;
  ss << ic << ' ' << ih << ' ' << iw << ' ' << oc << ' ' << kh << ' ' << kw << ' ' << stride << ' '
     << pad << ' ' << groups;
  return ss.str();
}

Shape Shape::FromFields(const std::string& name, const std::string& fields) {
  std::istringstream ss(fields);
  Shape s;
  s.name = name;
  if (!(ss >> s.ic >> s.ih >> s.iw >> s.oc >> s.kh >> s.kw >> s.stride >> s.pad >> s.groups) ||
      s.groups == 0 || s.ic % s.groups || s.oc % s.groups || s.stride == 0 ||
      s.ih + 2 * s.pad < s.kh || s.iw + 2 * s.pad < s.kw) {
    throw std::runtime_error("bad shape fields '" + fields + "'");
  }
  return s;
}

std::vector<Shape> ReadShapes(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot open shape table " + path);
  std::vector<Shape> shapes;
  std::string line;
  bool header = true;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    if (header) {  // "name ic ih iw oc kh kw stride pad groups"
      header = false;
      continue;
    }
    std::istringstream ss(line);
    std::string name, rest;
    ss >> name;
    std::getline(ss, rest);
    try {
      shapes.push_back(Shape::FromFields(name, rest));
    } catch (const std::exception&) {
      throw std::runtime_error("bad line in " + path + ": " + line);
    }
  }
  return shapes;
}

// ---------------------------------------------------------------------------------------------
// data
// ---------------------------------------------------------------------------------------------
uint32_t Hash32(uint32_t stream, uint32_t index) {  // murmur3's finalizer of a mixed counter
  uint32_t h = index * 0x9E3779B1u + stream * 0x85EBCA77u + 0x165667B1u;
  h ^= h >> 16;
  h *= 0x85EBCA6Bu;
  h ^= h >> 13;
  h *= 0xC2B2AE35u;
  h ^= h >> 16;
  return h;
}

ConvData MakeConvData(const Shape& s) {
  ConvData d;
  d.shape = s;
  d.input.resize(s.ih * s.iw * s.ic);
  for (size_t i = 0; i < d.input.size(); i++) d.input[i] = uint8_t(Hash32(1, uint32_t(i)) >> 24);
  d.weights.resize(s.oc * s.GroupIC() * s.kh * s.kw);
  for (size_t i = 0; i < d.weights.size(); i++) {
    d.weights[i] = int8_t(uint8_t(Hash32(2, uint32_t(i)) >> 24));
  }
  // Scales are binary fractions, exactly the same as float32 and double, so every framework sees
  // the same values whatever type it stores them in.
  d.x_scale = 1.0f / 64;
  d.x_zp = 3;  // nonzero, as PyTorch passes it: the zero-point terms are part of the cost
  d.w_scale.resize(s.oc);
  for (size_t o = 0; o < s.oc; o++) d.w_scale[o] = float(64 + o % 7) / 65536.0f;
  // Output scale: a power of two that puts one standard deviation of the accumulator
  // (≈ sqrt(K) · rms(x - zp) · rms(w) ≈ 10650 · sqrt(K)) at about 32 output steps.
  const double acc_rms = 10650.0 * std::sqrt(double(s.K()));
  const double y = double(d.x_scale) * (64.0 / 65536.0) * acc_rms / 32.0;
  d.y_scale = float(std::ldexp(1.0, int(std::lround(std::log2(y)))));
  d.y_zp = 128;
  d.bias_s32.resize(s.oc);
  d.bias_f32.resize(s.oc);
  for (size_t o = 0; o < s.oc; o++) {
    d.bias_s32[o] = int32_t(Hash32(3, uint32_t(o)) % 20001) - 10000;
    d.bias_f32[o] = float(d.bias_s32[o]) * d.x_scale * d.w_scale[o];  // exact
  }
  return d;
}

// ---------------------------------------------------------------------------------------------
// comparison
// ---------------------------------------------------------------------------------------------
std::string Comparison::Describe() const {
  char buf[160];
  if (total == 0) return "no output";
  if (mismatches == 0) return "exact";
  const double pct = 100.0 * double(mismatches) / double(total);
  if (max_diff <= 1) {
    std::snprintf(buf, sizeof(buf), "±1 on %.3g%% of outputs", pct);
  } else {
    std::snprintf(buf, sizeof(buf), "max |diff| %d, %.3g%% of outputs differ", max_diff, pct);
  }
  return buf;
}

Comparison Compare(const std::vector<uint8_t>& expected, const std::vector<uint8_t>& got) {
  Comparison c;
  if (expected.size() != got.size()) {
    c.total = expected.size();
    c.mismatches = c.total;
    c.max_diff = 256;
    return c;
  }
  c.total = expected.size();
  for (size_t i = 0; i < expected.size(); i++) {
    const int diff = std::abs(int(expected[i]) - int(got[i]));
    if (diff) {
      c.mismatches++;
      c.max_diff = std::max(c.max_diff, diff);
    }
  }
  return c;
}

// ---------------------------------------------------------------------------------------------
// options
// ---------------------------------------------------------------------------------------------
Options& GetOptions() {
  static Options options;
  return options;
}

bool Options::PeerEnabled(const char* name) const {
  if (peers == "all") return true;
  if (peers == "none") return false;
  std::stringstream ss(peers);
  for (std::string p; std::getline(ss, p, ',');) {
    if (p == name) return true;
  }
  return false;
}

// ---------------------------------------------------------------------------------------------
// worker processes
// ---------------------------------------------------------------------------------------------
Worker::Worker(std::vector<std::string> argv, std::vector<std::string> env)
    : argv_(std::move(argv)), env_(std::move(env)) {}

Worker::~Worker() { Stop(); }

bool Worker::Start(std::string* error) {
  int in[2], out[2];
  if (pipe2(in, O_CLOEXEC) != 0) {
    *error = std::string("pipe: ") + std::strerror(errno);
    return false;
  }
  if (pipe2(out, O_CLOEXEC) != 0) {
    close(in[0]);
    close(in[1]);
    *error = std::string("pipe: ") + std::strerror(errno);
    return false;
  }
  std::fflush(nullptr);
  const pid_t pid = fork();
  if (pid < 0) {
    *error = std::string("fork: ") + std::strerror(errno);
    return false;
  }
  if (pid == 0) {
    dup2(in[0], 0);
    dup2(out[1], 1);
    for (const std::string& kv : env_) putenv(const_cast<char*>(kv.c_str()));
    std::vector<char*> args;
    for (const std::string& a : argv_) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execvp(args[0], args.data());
    std::fprintf(stderr, "qk-bench: cannot run %s: %s\n", args[0], std::strerror(errno));
    _exit(127);
  }
  close(in[0]);
  close(out[1]);
  pid_ = pid;
  to_child_ = in[1];
  from_child_ = out[0];
  return true;
}

void Worker::Stop() {
  if (pid_ <= 0) return;
  const char quit[] = "quit\n";
  if (write(to_child_, quit, sizeof(quit) - 1) < 0) {
    // already gone
  }
  close(to_child_);
  close(from_child_);
  int status = 0;
  waitpid(pid_, &status, 0);
  pid_ = -1;
}

std::string Worker::Request(const std::string& line, std::string* error) {
  error->clear();
  if (pid_ <= 0) {
    *error = "worker is not running";
    return "";
  }
  const std::string msg = line + "\n";
  size_t done = 0;
  while (done < msg.size()) {
    const ssize_t n = write(to_child_, msg.data() + done, msg.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    done += size_t(n);
  }
  for (;;) {
    const size_t nl = buffer_.find('\n');
    if (nl != std::string::npos) {
      std::string reply = buffer_.substr(0, nl);
      buffer_.erase(0, nl + 1);
      return reply;
    }
    char buf[4096];
    const ssize_t n = read(from_child_, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      int status = 0;
      close(to_child_);
      close(from_child_);
      waitpid(pid_, &status, 0);
      pid_ = -1;
      char why[96];
      if (WIFSIGNALED(status)) {
        std::snprintf(why, sizeof(why), "worker %s died (signal %d)", argv_[0].c_str(),
                      WTERMSIG(status));
      } else {
        std::snprintf(why, sizeof(why), "worker %s exited (status %d)", argv_[0].c_str(),
                      WEXITSTATUS(status));
      }
      *error = why;
      return "";
    }
    buffer_.append(buf, size_t(n));
  }
}

static bool ReadFile(const std::string& path, std::vector<uint8_t>* bytes) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  bytes->assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  return true;
}

void RunRemote(benchmark::State& state, Worker* worker, const std::string& setup_line,
               const std::vector<uint8_t>& expected, bool output_is_s8, double ops,
               const std::string& label_prefix, const std::string& row, const std::string& peer) {
  // Google Benchmark calls this once per repetition (and while it sizes the iteration count): the
  // worker keeps the last configuration, so setup, the output check and the batch size happen
  // once per benchmark. The batch must stay the same across repetitions (Google Benchmark checks
  // that every repetition ran the same number of iterations).
  struct Prepared {
    std::string setup, info, verdict, error;
    benchmark::IterationCount batch = 1;
  };
  static std::map<const Worker*, Prepared> prepared;
  Prepared& p = prepared[worker];
  std::string error, reply;
  if (p.setup != setup_line || !worker->Alive()) {
    p = Prepared{};
    p.setup = setup_line;
    reply = worker->Request(setup_line, &error);
    if (!error.empty()) {
      p.error = "n/a: " + error;
    } else if (reply.rfind("ok", 0) != 0) {
      p.error = "n/a: " + (reply.size() > 4 ? reply.substr(4) : reply);
    } else {
      p.info = reply.size() > 3 ? reply.substr(3) : "";
      const std::string path =
          GetOptions().tmp_dir + "/qk-bench-" + std::to_string(getpid()) + "-out.bin";
      reply = worker->Request("out " + path, &error);
      std::vector<uint8_t> got;
      if (!error.empty() || reply != "ok" || !ReadFile(path, &got)) {
        p.error = "n/a: cannot get the output: " + (error.empty() ? reply : error);
      } else {
        if (output_is_s8) {
          for (auto& v : got) v ^= 0x80;
        }
        const Comparison cmp = Compare(expected, got);
        p.verdict = cmp.Describe();
        if (!cmp.Acceptable()) p.error = "wrong: " + p.verdict + " vs qk [" + p.info + "]";
      }
      std::remove(path.c_str());
      if (p.error.empty()) {
        // Batches of about 2 ms, so the pipe round trip (not timed: the worker times itself)
        // is rare.
        reply = worker->Request("run 1", &error);
        const double ns = reply.rfind("t ", 0) == 0 ? std::atof(reply.c_str() + 2) : 0;
        if (!error.empty() || ns <= 0) {
          p.error = "n/a: run failed: " + (error.empty() ? reply : error);
        } else {
          p.batch = benchmark::IterationCount(std::clamp(2e6 / ns, 1.0, 1000.0));
        }
      }
    }
  }
  if (!p.error.empty()) {
    state.SkipWithError(p.error.c_str());
    return;
  }
  double total_ns = 0;
  const std::string run = "run " + std::to_string(p.batch);
  while (state.KeepRunningBatch(p.batch)) {
    reply = worker->Request(run, &error);
    const double ns = reply.rfind("t ", 0) == 0 ? std::atof(reply.c_str() + 2) : -1;
    if (!error.empty() || ns < 0) {
      p.setup.clear();
      state.SkipWithError(("n/a: run failed: " + (error.empty() ? reply : error)).c_str());
      return;
    }
    state.SetIterationTime(ns * 1e-9);
    total_ns += ns;
  }
  state.SetLabel(label_prefix + p.info + " | " + p.verdict + " vs qk");
  if (total_ns > 0) RecordPeer(row, peer, ops * double(state.iterations()) / total_ns);
}

// ---------------------------------------------------------------------------------------------
// counters
// ---------------------------------------------------------------------------------------------
namespace {
std::map<std::string, std::map<std::string, std::vector<double>>>& PeerRuns() {
  static std::map<std::string, std::map<std::string, std::vector<double>>> runs;
  return runs;
}
}  // namespace

void RecordPeer(const std::string& row, const std::string& peer, double gops) {
  PeerRuns()[row][peer].push_back(gops);
}

double BestPeer(const std::string& row) {
  double best = 0;
  auto it = PeerRuns().find(row);
  if (it == PeerRuns().end()) return 0;
  for (auto& [peer, runs] : it->second) {
    std::vector<double> v = runs;
    std::sort(v.begin(), v.end());
    if (!v.empty()) best = std::max(best, v[v.size() / 2]);
  }
  return best;
}

std::map<std::string, double>& Peaks() {
  static std::map<std::string, double> peaks;
  return peaks;
}

void SetCounters(benchmark::State& state, double ops, const std::string& peak_isa,
                 const std::string& row) {
  state.counters["GOPS"] =
      benchmark::Counter(ops * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
  auto peak = Peaks().find(peak_isa);
  if (!peak_isa.empty() && peak != Peaks().end() && peak->second > 0) {
    state.counters["%peak"] = benchmark::Counter(ops * 1e-9 * 100.0 / peak->second,
                                                 benchmark::Counter::kIsIterationInvariantRate);
  }
  if (!row.empty()) {
    const double best = BestPeer(row);
    if (best > 0) {
      state.counters["vs_peer"] =
          benchmark::Counter(ops * 1e-9 / best, benchmark::Counter::kIsIterationInvariantRate);
    }
  }
}

benchmark::IterationCount BatchSize(const std::string& key, double seconds_per_call) {
  static std::map<std::string, benchmark::IterationCount> sizes;
  auto it = sizes.find(key);
  if (it != sizes.end()) return it->second;
  if (seconds_per_call <= 0) return 0;
  return sizes[key] = benchmark::IterationCount(std::clamp(2e-3 / seconds_per_call, 1.0, 1e5));
}

void PauseBetweenBatches() {
  const struct timespec pause = {0, 30000};
  nanosleep(&pause, nullptr);
}

double NowSeconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

std::string RowName(const std::string& shape, int threads) {
  return threads == 1 ? shape : shape + "/threads:" + std::to_string(threads);
}

}  // namespace qkbench
