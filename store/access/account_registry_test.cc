#include "store/access/account_registry.h"

#include <gtest/gtest.h>

#include <thread>

#include "tests/testing/testing.h"

namespace clonefs::access {
namespace {

using clonefs::testing::TempDir;

constexpr uint32_t kOwnerUid = 1000;

class AccountRegistryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK(store::Store::Create(dir_.path() + "/s", "local", Env::Default()));
    Reopen();
  }
  void Reopen() {
    registry_.reset();
    store_.reset();
    store::StoreOptions o;
    o.background_threads = false;
    auto s = store::Store::Open(dir_.path() + "/s", o);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(s).value();
    auto r = AccountRegistry::Open(store_.get(), Owner());
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    registry_ = std::move(r).value();
  }
  AccountRegistry::StoreOwner Owner() const {
    return {store_->info().account_id, {"alice", kOwnerUid}, 42};
  }

  TempDir dir_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<AccountRegistry> registry_;
};

TEST_F(AccountRegistryTest, TheOwnerAccountAlwaysExistsForTheOwnerAndRoot) {
  const std::string owner = store_->info().account_id;
  EXPECT_EQ(registry_->owner_account(), owner);
  for (uint32_t uid : {kOwnerUid, 0u}) {
    auto a = registry_->AccountOfUid(uid);
    ASSERT_TRUE(a.has_value()) << uid;
    EXPECT_EQ(a->id, owner);
    EXPECT_TRUE(a->store_owner);
  }
  EXPECT_FALSE(registry_->AccountOfUid(1001).has_value());
  ASSERT_EQ(registry_->List().size(), 1u);
  EXPECT_EQ(registry_->List()[0].creation_time_us, 42u);
  EXPECT_EQ(registry_->Create(owner, {{"bob", 1001}}).status().ErrorName(), "AccountAlreadyExists");
}

TEST_F(AccountRegistryTest, CreatedAccountsMapTheirUsersAndSurviveAReopen) {
  auto a = registry_->Create("012345678901", {{"bob", 1001}, {"bea", 1002}});
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_GT(a->creation_time_us, 0u);
  ASSERT_TRUE(registry_->Create("222222222222", {{"carol", 1003}}).ok());
  Reopen();
  EXPECT_EQ(registry_->AccountOfUid(1002)->id, "012345678901");
  EXPECT_EQ(registry_->AccountOfUid(1003)->id, "222222222222");
  auto found = registry_->Find("012345678901");
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->users, (std::vector<AccountUser>{{"bob", 1001}, {"bea", 1002}}));
  EXPECT_EQ(found->creation_time_us, a->creation_time_us);
  std::vector<std::string> ids;
  for (const Account& acc : registry_->List()) ids.push_back(acc.id);
  EXPECT_TRUE(std::is_sorted(ids.begin(), ids.end()));
  EXPECT_EQ(ids.size(), 3u);
}

TEST_F(AccountRegistryTest, RefusalsChangeNothing) {
  ASSERT_TRUE(registry_->Create("012345678901", {{"bob", 1001}}).ok());
  EXPECT_EQ(registry_->Create("012345678901", {{"dan", 1004}}).status().ErrorName(),
            "AccountAlreadyExists");
  EXPECT_EQ(registry_->Create("0123456789012", {{"dan", 1004}}).status().ErrorName(),
            "InvalidParameterValue");
  Status taken = registry_->Create("333333333333", {{"bob", 1001}}).status();
  EXPECT_EQ(taken.ErrorName(), "InvalidParameterValue");
  EXPECT_NE(taken.message().find("already belongs to account 012345678901"), std::string::npos);
  EXPECT_EQ(registry_->Create("333333333333", {{"root", 0}}).status().ErrorName(),
            "InvalidParameterValue");
  EXPECT_EQ(registry_->Create("333333333333", {{"dan", 1004}, {"dan", 1004}}).status().ErrorName(),
            "InvalidParameterValue");
  EXPECT_EQ(registry_->Create("333333333333", {}).status().ErrorName(), "InvalidParameterValue");
  Reopen();
  EXPECT_EQ(registry_->List().size(), 2u);
  EXPECT_FALSE(registry_->AccountOfUid(1004).has_value());
}

TEST_F(AccountRegistryTest, ConcurrentCreatesOfOneUserLetOneWin) {
  std::vector<std::thread> threads;
  std::atomic<int> won{0};
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&, i] {
      std::string id = "00000000000" + std::to_string(i);
      if (registry_->Create(id, {{"bob", 1001}}).ok()) ++won;
      (void)registry_->AccountOfUid(1001);
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(won.load(), 1);
  Reopen();
  EXPECT_TRUE(registry_->AccountOfUid(1001).has_value());
  EXPECT_EQ(registry_->List().size(), 2u);
}

TEST_F(AccountRegistryTest, AnUnreadableDocumentIsCorruption) {
  ASSERT_OK(store_->SaveDocument(AccountRegistry::kDocument, "{not json"));
  auto r = AccountRegistry::Open(store_.get(), Owner());
  EXPECT_EQ(r.status().code(), Status::Code::kCorruption);
}

}  // namespace
}  // namespace clonefs::access
