// Unit tests of the strict .npy reader/writer of the qk command-line tool (tools/cli/npy.h):
// round trips of every dtype and header version, byte-identity with numpy.save, and malformed
// inputs that must each be refused with a message naming the file and the problem, never read
// out of bounds (the buffers handed to the reader are exactly sized, so ASan sees any over-read).
#include "npy.h"

#include <dirent.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <vector>

namespace {

// The magic string, as a std::string (it contains no NUL, but \x93 must not merge with 'N').
const std::string kMagic = std::string("\x93") + "NUMPY";

// Prefix (magic, version, little-endian header length) + header + data, for any version.
std::string RawNpy(int major, const std::string& header, const std::string& data, int minor = 0) {
  std::string out = kMagic;
  out += static_cast<char>(major);
  out += static_cast<char>(minor);
  const size_t len = header.size();
  const int length_bytes = major == 1 ? 2 : 4;
  for (int i = 0; i < length_bytes; i++) out += static_cast<char>((len >> (8 * i)) & 0xff);
  return out + header + data;
}

// A dict padded with spaces and a newline so that the data starts at a multiple of 64, like
// numpy.save (the reader does not require the alignment).
std::string Padded(int major, const std::string& dict) {
  const size_t prefix = major == 1 ? 10 : 12;
  std::string h = dict;
  while ((prefix + h.size() + 1) % 64 != 0) h += ' ';
  return h + "\n";
}

std::string Dict(const std::string& descr, const std::string& shape,
                 const std::string& fortran = "False") {
  return "{'descr': '" + descr + "', 'fortran_order': " + fortran + ", 'shape': " + shape + ", }";
}

std::string Bytes(size_t n, char fill = 'x') { return std::string(n, fill); }

struct ReadResult {
  bool ok;
  std::string error;
  qk_npy_array array;
};

// Reads from an exactly sized heap copy, so that ASan flags a read one byte past the end.
ReadResult Read(const std::string& bytes, const char* name = "t.npy") {
  ReadResult r{};
  char* copy = static_cast<char*>(malloc(bytes.size() ? bytes.size() : 1));
  if (!bytes.empty()) memcpy(copy, bytes.data(), bytes.size());
  char error[QK_NPY_ERROR_SIZE] = "";
  r.ok = qk_npy_read_buffer(copy, bytes.size(), name, &r.array, error, sizeof(error));
  r.error = error;
  free(copy);
  return r;
}

bool IsZeroed(const qk_npy_array& a) {
  qk_npy_array zero;
  memset(&zero, 0, sizeof(zero));
  return memcmp(&a, &zero, sizeof(a)) == 0;
}

// The refusal must be complete: false, a zeroed array, a message naming the file and the issue.
void ExpectRefused(const std::string& bytes, const std::string& expected_words) {
  ReadResult r = Read(bytes, "bad.npy");
  EXPECT_FALSE(r.ok) << "accepted; expected: " << expected_words;
  EXPECT_TRUE(IsZeroed(r.array));
  EXPECT_EQ(r.error.rfind("bad.npy: ", 0), 0u) << r.error;
  EXPECT_NE(r.error.find(expected_words), std::string::npos)
      << "message: " << r.error << "\nexpected to contain: " << expected_words;
  EXPECT_EQ(r.error.find('\n'), std::string::npos) << r.error;
  qk_npy_free(&r.array);
}

// A valid header + data (shape (2, 3), int32), to mutate.
std::string ValidI32() { return RawNpy(1, Padded(1, Dict("<i4", "(2, 3)")), Bytes(24)); }

// ---------------------------------------------------------------------------------------------
// Round trips
// ---------------------------------------------------------------------------------------------
struct DtypeCase {
  qk_npy_dtype dtype;
  size_t size;
  const char* name;
  const char* descr;
};

const DtypeCase kDtypes[] = {
    {QK_NPY_U8, 1, "uint8", "|u1"},    {QK_NPY_I8, 1, "int8", "|i1"},
    {QK_NPY_I32, 4, "int32", "<i4"},   {QK_NPY_I64, 8, "int64", "<i8"},
    {QK_NPY_F32, 4, "float32", "<f4"}, {QK_NPY_F64, 8, "float64", "<f8"},
};

const std::vector<std::vector<size_t>> kShapes = {
    {}, {1}, {7}, {2, 3}, {2, 0, 5}, {1, 2, 3, 4}, {2, 1, 2, 1, 2, 1, 2, 3}};

TEST(NpyRoundTrip, EveryDtypeAndShapeThroughAMemoryBuffer) {
  for (const DtypeCase& dt : kDtypes) {
    EXPECT_STREQ(qk_npy_dtype_name(dt.dtype), dt.name);
    EXPECT_EQ(qk_npy_dtype_size(dt.dtype), dt.size);
    for (const auto& shape : kShapes) {
      SCOPED_TRACE(std::string(dt.name) + " ndim " + std::to_string(shape.size()));
      qk_npy_array a;
      char error[QK_NPY_ERROR_SIZE];
      ASSERT_TRUE(qk_npy_alloc(&a, dt.dtype, shape.size(), shape.data(), error, sizeof(error)))
          << error;
      for (size_t i = 0; i < a.bytes; i++) static_cast<uint8_t*>(a.data)[i] = uint8_t(i * 37 + 11);
      void* buffer;
      size_t size;
      ASSERT_TRUE(qk_npy_write_buffer(&a, &buffer, &size, error, sizeof(error))) << error;
      EXPECT_EQ((size - a.bytes) % 64, 0u) << "data must start at a multiple of 64";
      EXPECT_EQ(static_cast<uint8_t*>(buffer)[6], 1) << "version 1.0 is enough";
      ReadResult r = Read(std::string(static_cast<char*>(buffer), size));
      free(buffer);
      ASSERT_TRUE(r.ok) << r.error;
      EXPECT_EQ(r.array.dtype, dt.dtype);
      ASSERT_EQ(r.array.ndim, shape.size());
      for (size_t i = 0; i < shape.size(); i++) EXPECT_EQ(r.array.shape[i], shape[i]);
      EXPECT_EQ(r.array.count, a.count);
      EXPECT_EQ(r.array.bytes, a.bytes);
      ASSERT_NE(r.array.data, nullptr);
      EXPECT_EQ(memcmp(r.array.data, a.data, a.bytes), 0);
      qk_npy_free(&r.array);
      qk_npy_free(&a);
    }
  }
}

TEST(NpyRoundTrip, HeaderVersions1And2And3) {
  for (int major = 1; major <= 3; major++) {
    for (const DtypeCase& dt : kDtypes) {
      SCOPED_TRACE("version " + std::to_string(major) + " " + dt.name);
      const std::string bytes =
          RawNpy(major, Padded(major, Dict(dt.descr, "(4, 3, 2)")), Bytes(24 * dt.size, 'q'));
      ReadResult r = Read(bytes);
      ASSERT_TRUE(r.ok) << r.error;
      EXPECT_EQ(r.array.dtype, dt.dtype);
      EXPECT_EQ(r.array.ndim, 3u);
      EXPECT_EQ(r.array.count, 24u);
      qk_npy_free(&r.array);
    }
  }
}

TEST(NpyRoundTrip, WriterIsByteIdenticalToNumpySave) {
  // np.save(f, np.array([1, -2, 300], dtype='<i4')) with numpy 1.24.
  const std::string expected = RawNpy(
      1, "{'descr': '<i4', 'fortran_order': False, 'shape': (3,), }" + std::string(60, ' ') + "\n",
      std::string("\x01\x00\x00\x00\xfe\xff\xff\xff\x2c\x01\x00\x00", 12));
  const int32_t values[3] = {1, -2, 300};
  const size_t shape[1] = {3};
  qk_npy_array a;
  char error[QK_NPY_ERROR_SIZE];
  ASSERT_TRUE(qk_npy_alloc(&a, QK_NPY_I32, 1, shape, error, sizeof(error)));
  memcpy(a.data, values, sizeof(values));
  void* buffer;
  size_t size;
  ASSERT_TRUE(qk_npy_write_buffer(&a, &buffer, &size, error, sizeof(error)));
  EXPECT_EQ(std::string(static_cast<char*>(buffer), size), expected);
  free(buffer);
  qk_npy_free(&a);
}

TEST(NpyRoundTrip, AcceptsWhatNumpyAndPythonLiteralsAllow) {
  const std::vector<std::string> dicts = {
      "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3)}",            // no trailing comma
      "{\"descr\": \"<f4\", \"fortran_order\": False, \"shape\": (2, 3), }",  // double quotes
      "{'shape': (2, 3), 'fortran_order': False, 'descr': '<f4'}",            // any key order
      "  {  'descr' :'<f4' ,\n'fortran_order':False,\t'shape':( 2 ,3 , ) }",  // whitespace
      "{'descr': '|f4', 'fortran_order': False, 'shape': (2, 3), }",          // '|' byte order
  };
  for (const std::string& dict : dicts) {
    SCOPED_TRACE(dict);
    for (const std::string& header : {dict, dict + "\n", Padded(1, dict), dict + "  \r\n"}) {
      ReadResult r = Read(RawNpy(1, header, Bytes(24)));
      ASSERT_TRUE(r.ok) << r.error;
      EXPECT_EQ(r.array.dtype, QK_NPY_F32);
      EXPECT_EQ(r.array.ndim, 2u);
      EXPECT_EQ(r.array.shape[0], 2u);
      EXPECT_EQ(r.array.shape[1], 3u);
      qk_npy_free(&r.array);
    }
  }
  // '<u1' and '<i1' are accepted as well as numpy's '|u1' and '|i1'.
  ReadResult r = Read(RawNpy(1, Dict("<u1", "(5,)"), Bytes(5)));
  EXPECT_TRUE(r.ok) << r.error;
  qk_npy_free(&r.array);
  // A zero dimension with a large other one is an empty array, not an overflow (as long as the
  // other dimensions times the item size fit, which NumPy requires too).
  r = Read(RawNpy(1, Dict("<i8", "(0, 1099511627776)"), ""));
  EXPECT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.array.count, 0u);
  EXPECT_NE(r.array.data, nullptr);
  qk_npy_free(&r.array);
}

