// libFuzzer target, differential: one fuzz-decoded conv2d case (fuzz/conv2d_case.h) created under
// every ISA this CPU supports (qk_compiled_isas + qk_isa_is_supported, selected with qk_set_isa)
// and run on one thread, then under the best ISA on thread pools of 2 and 3 threads
// (qk_conv2d_run_threaded). Every run must give the bytes of the generic one (qk's house rule: the
// same output on every ISA and for any thread count), and create must give the same status under
// every ISA. Invalid descriptors are mostly steered away from (fuzz_conv2d covers them).
#include <cstdint>
#include <cstring>
#include <sstream>
#include <string>
#include <vector>

#include "conv2d_case.h"
#include "fuzz_util.h"
#include "qk.h"

namespace {

using qk_fuzz::AlignedBuffer;
using qk_fuzz::Conv2dCase;

struct Setup {
  std::vector<std::string> isas;  // supported, generic first
  qk_threadpool* pools[2] = {nullptr, nullptr};
};

const Setup& GetSetup() {
  static const Setup setup = [] {
    Setup s;
    std::stringstream ss(qk_compiled_isas());
    for (std::string isa; ss >> isa;) {
      if (qk_isa_is_supported(isa.c_str())) s.isas.push_back(isa);
    }
    if (s.isas.empty() || s.isas[0] != "generic") qk_fuzz::Fail("generic is not the first ISA");
    for (size_t i = 0; i < 2; i++) {
      if (qk_threadpool_create(i + 2, &s.pools[i]) != QK_SUCCESS) {
        qk_fuzz::Fail("qk_threadpool_create(%zu): %s", i + 2, qk_last_error());
      }
    }
    std::fprintf(stderr, "fuzz_conv2d_isa: ISAs compared:");
    for (const std::string& isa : s.isas) std::fprintf(stderr, " %s", isa.c_str());
    std::fprintf(stderr, "; threaded runs with 2 and 3 threads\n");
    return s;
  }();
  return setup;
}

// The O outputs of every pixel must equal generic's; the bytes between them and the next pixel
// (a pixel stride wider than O) must still hold `fill`.
void Compare(const Conv2dCase& c, const uint8_t* want, const uint8_t* got, uint8_t fill,
             const char* isa, const char* ukernels, size_t threads) {
  const size_t stride = c.OutputStride(), channels = c.desc.output_channels;
  size_t oh = 0, ow = 0;
  c.OutputSize(&oh, &ow);
  const size_t pixels = c.batch * oh * ow;
  for (size_t p = 0; p < pixels; p++) {
    for (size_t o = 0; o < stride; o++) {
      const uint8_t g = got[p * stride + o], w = want[p * stride + o];
      if (o < channels) {
        QK_FUZZ_CHECK(g == w,
                      "%s (%s, %zu thread(s)) differs from generic at pixel %zu of %zu, channel "
                      "%zu: %u vs %u",
                      isa, ukernels, threads, p, pixels, o, g, w);
      } else {
        QK_FUZZ_CHECK(g == fill, "%s (%zu thread(s)) wrote channel %zu of pixel %zu (O = %zu)", isa,
                      threads, o, p, channels);
      }
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  GetSetup();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const Setup& setup = GetSetup();
  qk_fuzz::InputSource src(data, size);
  Conv2dCase c;
  qk_fuzz::DecodeConv2d(src, &c);
  if (c.must_be_invalid || c.batch == 0) return 0;
  if (qk_fuzz::KnownDefect(c) != nullptr && !qk_fuzz::Strict()) return 0;
  size_t oh, ow;
  if (!c.OutputSize(&oh, &ow)) return 0;
  const qk_conv2d_desc& d = c.desc;

  const size_t in_bytes = c.batch * c.height * c.width * c.InputStride();
  const size_t out_bytes = c.batch * oh * ow * c.OutputStride();
  AlignedBuffer x(in_bytes), want(out_bytes), got(out_bytes);
  c.FillInput(x.data(), x.size());

  qk_status generic_status = QK_SUCCESS;
  for (size_t i = 0; i < setup.isas.size(); i++) {
    const char* isa = setup.isas[i].c_str();
    if (qk_set_isa(isa) != QK_SUCCESS) qk_fuzz::Fail("qk_set_isa(%s): %s", isa, qk_last_error());
    qk_conv2d* op = nullptr;
    const qk_status s = qk_conv2d_create(&d, &op);
    qk_set_isa(nullptr);
    if (i == 0) {
      generic_status = s;
      if (s != QK_SUCCESS) return 0;
    } else {
      QK_FUZZ_CHECK(s == generic_status, "create gives %s on %s but %s on generic (%s)",
                    qk_status_string(s), isa, qk_status_string(generic_status), qk_last_error());
      if (s != QK_SUCCESS) continue;
    }
    QK_FUZZ_CHECK(std::strcmp(qk_conv2d_isa(op), isa) == 0, "operator created under %s reports %s",
                  isa, qk_conv2d_isa(op));
    uint8_t* out = i == 0 ? want.data() : got.data();
    std::memset(out, 0xa5, out_bytes);
    const qk_status ran = qk_conv2d_run(op, c.batch, c.height, c.width, x.data(), out, nullptr);
    QK_FUZZ_CHECK(ran == QK_SUCCESS, "run on %s: %s: %s", isa, qk_status_string(ran),
                  qk_last_error());
    if (i > 0) Compare(c, want.data(), got.data(), 0xa5, isa, qk_conv2d_ukernels(op), 1);
    // Threaded runs under the best ISA (the last one), with the caller's workspace for one pool.
    if (i + 1 == setup.isas.size()) {
      for (qk_threadpool* pool : setup.pools) {
        const size_t threads = qk_threadpool_threads(pool);
        AlignedBuffer ws(qk_conv2d_workspace_size(op) * threads);
        std::memset(got.data(), 0x5a, out_bytes);
        const qk_status t =
            qk_conv2d_run_threaded(op, c.batch, c.height, c.width, x.data(), got.data(),
                                   threads == 2 ? ws.data() : nullptr, pool);
        QK_FUZZ_CHECK(t == QK_SUCCESS, "threaded run (%zu threads, %s): %s: %s", threads, isa,
                      qk_status_string(t), qk_last_error());
        Compare(c, want.data(), got.data(), 0x5a, isa, qk_conv2d_ukernels(op), threads);
      }
    }
    qk_conv2d_delete(op);
  }
  return 0;
}
