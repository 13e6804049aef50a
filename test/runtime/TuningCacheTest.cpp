//===- TuningCacheTest.cpp - The persistent autotuning cache --------------===//

#include "kopt/runtime/TuningCache.h"

#include "TempDir.h"

#include <cstdlib>
#include <fstream>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

#include <gtest/gtest.h>

namespace kopt::rt {
namespace {

TuningKey key(const std::string &kernel = "node 3: linear w",
              const std::string &shapes = "rows<=1") {
  TuningKey k;
  k.moduleHash = hashModule({"ptx text", "plan text"});
  k.function = "forward";
  k.kernel = kernel;
  k.shapes = shapes;
  k.gpu = "NVIDIA H200";
  k.computeCapability = "9.0";
  k.driverVersion = 13000;
  k.koptVersion = "0.1.0";
  return k;
}

TuningRecord record(TuningKey k, int variant) {
  TuningRecord r;
  r.key = std::move(k);
  r.variant = variant;
  r.label = "variant " + std::to_string(variant);
  r.medianMs = {0.02, 0.01, -1.0};
  return r;
}

struct Warnings {
  std::vector<std::string> lines;
  TuningCache::Warn sink() {
    return [this](const std::string &line) { lines.push_back(line); };
  }
};

TEST(TuningCache, StoredRecordIsFoundByItsFullKey) {
  test::TempDir dir;
  TuningCache cache(dir.file("cache"));
  ASSERT_TRUE(cache.store({record(key(), 2)}).isOk());
  std::optional<TuningRecord> hit = cache.lookup(key());
  ASSERT_TRUE(hit);
  EXPECT_EQ(hit->variant, 2);
  EXPECT_EQ(hit->label, "variant 2");
  ASSERT_EQ(hit->medianMs.size(), 3u);
  EXPECT_DOUBLE_EQ(hit->medianMs[1], 0.01);
  // A second cache object (another process) reads the same file.
  EXPECT_TRUE(TuningCache(dir.file("cache")).lookup(key()));
}

TEST(TuningCache, AnyChangedKeyFieldMisses) {
  test::TempDir dir;
  TuningCache cache(dir.file("cache"));
  ASSERT_TRUE(cache.store({record(key(), 1)}).isOk());
  std::vector<TuningKey> changed(8, key());
  changed[0].moduleHash = hashModule({"other ptx", "plan text"});
  changed[1].function = "forward_cached";
  changed[2].kernel = "node 4: linear w";
  changed[3].shapes = "rows<=16";
  changed[4].gpu = "NVIDIA A100";
  changed[5].computeCapability = "8.0";
  changed[6].driverVersion = 12080;
  changed[7].koptVersion = "0.2.0";
  for (const TuningKey &k : changed)
    EXPECT_FALSE(cache.lookup(k)) << k.function << " " << k.kernel;
}

TEST(TuningCache, StoreReplacesTheRecordOfTheSameKeyAndKeepsOthers) {
  test::TempDir dir;
  TuningCache cache(dir.file("cache"));
  ASSERT_TRUE(cache.store({record(key("a"), 1), record(key("b"), 2)}).isOk());
  ASSERT_TRUE(cache.store({record(key("a"), 3)}).isOk());
  EXPECT_EQ(cache.lookup(key("a"))->variant, 3);
  EXPECT_EQ(cache.lookup(key("b"))->variant, 2);
}

TEST(TuningCache, CorruptFileIsIgnoredWithAWarningAndRebuilt) {
  test::TempDir dir;
  Warnings warnings;
  TuningCache cache(dir.file("cache"), warnings.sink());
  ASSERT_TRUE(cache.store({record(key("a"), 1)}).isOk());
  std::string path = cache.pathFor(key().moduleHash);
  std::ofstream(path, std::ios::trunc) << "{\"format\": \"kopt-tuning\", \"entr";
  EXPECT_FALSE(cache.lookup(key("a")));
  ASSERT_EQ(warnings.lines.size(), 1u);
  EXPECT_NE(warnings.lines[0].find("corrupt tuning cache"), std::string::npos)
      << warnings.lines[0];
  ASSERT_TRUE(cache.store({record(key("b"), 2)}).isOk());
  EXPECT_EQ(cache.lookup(key("b"))->variant, 2);
  EXPECT_FALSE(cache.lookup(key("a")));
}

TEST(TuningCache, ACorruptFileIsReportedOncePerCache) {
  test::TempDir dir;
  Warnings warnings;
  TuningCache cache(dir.file("cache"), warnings.sink());
  ASSERT_TRUE(cache.store({record(key("a"), 1)}).isOk());
  std::ofstream(cache.pathFor(key().moduleHash), std::ios::trunc) << "[1, 2";
  // Looked up for every tuned kernel, and read again on the next store.
  EXPECT_FALSE(cache.lookup(key("a")));
  EXPECT_FALSE(cache.lookup(key("b")));
  ASSERT_TRUE(cache.store({record(key("c"), 3)}).isOk());
  EXPECT_EQ(warnings.lines.size(), 1u);
  EXPECT_EQ(cache.lookup(key("c"))->variant, 3);
}

TEST(TuningCache, CorruptEntriesAreSkippedOthersKept) {
  test::TempDir dir;
  Warnings warnings;
  TuningCache cache(dir.file("cache"), warnings.sink());
  ASSERT_TRUE(cache.store({record(key("a"), 1)}).isOk());
  std::string path = cache.pathFor(key().moduleHash);
  std::string text;
  {
    std::ifstream in(path);
    text.assign(std::istreambuf_iterator<char>(in), {});
  }
  // A second entry whose variant is not a number.
  size_t entries = text.find("\"entries\": [");
  ASSERT_NE(entries, std::string::npos);
  text.insert(entries + 12, "{\"key\": {\"module\": 1}, \"variant\": \"x\"},");
  std::ofstream(path, std::ios::trunc) << text;
  EXPECT_EQ(cache.lookup(key("a"))->variant, 1);
  ASSERT_EQ(warnings.lines.size(), 1u);
  EXPECT_NE(warnings.lines[0].find("corrupt entry"), std::string::npos);
}

TEST(TuningCache, ConcurrentWritersLoseNoRecord) {
  test::TempDir dir;
  std::string root = dir.file("cache");
  constexpr int kProcesses = 4, kThreads = 4, kRecords = 5;
  std::vector<pid_t> children;
  for (int p = 0; p < kProcesses; ++p) {
    pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      std::vector<std::thread> threads;
      bool ok = true;
      for (int t = 0; t < kThreads; ++t)
        threads.emplace_back([&, t] {
          TuningCache cache(root);
          for (int r = 0; r < kRecords; ++r) {
            std::string name = std::to_string(p) + "." + std::to_string(t) +
                               "." + std::to_string(r);
            ok &= cache.store({record(key(name), r)}).isOk();
          }
        });
      for (std::thread &thread : threads)
        thread.join();
      ::_exit(ok ? 0 : 1);
    }
    children.push_back(child);
  }
  for (pid_t child : children) {
    int status = 0;
    ASSERT_EQ(::waitpid(child, &status, 0), child);
    ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }
  Warnings warnings;
  TuningCache cache(root, warnings.sink());
  for (int p = 0; p < kProcesses; ++p)
    for (int t = 0; t < kThreads; ++t)
      for (int r = 0; r < kRecords; ++r) {
        std::string name = std::to_string(p) + "." + std::to_string(t) + "." +
                           std::to_string(r);
        std::optional<TuningRecord> hit = cache.lookup(key(name));
        ASSERT_TRUE(hit) << name;
        EXPECT_EQ(hit->variant, r);
      }
  EXPECT_TRUE(warnings.lines.empty());
}

TEST(TuningCache, DirectoryFollowsTheEnvironment) {
  const char *saved[3] = {std::getenv("KOPT_CACHE_DIR"),
                          std::getenv("XDG_CACHE_HOME"), std::getenv("HOME")};
  std::string copies[3];
  for (int i = 0; i < 3; ++i)
    copies[i] = saved[i] ? saved[i] : "";
  ::setenv("KOPT_CACHE_DIR", "/tmp/k", 1);
  ::setenv("XDG_CACHE_HOME", "/tmp/x", 1);
  ::setenv("HOME", "/tmp/h", 1);
  EXPECT_EQ(TuningCache::defaultDirectory(), "/tmp/k");
  ::unsetenv("KOPT_CACHE_DIR");
  EXPECT_EQ(TuningCache::defaultDirectory(), "/tmp/x/kopt");
  ::unsetenv("XDG_CACHE_HOME");
  EXPECT_EQ(TuningCache::defaultDirectory(), "/tmp/h/.cache/kopt");
  const char *names[3] = {"KOPT_CACHE_DIR", "XDG_CACHE_HOME", "HOME"};
  for (int i = 0; i < 3; ++i) {
    if (saved[i])
      ::setenv(names[i], copies[i].c_str(), 1);
    else
      ::unsetenv(names[i]);
  }
}

TEST(TuningCache, UnwritableDirectoryIsAStatusNotACrash) {
  test::TempDir dir;
  std::ofstream(dir.file("file")) << "x";
  TuningCache cache(dir.file("file") + "/below");
  Status stored = cache.store({record(key(), 1)});
  EXPECT_EQ(stored.code(), KOPT_STATUS_IO_ERROR);
  EXPECT_FALSE(cache.lookup(key()));
}

TEST(TuningCache, ModuleHashDependsOnEveryPart) {
  EXPECT_EQ(hashModule({"a", "b"}), hashModule({"a", "b"}));
  EXPECT_NE(hashModule({"a", "b"}), hashModule({"ab", ""}));
  EXPECT_NE(hashModule({"a", "b"}), hashModule({"a", "c"}));
  EXPECT_EQ(hashModule({"x"}).size(), 16u);
}

} // namespace
} // namespace kopt::rt
