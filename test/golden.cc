#include "golden.h"

#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>
#include <stdexcept>

namespace qk_test {
namespace {

class LineReader {
 public:
  explicit LineReader(const std::string& path) : path_(path), in_(path) {
    if (!in_) throw std::runtime_error("cannot open golden file " + path);
  }

  // Next non-empty, non-comment line split into words; false at end of file.
  bool Next(std::vector<std::string>* words) {
    if (has_pending_) {
      has_pending_ = false;
      *words = pending_;
      return true;
    }
    std::string line;
    while (std::getline(in_, line)) {
      line_no_++;
      std::istringstream ss(line);
      words->clear();
      for (std::string w; ss >> w;) words->push_back(w);
      if (!words->empty() && (*words)[0][0] != '#') return true;
    }
    return false;
  }

  [[noreturn]] void Fail(const std::string& what) const {
    throw std::runtime_error(path_ + ":" + std::to_string(line_no_) + ": " + what);
  }

  std::vector<std::string> Expect(const std::string& key) {
    std::vector<std::string> words;
    if (!Next(&words)) Fail("unexpected end of file, expected '" + key + "'");
    if (words[0] != key) Fail("expected '" + key + "', got '" + words[0] + "'");
    return std::vector<std::string>(words.begin() + 1, words.end());
  }

  // The values of an optional line `key ...` if it comes next; otherwise the line stays unread.
  bool Optional(const std::string& key, std::vector<std::string>* values) {
    std::vector<std::string> words;
    if (!Next(&words)) return false;
    if (words[0] != key) {
      pending_ = words;
      has_pending_ = true;
      return false;
    }
    values->assign(words.begin() + 1, words.end());
    return true;
  }

  int64_t Int(const std::string& s) const {
    char* end = nullptr;
    errno = 0;
    const long long v = std::strtoll(s.c_str(), &end, 10);
    if (errno || end == s.c_str() || *end) Fail("bad integer '" + s + "'");
    return v;
  }

  double Double(const std::string& s) const {
    char* end = nullptr;
    const double v = std::strtod(s.c_str(), &end);
    if (end == s.c_str() || *end) Fail("bad number '" + s + "'");
    return v;
  }

  std::vector<int64_t> Ints(const std::vector<std::string>& words, size_t count) const {
    if (words.size() != count) {
      Fail("expected " + std::to_string(count) + " values, got " + std::to_string(words.size()));
    }
    std::vector<int64_t> v;
    for (const auto& w : words) v.push_back(Int(w));
    return v;
  }

  // "<count> v..." lists
  std::vector<std::string> CountedList(const std::vector<std::string>& words) const {
    if (words.empty()) Fail("missing count");
    const int64_t n = Int(words[0]);
    if (n < 0 || static_cast<size_t>(n) != words.size() - 1) Fail("count does not match values");
    return std::vector<std::string>(words.begin() + 1, words.end());
  }

