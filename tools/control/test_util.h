// Helpers shared by the control-plane tests.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <memory>
#include <string>

#include "store/store.h"

namespace clonefs::control::testing {

#define ASSERT_OK(expr)                                     \
  do {                                                      \
    const ::clonefs::Status _s = (expr);                    \
    ASSERT_TRUE(_s.ok()) << #expr << ": " << _s.ToString(); \
  } while (0)

// A fresh directory under /tmp, removed with everything in it when destroyed.
class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/clonefs-ctl-XXXXXX";
    char* made = ::mkdtemp(tmpl);
    path_ = made != nullptr ? made : "";
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// A test with a new store (region us-east-1) open in `store_`.
class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = tmp_.path() + "/store";
    ASSERT_OK(store::Store::Create(dir_, "us-east-1", Env::Default()));
    store::StoreOptions options;
    options.background_threads = false;
    options.cache_bytes = 32ull << 20;
    auto opened = store::Store::Open(dir_, options);
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    store_ = std::move(opened).value();
  }

  TempDir tmp_;
  std::string dir_;
  std::unique_ptr<store::Store> store_;
};

}  // namespace clonefs::control::testing
