// libFuzzer target: qk_npy_read_buffer (tools/cli/npy.c), the strict .npy reader of the qk CLI,
// on arbitrary bytes. Beyond ASan / UBSan (no read past the input, no overflow) it checks the
// contract of tools/cli/npy.h:
//   - failure: a non-empty, NUL-terminated message that names the buffer, and a zeroed array;
//   - success: a valid dtype, ndim <= QK_NPY_MAX_DIMS, count = product of the shape, bytes =
//     count * itemsize, non-NULL data equal to the last `bytes` bytes of the input (data follows
//     the header exactly, nothing trails it);
//   - a success survives a round trip: qk_npy_write_buffer then qk_npy_read_buffer give the same
//     dtype, shape and data.
#include <cstdint>
#include <cstring>
#include <vector>

#include "fuzz_util.h"
#include "npy.h"

namespace {

bool IsZeroed(const qk_npy_array& a) {
  static const qk_npy_array zero = {};
  return std::memcmp(&a, &zero, sizeof(a)) == 0;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  char error[QK_NPY_ERROR_SIZE];
  std::memset(error, 'x', sizeof(error));
  qk_npy_array a;
  std::memset(&a, 0x5a, sizeof(a));
  const bool ok = qk_npy_read_buffer(data, size, "fuzz.npy", &a, error, sizeof(error));
  if (!ok) {
    QK_FUZZ_CHECK(std::memchr(error, '\0', sizeof(error)) != nullptr,
                  "error message not NUL-terminated");
    QK_FUZZ_CHECK(std::strncmp(error, "fuzz.npy: ", 10) == 0,
                  "error message does not name the buffer: '%s'", error);
    QK_FUZZ_CHECK(IsZeroed(a), "failed read left the array non-zeroed (%s)", error);
    return 0;
  }
  const size_t itemsize = qk_npy_dtype_size(a.dtype);
  QK_FUZZ_CHECK(itemsize != 0, "success with invalid dtype %d", (int)a.dtype);
  QK_FUZZ_CHECK(a.ndim <= QK_NPY_MAX_DIMS, "ndim %zu", a.ndim);
  QK_FUZZ_CHECK(a.data != nullptr, "success with NULL data");
  size_t count = 1;
  for (size_t i = 0; i < QK_NPY_MAX_DIMS; i++) {
    if (i < a.ndim) {
      QK_FUZZ_CHECK(qk_fuzz::MulSize(count, a.shape[i], &count), "shape product overflows");
    } else {
      QK_FUZZ_CHECK(a.shape[i] == 0, "shape[%zu] = %zu beyond ndim %zu", i, a.shape[i], a.ndim);
    }
  }
  QK_FUZZ_CHECK(a.count == count, "count %zu, shape product %zu", a.count, count);
  QK_FUZZ_CHECK(a.bytes == count * itemsize, "bytes %zu for %zu x %zu", a.bytes, count, itemsize);
  QK_FUZZ_CHECK(a.bytes <= size, "%zu data bytes from a %zu-byte input", a.bytes, size);
  // The data is the input's last bytes, in C order: as they are, or (a Fortran-order file)
  // transposed, element [i0]..[in-1] from raw offset sum(i_k * prod(shape[0..k-1])).
  const uint8_t* raw = data + size - a.bytes;
  if (std::memcmp(a.data, raw, a.bytes) != 0) {
    std::vector<size_t> index(a.ndim, 0);
    for (size_t e = 0; e < count; e++) {
      size_t offset = 0, stride = 1;
      for (size_t k = 0; k < a.ndim; k++) offset += index[k] * stride, stride *= a.shape[k];
      QK_FUZZ_CHECK(std::memcmp(static_cast<const uint8_t*>(a.data) + e * itemsize,
                                raw + offset * itemsize, itemsize) == 0,
                    "data is neither the input's last %zu bytes nor their Fortran-order transpose",
                    a.bytes);
      for (size_t k = a.ndim; k-- > 0;) {  // next C-order index
        if (++index[k] < a.shape[k]) break;
        index[k] = 0;
      }
    }
  }
  if (a.bytes > 0 && itemsize > 1) {
    QK_FUZZ_CHECK(reinterpret_cast<uintptr_t>(a.data) % itemsize == 0, "data misaligned");
  }

  void* encoded = nullptr;
  size_t encoded_size = 0;
  QK_FUZZ_CHECK(qk_npy_write_buffer(&a, &encoded, &encoded_size, error, sizeof(error)),
                "cannot re-encode an array it read: %s", error);
  qk_npy_array b;
  QK_FUZZ_CHECK(qk_npy_read_buffer(encoded, encoded_size, "re-encoded", &b, error, sizeof(error)),
                "cannot read what it wrote: %s", error);
  QK_FUZZ_CHECK(b.dtype == a.dtype && b.ndim == a.ndim && b.count == a.count &&
                    std::memcmp(b.shape, a.shape, sizeof(a.shape)) == 0 &&
                    std::memcmp(b.data, a.data, a.bytes) == 0,
                "round trip changed the array");
  std::free(encoded);
  qk_npy_free(&b);
  qk_npy_free(&a);
  return 0;
}