// ---------------------------------------------------------------------------------------------
// Malformed inputs: each one refused with a precise message
// ---------------------------------------------------------------------------------------------
TEST(NpyMalformed, Prefix) {
  ExpectRefused("", "truncated");
  ExpectRefused("\x93NUM", "truncated");
  ExpectRefused("PK\x03\x04 not numpy at all", "not a .npy file");
  ExpectRefused("\x93NUMPX\x01\x00\x10\x00", "not a .npy file");
  ExpectRefused(kMagic + "\x01", "truncated");
  ExpectRefused(RawNpy(4, Dict("<i4", "(2,)"), Bytes(8)), "unsupported .npy format version 4.0");
  ExpectRefused(RawNpy(1, Dict("<i4", "(2,)"), Bytes(8), 1), "version 1.1");
  ExpectRefused(RawNpy(0, Dict("<i4", "(2,)"), Bytes(8)), "version 0.0");
  ExpectRefused(kMagic + std::string("\x02\x00\x40\x00", 4), "truncated");  // 2.0 length cut
  ExpectRefused(kMagic + std::string("\x01\x00\x40", 3), "truncated");      // 1.0 length cut
}

TEST(NpyMalformed, HeaderLength) {
  const std::string v1 = ValidI32();
  ExpectRefused(v1.substr(0, 40), "truncated header");
  ExpectRefused(kMagic + std::string("\x01\x00\xff\xff", 4) + "{", "truncated header");
  // 2.0 and 3.0 lengths are 32-bit: a huge one is refused before anything is allocated.
  ExpectRefused(kMagic + std::string("\x02\x00\xff\xff\xff\xff", 6) + "{}", "exceeds the limit");
  ExpectRefused(kMagic + std::string("\x03\x00\x00\x00\x01\x00", 6) + "{}", "exceeds the limit");
}

