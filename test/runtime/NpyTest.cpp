//===- NpyTest.cpp - .npy reading, writing and rejection ------------------===//

#include "TempDir.h"
#include "kopt/runtime/Npy.h"

#include <cstring>

namespace {

using kopt::rt::HostTensor;
using kopt::test::TempDir;

/// A version 1.0 .npy file with `header` (padded as NumPy does) and data.
std::vector<uint8_t> npyFile(std::string header, size_t dataBytes,
                             uint8_t major = 1) {
  size_t prefix = major == 1 ? 10 : 12;
  header.append((64 - (prefix + header.size() + 1) % 64) % 64, ' ');
  header += '\n';
  std::vector<uint8_t> bytes = {0x93, 'N', 'U', 'M', 'P', 'Y', major, 0};
  for (size_t i = 0; i < prefix - 8; ++i)
    bytes.push_back(static_cast<uint8_t>(header.size() >> (8 * i)));
  bytes.insert(bytes.end(), header.begin(), header.end());
  bytes.resize(bytes.size() + dataBytes, 0);
  return bytes;
}

std::string parseError(const std::vector<uint8_t> &bytes) {
  auto tensor = kopt::rt::parseNpy(bytes.data(), bytes.size(), "x.npy");
  EXPECT_FALSE(tensor.isOk());
  return tensor.isOk() ? "" : tensor.status().message();
}

TEST(Npy, RoundTripsEveryRank) {
  TempDir dir;
  for (std::vector<int64_t> shape :
       {std::vector<int64_t>{}, {5}, {2, 3}, {1, 0, 4}, {2, 1, 3, 2}}) {
    HostTensor tensor;
    tensor.dtype = KOPT_DTYPE_I32;
    tensor.shape = shape;
    tensor.bytes.resize(tensor.numElements() * 4);
    for (size_t i = 0; i < tensor.bytes.size(); ++i)
      tensor.bytes[i] = static_cast<uint8_t>(i * 7);
    std::string path = dir.file("t.npy");
    ASSERT_TRUE(kopt::rt::writeNpy(path, tensor).isOk());
    auto back = kopt::rt::readNpy(path);
    ASSERT_TRUE(back.isOk()) << back.status().message();
    EXPECT_EQ(back->dtype, KOPT_DTYPE_I32);
    EXPECT_EQ(back->shape, shape);
    EXPECT_EQ(back->bytes, tensor.bytes);
  }
}

TEST(Npy, ParsesNumPyHeaders) {
  auto bytes = npyFile("{'descr': '<f2', 'fortran_order': False, 'shape': (3, 2), }", 12);
  auto tensor = kopt::rt::parseNpy(bytes.data(), bytes.size(), "x.npy");
  ASSERT_TRUE(tensor.isOk()) << tensor.status().message();
  EXPECT_EQ(tensor->dtype, KOPT_DTYPE_F16);
  EXPECT_EQ(tensor->shape, (std::vector<int64_t>{3, 2}));
  // Version 2.0 with a 4-byte header length, and a one-element tuple.
  bytes = npyFile("{'descr': '<i8', 'fortran_order': False, 'shape': (4,), }", 32, 2);
  tensor = kopt::rt::parseNpy(bytes.data(), bytes.size(), "x.npy");
  ASSERT_TRUE(tensor.isOk()) << tensor.status().message();
  EXPECT_EQ(tensor->dtype, KOPT_DTYPE_I64);
  EXPECT_EQ(tensor->shape, (std::vector<int64_t>{4}));
}

TEST(Npy, RejectsMalformedFiles) {
  EXPECT_NE(parseError({1, 2, 3}).find("bad magic"), std::string::npos);
  EXPECT_NE(parseError(npyFile("{'descr': '<f4', 'fortran_order': False, "
                               "'shape': (3,), }", 8))
                .find("holds 8 data bytes but its shape needs 12"),
            std::string::npos);
  EXPECT_NE(parseError(npyFile("{'descr': '<f4', 'shape': (3,), }", 12))
                .find("needs 'descr', 'fortran_order' and 'shape'"),
            std::string::npos);
  EXPECT_NE(parseError(npyFile("{'descr': '<c8', 'fortran_order': False, "
                               "'shape': (1,), }", 8))
                .find("unsupported dtype '<c8'"),
            std::string::npos);
  EXPECT_NE(parseError(npyFile("{'descr': '>f4', 'fortran_order': False, "
                               "'shape': (1,), }", 4))
                .find("big-endian"),
            std::string::npos);
  EXPECT_NE(parseError(npyFile("{'descr': '<f4', 'fortran_order': True, "
                               "'shape': (1,), }", 4))
                .find("Fortran-order"),
            std::string::npos);
  EXPECT_NE(parseError(npyFile("{'descr': '<f4', 'fortran_order': False, "
                               "'shape': (99999999999999999999,), }", 4))
                .find("non-integer"),
            std::string::npos);
  EXPECT_NE(parseError(npyFile("{'descr': '<f4', 'fortran_order': False, "
                               "'shape': (4294967296, 4294967296), }", 4))
                .find("overflows"),
            std::string::npos);
  auto truncated = npyFile("{'descr': '<f4', 'fortran_order': False, "
                           "'shape': (1,), }", 4);
  truncated.resize(20);
  EXPECT_NE(parseError(truncated).find("header runs past the end"),
            std::string::npos);
}

TEST(Npy, RefusesTypesWithoutNumPyDType) {
  HostTensor tensor{KOPT_DTYPE_BF16, {2}, std::vector<uint8_t>(4)};
  auto encoded = kopt::rt::encodeNpy(tensor);
  ASSERT_FALSE(encoded.isOk());
  EXPECT_NE(encoded.status().message().find("bf16 has no NumPy dtype"),
            std::string::npos);
}

} // namespace
