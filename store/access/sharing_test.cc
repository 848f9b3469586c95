#include "store/access/sharing.h"

#include <gtest/gtest.h>

#include <set>

#include "tests/testing/fake_clock_env.h"
#include "tests/testing/testing.h"

namespace clonefs::access {
namespace {

using clonefs::testing::FakeClockEnv;
using clonefs::testing::TempDir;

constexpr char kOwner[] = "111111111111";
constexpr char kB[] = "222222222222";
constexpr char kC[] = "333333333333";
constexpr uint64_t kDayUs = 24ull * 3600 * 1000000;

std::string Id(int i) {
  std::string s(12, '0');
  std::string digits = std::to_string(i);
  s.replace(12 - digits.size(), digits.size(), digits);
  return s;
}

store::VolumeOptions OneMib() {
  store::VolumeOptions o;
  o.size_bytes = 1 << 20;
  return o;
}

class SharingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK(store::Store::Create(dir_.path() + "/s", "local", Env::Default()));
    Reopen();
  }
  void Reopen() {
    sharing_.reset();
    store_.reset();
    store::StoreOptions o;
    o.background_threads = false;
    auto s = store::Store::Open(dir_.path() + "/s", o);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(s).value();
    auto r = Sharing::Open(store_.get(), &clock_);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    sharing_ = std::move(r).value();
  }
  // Every well-formed id but kUnknown has an account.
  Sharing::AccountExists Exists() const {
    return [](const std::string& a) { return a != "999999999999"; };
  }
  Result<std::vector<std::string>> Modify(const std::vector<std::string>& add,
                                          const std::vector<std::string>& remove,
                                          SnapshotFacts facts = {}) {
    return sharing_->ModifyRestore(kOwner, "s1", add, remove, facts, Exists());
  }
  static Sharing::Alive All() {
    return [](const std::string&) { return true; };
  }
  Result<Share> NewShare(const std::string& name, const std::vector<std::string>& principals,
                         VolumeFacts facts = {}) {
    return sharing_->CreateShare(kOwner, name, "vol", principals, facts, Exists());
  }