TEST(NpyMalformed, DataSize) {
  const std::string header = Padded(1, Dict("<i4", "(2, 3)"));
  ExpectRefused(RawNpy(1, header, Bytes(23)), "truncated data");
  ExpectRefused(RawNpy(1, header, ""), "truncated data");
  ExpectRefused(RawNpy(1, header, Bytes(25)), "1 unexpected bytes after the data");
  ExpectRefused(RawNpy(1, header, Bytes(48)), "24 unexpected bytes after the data");
  // Declares 1 TiB without overflowing: refused as truncated, nothing allocated.
  ExpectRefused(RawNpy(1, Dict("|u1", "(1099511627776,)"), Bytes(10)), "truncated data");
  // Element count overflows size_t.
  ExpectRefused(RawNpy(1, Dict("<i4", "(4294967296, 4294967296)"), Bytes(8)), "overflows");
  // Element count fits, bytes do not; a zero dimension does not excuse that (NumPy agrees).
  ExpectRefused(RawNpy(1, Dict("<i8", "(4611686018427387904,)"), Bytes(8)), "overflows");
  ExpectRefused(RawNpy(1, Dict("<i8", "(0, 4611686018427387904)"), ""), "overflows");
  // A dimension that does not fit in 64 bits at all.
  ExpectRefused(RawNpy(1, Dict("<i4", "(99999999999999999999999,)"), Bytes(8)), "fits in");
}

TEST(NpyMalformed, Dtype) {
  ExpectRefused(RawNpy(1, Dict(">i4", "(2,)"), Bytes(8)), "big-endian dtype '>i4'");
  ExpectRefused(RawNpy(1, Dict(">f4", "(2,)"), Bytes(8)), "big-endian");
  ExpectRefused(RawNpy(1, Dict("<f2", "(2,)"), Bytes(4)), "unsupported dtype '<f2'");
  ExpectRefused(RawNpy(1, Dict("<f16", "(2,)"), Bytes(32)), "unsupported dtype '<f16'");
  ExpectRefused(RawNpy(1, Dict(">f8", "(2,)"), Bytes(16)), "big-endian dtype '>f8'");
  ExpectRefused(RawNpy(1, Dict("|b1", "(2,)"), Bytes(2)), "unsupported dtype '|b1'");
  ExpectRefused(RawNpy(1, Dict("|O", "(2,)"), Bytes(16)), "object arrays (dtype '|O'");
  ExpectRefused(RawNpy(1, Dict("i4", "(2,)"), Bytes(8)), "unsupported dtype 'i4'");
  ExpectRefused(RawNpy(1, Dict("<i4 ", "(2,)"), Bytes(8)), "unsupported dtype");
  ExpectRefused(RawNpy(1, Dict("=i4", "(2,)"), Bytes(8)), "unsupported dtype");
  ExpectRefused(
      RawNpy(1, "{'descr': [('a', '<i4')], 'fortran_order': False, 'shape': (2,), }", Bytes(8)),
      "structured dtypes (a list of named fields) are not supported");
  ExpectRefused(RawNpy(1, "{'descr': 5, 'fortran_order': False, 'shape': (2,), }", Bytes(8)),
                "expected 'descr' as a quoted string");
}

TEST(NpyMalformed, FortranOrder) {
  // fortran_order True is read (NpyFortran below); the value must still be a Python bool.
  ExpectRefused(RawNpy(1, Dict("<i4", "(2, 3)", "false"), Bytes(24)), "expected True or False");
  ExpectRefused(RawNpy(1, Dict("<i4", "(2, 3)", "0"), Bytes(24)), "expected True or False");
  ExpectRefused(RawNpy(1, Dict("<i4", "(2, 3)", "Falsey"), Bytes(24)), "expected True or False");
}

TEST(NpyMalformed, Shape) {
  ExpectRefused(RawNpy(1, Dict("<i4", "(-2,)"), Bytes(8)), "non-negative dimension");
  ExpectRefused(RawNpy(1, Dict("<i4", "(2)"), Bytes(8)), "is not a tuple");
  ExpectRefused(RawNpy(1, Dict("<i4", "[2]"), Bytes(8)), "expected '(' to open the 'shape'");
  ExpectRefused(RawNpy(1, Dict("<i4", "2"), Bytes(8)), "expected '(' to open the 'shape'");
  ExpectRefused(RawNpy(1, Dict("<i4", "(02,)"), Bytes(8)), "leading zeros");
  ExpectRefused(RawNpy(1, Dict("<i4", "(2L,)"), Bytes(8)), "plain decimal integer");
  ExpectRefused(RawNpy(1, Dict("<i4", "(2.0,)"), Bytes(8)), "expected ',' or ')'");
  ExpectRefused(RawNpy(1, Dict("<i4", "(1_0,)"), Bytes(40)), "plain decimal integer");
  ExpectRefused(RawNpy(1, Dict("<i4", "(2,,)"), Bytes(8)), "integer dimension");
  ExpectRefused(RawNpy(1, Dict("<i4", "(,)"), Bytes(8)), "integer dimension");
  ExpectRefused(RawNpy(1, Dict("<i4", "(1, 1, 1, 1, 1, 1, 1, 1, 1)"), Bytes(4)),
                "at most 8 dimensions");
}

