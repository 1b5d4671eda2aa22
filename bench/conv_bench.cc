// qk-bench: conv2d on every layer of bench/conv-shapes.tsv (ResNet-18 and MobileNetV2, batch 1),
// for every ISA this CPU can run. Benchmarks are named conv/<shape>/<isa>; the GOPS counter is
// 2 * MACs per second. u8 activations, s8 per-channel weights, u8 output, pytorch-qnnpack
// numerics (fp32 epilogue with an int32 bias), one thread.
//
// The shape table path: --shapes=FILE on the command line (before Google Benchmark's flags), or
// the copy next to the sources baked in at build time.
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "qk.h"

namespace {

struct Shape {
  std::string name;
  size_t ic, ih, iw, oc, kh, kw, stride, pad, groups;
  size_t OutH() const { return (ih + 2 * pad - kh) / stride + 1; }
  size_t OutW() const { return (iw + 2 * pad - kw) / stride + 1; }
  double Ops() const {
    return 2.0 * double(OutH() * OutW() * oc * kh * kw * (ic / groups));
  }
};

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
    Shape s;
    if (!(ss >> s.name >> s.ic >> s.ih >> s.iw >> s.oc >> s.kh >> s.kw >> s.stride >> s.pad >>
          s.groups)) {
      throw std::runtime_error("bad line in " + path + ": " + line);
    }
    shapes.push_back(s);
  }
  return shapes;
}

struct ConvFixture {
  std::unique_ptr<qk_conv2d, decltype(&qk_conv2d_delete)> op{nullptr, qk_conv2d_delete};
  std::vector<uint8_t> input, output;
  std::unique_ptr<void, decltype(&free)> workspace{nullptr, free};
};

// Creates the operator with the current ISA and random data; throws on failure.
ConvFixture MakeConv(const Shape& s) {
  std::mt19937 rng(42);
  ConvFixture f;
  std::vector<int8_t> weights(s.oc * (s.ic / s.groups) * s.kh * s.kw);
  for (auto& w : weights) w = static_cast<int8_t>(rng());
  std::vector<double> scales(s.oc);
  std::vector<float> bias(s.oc);
  for (size_t o = 0; o < s.oc; o++) {
    scales[o] = 0.001 + 0.0001 * double(o % 7);
    bias[o] = float(int(o % 11) - 5);
  }
  qk_conv2d_desc d;
  qk_conv2d_desc_init(&d);
  d.numerics = QK_NUMERICS_PYTORCH_QNNPACK;
  d.input_channels = s.ic;
  d.output_channels = s.oc;
  d.groups = s.groups;
  d.kernel_height = s.kh;
  d.kernel_width = s.kw;
  d.stride_height = d.stride_width = s.stride;
  d.padding_top = d.padding_left = d.padding_bottom = d.padding_right = s.pad;
  d.input_type = d.output_type = QK_DTYPE_U8;
  d.input_scale = 0.02;
  d.input_zero_point = 3;
  d.weights = weights.data();
  d.weight_scale_count = s.oc;
  d.weight_scales = scales.data();
  d.bias_type = QK_DTYPE_F32;
  d.bias = bias.data();
  d.output_scale = 0.05;
  d.output_zero_point = 128;
  qk_conv2d* op = nullptr;
  if (qk_conv2d_create(&d, &op) != QK_SUCCESS) throw std::runtime_error(qk_last_error());
  f.op.reset(op);
  f.input.resize(s.ih * s.iw * s.ic);
  for (auto& v : f.input) v = static_cast<uint8_t>(rng());
  f.output.resize(s.OutH() * s.OutW() * s.oc);
  void* ws = nullptr;
  if (posix_memalign(&ws, 64, qk_conv2d_workspace_size(op) + 1) != 0) throw std::bad_alloc();
  f.workspace.reset(ws);
  return f;
}

void BenchConv(benchmark::State& state, Shape shape, std::string isa) {
  if (qk_set_isa(isa.c_str()) != QK_SUCCESS) {
    state.SkipWithError(qk_last_error());
    return;
  }
  ConvFixture f;
  try {
    f = MakeConv(shape);
  } catch (const std::exception& e) {
    state.SkipWithError(e.what());
    return;
  }
  for (auto _ : state) {
    const qk_status s = qk_conv2d_run(f.op.get(), 1, shape.ih, shape.iw, f.input.data(),
                                      f.output.data(), f.workspace.get());
    if (s != QK_SUCCESS) {
      state.SkipWithError(qk_last_error());
      break;
    }
    benchmark::DoNotOptimize(f.output.data());
    benchmark::ClobberMemory();
  }
  state.counters["GOPS"] = benchmark::Counter(shape.Ops() * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
  state.SetLabel(qk_conv2d_ukernels(f.op.get()));
}

std::vector<std::string> SupportedIsas() {
  std::vector<std::string> isas;
  std::stringstream ss(qk_compiled_isas());
  for (std::string isa; ss >> isa;) {
    if (qk_isa_is_supported(isa.c_str())) isas.push_back(isa);
  }
  return isas;
}

}  // namespace

int main(int argc, char** argv) {
  std::string shapes_path = QK_BENCH_SHAPES;
  std::vector<char*> args;
  for (int i = 0; i < argc; i++) {
    if (std::strncmp(argv[i], "--shapes=", 9) == 0) {
      shapes_path = argv[i] + 9;
    } else {
      args.push_back(argv[i]);
    }
  }
  int nargs = static_cast<int>(args.size());
  benchmark::Initialize(&nargs, args.data());
  benchmark::AddCustomContext("qk_version", qk_version_string());
  benchmark::AddCustomContext("qk_cpu", qk_cpu_name());
  benchmark::AddCustomContext("qk_cpu_features", qk_cpu_features());
  benchmark::AddCustomContext("qk_isas", qk_compiled_isas());
  std::vector<Shape> shapes;
  try {
    shapes = ReadShapes(shapes_path);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "qk-bench: %s\n", e.what());
    return 1;
  }
  for (const std::string& isa : SupportedIsas()) {
    for (const Shape& s : shapes) {
      benchmark::RegisterBenchmark(("conv/" + s.name + "/" + isa).c_str(), BenchConv, s, isa)
          ->Unit(benchmark::kMillisecond)
          ->UseRealTime();
    }
  }
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
