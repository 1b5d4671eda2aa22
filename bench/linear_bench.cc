// qk-bench: qk_linear on the classifier layers of MobileNetV2 (1280 -> 1000) and ResNet-18
// (512 -> 1000), batch 1 and 64, every ISA compiled in that this CPU runs, pytorch-fbgemm
// numerics (per-channel weights, float bias).
// Names: linear/<layer>/batch:<n>/<isa>. Counter GOPS = 2 * batch * K * O multiply-adds / second.
// Registered at static initialization (Google Benchmark's BENCHMARK pattern), so these rows run
// with the others of qk-bench and obey --benchmark_filter.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "qk.h"

namespace {

struct LinearShape {
  const char* name;
  size_t k, o;
};

const LinearShape kShapes[] = {
    {"mobilenetv2_classifier_1280x1000", 1280, 1000},
    {"resnet18_fc_512x1000", 512, 1000},
};

void BenchLinear(benchmark::State& st, LinearShape s, size_t batch, std::string isa) {
  if (qk_set_isa(isa.c_str()) != QK_SUCCESS) {
    st.SkipWithError(qk_last_error());
    return;
  }
  std::vector<int8_t> w(s.o * s.k);
  std::vector<double> ws(s.o);
  std::vector<float> bias(s.o);
  std::vector<uint8_t> x(batch * s.k), y(batch * s.o);
  uint32_t h = 12345;
  auto next = [&h]() { return h = h * 1664525u + 1013904223u; };
  for (auto& v : w) v = static_cast<int8_t>(next() >> 24);
  for (auto& v : x) v = static_cast<uint8_t>(next() >> 24);
  for (size_t i = 0; i < s.o; i++) {
    ws[i] = 1.0 / 4096 * (1 + (next() >> 28));
    bias[i] = static_cast<float>(static_cast<int>(next() >> 24) - 128) / 64.0f;
  }
  qk_linear_desc d;
  qk_linear_desc_init(&d);
  d.numerics = QK_NUMERICS_PYTORCH_FBGEMM;
  d.input_channels = s.k;
  d.output_channels = s.o;
  d.input_type = d.output_type = QK_DTYPE_U8;
  d.input_scale = 1.0 / 64;
  d.input_zero_point = 0;
  d.weights = w.data();
  d.weight_scale_count = s.o;
  d.weight_scales = ws.data();
  d.bias_type = QK_DTYPE_F32;
  d.bias = bias.data();
  d.output_scale = 0.25;
  d.output_zero_point = 64;
  qk_linear* raw = nullptr;
  const qk_status status = qk_linear_create(&d, &raw);
  qk_set_isa(nullptr);
  if (status != QK_SUCCESS) {
    st.SkipWithError(qk_last_error());
    return;
  }
  std::unique_ptr<qk_linear, decltype(&qk_linear_delete)> op(raw, qk_linear_delete);
  const size_t ws_bytes = (qk_linear_workspace_size(op.get()) + 63) / 64 * 64;
  std::unique_ptr<void, decltype(&free)> workspace(aligned_alloc(64, ws_bytes ? ws_bytes : 64),
                                                   free);
  for (auto _ : st) {
    qk_linear_run(op.get(), batch, x.data(), y.data(), workspace.get());
    benchmark::DoNotOptimize(y.data());
  }
  const double ops = 2.0 * double(batch) * double(s.k) * double(s.o);
  st.counters["GOPS"] =
      benchmark::Counter(ops * double(st.iterations()) / 1e9, benchmark::Counter::kIsRate);
  st.SetLabel(qk_linear_ukernels(op.get()));
}

int RegisterLinearBenchmarks() {
  std::stringstream isas(qk_compiled_isas());
  std::vector<std::string> runnable;
  for (std::string isa; isas >> isa;) {
    if (qk_isa_is_supported(isa.c_str())) runnable.push_back(isa);
  }
  for (const LinearShape& s : kShapes) {
    for (size_t batch : {size_t{1}, size_t{64}}) {
      for (const std::string& isa : runnable) {
        const std::string name =
            std::string("linear/") + s.name + "/batch:" + std::to_string(batch) + "/" + isa;
        benchmark::RegisterBenchmark(name.c_str(), [=](benchmark::State& st) {
          BenchLinear(st, s, batch, isa);
        })->Unit(benchmark::kMicrosecond);
      }
    }
  }
  return 0;
}

const int g_registered = RegisterLinearBenchmarks();

}  // namespace
