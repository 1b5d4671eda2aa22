// GEMM microkernels alone, per ISA, from the dispatch tables of the static library:
// gemm/<MxNxK>/<isa> runs C[M][N] = A[M][K] * W[K][N] (u8 x s8 -> int32) the way conv2d drives
// the kernel (tiles of M rows, N blocks of the ISA's weight_block_bytes, MR rows per call), over
// more copies of the packed weights than fit in the last-level cache, so weights stream from
// memory as in a network. Sizes: squares up to 1024^3 and the GEMM of every conv layer.
//
// peak/<isa> runs the ISA's dot-product instruction in a register-only loop (bench/peak/); its
// best result is the denominator of every %peak counter of that ISA.
#include "gemm_bench.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <set>
#include <sstream>
#include <tuple>

#include "arch/cpu.h"
#include "arch/dispatch.h"
#include "peak/peak.h"
#include "qk.h"

namespace qkbench {
namespace {

struct PeakIsa {
  const char* name;
  uint32_t features;  // QK_CPU_* bits the loop needs
  uint64_t (*fn)(uint64_t);
};

const PeakIsa kPeakIsas[] = {
    {"generic", 0, qk_bench_peak_generic},
#if defined(__x86_64__)
    {"avx2", QK_CPU_AVX2, qk_bench_peak_avx2},
    {"avxvnni", QK_CPU_AVXVNNI, qk_bench_peak_avxvnni},
    {"avx512vnni", QK_CPU_AVX512VNNI, qk_bench_peak_avx512vnni},
#elif defined(__aarch64__)
    {"neon", QK_CPU_NEON, qk_bench_peak_neon},
    {"neondot", QK_CPU_NEONDOT, qk_bench_peak_neondot},
    {"i8mm", QK_CPU_I8MM, qk_bench_peak_i8mm},
#endif
};

bool CpuRuns(const PeakIsa& p) {
  const uint32_t f = qk_cpu_detect()->features;
  return (f & p.features) == p.features;
}

// Best GOPS of 100 runs of about 2 ms: short enough that some run uninterrupted on a busy
// machine, long enough for the clock to settle.
double MeasurePeak(const PeakIsa& p) {
  uint64_t iters = 1000;
  double best = 0;
  for (int round = 0; round < 100; round++) {
    PauseBetweenBatches();  // like every timed batch (bench_common.h)
    const double t0 = NowSeconds();
    const uint64_t ops = p.fn(iters);
    const double t = NowSeconds() - t0;
    if (t < 0.002) {
      iters *= 4;
      round--;
      continue;
    }
    best = std::max(best, double(ops) / t * 1e-9);
  }
  return best;
}

void BenchPeak(benchmark::State& state, PeakIsa p) {
  uint64_t iters = 1000;
  // Calibrate to about 1 ms per call.
  for (;;) {
    const double t0 = NowSeconds();
    p.fn(iters);
    if (NowSeconds() - t0 > 1e-3 || iters > (uint64_t(1) << 40)) break;
    iters *= 2;
  }
  uint64_t ops = 0;
  RunBatches(state, std::string("peak/") + p.name, [&] { ops = p.fn(iters); });
  state.counters["GOPS"] =
      benchmark::Counter(double(ops) * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
  state.SetLabel("register-only loop of the ISA's dot-product instruction");
}

size_t LastLevelCacheBytes() {
  size_t best = 0;
  for (int i = 0; i < 8; i++) {
    std::ifstream f("/sys/devices/system/cpu/cpu0/cache/index" + std::to_string(i) + "/size");
    std::string s;
    if (!(f >> s) || s.empty()) continue;
    size_t v = std::strtoull(s.c_str(), nullptr, 10);
    if (s.back() == 'K') v <<= 10;
    if (s.back() == 'M') v <<= 20;
    best = std::max(best, v);
  }
  return best ? best : size_t(32) << 20;
}

struct AlignedFree {
  void operator()(void* p) const { std::free(p); }
};

void BenchGemm(benchmark::State& state, const qk_isa_config* isa, size_t m, size_t n, size_t k) {
  const qk_gemm_config& g = isa->gemm;
  size_t block_bytes = 0;
  if (!g.packed_block_size(k, g.nr, g.kr, &block_bytes)) {
    state.SkipWithError("n/a: packed size overflows");
    return;
  }
  const size_t blocks = (n + g.nr - 1) / g.nr;
  const size_t packed_bytes = (blocks * block_bytes + 63) / 64 * 64;
  // Enough copies of the packed weights to overflow the last-level cache twice (max 512 MiB).
  const size_t copies = std::clamp<size_t>(2 * LastLevelCacheBytes() / packed_bytes + 1, 1,
                                           std::max<size_t>(1, (size_t(512) << 20) / packed_bytes));
  std::vector<int8_t> w(n * k);
  for (size_t i = 0; i < w.size(); i++) w[i] = int8_t(uint8_t(Hash32(5, uint32_t(i)) >> 24));
  std::vector<int32_t> colterm(n);
  for (size_t i = 0; i < n; i++) colterm[i] = int32_t(i);
  void* raw = nullptr;
  if (posix_memalign(&raw, 64, packed_bytes * copies) != 0) {
    state.SkipWithError("n/a: out of memory for the packed weight copies");
    return;
  }
  std::unique_ptr<uint8_t, AlignedFree> packed(static_cast<uint8_t*>(raw));
  g.pack(n, k, 1, 1, g.nr, g.kr, w.data(), colterm.data(), packed.get());
  for (size_t c = 1; c < copies; c++) {
    std::memcpy(packed.get() + c * packed_bytes, packed.get(), packed_bytes);
  }
  std::vector<uint8_t> a(m * k);
  for (size_t i = 0; i < a.size(); i++) a[i] = uint8_t(Hash32(6, uint32_t(i)) >> 24);
  std::vector<int32_t> c(m * n);
  // The conv2d loop nest: M tiles sized by im2col_tile_bytes, N blocks by weight_block_bytes.
  const size_t row = std::max<size_t>(k, 1);
  const size_t tile = std::clamp<size_t>(isa->im2col_tile_bytes / row / g.mr * g.mr, g.mr,
                                         std::max<size_t>(isa->max_tile_pixels, g.mr));
  const size_t nblock = std::max<size_t>(isa->weight_block_bytes / row / g.nr * g.nr, g.nr);
  size_t copy = 0;
  char key[96];
  std::snprintf(key, sizeof(key), "gemm/%zux%zux%zu/%s", m, n, k, isa->name);
  RunBatches(state, key, [&] {
    const uint8_t* wc = packed.get() + copy * packed_bytes;
    copy = copy + 1 == copies ? 0 : copy + 1;
    for (size_t m0 = 0; m0 < m; m0 += tile) {
      const size_t mt = std::min(tile, m - m0);
      for (size_t n0 = 0; n0 < n; n0 += nblock) {
        const size_t nc = std::min(nblock, n - n0);
        const uint8_t* wb = wc + (n0 / g.nr) * block_bytes;
        for (size_t r = 0; r < mt; r += g.mr) {
          g.fn(std::min<size_t>(g.mr, mt - r), nc, k, a.data() + (m0 + r) * k, k, wb,
               c.data() + (m0 + r) * n + n0, n);
        }
      }
    }
    benchmark::DoNotOptimize(c.data());
    benchmark::ClobberMemory();
  });
  SetCounters(state, 2.0 * double(m) * double(n) * double(k), isa->name, "");
  char label[160];
  std::snprintf(label, sizeof(label), "%s, %zu weight copies", g.name, copies);
  state.SetLabel(label);
}

}  // namespace

std::vector<std::string> PeakIsas() {
  std::vector<std::string> v;
  for (const PeakIsa& p : kPeakIsas) {
    if (CpuRuns(p)) v.push_back(p.name);
  }
  return v;
}

void MeasurePeaks() {
  for (const PeakIsa& p : kPeakIsas) {
    if (CpuRuns(p)) Peaks()[p.name] = MeasurePeak(p);
  }
}

void RegisterPeakBenchmarks() {
  for (const PeakIsa& p : kPeakIsas) {
    if (!CpuRuns(p)) continue;
    Register(std::string("peak/") + p.name, [p](benchmark::State& st) { BenchPeak(st, p); })
        ->Unit(benchmark::kMillisecond)
        ->UseManualTime();
  }
}

std::vector<std::string> QkIsas() {
  std::vector<std::string> isas;
  std::stringstream ss(qk_compiled_isas());
  for (std::string isa; ss >> isa;) {
    if (qk_isa_is_supported(isa.c_str())) isas.push_back(isa);
  }
  return isas;
}

void RegisterGemmBenchmarks(const std::vector<Shape>& shapes, bool quick) {
  std::vector<std::tuple<size_t, size_t, size_t>> sizes;
  if (quick) {
    sizes = {{1024, 1024, 1024}, {256, 256, 256}};
  } else {
    sizes = {{64, 64, 64}, {256, 256, 256}, {512, 512, 512}, {1024, 1024, 1024}};
    std::set<std::tuple<size_t, size_t, size_t>> seen(sizes.begin(), sizes.end());
    for (const Shape& s : shapes) {  // the GEMM of each conv layer (depthwise ones have N = 1)
      if (s.Depthwise()) continue;
      auto t = std::make_tuple(s.M(), s.N(), s.K());
      if (seen.insert(t).second) sizes.push_back(t);
    }
  }
  size_t count = 0;
  const qk_isa_config* const* tables = qk_isa_compiled(&count);
  for (auto [m, n, k] : sizes) {
    for (size_t i = 0; i < count; i++) {
      const qk_isa_config* isa = tables[i];
      if (!qk_isa_is_supported(isa->name)) continue;
      char name[96];
      std::snprintf(name, sizeof(name), "gemm/%zux%zux%zu/%s", m, n, k, isa->name);
      Register(name, [=](benchmark::State& st) { BenchGemm(st, isa, m, n, k); })
          ->Unit(benchmark::kMillisecond)
          ->UseManualTime();
    }
  }
}

}  // namespace qkbench
