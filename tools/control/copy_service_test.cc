// Snapshot copies within a store through the control plane: the daemon's CopyService (queued,
// cancelled, resumed after a restart, pinned sources) and clonectl's direct mode; regions and
// snapshot ARNs.
#include "tools/control/copy_service.h"

#include <gtest/gtest.h>

#include <thread>

#include "store/access/arn.h"
#include "tools/control/commands.h"
#include "tools/control/regions.h"
#include "tools/control/test_util.h"

namespace clonefs::control {
namespace {

using clonefs::testing::Pattern;
using nlohmann::json;

constexpr uint64_t kDataBytes = 32ull << 20;

class CopyServiceTest : public testing::DispatcherTest {
 protected:
  void SetUp() override {
    DispatcherTest::SetUp();
    store::VolumeOptions vo;
    vo.size_bytes = 1ull << 30;
    ASSERT_TRUE(store_->CreateVolume("v", vo).ok());
    auto h = store_->OpenVolume("v");
    ASSERT_TRUE(h.ok());
    ASSERT_OK((*h)->Write(0, Pattern(7, kDataBytes)));
    ASSERT_OK((*h)->Write(900ull << 20, Pattern(8, 1 << 20)));  // far into the volume
    ASSERT_TRUE(store_->CreateSnapshot("v", "src", {{"env", "prod"}}).ok());
  }
  void TearDown() override {
    service_.reset();  // before the store goes
    DispatcherTest::TearDown();
  }
  void StartService(size_t in_flight = 5, size_t quota = 10000) {
    service_.reset();
    CopyServiceOptions o;
    o.max_in_flight = in_flight;
    o.snapshot_quota = quota;
    auto s = CopyService::Start(store_.get(), o);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    service_ = std::move(s).value();
  }
  json Daemon(const std::string& command, json args) {
    Services services;
    services.copies = service_.get();
    Dispatcher d(store_.get(), services);
    return d.Handle(MakeRequest(command, std::move(args)), Caller{0, 1});
  }
  std::string ImageOf(const std::string& snapshot) {
    auto h = store_->OpenSnapshot(snapshot);
    EXPECT_TRUE(h.ok()) << snapshot;
    if (!h.ok()) return "";
    std::string head(kDataBytes, '\0'), tail(1 << 20, '\0');
    EXPECT_OK((*h)->Read(0, head.size(), head.data()));
    EXPECT_OK((*h)->Read(900ull << 20, tail.size(), tail.data()));
    return head + tail;
  }
  std::string Expected() { return Pattern(7, kDataBytes) + Pattern(8, 1 << 20); }

