// tag.* commands and --tag / --copy-tags through the Dispatcher: each resource type, Aurora's
// rules, and what other accounts see.
#include <gtest/gtest.h>

#include "tools/control/commands.h"
#include "tools/control/test_util.h"

namespace clonefs::control {
namespace {

using nlohmann::json;

constexpr uint32_t kNobody = 65534;  // account A
constexpr uint32_t kDaemon = 1;      // account B
constexpr char kA[] = "012345678901";
constexpr char kB[] = "222222222222";

json Tags(std::initializer_list<std::pair<const char*, const char*>> tags) {
  json out = json::array();
  for (const auto& [k, v] : tags) out.push_back({{"Key", k}, {"Value", v}});
  return out;
}

class TagsTest : public testing::DispatcherTest {
 protected:
  void SetUp() override {
    DispatcherTest::SetUp();
    owner_ = store_->info().account_id;
    Ok("account.create", {{"id", kA}, {"users", {"nobody"}}});
    Ok("account.create", {{"id", kB}, {"users", {"daemon"}}});
    OkAs(kNobody, "volume.create", {{"name", "db"}, {"size", "1M"}});
    OkAs(kNobody, "snapshot.create", {{"volume", "db"}, {"name", "nightly"}});
  }
  json As(uint32_t uid, const std::string& command, json args) {
    Dispatcher d(store_.get());
    return d.Handle(MakeRequest(command, std::move(args)), Caller{uid, 7});
  }
  json OkAs(uint32_t uid, const std::string& command, json args) {
    json r = As(uid, command, std::move(args));
    EXPECT_EQ(r["ok"], true) << command << ": " << r.dump();
    return r.value("result", json());
  }
  std::string CodeAs(uint32_t uid, const std::string& command, json args) {
    json r = As(uid, command, std::move(args));
    EXPECT_EQ(r["ok"], false) << command << ": " << r.dump();
    return r["error"].value("Code", "");
  }
  static std::string Arn(const std::string& account, const std::string& type,
                         const std::string& name) {
    return "arn:clonefs:us-east-1:" + account + ":" + type + ":" + name;
  }
  json TagList(uint32_t uid, const std::string& arn) {
    return OkAs(uid, "tag.list", {{"resource", arn}})["TagList"];
  }