TEST(NpyMalformed, DictSyntax) {
  ExpectRefused(RawNpy(1, "", ""), "expected '{'");
  ExpectRefused(RawNpy(1, "['descr', '<i4']", Bytes(4)), "expected '{'");
  ExpectRefused(RawNpy(1, Dict("<i4", "(2,)") + " garbage", Bytes(8)), "only padding after");
  ExpectRefused(RawNpy(1, Dict("<i4", "(2,)") + "}", Bytes(8)), "only padding after");
  ExpectRefused(
      RawNpy(1, "{'descr': '<i4', 'fortran_order': False, 'shape': (2,), 'x': 1}", Bytes(8)),
      "unknown key 'x'");
  ExpectRefused(RawNpy(1, "{'descr': '<i4', 'descr': '<i4', 'fortran_order': False, 'shape': (2,)}",
                       Bytes(8)),
                "duplicate key 'descr'");
  ExpectRefused(RawNpy(1, "{'descr': '<i4', 'fortran_order': False}", Bytes(8)),
                "the key 'shape' is missing");
  ExpectRefused(RawNpy(1, "{}", Bytes(8)), "the key 'descr' is missing");
  ExpectRefused(RawNpy(1, "{'descr': '<i4' 'fortran_order': False, 'shape': (2,)}", Bytes(8)),
                "expected ',' or '}'");
  ExpectRefused(RawNpy(1, "{'descr': '<i4', 'fortran_order': False, 'shape': (2,)", Bytes(8)),
                "found the end of the header");
  ExpectRefused(RawNpy(1, "{'descr': '<i4, 'fortran_order': False, 'shape': (2,)}", Bytes(8)),
                "unsupported dtype");
  ExpectRefused(RawNpy(1, "{'descr: '<i4', 'fortran_order': False, 'shape': (2,)}", Bytes(8)),
                "unknown key");
  ExpectRefused(RawNpy(1, "{'descr': '<i\\x34', 'fortran_order': False, 'shape': (2,)}", Bytes(8)),
                "plain ASCII character");
  ExpectRefused(RawNpy(1, "{'descr' '<i4', 'fortran_order': False, 'shape': (2,)}", Bytes(8)),
                "expected ':' after a key");
  ExpectRefused(RawNpy(1, "{descr: '<i4', 'fortran_order': False, 'shape': (2,)}", Bytes(8)),
                "expected a key as a quoted string");
  ExpectRefused(
      RawNpy(1, "{'descr': '<i4', # comment\n 'fortran_order': False, 'shape': (2,)}", Bytes(8)),
      "found '#'");
  ExpectRefused(
      RawNpy(1, std::string("{'descr': '<i4',\0'fortran_order': False, 'shape': (2,)}", 54),
             Bytes(8)),
      "found byte 0x00");
  ExpectRefused(RawNpy(1, "{'descr': u'<i4', 'fortran_order': False, 'shape': (2,)}", Bytes(8)),
                "quoted string");
  ExpectRefused(RawNpy(1, "{'descr': '<i4', 'fortran_order': False, 'shape': (2,),,}", Bytes(8)),
                "expected a key");
  ExpectRefused(
      RawNpy(3, "{'descr': '<i4', 'fortran_order': False, 'shape': (2,), '\xc3\xa9': 1}", Bytes(8)),
      "plain ASCII character");
}

TEST(NpyMalformed, MessageGivesTheByteOffset) {
  ReadResult r =
      Read(RawNpy(1, "{'descr': '<i4', 'fortran_order': Nope, 'shape': (2,)}", Bytes(8)), "m.npy");
  EXPECT_FALSE(r.ok);
  // 10 bytes of prefix + 34 characters before "Nope".
  EXPECT_EQ(r.error,
            "m.npy: malformed header at byte 44: expected True or False for 'fortran_order', "
            "found 'N'");
}

// Every truncation of a valid file, and every single-byte corruption of its header, is refused or
// accepted cleanly: no crash, no over-read (ASan), no leak, a message when refused.
TEST(NpyMalformed, EveryTruncationAndHeaderByteFlip) {
  const std::string valid = RawNpy(2, Padded(2, Dict("<i4", "(2, 3)")), Bytes(24));
  for (size_t n = 0; n < valid.size(); n++) {
    ReadResult r = Read(valid.substr(0, n));
    EXPECT_FALSE(r.ok) << "length " << n;
    EXPECT_FALSE(r.error.empty());
  }
  const size_t data_offset = valid.size() - 24;
  for (size_t i = 0; i < data_offset; i++) {
    for (unsigned char v : {0x00, 0x20, 0x27, 0x29, 0x2c, 0x30, 0x39, 0x7d, 0x80, 0xff}) {
      std::string mutated = valid;
      mutated[i] = static_cast<char>(v);
      ReadResult r = Read(mutated);
      if (r.ok) {
        EXPECT_LE(r.array.bytes, 24u);
      } else {
        EXPECT_FALSE(r.error.empty());
      }
      qk_npy_free(&r.array);
    }
  }
}

// Headers assembled from random grammar tokens: whatever the reader accepts must be consistent
// (the declared size equals the data present); everything else is refused with a message.
TEST(NpyMalformed, RandomTokenSoup) {
  const char* const tokens[] = {"{",
                                "}",
                                "(",
                                ")",
                                ",",
                                ":",
                                " ",
                                "\n",
                                "'descr'",
                                "'shape'",
                                "'fortran_order'",
                                "'<i4'",
                                "'|u1'",
                                "'>f4'",
                                "True",
                                "False",
                                "0",
                                "1",
                                "2",
                                "-1",
                                "18446744073709551616",
                                "'",
                                "\"",
                                "\\",
                                "#",
                                "\x80"};
  std::mt19937 rng(12345);
  std::uniform_int_distribution<size_t> pick(0, sizeof(tokens) / sizeof(tokens[0]) - 1);
  std::uniform_int_distribution<int> length(0, 24), data(0, 12);
  for (int iteration = 0; iteration < 20000; iteration++) {
    std::string header = iteration % 2 ? "{'descr': '<i4', " : "";
    for (int i = length(rng); i > 0; i--) header += tokens[pick(rng)];
    const std::string bytes = RawNpy(1 + iteration % 3, header, Bytes(size_t(data(rng))));
    ReadResult r = Read(bytes);
    if (r.ok) {
      EXPECT_EQ(bytes.size() - r.array.bytes, (iteration % 3 == 0 ? 10u : 12u) + header.size());
    } else {
      EXPECT_FALSE(r.error.empty());
      EXPECT_TRUE(IsZeroed(r.array));
    }
    qk_npy_free(&r.array);
  }
}

// ---------------------------------------------------------------------------------------------
// float64 and Fortran order
// ---------------------------------------------------------------------------------------------
// Little-endian bytes of an IEEE double given by its bit pattern (written out by hand, so the
// test does not trust the host's conversions either).
std::string DoubleBytes(uint64_t bits) {
  std::string out;
  for (int i = 0; i < 8; i++) out += static_cast<char>((bits >> (8 * i)) & 0xff);
  return out;
}

