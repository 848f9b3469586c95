// Helpers shared by the store's tests.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <string>

#include "base/status.h"

#define ASSERT_OK(expr)                                        \
  do {                                                         \
    ::clonefs::Status _s = (expr);                             \
    ASSERT_TRUE(_s.ok()) << #expr << " -> " << _s.ToString();  \
  } while (0)
#define EXPECT_OK(expr)                                        \
  do {                                                         \
    ::clonefs::Status _s = (expr);                             \
    EXPECT_TRUE(_s.ok()) << #expr << " -> " << _s.ToString();  \
  } while (0)

namespace clonefs::testing {

// A fresh directory under /tmp, removed when the object goes away.
class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/clonefs-test-XXXXXX";
    path_ = ::mkdtemp(tmpl);
  }
  ~TempDir() { std::system(("rm -rf '" + path_ + "'").c_str()); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Deterministic page-sized content that differs per (seed, page).
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

}  // namespace clonefs::testing
