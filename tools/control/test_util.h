// Helpers shared by the control-plane tests.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <memory>
#include <string>

#include "store/store.h"
#include "tools/control/commands.h"

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

// A StoreTest that runs requests through a Dispatcher.
class DispatcherTest : public StoreTest {
 protected:
  nlohmann::json Exec(const std::string& command, nlohmann::json args = nlohmann::json::object(),
                      const ProgressHooks* hooks = nullptr, bool progress = false) {
    Dispatcher d(store_.get());
    nlohmann::json request = MakeRequest(command, std::move(args));
    if (progress) request["progress"] = true;
    return d.Handle(request, Caller{0, 1}, nullptr, hooks);
  }
  nlohmann::json Ok(const std::string& command, nlohmann::json args = nlohmann::json::object()) {
    nlohmann::json r = Exec(command, std::move(args));
    EXPECT_TRUE(r.value("ok", false)) << r.dump();
    return r.value("result", nlohmann::json());
  }
  // The error Code, checking the response shape.
  std::string Err(const std::string& command, nlohmann::json args = nlohmann::json::object()) {
    nlohmann::json r = Exec(command, std::move(args));
    EXPECT_FALSE(r.value("ok", true)) << r.dump();
    EXPECT_TRUE(r["error"]["Message"].is_string()) << r.dump();
    return r["error"].value("Code", "");
  }
};

}  // namespace clonefs::control::testing
