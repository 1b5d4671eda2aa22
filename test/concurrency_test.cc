// Concurrency contract of qk.h, meant to run under ThreadSanitizer (ci/tsan.sh) as well as in the
// ordinary suite:
//   - one operator run by many threads at once (separate outputs; NULL and caller workspaces)
//     gives the bytes of a single-threaded run, on every ISA this CPU supports;
//   - thread pools: several pools running at once, and one pool shared by several threads that
//     take turns (qk.h: "One pool may serve one run at a time"), give the same bytes;
//   - qk_set_isa called (valid and invalid names) while other threads create, run and delete
//     operators: every create succeeds, the operator reports one of the selectable ISAs, and its
//     output does not depend on the ISA;
//   - qk_last_error() is per thread.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <mutex>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "qk.h"

namespace {

// Under TSan every access is instrumented (5-15x slower): keep the work per run small.
constexpr int kThreads = 8;
constexpr int kRuns = 6;

std::vector<std::string> SupportedIsas() {
  std::vector<std::string> isas;
  std::stringstream ss(qk_compiled_isas());
  for (std::string isa; ss >> isa;) {
    if (qk_isa_is_supported(isa.c_str())) isas.push_back(isa);
  }
  return isas;
}

struct Shape {
  const char* name;
  qk_numerics numerics;
  qk_dtype type;
  size_t c, o, groups, k, stride, pad, h, w, batch;
  bool weight_zero_point;
};

// One of each run path: im2col + GEMM (with and without row sums), 1x1 direct, depthwise.
const Shape kShapes[] = {
    {"gemm3x3", QK_NUMERICS_PYTORCH_QNNPACK, QK_DTYPE_U8, 24, 40, 1, 3, 1, 1, 15, 13, 2, true},
    {"gemm_s8", QK_NUMERICS_TFLITE, QK_DTYPE_S8, 16, 24, 2, 3, 2, 1, 17, 17, 1, false},
    {"direct1x1", QK_NUMERICS_PYTORCH_ONEDNN, QK_DTYPE_U8, 32, 48, 1, 1, 1, 0, 14, 14, 1, false},
    {"depthwise", QK_NUMERICS_ONNXRUNTIME, QK_DTYPE_U8, 32, 32, 32, 3, 1, 1, 16, 16, 1, false},
};

class Conv {
 public:
  explicit Conv(const Shape& s) : s_(s) {
    std::mt19937 rng(static_cast<uint32_t>(s.c * 131 + s.o));
    weights_.resize(s.o * (s.c / s.groups) * s.k * s.k);
    for (int8_t& v : weights_) v = static_cast<int8_t>(rng());
    scales_.resize(s.o);
    for (size_t i = 0; i < s.o; i++) scales_[i] = 0.001 * (1 + rng() % 50);
    zero_points_.assign(s.o, 0);
    if (s.weight_zero_point) {
      for (int32_t& z : zero_points_) z = static_cast<int8_t>(rng()) / 4;
    }
    bias_.resize(s.o);
    for (int32_t& b : bias_) b = static_cast<int32_t>(rng() % 4001) - 2000;
    fbias_.resize(s.o);
    for (size_t i = 0; i < s.o; i++) fbias_[i] = static_cast<float>(bias_[i]) * 0.01f;
    input_.resize(s.batch * s.h * s.w * s.c);
    for (uint8_t& v : input_) v = static_cast<uint8_t>(rng());
    qk_conv2d_desc_init(&desc_);
    desc_.numerics = s.numerics;
    desc_.input_channels = s.c;
    desc_.output_channels = s.o;
    desc_.groups = s.groups;
    desc_.kernel_height = desc_.kernel_width = s.k;
    desc_.stride_height = desc_.stride_width = s.stride;
    desc_.padding_top = desc_.padding_left = desc_.padding_bottom = desc_.padding_right = s.pad;
    desc_.input_type = desc_.output_type = s.type;
    desc_.input_scale = 0.02;
    desc_.input_zero_point = s.type == QK_DTYPE_U8 ? 120 : -3;
    desc_.weights = weights_.data();
    const bool per_channel = s.numerics != QK_NUMERICS_TFLITE || s.type == QK_DTYPE_S8;
    desc_.weight_scale_count = per_channel ? s.o : 1;
    desc_.weight_scales = scales_.data();
    desc_.weight_zero_points = s.weight_zero_point ? zero_points_.data() : nullptr;
    // ONNX Runtime and TFLite take int32 biases, the PyTorch modes float ones.
    const bool int_bias = s.numerics == QK_NUMERICS_ONNXRUNTIME || s.numerics == QK_NUMERICS_TFLITE;
    desc_.bias_type = int_bias ? QK_DTYPE_S32 : QK_DTYPE_F32;
    desc_.bias = int_bias ? static_cast<const void*>(bias_.data()) : fbias_.data();
    desc_.output_scale = 0.05;
    desc_.output_zero_point = s.type == QK_DTYPE_U8 ? 110 : 5;
    const size_t eh = (s.h + 2 * s.pad - s.k) / s.stride + 1;
    const size_t ew = (s.w + 2 * s.pad - s.k) / s.stride + 1;
    out_bytes_ = s.batch * eh * ew * s.o;
  }

