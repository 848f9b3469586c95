// volume.clone and volume.restore, copy-on-write and --full-copy.
#include <gtest/gtest.h>

#include <vector>

#include "tools/control/commands.h"
#include "tools/control/full_copy.h"
#include "tools/control/test_util.h"

namespace clonefs::control {
namespace {

using nlohmann::json;

class ControlClones : public testing::DispatcherTest {
 protected:
  void SetUp() override {
    DispatcherTest::SetUp();
    // 5 MiB + 4 KiB: the last chunk is short. Data in chunks 0, 2 and the tail; 1, 3 are holes.
    Ok("volume.create", {{"name", "db1"}, {"size", (5 << 20) + 4096}});
    Write("db1", 0, std::string(4096, 'a'));
    Write("db1", (2 << 20) + 512, std::string(70000, 'b'));
    Write("db1", 5 << 20, std::string(4096, 'c'));
  }

  void Write(const std::string& volume, uint64_t offset, const std::string& data) {
    auto h = store_->OpenVolume(volume);
    ASSERT_TRUE(h.ok()) << h.status().ToString();
    ASSERT_OK((*h)->Write(offset, data));
    ASSERT_OK((*h)->Sync());
  }

  static std::string ReadAll(store::VolumeHandle& h) {
    std::string bytes(h.size(), '\0');
    Status s = h.Read(0, bytes.size(), bytes.data());
    EXPECT_TRUE(s.ok()) << s.ToString();
    return bytes;
  }
  std::string VolumeBytes(const std::string& name) {
    auto h = store_->OpenVolume(name);
    EXPECT_TRUE(h.ok()) << name << ": " << h.status().ToString();
    return h.ok() ? ReadAll(**h) : "";
  }
  std::string SnapshotBytes(const std::string& name) {
    auto h = store_->OpenSnapshot(name);
    EXPECT_TRUE(h.ok()) << name << ": " << h.status().ToString();
    return h.ok() ? ReadAll(**h) : "";
  }
  uint64_t MappedPages(const std::string& name) {
    return Ok("volume.usage", {{"name", name}})["MappedPages"].get<uint64_t>();
  }
  bool Exists(const std::string& name) { return store_->GetVolume(name).ok(); }
};

TEST_F(ControlClones, CloneIsPointInTimeAndNamesItsSource) {
  const json source = Ok("volume.show", {{"name", "db1"}});
  const std::string before = VolumeBytes("db1");
  json c = Ok("volume.clone", {{"source", "db1"}, {"name", "c1"}});
  EXPECT_EQ(c["VolumeIdentifier"], "c1");
  EXPECT_EQ(c["SourceVolumeIdentifier"], "db1");
  EXPECT_EQ(c["CloneGroupId"], source["VolumeId"]);
  EXPECT_NE(c["VolumeId"], source["VolumeId"]);
  EXPECT_FALSE(c.contains("SourceSnapshotIdentifier"));
  EXPECT_EQ(c["SizeBytes"], source["SizeBytes"]);
  // The same but for the latest restorable time, which is now for a volume with no writes.
  json shown = Ok("volume.show", {{"name", "c1"}});
  EXPECT_GE(shown["LatestRestorableTime"], c["LatestRestorableTime"]);
  shown.erase("LatestRestorableTime");
  c.erase("LatestRestorableTime");
  EXPECT_EQ(c, shown);

  Write("db1", 0, "later");
  EXPECT_EQ(VolumeBytes("c1"), before);
  // Clones of clones stay in the group; the list names sources too.
  json cc = Ok("volume.clone", {{"source", "c1"}, {"name", "c2"}});
  EXPECT_EQ(cc["SourceVolumeIdentifier"], "c1");
  EXPECT_EQ(cc["CloneGroupId"], source["VolumeId"]);
  json list = Ok("volume.list");
  ASSERT_EQ(list["Volumes"].size(), 3u);
  EXPECT_EQ(list["Volumes"][0]["SourceVolumeIdentifier"], "db1");       // c1
  EXPECT_EQ(list["Volumes"][1]["SourceVolumeIdentifier"], "c1");        // c2
  EXPECT_FALSE(list["Volumes"][2].contains("SourceVolumeIdentifier"));  // db1

  // Once the source is gone the clone no longer names it.
  Ok("volume.delete", {{"name", "c2"}});
  Ok("volume.delete", {{"name", "db1"}});
  json orphan = Ok("volume.show", {{"name", "c1"}});
  EXPECT_FALSE(orphan.contains("SourceVolumeIdentifier")) << orphan;
  EXPECT_EQ(orphan["CloneGroupId"], source["VolumeId"]);
  EXPECT_EQ(VolumeBytes("c1"), before);
}

TEST_F(ControlClones, RestoreNamesTheSnapshot) {
  Ok("snapshot.create", {{"volume", "db1"}, {"name", "s1"}});
  const std::string at_snapshot = VolumeBytes("db1");
  Write("db1", 100, "after the snapshot");
  json r = Ok("volume.restore", {{"snapshot", "s1"}, {"name", "r1"}});
  EXPECT_EQ(r["VolumeIdentifier"], "r1");
  EXPECT_EQ(r["SourceSnapshotIdentifier"], "s1");
  EXPECT_EQ(r["SourceVolumeIdentifier"], "db1");
  EXPECT_EQ(r["CloneGroupId"], Ok("volume.show", {{"name", "db1"}})["VolumeId"]);
  EXPECT_EQ(VolumeBytes("r1"), at_snapshot);
  // The record of where it came from outlives the snapshot.
  Ok("snapshot.delete", {{"name", "s1"}});
  EXPECT_EQ(Ok("volume.show", {{"name", "r1"}})["SourceSnapshotIdentifier"], "s1");
  EXPECT_EQ(VolumeBytes("r1"), at_snapshot);
}

TEST_F(ControlClones, ErrorNames) {
  Ok("snapshot.create", {{"volume", "db1"}, {"name", "s1"}});
  for (bool full : {false, true}) {
    SCOPED_TRACE(full ? "full copy" : "copy-on-write");
    json missing = Exec("volume.clone", {{"source", "nope"}, {"name", "c1"}, {"full_copy", full}});
    EXPECT_EQ(missing["error"]["Code"], "VolumeNotFound");
    EXPECT_EQ(missing["error"]["Message"], "volume 'nope' does not exist");
    json taken = Exec("volume.clone", {{"source", "db1"}, {"name", "db1"}, {"full_copy", full}});
    EXPECT_EQ(taken["error"]["Code"], "VolumeAlreadyExists");
    EXPECT_EQ(taken["error"]["Message"], "volume 'db1' already exists");
    json no_snap =
        Exec("volume.restore", {{"snapshot", "nope"}, {"name", "r1"}, {"full_copy", full}});
    EXPECT_EQ(no_snap["error"]["Code"], "SnapshotNotFound");
    EXPECT_EQ(no_snap["error"]["Message"], "snapshot 'nope' does not exist");
    EXPECT_EQ(Err("volume.restore", {{"snapshot", "s1"}, {"name", "db1"}, {"full_copy", full}}),
              "VolumeAlreadyExists");
    EXPECT_EQ(Err("volume.clone", {{"source", "db1"}, {"name", "1bad"}, {"full_copy", full}}),
              "InvalidParameterValue");
    EXPECT_EQ(Err("volume.restore", {{"snapshot", "s1"}, {"name", "a--b"}, {"full_copy", full}}),
              "InvalidParameterValue");
  }
  EXPECT_EQ(Err("volume.clone", {{"source", "db1"}}), "InvalidParameterValue");
  EXPECT_EQ(Err("volume.clone", {{"name", "c1"}}), "InvalidParameterValue");
  EXPECT_EQ(Err("volume.clone", {{"source", "db1"}, {"name", "c1"}, {"full_copy", "yes"}}),
            "InvalidParameterValue");
  EXPECT_EQ(Err("volume.restore", {{"snapshot", "s1"}, {"name", "r1"}, {"source", "db1"}}),
            "InvalidParameterValue");
  // Nothing was created, and no temporary snapshot is left behind.
  EXPECT_EQ(Ok("volume.list")["Volumes"].size(), 1u);
  EXPECT_EQ(Ok("snapshot.list")["Snapshots"].size(), 1u);
}

// Aurora: 15 copy-on-write clones per lineage (clones of clones and restores included); after
// that only full copies, which start lineages of their own.
TEST_F(ControlClones, SixteenthCloneIsRefusedAndAFullCopyIsNot) {
  Ok("snapshot.create", {{"volume", "db1"}, {"name", "s1"}});
  std::string source = "db1";
  for (int i = 1; i <= store::kMaxClonesPerLineage; ++i) {
    const std::string name = std::string("c").append(std::to_string(i));
    if (i % 5 == 0) {
      Ok("volume.restore", {{"snapshot", "s1"}, {"name", name}});
    } else {
      Ok("volume.clone", {{"source", source}, {"name", name}});
      if (i % 2 == 0) source = name;  // some clones of clones
    }
  }
  json refused = Exec("volume.clone", {{"source", "c3"}, {"name", "c16"}});
  EXPECT_EQ(refused["error"]["Code"], "CloneQuotaExceeded");
  const std::string message = refused["error"]["Message"];
  EXPECT_NE(message.find("--full-copy"), std::string::npos) << message;
  EXPECT_NE(message.find("15"), std::string::npos) << message;
  EXPECT_EQ(Err("volume.restore", {{"snapshot", "s1"}, {"name", "c16"}}), "CloneQuotaExceeded");
  EXPECT_FALSE(Exists("c16"));

  json full = Ok("volume.clone", {{"source", "c3"}, {"name", "c16"}, {"full_copy", true}});
  EXPECT_EQ(full["VolumeIdentifier"], "c16");
  EXPECT_EQ(full["CloneGroupId"], full["VolumeId"]);  // a lineage of its own
  EXPECT_FALSE(full.contains("SourceVolumeIdentifier"));
  EXPECT_EQ(full["SizeBytes"], Ok("volume.show", {{"name", "c3"}})["SizeBytes"]);
  EXPECT_EQ(VolumeBytes("c16"), VolumeBytes("c3"));
  EXPECT_EQ(MappedPages("c16"), MappedPages("db1"));  // holes stayed holes
  // The copy is independent: writes on either side stay there.
  const std::string copy = VolumeBytes("c16");
  Write("c3", 0, "source only");
  EXPECT_EQ(VolumeBytes("c16"), copy);
  Write("c16", 4096, "copy only");
  EXPECT_NE(VolumeBytes("c3").substr(4096, 9), "copy only");
  // Its new lineage has room for clones.
  EXPECT_EQ(Ok("volume.clone", {{"source", "c16"}, {"name", "c17"}})["CloneGroupId"],
            full["VolumeId"]);

  json restored = Ok("volume.restore", {{"snapshot", "s1"}, {"name", "r1"}, {"full_copy", true}});
  EXPECT_EQ(restored["CloneGroupId"], restored["VolumeId"]);
  EXPECT_FALSE(restored.contains("SourceSnapshotIdentifier"));  // not tied to the snapshot
  EXPECT_EQ(VolumeBytes("r1"), SnapshotBytes("s1"));
  // No temporary snapshot is left behind.
  ASSERT_EQ(Ok("snapshot.list")["Snapshots"].size(), 1u);
}

TEST_F(ControlClones, FullCopyKeepsPageSizeAndCompression) {
  Ok("volume.create",
     {{"name", "z"}, {"size", 3 << 20}, {"page_size", 16384}, {"compression", "zstd"}});
  Write("z", (1 << 20) - 100, std::string(300000, 'z'));
  json copy = Ok("volume.clone", {{"source", "z"}, {"name", "z2"}, {"full_copy", true}});
  EXPECT_EQ(copy["PageSize"], 16384);
  EXPECT_EQ(copy["Compression"], "zstd");
  EXPECT_EQ(copy["SizeBytes"], 3 << 20);
  EXPECT_EQ(VolumeBytes("z2"), VolumeBytes("z"));
}

TEST_F(ControlClones, FullCopyReportsProgressOnlyWhenAsked) {
  std::vector<std::pair<uint64_t, uint64_t>> reports;
  ProgressHooks hooks;
  hooks.report = [&](uint64_t done, uint64_t total) { reports.emplace_back(done, total); };
  json r = Exec("volume.clone", {{"source", "db1"}, {"name", "quiet"}, {"full_copy", true}}, &hooks,
                /*progress=*/false);
  EXPECT_TRUE(r["ok"].get<bool>()) << r;
  EXPECT_TRUE(reports.empty());

  r = Exec("volume.clone", {{"source", "db1"}, {"name", "c1"}, {"full_copy", true}}, &hooks,
           /*progress=*/true);
  ASSERT_TRUE(r["ok"].get<bool>()) << r;
  const uint64_t size = (5 << 20) + 4096;
  ASSERT_GE(reports.size(), 2u);
  EXPECT_EQ(reports.front(), std::make_pair(uint64_t{0}, size));
  EXPECT_EQ(reports.back(), std::make_pair(size, size));
  for (size_t i = 1; i < reports.size(); ++i) {
    EXPECT_GE(reports[i].first, reports[i - 1].first);
    EXPECT_EQ(reports[i].second, size);
  }
  // Copy-on-write commands are instant and report nothing.
  reports.clear();
  Exec("volume.clone", {{"source", "db1"}, {"name", "c2"}}, &hooks, true);
  EXPECT_TRUE(reports.empty());
}

TEST_F(ControlClones, FailureMidwayDeletesThePartialVolume) {
  Ok("snapshot.create", {{"volume", "db1"}, {"name", "s1"}});
  const std::string before = VolumeBytes("db1");
  for (const char* command : {"volume.clone", "volume.restore"}) {
    SCOPED_TRACE(command);
    int polls = 0;
    ProgressHooks hooks;
    hooks.cancelled = [&] {
      // The copy is under way (the new volume exists) when it is stopped.
      if (++polls == 3) {
        EXPECT_TRUE(Exists("half"));
      }
      return polls >= 3;
    };
    json args = {{"name", "half"}, {"full_copy", true}};
    if (std::string(command) == "volume.clone") {
      args["source"] = "db1";
    } else {
      args["snapshot"] = "s1";
    }
    json r = Exec(command, args, &hooks);
    EXPECT_EQ(r["error"]["Code"], "OperationCancelled") << r;
    EXPECT_NE(r["error"]["Message"].get<std::string>().find("'half'"), std::string::npos) << r;
    EXPECT_EQ(polls, 3);
    EXPECT_FALSE(Exists("half"));
  }
  // The source is untouched, the snapshots are as before, and the name is free again.
  EXPECT_EQ(VolumeBytes("db1"), before);
  EXPECT_EQ(Ok("snapshot.list")["Snapshots"].size(), 1u);
  Ok("volume.clone", {{"source", "db1"}, {"name", "half"}, {"full_copy", true}});
  EXPECT_EQ(VolumeBytes("half"), before);
}

// FullCopy directly: a failed read midway (a source handle whose volume shrank under it)
// leaves no volume behind and returns the read's error.
TEST_F(ControlClones, FullCopyReadErrorDeletesThePartialVolume) {
  class ShrinkingHandle final : public store::VolumeHandle {
   public:
    explicit ShrinkingHandle(std::shared_ptr<store::VolumeHandle> inner)
        : inner_(std::move(inner)) {}
    Status Read(uint64_t offset, size_t n, char* buf) override {
      if (offset >= (2 << 20)) return Status::IOError("disk went away");
      return inner_->Read(offset, n, buf);
    }
    Status Write(uint64_t, std::string_view) override { return Status::ReadOnly("ro"); }
    Status Discard(uint64_t, uint64_t) override { return Status::ReadOnly("ro"); }
    Status Sync() override { return Status::OK(); }
    Status Grow(uint64_t) override { return Status::ReadOnly("ro"); }
    uint64_t size() const override { return inner_->size(); }
    bool read_only() const override { return true; }
    const store::VolumeInfo& info() const override { return inner_->info(); }
    uint64_t generation() const override { return inner_->generation(); }

   private:
    std::shared_ptr<store::VolumeHandle> inner_;
  };
  auto inner = store_->OpenVolume("db1");
  ASSERT_TRUE(inner.ok());
  ShrinkingHandle source(*inner);
  auto copied = FullCopy(store_.get(), source, "broken", "", {}, nullptr, nullptr);
  ASSERT_FALSE(copied.ok());
  EXPECT_EQ(copied.status().code(), Status::Code::kIOError);
  EXPECT_EQ(copied.status().message(), "disk went away");
  EXPECT_FALSE(Exists("broken"));
}

}  // namespace
}  // namespace clonefs::control
