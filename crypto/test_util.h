// Helpers shared by the crypto tests.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <atomic>
#include <string>
#include <string_view>

#include "base/env.h"
#include "base/status.h"
#include "crypto/hex.h"
#include "crypto/secret.h"

#define ASSERT_OK(expr)                                       \
  do {                                                        \
    ::clonefs::Status _s = (expr);                            \
    ASSERT_TRUE(_s.ok()) << #expr << " -> " << _s.ToString(); \
  } while (0)
#define EXPECT_OK(expr)                                       \
  do {                                                        \
    ::clonefs::Status _s = (expr);                            \
    EXPECT_TRUE(_s.ok()) << #expr << " -> " << _s.ToString(); \
  } while (0)
// Expects a failed status (or Result) with the stable error name `name`.
#define EXPECT_ERROR_NAME(expr, name)                                    \
  do {                                                                   \
    ::clonefs::Status _s = ::clonefs::crypto::testing::StatusOf(expr);   \
    EXPECT_EQ(_s.ErrorName(), name) << #expr << " -> " << _s.ToString(); \
  } while (0)

namespace clonefs::crypto::testing {

inline Status StatusOf(const Status& s) { return s; }
template <typename T>
Status StatusOf(const Result<T>& r) {
  return r.status();
}

// A fresh directory under /tmp, removed when the object goes away.
class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/clonefs-crypto-test-XXXXXX";
    path_ = ::mkdtemp(tmpl);
  }
  ~TempDir() { std::system(("rm -rf '" + path_ + "'").c_str()); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Bytes from lower-case hex, for known-answer tests.
inline std::string Unhex(std::string_view hex) {
  auto bytes = HexDecode(hex);
  EXPECT_TRUE(bytes.has_value()) << hex;
  return bytes.value_or("");
}

inline SecretBytes SecretFromHex(std::string_view hex) { return SecretBytes::CopyOf(Unhex(hex)); }

// The POSIX Env with a clock the test sets.
class ManualClockEnv final : public Env {
 public:
  explicit ManualClockEnv(uint64_t now_us) : now_us_(now_us) {}
  void Advance(uint64_t us) { now_us_ += us; }

  Result<std::unique_ptr<File>> OpenFile(const std::string& path, bool create) override {
    return base_->OpenFile(path, create);
  }
  Status DeleteFile(const std::string& path) override { return base_->DeleteFile(path); }
  Status RenameFile(const std::string& from, const std::string& to) override {
    return base_->RenameFile(from, to);
  }
  bool FileExists(const std::string& path) override { return base_->FileExists(path); }
  Result<std::vector<std::string>> ListDir(const std::string& dir) override {
    return base_->ListDir(dir);
  }
  Status CreateDir(const std::string& dir) override { return base_->CreateDir(dir); }
  Status SyncDir(const std::string& dir) override { return base_->SyncDir(dir); }
  Result<std::unique_ptr<FileLock>> LockFile(const std::string& path) override {
    return base_->LockFile(path);
  }
  Result<uint64_t> FreeSpace(const std::string& path) override { return base_->FreeSpace(path); }
  uint64_t NowMicros() override { return now_us_; }

 private:
  Env* const base_ = Env::Default();
  std::atomic<uint64_t> now_us_;
};

}  // namespace clonefs::crypto::testing
