// qk-bench: qk's conv2d on every layer of bench/conv-shapes.tsv (ResNet-18 and MobileNetV2, batch
// 1) for every ISA compiled in that this CPU runs, next to oneDNN, XNNPACK and ONNX Runtime on the
// same data; qk's GEMM microkernels alone; each ISA's measured peak. docs/performance.md explains
// every benchmark and counter; ci/bench.sh runs this and makes the tables and the plot.
//
// Names: conv/<shape>/<impl>[/mode:<numerics>][/threads:<n>], gemm/<MxNxK>/<isa>, peak/<isa>.
// Counters: GOPS (2 * multiply-adds per second), %peak (of the ISA's measured peak), vs_peer
// (qk / the best peer of the same row, on qk's default-mode rows).
//
// qk-bench's own flags come before Google Benchmark's:
//   --shapes=FILE        layer table (default: the bench/conv-shapes.tsv the binary was built from)
//   --threads=1,2        thread counts (default 1,2 when qk has qk_conv2d_run_threaded and the
//                        machine 2 CPUs, else 1; without it qk's rows at 2 threads say n/a)
//   --peers=LIST         all (default), none, or a comma list of onednn,xnnpack,ort
//   --modes=0            qk in its default numerics mode only (no per-mode rows)
//   --gemm=0             no GEMM microkernel benchmarks
//   --quick              fewer GEMM sizes
//   --ort_models=DIR     models made by tools/bench_ort_models.py;
//   --ort_worker=bench/ort/ort_worker.js
//   --ort_unavailable=WHY  ONNX Runtime could not be set up (shown on its rows)
//   --context=KEY=VALUE  extra entry for the JSON context (repeatable)
//   --export_ort=DIR     write every layer's data for tools/bench_ort_models.py and exit
#include <regex.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "bench_common.h"
#include "gemm_bench.h"
#include "peers.h"
#include "qk.h"

