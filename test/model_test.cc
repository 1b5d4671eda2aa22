// qk models (include/qk_model.h): networks exported from real PyTorch 1.13 by tools/qk_export.py
// (tools/models/gen_test_models.py; test/data/models/) must give PyTorch's output bit for bit on
// every ISA, with and without a thread pool, inside an arena of exactly the reported size; and a
// corrupt or hostile file must be refused with the documented status, never crash or over-read.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "isa_util.h"
#include "npy.h"
#include "qk_model.h"

namespace {

std::string ReadFile(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

qk_npy_array ReadNpy(const std::string& path) {
  qk_npy_array a;
  char error[QK_NPY_ERROR_SIZE];
  EXPECT_TRUE(qk_npy_read_file(path.c_str(), &a, error, sizeof(error))) << error;
  return a;
}

std::string ModelPath(const std::string& name) {
  return std::string(QK_MODEL_DATA_DIR) + "/" + name;
}

// The safetensors header (JSON text) of a file, and the file rebuilt around another header.
std::string HeaderOf(const std::string& file) {
  uint64_t n = 0;
  memcpy(&n, file.data(), 8);
  return file.substr(8, n);
}
std::string WithHeader(const std::string& file, const std::string& header) {
  const std::string data = file.substr(8 + HeaderOf(file).size());
  uint64_t n = header.size();
  std::string out(8, '\0');
  memcpy(&out[0], &n, 8);
  return out + header + data;
}
std::string Replace(std::string s, const std::string& from, const std::string& to) {
  const size_t at = s.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos) s.replace(at, from.size(), to);
  return s;
}

qk_status Load(const std::string& bytes, qk_model** m) {
  return qk_model_load_memory(bytes.data(), bytes.size(), m);
}

struct ModelCase {
  const char* name;  // test/data/models/<name>.safetensors and its .npy files
  size_t nodes;
};

class ModelGolden : public ::testing::TestWithParam<ModelCase> {};

TEST_P(ModelGolden, BitExactOnEveryIsaAndThreadCount) {
  const std::string engine = GetParam().name;
  const std::string base = ModelPath(engine);
  qk_npy_array input = ReadNpy(base + "-input.npy");
  qk_npy_array expected = ReadNpy(base + "-output.npy");
  ASSERT_EQ(input.dtype, QK_NPY_F32);
  ASSERT_EQ(expected.dtype, QK_NPY_F32);
  size_t isas_run = 0;
  for (const std::string& isa : qk_test::SupportedIsas()) {
    ASSERT_EQ(qk_set_isa(isa.c_str()), QK_SUCCESS);
    qk_model* m = nullptr;
    ASSERT_EQ(qk_model_load_file((base + ".safetensors").c_str(), &m), QK_SUCCESS)
        << qk_last_error();
    ASSERT_EQ(qk_model_input_count(m), 1u);
    ASSERT_EQ(qk_model_output_count(m), 1u);
    qk_model_tensor_info in, out;
    ASSERT_EQ(qk_model_input_info(m, 0, &in), QK_SUCCESS);
    ASSERT_EQ(qk_model_output_info(m, 0, &out), QK_SUCCESS);
    EXPECT_EQ(qk_model_input_info(m, 1, &in), QK_ERROR_INVALID_ARGUMENT);
    ASSERT_EQ(in.dtype, QK_DTYPE_F32);
    ASSERT_EQ(in.bytes, input.bytes);
    ASSERT_EQ(out.bytes, expected.bytes);
    ASSERT_EQ(out.rank, expected.ndim);
    for (size_t d = 0; d < out.rank; d++) EXPECT_EQ(out.shape[d], expected.shape[d]);
    EXPECT_EQ(qk_model_node_count(m), GetParam().nodes);

    for (size_t threads : {1, 2, 3}) {
      qk_threadpool* pool = nullptr;
      if (threads > 1) {
        ASSERT_EQ(qk_threadpool_create(threads, &pool), QK_SUCCESS);
      }
      // An arena of exactly the reported size, with guard bytes after it that must stay intact.
      const size_t arena_bytes = qk_model_arena_size(m, threads);
      std::vector<uint8_t> storage(arena_bytes + 64 + 256, 0xA5);
      uint8_t* arena = storage.data() + (64 - reinterpret_cast<uintptr_t>(storage.data()) % 64);
      memset(arena + arena_bytes, 0x5A, 128);
      std::vector<float> y(out.bytes / 4, -1.0f);
      const void* inputs[] = {input.data};
      void* outputs[] = {y.data()};
      ASSERT_EQ(qk_model_run(m, inputs, outputs, arena, pool), QK_SUCCESS) << qk_last_error();
      for (size_t i = 0; i < 128; i++) ASSERT_EQ(arena[arena_bytes + i], 0x5A) << "arena overrun";
      size_t bad = 0;
      for (size_t i = 0; i < y.size(); i++) {
        bad += memcmp(&y[i], static_cast<const float*>(expected.data) + i, 4) != 0;
      }
      EXPECT_EQ(bad, 0u) << engine << " on " << isa << " with " << threads << " threads: " << bad
                         << " of " << y.size() << " outputs differ from PyTorch";
      // NULL arena: the run allocates it.
      std::vector<float> y2(out.bytes / 4, -1.0f);
      void* outputs2[] = {y2.data()};
      ASSERT_EQ(qk_model_run(m, inputs, outputs2, nullptr, pool), QK_SUCCESS);
      EXPECT_EQ(memcmp(y.data(), y2.data(), out.bytes), 0);
      qk_threadpool_delete(pool);
    }
    qk_model_delete(m);
    isas_run++;
  }
  qk_set_isa(nullptr);
  std::string names;
  for (const std::string& isa : qk_test::SupportedIsas()) names += " " + isa;
  printf("model %s: bit-exact on %zu ISA(s):%s\n", engine.c_str(), isas_run, names.c_str());
  free(input.data);
  free(expected.data);
}

// tiny: conv + relu, depthwise, pointwise, dilated, 5x5; classifier: conv, torch.flatten of a
// 4-D tensor (a layout change), linear + relu, linear; miniresnet: torchvision's quantizable
// ResNet blocks (stem, max pool, add_relu skips, downsample, global average pool, flatten, fc)
// (tools/models/gen_test_models.py).
INSTANTIATE_TEST_SUITE_P(Torch113, ModelGolden,
                         ::testing::Values(ModelCase{"tiny-qnnpack", 7}, ModelCase{"tiny-onednn", 7},
                                           ModelCase{"classifier-qnnpack", 6},
                                           ModelCase{"classifier-onednn", 6},
                                           ModelCase{"miniresnet-qnnpack", 14},
                                           ModelCase{"miniresnet-onednn", 14}),
                         [](const ::testing::TestParamInfo<ModelCase>& info) {
                           std::string n = info.param.name;
                           for (char& c : n) c = c == '-' ? '_' : c;
                           return n;
                         });

TEST(ModelApi, InvalidArguments) {
  qk_model* m = reinterpret_cast<qk_model*>(1);
  EXPECT_EQ(qk_model_load_memory(nullptr, 10, &m), QK_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(m, nullptr);
  EXPECT_EQ(qk_model_load_memory("x", 1, nullptr), QK_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(qk_model_load_file(nullptr, &m), QK_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(qk_model_load_file("/nonexistent/model.safetensors", &m), QK_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(qk_last_error()).find("/nonexistent/model.safetensors"), std::string::npos);
  EXPECT_EQ(qk_model_load_file("/", &m), QK_ERROR_INVALID_ARGUMENT);  // a directory
  EXPECT_EQ(qk_model_input_count(nullptr), 0u);
  EXPECT_EQ(qk_model_arena_size(nullptr, 1), 0u);
  qk_model_delete(nullptr);

  const std::string file = ReadFile(ModelPath("tiny-qnnpack.safetensors"));
  ASSERT_EQ(Load(file, &m), QK_SUCCESS) << qk_last_error();
  std::vector<float> x(2 * 3 * 20 * 18), y(2 * 12 * 10 * 9);
  const void* inputs[] = {x.data()};
  const void* null_inputs[] = {nullptr};
  void* outputs[] = {y.data()};
  void* null_outputs[] = {nullptr};
  EXPECT_EQ(qk_model_run(nullptr, inputs, outputs, nullptr, nullptr), QK_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(qk_model_run(m, null_inputs, outputs, nullptr, nullptr), QK_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(qk_model_run(m, inputs, null_outputs, nullptr, nullptr), QK_ERROR_INVALID_ARGUMENT);
  std::vector<uint8_t> arena(qk_model_arena_size(m, 1) + 128);
  uint8_t* misaligned = arena.data() + (65 - reinterpret_cast<uintptr_t>(arena.data()) % 64);
  EXPECT_EQ(qk_model_run(m, inputs, outputs, misaligned, nullptr), QK_ERROR_INVALID_ARGUMENT);
  x[5] = NAN;  // quantize refuses NaN: the error names the node
  EXPECT_EQ(qk_model_run(m, inputs, outputs, nullptr, nullptr), QK_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(qk_last_error()).find("node 0 (quantize)"), std::string::npos)
      << qk_last_error();
  qk_model_delete(m);
}

// The observer sees every node once, in order, with its name, op and output; a nonzero return
// stops the run with QK_ERROR_INVALID_ARGUMENT.
TEST(ModelApi, ObservedRunsReportEveryNode) {
  qk_model* m = nullptr;
  ASSERT_EQ(qk_model_load_file(ModelPath("miniresnet-qnnpack.safetensors").c_str(), &m),
            QK_SUCCESS);
  qk_npy_array x = ReadNpy(ModelPath("miniresnet-qnnpack-input.npy"));
  qk_model_tensor_info out;
  ASSERT_EQ(qk_model_output_info(m, 0, &out), QK_SUCCESS);
  std::vector<float> y(out.bytes / 4);
  const void* inputs[] = {x.data};
  void* outputs[] = {y.data()};
  struct Seen {
    std::vector<std::string> names, ops;
    size_t stop_after = SIZE_MAX;
  } seen;
  auto observer = [](void* user, size_t node, const qk_model_node_info* info, const void* data) {
    Seen* s = static_cast<Seen*>(user);
    EXPECT_EQ(node, s->names.size());
    EXPECT_NE(data, nullptr);
    EXPECT_GT(info->output.bytes, 0u);
    s->names.push_back(info->name);
    s->ops.push_back(info->op);
    return node == s->stop_after ? 1 : 0;
  };
  ASSERT_EQ(qk_model_run_observed(m, inputs, outputs, nullptr, nullptr, observer, &seen),
            QK_SUCCESS);
  ASSERT_EQ(seen.names.size(), qk_model_node_count(m));
  EXPECT_EQ(seen.names[1], "conv1");
  EXPECT_EQ(seen.ops[2], "max_pool2d");
  EXPECT_EQ(seen.ops[5], "add");
  qk_model_node_info info;
  ASSERT_EQ(qk_model_describe_node(m, 5, &info), QK_SUCCESS);
  EXPECT_EQ(std::string(info.name), "layer1.0.add_relu.add_relu");
  EXPECT_EQ(qk_model_describe_node(m, qk_model_node_count(m), &info), QK_ERROR_INVALID_ARGUMENT);
  seen = Seen{};
  seen.stop_after = 3;
  EXPECT_EQ(qk_model_run_observed(m, inputs, outputs, nullptr, nullptr, observer, &seen),
            QK_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(seen.names.size(), 4u);
  free(x.data);
  qk_model_delete(m);
}

// Each edit of a valid file and the status it must give.
TEST(ModelLoad, RefusesMalformedFilesWithTheirStatus) {
  const std::string file = ReadFile(ModelPath("tiny-qnnpack.safetensors"));
  const std::string header = HeaderOf(file);
  struct Case {
    const char* what;
    std::string bytes;
    qk_status status;
    const char* message;
  };
  const std::vector<Case> cases = {
      {"empty", "", QK_ERROR_INVALID_ARGUMENT, "shorter than"},
      {"header longer than file", file.substr(0, 100), QK_ERROR_INVALID_ARGUMENT, "exceeds"},
      {"not JSON", WithHeader(file, "{\"a\":"), QK_ERROR_INVALID_ARGUMENT, "invalid JSON"},
      {"no metadata", WithHeader(file, "{}"), QK_ERROR_INVALID_ARGUMENT, "not a qk model"},
      {"version 2", WithHeader(file, Replace(header, "\"qk.version\":\"1\"", "\"qk.version\":\"2\"")),
       QK_ERROR_UNSUPPORTED, "version"},
      {"unknown op",
       WithHeader(file, Replace(header, "\\\"op\\\": \\\"dequantize\\\"", "\\\"op\\\": \\\"softmax\\\"")),
       QK_ERROR_UNSUPPORTED, "softmax"},
      {"unknown key",
       WithHeader(file, Replace(header, "\\\"groups\\\": 1,", "\\\"groupz\\\": 1,")),
       QK_ERROR_INVALID_ARGUMENT, "unknown key 'groupz'"},
      {"missing tensor",
       WithHeader(file, Replace(header, "\\\"weight\\\": \\\"conv1.weight\\\"", "\\\"weight\\\": \\\"nope\\\"")),
       QK_ERROR_INVALID_ARGUMENT, "'nope' is not in the file"},
      {"dangling input",
       WithHeader(file, Replace(header, "\\\"input\\\": \\\"input\\\"", "\\\"input\\\": \\\"later\\\"")),
       QK_ERROR_INVALID_ARGUMENT, "'later' is not a graph input"},
      {"unknown numerics",
       WithHeader(file, Replace(header, "pytorch-qnnpack", "pytorch-qnnpak")),
       QK_ERROR_INVALID_ARGUMENT, "pytorch-qnnpak"},
      {"offsets out of range",
       WithHeader(file, Replace(header, "\"data_offsets\":[0,", "\"data_offsets\":[1,")),
       QK_ERROR_INVALID_ARGUMENT, "data_offsets"},
      {"bad dtype", WithHeader(file, Replace(header, "\"dtype\":\"I8\"", "\"dtype\":\"Q8\"")),
       QK_ERROR_INVALID_ARGUMENT, "dtype"},
      {"weight with a wrong dtype",
       WithHeader(file, Replace(header, "\"dtype\":\"I8\"", "\"dtype\":\"U8\"")),
       QK_ERROR_INVALID_ARGUMENT, "weight must be I8"},
      {"zero point out of range",
       WithHeader(file, Replace(header, "\\\"zero_point\\\": ", "\\\"zero_point\\\": 9")),
       QK_ERROR_INVALID_ARGUMENT, "zero point"},
      {"huge input shape",
       WithHeader(file, Replace(header, "[2, 3, 20, 18]", "[2, 3, 20000000000, 1800000000]")),
       QK_ERROR_SIZE_OVERFLOW, "overflows"},
  };
  for (const Case& c : cases) {
    qk_model* m = reinterpret_cast<qk_model*>(1);
    EXPECT_EQ(Load(c.bytes, &m), c.status) << c.what << ": " << qk_last_error();
    EXPECT_EQ(m, nullptr) << c.what;
    EXPECT_NE(std::string(qk_last_error()).find(c.message), std::string::npos)
        << c.what << ": " << qk_last_error();
  }
}

// Every prefix of a valid file is refused (it is truncated data or a truncated header), and
// random byte changes never crash (run under ASan in CI); those that load still run.
TEST(ModelLoad, TruncationsAndCorruptions) {
  const std::string file = ReadFile(ModelPath("tiny-onednn.safetensors"));
  for (size_t n = 0; n < file.size(); n += (n < 64 ? 1 : 37)) {
    qk_model* m = nullptr;
    EXPECT_NE(Load(file.substr(0, n), &m), QK_SUCCESS) << "prefix of " << n << " bytes loaded";
    qk_model_delete(m);
  }
  std::mt19937 rng(7);
  const size_t header_end = 8 + HeaderOf(file).size();
  size_t loaded = 0;
  for (int i = 0; i < 400; i++) {
    std::string bytes = file;
    const size_t at = rng() % header_end;
    bytes[at] = static_cast<char>(rng());
    qk_model* m = nullptr;
    if (Load(bytes, &m) == QK_SUCCESS) {
      loaded++;
      qk_model_tensor_info in, out;
      ASSERT_EQ(qk_model_input_info(m, 0, &in), QK_SUCCESS);
      ASSERT_EQ(qk_model_output_info(m, 0, &out), QK_SUCCESS);
      if (in.bytes <= (64u << 20) && qk_model_arena_size(m, 1) <= (256u << 20)) {
        std::vector<uint8_t> x(in.bytes), y(out.bytes);
        const void* inputs[] = {x.data()};
        void* outputs[] = {y.data()};
        qk_model_run(m, inputs, outputs, nullptr, nullptr);
      }
      qk_model_delete(m);
    }
  }
  printf("corrupted headers: %zu of 400 still loaded (and ran)\n", loaded);
}

}  // namespace
