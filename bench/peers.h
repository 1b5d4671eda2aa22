// The comparison libraries (peers). Each peer file registers its benchmarks for one layer and
// thread count, named conv/<shape>/<impl>[/threads:N], and compares its output with qk's before
// timing it. A peer that is not built, not installed or cannot run a configuration still registers
// its benchmarks, which then report why ("n/a: ...") instead of a speed.
#ifndef QK_BENCH_PEERS_H
#define QK_BENCH_PEERS_H

#include <cstdint>
#include <string>
#include <vector>

#include "bench_common.h"
#include "qk.h"

namespace qkbench {

// How qk computes the output a peer is checked against: same data, the numerics mode of the
// framework the peer implements (bit-exact where qk reproduces that peer).
struct QkConfig {
  qk_numerics mode;
  bool s8;          // s8 activations and outputs (x ^ 0x80, zero points - 128)
  bool per_tensor;  // one weight scale (the first channel's) instead of per channel
  const char* Name() const;
};

// qk's output for this layer and configuration, computed once with the best ISA (u8 bit patterns;
// s8 outputs are returned ^ 0x80 so they compare with u8 ones). Throws on failure.
const std::vector<uint8_t>& ReferenceOutput(const Shape& shape, const QkConfig& config);
const ConvData& GetData(const Shape& shape);

// Registration, in the order the benchmarks run (peers of a row before qk, for vs_peer).
void RegisterOnednn(const Shape& shape, int threads);
void RegisterXnnpack(const Shape& shape, int threads);
void RegisterOrt(const Shape& shape, int threads);

// oneDNN's worker process: `qk-bench --worker=onednn` (ONEDNN_MAX_CPU_ISA and OMP_NUM_THREADS set
// in its environment). Returns the process exit code.
int OnednnWorkerMain();

// Versions / notes for the JSON context.
std::string OnednnVersion();
std::string XnnpackNote();

// Writes the data of every layer for tools/bench_ort_models.py (ONNX models for ONNX Runtime).
int ExportOrtData(const std::vector<Shape>& shapes, const std::string& dir);

}  // namespace qkbench

#endif  // QK_BENCH_PEERS_H