  const qk_conv2d_desc& desc() const { return desc_; }
  const Shape& shape() const { return s_; }
  const uint8_t* input() const { return input_.data(); }
  size_t out_bytes() const { return out_bytes_; }

  // Creates an operator under the current ISA selection.
  std::unique_ptr<qk_conv2d, decltype(&qk_conv2d_delete)> Create() const {
    qk_conv2d* op = nullptr;
    const qk_status s = qk_conv2d_create(&desc_, &op);
    EXPECT_EQ(s, QK_SUCCESS) << s_.name << ": " << qk_last_error();
    return {op, qk_conv2d_delete};
  }

  std::vector<uint8_t> Run(const qk_conv2d* op, void* workspace = nullptr,
                           qk_threadpool* pool = nullptr) const {
    std::vector<uint8_t> y(out_bytes_, 0xa5);
    const qk_status s =
        pool ? qk_conv2d_run_threaded(op, s_.batch, s_.h, s_.w, input_.data(), y.data(), workspace,
                                      pool)
             : qk_conv2d_run(op, s_.batch, s_.h, s_.w, input_.data(), y.data(), workspace);
    EXPECT_EQ(s, QK_SUCCESS) << s_.name << ": " << qk_last_error();
    return y;
  }

 private:
  Shape s_;
  qk_conv2d_desc desc_;
  std::vector<int8_t> weights_;
  std::vector<double> scales_;
  std::vector<int32_t> zero_points_;
  std::vector<int32_t> bias_;
  std::vector<float> fbias_;
  std::vector<uint8_t> input_;
  size_t out_bytes_ = 0;
};

struct AlignedFree {
  void operator()(void* p) const { std::free(p); }
};
std::unique_ptr<void, AlignedFree> Workspace(size_t bytes) {
  void* p = nullptr;
  if (posix_memalign(&p, 64, bytes ? bytes : 64) != 0) p = nullptr;
  return std::unique_ptr<void, AlignedFree>(p);
}

// The reference: generic, one thread.
std::vector<uint8_t> Reference(const Conv& conv) {
  EXPECT_EQ(qk_set_isa("generic"), QK_SUCCESS);
  auto op = conv.Create();
  qk_set_isa(nullptr);
  return conv.Run(op.get());
}

TEST(Concurrency, OneOperatorManyThreads) {
  for (const std::string& isa : SupportedIsas()) {
    for (const Shape& shape : kShapes) {
      const Conv conv(shape);
      const std::vector<uint8_t> want = Reference(conv);
      ASSERT_EQ(qk_set_isa(isa.c_str()), QK_SUCCESS);
      auto op = conv.Create();
      qk_set_isa(nullptr);
      ASSERT_NE(op, nullptr);
      std::atomic<int> mismatches{0};
      std::vector<std::thread> threads;
      for (int t = 0; t < kThreads; t++) {
        threads.emplace_back([&, t] {
          // Odd threads bring their own workspace, even ones let run allocate it.
          auto ws = Workspace(qk_conv2d_workspace_size(op.get()));
          for (int r = 0; r < kRuns; r++) {
            if (conv.Run(op.get(), t % 2 ? ws.get() : nullptr) != want) mismatches++;
          }
        });
      }
      for (std::thread& th : threads) th.join();
      EXPECT_EQ(mismatches.load(), 0) << shape.name << " on " << isa;
    }
    std::printf("[ concurrency ] %s: %d threads x %d runs of one operator match, %zu shapes\n",
                isa.c_str(), kThreads, kRuns, sizeof(kShapes) / sizeof(kShapes[0]));
  }
}

TEST(Concurrency, ThreadPools) {
  const Conv conv(kShapes[0]);
  const std::vector<uint8_t> want = Reference(conv);
  auto op = conv.Create();
  ASSERT_NE(op, nullptr);
  // Several pools running at the same time, one per caller thread.
  {
    std::atomic<int> mismatches{0};
    std::vector<std::thread> threads;
    for (size_t t = 0; t < 4; t++) {
      threads.emplace_back([&, t] {
        qk_threadpool* pool = nullptr;
        ASSERT_EQ(qk_threadpool_create(t + 1, &pool), QK_SUCCESS) << qk_last_error();
        for (int r = 0; r < 3; r++) {
          if (conv.Run(op.get(), nullptr, pool) != want) mismatches++;
        }
        qk_threadpool_delete(pool);
      });
    }
    for (std::thread& th : threads) th.join();
    EXPECT_EQ(mismatches.load(), 0) << "pools running concurrently";
  }
  // One pool shared by several threads, one run at a time (the documented contract), each caller
  // with its own workspace slice set.
  {
    qk_threadpool* pool = nullptr;
    ASSERT_EQ(qk_threadpool_create(3, &pool), QK_SUCCESS) << qk_last_error();
    std::mutex turn;
    std::atomic<int> mismatches{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; t++) {
      threads.emplace_back([&] {
        auto ws = Workspace(qk_conv2d_workspace_size(op.get()) * qk_threadpool_threads(pool));
        for (int r = 0; r < 3; r++) {
          std::lock_guard<std::mutex> lock(turn);
          if (conv.Run(op.get(), ws.get(), pool) != want) mismatches++;
        }
      });
    }
    for (std::thread& th : threads) th.join();
    qk_threadpool_delete(pool);
    EXPECT_EQ(mismatches.load(), 0) << "one pool shared in turns";
  }
  // Pools created and deleted while others run.
  {
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; t++) {
      threads.emplace_back([] {
        for (int r = 0; r < 20; r++) {
          qk_threadpool* pool = nullptr;
          ASSERT_EQ(qk_threadpool_create(2, &pool), QK_SUCCESS) << qk_last_error();
          qk_threadpool_delete(pool);
        }
      });
    }
    for (std::thread& th : threads) th.join();
  }
  std::printf("[ concurrency ] thread pools: concurrent pools, a shared pool, create/delete\n");
}

