// oneDNN (Debian's libdnnl-dev, C API): int8 convolution with u8 NHWC activations, s8 weights
// reordered once (format_tag any) outside the timed loop, f32 bias, u8 NHWC output, per-channel
// output scales and common source / destination zero points, as PyTorch 1.13's onednn engine
// passes them (ideep: reciprocal scales, bias scaled into the accumulator domain).
//
// oneDNN fixes its ISA cap once per process (ONEDNN_MAX_CPU_ISA), so each cap runs in a worker
// process, `qk-bench --worker=onednn`, kept for the whole run and driven by RunRemote: one per
// (cap, thread count), threads through OMP_NUM_THREADS. Caps: AVX2, AVX2_VNNI, AVX512_CORE_VNNI
// (each qk x86 ISA's counterpart) and AVX512_CORE_AMX when the CPU has AMX. Below VNNI oneDNN
// computes u8 x s8 with vpmaddubsw, whose int16 pair sums saturate on full-range activations: its
// output differs from qk's by far more than 1 and the row says "wrong" instead of a speed.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <sstream>
#include <string>

#include "arch/cpu.h"
#include "peers.h"

#ifdef QK_BENCH_HAVE_ONEDNN
#include <oneapi/dnnl/dnnl.h>
#endif

namespace qkbench {

namespace {

struct Cap {
  const char* env;   // ONEDNN_MAX_CPU_ISA value
  const char* impl;  // benchmark name part
  const char* peak;  // qk ISA whose peak is the reference for %peak ("" = none)
};

std::vector<Cap> Caps() {
#if defined(__x86_64__)
  std::vector<Cap> caps = {{"AVX2", "onednn-avx2", "avx2"},
                           {"AVX2_VNNI", "onednn-avx2_vnni", "avxvnni"},
                           {"AVX512_CORE_VNNI", "onednn-avx512_core_vnni", "avx512vnni"}};
  if (qk_cpu_detect()->features & QK_CPU_AMX_INT8) {
    caps.push_back({"AVX512_CORE_AMX", "onednn-avx512_core_amx", ""});
  }
  return caps;
#else
  return {{"", "onednn", ""}};
#endif
}

#ifdef QK_BENCH_HAVE_ONEDNN
std::map<std::string, std::unique_ptr<Worker>>& Workers() {
  static std::map<std::string, std::unique_ptr<Worker>> workers;
  return workers;
}
#endif

void BenchOnednn(benchmark::State& state, Shape shape, Cap cap, int threads, std::string row) {
#ifndef QK_BENCH_HAVE_ONEDNN
  (void)shape, (void)cap, (void)threads, (void)row;
  state.SkipWithError("n/a: oneDNN not built (" QK_BENCH_ONEDNN_MISSING ")");
#else
  const std::string key = std::string(cap.env) + "/" + std::to_string(threads);
  auto& worker = Workers()[key];
  if (!worker) {
    std::vector<std::string> env = {"OMP_NUM_THREADS=" + std::to_string(threads)};
    if (cap.env[0]) {
      env.push_back(std::string("ONEDNN_MAX_CPU_ISA=") + cap.env);
      env.push_back(std::string("DNNL_MAX_CPU_ISA=") + cap.env);
    }
    worker = std::make_unique<Worker>(
        std::vector<std::string>{GetOptions().self_path, "--worker=onednn"}, env);
    std::string error;
    if (!worker->Start(&error)) {
      state.SkipWithError(("n/a: " + error).c_str());
      return;
    }
  }
  const QkConfig ref{QK_NUMERICS_PYTORCH_ONEDNN_1_13, false, false};
  const std::vector<uint8_t>* expected;
  try {
    expected = &ReferenceOutput(shape, ref);
  } catch (const std::exception& e) {
    state.SkipWithError(("n/a: qk reference failed: " + std::string(e.what())).c_str());
    return;
  }
  RunRemote(state, worker.get(), "setup " + shape.name + " " + shape.Fields(), *expected, false,
            shape.Ops(), "", row, cap.impl);
  SetCounters(state, shape.Ops(), cap.peak, "");
#endif
}

}  // namespace

void RegisterOnednn(const Shape& shape, int threads) {
  const std::string suffix = threads == 1 ? "" : "/threads:" + std::to_string(threads);
  const std::string row = RowName(shape.name, threads);
  for (const Cap& cap : Caps()) {
    Register("conv/" + shape.name + "/" + cap.impl + suffix,
             [=](benchmark::State& st) { BenchOnednn(st, shape, cap, threads, row); })
        ->Unit(benchmark::kMillisecond)
        ->UseManualTime();
  }
}

std::string OnednnVersion() {
#ifdef QK_BENCH_HAVE_ONEDNN
  const dnnl_version_t* v = dnnl_version();
  char buf[96];
  std::snprintf(buf, sizeof(buf), "%d.%d.%d (%s)", v->major, v->minor, v->patch, v->hash);
  return buf;
#else
  return "not built: " QK_BENCH_ONEDNN_MISSING;
#endif
}

// ---------------------------------------------------------------------------------------------
// the worker process
// ---------------------------------------------------------------------------------------------
#ifdef QK_BENCH_HAVE_ONEDNN
namespace {

const char* IsaName(dnnl_cpu_isa_t isa) {
  switch (isa) {
    case dnnl_cpu_isa_all: return "all";
    case dnnl_cpu_isa_sse41: return "sse41";
    case dnnl_cpu_isa_avx: return "avx";
    case dnnl_cpu_isa_avx2: return "avx2";
    case dnnl_cpu_isa_avx512_mic: return "avx512_mic";
    case dnnl_cpu_isa_avx512_mic_4ops: return "avx512_mic_4ops";
    case dnnl_cpu_isa_avx512_core: return "avx512_core";
    case dnnl_cpu_isa_avx512_core_vnni: return "avx512_core_vnni";
    case dnnl_cpu_isa_avx512_core_bf16: return "avx512_core_bf16";
    case dnnl_cpu_isa_avx512_core_amx: return "avx512_core_amx";
    case dnnl_cpu_isa_avx2_vnni: return "avx2_vnni";
    default: return "?";
  }
}

#define DNNL_OK(call)                                                                            \
  do {                                                                                           \
    dnnl_status_t s_ = (call);                                                                   \
    if (s_ != dnnl_success)                                                                      \
      throw std::runtime_error(std::string(#call " failed: status ") + std::to_string(int(s_))); \
  } while (0)

// One convolution, created by Setup and kept until the next one.
class OnednnConv {
 public:
  ~OnednnConv() { Release(); }

  std::string Setup(const Shape& s) {
    Release();
    data_ = std::make_unique<ConvData>(MakeConvData(s));
    const ConvData& d = *data_;
    if (!engine_) {
      DNNL_OK(dnnl_engine_create(&engine_, dnnl_cpu, 0));
      DNNL_OK(dnnl_stream_create(&stream_, engine_, dnnl_stream_default_flags));
    }
    const dnnl_dim_t G = dnnl_dim_t(s.groups), OC = dnnl_dim_t(s.oc), IC = dnnl_dim_t(s.ic);
    const dnnl_dim_t KH = dnnl_dim_t(s.kh), KW = dnnl_dim_t(s.kw);
    const dnnl_dim_t OH = dnnl_dim_t(s.OutH()), OW = dnnl_dim_t(s.OutW());
    dnnl_memory_desc_t src_md, wei_any, wei_user, bias_md, dst_md;
    const dnnl_dims_t src_dims = {1, IC, dnnl_dim_t(s.ih), dnnl_dim_t(s.iw)};
    const dnnl_dims_t dst_dims = {1, OC, OH, OW};
    const dnnl_dims_t bias_dims = {OC};
    DNNL_OK(dnnl_memory_desc_init_by_tag(&src_md, 4, src_dims, dnnl_u8, dnnl_nhwc));
    DNNL_OK(dnnl_memory_desc_init_by_tag(&dst_md, 4, dst_dims, dnnl_u8, dnnl_nhwc));
    DNNL_OK(dnnl_memory_desc_init_by_tag(&bias_md, 1, bias_dims, dnnl_f32, dnnl_x));
    if (s.groups > 1) {
      const dnnl_dims_t w = {G, OC / G, IC / G, KH, KW};
      DNNL_OK(dnnl_memory_desc_init_by_tag(&wei_any, 5, w, dnnl_s8, dnnl_format_tag_any));
      DNNL_OK(dnnl_memory_desc_init_by_tag(&wei_user, 5, w, dnnl_s8, dnnl_goihw));
    } else {
      const dnnl_dims_t w = {OC, IC, KH, KW};
      DNNL_OK(dnnl_memory_desc_init_by_tag(&wei_any, 4, w, dnnl_s8, dnnl_format_tag_any));
      DNNL_OK(dnnl_memory_desc_init_by_tag(&wei_user, 4, w, dnnl_s8, dnnl_oihw));
    }
    const dnnl_dim_t P = dnnl_dim_t(s.pad), S = dnnl_dim_t(s.stride);
    const dnnl_dims_t strides = {S, S}, pad_l = {P, P};
    const dnnl_dims_t pad_r = {(OH - 1) * S + KH - dnnl_dim_t(s.ih) - P,
                               (OW - 1) * S + KW - dnnl_dim_t(s.iw) - P};
    dnnl_convolution_desc_t cd;
    DNNL_OK(dnnl_convolution_forward_desc_init(&cd, dnnl_forward_inference, dnnl_convolution_direct,
                                               &src_md, &wei_any, &bias_md, &dst_md, strides, pad_l,
                                               pad_r));
    // PyTorch 1.13 / ideep: reciprocal scales in float, output scale iso / (isx * isw[o]), the
    // float bias scaled by isx * isw[o], zero points of source and destination.
    const float isx = float(1.0 / double(d.x_scale)), iso = float(1.0 / double(d.y_scale));
    std::vector<float> scales(s.oc);
    bias_.resize(s.oc);
    for (size_t o = 0; o < s.oc; o++) {
      const float bsc = isx * float(1.0 / double(d.w_scale[o]));
      scales[o] = iso / bsc;
      bias_[o] = d.bias_f32[o] * bsc;
    }
    dnnl_primitive_attr_t attr;
    DNNL_OK(dnnl_primitive_attr_create(&attr));
    DNNL_OK(dnnl_primitive_attr_set_output_scales(attr, OC, 1 << 1, scales.data()));
    const int32_t src_zp = d.x_zp, dst_zp = d.y_zp;
    DNNL_OK(dnnl_primitive_attr_set_zero_points(attr, DNNL_ARG_SRC, 1, 0, &src_zp));
    DNNL_OK(dnnl_primitive_attr_set_zero_points(attr, DNNL_ARG_DST, 1, 0, &dst_zp));
    const dnnl_status_t st = dnnl_primitive_desc_create(&pd_, &cd, attr, engine_, nullptr);
    dnnl_primitive_attr_destroy(attr);
    if (st != dnnl_success) {
      pd_ = nullptr;
      throw std::runtime_error("oneDNN has no implementation for this configuration (status " +
                               std::to_string(int(st)) + ")");
    }
    DNNL_OK(dnnl_primitive_create(&conv_, pd_));
    const char* impl = nullptr;
    DNNL_OK(dnnl_primitive_desc_query(pd_, dnnl_query_impl_info_str, 0, &impl));

    // Weights: the user's OIHW reordered once into the layout the implementation chose.
    const dnnl_memory_desc_t* wei_md = dnnl_primitive_desc_query_md(pd_, dnnl_query_weights_md, 0);
    dnnl_memory_t user_w;
    DNNL_OK(dnnl_memory_create(&user_w, &wei_user, engine_, const_cast<int8_t*>(d.weights.data())));
    DNNL_OK(dnnl_memory_create(&weights_, wei_md, engine_, DNNL_MEMORY_ALLOCATE));
    dnnl_primitive_desc_t rpd;
    DNNL_OK(dnnl_reorder_primitive_desc_create(&rpd, &wei_user, engine_, wei_md, engine_, nullptr));
    dnnl_primitive_t reorder;
    DNNL_OK(dnnl_primitive_create(&reorder, rpd));
    dnnl_exec_arg_t rargs[2] = {{DNNL_ARG_FROM, user_w}, {DNNL_ARG_TO, weights_}};
    DNNL_OK(dnnl_primitive_execute(reorder, stream_, 2, rargs));
    DNNL_OK(dnnl_stream_wait(stream_));
    dnnl_primitive_destroy(reorder);
    dnnl_primitive_desc_destroy(rpd);
    dnnl_memory_destroy(user_w);

    output_.assign(d.OutputBytes(), 0);
    DNNL_OK(dnnl_memory_create(&src_, &src_md, engine_, const_cast<uint8_t*>(d.input.data())));
    DNNL_OK(dnnl_memory_create(&bias_mem_, &bias_md, engine_, bias_.data()));
    DNNL_OK(dnnl_memory_create(&dst_, &dst_md, engine_, output_.data()));
    Run(1);
    const char* cap = std::getenv("ONEDNN_MAX_CPU_ISA");
    return std::string(impl ? impl : "?") + " (oneDNN " + OnednnVersion().substr(0, 5) +
           ", ONEDNN_MAX_CPU_ISA=" + (cap ? cap : "unset") + ", OMP_NUM_THREADS=" +
           (std::getenv("OMP_NUM_THREADS") ? std::getenv("OMP_NUM_THREADS") : "?") + ")";
  }

  double Run(long n) {
    dnnl_exec_arg_t args[4] = {{DNNL_ARG_SRC, src_},
                               {DNNL_ARG_WEIGHTS, weights_},
                               {DNNL_ARG_BIAS, bias_mem_},
                               {DNNL_ARG_DST, dst_}};
    const auto t0 = std::chrono::steady_clock::now();
    for (long i = 0; i < n; i++) {
      DNNL_OK(dnnl_primitive_execute(conv_, stream_, 4, args));
      DNNL_OK(dnnl_stream_wait(stream_));
    }
    return std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - t0).count();
  }

  const std::vector<uint8_t>& output() const { return output_; }

 private:
  void Release() {
    if (conv_) dnnl_primitive_destroy(conv_);
    if (pd_) dnnl_primitive_desc_destroy(pd_);
    for (dnnl_memory_t m : {src_, weights_, bias_mem_, dst_}) {
      if (m) dnnl_memory_destroy(m);
    }
    conv_ = nullptr;
    pd_ = nullptr;
    src_ = weights_ = bias_mem_ = dst_ = nullptr;
  }
  dnnl_engine_t engine_ = nullptr;
  dnnl_stream_t stream_ = nullptr;
  dnnl_primitive_desc_t pd_ = nullptr;
  dnnl_primitive_t conv_ = nullptr;
  dnnl_memory_t src_ = nullptr, weights_ = nullptr, bias_mem_ = nullptr, dst_ = nullptr;
  std::unique_ptr<ConvData> data_;
  std::vector<float> bias_;
  std::vector<uint8_t> output_;
};

dnnl_cpu_isa_t CapFromName(const char* name) {
  static const std::pair<const char*, dnnl_cpu_isa_t> names[] = {
      {"AVX2", dnnl_cpu_isa_avx2},
      {"AVX2_VNNI", dnnl_cpu_isa_avx2_vnni},
      {"AVX512_CORE", dnnl_cpu_isa_avx512_core},
      {"AVX512_CORE_VNNI", dnnl_cpu_isa_avx512_core_vnni},
      {"AVX512_CORE_BF16", dnnl_cpu_isa_avx512_core_bf16},
      {"AVX512_CORE_AMX", dnnl_cpu_isa_avx512_core_amx}};
  for (auto& [n, isa] : names) {
    if (name && std::strcmp(name, n) == 0) return isa;
  }
  return dnnl_cpu_isa_all;
}

}  // namespace
#endif  // QK_BENCH_HAVE_ONEDNN

int OnednnWorkerMain() {
#ifndef QK_BENCH_HAVE_ONEDNN
  std::fprintf(stderr, "qk-bench: built without oneDNN\n");
  return 2;
#else
  OnednnConv conv;
  // The cap must be one the CPU has: otherwise oneDNN silently runs a lower ISA, which is not
  // the counterpart the row claims to be.
  const dnnl_cpu_isa_t want = CapFromName(std::getenv("ONEDNN_MAX_CPU_ISA"));
  const dnnl_cpu_isa_t got = dnnl_get_effective_cpu_isa();
  std::string cap_error;
  if (want != dnnl_cpu_isa_all && got != want) {
    cap_error =
        std::string("CPU lacks ") + IsaName(want) + " (oneDNN would run " + IsaName(got) + ")";
  }
  std::string line;
  while (std::getline(std::cin, line)) {
    std::istringstream in(line);
    std::string cmd;
    in >> cmd;
    try {
      if (cmd == "setup") {
        if (!cap_error.empty()) {
          std::cout << "err " << cap_error << std::endl;
          continue;
        }
        std::string name, fields;
        in >> name;
        std::getline(in, fields);
        std::cout << "ok " << conv.Setup(Shape::FromFields(name, fields)) << std::endl;
      } else if (cmd == "run") {
        long n = 1;
        in >> n;
        char buf[64];
        std::snprintf(buf, sizeof(buf), "t %.0f", conv.Run(n));
        std::cout << buf << std::endl;
      } else if (cmd == "out") {
        std::string path;
        in >> path;
        std::ofstream f(path, std::ios::binary);
        f.write(reinterpret_cast<const char*>(conv.output().data()),
                std::streamsize(conv.output().size()));
        std::cout << (f ? "ok" : "err cannot write " + path) << std::endl;
      } else if (cmd == "quit") {
        return 0;
      } else {
        std::cout << "err unknown command '" << cmd << "'" << std::endl;
      }
    } catch (const std::exception& e) {
      std::cout << "err " << e.what() << std::endl;
    }
  }
  return 0;
#endif
}

}  // namespace qkbench
