//===- SafetensorsTest.cpp - Loading good and hostile safetensors ---------===//

#include "TempDir.h"
#include "kopt/runtime/Safetensors.h"

#include <cstring>
#include <unistd.h>

namespace {

using kopt::rt::SafetensorsFile;
using kopt::rt::TensorToWrite;
using kopt::rt::WeightSet;
using kopt::test::TempDir;

std::vector<uint8_t> floatBytes(std::initializer_list<float> values) {
  std::vector<uint8_t> bytes(values.size() * 4);
  std::memcpy(bytes.data(), values.begin(), bytes.size());
  return bytes;
}

/// A safetensors file from a raw header and data section.
std::vector<uint8_t> rawFile(const std::string &header,
                             const std::vector<uint8_t> &data,
                             uint64_t headerLength = UINT64_MAX) {
  if (headerLength == UINT64_MAX)
    headerLength = header.size();
  std::vector<uint8_t> bytes(8);
  for (int i = 0; i < 8; ++i)
    bytes[i] = static_cast<uint8_t>(headerLength >> (8 * i));
  bytes.insert(bytes.end(), header.begin(), header.end());
  bytes.insert(bytes.end(), data.begin(), data.end());
  return bytes;
}

std::string openError(const TempDir &dir, const std::vector<uint8_t> &bytes) {
  auto file = SafetensorsFile::open(dir.write("t.safetensors", bytes));
  EXPECT_FALSE(file.isOk()) << "a hostile file was accepted";
  return file.isOk() ? "" : file.status().message();
}

TEST(Safetensors, WritesAndReadsBack) {
  TempDir dir;
  std::string path = dir.file("w.safetensors");
  ASSERT_TRUE(kopt::rt::writeSafetensors(
                  path,
                  {{"a.weight", KOPT_DTYPE_F32, {2, 2}, floatBytes({1, 2, 3, 4})},
                   {"b", KOPT_DTYPE_I32, {3}, std::vector<uint8_t>(12, 7)},
                   {"empty", KOPT_DTYPE_F16, {0, 5}, {}}},
                  {{"format", "pt"}})
                  .isOk());
  auto file = SafetensorsFile::open(path);
  ASSERT_TRUE(file.isOk()) << file.status().message();
  const auto &tensors = (*file)->tensors();
  ASSERT_EQ(tensors.size(), 3u);
  const auto &a = tensors.at("a.weight");
  EXPECT_EQ(a.dtype, KOPT_DTYPE_F32);
  EXPECT_EQ(a.shape, (std::vector<int64_t>{2, 2}));
  float values[4];
  std::memcpy(values, a.data, 16);
  EXPECT_EQ(values[3], 4.0f);
  // The data section starts 8-byte aligned.
  EXPECT_EQ(reinterpret_cast<uintptr_t>(a.data) % 8, 0u);
  EXPECT_EQ(tensors.at("b").byteSize, 12u);
  EXPECT_EQ(tensors.at("empty").numElements(), 0);
  EXPECT_EQ((*file)->metadata().at("format"), "pt");
}

TEST(Safetensors, RejectsShortFile) {
  TempDir dir;
  EXPECT_NE(openError(dir, {1, 2, 3}).find("shorter than the 8-byte header"),
            std::string::npos);
}

TEST(Safetensors, RejectsHeaderPastEnd) {
  TempDir dir;
  std::string error = openError(dir, rawFile("{}", {}, 4096));
  EXPECT_NE(error.find("header length 4096 is past the end of the file"),
            std::string::npos)
      << error;
}

TEST(Safetensors, RejectsHugeHeaderLength) {
  TempDir dir;
  std::string error = openError(dir, rawFile("{}", {}, 1ull << 62));
  EXPECT_NE(error.find("exceeds the"), std::string::npos) << error;
}

TEST(Safetensors, RejectsBadJson) {
  TempDir dir;
  EXPECT_NE(openError(dir, rawFile("{\"a\": ", {})).find("not valid JSON"),
            std::string::npos);
  EXPECT_NE(openError(dir, rawFile("[1, 2]", {})).find("not a JSON object"),
            std::string::npos);
}

TEST(Safetensors, RejectsDuplicateNames) {
  TempDir dir;
  std::string header =
      R"({"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]},)"
      R"( "a": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}})";
  EXPECT_NE(openError(dir, rawFile(header, std::vector<uint8_t>(8)))
                .find("has the key 'a' twice in one object"),
            std::string::npos);
}

