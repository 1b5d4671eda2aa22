// Shared pieces of qk-bench: the shape table, the deterministic data every implementation runs on,
// output comparison, options, and a line-protocol child process for peers that must run in their
// own process (oneDNN fixes its ISA cap once per process; ONNX Runtime runs under node).
#ifndef QK_BENCH_COMMON_H
#define QK_BENCH_COMMON_H

#include <benchmark/benchmark.h>
#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace qkbench {

// ---- one row of bench/conv-shapes.tsv (batch 1, square stride / padding) ----
struct Shape {
  std::string name;
  size_t ic = 0, ih = 0, iw = 0, oc = 0, kh = 0, kw = 0, stride = 1, pad = 0, groups = 1;
  size_t OutH() const { return (ih + 2 * pad - kh) / stride + 1; }
  size_t OutW() const { return (iw + 2 * pad - kw) / stride + 1; }
  size_t GroupIC() const { return ic / groups; }
  size_t GroupOC() const { return oc / groups; }
  bool Depthwise() const { return groups > 1 && groups == ic && groups == oc; }
  // GEMM view of the layer: M = output pixels, N = output channels per group, K = KH*KW*C/G.
  size_t M() const { return OutH() * OutW(); }
  size_t N() const { return GroupOC(); }
  size_t K() const { return kh * kw * GroupIC(); }
  double Ops() const { return 2.0 * double(M()) * double(oc) * double(K()); }
  // "ic ih iw oc kh kw stride pad groups": how a shape travels to a worker process.
  std::string Fields() const;
  static Shape FromFields(const std::string& name, const std::string& fields);
};

std::vector<Shape> ReadShapes(const std::string& path);

// ---- the data of one layer: identical for qk and every peer (a counter-based hash, so a worker
// process regenerates exactly the same bytes from the shape alone) ----
struct ConvData {
  Shape shape;
  std::vector<uint8_t> input;     // u8 NHWC [ih][iw][ic], full range 0..255
  std::vector<int8_t> weights;    // s8 OIHW [oc][ic/g][kh][kw], full range -128..127
  std::vector<float> w_scale;     // per output channel, exact binary fractions
  std::vector<float> bias_f32;    // real-valued bias (PyTorch modes, oneDNN)
  std::vector<int32_t> bias_s32;  // accumulator-domain bias (ONNX Runtime, TFLite, XNNPACK)
  float x_scale = 0, y_scale = 0;
  int32_t x_zp = 0, y_zp = 0;  // u8 zero points (s8 variants use zp - 128)
  size_t OutputBytes() const { return shape.M() * shape.oc; }
};

ConvData MakeConvData(const Shape& shape);
uint32_t Hash32(uint32_t stream, uint32_t index);

// ---- comparing a peer's output with qk's (both as u8 bit patterns of the same real values) ----
struct Comparison {
  size_t mismatches = 0, total = 0;
  int max_diff = 0;
  bool Acceptable() const { return max_diff <= 1; }  // rounding-rule differences only
  std::string Describe() const;                      // "exact", "±1 on 0.3%", "max |diff| 97 ..."
};
Comparison Compare(const std::vector<uint8_t>& expected, const std::vector<uint8_t>& got);

// ---- options of qk-bench (set from the command line before Google Benchmark's flags) ----
struct Options {
  std::string shapes_path;
  std::string self_path;           // /proc/self/exe, for worker processes
  std::vector<int> threads{1};     // --threads=1,2
  std::string peers = "all";       // --peers=onednn,xnnpack,ort | none | all
  std::string ort_dir;             // --ort_models=DIR (models + inputs, tools/bench_ort_models.py)
  std::string ort_script;          // --ort_worker=bench/ort/ort_worker.js
  std::string ort_unavailable;     // --ort_unavailable=REASON (set by ci/bench.sh)
  std::string onednn_unavailable;  // reasons a peer was not built, from CMake
  std::string xnnpack_unavailable;
  bool modes = true;             // --modes=0: default numerics mode only
  bool gemm = true;              // --gemm=0: no GEMM microkernel benchmarks
  bool quick = false;            // --quick: fewer GEMM sizes
  std::string tmp_dir = "/tmp";  // where workers write outputs for comparison
  bool PeerEnabled(const char* name) const;
};
Options& GetOptions();

// ---- a child process speaking one line per request / one line per reply ----
class Worker {
 public:
  Worker(std::vector<std::string> argv, std::vector<std::string> env);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;
  bool Start(std::string* error);
  // Sends a line, returns the reply line ("" with *error set if the worker died).
  std::string Request(const std::string& line, std::string* error);
  bool Alive() const { return pid_ > 0; }

 private:
  void Stop();
  std::vector<std::string> argv_, env_;
  pid_t pid_ = -1;
  int to_child_ = -1, from_child_ = -1;
  std::string buffer_;
};

// Benchmarks a peer living in a worker: "setup ..." once (reply "ok INFO" or "err MESSAGE"),
// "out PATH" to fetch its output for the comparison with `expected`, then "run N" -> "t NS" timed
// batches reported as manual time. Sets the label to INFO and the GOPS counter.
void RunRemote(benchmark::State& state, Worker* worker, const std::string& setup_line,
               const std::vector<uint8_t>& expected, bool output_is_s8, double ops,
               const std::string& label_prefix, const std::string& row, const std::string& peer);

// ---- bookkeeping for the "vs best peer" counter: peers of a row run before qk's ISAs ----
void RecordPeer(const std::string& row, const std::string& peer, double gops);
double BestPeer(const std::string& row);  // median GOPS of the best peer so far, 0 if none

// Measured peak GOPS of each ISA (filled in before the benchmarks run), 0 when unknown.
std::map<std::string, double>& Peaks();
void SetCounters(benchmark::State& state, double ops, const std::string& peak_isa,
                 const std::string& row);

double NowSeconds();

// How every benchmark of qk-bench is timed, in-process or in a worker alike: batches of about
// 2 ms of back-to-back calls, each batch timed on its own (manual time), with a 30 µs sleep
// between batches. The sleep matters on a busy machine: a worker process blocks on its pipe
// between batches, and the scheduler favours a task that just woke up over the ones that never
// sleep; without the same pause, in-process rows would get a smaller share of the CPU than the
// peers' workers and look slower than they are. On a quiet machine it changes nothing.
// The batch size is fixed per `key` on the first call, as Google Benchmark requires the same
// iteration count in every repetition.
benchmark::IterationCount BatchSize(const std::string& key, double seconds_per_call);
void PauseBetweenBatches();
template <class F>
void RunBatches(benchmark::State& state, const std::string& key, F&& call) {
  benchmark::IterationCount batch = BatchSize(key, 0);
  if (batch == 0) {
    const double t0 = NowSeconds();
    call();
    batch = BatchSize(key, NowSeconds() - t0);
  }
  while (state.KeepRunningBatch(batch)) {
    const double t0 = NowSeconds();
    for (benchmark::IterationCount i = 0; i < batch; i++) call();
    state.SetIterationTime(NowSeconds() - t0);
    PauseBetweenBatches();
  }
}

// Registers a benchmark (and counts it for the progress display of conv_bench.cc).
benchmark::internal::Benchmark* Register(const std::string& name,
                                         std::function<void(benchmark::State&)> fn);
std::string RowName(const std::string& shape, int threads);  // "r18_conv1" or "r18_conv1/threads:2"

}  // namespace qkbench

#endif  // QK_BENCH_COMMON_H