  std::string owner_;
};

TEST_F(TagsTest, AddListRemoveOnVolumesAndSnapshots) {
  for (const std::string& arn : {Arn(kA, "volume", "db"), Arn(kA, "snapshot", "nightly")}) {
    EXPECT_EQ(TagList(kNobody, arn), json::array()) << arn;
    json r = OkAs(kNobody, "tag.add", {{"resource", arn}, {"tags", Tags({{"env", "prod"}})}});
    EXPECT_EQ(r["TagList"], Tags({{"env", "prod"}}));
    OkAs(kNobody, "tag.add",
         {{"resource", arn}, {"tags", Tags({{"team", "dba"}, {"env", "test"}})}});
    EXPECT_EQ(TagList(kNobody, arn), Tags({{"env", "test"}, {"team", "dba"}})) << arn;
    r = OkAs(kNobody, "tag.remove", {{"resource", arn}, {"keys", {"env", "absent"}}});
    EXPECT_EQ(r["TagList"], Tags({{"team", "dba"}}));
  }
  Reopen();
  EXPECT_EQ(OkAs(kNobody, "volume.show", {{"name", "db"}})["TagList"], Tags({{"team", "dba"}}));
  EXPECT_EQ(OkAs(kNobody, "snapshot.show", {{"name", "nightly"}})["TagList"],
            Tags({{"team", "dba"}}));
}

TEST_F(TagsTest, RulesRefuseAndChangeNothing) {
  const std::string arn = Arn(kA, "volume", "db");
  json fifty = json::array();
  for (int i = 0; i < 50; ++i) {
    std::string key = "k";
    key += std::to_string(i);
    fifty.push_back({{"Key", key}, {"Value", ""}});
  }
  OkAs(kNobody, "tag.add", {{"resource", arn}, {"tags", fifty}});
  EXPECT_EQ(CodeAs(kNobody, "tag.add", {{"resource", arn}, {"tags", Tags({{"k50", "x"}})}}),
            "TagQuotaPerResourceExceeded");
  OkAs(kNobody, "tag.add", {{"resource", arn}, {"tags", Tags({{"k0", "over"}})}});
  for (const json& bad : {json{{{"Key", std::string(129, 'k')}, {"Value", ""}}},
                          json{{{"Key", "k0"}, {"Value", std::string(257, 'v')}}},
                          Tags({{"aws:x", "v"}}), Tags({{"k0", "rds:x"}}), Tags({{"a!", "v"}}),
                          Tags({{"k0", "a\nb"}}), Tags({{"", "v"}}), json::array()}) {
    EXPECT_EQ(CodeAs(kNobody, "tag.add", {{"resource", arn}, {"tags", bad}}),
              "InvalidParameterValue")
        << bad.dump();
  }
  json now = TagList(kNobody, arn);
  ASSERT_EQ(now.size(), 50u);
  EXPECT_EQ(now[0], json({{"Key", "k0"}, {"Value", "over"}}));
}

TEST_F(TagsTest, BadArnsAreInvalidParameterValue) {
  for (const std::string& bad :
       {std::string("db"), std::string("arn:clonefs:us-east-1:012345678901:volume"),
        std::string("arn:aws:us-east-1:012345678901:volume:db"),
        std::string("arn:clonefs:eu-west-1:012345678901:volume:db"),
        std::string("arn:clonefs:us-east-1:12345:volume:db"),
        std::string("arn:clonefs:us-east-1:012345678901:table:db"),
        std::string("arn:clonefs:us-east-1:012345678901:resource-share:db")}) {
    EXPECT_EQ(CodeAs(kNobody, "tag.list", {{"resource", bad}}), "InvalidParameterValue") << bad;
    EXPECT_EQ(CodeAs(kNobody, "tag.add", {{"resource", bad}, {"tags", Tags({{"a", "b"}})}}),
              "InvalidParameterValue")
        << bad;
  }
}

// What an unshared resource of another account answers, with its name in place of `missing`'s.
void ExpectLikeMissing(json hidden, json missing, const std::string& name) {
  std::string m = missing["error"]["Message"];
  const size_t at = m.find("no-such");
  ASSERT_NE(at, std::string::npos) << m;
  missing["error"]["Message"] = m.replace(at, 7, name);
  EXPECT_EQ(hidden, missing);
}

TEST_F(TagsTest, NotSharedAnswersAsNotThere) {
  for (const char* type : {"volume", "snapshot"}) {
    const char* name = std::string(type) == "volume" ? "db" : "nightly";
    const json add_args = {{"tags", Tags({{"a", "b"}})}};
    for (const char* command : {"tag.add", "tag.list", "tag.remove"}) {
      json hidden = {{"resource", Arn(kA, type, name)}, {"tags", add_args["tags"]}};
      json missing = {{"resource", Arn(kA, type, "no-such")}, {"tags", add_args["tags"]}};
      if (std::string(command) != "tag.add") {
        hidden.erase("tags");
        missing.erase("tags");
      }
      if (std::string(command) == "tag.remove") {
        hidden["keys"] = {"a"};
        missing["keys"] = {"a"};
      }
      json h = As(kDaemon, command, hidden);
      EXPECT_EQ(h["error"]["Code"],
                std::string(type) == "volume" ? "VolumeNotFound" : "SnapshotNotFound");
      ExpectLikeMissing(h, As(kDaemon, command, missing), name);
    }
  }
  EXPECT_EQ(TagList(kNobody, Arn(kA, "volume", "db")), json::array());
}

TEST_F(TagsTest, SharedIsVisibleButNotTaggable) {
  OkAs(kNobody, "tag.add",
       {{"resource", Arn(kA, "snapshot", "nightly")}, {"tags", Tags({{"env", "prod"}})}});
  OkAs(kNobody, "snapshot.attribute.modify",
       {{"name", "nightly"}, {"attribute", "restore"}, {"add", {kB}}});
  const std::string arn = Arn(kA, "snapshot", "nightly");
  EXPECT_EQ(CodeAs(kDaemon, "tag.add", {{"resource", arn}, {"tags", Tags({{"a", "b"}})}}),
            "AccessDenied");
  EXPECT_EQ(CodeAs(kDaemon, "tag.remove", {{"resource", arn}, {"keys", {"env"}}}), "AccessDenied");
  EXPECT_EQ(TagList(kDaemon, arn), json::array());  // the owner's tags are not B's to see
  EXPECT_EQ(TagList(kNobody, arn), Tags({{"env", "prod"}}));
  // Nor does B copy them into a restore.
  EXPECT_EQ(
      CodeAs(kDaemon, "volume.restore", {{"snapshot", arn}, {"name", "r"}, {"copy_tags", true}}),
      "InvalidParameterCombination");
  json r = OkAs(kDaemon, "volume.restore",
                {{"snapshot", arn}, {"name", "r"}, {"tags", Tags({{"mine", "1"}})}});
  EXPECT_EQ(r["TagList"], Tags({{"mine", "1"}}));
}

TEST_F(TagsTest, TagsAtCreationAndCopyTags) {
  json v = OkAs(kNobody, "volume.create",
                {{"name", "t1"}, {"size", "1M"}, {"tags", Tags({{"env", "prod"}, {"team", "a"}})}});
  EXPECT_EQ(v["TagList"], Tags({{"env", "prod"}, {"team", "a"}}));
  EXPECT_EQ(CodeAs(kNobody, "volume.create",
                   {{"name", "t2"}, {"size", "1M"}, {"tags", Tags({{"aws:x", "1"}})}}),
            "InvalidParameterValue");
  EXPECT_EQ(CodeAs(kNobody, "volume.show", {{"name", "t2"}}), "VolumeNotFound");
  // Clones and restores: no tags unless copied; given ones override copied keys.
  EXPECT_EQ(OkAs(kNobody, "volume.clone", {{"source", "t1"}, {"name", "c1"}})["TagList"],
            json::array());
  EXPECT_EQ(OkAs(kNobody, "volume.clone",
                 {{"source", "t1"},
                  {"name", "c2"},
                  {"copy_tags", true},
                  {"tags", Tags({{"team", "b"}, {"x", "y"}})}})["TagList"],
            Tags({{"env", "prod"}, {"team", "b"}, {"x", "y"}}));
  EXPECT_EQ(
      OkAs(kNobody, "volume.clone",
           {{"source", "t1"}, {"name", "c3"}, {"copy_tags", true}, {"full_copy", true}})["TagList"],
      Tags({{"env", "prod"}, {"team", "a"}}));
  OkAs(kNobody, "snapshot.create",
       {{"volume", "t1"}, {"name", "s1"}, {"tags", Tags({{"snap", "1"}})}});
  EXPECT_EQ(OkAs(kNobody, "volume.restore", {{"snapshot", "s1"}, {"name", "r1"}})["TagList"],
            json::array());
  EXPECT_EQ(OkAs(kNobody, "volume.restore",
                 {{"snapshot", "s1"}, {"name", "r2"}, {"copy_tags", true}})["TagList"],
            Tags({{"snap", "1"}}));
  EXPECT_EQ(OkAs(kNobody, "volume.restore",
                 {{"snapshot", "s1"},
                  {"name", "r3"},
                  {"copy_tags", true},
                  {"full_copy", true},
                  {"tags", Tags({{"snap", "2"}})}})["TagList"],
            Tags({{"snap", "2"}}));
}

TEST_F(TagsTest, SharedVolumeListShowsNoTags) {
  OkAs(kNobody, "tag.add", {{"resource", Arn(kA, "volume", "db")}, {"tags", Tags({{"a", "b"}})}});
  OkAs(kNobody, "share.create", {{"name", "qa"}, {"resource", "db"}, {"principals", {kB}}});
  json invitations = OkAs(kDaemon, "invitation.list", json::object());
  const std::string id = invitations["ResourceShareInvitations"][0]["ResourceShareInvitationArn"];
  OkAs(kDaemon, "invitation.accept", {{"name", id}});
  json list = OkAs(kDaemon, "volume.list", {{"include_shared", true}});
  ASSERT_EQ(list["Volumes"].size(), 1u);
  EXPECT_FALSE(list["Volumes"][0].contains("TagList"));
  const std::string arn = Arn(kA, "volume", "db");
  EXPECT_EQ(TagList(kDaemon, arn), json::array());
  EXPECT_EQ(CodeAs(kDaemon, "tag.add", {{"resource", arn}, {"tags", Tags({{"c", "d"}})}}),
            "AccessDenied");
  EXPECT_EQ(CodeAs(kDaemon, "volume.clone", {{"source", arn}, {"name", "c"}, {"copy_tags", true}}),
            "InvalidParameterCombination");
  EXPECT_EQ(OkAs(kDaemon, "volume.clone", {{"source", arn}, {"name", "c"}})["TagList"],
            json::array());
}

class KeyTagsTest : public testing::DispatcherTest {
 protected:
  void SetUp() override {
    DispatcherTest::SetUp();
    UseKeyFile();
  }
  std::string KeyArn(const std::string& key_id) {
    return "arn:clonefs:us-east-1:" + store_->info().account_id + ":key:" + key_id;
  }
};

TEST_F(KeyTagsTest, KeysTaggedAtCreationAndAfter) {
  json key = Ok("key.create", {{"alias", "db"}, {"tags", Tags({{"env", "prod"}})}});
  const std::string arn = KeyArn(key["KeyId"]);
  EXPECT_EQ(Ok("tag.list", {{"resource", arn}})["TagList"], Tags({{"env", "prod"}}));
  Ok("tag.add", {{"resource", arn}, {"tags", Tags({{"env", "test"}, {"b", ""}})}});
  EXPECT_EQ(Ok("tag.remove", {{"resource", arn}, {"keys", {"b"}}})["TagList"],
            Tags({{"env", "test"}}));
  EXPECT_EQ(Err("tag.add", {{"resource", arn}, {"tags", Tags({{"clonefs:x", "1"}})}}),
            "InvalidParameterValue");
  EXPECT_EQ(Err("key.create", {{"alias", "bad"}, {"tags", Tags({{"aws:x", "1"}})}}),
            "InvalidParameterValue");
  EXPECT_EQ(Err("key.show", {{"key", "alias/bad"}}), "NotFoundException");  // nothing made
  const std::string missing = KeyArn("key-0123456789abcdef");
  EXPECT_EQ(Err("tag.list", {{"resource", missing}}), "NotFoundException");
  Reopen();
  EXPECT_EQ(Ok("tag.list", {{"resource", arn}})["TagList"], Tags({{"env", "test"}}));
}

TEST_F(KeyTagsTest, AnotherAccountFindsNoKey) {
  Ok("account.create", {{"id", kB}, {"users", {"daemon"}}});
  json key = Ok("key.create", json::object());
  const std::string arn = KeyArn(key["KeyId"]);
  const std::string missing = KeyArn("key-0123456789abcdef");
  Dispatcher d(store_.get());
  for (const char* command : {"tag.add", "tag.list", "tag.remove"}) {
    json args_hidden = {{"resource", arn}};
    json args_missing = {{"resource", missing}};
    if (std::string(command) == "tag.add") {
      args_hidden["tags"] = args_missing["tags"] = Tags({{"a", "b"}});
    }
    if (std::string(command) == "tag.remove") args_hidden["keys"] = args_missing["keys"] = {"a"};
    json hidden = d.Handle(MakeRequest(command, args_hidden), Caller{kDaemon, 7});
    json absent = d.Handle(MakeRequest(command, args_missing), Caller{kDaemon, 7});
    EXPECT_EQ(hidden["error"]["Code"], "NotFoundException") << hidden.dump();
    std::string m = absent["error"]["Message"];
    m.replace(m.find(missing), missing.size(), arn);
    absent["error"]["Message"] = m;
    EXPECT_EQ(hidden, absent);
  }
}

}  // namespace
}  // namespace clonefs::control