TEST(Safetensors, RejectsTruncatedData) {
  TempDir dir;
  std::string header =
      R"({"w": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}})";
  std::string error = openError(dir, rawFile(header, std::vector<uint8_t>(10)));
  EXPECT_NE(error.find("tensor 'w': data_offsets end 16 is past the data "
                       "(10 bytes): truncated file?"),
            std::string::npos)
      << error;
}

TEST(Safetensors, RejectsOverlap) {
  TempDir dir;
  std::string header =
      R"({"x": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},)"
      R"( "y": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}})";
  std::string error = openError(dir, rawFile(header, std::vector<uint8_t>(12)));
  EXPECT_NE(error.find("tensors 'x' and 'y' overlap"), std::string::npos)
      << error;
}

TEST(Safetensors, RejectsSizeShapeMismatch) {
  TempDir dir;
  std::string header =
      R"({"w": {"dtype": "BF16", "shape": [2, 3], "data_offsets": [0, 8]}})";
  std::string error = openError(dir, rawFile(header, std::vector<uint8_t>(8)));
  EXPECT_NE(error.find("holds 8 bytes but its bf16 shape needs 12"),
            std::string::npos)
      << error;
}

TEST(Safetensors, RejectsOverflowingShape) {
  TempDir dir;
  std::string header = R"({"w": {"dtype": "F32", "shape": [4294967296, )"
                       R"(4294967296], "data_offsets": [0, 0]}})";
  EXPECT_NE(openError(dir, rawFile(header, {})).find("overflows"),
            std::string::npos);
}

struct BadEntry {
  const char *entry;
  const char *message;
};

class HostileEntry : public ::testing::TestWithParam<BadEntry> {};

TEST_P(HostileEntry, IsRejectedWithReason) {
  TempDir dir;
  std::string header = std::string(R"({"w": )") + GetParam().entry + "}";
  std::string error = openError(dir, rawFile(header, std::vector<uint8_t>(64)));
  EXPECT_NE(error.find(GetParam().message), std::string::npos) << error;
  // Errors name the file.
  EXPECT_NE(error.find("t.safetensors"), std::string::npos) << error;
}

INSTANTIATE_TEST_SUITE_P(
    Entries, HostileEntry,
    ::testing::Values(
        BadEntry{R"({"dtype": "F33", "shape": [1], "data_offsets": [0, 4]})",
                 "unsupported dtype 'F33'"},
        BadEntry{R"({"dtype": 3, "shape": [1], "data_offsets": [0, 4]})",
                 "dtype is not a string"},
        BadEntry{R"({"shape": [1], "data_offsets": [0, 4]})",
                 "needs 'dtype', 'shape' and 'data_offsets'"},
        BadEntry{R"({"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]})",
                 "shape dims must be non-negative integers"},
        BadEntry{R"({"dtype": "F32", "shape": [1.5], "data_offsets": [0, 4]})",
                 "shape dims must be non-negative integers"},
        BadEntry{R"({"dtype": "F32", "shape": [1,1,1,1,1,1,1,1,1], "data_offsets": [0, 4]})",
                 "at most 8 dims"},
        BadEntry{R"({"dtype": "F32", "shape": [1], "data_offsets": [8, 4]})",
                 "are reversed"},
        BadEntry{R"({"dtype": "F32", "shape": [1], "data_offsets": [0]})",
                 "data_offsets must be two non-negative integers"},
        BadEntry{R"({"dtype": "F32", "shape": [1], "data_offsets": [-4, 0]})",
                 "data_offsets must be two non-negative integers"},
        BadEntry{R"({"dtype": "F32", "shape": [1], "data_offsets": [0, 18446744073709551615]})",
                 "data_offsets must be two non-negative integers"},
        BadEntry{R"("not an object")", "entry is not an object"}));

