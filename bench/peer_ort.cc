// ONNX Runtime: the CPU library of the npm package onnxruntime-node (Debian has no ONNX Runtime
// and the npm package ships no C header), driven by bench/ort/ort_worker.js in a node process
// that times session.run itself (RunRemote). One model per layer, made by
// tools/bench_ort_models.py with Debian's python3-onnx from the data qk-bench exports
// (--export_ort): a single com.microsoft QLinearConv with channels_last=1 (the NHWC kernel ORT's
// optimizer rewrites ONNX QLinearConv into, without the transposes a lone NCHW layer would add),
// u8 activations, s8 weights with per-channel scales and zero point 0, int32 bias, u8 output.
// qk's onnxruntime mode reproduces it bit for bit: the row says "exact" when it does.
#include <sys/stat.h>

#include <cstdio>
#include <fstream>
#include <map>
#include <memory>

#include "peers.h"

namespace qkbench {

namespace {

std::map<int, std::unique_ptr<Worker>>& Workers() {
  static std::map<int, std::unique_ptr<Worker>> workers;
  return workers;
}

bool Exists(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0;
}

void BenchOrt(benchmark::State& state, Shape s, int threads, std::string row) {
  const Options& opt = GetOptions();
  if (!opt.ort_unavailable.empty()) {
    state.SkipWithError(("n/a: " + opt.ort_unavailable).c_str());
    return;
  }
  if (opt.ort_dir.empty()) {
    state.SkipWithError("n/a: no ONNX models (ci/bench.sh makes them; or --ort_models=DIR)");
    return;
  }
  const std::string model = opt.ort_dir + "/" + s.name + ".onnx";
  const std::string input = opt.ort_dir + "/" + s.name + ".input.bin";
  if (!Exists(model) || !Exists(input)) {
    state.SkipWithError(("n/a: missing " + model).c_str());
    return;
  }
  auto& worker = Workers()[threads];
  if (!worker) {
    worker = std::make_unique<Worker>(std::vector<std::string>{"node", opt.ort_script},
                                      std::vector<std::string>{});
    std::string error;
    if (!worker->Start(&error)) {
      state.SkipWithError(("n/a: " + error).c_str());
      return;
    }
  }
  const std::vector<uint8_t>* expected;
  try {
    expected = &ReferenceOutput(s, QkConfig{QK_NUMERICS_ONNXRUNTIME, false, false});
  } catch (const std::exception& e) {
    state.SkipWithError(("n/a: qk reference failed: " + std::string(e.what())).c_str());
    return;
  }
  char setup[1024];
  std::snprintf(setup, sizeof(setup), "setup %s %s %zu %zu %zu %d", model.c_str(), input.c_str(),
                s.ih, s.iw, s.ic, threads);
  RunRemote(state, worker.get(), setup, *expected, false, s.Ops(), "", row, "ort");
  SetCounters(state, s.Ops(), "", "");
}

}  // namespace

void RegisterOrt(const Shape& shape, int threads) {
  const std::string suffix = threads == 1 ? "" : "/threads:" + std::to_string(threads);
  const std::string row = RowName(shape.name, threads);
  Register("conv/" + shape.name + "/ort" + suffix,
           [=](benchmark::State& st) { BenchOrt(st, shape, threads, row); })
      ->Unit(benchmark::kMillisecond)
      ->UseManualTime();
}

int ExportOrtData(const std::vector<Shape>& shapes, const std::string& dir) {
  mkdir(dir.c_str(), 0755);
  for (const Shape& s : shapes) {
    const ConvData d = MakeConvData(s);
    const std::string base = dir + "/" + s.name;
    auto write = [&](const std::string& path, const void* p, size_t n) {
      std::ofstream f(path, std::ios::binary);
      f.write(static_cast<const char*>(p), std::streamsize(n));
      if (!f) throw std::runtime_error("cannot write " + path);
    };
    try {
      write(base + ".input.bin", d.input.data(), d.input.size());
      write(base + ".weights.bin", d.weights.data(), d.weights.size());
      write(base + ".bias.bin", d.bias_s32.data(), d.bias_s32.size() * 4);
      write(base + ".wscale.bin", d.w_scale.data(), d.w_scale.size() * 4);
      std::ofstream j(base + ".json");
      char buf[512];
      std::snprintf(buf, sizeof(buf),
                    "{\"name\": \"%s\", \"ic\": %zu, \"ih\": %zu, \"iw\": %zu, \"oc\": %zu, "
                    "\"kh\": %zu, \"kw\": %zu, \"stride\": %zu, \"pad\": %zu, \"groups\": %zu, "
                    "\"x_scale\": %.17g, \"x_zp\": %d, \"y_scale\": %.17g, \"y_zp\": %d, "
                    "\"oh\": %zu, \"ow\": %zu}\n",
                    s.name.c_str(), s.ic, s.ih, s.iw, s.oc, s.kh, s.kw, s.stride, s.pad, s.groups,
                    double(d.x_scale), d.x_zp, double(d.y_scale), d.y_zp, s.OutH(), s.OutW());
      j << buf;
      if (!j) throw std::runtime_error("cannot write " + base + ".json");
    } catch (const std::exception& e) {
      std::fprintf(stderr, "qk-bench: %s\n", e.what());
      return 1;
    }
  }
  std::printf("qk-bench: wrote the data of %zu layers to %s\n", shapes.size(), dir.c_str());
  return 0;
}

}  // namespace qkbench