TEST(NpyFloat64, ReadsWhatQPerChannelScalesSaves) {
  // np.save(f, torch_q.q_per_channel_scales().numpy()) for scales 0.5, 0.1, 2^-20: '<f8', (3,).
  const std::string data = DoubleBytes(0x3FE0000000000000u) + DoubleBytes(0x3FB999999999999Au) +
                           DoubleBytes(0x3EB0000000000000u);
  ReadResult r = Read(RawNpy(1, Padded(1, Dict("<f8", "(3,)")), data));
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.array.dtype, QK_NPY_F64);
  EXPECT_STREQ(qk_npy_dtype_name(r.array.dtype), "float64");
  EXPECT_EQ(r.array.bytes, 24u);
  const double* v = static_cast<const double*>(r.array.data);
  EXPECT_EQ(v[0], 0.5);
  EXPECT_EQ(v[1], 0.1);  // the double nearest 0.1, not the float
  EXPECT_EQ(v[2], 1.0 / 1048576.0);
  qk_npy_free(&r.array);
  // A scalar (shape ()), as np.save(f, np.float64(0.25)) writes it, and '|f8'.
  r = Read(RawNpy(1, Padded(1, Dict("|f8", "()")), DoubleBytes(0x3FD0000000000000u)));
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.array.ndim, 0u);
  EXPECT_EQ(*static_cast<const double*>(r.array.data), 0.25);
  qk_npy_free(&r.array);
  // Sizes are checked in units of 8 bytes.
  ExpectRefused(RawNpy(1, Dict("<f8", "(3,)"), data.substr(0, 23)), "truncated data");
  ExpectRefused(RawNpy(1, Dict("<f8", "(3,)"), data + "\x01"), "1 unexpected bytes");
  ExpectRefused(RawNpy(1, Dict("<f8", "(2,)"), data), "8 unexpected bytes");
}

// A Fortran-order u8 array of the given shape whose element at file position p holds
// value(p): written by hand, so the expected C-order data is computed independently below.
std::string FortranU8(const std::string& shape, size_t count) {
  std::string data;
  for (size_t p = 0; p < count; p++) data += static_cast<char>(p & 0xff);
  return RawNpy(1, Padded(1, Dict("|u1", shape, "True")), data);
}

TEST(NpyFortran, DataIsHandedOverInCOrder) {
  // (2, 3) int32, column-major in the file: a[0][0], a[1][0], a[0][1], a[1][1], a[0][2], a[1][2].
  std::string data;
  for (int32_t v : {0, 10, 1, 11, 2, 12}) data += std::string(reinterpret_cast<char*>(&v), 4);
  ReadResult r = Read(RawNpy(1, Padded(1, Dict("<i4", "(2, 3)", "True")), data));
  ASSERT_TRUE(r.ok) << r.error;
  ASSERT_EQ(r.array.ndim, 2u);
  EXPECT_EQ(r.array.shape[0], 2u);
  EXPECT_EQ(r.array.shape[1], 3u);
  const int32_t* c = static_cast<const int32_t*>(r.array.data);
  EXPECT_EQ(std::vector<int32_t>(c, c + 6), (std::vector<int32_t>{0, 1, 2, 10, 11, 12}));
  qk_npy_free(&r.array);

  // (2, 3, 4) uint8: file position p = i0 + 2 * i1 + 6 * i2.
  r = Read(FortranU8("(2, 3, 4)", 24));
  ASSERT_TRUE(r.ok) << r.error;
  const uint8_t* u = static_cast<const uint8_t*>(r.array.data);
  for (size_t i0 = 0; i0 < 2; i0++)
    for (size_t i1 = 0; i1 < 3; i1++)
      for (size_t i2 = 0; i2 < 4; i2++)
        EXPECT_EQ(u[(i0 * 3 + i1) * 4 + i2], i0 + 2 * i1 + 6 * i2) << i0 << i1 << i2;
  qk_npy_free(&r.array);

  // float64 (2, 2): the 8-byte elements move whole.
  r = Read(RawNpy(1, Dict("<f8", "(2, 2)", "True"),
                  DoubleBytes(0x3FF0000000000000u) + DoubleBytes(0x4000000000000000u) +
                      DoubleBytes(0x4008000000000000u) + DoubleBytes(0x4010000000000000u)));
  ASSERT_TRUE(r.ok) << r.error;
  const double* d = static_cast<const double*>(r.array.data);
  EXPECT_EQ(std::vector<double>(d, d + 4), (std::vector<double>{1, 3, 2, 4}));
  qk_npy_free(&r.array);

  // 0-D, 1-D, empty and 8-D arrays are the same bytes in both orders.
  for (const auto& shape_count :
       std::vector<std::pair<std::string, size_t>>{{"()", 1},
                                                   {"(5,)", 5},
                                                   {"(0, 3)", 0},
                                                   {"(3, 0, 2)", 0},
                                                   {"(1, 1, 1, 1, 1, 1, 1, 1)", 1}}) {
    SCOPED_TRACE(shape_count.first);
    r = Read(FortranU8(shape_count.first, shape_count.second));
    ASSERT_TRUE(r.ok) << r.error;
    EXPECT_EQ(r.array.count, shape_count.second);
    for (size_t i = 0; i < r.array.count; i++) EXPECT_EQ(static_cast<uint8_t*>(r.array.data)[i], i);
    qk_npy_free(&r.array);
  }
}

TEST(NpyFortran, StaysStrictAboutSizesAndShapes) {
  ExpectRefused(RawNpy(1, Dict("<i4", "(2, 3)", "True"), Bytes(23)), "truncated data");
  ExpectRefused(RawNpy(1, Dict("<i4", "(2, 3)", "True"), Bytes(25)), "1 unexpected bytes");
  ExpectRefused(RawNpy(1, Dict("<i4", "(2, -3)", "True"), Bytes(24)), "non-negative dimension");
  ExpectRefused(RawNpy(1, Dict("<i4", "(4294967296, 4294967296)", "True"), Bytes(8)), "overflows");
  ExpectRefused(RawNpy(1, Dict(">i4", "(2, 3)", "True"), Bytes(24)), "big-endian");
  ExpectRefused(RawNpy(1,
                       "{'descr': '<i4', 'fortran_order': True, 'fortran_order': True, "
                       "'shape': (2,)}",
                       Bytes(8)),
                "duplicate key 'fortran_order'");
}