namespace qkbench {
namespace {

// The numerics mode of qk's main rows, and the other modes whose epilogues cost differently
// (arch/ukernel.h's requantization families) or whose GEMM differs (pytorch-fbgemm-avx2: the
// saturating vpmaddubsw GEMM on every layer; pytorch-fbgemm saturates on its depthwise path).
const QkConfig kDefaultConfig{QK_NUMERICS_PYTORCH_FBGEMM, false, false};
const QkConfig kModeConfigs[] = {
    {QK_NUMERICS_ONNXRUNTIME, false, false},
    {QK_NUMERICS_PYTORCH_ONEDNN, false, false},
    {QK_NUMERICS_PYTORCH_ONEDNN_1_13, false, false},
    {QK_NUMERICS_PYTORCH_FBGEMM_AVX2, false, false},
    {QK_NUMERICS_XNNPACK, true, false},
    {QK_NUMERICS_TFLITE, true, false},
};

struct QkOp {
  std::unique_ptr<qk_conv2d, decltype(&qk_conv2d_delete)> op{nullptr, qk_conv2d_delete};
  std::vector<uint8_t> input, output;
  std::unique_ptr<void, decltype(&free)> workspace{nullptr, free};
};

// Creates a qk operator with the current ISA; throws with qk's message on failure.
QkOp MakeQkOp(const ConvData& data, const QkConfig& c, size_t threads = 1) {
  const Shape& s = data.shape;
  QkOp f;
  qk_conv2d_desc d;
  qk_conv2d_desc_init(&d);
  d.numerics = c.mode;
  d.input_channels = s.ic;
  d.output_channels = s.oc;
  d.groups = s.groups;
  d.kernel_height = s.kh;
  d.kernel_width = s.kw;
  d.stride_height = d.stride_width = s.stride;
  d.padding_top = d.padding_left = d.padding_bottom = d.padding_right = s.pad;
  d.input_type = d.output_type = c.s8 ? QK_DTYPE_S8 : QK_DTYPE_U8;
  d.input_scale = data.x_scale;
  d.input_zero_point = data.x_zp - (c.s8 ? 128 : 0);
  d.weights = data.weights.data();
  std::vector<double> scales(data.w_scale.begin(), data.w_scale.end());
  if (c.per_tensor) scales.assign(1, scales[0]);
  d.weight_scale_count = scales.size();
  d.weight_scales = scales.data();
  const bool int_bias = c.mode == QK_NUMERICS_ONNXRUNTIME || c.mode == QK_NUMERICS_TFLITE ||
                        c.mode == QK_NUMERICS_XNNPACK;
  d.bias_type = int_bias ? QK_DTYPE_S32 : QK_DTYPE_F32;
  d.bias = int_bias ? static_cast<const void*>(data.bias_s32.data())
                    : static_cast<const void*>(data.bias_f32.data());
  d.output_scale = data.y_scale;
  d.output_zero_point = data.y_zp - (c.s8 ? 128 : 0);
  qk_conv2d* op = nullptr;
  if (qk_conv2d_create(&d, &op) != QK_SUCCESS) throw std::runtime_error(qk_last_error());
  f.op.reset(op);
  f.input = data.input;
  if (c.s8) {
    for (auto& v : f.input) v ^= 0x80;
  }
  f.output.resize(data.OutputBytes());
  void* ws = nullptr;
  if (posix_memalign(&ws, 64, qk_conv2d_workspace_size(op) * threads + 64) != 0) {
    throw std::bad_alloc();
  }
  f.workspace.reset(ws);
  return f;
}

std::string ModeSuffix(const QkConfig& c) {
  return std::string("/mode:") + qk_numerics_name(c.mode) + (c.s8 ? "-s8" : "");
}

void BenchQk(benchmark::State& state, Shape shape, std::string isa, QkConfig config, int threads,
             std::string row) {
#ifdef QK_BENCH_HAVE_THREADS
  struct PoolDeleter {
    void operator()(qk_threadpool* p) const { qk_threadpool_delete(p); }
  };
  std::unique_ptr<qk_threadpool, PoolDeleter> pool;
  if (threads > 1) {
    qk_threadpool* p = nullptr;
    if (qk_threadpool_create(size_t(threads), &p) != QK_SUCCESS) {
      state.SkipWithError(("n/a: " + std::string(qk_last_error())).c_str());
      return;
    }
    pool.reset(p);
  }
#else
  if (threads != 1) {
    state.SkipWithError("n/a: qk has no multi-threading yet (single-threaded library)");
    return;
  }
#endif
  if (qk_set_isa(isa.c_str()) != QK_SUCCESS) {
    state.SkipWithError(("n/a: " + std::string(qk_last_error())).c_str());
    return;
  }
  QkOp f;
  try {
    f = MakeQkOp(GetData(shape), config, size_t(threads));
  } catch (const std::exception& e) {
    qk_set_isa(nullptr);
    state.SkipWithError(("n/a: " + std::string(e.what())).c_str());
    return;
  }
  qk_set_isa(nullptr);
  auto run = [&]() {
#ifdef QK_BENCH_HAVE_THREADS
    return pool ? qk_conv2d_run_threaded(f.op.get(), 1, shape.ih, shape.iw, f.input.data(),
                                         f.output.data(), f.workspace.get(), pool.get())
                : qk_conv2d_run(f.op.get(), 1, shape.ih, shape.iw, f.input.data(), f.output.data(),
                                f.workspace.get());
#else
    return qk_conv2d_run(f.op.get(), 1, shape.ih, shape.iw, f.input.data(), f.output.data(),
                         f.workspace.get());
#endif
  };
  // Once per benchmark: every ISA and thread count must give the bytes of the single-threaded
  // best ISA (the tests prove it; a fast wrong kernel is not a result).
  static std::map<std::string, std::string> verdicts;
  const std::string key =
      shape.name + "|" + isa + "|" + config.Name() + "|" + std::to_string(threads);
  if (!verdicts.count(key)) {
    std::string& v = verdicts[key];
    if (run() != QK_SUCCESS) {
      v = std::string("n/a: ") + qk_last_error();
    } else {
      std::vector<uint8_t> got = f.output;
      if (config.s8) {
        for (auto& b : got) b ^= 0x80;
      }
      try {
        const Comparison cmp = Compare(ReferenceOutput(shape, config), got);
        if (cmp.mismatches) v = "wrong: " + cmp.Describe() + " vs qk " + qk_get_isa() + " 1 thread";
      } catch (const std::exception& e) {
        v = std::string("n/a: ") + e.what();
      }
    }
  }
  if (!verdicts[key].empty()) {
    state.SkipWithError(verdicts[key].c_str());
    return;
  }
  bool failed = false;
  RunBatches(state, key, [&] {
    if (run() != QK_SUCCESS) failed = true;
    benchmark::DoNotOptimize(f.output.data());
    benchmark::ClobberMemory();
  });
  if (failed) {
    state.SkipWithError(qk_last_error());
    return;
  }
  SetCounters(state, shape.Ops(), isa, row);
  state.SetLabel(qk_conv2d_ukernels(f.op.get()));
}

// ---- progress on the console: one line per finished benchmark ----
class ProgressReporter : public benchmark::BenchmarkReporter {
 public:
  explicit ProgressReporter(size_t total) : total_(total) {}
  bool ReportContext(const Context& context) override {
    PrintBasicContext(&GetErrorStream(), context);
    return true;
  }
  void ReportRuns(const std::vector<Run>& runs) override {
    const Run* shown = nullptr;
    for (const Run& r : runs) {
      if (r.error_occurred) {
        shown = &r;
        break;
      }
      if (r.run_type == Run::RT_Aggregate && r.aggregate_name == "median") shown = &r;
      if (r.run_type == Run::RT_Iteration && shown == nullptr) shown = &r;
    }
    if (shown == nullptr) return;
    const Run& r = *shown;
    done_++;
    char line[512];
    if (r.error_occurred) {
      std::snprintf(line, sizeof(line), "[%3zu/%zu] %-52s %s\n", done_, total_,
                    r.run_name.str().c_str(), r.error_message.c_str());
    } else {
      std::string extra;
      char buf[64];
      for (const char* key : {"%peak", "vs_peer"}) {
        auto it = r.counters.find(key);
        if (it != r.counters.end()) {
          std::snprintf(buf, sizeof(buf), "  %s %.2f", key, it->second.value);
          extra += buf;
        }
      }
      auto gops = r.counters.find("GOPS");
      std::snprintf(line, sizeof(line), "[%3zu/%zu] %-52s %9.1f GOPS%s  %s\n", done_, total_,
                    r.run_name.str().c_str(), gops != r.counters.end() ? gops->second.value : 0.0,
                    extra.c_str(), r.report_label.c_str());
    }
    GetOutputStream() << line << std::flush;
  }

