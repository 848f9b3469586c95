// What every unit test here uses: status assertions, a scratch directory, page content.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <system_error>

#include "base/result.h"
#include "base/status.h"

#define ASSERT_OK(expr)                                       \
  do {                                                        \
    const ::clonefs::Status _s = (expr);                      \
    ASSERT_TRUE(_s.ok()) << #expr << " -> " << _s.ToString(); \
  } while (0)
#define EXPECT_OK(expr)                                       \
  do {                                                        \
    const ::clonefs::Status _s = (expr);                      \
    EXPECT_TRUE(_s.ok()) << #expr << " -> " << _s.ToString(); \
  } while (0)
// Expects a failed Status (or Result) with the stable error name `name`.
#define EXPECT_ERROR_NAME(expr, name)                                    \
  do {                                                                   \
    const ::clonefs::Status _s = ::clonefs::testing::StatusOf(expr);     \
    EXPECT_EQ(_s.ErrorName(), name) << #expr << " -> " << _s.ToString(); \
  } while (0)

namespace clonefs::testing {

inline Status StatusOf(const Status& s) { return s; }
template <typename T>
Status StatusOf(const Result<T>& r) {
  return r.status();
}

// A fresh directory under /tmp, removed with everything in it when the object goes away.
class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/clonefs-test-XXXXXX";
    const char* made = ::mkdtemp(tmpl);
    EXPECT_NE(made, nullptr) << "mkdtemp failed";
    path_ = made != nullptr ? made : "";
  }
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Deterministic content of `n` bytes that differs per seed (xorshift).
inline std::string Pattern(uint64_t seed, size_t n) {
  std::string s(n, '\0');
  uint64_t x = seed * 0x9E3779B97F4A7C15ull + 1;
  for (size_t i = 0; i < n; ++i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    s[i] = static_cast<char>(x);
  }
  return s;
}

// Descriptors of this process open on files under `dir`, as the kernel lists them.
inline size_t DescriptorsUnder(const std::string& dir) {
  size_t n = 0;
  for (const auto& entry : std::filesystem::directory_iterator("/proc/self/fd")) {
    std::error_code ec;
    auto target = std::filesystem::read_symlink(entry.path(), ec);
    if (!ec && target.string().rfind(dir + "/", 0) == 0) ++n;
  }
  return n;
}

}  // namespace clonefs::testing
