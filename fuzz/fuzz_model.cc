// libFuzzer target: arbitrary bytes -> qk_model_load_memory (runtime/: the safetensors container,
// the JSON graph, every operator's descriptor) -> queries -> run. What it checks, beyond ASan /
// UBSan (no over-read of the file, no leak, no UB):
//   - every status is one qk.h documents; a failure leaves *model NULL and sets qk_last_error();
//   - a loaded model answers its queries consistently (one input and output info per index, an
//     arena size at least as large for 2 threads as for 1);
//   - a loaded model of moderate size runs on exactly sized buffers with a caller's arena of the
//     reported size, and the run gives the same bytes with a NULL arena.
#include <cstdint>
#include <cstring>
#include <vector>

#include "conv2d_case.h"  // IsDocumentedStatus, AlignedBuffer
#include "fuzz_util.h"
#include "qk_model.h"

namespace {

using qk_fuzz::AlignedBuffer;

void Run(const qk_model* m) {
  qk_model_tensor_info in, out;
  QK_FUZZ_CHECK(qk_model_input_info(m, 0, &in) == QK_SUCCESS, "no input 0");
  QK_FUZZ_CHECK(qk_model_output_info(m, 0, &out) == QK_SUCCESS, "no output 0");
  const size_t arena = qk_model_arena_size(m, 1);
  QK_FUZZ_CHECK(qk_model_arena_size(m, 2) >= arena, "the arena shrinks with threads");
  if (qk_model_input_count(m) != 1 || qk_model_output_count(m) != 1) return;
  if (in.bytes > (4u << 20) || out.bytes > (4u << 20) || arena > (64u << 20)) return;
  std::vector<uint8_t> x(in.bytes, 0x35), y(out.bytes), y2(out.bytes);
  if (in.dtype == QK_DTYPE_F32) {
    float* f = reinterpret_cast<float*>(x.data());
    for (size_t i = 0; i < in.bytes / 4; i++) f[i] = static_cast<float>(i % 17) - 8.0f;
  }
  AlignedBuffer a(arena);
  const void* inputs[] = {x.data()};
  void* outputs[] = {y.data()};
  void* outputs2[] = {y2.data()};
  const qk_status s = qk_model_run(m, inputs, outputs, a.data(), nullptr);
  QK_FUZZ_CHECK(qk_fuzz::IsDocumentedStatus(s), "run returned undocumented status %d", (int)s);
  if (s != QK_SUCCESS) return;
  QK_FUZZ_CHECK(qk_model_run(m, inputs, outputs2, nullptr, nullptr) == QK_SUCCESS,
                "a run that succeeded fails with a NULL arena");
  QK_FUZZ_CHECK(memcmp(y.data(), y2.data(), out.bytes) == 0,
                "a NULL arena changes the output");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  qk_model* m = reinterpret_cast<qk_model*>(1);
  const qk_status s = qk_model_load_memory(data, size, &m);
  QK_FUZZ_CHECK(qk_fuzz::IsDocumentedStatus(s), "load returned undocumented status %d", (int)s);
  if (s != QK_SUCCESS) {
    QK_FUZZ_CHECK(m == nullptr, "a failed load left *model set");
    QK_FUZZ_CHECK(qk_last_error()[0] != '\0', "a failed load set no message");
    return 0;
  }
  Run(m);
  qk_model_delete(m);
  return 0;
}
