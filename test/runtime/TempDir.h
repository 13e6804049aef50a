//===- TempDir.h - A scratch folder per test --------------------*- C++ -*-===//

#ifndef KOPT_TEST_RUNTIME_TEMPDIR_H
#define KOPT_TEST_RUNTIME_TEMPDIR_H

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace kopt::test {

/// A fresh folder removed at the end of the test.
class TempDir {
public:
  TempDir() {
    const ::testing::TestInfo *info =
        ::testing::UnitTest::GetInstance()->current_test_info();
    std::string name = std::string(info->test_suite_name()) + "." + info->name();
    for (char &c : name)
      if (c == '/')
        c = '_';
    path_ = std::filesystem::temp_directory_path() /
            ("kopt-test-" + std::to_string(::getpid()) + "-" + name);
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }

  std::string file(const std::string &name) const { return (path_ / name).string(); }

  std::string write(const std::string &name, const std::vector<uint8_t> &bytes) const {
    std::ofstream out(file(name), std::ios::binary);
    out.write(reinterpret_cast<const char *>(bytes.data()),
              static_cast<std::streamsize>(bytes.size()));
    return file(name);
  }

private:
  std::filesystem::path path_;
};

} // namespace kopt::test

#endif // KOPT_TEST_RUNTIME_TEMPDIR_H