TEST(Safetensors, RejectsBadMetadata) {
  TempDir dir;
  EXPECT_NE(openError(dir, rawFile(R"({"__metadata__": {"a": 1}})", {}))
                .find("__metadata__ value of 'a' is not a string"),
            std::string::npos);
}

TEST(Safetensors, MissingFileIsNotFound) {
  TempDir dir;
  auto file = SafetensorsFile::open(dir.file("absent.safetensors"));
  ASSERT_FALSE(file.isOk());
  EXPECT_EQ(file.status().code(), KOPT_STATUS_NOT_FOUND);
}

class ShardedCheckpoint : public ::testing::Test {
protected:
  void SetUp() override {
    ASSERT_TRUE(kopt::rt::writeSafetensors(
                    dir.file("model-00001-of-00002.safetensors"),
                    {{"a", KOPT_DTYPE_F32, {1}, floatBytes({1})}}, {})
                    .isOk());
    ASSERT_TRUE(kopt::rt::writeSafetensors(
                    dir.file("model-00002-of-00002.safetensors"),
                    {{"b", KOPT_DTYPE_F32, {2}, floatBytes({2, 3})}}, {})
                    .isOk());
  }
  std::string index(const std::string &weightMap) {
    std::string text = R"({"metadata": {}, "weight_map": )" + weightMap + "}";
    return dir.write("model.safetensors.index.json",
                     std::vector<uint8_t>(text.begin(), text.end()));
  }
  TempDir dir;
};

TEST_F(ShardedCheckpoint, ResolvesEveryName) {
  auto set = WeightSet::open(
      index(R"({"a": "model-00001-of-00002.safetensors",)"
            R"( "b": "model-00002-of-00002.safetensors"})"));
  ASSERT_TRUE(set.isOk()) << set.status().message();
  EXPECT_EQ((*set)->names(), (std::vector<std::string>{"a", "b"}));
  ASSERT_NE((*set)->lookup("b"), nullptr);
  EXPECT_EQ((*set)->lookup("b")->shape, (std::vector<int64_t>{2}));
  EXPECT_EQ((*set)->lookup("c"), nullptr);
}

TEST_F(ShardedCheckpoint, RejectsNameMissingFromShard) {
  auto set = WeightSet::open(index(R"({"b": "model-00001-of-00002.safetensors"})"));
  ASSERT_FALSE(set.isOk());
  EXPECT_NE(set.status().message().find("puts 'b' in "
                                        "'model-00001-of-00002.safetensors', "
                                        "which does not contain it"),
            std::string::npos)
      << set.status().message();
}

TEST_F(ShardedCheckpoint, RejectsMissingShard) {
  auto set = WeightSet::open(index(R"({"a": "model-00009.safetensors"})"));
  ASSERT_FALSE(set.isOk());
  EXPECT_EQ(set.status().code(), KOPT_STATUS_NOT_FOUND);
  EXPECT_NE(set.status().message().find("model-00009.safetensors"),
            std::string::npos);
}

TEST_F(ShardedCheckpoint, RejectsEscapingShardPath) {
  for (const char *shard : {"../x.safetensors", "/etc/passwd", ""}) {
    auto set = WeightSet::open(index(std::string(R"({"a": ")") + shard + "\"}"));
    ASSERT_FALSE(set.isOk()) << shard;
    EXPECT_NE(set.status().message().find("must be a relative path"),
              std::string::npos)
        << set.status().message();
  }
}

TEST_F(ShardedCheckpoint, RejectsMalformedIndex) {
  auto set = WeightSet::open(index(R"(["a"])"));
  ASSERT_FALSE(set.isOk());
  EXPECT_NE(set.status().message().find("no 'weight_map' object"),
            std::string::npos);
}

} // namespace