  TempDir dir_;
  FakeClockEnv clock_{1'700'000'000'000'000};
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<Sharing> sharing_;
};

TEST_F(SharingTest, RestoreAttributeAddsRemovesAndSurvivesAReopen) {
  auto v = Modify({kB, kC}, {});
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(*v, (std::vector<std::string>{kB, kC}));
  EXPECT_TRUE(sharing_->MayRestore(kB, "s1"));
  EXPECT_FALSE(sharing_->MayRestore("444444444444", "s1"));
  EXPECT_FALSE(sharing_->MayRestore(kB, "s2"));
  ASSERT_OK(Modify({}, {kC}).status());
  Reopen();
  EXPECT_EQ(sharing_->RestoreValues("s1"), (std::vector<std::string>{kB}));
  EXPECT_EQ(sharing_->SharedSnapshots(kB), (std::vector<std::string>{"s1"}));
  EXPECT_TRUE(sharing_->SharedSnapshots(kC).empty());
}

TEST_F(SharingTest, RemovingAllKeepsTheAccountsAddedById) {
  ASSERT_OK(Modify({kB}, {}).status());
  ASSERT_OK(Modify({"all"}, {}).status());
  EXPECT_EQ(sharing_->RestoreValues("s1"), (std::vector<std::string>{kB, "all"}));
  EXPECT_TRUE(sharing_->MayRestore(kC, "s1"));  // public
  EXPECT_EQ(sharing_->PublicSnapshots(), (std::vector<std::string>{"s1"}));
  ASSERT_OK(Modify({}, {"all"}).status());
  EXPECT_EQ(sharing_->RestoreValues("s1"), (std::vector<std::string>{kB}));
  EXPECT_FALSE(sharing_->MayRestore(kC, "s1"));
  EXPECT_TRUE(sharing_->MayRestore(kB, "s1"));
}

TEST_F(SharingTest, AtMostTwentyAccountsCountedAfterTheWholeChange) {
  std::vector<std::string> nineteen;
  for (int i = 1; i <= 19; ++i) nineteen.push_back(Id(1000 + i));
  ASSERT_OK(Modify(nineteen, {}).status());
  // 19 + 2 is one too many, and nothing of it is applied.
  auto over = Modify({Id(2001), Id(2002)}, {});
  EXPECT_EQ(over.status().ErrorName(), "SharedSnapshotQuotaExceeded");
  EXPECT_EQ(sharing_->RestoreValues("s1").size(), 19u);
  // Removing one in the same change makes room; "all" does not count.
  ASSERT_OK(Modify({Id(2001), Id(2002), "all"}, {nineteen[0]}).status());
  EXPECT_EQ(sharing_->RestoreValues("s1").size(), 21u);  // 20 ids and "all"
}

TEST_F(SharingTest, EveryRefusalChangesNothing) {
  ASSERT_OK(Modify({kB}, {}).status());
  struct Case {
    std::vector<std::string> add, remove;
    SnapshotFacts facts;
    const char* error;
  } cases[] = {
      {{}, {}, {}, "InvalidParameterValue"},
      {{"1234567890123"}, {}, {}, "InvalidParameterValue"},  // 13 digits
      {{"12345678901a"}, {}, {}, "InvalidParameterValue"},
      {{kC, kC}, {}, {}, "InvalidParameterValue"},  // a duplicate
      {{kC}, {kC}, {}, "InvalidParameterCombination"},
      {{kOwner}, {}, {}, "InvalidParameterValue"},
      {{"999999999999"}, {}, {}, "AccountNotFound"},
      {{kC}, {}, {.manual = false}, "InvalidSnapshotState"},
      {{"all"}, {}, {.encrypted = true}, "InvalidParameterCombination"},
      {{kC}, {}, {.encrypted = true, .default_key = true}, "InvalidParameterCombination"},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(Modify(c.add, c.remove, c.facts).status().ErrorName(), c.error)
        << ::testing::PrintToString(c.add) << " / " << ::testing::PrintToString(c.remove);
    EXPECT_EQ(sharing_->RestoreValues("s1"), (std::vector<std::string>{kB}));
  }
  // An encrypted snapshot under a customer key can be shared by id.
  ASSERT_OK(Modify({kC}, {}, {.encrypted = true}).status());
  // Removing is allowed even under the default key (it only takes access away).
  ASSERT_OK(Modify({}, {kC}, {.encrypted = true, .default_key = true}).status());
}

TEST_F(SharingTest, AShareIsInvisibleUntilAcceptedAndGoneWhenRejected) {
  auto share = NewShare("db-share", {kB, kC});
  ASSERT_TRUE(share.ok()) << share.status().ToString();
  EXPECT_FALSE(sharing_->MayClone(kB, "vol"));
  auto pending = sharing_->InvitationsOf(kB, InvitationStatus::kPending);
  ASSERT_EQ(pending.size(), 1u);
  EXPECT_EQ(pending[0].sender, kOwner);
  EXPECT_EQ(pending[0].share_name, "db-share");
  // Another account cannot answer B's invitation, and learns nothing of it.
  EXPECT_EQ(sharing_->Accept(kC, pending[0].id).status().ErrorName(), "InvitationNotFound");
  EXPECT_EQ(sharing_->Accept(kC, "inv-0000").status().ErrorName(), "InvitationNotFound");
  ASSERT_OK(sharing_->Accept(kB, pending[0].id).status());
  EXPECT_EQ(sharing_->Accept(kB, pending[0].id).status().ErrorName(), "InvitationAlreadyAccepted");
  EXPECT_TRUE(sharing_->MayClone(kB, "vol"));
  EXPECT_EQ(sharing_->SharedVolumes(kB), (std::vector<std::string>{"vol"}));
  const std::string c_inv = sharing_->InvitationsOf(kC, std::nullopt).at(0).id;
  ASSERT_OK(sharing_->Reject(kC, c_inv).status());
  EXPECT_EQ(sharing_->Accept(kC, c_inv).status().ErrorName(), "InvitationAlreadyRejected");
  EXPECT_FALSE(sharing_->MayClone(kC, "vol"));
  Reopen();
  std::set<std::pair<std::string, std::string>> seen;
  for (const PrincipalOfResource& p : sharing_->PrincipalsOf("vol")) {
    seen.emplace(p.principal.account, AssociationName(p.principal.status));
  }
  EXPECT_EQ(seen, (std::set<std::pair<std::string, std::string>>{{kB, "associated"},
                                                                 {kC, "disassociated"}}));
  ASSERT_OK(sharing_->DeleteShare(kOwner, "db-share"));
  EXPECT_FALSE(sharing_->MayClone(kB, "vol"));
  EXPECT_TRUE(sharing_->SharesOf(kOwner).empty());
  EXPECT_EQ(sharing_->DeleteShare(kOwner, "db-share").ErrorName(), "ShareNotFound");
}

TEST_F(SharingTest, InvitationsExpireAfterSevenDays) {
  ASSERT_OK(NewShare("s", {kB, kC}).status());
  const std::string b = sharing_->InvitationsOf(kB, std::nullopt).at(0).id;
  const std::string c = sharing_->InvitationsOf(kC, std::nullopt).at(0).id;
  clock_.Advance(7 * kDayUs - 1);
  ASSERT_OK(sharing_->Accept(kB, b).status());
  clock_.Advance(1);
  EXPECT_EQ(sharing_->InvitationsOf(kC, InvitationStatus::kExpired).size(), 1u);
  EXPECT_TRUE(sharing_->InvitationsOf(kC, InvitationStatus::kPending).empty());
  EXPECT_EQ(sharing_->Accept(kC, c).status().ErrorName(), "InvitationExpired");
  EXPECT_FALSE(sharing_->MayClone(kC, "vol"));
  EXPECT_TRUE(sharing_->MayClone(kB, "vol"));  // an accepted one does not expire
}

TEST_F(SharingTest, ShareRefusals) {
  ASSERT_OK(NewShare("taken", {kB}).status());
  struct Case {
    std::string name;
    std::vector<std::string> principals;
    VolumeFacts facts;
    const char* error;
  } cases[] = {
      {"taken", {kC}, {}, "ShareAlreadyExists"},
      {"9bad", {kC}, {}, "InvalidParameterValue"},
      {"ok", {}, {}, "InvalidParameterValue"},
      {"ok", {kC, kC}, {}, "InvalidParameterValue"},
      {"ok", {kOwner}, {}, "InvalidParameterValue"},
      {"ok", {"all"}, {}, "InvalidParameterValue"},
      {"ok", {"999999999999"}, {}, "AccountNotFound"},
      {"ok", {kC}, {.available = false}, "InvalidVolumeState"},
      {"ok", {kC}, {.cross_account_clone = true}, "InvalidVolumeState"},
      {"ok", {kC}, {.encrypted = true, .default_key = true}, "InvalidParameterCombination"},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(NewShare(c.name, c.principals, c.facts).status().ErrorName(), c.error) << c.name;
  }
  EXPECT_EQ(sharing_->SharesOf(kOwner).size(), 1u);
  EXPECT_TRUE(sharing_->InvitationsOf(kC, std::nullopt).empty());
}

TEST_F(SharingTest, CrossAccountClonesAreCountedPerSourceAndForgotten) {
  for (int i = 0; i < 15; ++i) {
    ASSERT_OK(sharing_->CheckCrossAccountClone("vol", All()));
    std::string clone = "c";
    clone += std::to_string(i);
    ASSERT_OK(sharing_->RecordCrossAccountClone(clone, "vol"));
  }
  EXPECT_EQ(sharing_->CheckCrossAccountClone("vol", All()).ErrorName(), "CloneQuotaExceeded");
  EXPECT_OK(sharing_->CheckCrossAccountClone("other", All()));
  EXPECT_TRUE(sharing_->IsCrossAccountClone("c3"));
  EXPECT_FALSE(sharing_->IsCrossAccountClone("vol"));
  // A clone deleted by any path no longer counts.
  EXPECT_OK(sharing_->CheckCrossAccountClone(
      "vol", [](const std::string& clone) { return clone != "c5"; }));
  Reopen();
  EXPECT_TRUE(sharing_->IsCrossAccountClone("c0"));
  EXPECT_EQ(sharing_->CheckCrossAccountClone("vol", All()).ErrorName(), "CloneQuotaExceeded");
}

TEST_F(SharingTest, ASharedVolumeCannotBeRenamedUntilItsShareGoes) {
  Result<store::VolumeInfo> v = store_->CreateVolume("db", OneMib());
  ASSERT_OK(v.status());
  const std::string key = SharingKey("db", v->id);
  ASSERT_OK(sharing_->CreateShare(kOwner, "db-share", key, {kB}, VolumeFacts{}, Exists()).status());
  Result<store::VolumeInfo> refused = sharing_->RenameVolume(key, "db2");
  EXPECT_EQ(refused.status().ErrorName(), "InvalidVolumeState");
  EXPECT_NE(refused.status().message().find("db-share"), std::string::npos)
      << refused.status().message();
  EXPECT_OK(store_->GetVolume("db").status());  // unchanged
  ASSERT_OK(sharing_->DeleteShare(kOwner, "db-share"));
  Result<store::VolumeInfo> renamed = sharing_->RenameVolume(key, "db2");
  ASSERT_OK(renamed.status());
  EXPECT_EQ(renamed->name, "db2");
}

TEST_F(SharingTest, ARenameMovesCrossAccountCloneRecordsToTheNewName) {
  Result<store::VolumeInfo> source = store_->CreateVolume("src", OneMib());
  ASSERT_OK(source.status());
  Result<store::VolumeInfo> clone = store_->CloneVolume("src", "cl");
  ASSERT_OK(clone.status());
  const std::string source_key = SharingKey("src", source->id);
  const std::string clone_key = SharingKey("cl", clone->id);
  ASSERT_OK(sharing_->RecordCrossAccountClone(clone_key, source_key));
  ASSERT_OK(sharing_->RenameVolume(clone_key, "cl2").status());
  ASSERT_OK(sharing_->RenameVolume(source_key, "src2").status());
  Reopen();
  const std::string new_clone = SharingKey("cl2", clone->id);
  const std::string new_source = SharingKey("src2", source->id);
  EXPECT_TRUE(sharing_->IsCrossAccountClone(new_clone));
  EXPECT_FALSE(sharing_->IsCrossAccountClone(clone_key));
  // The renamed source still counts its clone: 14 more reach the limit.
  for (int i = 0; i < 14; ++i) {
    std::string other = "c";
    other += std::to_string(i);
    ASSERT_OK(sharing_->RecordCrossAccountClone(other, new_source));
  }
  EXPECT_EQ(sharing_->CheckCrossAccountClone(new_source, All()).ErrorName(), "CloneQuotaExceeded");
  // A refused rename (the name is taken) leaves the records as they were.
  ASSERT_OK(store_->CreateVolume("taken", OneMib()).status());
  EXPECT_FALSE(sharing_->RenameVolume(new_clone, "taken").ok());
  EXPECT_TRUE(sharing_->IsCrossAccountClone(new_clone));
  EXPECT_FALSE(sharing_->IsCrossAccountClone(SharingKey("taken", clone->id)));
}

}  // namespace
}  // namespace clonefs::access