 private:
  size_t total_, done_ = 0;
};

// Counts the registered names the --benchmark_filter regex selects (for the progress counter).
class NameCounter {
 public:
  explicit NameCounter(const std::string& filter) {
    std::string f = filter.empty() || filter == "all" ? "." : filter;
    if (f[0] == '-') {
      negate_ = true;
      f = f.substr(1);
    }
    ok_ = regcomp(&re_, f.c_str(), REG_EXTENDED | REG_NOSUB) == 0;
  }
  ~NameCounter() {
    if (ok_) regfree(&re_);
  }
  void Add(const std::string& name) {
    if (!ok_ || (regexec(&re_, name.c_str(), 0, nullptr, 0) == 0) != negate_) count_++;
  }
  size_t count() const { return count_; }

 private:
  regex_t re_;
  bool ok_ = false, negate_ = false;
  size_t count_ = 0;
};

NameCounter* g_counter = nullptr;

}  // namespace

// ---- data and reference outputs, cached per layer ----
const ConvData& GetData(const Shape& shape) {
  static std::map<std::string, std::unique_ptr<ConvData>> cache;
  auto& slot = cache[shape.name];
  if (!slot) slot = std::make_unique<ConvData>(MakeConvData(shape));
  return *slot;
}

const char* QkConfig::Name() const {
  static thread_local std::string name;
  name = std::string(qk_numerics_name(mode)) + (s8 ? " s8" : " u8") +
         (per_tensor ? " per-tensor" : " per-channel");
  return name.c_str();
}

const std::vector<uint8_t>& ReferenceOutput(const Shape& shape, const QkConfig& c) {
  static std::map<std::string, std::vector<uint8_t>> cache;
  const std::string key = shape.name + "|" + c.Name();
  auto it = cache.find(key);
  if (it != cache.end()) return it->second;
  qk_set_isa(nullptr);
  QkOp f = MakeQkOp(GetData(shape), c);
  if (qk_conv2d_run(f.op.get(), 1, shape.ih, shape.iw, f.input.data(), f.output.data(),
                    f.workspace.get()) != QK_SUCCESS) {
    throw std::runtime_error(qk_last_error());
  }
  if (c.s8) {
    for (auto& v : f.output) v ^= 0x80;
  }
  return cache[key] = std::move(f.output);
}

// Registration helper used by every benchmark family (counts for the progress display).
benchmark::internal::Benchmark* Register(const std::string& name,
                                         std::function<void(benchmark::State&)> fn) {
  if (g_counter) g_counter->Add(name);
  return benchmark::RegisterBenchmark(name.c_str(), [fn](benchmark::State& st) { fn(st); });
}

}  // namespace qkbench

