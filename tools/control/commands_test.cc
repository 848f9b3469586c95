#include "tools/control/commands.h"

#include <gtest/gtest.h>

#include <regex>

#include "tools/control/test_util.h"

namespace clonefs::control {
namespace {

using nlohmann::json;

class ControlDispatcher : public testing::DispatcherTest {
 protected:
  size_t VolumeCount() { return Ok("volume.list")["Volumes"].size(); }
};

TEST_F(ControlDispatcher, CreateReturnsAuroraStyleFields) {
  json v =
      Ok("volume.create",
         {{"name", "db1"}, {"size", 3ull << 29}, {"page_size", 16384}, {"compression", "zstd"}});
  const std::string account = store_->info().account_id;
  EXPECT_EQ(v["VolumeIdentifier"], "db1");
  EXPECT_EQ(v["VolumeArn"], "arn:clonefs:us-east-1:" + account + ":volume:db1");
  EXPECT_TRUE(v["VolumeId"].is_number_unsigned());
  EXPECT_EQ(v["Status"], "available");
  EXPECT_EQ(v["SizeBytes"], 3ull << 29);
  EXPECT_EQ(v["AllocatedStorage"], 2);  // 1.5 GiB rounds up
  EXPECT_EQ(v["PageSize"], 16384);
  EXPECT_EQ(v["Compression"], "zstd");
  EXPECT_TRUE(std::regex_match(v["VolumeCreateTime"].get<std::string>(),
                               std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)")))
      << v["VolumeCreateTime"];
  EXPECT_TRUE(v["Epoch"].is_number_unsigned());
  EXPECT_EQ(v["CloneGroupId"], v["VolumeId"]);  // a root volume starts its own lineage
  EXPECT_EQ(v["StorageEncrypted"], false);
  EXPECT_EQ(v["CrossAccountClone"], false);
  EXPECT_EQ(v["TagList"], json::array());
  EXPECT_EQ(v["BackupRetentionPeriod"], 1);  // Aurora's default
  EXPECT_TRUE(std::regex_match(v["PreferredBackupWindow"].get<std::string>(),
                               std::regex(R"(\d\d:\d\d-\d\d:\d\d)")));
  // Restorable from its creation to now (it holds nothing yet).
  EXPECT_EQ(v["EarliestRestorableTime"].get<std::string>().substr(0, 16),
            v["VolumeCreateTime"].get<std::string>().substr(0, 16));
  EXPECT_TRUE(v["LatestRestorableTime"].is_string());
  EXPECT_EQ(v.size(), 18u);  // no Source* or KmsKeyId fields: not cloned, restored or encrypted
}

TEST_F(ControlDispatcher, SizeMayBeAString) {
  json v = Ok("volume.create", {{"name", "db1"}, {"size", "10G"}});
  EXPECT_EQ(v["SizeBytes"], 10ull << 30);
  EXPECT_EQ(v["PageSize"], 4096);
  EXPECT_EQ(v["Compression"], "none");
}

TEST_F(ControlDispatcher, ListShowResizeDelete) {
  Ok("volume.create", {{"name", "zeta"}, {"size", 1 << 20}});
  Ok("volume.create", {{"name", "alpha"}, {"size", 1 << 20}});
  json list = Ok("volume.list");
  ASSERT_EQ(list["Volumes"].size(), 2u);
  EXPECT_EQ(list["Volumes"][0]["VolumeIdentifier"], "alpha");
  EXPECT_EQ(list["Volumes"][1]["VolumeIdentifier"], "zeta");

  EXPECT_EQ(Ok("volume.show", {{"name", "alpha"}})["SizeBytes"], 1 << 20);
  EXPECT_EQ(Ok("volume.resize", {{"name", "alpha"}, {"size", "2M"}})["SizeBytes"], 2 << 20);
  EXPECT_EQ(Ok("volume.show", {{"name", "alpha"}})["SizeBytes"], 2 << 20);

  json gone = Ok("volume.delete", {{"name", "alpha"}});
  EXPECT_EQ(gone["VolumeIdentifier"], "alpha");
  EXPECT_EQ(gone["Status"], "deleted");
  EXPECT_EQ(Err("volume.show", {{"name", "alpha"}}), "VolumeNotFound");
  EXPECT_EQ(VolumeCount(), 1u);
}

TEST_F(ControlDispatcher, ShrinkingNeedsAllowShrinkAndAVolumeNotInUse) {
  Ok("volume.create", {{"name", "db"}, {"size", "4M"}});
  {
    auto h = store_->OpenVolume("db");
    ASSERT_TRUE(h.ok());
    ASSERT_TRUE((*h)->Write(3 << 20, std::string(4096, 'x')).ok());
    // Growing is always fine; shrinking under an open handle is refused, even when allowed.
    EXPECT_EQ(Ok("volume.resize", {{"name", "db"}, {"size", "8M"}})["SizeBytes"], 8 << 20);
    json in_use = Exec("volume.resize", {{"name", "db"}, {"size", "1M"}, {"allow_shrink", true}});
    EXPECT_EQ(in_use["error"]["Code"], "InvalidVolumeState") << in_use.dump();
    EXPECT_NE(in_use["error"]["Message"].get<std::string>().find("in use"), std::string::npos);
  }
  json refused = Exec("volume.resize", {{"name", "db"}, {"size", "1M"}});
  EXPECT_EQ(refused["error"]["Code"], "InvalidParameterCombination") << refused.dump();
  EXPECT_NE(refused["error"]["Message"].get<std::string>().find("--allow-shrink"),
            std::string::npos);
  EXPECT_EQ(Ok("volume.show", {{"name", "db"}})["SizeBytes"], 8 << 20);  // nothing changed
  auto h = store_->OpenVolume("db");
  ASSERT_TRUE(h.ok());
  std::string back(4096, '\0');
  ASSERT_TRUE((*h)->Read(3 << 20, back.size(), back.data()).ok());
  EXPECT_EQ(back, std::string(4096, 'x'));
  h->reset();
  EXPECT_EQ(
      Ok("volume.resize", {{"name", "db"}, {"size", "1M"}, {"allow_shrink", true}})["SizeBytes"],
      1 << 20);
}

TEST_F(ControlDispatcher, NotFoundAndAlreadyExistsNameTheVolume) {
  Ok("volume.create", {{"name", "db1"}, {"size", 4096}});
  json dup = Exec("volume.create", {{"name", "db1"}, {"size", 4096}});
  EXPECT_EQ(dup["error"]["Code"], "VolumeAlreadyExists");
  EXPECT_EQ(dup["error"]["Message"], "volume 'db1' already exists");
  json missing = Exec("volume.show", {{"name", "x"}});
  EXPECT_EQ(missing["error"]["Code"], "VolumeNotFound");
  EXPECT_EQ(missing["error"]["Message"], "volume 'x' does not exist");
  EXPECT_EQ(Err("volume.resize", {{"name", "x"}, {"size", 4096}}), "VolumeNotFound");
  EXPECT_EQ(Err("volume.delete", {{"name", "x"}}), "VolumeNotFound");
  EXPECT_EQ(Err("volume.usage", {{"name", "x"}}), "VolumeNotFound");
}

TEST_F(ControlDispatcher, BadInputIsInvalidParameterValueAndChangesNothing) {
  const json bad[] = {
      {{"size", 4096}},   // no name
      {{"name", "db1"}},  // no size
      {{"name", "db1"}, {"size", "abc"}},
      {{"name", "db1"}, {"size", 0}},
      {{"name", "db1"}, {"size", -4096}},
      {{"name", "db1"}, {"size", 1000}},
      {{"name", "db1"}, {"size", 1.5}},
      {{"name", "db1"}, {"size", "2P"}},  // over the 1 PiB limit
      {{"name", "db1"}, {"size", 4096}, {"page_size", 3072}},
      {{"name", "db1"}, {"size", 4096}, {"page_size", "128K"}},
      {{"name", "db1"}, {"size", 4096}, {"compression", "lz4"}},
      {{"name", "1db"}, {"size", 4096}},  // names start with a letter
      {{"name", "db--1"}, {"size", 4096}},
      {{"name", 7}, {"size", 4096}},
      {{"name", ""}, {"size", 4096}},
      {{"name", "db1"}, {"size", 4096}, {"colour", "blue"}},  // unknown argument
  };
  for (const json& args : bad) {
    EXPECT_EQ(Err("volume.create", args), "InvalidParameterValue") << args.dump();
  }
  EXPECT_EQ(VolumeCount(), 0u);

  Ok("volume.create", {{"name", "db1"}, {"size", 8192}});
  EXPECT_EQ(Err("volume.resize", {{"name", "db1"}, {"size", 0}}), "InvalidParameterValue");
  EXPECT_EQ(Err("volume.resize", {{"name", "db1"}, {"size", 1000}}), "InvalidParameterValue");
  EXPECT_EQ(Err("volume.resize", {{"name", "db1"}}), "InvalidParameterValue");
  EXPECT_EQ(Ok("volume.show", {{"name", "db1"}})["SizeBytes"], 8192);
}

TEST_F(ControlDispatcher, MalformedRequests) {
  Dispatcher d(store_.get());
  auto code = [&](std::string_view line) {
    json r = d.HandleLine(line, Caller{0, 1});
    EXPECT_EQ(r["ok"], false) << line;
    return r["error"].value("Code", "");
  };
  EXPECT_EQ(code("not json"), "MalformedRequest");
  EXPECT_EQ(code(""), "MalformedRequest");
  EXPECT_EQ(code("[1,2]"), "MalformedRequest");
  EXPECT_EQ(code(R"({"args":{}})"), "MalformedRequest");
  EXPECT_EQ(code(R"({"command":5})"), "MalformedRequest");
  EXPECT_EQ(code(R"({"command":"volume.list","args":[]})"), "MalformedRequest");
  EXPECT_EQ(code(R"({"command":"volume.list","extra":1})"), "MalformedRequest");
  EXPECT_EQ(code(R"({"command":"volume.list","progress":"yes"})"), "MalformedRequest");
  EXPECT_EQ(code("{\"command\":\"volume.show\",\"args\":{\"name\":\"\xff\"}}"),
            "MalformedRequest");  // not UTF-8
  EXPECT_EQ(code(R"({"command":"volume.frobnicate"})"), "InvalidAction");
  EXPECT_EQ(code(R"({"command":"volume.list","args":{"name":"x"}})"), "InvalidParameterValue");
  // No args at all is the same as {}.
  EXPECT_EQ(d.HandleLine(R"({"command":"volume.list"})", Caller{})["ok"], true);
  EXPECT_EQ(d.HandleLine(R"({"command":"volume.list","progress":true})", Caller{})["ok"], true);
}

TEST_F(ControlDispatcher, VolumeUsage) {
  Ok("volume.create", {{"name", "a"}, {"size", 1 << 20}});
  Ok("volume.create", {{"name", "b"}, {"size", 1 << 20}});
  auto handle = store_->OpenVolume("a");
  ASSERT_TRUE(handle.ok()) << handle.status().ToString();
  ASSERT_OK((*handle)->Write(0, std::string(8192, 'x')));
  ASSERT_OK((*handle)->Sync());

  json a = Ok("volume.usage", {{"name", "a"}});
  EXPECT_EQ(a["VolumeIdentifier"], "a");
  EXPECT_EQ(a["LogicalBytes"], 1 << 20);
  EXPECT_EQ(a["MappedPages"], 2);
  EXPECT_EQ(a["MappedBytes"], 8192);
  EXPECT_GT(a["StoredBytes"].get<uint64_t>(), 0u);
  EXPECT_EQ(a["OwnedBytes"], a["StoredBytes"]);  // a root volume owns everything it reads
  EXPECT_EQ(a["SharedBytes"], 0);

  json all = Ok("volume.usage");
  ASSERT_EQ(all["VolumeUsages"].size(), 2u);
  EXPECT_EQ(all["VolumeUsages"][1]["VolumeIdentifier"], "b");
  EXPECT_EQ(all["VolumeUsages"][1]["MappedPages"], 0);
}

TEST_F(ControlDispatcher, StoreCommands) {
  json info = Ok("store.info");
  EXPECT_EQ(info["Region"], "us-east-1");
  EXPECT_EQ(info["StoreDirectory"], store_->info().dir);
  EXPECT_TRUE(std::regex_match(info["AccountId"].get<std::string>(), std::regex(R"(\d{12})")));
  EXPECT_GT(info["FormatVersion"].get<uint32_t>(), 0u);

  json usage = Ok("store.usage");
  for (const char* f : {"SegmentCount", "SegmentBytes", "LiveBytes", "GarbageBytes"}) {
    EXPECT_TRUE(usage[f].is_number_unsigned()) << f;
  }
  EXPECT_EQ(usage["VolumeCount"], 0);

  json gc = Ok("store.gc");
  EXPECT_TRUE(gc["Before"].is_object());
  EXPECT_TRUE(gc["After"].is_object());
  EXPECT_TRUE(gc["ReclaimedBytes"].is_number_unsigned());
  EXPECT_EQ(Ok("store.sync"), json::object());
  EXPECT_EQ(Err("store.info", {{"verbose", true}}), "InvalidParameterValue");
}

TEST(ControlErrors, MapsStatusCodesToStableNames) {
  EXPECT_EQ(ToApiError(Status::NotFound("x"), "volume").code, "VolumeNotFound");
  EXPECT_EQ(ToApiError(Status::NotFound("x"), "volume", "v").message, "volume 'v' does not exist");
  EXPECT_EQ(ToApiError(Status::AlreadyExists("x"), "volume").code, "VolumeAlreadyExists");
  EXPECT_EQ(ToApiError(Status::InvalidArgument("bad"), "volume").code, "InvalidParameterValue");
  EXPECT_EQ(ToApiError(Status::InvalidArgument("bad"), "volume").message, "bad");
  EXPECT_EQ(ToApiError(Status::NoSpace("full"), "volume").code, "InsufficientStorage");
  EXPECT_EQ(ToApiError(Status::Busy("store is in use by pid 7"), "store").code, "StoreBusy");
  EXPECT_EQ(ToApiError(Status::Busy("store is in use by pid 7"), "store").message,
            "store is in use by pid 7");
  EXPECT_EQ(ToApiError(Status::NotFound("x"), "store").code, "StoreNotFound");
  EXPECT_EQ(ToApiError(Status::IOError("disk"), "volume").code, "InternalError");
  EXPECT_EQ(ToApiError(Status::Corruption("crc"), "volume").code, "InternalError");
  EXPECT_EQ(ToApiError(Status::InvalidState("busy"), "volume").code, "InvalidVolumeState");
  // A specific name chosen by the store wins over the generic mapping.
  ApiError named =
      ToApiError(Status::NotFound("no snap").WithName("SnapshotNotFound"), "volume", "v");
  EXPECT_EQ(named.code, "SnapshotNotFound");
  EXPECT_EQ(named.message, "no snap");
  EXPECT_EQ(ErrorFromJson(json("junk")).code, "InternalError");
}

}  // namespace
}  // namespace clonefs::control