TEST(Concurrency, SetIsaWhileCreating) {
  const std::vector<std::string> isas = SupportedIsas();
  std::vector<Conv> convs;
  std::vector<std::vector<uint8_t>> want;
  for (const Shape& shape : kShapes) {
    convs.emplace_back(shape);
    want.push_back(Reference(convs.back()));
  }
  std::atomic<bool> stop{false};
  std::atomic<int> sets{0};
  std::thread setter([&] {
    // A real ISA of the other architecture is as foreign as a made-up name.
#if defined(__aarch64__)
    const char* foreign = "avx2";
#else
    const char* foreign = "neon";
#endif
    const char* invalid[] = {"avx9000", "", nullptr, foreign};
    for (size_t i = 0; !stop.load(); i++) {
      const std::string& isa = isas[i % isas.size()];
      EXPECT_EQ(qk_set_isa(isa.c_str()), QK_SUCCESS) << qk_last_error();
      // Unknown / foreign names are refused and leave the selection alone; NULL and "" select
      // the best ISA (qk.h).
      const char* other = invalid[i % 4];
      const qk_status s = qk_set_isa(other);
      const bool ok = other == nullptr || other[0] == '\0';
      if (ok) {
        EXPECT_EQ(s, QK_SUCCESS);
      } else {
        EXPECT_EQ(s, QK_ERROR_UNSUPPORTED_ISA);
      }
      const char* now = qk_get_isa();
      EXPECT_NE(now, nullptr);
      EXPECT_NE(qk_isa_reason(), nullptr);
      sets++;
    }
  });
  std::atomic<int> creates{0}, bad{0};
  std::vector<std::thread> workers;
  for (int t = 0; t < kThreads - 2; t++) {
    workers.emplace_back([&, t] {
      for (int r = 0; r < 6; r++) {
        const size_t k = static_cast<size_t>(t + r) % convs.size();
        qk_conv2d* raw = nullptr;
        const qk_status s = qk_conv2d_create(&convs[k].desc(), &raw);
        if (s != QK_SUCCESS) {
          ADD_FAILURE() << "create during qk_set_isa: " << qk_last_error();
          bad++;
          continue;
        }
        std::unique_ptr<qk_conv2d, decltype(&qk_conv2d_delete)> op(raw, qk_conv2d_delete);
        const std::string isa = qk_conv2d_isa(op.get());
        bool known = false;
        for (const std::string& i : isas) known = known || i == isa;
        if (!known) {
          ADD_FAILURE() << "operator reports ISA " << isa;
          bad++;
        }
        if (convs[k].Run(op.get()) != want[k]) {
          ADD_FAILURE() << convs[k].shape().name << " on " << isa << " differs from generic";
          bad++;
        }
        creates++;
      }
    });
  }
  for (std::thread& th : workers) th.join();
  stop = true;
  setter.join();
  qk_set_isa(nullptr);
  EXPECT_EQ(bad.load(), 0);
  std::printf("[ concurrency ] qk_set_isa: %d selections during %d creates + runs\n", sets.load(),
              creates.load());
}

TEST(Concurrency, LastErrorIsPerThread) {
  std::vector<std::thread> threads;
  std::atomic<int> bad{0};
  for (int t = 0; t < kThreads; t++) {
    threads.emplace_back([&, t] {
      qk_conv2d_desc d;
      qk_conv2d_desc_init(&d);
      d.numerics = QK_NUMERICS_TFLITE;
      d.input_channels = static_cast<size_t>(t + 2);
      d.output_channels = 1;
      d.groups = static_cast<size_t>(t + 2) * 7 + 1;  // does not divide
      d.kernel_height = d.kernel_width = 1;
      const std::string want = "groups (" + std::to_string(d.groups) + ")";
      for (int r = 0; r < 50; r++) {
        qk_conv2d* op = nullptr;
        if (qk_conv2d_create(&d, &op) != QK_ERROR_INVALID_ARGUMENT ||
            std::string(qk_last_error()).find(want) == std::string::npos) {
          bad++;
        }
      }
    });
  }
  for (std::thread& th : threads) th.join();
  EXPECT_EQ(bad.load(), 0);
}

}  // namespace
