// StoreTest: a test with a new store (region us-east-1) open in `store_`, with no background
// threads, so that nothing runs between the test's own steps. Header-only: tests that use it
// link clonefs_store themselves.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "crypto/key_file.h"
#include "crypto/key_store.h"
#include "store/store.h"
#include "tests/testing/testing.h"

namespace clonefs::testing {

// Opens the store in `dir` as tests want it: no background threads, a small cache.
inline Result<std::unique_ptr<store::Store>> OpenTestStore(
    const std::string& dir, std::shared_ptr<const crypto::RootSecret> root_secret = nullptr) {
  store::StoreOptions options;
  options.background_threads = false;
  options.cache_bytes = 32ull << 20;
  options.root_secret = std::move(root_secret);
  return store::Store::Open(dir, options);
}

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = tmp_.path() + "/store";
    ASSERT_OK(store::Store::Create(dir_, "us-east-1", Env::Default()));
    Reopen();
  }
  // Closes the store (a clean shutdown, final checkpoint) and opens it again.
  void Reopen() {
    store_.reset();
    auto opened = OpenTestStore(dir_, root_secret_);
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    store_ = std::move(opened).value();
  }

  // Gives the store a key file beside it (so that encrypted volumes work) and reopens it.
  void UseKeyFile() {
    const std::string key_file = dir_ + ".key";
    ASSERT_OK(crypto::CreateKeyFile(key_file));
    root_secret_ =
        std::make_shared<const crypto::RootSecret>(crypto::RootSecret::KeyFile(key_file));
    Reopen();
  }

  TempDir tmp_;
  std::string dir_;
  std::shared_ptr<const crypto::RootSecret> root_secret_;  // none: the key store stays locked
  std::unique_ptr<store::Store> store_;
};

}  // namespace clonefs::testing