// ---------------------------------------------------------------------------------------------
// Files
// ---------------------------------------------------------------------------------------------
class NpyFile : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* base = getenv("TMPDIR");
    dir_ = std::string(base && *base ? base : "/tmp") + "/qk_npy_test.XXXXXX";
    ASSERT_NE(mkdtemp(&dir_[0]), nullptr);
  }
  void TearDown() override {
    for (const std::string& name : Entries()) unlink((dir_ + "/" + name).c_str());
    rmdir(dir_.c_str());
  }
  std::vector<std::string> Entries() const {
    std::vector<std::string> names;
    if (DIR* d = opendir(dir_.c_str())) {
      while (dirent* e = readdir(d)) {
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) names.push_back(e->d_name);
      }
      closedir(d);
    }
    return names;
  }
  std::string Path(const std::string& name) const { return dir_ + "/" + name; }
  void WriteRaw(const std::string& name, const std::string& bytes) const {
    FILE* f = fopen(Path(name).c_str(), "wb");
    ASSERT_NE(f, nullptr);
    ASSERT_EQ(fwrite(bytes.data(), 1, bytes.size(), f), bytes.size());
    fclose(f);
  }
  std::string ReadFileError(const std::string& name) const {
    qk_npy_array a;
    char error[QK_NPY_ERROR_SIZE] = "";
    EXPECT_FALSE(qk_npy_read_file(Path(name).c_str(), &a, error, sizeof(error)));
    EXPECT_TRUE(IsZeroed(a));
    return error;
  }
  std::string dir_;
};

TEST_F(NpyFile, RoundTripEveryDtypeLeavesNoTemporaryFile) {
  for (const DtypeCase& dt : kDtypes) {
    const size_t shape[3] = {3, 1, 5};
    qk_npy_array a;
    char error[QK_NPY_ERROR_SIZE];
    ASSERT_TRUE(qk_npy_alloc(&a, dt.dtype, 3, shape, error, sizeof(error)));
    for (size_t i = 0; i < a.bytes; i++) static_cast<uint8_t*>(a.data)[i] = uint8_t(255 - i);
    const std::string path = Path("a.npy");
    ASSERT_TRUE(qk_npy_write_file(path.c_str(), &a, error, sizeof(error))) << error;
    qk_npy_array b;
    ASSERT_TRUE(qk_npy_read_file(path.c_str(), &b, error, sizeof(error))) << error;
    EXPECT_EQ(b.dtype, dt.dtype);
    EXPECT_EQ(b.ndim, 3u);
    EXPECT_EQ(b.count, 15u);
    EXPECT_EQ(memcmp(a.data, b.data, a.bytes), 0);
    qk_npy_free(&a);
    qk_npy_free(&b);
  }
  EXPECT_EQ(Entries(), std::vector<std::string>{"a.npy"}) << "overwritten in place, no leftovers";
}

TEST_F(NpyFile, ReadErrorsNameTheFile) {
  EXPECT_NE(ReadFileError("missing.npy").find("missing.npy: cannot open"), std::string::npos);
  mkdir(Path("dir.npy").c_str(), 0700);
  EXPECT_NE(ReadFileError("dir.npy").find("dir.npy: is a directory"), std::string::npos);

  const std::string valid = ValidI32();
  WriteRaw("short.npy", valid.substr(0, valid.size() - 1));
  EXPECT_NE(ReadFileError("short.npy").find("short.npy: truncated data"), std::string::npos);
  WriteRaw("long.npy", valid + "!");
  EXPECT_NE(ReadFileError("long.npy").find("long.npy: 1 unexpected bytes"), std::string::npos);
  WriteRaw("cut.npy", valid.substr(0, 30));
  EXPECT_NE(ReadFileError("cut.npy").find("cut.npy: truncated header"), std::string::npos);
  WriteRaw("tiny.npy", valid.substr(0, 9));
  EXPECT_NE(ReadFileError("tiny.npy").find("tiny.npy: truncated"), std::string::npos);
  WriteRaw("empty.npy", "");
  EXPECT_NE(ReadFileError("empty.npy").find("empty.npy: truncated"), std::string::npos);
  WriteRaw("text.npy", "hello, world\n");
  EXPECT_NE(ReadFileError("text.npy").find("text.npy: not a .npy file"), std::string::npos);
  WriteRaw("huge.npy", RawNpy(1, Dict("<f4", "(1000000, 1000000, 1000)"), Bytes(4)));
  EXPECT_NE(ReadFileError("huge.npy").find("huge.npy: truncated data"), std::string::npos);
  WriteRaw("be.npy", RawNpy(1, Dict(">f4", "(1,)"), Bytes(4)));
  EXPECT_NE(ReadFileError("be.npy").find("be.npy: big-endian"), std::string::npos);
}

TEST_F(NpyFile, ReadsFromAPipe) {
  // Not a regular file: the size check happens while reading instead of before.
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  const std::string valid = ValidI32() + "extra";
  ASSERT_EQ(write(fds[1], valid.data(), valid.size()), static_cast<ssize_t>(valid.size()));
  close(fds[1]);
  const std::string path = "/dev/fd/" + std::to_string(fds[0]);
  qk_npy_array a;
  char error[QK_NPY_ERROR_SIZE];
  EXPECT_FALSE(qk_npy_read_file(path.c_str(), &a, error, sizeof(error)));
  EXPECT_NE(std::string(error).find("unexpected bytes"), std::string::npos) << error;
  close(fds[0]);
}

