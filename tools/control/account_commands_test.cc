// Accounts, caller identity and per-account names through the Dispatcher: account.*, root's
// --account, and every volume and snapshot command seeing only the caller's own resources.
#include <gtest/gtest.h>

#include "tools/control/commands.h"
#include "tools/control/snapshot_quota.h"
#include "tools/control/test_util.h"

namespace clonefs::control {
namespace {

using nlohmann::json;

constexpr uint32_t kNobody = 65534;  // account A
constexpr uint32_t kDaemon = 1;      // account B
constexpr uint32_t kStranger = 4242;
constexpr char kA[] = "012345678901";
constexpr char kB[] = "222222222222";

class AccountsTest : public testing::DispatcherTest {
 protected:
  void SetUp() override {
    DispatcherTest::SetUp();
    owner_ = store_->info().account_id;
  }
  json As(uint32_t uid, const std::string& command, json args = json::object(),
          std::optional<std::string> account = std::nullopt) {
    Dispatcher d(store_.get());
    json request = MakeRequest(command, std::move(args));
    if (account.has_value()) request["account"] = *account;
    return d.Handle(request, Caller{uid, 7});
  }
  json OkAs(uint32_t uid, const std::string& command, json args = json::object()) {
    json r = As(uid, command, std::move(args));
    EXPECT_EQ(r["ok"], true) << command << ": " << r.dump();
    return r.value("result", json());
  }
  std::string CodeAs(uint32_t uid, const std::string& command, json args = json::object()) {
    json r = As(uid, command, std::move(args));
    EXPECT_EQ(r["ok"], false) << command << ": " << r.dump();
    return r["error"].value("Code", "");
  }
  void MakeAccounts() {
    Ok("account.create", {{"id", kA}, {"users", {"nobody"}}});
    Ok("account.create", {{"id", kB}, {"users", {"daemon"}}});
  }
  std::string Arn(const std::string& account, const std::string& type, const std::string& name) {
    return "arn:clonefs:us-east-1:" + account + ":" + type + ":" + name;
  }

