#include <gtest/gtest.h>

#include <regex>

#include "tools/control/commands.h"
#include "tools/control/errors.h"
#include "tools/control/test_util.h"

namespace clonefs::control {
namespace {

using nlohmann::json;

class ControlSnapshots : public testing::DispatcherTest {
 protected:
  void SetUp() override {
    DispatcherTest::SetUp();
    Ok("volume.create", {{"name", "db1"}, {"size", 3ull << 29}, {"compression", "zstd"}});
  }
  size_t SnapshotCount() { return Ok("snapshot.list")["Snapshots"].size(); }
  static json Tag(const std::string& key, const std::string& value) {
    return {{"Key", key}, {"Value", value}};
  }
};

TEST_F(ControlSnapshots, CreateReturnsAuroraStyleFields) {
  json s = Ok("snapshot.create",
              {{"volume", "db1"}, {"name", "snap1"}, {"tags", {Tag("env", "prod"), Tag("k", "")}}});
  const std::string account = store_->info().account_id;
  EXPECT_EQ(s["SnapshotIdentifier"], "snap1");
  EXPECT_EQ(s["SnapshotArn"], "arn:clonefs:us-east-1:" + account + ":snapshot:snap1");
  EXPECT_EQ(s["VolumeIdentifier"], "db1");
  EXPECT_EQ(s["SnapshotType"], "manual");
  EXPECT_EQ(s["Status"], "available");
  EXPECT_TRUE(std::regex_match(s["SnapshotCreateTime"].get<std::string>(),
                               std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)")))
      << s["SnapshotCreateTime"];
  EXPECT_EQ(s["AllocatedStorage"], 2);  // 1.5 GiB rounds up
  EXPECT_EQ(s["SizeBytes"], 3ull << 29);
  EXPECT_EQ(s["PageSize"], 4096);
  EXPECT_EQ(s["Compression"], "zstd");
  EXPECT_EQ(s["StorageEncrypted"], false);
  EXPECT_EQ(s["PercentProgress"], 100);
  EXPECT_EQ(s["TagList"], json::array({Tag("env", "prod"), Tag("k", "")}));
  EXPECT_EQ(s.size(), 13u);
  EXPECT_EQ(Ok("snapshot.show", {{"name", "snap1"}}), s);

  json untagged = Ok("snapshot.create", {{"volume", "db1"}, {"name", "snap2"}});
  EXPECT_EQ(untagged["TagList"], json::array());
}

TEST_F(ControlSnapshots, TagLimits) {
  const std::string e_acute = "\xc3\xa9";  // one character, two bytes
  std::string key128, value256;
  for (int i = 0; i < 128; ++i) key128 += e_acute;
  for (int i = 0; i < 256; ++i) value256 += e_acute;
  json ok =
      Ok("snapshot.create", {{"volume", "db1"}, {"name", "s1"}, {"tags", {Tag(key128, value256)}}});
  EXPECT_EQ(ok["TagList"][0]["Key"], key128);

  json fifty = json::array();
  for (int i = 0; i < 50; ++i)
    fifty.push_back(Tag(std::string("k").append(std::to_string(i)), "v"));
  EXPECT_EQ(
      Ok("snapshot.create", {{"volume", "db1"}, {"name", "s2"}, {"tags", fifty}})["TagList"].size(),
      50u);
  json fifty_one = fifty;
  fifty_one.push_back(Tag("k50", "v"));

  const json bad_tags[] = {
      {Tag("", "v")},                                // empty key
      {Tag(key128 + "x", "v")},                      // key of 129 characters
      {Tag("k", value256 + "x")},                    // value of 257 characters
      {Tag("k", "1"), Tag("k", "2")},                // the same key twice
      json::object({{"k", "v"}}),                    // not a list
      {json::object({{"Key", "k"}})},                // no Value
      {json::object({{"Key", "k"}, {"Value", 1}})},  // not a string
      {json::object({{"Key", "k"}, {"Value", "v"}, {"X", "y"}})},
      {"k=v"},
  };
  for (const json& tags : bad_tags) {
    EXPECT_EQ(Err("snapshot.create", {{"volume", "db1"}, {"name", "s3"}, {"tags", tags}}),
              "InvalidParameterValue")
        << tags.dump();
  }
  EXPECT_EQ(Err("snapshot.create", {{"volume", "db1"}, {"name", "s3"}, {"tags", fifty_one}}),
            "TagQuotaPerResourceExceeded");
  EXPECT_EQ(SnapshotCount(), 2u);
}

TEST_F(ControlSnapshots, TheAccountSnapshotQuotaIsWhatTheDaemonWasGiven) {
  ASSERT_TRUE(Exec("volume.create", {{"name", "v"}, {"size", "1M"}})["ok"]);
  auto create_with_quota = [&](size_t quota, const std::string& name) {
    Services services;
    services.account_snapshot_quota = quota;
    Dispatcher d(store_.get(), services);
    return d.Handle(MakeRequest("snapshot.create", {{"volume", "v"}, {"name", name}}), Caller{0, 1},
                    nullptr, nullptr);
  };
  for (const char* name : {"s1", "s2", "s3"}) {
    EXPECT_TRUE(create_with_quota(3, name).value("ok", false)) << name;
  }
  nlohmann::json over = create_with_quota(3, "s4");
  EXPECT_EQ(over["error"]["Code"], "SnapshotQuotaExceeded") << over.dump();
  EXPECT_NE(over["error"]["Message"].get<std::string>().find("may have (3)"), std::string::npos)
      << over.dump();
  EXPECT_EQ(Exec("snapshot.show", {{"name", "s4"}})["error"]["Code"], "SnapshotNotFound");
  // Raised, the same account may take more.
  EXPECT_TRUE(create_with_quota(5, "s4").value("ok", false));
}

TEST_F(ControlSnapshots, ListShowDelete) {
  Ok("volume.create", {{"name", "db2"}, {"size", 1 << 20}});
  Ok("snapshot.create", {{"volume", "db1"}, {"name", "zeta"}});
  Ok("snapshot.create", {{"volume", "db2"}, {"name", "alpha"}});
  Ok("snapshot.create", {{"volume", "db1"}, {"name", "mid"}});
  json all = Ok("snapshot.list");
  ASSERT_EQ(all["Snapshots"].size(), 3u);
  EXPECT_EQ(all["Snapshots"][0]["SnapshotIdentifier"], "alpha");
  EXPECT_EQ(all["Snapshots"][2]["SnapshotIdentifier"], "zeta");
  json of_db1 = Ok("snapshot.list", {{"volume", "db1"}});
  ASSERT_EQ(of_db1["Snapshots"].size(), 2u);
  EXPECT_EQ(of_db1["Snapshots"][0]["SnapshotIdentifier"], "mid");
  EXPECT_EQ(Ok("snapshot.list", {{"volume", "nope"}})["Snapshots"], json::array());

  EXPECT_EQ(Ok("snapshot.show", {{"name", "alpha"}})["VolumeIdentifier"], "db2");
  json gone = Ok("snapshot.delete", {{"name", "alpha"}});
  EXPECT_EQ(gone["SnapshotIdentifier"], "alpha");
  EXPECT_EQ(gone["Status"], "deleted");
  EXPECT_EQ(Err("snapshot.show", {{"name", "alpha"}}), "SnapshotNotFound");
  EXPECT_EQ(SnapshotCount(), 2u);

  // A snapshot outlives its volume and is still listed under its name.
  Ok("volume.delete", {{"name", "db1"}});
  EXPECT_EQ(Ok("snapshot.list", {{"volume", "db1"}})["Snapshots"].size(), 2u);
  EXPECT_EQ(Ok("snapshot.show", {{"name", "mid"}})["VolumeIdentifier"], "db1");
}

TEST_F(ControlSnapshots, ErrorNamesAndMessages) {
  Ok("snapshot.create", {{"volume", "db1"}, {"name", "s1"}});
  json dup = Exec("snapshot.create", {{"volume", "db1"}, {"name", "s1"}});
  EXPECT_EQ(dup["error"]["Code"], "SnapshotAlreadyExists");
  EXPECT_EQ(dup["error"]["Message"], "snapshot 's1' already exists");
  json missing = Exec("snapshot.show", {{"name", "nope"}});
  EXPECT_EQ(missing["error"]["Code"], "SnapshotNotFound");
  EXPECT_EQ(missing["error"]["Message"], "snapshot 'nope' does not exist");
  EXPECT_EQ(Err("snapshot.delete", {{"name", "nope"}}), "SnapshotNotFound");
  json no_volume = Exec("snapshot.create", {{"volume", "nope"}, {"name", "s2"}});
  EXPECT_EQ(no_volume["error"]["Code"], "VolumeNotFound");
  EXPECT_EQ(no_volume["error"]["Message"], "volume 'nope' does not exist");

  const json bad[] = {
      {{"volume", "db1"}},                     // no name
      {{"name", "s2"}},                        // no volume
      {{"volume", "db1"}, {"name", "2snap"}},  // names start with a letter
      {{"volume", "db1"}, {"name", "snap-"}},  // no trailing hyphen
      {{"volume", "db1"}, {"name", std::string(64, 'a')}},
      {{"volume", "db1"}, {"name", "s2"}, {"size", 1}},  // unknown argument
  };
  for (const json& args : bad) {
    EXPECT_EQ(Err("snapshot.create", args), "InvalidParameterValue") << args.dump();
  }
  EXPECT_EQ(Err("snapshot.list", {{"volume", ""}}), "InvalidParameterValue");
  EXPECT_EQ(Err("snapshot.show", json::object()), "InvalidParameterValue");
  EXPECT_EQ(SnapshotCount(), 1u);
}

// A snapshot that is open (attached to a loop device through the mount) cannot be deleted.
TEST_F(ControlSnapshots, DeletingAnOpenSnapshotIsInvalidSnapshotState) {
  Ok("snapshot.create", {{"volume", "db1"}, {"name", "s1"}});
  {
    auto handle = store_->OpenSnapshot("s1");
    ASSERT_TRUE(handle.ok()) << handle.status().ToString();
    json r = Exec("snapshot.delete", {{"name", "s1"}});
    EXPECT_EQ(r["error"]["Code"], "InvalidSnapshotState");
    EXPECT_NE(r["error"]["Message"].get<std::string>().find("in use"), std::string::npos) << r;
    EXPECT_EQ(SnapshotCount(), 1u);
  }
  EXPECT_EQ(Ok("snapshot.delete", {{"name", "s1"}})["Status"], "deleted");
}

TEST(ControlSnapshotErrors, GenericStatusesNameTheSnapshot) {
  ApiError missing = ToApiError(Status::NotFound("x"), "snapshot", "s1");
  EXPECT_EQ(missing.code, "SnapshotNotFound");
  EXPECT_EQ(missing.message, "snapshot 's1' does not exist");
  ApiError dup = ToApiError(Status::AlreadyExists("x"), "snapshot", "s1");
  EXPECT_EQ(dup.code, "SnapshotAlreadyExists");
  EXPECT_EQ(dup.message, "snapshot 's1' already exists");
  EXPECT_EQ(ToApiError(Status::InvalidState("open"), "snapshot").code, "InvalidSnapshotState");
  EXPECT_EQ(ToApiError(Status::InvalidArgument("bad"), "snapshot").code, "InvalidParameterValue");
  // Names the store chose survive whatever the command's resource.
  EXPECT_EQ(ToApiError(Status::NotFound("v").WithName("VolumeNotFound"), "snapshot", "s1").code,
            "VolumeNotFound");
  ApiError quota =
      ToApiError(Status::QuotaExceeded("use --full-copy").WithName("CloneQuotaExceeded"), "volume");
  EXPECT_EQ(quota.code, "CloneQuotaExceeded");
  EXPECT_EQ(quota.message, "use --full-copy");
  EXPECT_EQ(errors::kCloneQuotaExceeded, "CloneQuotaExceeded");
}

}  // namespace
}  // namespace clonefs::control