  std::unique_ptr<CopyService> service_;
};

TEST_F(CopyServiceTest, DirectModeCopiesInsideTheRequestIntoANewLineage) {
  json c = Ok("snapshot.copy", {{"source", "src"}, {"target", "c1"}});
  EXPECT_EQ(c["Status"], "available");
  EXPECT_EQ(c["SourceSnapshotArn"],
            "arn:clonefs:us-east-1:" + store_->info().account_id + ":snapshot:src");
  EXPECT_EQ(c["TagList"], json::array());  // tags only with copy_tags
  EXPECT_EQ(ImageOf("c1"), Expected());
  // A full copy: not of the source's lineage, so no incremental runs between them.
  Status s =
      store_->VisitChangedPages("c1", "src", [](const store::PageRun&) { return Status::OK(); });
  EXPECT_EQ(s.ErrorName(), "InvalidParameterCombination");

  json tagged = Ok("snapshot.copy", {{"source", "src"},
                                     {"target", "c2"},
                                     {"copy_tags", true},
                                     {"tags", {{{"Key", "team"}, {"Value", "db"}}}}});
  EXPECT_EQ(tagged["TagList"].size(), 2u);
}

TEST_F(CopyServiceTest, RefusalsChangeNothing) {
  const size_t before = store_->ListSnapshots().size();
  EXPECT_EQ(Err("snapshot.copy", {{"source", "src"}, {"target", "src"}}), "SnapshotAlreadyExists");
  EXPECT_EQ(Err("snapshot.copy", {{"source", "nope"}, {"target", "c"}}), "SnapshotNotFound");
  for (const char* bad : {"1abc", "a--b", "a-", "a_b", ""}) {
    EXPECT_EQ(Err("snapshot.copy", {{"source", "src"}, {"target", bad}}), "InvalidParameterValue")
        << bad;
  }
  EXPECT_EQ(Err("snapshot.copy", {{"source", "src"}, {"target", "c"}, {"kms_key", "k"}}),
            "InvalidParameterCombination");  // no encrypt-on-copy
  EXPECT_EQ(Err("snapshot.copy",
                {{"source", "arn:clonefs:us-east-1:999999999999:snapshot:src"}, {"target", "c"}}),
            "SnapshotNotFound");  // another account's
  EXPECT_EQ(
      Err("snapshot.copy", {{"source", "arn:clonefs:mars-1:1:snapshot:src"}, {"target", "c"}}),
      "InvalidParameterValue");  // a region this host does not know
  EXPECT_EQ(store_->ListSnapshots().size(), before);
}

TEST_F(CopyServiceTest, TheDaemonQueuesCopiesAndShowsThemAsCopying) {
  StartService(/*in_flight=*/2);
  for (int i = 0; i < 6; ++i) {
    json r = Daemon("snapshot.copy", {{"source", "src"}, {"target", "q" + std::to_string(i)}});
    ASSERT_TRUE(r["ok"].get<bool>()) << r.dump();
    EXPECT_EQ(r["result"]["Status"], "copying");
  }
  // A copy in progress holds its name against snapshots, imports and other copies.
  EXPECT_EQ(Daemon("snapshot.create", {{"volume", "v"}, {"name", "q5"}})["error"]["Code"],
            "SnapshotAlreadyExists");
  EXPECT_EQ(Daemon("snapshot.copy", {{"source", "src"}, {"target", "q5"}})["error"]["Code"],
            "SnapshotAlreadyExists");
  EXPECT_EQ(Daemon("snapshot.copy", {{"source", "q5"}, {"target", "z"}})["error"]["Code"],
            "InvalidSnapshotState");
  json listed = Daemon("snapshot.list", json::object())["result"]["Snapshots"];
  int copying = 0;
  for (const json& s : listed) copying += s["Status"] == "copying";
  EXPECT_GE(copying, 1);
  service_->WaitIdle();
  for (int i = 0; i < 6; ++i) EXPECT_EQ(ImageOf("q" + std::to_string(i)), Expected()) << i;
}

TEST_F(CopyServiceTest, DeletingTheTargetCancelsAndLeavesNothing) {
  StartService(/*in_flight=*/1);
  ASSERT_TRUE(Daemon("snapshot.copy", {{"source", "src"}, {"target", "a"}})["ok"].get<bool>());
  ASSERT_TRUE(Daemon("snapshot.copy", {{"source", "src"}, {"target", "b"}})["ok"].get<bool>());
  json b = Daemon("snapshot.delete", {{"name", "b"}});  // queued behind a
  ASSERT_TRUE(b["ok"].get<bool>()) << b.dump();
  EXPECT_EQ(b["result"]["Status"], "deleted");
  json a = Daemon("snapshot.delete", {{"name", "a"}});  // running, or just finished
  ASSERT_TRUE(a["ok"].get<bool>()) << a.dump();
  service_->WaitIdle();
  EXPECT_FALSE(store_->GetSnapshot("a").ok());
  EXPECT_FALSE(store_->GetSnapshot("b").ok());
  EXPECT_EQ(Daemon("snapshot.show", {{"name", "a"}})["error"]["Code"], "SnapshotNotFound");
  // The names are free again and the space comes back.
  ASSERT_OK(store_->CollectGarbage());
  const uint64_t live = store_->GetUsage().live_bytes;
  EXPECT_LT(live, 2 * (kDataBytes + (1 << 20)));
  EXPECT_TRUE(Daemon("snapshot.copy", {{"source", "src"}, {"target", "a"}})["ok"].get<bool>());
  service_->WaitIdle();
  EXPECT_EQ(ImageOf("a"), Expected());
}

TEST_F(CopyServiceTest, TheSourceIsPinnedFromAcceptanceAndCopiesResumeAfterARestart) {
  StartService(/*in_flight=*/1);
  for (const char* t : {"r1", "r2", "r3"}) {
    ASSERT_TRUE(Daemon("snapshot.copy", {{"source", "src"}, {"target", t}})["ok"].get<bool>());
  }
  // Deleting the source does not break copies already accepted.
  ASSERT_TRUE(Daemon("snapshot.delete", {{"name", "src"}})["ok"].get<bool>());
  // Stop mid-way (a daemon shutdown): what did not finish starts again.
  service_.reset();
  ASSERT_TRUE(store_->CreateSnapshot("v", "src", {}).ok());  // the same content, a new snapshot
  StartService();
  service_->WaitIdle();
  for (const char* t : {"r1", "r2", "r3"}) EXPECT_EQ(ImageOf(t), Expected()) << t;
}

TEST_F(CopyServiceTest, ACopyWhoseSourceWentDuringARestartFailsClearly) {
  StartService(/*in_flight=*/1);
  for (const char* t : {"f1", "f2"}) {
    ASSERT_TRUE(Daemon("snapshot.copy", {{"source", "src"}, {"target", t}})["ok"].get<bool>());
  }
  ASSERT_TRUE(Daemon("snapshot.delete", {{"name", "src"}})["ok"].get<bool>());
  service_.reset();  // f2 waits behind f1 (one at a time): it cannot have started
  StartService();
  service_->WaitIdle();
  json f2 = Daemon("snapshot.show", {{"name", "f2"}});
  EXPECT_EQ(f2["result"]["Status"], "failed") << f2.dump();
  EXPECT_NE(f2["result"]["StatusMessage"].get<std::string>().find("restart"), std::string::npos);
  // Never a truncated snapshot: it is not in the store, and deleting it clears the name.
  EXPECT_FALSE(store_->GetSnapshot("f2").ok());
  EXPECT_TRUE(Daemon("snapshot.delete", {{"name", "f2"}})["ok"].get<bool>());
  EXPECT_EQ(Daemon("snapshot.show", {{"name", "f2"}})["error"]["Code"], "SnapshotNotFound");
  // A failed copy survives a restart as it is.
  ASSERT_TRUE(
      Daemon("snapshot.copy", {{"source", "v-gone"}, {"target", "x"}})["error"].is_object());
}

TEST_F(CopyServiceTest, TheSnapshotQuotaCountsCopiesInProgress) {
  StartService(/*in_flight=*/1, /*quota=*/3);  // "src" is one
  ASSERT_TRUE(Daemon("snapshot.copy", {{"source", "src"}, {"target", "k1"}})["ok"].get<bool>());
  ASSERT_TRUE(Daemon("snapshot.copy", {{"source", "src"}, {"target", "k2"}})["ok"].get<bool>());
  EXPECT_EQ(Daemon("snapshot.copy", {{"source", "src"}, {"target", "k3"}})["error"]["Code"],
            "SnapshotQuotaExceeded");
  service_->WaitIdle();
}

TEST(Regions, ParsesFilesInlineListsAndArns) {
  auto file = ParseRegions("# comment\nus-east-1 /srv/a\n\n eu-west-1 = /srv/b \n", "f");
  ASSERT_TRUE(file.ok()) << file.status().ToString();
  EXPECT_EQ(file->dirs.at("us-east-1"), "/srv/a");
  EXPECT_EQ(file->dirs.at("eu-west-1"), "/srv/b");
  auto inline_list = ParseRegions("a=/x,b=/y", "$CLONEFS_REGIONS");
  ASSERT_TRUE(inline_list.ok());
  EXPECT_EQ(inline_list->dirs.size(), 2u);
  EXPECT_FALSE(ParseRegions("a relative/dir\n", "f").ok());
  EXPECT_FALSE(ParseRegions("a /x\na /y\n", "f").ok());
  EXPECT_FALSE(ParseRegions("a /x extra\n", "f").ok());

  auto arn = access::ParseArn("arn:clonefs:eu-west-1:123456789012:snapshot:db-snap", "snapshot");
  ASSERT_TRUE(arn.ok());
  EXPECT_EQ(arn->region, "eu-west-1");
  EXPECT_EQ(arn->account, "123456789012");
  EXPECT_EQ(arn->name, "db-snap");
  EXPECT_EQ(access::FormatArn(*arn), "arn:clonefs:eu-west-1:123456789012:snapshot:db-snap");
  for (const char* bad :
       {"arn:clonefs:r:123456789012:volume:x", "arn:aws:r:123456789012:snapshot:x",
        "arn:clonefs::123456789012:snapshot:x",
        "arn:clonefs:r:123456789012:snapshot:", "arn:clonefs:r:1:snapshot:x", "arn:clonefs:r"}) {
    EXPECT_EQ(access::ParseArn(bad, "snapshot").status().ErrorName(), "InvalidParameterValue")
        << bad;
  }
}

}  // namespace
}  // namespace clonefs::control