  std::string owner_;
};

TEST_F(AccountsTest, TheOwnerCreatesListsAndShowsAccounts) {
  json a = Ok("account.create", {{"id", kA}, {"users", {"nobody"}}});
  EXPECT_EQ(a["AccountId"], kA);  // a string, leading zero kept
  EXPECT_EQ(a["Users"], json::parse(R"([{"UserName":"nobody","Uid":65534}])"));
  EXPECT_TRUE(a["CreationTime"].is_string());
  json list = Ok("account.list");
  ASSERT_EQ(list["Accounts"].size(), 2u);
  EXPECT_EQ(Ok("account.show", {{"id", kA}}), a);
  EXPECT_EQ(Ok("account.show", {{"id", owner_}})["Users"][0]["Uid"], 0);
}

TEST_F(AccountsTest, BadAccountCreatesAreClearAndChangeNothing) {
  Ok("account.create", {{"id", kA}, {"users", {"nobody"}}});
  EXPECT_EQ(Err("account.create", {{"id", kA}, {"users", {"daemon"}}}), "AccountAlreadyExists");
  EXPECT_EQ(Err("account.create", {{"id", owner_}, {"users", {"daemon"}}}), "AccountAlreadyExists");
  for (const char* id :
       {"01234567890", "0123456789012", "01234567890a", "+12345678901", "1234 5678901"}) {
    EXPECT_EQ(Err("account.create", {{"id", id}, {"users", {"daemon"}}}), "InvalidParameterValue")
        << id;
  }
  EXPECT_EQ(Err("account.create", {{"id", kB}, {"users", {"no-such-user-here"}}}),
            "InvalidParameterValue");
  EXPECT_EQ(Err("account.create", {{"id", kB}, {"users", {"nobody"}}}), "InvalidParameterValue");
  EXPECT_EQ(Err("account.create", {{"id", kB}, {"users", json::array()}}), "InvalidParameterValue");
  EXPECT_EQ(Ok("account.list")["Accounts"].size(), 2u);
}

TEST_F(AccountsTest, OthersSeeOnlyThemselvesAndMayNotCreate) {
  MakeAccounts();
  EXPECT_EQ(CodeAs(kNobody, "account.create", {{"id", "333333333333"}, {"users", {"bin"}}}),
            "AccessDenied");
  json mine = OkAs(kNobody, "account.list");
  ASSERT_EQ(mine["Accounts"].size(), 1u);
  EXPECT_EQ(mine["Accounts"][0]["AccountId"], kA);
  // Another's account answers exactly as an unknown one (but for the id echoed).
  json other = As(kNobody, "account.show", {{"id", kB}});
  json unknown = As(kNobody, "account.show", {{"id", "999999999999"}});
  EXPECT_EQ(other["error"]["Code"], "AccountNotFound");
  EXPECT_EQ(other["error"]["Message"], "account '" + std::string(kB) + "' does not exist");
  EXPECT_EQ(unknown["error"]["Message"], "account '999999999999' does not exist");
}

TEST_F(AccountsTest, AUidWithoutAnAccountCanDoNothing) {
  for (const char* command : {"volume.list", "store.info", "account.list", "no.such.command"}) {
    json r = As(kStranger, command);
    EXPECT_EQ(r["error"]["Code"], "AccessDenied") << command;
    const std::string message = r["error"].value("Message", "");
    EXPECT_NE(message.find("(uid 4242) has no clonefs account"), std::string::npos) << message;
    EXPECT_NE(message.find("clonectl account create ACCOUNT_ID --user "), std::string::npos);
  }
}

TEST_F(AccountsTest, OnlyRootMayActAsAnotherAccount) {
  MakeAccounts();
  json as_a = As(0, "volume.create", {{"name", "db1"}, {"size", "1M"}}, kA);
  ASSERT_EQ(as_a["ok"], true) << as_a.dump();
  EXPECT_EQ(as_a["result"]["VolumeArn"], Arn(kA, "volume", "db1"));
  EXPECT_EQ(OkAs(kNobody, "volume.list")["Volumes"].size(), 1u);  // it is A's
  EXPECT_EQ(
      As(0, "account.create", {{"id", "333333333333"}, {"users", {"bin"}}}, kA)["error"]["Code"],
      "AccessDenied");  // root acting as A has A's rights
  EXPECT_EQ(As(kNobody, "volume.list", {}, kA)["error"]["Code"], "AccessDenied");  // even its own
  EXPECT_EQ(As(kNobody, "volume.list", {}, kB)["error"]["Code"], "AccessDenied");
  EXPECT_EQ(As(kNobody, "volume.list", {}, "bad")["error"]["Code"], "AccessDenied");
  EXPECT_EQ(As(0, "volume.list", {}, "999999999999")["error"]["Code"], "AccountNotFound");
  EXPECT_EQ(As(0, "volume.list", {}, "0123456789012")["error"]["Code"], "InvalidParameterValue");
  EXPECT_EQ(As(0, "volume.list", {}, owner_)["ok"], true);
}

TEST_F(AccountsTest, NamesArePerAccount) {
  MakeAccounts();
  for (uint32_t uid : {0u, kNobody, kDaemon}) {
    json v = OkAs(uid, "volume.create", {{"name", "db1"}, {"size", "1M"}});
    EXPECT_EQ(v["VolumeIdentifier"], "db1");
  }
  EXPECT_EQ(OkAs(kNobody, "volume.show", {{"name", "db1"}})["VolumeArn"], Arn(kA, "volume", "db1"));
  EXPECT_EQ(OkAs(0, "volume.show", {{"name", "db1"}})["VolumeArn"], Arn(owner_, "volume", "db1"));
  for (uint32_t uid : {0u, kNobody, kDaemon}) {
    json list = OkAs(uid, "volume.list");
    ASSERT_EQ(list["Volumes"].size(), 1u) << uid;
    EXPECT_EQ(list["Volumes"][0]["VolumeIdentifier"], "db1");
    EXPECT_EQ(OkAs(uid, "volume.usage")["VolumeUsages"].size(), 1u);
  }
  // A's own ARN works; snapshots, clones and restores it makes are its own.
  OkAs(kNobody, "snapshot.create", {{"volume", Arn(kA, "volume", "db1")}, {"name", "s1"}});
  json clone = OkAs(kNobody, "volume.clone", {{"source", "db1"}, {"name", "c1"}});
  EXPECT_EQ(clone["VolumeArn"], Arn(kA, "volume", "c1"));
  EXPECT_EQ(clone["SourceVolumeIdentifier"], "db1");
  json restored = OkAs(kNobody, "volume.restore", {{"snapshot", "s1"}, {"name", "r1"}});
  EXPECT_EQ(restored["SourceSnapshotIdentifier"], "s1");
  json snaps = OkAs(kNobody, "snapshot.list", {{"volume", "db1"}});
  ASSERT_EQ(snaps["Snapshots"].size(), 1u);
  EXPECT_EQ(snaps["Snapshots"][0]["SnapshotArn"], Arn(kA, "snapshot", "s1"));
  EXPECT_EQ(snaps["Snapshots"][0]["VolumeIdentifier"], "db1");
  EXPECT_TRUE(OkAs(kDaemon, "snapshot.list")["Snapshots"].empty());
  EXPECT_TRUE(OkAs(0, "snapshot.list")["Snapshots"].empty());
  EXPECT_EQ(OkAs(0, "volume.list")["Volumes"].size(), 1u);
  // Deleting B's db1 leaves A's alone.
  OkAs(kDaemon, "volume.delete", {{"name", "db1"}});
  EXPECT_EQ(OkAs(kNobody, "volume.show", {{"name", "db1"}})["Status"], "available");
}

// Another account's resource fails exactly as one that does not exist.
TEST_F(AccountsTest, AnotherAccountsResourceIsIndistinguishableFromNone) {
  MakeAccounts();
  OkAs(kDaemon, "volume.create", {{"name", "db1"}, {"size", "1M"}});
  OkAs(kDaemon, "snapshot.create", {{"volume", "db1"}, {"name", "s1"}});
  OkAs(kNobody, "volume.create", {{"name", "mine"}, {"size", "1M"}});
  struct Case {
    std::string command;
    std::string key;
    std::string type;
    json extra;
  };
  const std::vector<Case> cases = {
      {"volume.show", "name", "volume", json::object()},
      {"volume.delete", "name", "volume", json::object()},
      {"volume.resize", "name", "volume", {{"size", "2M"}}},
      {"volume.usage", "name", "volume", json::object()},
      {"volume.clone", "source", "volume", {{"name", "new1"}}},
      {"snapshot.create", "volume", "volume", {{"name", "new1"}}},
      {"snapshot.show", "name", "snapshot", json::object()},
      {"snapshot.delete", "name", "snapshot", json::object()},
      {"volume.restore", "snapshot", "snapshot", {{"name", "new1"}}},
      {"snapshot.copy", "source", "snapshot", {{"target", "new1"}}},
  };
  for (const Case& c : cases) {
    const std::string real = c.type == "volume" ? "db1" : "s1";
    for (const std::string& other : {Arn(kB, c.type, real), Arn(owner_, c.type, real)}) {
      json args_other = c.extra;
      args_other[c.key] = other;
      json args_none = c.extra;
      // The same text as typed, naming nothing: the response must be the same.
      const std::string none = Arn("999999999999", c.type, real);
      args_none[c.key] = none;
      json seen = As(kNobody, c.command, args_other);
      json absent = As(kNobody, c.command, args_none);
      ASSERT_EQ(seen["ok"], false) << c.command << " " << seen.dump();
      EXPECT_EQ(seen["error"]["Code"], absent["error"]["Code"]) << c.command;
      std::string expected = absent["error"].value("Message", "");
      expected.replace(expected.find(none), none.size(), other);
      EXPECT_EQ(seen["error"]["Message"], expected) << c.command;
      EXPECT_EQ(seen["error"]["Code"], c.type == "volume" ? "VolumeNotFound" : "SnapshotNotFound");
    }
  }
  // A typed name reaches only the caller's own: the owner typing B's store name finds nothing.
  EXPECT_EQ(CodeAs(0, "volume.show", {{"name", std::string(kB) + ".db1"}}), "VolumeNotFound");
  EXPECT_EQ(CodeAs(kNobody, "volume.show", {{"name", "db1"}}), "VolumeNotFound");
  // Nothing was touched.
  EXPECT_EQ(OkAs(kDaemon, "volume.show", {{"name", "db1"}})["SizeBytes"], 1 << 20);
  EXPECT_EQ(OkAs(kDaemon, "snapshot.list")["Snapshots"].size(), 1u);
  EXPECT_EQ(OkAs(kNobody, "volume.list")["Volumes"].size(), 1u);
}

TEST_F(AccountsTest, MalformedAndForeignRegionArnsAreClearErrors) {
  MakeAccounts();
  for (const char* arn :
       {"arn:clonefs:us-east-1:0123456789012:volume:db1", "arn:clonefs:us-east-1:012345678901",
        "arn:clonefs:us-east-1:012345678901:snapshot:db1",
        "arn:aws:us-east-1:012345678901:volume:x",
        "arn:clonefs:eu-west-1:012345678901:volume:db1"}) {
    json r = As(kNobody, "volume.show", {{"name", arn}});
    EXPECT_EQ(r["error"]["Code"], "InvalidParameterValue") << arn << " " << r.dump();
  }
}

TEST_F(AccountsTest, EachAccountHasItsOwnKeysAndDefaultKey) {
  UseKeyFile();
  MakeAccounts();
  json mine = OkAs(kNobody, "key.create", {{"alias", "k"}});
  const std::string key_id = mine["KeyId"];
  EXPECT_EQ(mine["Arn"], Arn(kA, "key", key_id));
  OkAs(0, "key.create", {{"alias", "k"}});  // aliases are per account
  EXPECT_EQ(OkAs(kNobody, "key.list")["Keys"].size(), 1u);
  EXPECT_EQ(OkAs(0, "key.list")["Keys"].size(), 1u);
  // Another account's key is not there at all, by id, ARN or alias.
  json by_other = As(kDaemon, "key.show", {{"key", key_id}});
  json missing = As(kDaemon, "key.show", {{"key", "key-00000000000000aa"}});
  EXPECT_EQ(by_other["error"]["Code"], "NotFoundException") << by_other.dump();
  EXPECT_EQ(missing["error"]["Code"], "NotFoundException");
  EXPECT_EQ(CodeAs(kDaemon, "volume.create", {{"name", "e"}, {"size", "1M"}, {"kms_key", key_id}}),
            "NotFoundException");
  EXPECT_TRUE(OkAs(kDaemon, "volume.list")["Volumes"].empty());  // nothing was made

  json under_k = OkAs(kNobody, "volume.create", {{"name", "e1"}, {"size", "1M"}, {"kms_key", "k"}});
  EXPECT_EQ(under_k["KmsKeyId"], Arn(kA, "key", key_id));
  json under_default =
      OkAs(kNobody, "volume.create", {{"name", "e2"}, {"size", "1M"}, {"encrypted", true}});
  const std::string default_arn = under_default["KmsKeyId"];
  EXPECT_EQ(default_arn.rfind(Arn(kA, "key", ""), 0), 0u) << default_arn;
  EXPECT_EQ(OkAs(kNobody, "key.list")["Keys"].size(), 2u);  // k and A's default key

  // The volume's pages are sealed and opened as account A, before and after a reopen.
  const std::string page(4096, 'a');
  {
    auto h = store_->OpenVolume(std::string(kA) + ".e1");
    ASSERT_TRUE(h.ok()) << h.status().ToString();
    ASSERT_TRUE((*h)->Write(0, page).ok());
  }
  Reopen();
  auto h = store_->OpenVolume(std::string(kA) + ".e1");
  ASSERT_TRUE(h.ok()) << h.status().ToString();
  std::string back(4096, '\0');
  ASSERT_TRUE((*h)->Read(0, back.size(), back.data()).ok());
  EXPECT_EQ(back, page);
  // A's key disabled: its volume blocks like any other.
  OkAs(kNobody, "key.disable", {{"key", "k"}});
  EXPECT_FALSE((*h)->Read(0, back.size(), back.data()).ok());
  OkAs(kNobody, "key.enable", {{"key", "k"}});
  EXPECT_TRUE((*h)->Read(0, back.size(), back.data()).ok());
}

TEST_F(AccountsTest, ASharedEncryptedSnapshotNeedsTheKeysPolicy) {
  UseKeyFile();
  MakeAccounts();
  const std::string key_id = OkAs(kNobody, "key.create", {{"alias", "k"}})["KeyId"];
  OkAs(kNobody, "volume.create", {{"name", "db"}, {"size", "1M"}, {"kms_key", "k"}});
  const std::string page(4096, 'p');
  {
    auto h = store_->OpenVolume(std::string(kA) + ".db");
    ASSERT_TRUE(h.ok());
    ASSERT_TRUE((*h)->Write(0, page).ok());
  }
  OkAs(kNobody, "snapshot.create", {{"volume", "db"}, {"name", "s1"}});
  OkAs(kNobody, "snapshot.attribute.modify",
       {{"name", "s1"}, {"attribute", "restore"}, {"add", {kB}}});
  const std::string snap = Arn(kA, "snapshot", "s1");
  const std::string key_arn = Arn(kA, "key", key_id);

  json r = As(kDaemon, "volume.restore", {{"snapshot", snap}, {"name", "mine"}});
  EXPECT_EQ(r["error"]["Code"], "KMSKeyNotAccessible") << r.dump();
  const std::string why = r["error"]["Message"];
  EXPECT_NE(why.find(key_arn), std::string::npos) << why;
  EXPECT_NE(why.find("Decrypt"), std::string::npos) << why;
  EXPECT_NE(why.find(kB), std::string::npos) << why;
  EXPECT_EQ(CodeAs(kDaemon, "snapshot.copy", {{"source", snap}, {"target", "c"}}),
            "KMSKeyNotAccessible");
  EXPECT_TRUE(OkAs(kDaemon, "volume.list")["Volumes"].empty());

  // Decrypt only: the copy must go under a key of B's own.
  const std::string decrypt = std::string(R"({"accounts": {")") + kB + R"(": ["Decrypt"]}})";
  OkAs(kNobody, "key.policy_put", {{"key", "k"}, {"policy", decrypt}});
  json keep = As(kDaemon, "volume.restore", {{"snapshot", snap}, {"name", "mine"}});
  EXPECT_EQ(keep["error"]["Code"], "KMSKeyNotAccessible") << keep.dump();
  EXPECT_NE(keep["error"]["Message"].get<std::string>().find("ReEncrypt"), std::string::npos);
  const std::string b_key = OkAs(kDaemon, "key.create", {{"alias", "b"}})["KeyId"];
  json restored =
      OkAs(kDaemon, "volume.restore", {{"snapshot", snap}, {"name", "mine"}, {"kms_key", "b"}});
  EXPECT_EQ(restored["KmsKeyId"], Arn(kB, "key", b_key));
  EXPECT_EQ(restored["StorageEncrypted"], true);
  {
    auto h = store_->OpenVolume(std::string(kB) + ".mine");
    ASSERT_TRUE(h.ok()) << h.status().ToString();
    std::string back(4096, '\0');
    ASSERT_TRUE((*h)->Read(0, back.size(), back.data()).ok());
    EXPECT_EQ(back, page);
  }
  // The owner takes Decrypt away: B's copy under its own key still reads (its data keys are
  // wrapped under B's key now); a new restore is refused again.
  OkAs(kNobody, "key.policy_put", {{"key", "k"}, {"policy", R"({"accounts": {}})"}});
  EXPECT_EQ(
      CodeAs(kDaemon, "volume.restore", {{"snapshot", snap}, {"name", "again"}, {"kms_key", "b"}}),
      "KMSKeyNotAccessible");
  Reopen();
  auto h = store_->OpenVolume(std::string(kB) + ".mine");
  ASSERT_TRUE(h.ok()) << h.status().ToString();
}

TEST_F(AccountsTest, AVolumeUnderAnotherAccountsKeyOpensOnlyWhileItsPolicyAllows) {
  UseKeyFile();
  MakeAccounts();
  OkAs(kNobody, "key.create", {{"alias", "k"}});
  OkAs(kNobody, "volume.create", {{"name", "db"}, {"size", "1M"}, {"kms_key", "k"}});
  OkAs(kNobody, "snapshot.create", {{"volume", "db"}, {"name", "s1"}});
  OkAs(kNobody, "snapshot.attribute.modify",
       {{"name", "s1"}, {"attribute", "restore"}, {"add", {kB}}});
  const std::string both =
      std::string(R"({"accounts": {")") + kB + R"(": ["Decrypt", "ReEncrypt"]}})";
  OkAs(kNobody, "key.policy_put", {{"key", "k"}, {"policy", both}});
  // B's restore keeps A's key: its data keys stay under it, used as account B.
  json kept =
      OkAs(kDaemon, "volume.restore", {{"snapshot", Arn(kA, "snapshot", "s1")}, {"name", "m"}});
  EXPECT_EQ(kept["KmsKeyId"].get<std::string>().rfind(Arn(kA, "key", ""), 0), 0u) << kept.dump();
  const std::string mine = std::string(kB) + ".m";
  {
    auto h = store_->OpenVolume(mine);
    ASSERT_TRUE(h.ok()) << h.status().ToString();
    ASSERT_TRUE((*h)->Write(0, std::string(4096, 'm')).ok());  // a new data key, wrapped as B
  }
  OkAs(kNobody, "key.policy_put", {{"key", "k"}, {"policy", R"({"accounts": {}})"}});
  auto refused = store_->OpenVolume(mine);
  EXPECT_EQ(refused.status().ErrorName(), "KMSKeyNotAccessible") << refused.status().ToString();
  OkAs(kNobody, "key.policy_put", {{"key", "k"}, {"policy", both}});
  Reopen();
  auto again = store_->OpenVolume(mine);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  std::string back(4096, '\0');
  ASSERT_TRUE((*again)->Read(0, back.size(), back.data()).ok());
  EXPECT_EQ(back, std::string(4096, 'm'));
}

TEST_F(AccountsTest, DefaultKeysAreNeverShared) {
  UseKeyFile();
  MakeAccounts();
  OkAs(kNobody, "volume.create", {{"name", "d"}, {"size", "1M"}, {"encrypted", true}});
  OkAs(kNobody, "snapshot.create", {{"volume", "d"}, {"name", "s"}});
  json r = As(kNobody, "snapshot.attribute.modify",
              {{"name", "s"}, {"attribute", "restore"}, {"add", {kB}}});
  EXPECT_EQ(r["ok"], false) << r.dump();
  EXPECT_NE(r["error"]["Message"].get<std::string>().find("default"), std::string::npos)
      << r.dump();
  json share = As(kNobody, "share.create",
                  {{"name", "sh"}, {"resource", Arn(kA, "volume", "d")}, {"principals", {kB}}});
  EXPECT_EQ(share["ok"], false) << share.dump();
}

TEST_F(AccountsTest, ACrossAccountCloneOfAnEncryptedVolumeNeedsTheSourceKey) {
  UseKeyFile();
  MakeAccounts();
  OkAs(kNobody, "key.create", {{"alias", "k"}});
  OkAs(kNobody, "volume.create", {{"name", "prod"}, {"size", "1M"}, {"kms_key", "k"}});
  OkAs(kNobody, "share.create",
       {{"name", "sh"}, {"resource", Arn(kA, "volume", "prod")}, {"principals", {kB}}});
  json invitations = OkAs(kDaemon, "invitation.list");
  ASSERT_EQ(invitations["ResourceShareInvitations"].size(), 1u) << invitations.dump();
  OkAs(kDaemon, "invitation.accept",
       {{"name", invitations["ResourceShareInvitations"][0]["ResourceShareInvitationArn"]}});
  const std::string source = Arn(kA, "volume", "prod");
  OkAs(kDaemon, "key.create", {{"alias", "b"}});
  EXPECT_EQ(CodeAs(kDaemon, "volume.clone", {{"source", source}, {"name", "c"}, {"kms_key", "b"}}),
            "KMSKeyNotAccessible");
  const std::string decrypt = std::string(R"({"accounts": {")") + kB + R"(": ["Decrypt"]}})";
  OkAs(kNobody, "key.policy_put", {{"key", "k"}, {"policy", decrypt}});
  json clone = OkAs(kDaemon, "volume.clone", {{"source", source}, {"name", "c"}, {"kms_key", "b"}});
  EXPECT_EQ(clone["StorageEncrypted"], true);
  EXPECT_EQ(clone["CrossAccountClone"], true);
  EXPECT_EQ(clone["KmsKeyId"].get<std::string>().rfind(Arn(kB, "key", ""), 0), 0u);
  auto h = store_->OpenVolume(std::string(kB) + ".c");
  EXPECT_TRUE(h.ok()) << h.status().ToString();
}

TEST_F(AccountsTest, StoreWideCommandsAreTheOwnersAndTheTemporaryPrefixIsReserved) {
  MakeAccounts();
  EXPECT_EQ(CodeAs(kNobody, "store.usage"), "AccessDenied");
  EXPECT_EQ(CodeAs(kNobody, "store.gc"), "AccessDenied");
  OkAs(kNobody, "store.info");
  OkAs(kNobody, "store.sync");
  OkAs(0, "store.usage");
  OkAs(kNobody, "volume.create", {{"name", "v"}, {"size", "1M"}});
  EXPECT_EQ(CodeAs(kNobody, "snapshot.create", {{"volume", "v"}, {"name", "clonefs-full-copy-x"}}),
            "InvalidParameterValue");
  EXPECT_TRUE(OkAs(kNobody, "snapshot.list")["Snapshots"].empty());
}

TEST_F(AccountsTest, AnAccountsCopiesAreItsOwn) {
  MakeAccounts();
  OkAs(kNobody, "volume.create", {{"name", "v"}, {"size", "1M"}});
  OkAs(kNobody, "snapshot.create", {{"volume", "v"}, {"name", "s1"}});
  json copy =
      OkAs(kNobody, "snapshot.copy", {{"source", Arn(kA, "snapshot", "s1")}, {"target", "c1"}});
  EXPECT_EQ(copy["SnapshotArn"], Arn(kA, "snapshot", "c1"));
  EXPECT_EQ(copy["SourceSnapshotArn"], Arn(kA, "snapshot", "s1"));
  EXPECT_EQ(OkAs(kNobody, "snapshot.list")["Snapshots"].size(), 2u);
  EXPECT_TRUE(OkAs(0, "snapshot.list")["Snapshots"].empty());
  EXPECT_EQ(CodeAs(kNobody, "snapshot.copy", {{"source", "s1"}, {"target", "c1"}}),
            "SnapshotAlreadyExists");
  json dup = As(kNobody, "snapshot.copy", {{"source", "s1"}, {"target", "c1"}});
  EXPECT_EQ(dup["error"]["Message"], "snapshot 'c1' already exists");  // never ACCOUNT.c1
  // Another region's store has accounts of its own: only the owner's account copies from it.
  EXPECT_EQ(CodeAs(kNobody, "snapshot.copy",
                   {{"source", "arn:clonefs:eu-west-1:" + std::string(kA) + ":snapshot:s1"},
                    {"target", "c2"}}),
            "InvalidParameterCombination");
}

TEST_F(AccountsTest, AtMostOneHundredManualSnapshotsPerAccount) {
  MakeAccounts();
  OkAs(kNobody, "volume.create", {{"name", "v"}, {"size", "1M"}});
  OkAs(kDaemon, "volume.create", {{"name", "v"}, {"size", "1M"}});
  for (int i = 0; i < 100; ++i) {
    std::string name = "s";
    name += std::to_string(i);
    OkAs(kNobody, "snapshot.create", {{"volume", "v"}, {"name", name}});
  }
  json over = As(kNobody, "snapshot.create", {{"volume", "v"}, {"name", "s100"}});
  EXPECT_EQ(over["error"]["Code"], "SnapshotQuotaExceeded") << over.dump();
  EXPECT_EQ(CodeAs(kNobody, "snapshot.copy", {{"source", "s1"}, {"target", "c1"}}),
            "SnapshotQuotaExceeded");
  // The quota is per account, and a full copy's temporary snapshot does not count.
  OkAs(kDaemon, "snapshot.create", {{"volume", "v"}, {"name", "s100"}});
  OkAs(kNobody, "volume.clone", {{"source", "v"}, {"name", "full"}, {"full_copy", true}});
  OkAs(kNobody, "snapshot.delete", {{"name", "s0"}});
  OkAs(kNobody, "snapshot.create", {{"volume", "v"}, {"name", "s100"}});
}

// An import takes minutes; the place it holds in the quota from its start keeps concurrent
// imports and creations from all taking the last one.
TEST_F(AccountsTest, AnImportInProgressHoldsAPlaceInTheSnapshotQuota) {
  MakeAccounts();
  OkAs(kNobody, "volume.create", {{"name", "v"}, {"size", "1M"}});
  for (int i = 0; i < 99; ++i) {
    std::string name = "s";
    name += std::to_string(i);
    OkAs(kNobody, "snapshot.create", {{"volume", "v"}, {"name", name}});
  }
  const json no_args = json::object();
  Args args(no_args);
  Caller caller(kNobody, 7);
  caller.account = kA;
  CommandContext ctx{store_.get(), args, caller, "", nullptr, nullptr};
  {
    Result<SnapshotQuotaPlace> place = SnapshotQuotaPlace::Take(ctx);
    ASSERT_OK(place.status());
    EXPECT_EQ(SnapshotQuotaPlace::Take(ctx).status().ErrorName(), "SnapshotQuotaExceeded");
    EXPECT_EQ(CodeAs(kNobody, "snapshot.create", {{"volume", "v"}, {"name", "s99"}}),
              "SnapshotQuotaExceeded");
    OkAs(kDaemon, "volume.create", {{"name", "w"}, {"size", "1M"}});  // another account's own
    OkAs(kDaemon, "snapshot.create", {{"volume", "w"}, {"name", "s99"}});
  }
  OkAs(kNobody, "snapshot.create", {{"volume", "v"}, {"name", "s99"}});
}

}  // namespace
}  // namespace clonefs::control