 private:
  std::string path_;
  std::ifstream in_;
  int line_no_ = 0;
  std::vector<std::string> pending_;
  bool has_pending_ = false;
};

int64_t OutExtent(int64_t in, int64_t pa, int64_t pb, int64_t k, int64_t d, int64_t s) {
  return (in + pa + pb - d * (k - 1) - 1) / s + 1;
}

std::vector<int32_t> ToI32(const std::vector<int64_t>& v) {
  return std::vector<int32_t>(v.begin(), v.end());
}

GoldenCase ReadCase(LineReader& r, const std::string& name) {
  GoldenCase c;
  c.name = name;
  auto one = [&](const char* key) {
    auto w = r.Expect(key);
    if (w.size() != 1) r.Fail(std::string("expected one value for ") + key);
    return w[0];
  };
  c.numerics = one("numerics");
  c.input_type = one("input_type");
  if (c.input_type != "u8" && c.input_type != "s8") r.Fail("input_type must be u8 or s8");
  auto is = r.Ints(r.Expect("input_shape"), 4);
  c.n = is[0], c.c = is[1], c.h = is[2], c.w = is[3];
  auto ws = r.Ints(r.Expect("weight_shape"), 4);
  c.o = ws[0], c.cg = ws[1], c.kh = ws[2], c.kw = ws[3];
  auto st = r.Ints(r.Expect("stride"), 2);
  c.stride[0] = st[0], c.stride[1] = st[1];
  auto pd = r.Ints(r.Expect("padding"), 4);
  for (int i = 0; i < 4; i++) c.padding[i] = pd[i];
  auto dl = r.Ints(r.Expect("dilation"), 2);
  c.dilation[0] = dl[0], c.dilation[1] = dl[1];
  c.groups = r.Int(one("groups"));
  c.input_scale = r.Double(one("input_scale"));
  c.input_zero_point = static_cast<int32_t>(r.Int(one("input_zero_point")));
  for (const auto& s : r.CountedList(r.Expect("weight_scales"))) {
    c.weight_scales.push_back(r.Double(s));
  }
  for (const auto& s : r.CountedList(r.Expect("weight_zero_points"))) {
    c.weight_zero_points.push_back(static_cast<int32_t>(r.Int(s)));
  }
  if (c.weight_zero_points.size() != c.weight_scales.size()) {
    r.Fail("weight_zero_points and weight_scales counts differ");
  }
  std::vector<std::string> opt;
  if (r.Optional("weight_quantization", &opt)) {
    if (opt.size() != 1 || (opt[0] != "per-tensor" && opt[0] != "per-channel")) {
      r.Fail("weight_quantization must be per-tensor or per-channel");
    }
    c.weight_quantization = opt[0];
  }
  auto bias = r.Expect("bias");
  if (bias.empty()) r.Fail("bias needs 'none', 'f32 ...' or 's32 ...'");
  c.bias_type = bias[0];
  if (c.bias_type == "none") {
    if (bias.size() != 1) r.Fail("trailing values after 'bias none'");
  } else if (c.bias_type == "f32" || c.bias_type == "s32") {
    auto values = r.CountedList(std::vector<std::string>(bias.begin() + 1, bias.end()));
    if (static_cast<int64_t>(values.size()) != c.o) r.Fail("bias length differs from O");
    for (const auto& v : values) {
      if (c.bias_type == "f32") {
        c.bias_f32.push_back(static_cast<float>(r.Double(v)));
      } else {
        c.bias_s32.push_back(static_cast<int32_t>(r.Int(v)));
      }
    }
  } else {
    r.Fail("unknown bias type '" + c.bias_type + "'");
  }
  c.output_scale = r.Double(one("output_scale"));
  c.output_zero_point = static_cast<int32_t>(r.Int(one("output_zero_point")));
  c.relu = r.Int(one("relu")) != 0;
  if (r.Optional("output_min", &opt)) {
    if (opt.size() != 1) r.Fail("expected one value for output_min");
    c.output_min = static_cast<int32_t>(r.Int(opt[0]));
  }
  if (r.Optional("output_max", &opt)) {
    if (opt.size() != 1) r.Fail("expected one value for output_max");
    c.output_max = static_cast<int32_t>(r.Int(opt[0]));
  }
  c.input = ToI32(r.Ints(r.Expect("input"), static_cast<size_t>(c.n * c.c * c.h * c.w)));
  c.weight = ToI32(r.Ints(r.Expect("weight"), static_cast<size_t>(c.o * c.cg * c.kh * c.kw)));
  auto expect = r.Expect("expect");
  if (expect.empty()) r.Fail("expect needs 'output' or 'unsupported <reason>'");
  if (expect[0] == "unsupported") {
    c.expect_unsupported = true;
    for (size_t i = 1; i < expect.size(); i++)
      c.unsupported_reason += (i > 1 ? " " : "") + expect[i];
  } else if (expect[0] == "output") {
    c.out_h = OutExtent(c.h, c.padding[0], c.padding[2], c.kh, c.dilation[0], c.stride[0]);
    c.out_w = OutExtent(c.w, c.padding[1], c.padding[3], c.kw, c.dilation[1], c.stride[1]);
    c.output =
        ToI32(r.Ints(r.Expect("output"), static_cast<size_t>(c.n * c.o * c.out_h * c.out_w)));
  } else {
    r.Fail("expect must be 'output' or 'unsupported'");
  }
  if (!r.Expect("end").empty()) r.Fail("trailing values after 'end'");
  return c;
}

}  // namespace

std::vector<GoldenCase> ReadGoldenFile(const std::string& path) {
  LineReader r(path);
  auto magic = r.Expect("qk-golden-conv2d");
  if (magic.size() != 1 || magic[0] != "1") r.Fail("unsupported golden format version");
  std::vector<GoldenCase> cases;
  std::vector<std::string> words;
  while (r.Next(&words)) {
    if (words[0] != "case" || words.size() != 2) r.Fail("expected 'case <name>'");
    cases.push_back(ReadCase(r, words[1]));
  }
  return cases;
}

RunResult RunGoldenCase(const GoldenCase& c) {
  RunResult result;
  qk_conv2d_desc d;
  qk_conv2d_desc_init(&d);
  if (qk_numerics_from_name(c.numerics.c_str(), &d.numerics) != QK_SUCCESS) {
    result.status = QK_ERROR_INVALID_ARGUMENT;
    result.message = qk_last_error();
    return result;
  }
  const bool s8 = c.input_type == "s8";
  d.input_channels = static_cast<size_t>(c.c);
  d.output_channels = static_cast<size_t>(c.o);
  d.groups = static_cast<size_t>(c.groups);
  d.kernel_height = static_cast<size_t>(c.kh);
  d.kernel_width = static_cast<size_t>(c.kw);
  d.stride_height = static_cast<size_t>(c.stride[0]);
  d.stride_width = static_cast<size_t>(c.stride[1]);
  d.dilation_height = static_cast<size_t>(c.dilation[0]);
  d.dilation_width = static_cast<size_t>(c.dilation[1]);
  d.padding_top = static_cast<size_t>(c.padding[0]);
  d.padding_left = static_cast<size_t>(c.padding[1]);
  d.padding_bottom = static_cast<size_t>(c.padding[2]);
  d.padding_right = static_cast<size_t>(c.padding[3]);
  d.input_type = d.output_type = s8 ? QK_DTYPE_S8 : QK_DTYPE_U8;
  d.input_scale = c.input_scale;
  d.input_zero_point = c.input_zero_point;
  std::vector<int8_t> weights(c.weight.begin(), c.weight.end());
  d.weights = weights.data();
  d.weight_scale_count = c.weight_scales.size();
  d.weight_scales = c.weight_scales.data();
  d.weight_zero_points = c.weight_zero_points.data();
  if (c.bias_type == "f32") {
    d.bias_type = QK_DTYPE_F32;
    d.bias = c.bias_f32.data();
  } else if (c.bias_type == "s32") {
    d.bias_type = QK_DTYPE_S32;
    d.bias = c.bias_s32.data();
  }
  d.output_scale = c.output_scale;
  d.output_zero_point = c.output_zero_point;
  d.relu = c.relu;
  d.output_min = c.output_min;
  d.output_max = c.output_max;
  if (c.weight_quantization == "per-tensor") d.weight_quantization = QK_WEIGHT_QUANTIZATION_PER_TENSOR;
  if (c.weight_quantization == "per-channel") {
    d.weight_quantization = QK_WEIGHT_QUANTIZATION_PER_CHANNEL;
  }

  qk_conv2d* raw = nullptr;
  result.status = qk_conv2d_create(&d, &raw);
  if (result.status != QK_SUCCESS) {
    result.message = qk_last_error();
    return result;
  }
  std::unique_ptr<qk_conv2d, decltype(&qk_conv2d_delete)> op(raw, qk_conv2d_delete);
  result.ukernels = qk_conv2d_ukernels(op.get());

  // NCHW -> NHWC bytes
  const size_t hw = static_cast<size_t>(c.h * c.w);
  std::vector<uint8_t> x(static_cast<size_t>(c.n) * hw * static_cast<size_t>(c.c));
  for (int64_t n = 0; n < c.n; n++)
    for (int64_t ch = 0; ch < c.c; ch++)
      for (size_t p = 0; p < hw; p++)
        x[(static_cast<size_t>(n) * hw + p) * static_cast<size_t>(c.c) + static_cast<size_t>(ch)] =
            static_cast<uint8_t>(c.input[(static_cast<size_t>(n * c.c + ch)) * hw + p]);
  size_t oh = 0, ow = 0;
  result.status =
      qk_conv2d_output_size(op.get(), static_cast<size_t>(c.h), static_cast<size_t>(c.w), &oh, &ow);
  if (result.status != QK_SUCCESS) {
    result.message = qk_last_error();
    return result;
  }
  const size_t ohw = oh * ow;
  std::vector<uint8_t> y(static_cast<size_t>(c.n) * ohw * static_cast<size_t>(c.o), 0xAB);
  result.status = qk_conv2d_run(op.get(), static_cast<size_t>(c.n), static_cast<size_t>(c.h),
                                static_cast<size_t>(c.w), x.data(), y.data(), nullptr);
  if (result.status != QK_SUCCESS) {
    result.message = qk_last_error();
    return result;
  }
  result.output.resize(y.size());
  for (int64_t n = 0; n < c.n; n++)
    for (int64_t o = 0; o < c.o; o++)
      for (size_t p = 0; p < ohw; p++) {
        const uint8_t v = y[(static_cast<size_t>(n) * ohw + p) * static_cast<size_t>(c.o) +
                            static_cast<size_t>(o)];
        result.output[static_cast<size_t>(n * c.o + o) * ohw + p] =
            s8 ? static_cast<int8_t>(v) : static_cast<int32_t>(v);
      }
  return result;
}

}  // namespace qk_test
