// GEMM microkernel benchmarks (gemm/<MxNxK>/<isa>) and the per-ISA peak measurement
// (peak/<isa>), from the internal dispatch tables of the static library.
#ifndef QK_BENCH_GEMM_BENCH_H
#define QK_BENCH_GEMM_BENCH_H

#include <string>
#include <vector>

#include "bench_common.h"

namespace qkbench {

// ISAs whose peak loop this CPU can run, best last ("generic avx2 avx512vnni").
std::vector<std::string> PeakIsas();
// Measures every runnable ISA's peak (best of a few short runs) into Peaks().
void MeasurePeaks();
void RegisterPeakBenchmarks();
void RegisterGemmBenchmarks(const std::vector<Shape>& shapes, bool quick);
// ISAs compiled into qk that this CPU runs, in qk_compiled_isas() order.
std::vector<std::string> QkIsas();

}  // namespace qkbench

#endif  // QK_BENCH_GEMM_BENCH_H
