// Helpers shared by the control-plane tests.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <memory>
#include <string>

#include "store/store.h"
#include "tests/testing/store_fixture.h"
#include "tools/control/commands.h"

namespace clonefs::control::testing {

using ::clonefs::testing::StoreTest;
using ::clonefs::testing::TempDir;

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