using namespace qkbench;

static std::vector<int> ParseInts(const std::string& s) {
  std::vector<int> v;
  std::stringstream ss(s);
  for (std::string x; std::getline(ss, x, ',');) {
    if (!x.empty()) v.push_back(std::atoi(x.c_str()));
  }
  return v;
}

int main(int argc, char** argv) {
  Options& opt = GetOptions();
  opt.shapes_path = QK_BENCH_SHAPES;
  opt.ort_script = QK_BENCH_ORT_WORKER;
#ifdef QK_BENCH_HAVE_THREADS
  if (std::thread::hardware_concurrency() >= 2) opt.threads = {1, 2};
#endif
  std::string worker, export_dir, filter = ".";
  std::vector<std::pair<std::string, std::string>> context;
  std::vector<char*> args;
  auto value = [](const char* arg, const char* flag) -> const char* {
    const size_t n = std::strlen(flag);
    return std::strncmp(arg, flag, n) == 0 && arg[n] == '=' ? arg + n + 1 : nullptr;
  };
  for (int i = 0; i < argc; i++) {
    const char* a = argv[i];
    const char* v;
    if ((v = value(a, "--shapes")))
      opt.shapes_path = v;
    else if ((v = value(a, "--threads")))
      opt.threads = ParseInts(v);
    else if ((v = value(a, "--peers")))
      opt.peers = v;
    else if ((v = value(a, "--modes")))
      opt.modes = std::atoi(v) != 0;
    else if ((v = value(a, "--gemm")))
      opt.gemm = std::atoi(v) != 0;
    else if (std::strcmp(a, "--quick") == 0)
      opt.quick = true;
    else if ((v = value(a, "--ort_models")))
      opt.ort_dir = v;
    else if ((v = value(a, "--ort_worker")))
      opt.ort_script = v;
    else if ((v = value(a, "--ort_unavailable")))
      opt.ort_unavailable = v;
    else if ((v = value(a, "--tmp_dir")))
      opt.tmp_dir = v;
    else if ((v = value(a, "--worker")))
      worker = v;
    else if ((v = value(a, "--export_ort")))
      export_dir = v;
    else if ((v = value(a, "--context"))) {
      const char* eq = std::strchr(v, '=');
      if (eq) context.emplace_back(std::string(v, eq), std::string(eq + 1));
    } else {
      if ((v = value(a, "--benchmark_filter"))) filter = v;
      args.push_back(argv[i]);
    }
  }
  char self[4096];
  const ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
  opt.self_path = n > 0 ? std::string(self, size_t(n)) : argv[0];

  if (worker == "onednn") return OnednnWorkerMain();
  if (!worker.empty()) {
    std::fprintf(stderr, "qk-bench: unknown worker '%s'\n", worker.c_str());
    return 2;
  }

  std::vector<Shape> shapes;
  try {
    shapes = ReadShapes(opt.shapes_path);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "qk-bench: %s\n", e.what());
    return 1;
  }
  if (!export_dir.empty()) return ExportOrtData(shapes, export_dir);

  int nargs = static_cast<int>(args.size());
  benchmark::Initialize(&nargs, args.data());
  if (benchmark::ReportUnrecognizedArguments(nargs, args.data())) return 2;

  MeasurePeaks();
  benchmark::AddCustomContext("qk_version", qk_version_string());
  benchmark::AddCustomContext("qk_cpu", qk_cpu_name());
  benchmark::AddCustomContext("qk_cpu_features", qk_cpu_features());
  benchmark::AddCustomContext("qk_isas", qk_compiled_isas());
  std::string runnable;
  for (const std::string& isa : QkIsas()) runnable += (runnable.empty() ? "" : " ") + isa;
  benchmark::AddCustomContext("qk_isas_run", runnable);
  benchmark::AddCustomContext("qk_default_mode", kDefaultConfig.Name());
