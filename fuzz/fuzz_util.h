// Helpers shared by the fuzz targets: a byte source that decodes a fuzz input front to back
// (zeros once it is exhausted, so a short input is a valid, small one), a pseudo-random source for
// bulk data, exactly-sized heap buffers (so AddressSanitizer sees any access past a claimed size),
// and a check that aborts with a message (libFuzzer then saves the input as crash-*).
//
// The decoders are deliberately simple and stable: the committed corpus (fuzz/corpus/) is made of
// inputs in this encoding (fuzz/make_corpus.py writes the seeds), so changing the meaning of a
// byte invalidates it.
#pragma once

#include <cstdarg>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace qk_fuzz {

[[noreturn]] inline void Fail(const char* fmt, ...) {
  std::va_list args;
  va_start(args, fmt);
  std::fprintf(stderr, "\n==qk-fuzz== FINDING: ");
  std::vfprintf(stderr, fmt, args);
  std::fprintf(stderr, "\n");
  va_end(args);
  std::abort();
}

#define QK_FUZZ_CHECK(cond, ...)               \
  do {                                         \
    if (!(cond)) ::qk_fuzz::Fail(__VA_ARGS__); \
  } while (0)

// QK_FUZZ_STRICT=1 in the environment: also report the open library defects that the targets
// otherwise steer around, so that the fuzzers keep finding new ones (docs/reliability.md lists
// them with their reproducers in fuzz/findings/).
inline bool Strict() {
  static const bool strict = [] {
    const char* v = std::getenv("QK_FUZZ_STRICT");
    return v != nullptr && v[0] == '1';
  }();
  return strict;
}

// Where bytes come from: the fuzz input itself, or a xorshift stream seeded from it.
class Source {
 public:
  virtual ~Source() = default;
  virtual uint8_t U8() = 0;

  uint16_t U16() { return static_cast<uint16_t>(U8() | U8() << 8); }
  uint32_t U32() { return static_cast<uint32_t>(U16()) | static_cast<uint32_t>(U16()) << 16; }
  uint64_t U64() { return static_cast<uint64_t>(U32()) | static_cast<uint64_t>(U32()) << 32; }
  bool Flag() { return U8() & 1; }
  // lo + (byte % (hi - lo + 1)): one byte, so hi - lo should stay below 256.
  size_t Small(size_t lo, size_t hi) { return lo + U8() % (hi - lo + 1); }
};

class InputSource : public Source {
 public:
  InputSource(const uint8_t* data, size_t size) : data_(data), size_(size) {}
  uint8_t U8() override { return pos_ < size_ ? data_[pos_++] : 0; }
  size_t Remaining() const { return size_ - pos_; }
  // Up to n bytes straight from the input; fewer at its end.
  const uint8_t* Take(size_t n, size_t* got) {
    *got = n < Remaining() ? n : Remaining();
    const uint8_t* p = data_ + pos_;
    pos_ += *got;
    return p;
  }

 private:
  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
};

class RandomSource : public Source {
 public:
  explicit RandomSource(uint64_t seed) : state_(seed * 0x9E3779B97F4A7C15ull | 1) {}
  uint8_t U8() override {
    state_ ^= state_ << 13;
    state_ ^= state_ >> 7;
    state_ ^= state_ << 17;
    return static_cast<uint8_t>(state_ >> 24);
  }

 private:
  uint64_t state_;
};

// A malloc'ed buffer of exactly `bytes` bytes (malloc(0) for 0), filled with `fill`.
class Buffer {
 public:
  explicit Buffer(size_t bytes, uint8_t fill = 0) : bytes_(bytes) {
    data_ = static_cast<uint8_t*>(std::malloc(bytes ? bytes : 1));
    if (data_ == nullptr) Fail("harness: cannot allocate %zu bytes", bytes);
    std::memset(data_, fill, bytes);
  }
  ~Buffer() { std::free(data_); }
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;
  uint8_t* data() { return data_; }
  const uint8_t* data() const { return data_; }
  size_t size() const { return bytes_; }
  template <typename T>
  T* as() {
    return reinterpret_cast<T*>(data_);
  }

 private:
  uint8_t* data_;
  size_t bytes_;
};

// a * b, false on size_t overflow.
inline bool MulSize(size_t a, size_t b, size_t* out) { return !__builtin_mul_overflow(a, b, out); }

}  // namespace qk_fuzz
