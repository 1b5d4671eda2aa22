// XNNPACK (Debian's libxnnpack-dev, 2022-02 snapshot) in this process:
//  xnnpack-qc8: xnn_create_convolution2d_nhwc_qc8, s8 activations and outputs (the same real
//               values as qk's u8 ones: x ^ 0x80 with the zero point moved by 128), s8 weights with
//               per-channel scales, int32 bias. Checked against qk's onnxruntime mode on s8 data
//               (the same fp32 requantization: (sx*sw)/so in float, clamp, round to even).
//  xnnpack-qu8: xnn_create_convolution2d_nhwc_qu8, u8 activations, u8 weights with one scale and a
//               zero point of 128 (XNNPACK's qu8 has no per-channel scales), checked against qk
//               with one weight scale.
// Weights are repacked (OIHW -> OHWI) and the operator created and set up (indirection buffer)
// outside the timed loop; the loop is xnn_run_operator. Threads: NULL threadpool for 1 (the
// caller's thread), pthreadpool otherwise.
#include <cstdio>
#include <cstring>
#include <memory>
#include <type_traits>

#include "peers.h"

#ifdef QK_BENCH_HAVE_XNNPACK
#include <pthreadpool.h>
#include <xnnpack.h>
#endif

namespace qkbench {

namespace {

#ifdef QK_BENCH_HAVE_XNNPACK
// XNNPACK 2022 does not say which microkernel an operator uses; its init.c picks by CPU features
// alone, so the choice is inferred from the same features (x86: AVX512SKX > AVX2 > SSE4.1).
std::string XnnpackKernel(const Shape& s, bool qu8) {
  const char* type = qu8 ? "qu8" : "qc8";
#if defined(__x86_64__)
  __builtin_cpu_init();
  const bool skx = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                   __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl");
  const bool avx2 = __builtin_cpu_supports("avx2");
  std::string k = s.Depthwise() ? (skx    ? "dwconv up32x9__avx512skx_mul32"
                                   : avx2 ? "dwconv up16x9__avx2_mul32"
                                          : "dwconv sse41")
                                : (skx    ? "igemm 4x16c8__avx512skx"
                                   : avx2 ? "igemm 3x8c8__avx2"
                                          : "igemm sse41");
  return std::string(type) + " " + k + " (inferred from CPU features)";
#else
  (void)s;
  return std::string(type) + " NEON (kernel not reported by XNNPACK)";
#endif
}

struct PoolDeleter {
  void operator()(pthreadpool_t p) const {
    if (p) pthreadpool_destroy(p);
  }
};
struct OpDeleter {
  void operator()(xnn_operator_t op) const {
    if (op) xnn_delete_operator(op);
  }
};
#endif

#ifdef QK_BENCH_HAVE_XNNPACK
// The operator of the last configuration, kept across Google Benchmark's repetitions.
struct XnnpackConv {
  std::string key, error, label;
  std::unique_ptr<std::remove_pointer_t<pthreadpool_t>, PoolDeleter> pool;
  std::unique_ptr<xnn_operator, OpDeleter> op;
  std::vector<uint8_t> input, output;
};

void Prepare(XnnpackConv& x, const Shape& s, bool qu8, int threads) {
  const ConvData& d = GetData(s);
  const size_t cg = s.GroupIC(), og = s.GroupOC();
  // OIHW -> OHWI ([groups][group_oc][kh][kw][group_ic]), the layout XNNPACK takes.
  std::vector<int8_t> w(d.weights.size());
  for (size_t o = 0; o < s.oc; o++)
    for (size_t c = 0; c < cg; c++)
      for (size_t y = 0; y < s.kh; y++)
        for (size_t k = 0; k < s.kw; k++)
          w[((o * s.kh + y) * s.kw + k) * cg + c] = d.weights[((o * cg + c) * s.kh + y) * s.kw + k];
  x.pool.reset(threads > 1 ? pthreadpool_create(size_t(threads)) : nullptr);
  x.input = d.input;
  x.output.assign(d.OutputBytes(), 0);
  xnn_operator_t raw = nullptr;
  const uint32_t P = uint32_t(s.pad), S = uint32_t(s.stride);
  xnn_status st;
  if (qu8) {
    std::vector<uint8_t> wu(w.size());
    for (size_t i = 0; i < w.size(); i++) wu[i] = uint8_t(w[i] + 128);
    st = xnn_create_convolution2d_nhwc_qu8(
        P, P, P, P, uint32_t(s.kh), uint32_t(s.kw), S, S, 1, 1, uint32_t(s.groups), cg, og, s.ic,
        s.oc, uint8_t(d.x_zp), d.x_scale, 128, d.w_scale[0], wu.data(), d.bias_s32.data(),
        uint8_t(d.y_zp), d.y_scale, 0, 255, 0, &raw);
  } else {
    for (auto& v : x.input) v ^= 0x80;
    st = xnn_create_convolution2d_nhwc_qc8(
        P, P, P, P, uint32_t(s.kh), uint32_t(s.kw), S, S, 1, 1, uint32_t(s.groups), cg, og, s.ic,
        s.oc, int8_t(d.x_zp - 128), d.x_scale, d.w_scale.data(), w.data(), d.bias_s32.data(),
        int8_t(d.y_zp - 128), d.y_scale, -128, 127, 0, &raw);
  }
  x.op.reset(raw);
  if (st != xnn_status_success) {
    x.error = "n/a: XNNPACK refuses the operator (xnn_status " + std::to_string(int(st)) + ")";
    return;
  }
  st = qu8 ? xnn_setup_convolution2d_nhwc_qu8(x.op.get(), 1, s.ih, s.iw, x.input.data(),
                                              x.output.data(), x.pool.get())
           : xnn_setup_convolution2d_nhwc_qc8(
                 x.op.get(), 1, s.ih, s.iw, reinterpret_cast<const int8_t*>(x.input.data()),
                 reinterpret_cast<int8_t*>(x.output.data()), x.pool.get());
  if (st == xnn_status_success) st = xnn_run_operator(x.op.get(), x.pool.get());
  if (st != xnn_status_success) {
    x.error = "n/a: XNNPACK setup/run failed (xnn_status " + std::to_string(int(st)) + ")";
    return;
  }
  std::vector<uint8_t> got = x.output;
  if (!qu8) {
    for (auto& v : got) v ^= 0x80;
  }
  const QkConfig ref = qu8 ? QkConfig{QK_NUMERICS_ONNXRUNTIME, false, true}
                           : QkConfig{QK_NUMERICS_ONNXRUNTIME, true, false};
  Comparison cmp;
  try {
    cmp = Compare(ReferenceOutput(s, ref), got);
  } catch (const std::exception& e) {
    x.error = "n/a: qk reference failed: " + std::string(e.what());
    return;
  }
  const std::string kernel = XnnpackKernel(s, qu8);
  if (!cmp.Acceptable()) {
    x.error = "wrong: " + cmp.Describe() + " vs qk [" + kernel + "]";
    return;
  }
  x.label = kernel + " | " + cmp.Describe() + " vs qk";
}
#endif

void BenchXnnpack(benchmark::State& state, Shape s, bool qu8, int threads, std::string row) {
#ifndef QK_BENCH_HAVE_XNNPACK
  (void)s, (void)qu8, (void)threads, (void)row;
  state.SkipWithError("n/a: XNNPACK not built (" QK_BENCH_XNNPACK_MISSING ")");
#else
  static const xnn_status init = xnn_initialize(nullptr);
  if (init != xnn_status_success) {
    state.SkipWithError("n/a: xnn_initialize failed (CPU not supported by XNNPACK?)");
    return;
  }
  static XnnpackConv x;
  const std::string key = s.name + (qu8 ? "/qu8/" : "/qc8/") + std::to_string(threads);
  if (x.key != key) {
    x = XnnpackConv{};
    x.key = key;
    Prepare(x, s, qu8, threads);
  }
  if (!x.error.empty()) {
    state.SkipWithError(x.error.c_str());
    return;
  }
  double t = 0;
  RunBatches(state, "conv/" + key, [&] {
    const double t0 = NowSeconds();
    xnn_run_operator(x.op.get(), x.pool.get());
    benchmark::ClobberMemory();
    t += NowSeconds() - t0;
  });
  if (t > 0)
    RecordPeer(row, qu8 ? "xnnpack-qu8" : "xnnpack-qc8",
               s.Ops() * double(state.iterations()) / t * 1e-9);
  SetCounters(state, s.Ops(), "", "");
  state.SetLabel(x.label);
#endif
}

}  // namespace

void RegisterXnnpack(const Shape& shape, int threads) {
  const std::string suffix = threads == 1 ? "" : "/threads:" + std::to_string(threads);
  const std::string row = RowName(shape.name, threads);
  for (bool qu8 : {false, true}) {
    Register("conv/" + shape.name + (qu8 ? "/xnnpack-qu8" : "/xnnpack-qc8") + suffix,
             [=](benchmark::State& st) { BenchXnnpack(st, shape, qu8, threads, row); })
        ->Unit(benchmark::kMillisecond)
        ->UseManualTime();
  }
}

std::string XnnpackNote() {
#ifdef QK_BENCH_HAVE_XNNPACK
  return "libxnnpack (Debian " QK_BENCH_XNNPACK_VERSION "), kernels inferred from CPU features";
#else
  return "not built: " QK_BENCH_XNNPACK_MISSING;
#endif
}

}  // namespace qkbench