#ifdef QK_BENCH_HAVE_THREADS
  benchmark::AddCustomContext("qk_threading", "qk_conv2d_run_threaded with a qk_threadpool");
#else
  benchmark::AddCustomContext("qk_threading",
                              "none yet: qk is single-threaded; rows with "
                              "threads:2 say n/a for qk");
#endif
  std::string threads_list;
  for (int t : opt.threads) threads_list += (threads_list.empty() ? "" : ",") + std::to_string(t);
  benchmark::AddCustomContext("bench_threads", threads_list);
  for (auto& [isa, gops] : Peaks()) {
    char buf[32];
    std::snprintf(buf, sizeof(buf), "%.1f", gops);
    benchmark::AddCustomContext("peak_gops_" + isa, buf);
  }
  benchmark::AddCustomContext("onednn_version", OnednnVersion());
  benchmark::AddCustomContext("xnnpack", XnnpackNote());
  for (auto& [k, v] : context) benchmark::AddCustomContext(k, v);

  NameCounter counter(filter);
  g_counter = &counter;
  RegisterPeakBenchmarks();
  const std::vector<std::string> isas = QkIsas();
  for (int threads : opt.threads) {
    for (const Shape& s : shapes) {
      const std::string row = RowName(s.name, threads);
      const std::string suffix = threads == 1 ? "" : "/threads:" + std::to_string(threads);
      // Peers first, so qk's rows can report the ratio to the best of them.
      if (opt.PeerEnabled("onednn")) RegisterOnednn(s, threads);
      if (opt.PeerEnabled("xnnpack")) RegisterXnnpack(s, threads);
      if (opt.PeerEnabled("ort")) RegisterOrt(s, threads);
      for (const std::string& isa : isas) {
        // The generic C kernels are the specification, not a contender: one row at 1 thread.
        if (isa == "generic" && threads != 1 && isas.size() > 1) continue;
        Register("conv/" + s.name + "/" + isa + suffix,
                 [=](benchmark::State& st) { BenchQk(st, s, isa, kDefaultConfig, threads, row); })
            ->Unit(benchmark::kMillisecond)
            ->UseManualTime();
      }
      if (!opt.modes || threads != 1) continue;
      for (const QkConfig& c : kModeConfigs) {
        for (const std::string& isa : isas) {
          if (isa == "generic" && isas.size() > 1) continue;
          Register("conv/" + s.name + "/" + isa + ModeSuffix(c),
                   [=](benchmark::State& st) { BenchQk(st, s, isa, c, threads, ""); })
              ->Unit(benchmark::kMillisecond)
              ->UseManualTime();
        }
      }
    }
  }
  if (opt.gemm) RegisterGemmBenchmarks(shapes, opt.quick);
  g_counter = nullptr;

  ProgressReporter reporter(counter.count());
  const size_t ran = benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();
  return ran > 0 ? 0 : 1;
}
