// libFuzzer target: fuzz bytes -> qk_conv2d_desc (fuzz/conv2d_case.h) -> qk_conv2d_create -> run,
// on the ISA this process selects (QK_ISA picks another). What it checks, beyond ASan / UBSan:
//   - every status is one qk.h documents; a failure leaves *op NULL and sets qk_last_error();
//   - a descriptor with an argument qk.h calls invalid (bad scale, zero point outside its type,
//     bad scale count, output_min > output_max, pixel stride < channels, NULL bias with a bias
//     type, no such numerics mode) is refused with QK_ERROR_INVALID_ARGUMENT;
//   - qk_conv2d_output_size agrees with the formula of qk.h, and an empty output is
//     QK_ERROR_INVALID_ARGUMENT with nothing written;
//   - run succeeds on exactly sized buffers (input, output, and the workspace of
//     qk_conv2d_workspace_size, or NULL), writes only channels [0, O) of each output pixel, and
//     every output lies in the effective output range (type ∩ [output_min, output_max], ReLU);
//   - the same run with a NULL workspace and with the caller's gives the same bytes.
#include <cstdint>
#include <cstring>

#include "conv2d_case.h"
#include "fuzz_util.h"
#include "qk.h"

namespace {

using qk_fuzz::AlignedBuffer;
using qk_fuzz::Conv2dCase;

constexpr uint8_t kCanary = 0xa5;

void CheckFailure(qk_status s, const char* what) {
  QK_FUZZ_CHECK(qk_fuzz::IsDocumentedStatus(s), "%s returned undocumented status %d", what, (int)s);
  QK_FUZZ_CHECK(qk_last_error()[0] != '\0', "%s failed (%s) without a qk_last_error() message",
                what, qk_status_string(s));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  qk_fuzz::InputSource src(data, size);
  Conv2dCase c;
  qk_fuzz::DecodeConv2d(src, &c);
  const qk_conv2d_desc& d = c.desc;

  // An open defect (conv2d_case.h): skipped, unless QK_FUZZ_STRICT=1 checks it anyway.
  if (!c.must_be_invalid && qk_fuzz::KnownDefect(c) != nullptr && !qk_fuzz::Strict()) return 0;

  qk_conv2d* op = reinterpret_cast<qk_conv2d*>(&c);  // create must overwrite it on every path
  const qk_status created = qk_conv2d_create(&d, &op);
  if (created != QK_SUCCESS) {
    CheckFailure(created, "qk_conv2d_create");
    QK_FUZZ_CHECK(op == nullptr, "qk_conv2d_create failed (%s) but left *op non-NULL",
                  qk_status_string(created));
    if (c.must_be_invalid) {
      QK_FUZZ_CHECK(created == QK_ERROR_INVALID_ARGUMENT,
                    "an invalid descriptor gave %s, not QK_ERROR_INVALID_ARGUMENT: %s",
                    qk_status_string(created), qk_last_error());
    }
    return 0;
  }
  QK_FUZZ_CHECK(!c.must_be_invalid, "qk_conv2d_create accepted an invalid descriptor");
  QK_FUZZ_CHECK(op != nullptr, "qk_conv2d_create succeeded with *op NULL");

  size_t want_oh = 0, want_ow = 0, oh = 0, ow = 0;
  const bool nonempty = c.OutputSize(&want_oh, &want_ow);
  const qk_status sized = qk_conv2d_output_size(op, c.height, c.width, &oh, &ow);
  const size_t in_stride = c.InputStride(), out_stride = c.OutputStride();
  if (!nonempty) {
    QK_FUZZ_CHECK(sized == QK_ERROR_INVALID_ARGUMENT,
                  "qk_conv2d_output_size of an empty output (%zux%zu input) gave %s", c.height,
                  c.width, qk_status_string(sized));
    uint8_t x[64], y[64];
    std::memset(x, 0, sizeof(x));
    std::memset(y, kCanary, sizeof(y));
    const qk_status ran = qk_conv2d_run(op, c.batch, c.height, c.width, x, y, nullptr);
    QK_FUZZ_CHECK(ran == QK_ERROR_INVALID_ARGUMENT, "run with an empty output gave %s",
                  qk_status_string(ran));
    for (uint8_t v : y) QK_FUZZ_CHECK(v == kCanary, "a failed run wrote to the output");
    qk_conv2d_delete(op);
    return 0;
  }
  QK_FUZZ_CHECK(sized == QK_SUCCESS && oh == want_oh && ow == want_ow,
                "qk_conv2d_output_size gave %s %zux%zu, qk.h's formula %zux%zu",
                qk_status_string(sized), oh, ow, want_oh, want_ow);

  const size_t in_bytes = c.batch * c.height * c.width * in_stride;
  const size_t out_pixels = c.batch * oh * ow;
  const size_t out_bytes = out_pixels * out_stride;
  AlignedBuffer x(in_bytes), y(out_bytes), y2(out_bytes);
  c.FillInput(x.data(), x.size());
  std::memset(y.data(), kCanary, y.size());
  std::memset(y2.data(), kCanary, y2.size());

  const size_t ws_bytes = qk_conv2d_workspace_size(op);
  AlignedBuffer ws(ws_bytes);
  qk_status ran = qk_conv2d_run(op, c.batch, c.height, c.width, x.data(), y.data(), ws.data());
  QK_FUZZ_CHECK(ran == QK_SUCCESS, "run (own workspace of %zu bytes) failed: %s: %s", ws_bytes,
                qk_status_string(ran), qk_last_error());
  ran = qk_conv2d_run(op, c.batch, c.height, c.width, x.data(), y2.data(), nullptr);
  QK_FUZZ_CHECK(ran == QK_SUCCESS, "run (NULL workspace) failed: %s: %s", qk_status_string(ran),
                qk_last_error());
  QK_FUZZ_CHECK(std::memcmp(y.data(), y2.data(), y.size()) == 0,
                "a NULL workspace and the caller's give different outputs");

  int32_t lo, hi;
  c.OutputRange(&lo, &hi);
  const bool s8 = d.output_type == QK_DTYPE_S8;
  for (size_t p = 0; p < out_pixels; p++) {
    const uint8_t* px = y.data() + p * out_stride;
    for (size_t o = 0; o < d.output_channels; o++) {
      const int32_t v = s8 ? static_cast<int8_t>(px[o]) : px[o];
      QK_FUZZ_CHECK(v >= lo && v <= hi,
                    "output %d at pixel %zu channel %zu outside the effective range [%d, %d] "
                    "(%s, %s)",
                    v, p, o, lo, hi, qk_conv2d_isa(op), qk_conv2d_ukernels(op));
    }
    for (size_t o = d.output_channels; o < out_stride; o++) {
      QK_FUZZ_CHECK(px[o] == kCanary, "run wrote channel %zu of pixel %zu, beyond the %zu outputs",
                    o, p, d.output_channels);
    }
  }
  qk_conv2d_delete(op);
  return 0;
}