TEST_F(NpyFile, FailedWriteLeavesNothing) {
  const size_t shape[1] = {4};
  qk_npy_array a;
  char error[QK_NPY_ERROR_SIZE];
  ASSERT_TRUE(qk_npy_alloc(&a, QK_NPY_F32, 1, shape, error, sizeof(error)));
  EXPECT_FALSE(qk_npy_write_file(Path("no/such/dir.npy").c_str(), &a, error, sizeof(error)));
  EXPECT_NE(std::string(error).find("no/such/dir.npy: cannot create"), std::string::npos) << error;
  // The target is a directory: the temporary file is written, the rename fails, it is removed.
  mkdir(Path("target.npy").c_str(), 0700);
  EXPECT_FALSE(qk_npy_write_file(Path("target.npy").c_str(), &a, error, sizeof(error)));
  EXPECT_NE(std::string(error).find("target.npy: cannot replace"), std::string::npos) << error;
  EXPECT_EQ(Entries(), std::vector<std::string>{"target.npy"});
  rmdir(Path("target.npy").c_str());
  EXPECT_FALSE(qk_npy_write_file("", &a, error, sizeof(error)));
  // An inconsistent array is refused before any file is created.
  a.count = 5;
  EXPECT_FALSE(qk_npy_write_file(Path("bad.npy").c_str(), &a, error, sizeof(error)));
  a.count = 4;
  qk_npy_free(&a);
  EXPECT_TRUE(Entries().empty());
}

// NCHW on disk into an NHWC buffer: element [n][c][h][w] of the file's array goes to
// out[((n * H + h) * W + w) * C + c]. Shapes large enough to take several chunks.
TEST_F(NpyFile, StreamsIntoTheCallersLayoutInBothFileOrders) {
  const size_t N = 2, C = 3, H = 401, W = 1000;  // 2.4 MB of uint8: three chunks
  const size_t count = N * C * H * W;
  auto value = [](size_t n, size_t c, size_t h, size_t w) {
    return static_cast<uint8_t>(n * 101 + c * 37 + h * 7 + w * 3);
  };
  std::string c_data(count, '\0'), f_data(count, '\0');
  for (size_t n = 0; n < N; n++)
    for (size_t c = 0; c < C; c++)
      for (size_t h = 0; h < H; h++)
        for (size_t w = 0; w < W; w++) {
          c_data[((n * C + c) * H + h) * W + w] = static_cast<char>(value(n, c, h, w));
          f_data[n + N * (c + C * (h + H * w))] = static_cast<char>(value(n, c, h, w));
        }
  const std::string shape = "(2, 3, 401, 1000)";
  WriteRaw("c.npy", RawNpy(1, Padded(1, Dict("|u1", shape)), c_data));
  WriteRaw("f.npy", RawNpy(1, Padded(1, Dict("|u1", shape, "True")), f_data));
  const size_t nhwc[4] = {H * W * C, 1, W * C, C};
  for (const char* name : {"c.npy", "f.npy"}) {
    SCOPED_TRACE(name);
    qk_npy_file* file = nullptr;
    qk_npy_array info;
    char error[QK_NPY_ERROR_SIZE];
    ASSERT_TRUE(qk_npy_open_file(Path(name).c_str(), &file, &info, error, sizeof(error))) << error;
    EXPECT_EQ(info.dtype, QK_NPY_U8);
    EXPECT_EQ(info.ndim, 4u);
    EXPECT_EQ(info.shape[3], W);
    EXPECT_EQ(info.bytes, count);
    EXPECT_EQ(info.data, nullptr);
    std::vector<uint8_t> out(count, 0xee);
    ASSERT_TRUE(qk_npy_read_data(file, out.data(), nhwc, error, sizeof(error))) << error;
    EXPECT_FALSE(qk_npy_read_data(file, out.data(), nhwc, error, sizeof(error)))
        << "the data is read once";
    qk_npy_close_file(file);
    size_t mismatches = 0;
    for (size_t n = 0; n < N; n++)
      for (size_t c = 0; c < C; c++)
        for (size_t h = 0; h < H; h++)
          for (size_t w = 0; w < W; w++)
            mismatches += out[((n * H + h) * W + w) * C + c] != value(n, c, h, w);
    EXPECT_EQ(mismatches, 0u);
    // And the whole-file reader hands the Fortran file over in C order.
    qk_npy_array a;
    ASSERT_TRUE(qk_npy_read_file(Path(name).c_str(), &a, error, sizeof(error))) << error;
    ASSERT_EQ(a.bytes, count);
    EXPECT_EQ(memcmp(a.data, c_data.data(), count), 0);
    qk_npy_free(&a);
  }
  qk_npy_close_file(nullptr);
}

TEST_F(NpyFile, StreamingReadsStayStrict) {
  char error[QK_NPY_ERROR_SIZE];
  qk_npy_file* file = reinterpret_cast<qk_npy_file*>(1);
  qk_npy_array info;
  // Sizes are checked at open for a regular file.
  const std::string valid = RawNpy(1, Padded(1, Dict("<i4", "(2, 3)", "True")), Bytes(24));
  WriteRaw("short.npy", valid.substr(0, valid.size() - 1));
  EXPECT_FALSE(qk_npy_open_file(Path("short.npy").c_str(), &file, &info, error, sizeof(error)));
  EXPECT_EQ(file, nullptr);
  EXPECT_TRUE(IsZeroed(info));
  EXPECT_NE(std::string(error).find("short.npy: truncated data"), std::string::npos) << error;
  WriteRaw("long.npy", valid + "??");
  EXPECT_FALSE(qk_npy_open_file(Path("long.npy").c_str(), &file, &info, error, sizeof(error)));
  EXPECT_NE(std::string(error).find("long.npy: 2 unexpected bytes"), std::string::npos) << error;
  EXPECT_FALSE(qk_npy_open_file(Path("none.npy").c_str(), &file, &info, error, sizeof(error)));
  EXPECT_NE(std::string(error).find("none.npy: cannot open"), std::string::npos) << error;
  // Through a pipe, while the data is read: a short Fortran array, then a long C one.
  for (const std::string& bytes :
       {valid.substr(0, valid.size() - 5), RawNpy(1, Dict("<i4", "(2, 3)"), Bytes(24)) + "x"}) {
    int fds[2];
    ASSERT_EQ(pipe(fds), 0);
    ASSERT_EQ(write(fds[1], bytes.data(), bytes.size()), static_cast<ssize_t>(bytes.size()));
    close(fds[1]);
    const std::string path = "/dev/fd/" + std::to_string(fds[0]);
    ASSERT_TRUE(qk_npy_open_file(path.c_str(), &file, &info, error, sizeof(error))) << error;
    std::vector<int32_t> out(6);
    const size_t transposed[2] = {1, 2};
    EXPECT_FALSE(qk_npy_read_data(file, out.data(), transposed, error, sizeof(error)));
    EXPECT_TRUE(std::string(error).find("truncated data: shape (2, 3) of int32 needs 24 bytes, "
                                        "the file has 19") != std::string::npos ||
                std::string(error).find("unexpected bytes after the data") != std::string::npos)
        << error;
    qk_npy_close_file(file);
    close(fds[0]);
  }
}

// An NHWC int32 buffer written as an NCHW array, through more than one chunk.
TEST_F(NpyFile, WritesAStridedLayout) {
  const size_t N = 1, C = 5, H = 300, W = 250;  // 1.5 MB of int32
  std::vector<int32_t> nhwc(N * H * W * C);
  for (size_t i = 0; i < nhwc.size(); i++) nhwc[i] = static_cast<int32_t>(i * 2654435761u);
  const size_t shape[4] = {N, C, H, W}, strides[4] = {H * W * C, 1, W * C, C};
  char error[QK_NPY_ERROR_SIZE];
  ASSERT_TRUE(qk_npy_write_file_strided(Path("y.npy").c_str(), QK_NPY_I32, 4, shape, nhwc.data(),
                                        strides, error, sizeof(error)))
      << error;
  qk_npy_array y;
  ASSERT_TRUE(qk_npy_read_file(Path("y.npy").c_str(), &y, error, sizeof(error))) << error;
  ASSERT_EQ(y.count, nhwc.size());
  const int32_t* v = static_cast<const int32_t*>(y.data);
  size_t mismatches = 0;
  for (size_t c = 0; c < C; c++)
    for (size_t h = 0; h < H; h++)
      for (size_t w = 0; w < W; w++)
        mismatches += v[(c * H + h) * W + w] != nhwc[(h * W + w) * C + c];
  EXPECT_EQ(mismatches, 0u);
  qk_npy_free(&y);
  // The header says C order, as numpy.save writes it.
  FILE* f = fopen(Path("y.npy").c_str(), "rb");
  ASSERT_NE(f, nullptr);
  char head[128] = "";
  ASSERT_EQ(fread(head, 1, sizeof(head) - 1, f), sizeof(head) - 1);
  fclose(f);
  EXPECT_NE(std::string(head + 10).find("'fortran_order': False, 'shape': (1, 5, 300, 250), }"),
            std::string::npos);
  // Bad arguments are refused before any file exists.
  unlink(Path("y.npy").c_str());
  EXPECT_FALSE(qk_npy_write_file_strided(Path("y.npy").c_str(), QK_NPY_INVALID, 4, shape,
                                         nhwc.data(), strides, error, sizeof(error)));
  const size_t huge[2] = {SIZE_MAX / 2, 4};
  EXPECT_FALSE(qk_npy_write_file_strided(Path("y.npy").c_str(), QK_NPY_I32, 2, huge, nhwc.data(),
                                         nullptr, error, sizeof(error)));
  EXPECT_TRUE(Entries().empty());
}

TEST_F(NpyFile, TemporaryNameIsShortAndSymlinksAreWrittenThrough) {
  const size_t shape[1] = {3};
  qk_npy_array a;
  char error[QK_NPY_ERROR_SIZE];
  ASSERT_TRUE(qk_npy_alloc(&a, QK_NPY_U8, 1, shape, error, sizeof(error)));
  // NAME_MAX (255) characters: the temporary name is not derived from it.
  const std::string longest = std::string(251, 'n') + ".npy";
  EXPECT_TRUE(qk_npy_write_file(Path(longest).c_str(), &a, error, sizeof(error))) << error;
  EXPECT_EQ(Entries(), std::vector<std::string>{longest});
  unlink(Path(longest).c_str());
  EXPECT_FALSE(qk_npy_write_file(Path("n" + longest).c_str(), &a, error, sizeof(error)));
  EXPECT_NE(std::string(error).find("File name too long"), std::string::npos) << error;
  // A link (relative target) is written through; the link stays a link.
  ASSERT_EQ(symlink("real.npy", Path("link.npy").c_str()), 0);
  EXPECT_TRUE(qk_npy_write_file(Path("link.npy").c_str(), &a, error, sizeof(error))) << error;
  struct stat st;
  ASSERT_EQ(lstat(Path("link.npy").c_str(), &st), 0);
  EXPECT_TRUE(S_ISLNK(st.st_mode));
  ASSERT_EQ(lstat(Path("real.npy").c_str(), &st), 0);
  EXPECT_TRUE(S_ISREG(st.st_mode));
  EXPECT_EQ(st.st_size, 128 + 3);
  std::vector<std::string> names = Entries();
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{"link.npy", "real.npy"}));
  // No write in progress: nothing to remove, nothing removed.
  qk_npy_remove_partial_output();
  EXPECT_EQ(Entries().size(), 2u);
  qk_npy_free(&a);
}

TEST(NpyAlloc, RefusesBadArguments) {
  qk_npy_array a;
  char error[QK_NPY_ERROR_SIZE];
  const size_t huge[2] = {SIZE_MAX / 2, 3};
  EXPECT_FALSE(qk_npy_alloc(&a, QK_NPY_U8, 2, huge, error, sizeof(error)));
  EXPECT_NE(std::string(error).find("too large"), std::string::npos) << error;
  EXPECT_TRUE(IsZeroed(a));
  const size_t nine[9] = {1, 1, 1, 1, 1, 1, 1, 1, 1};
  EXPECT_FALSE(qk_npy_alloc(&a, QK_NPY_U8, 9, nine, error, sizeof(error)));
  EXPECT_FALSE(qk_npy_alloc(&a, QK_NPY_INVALID, 1, nine, error, sizeof(error)));
  EXPECT_STREQ(qk_npy_dtype_name(QK_NPY_INVALID), "invalid");
  EXPECT_EQ(qk_npy_dtype_size(QK_NPY_INVALID), 0u);
  qk_npy_free(nullptr);
}

}  // namespace
