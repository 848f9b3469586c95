// The segment log over RADOS objects: what is appended and synced replays after a reopen, and
// a whole Store keeps its page records in the cluster (its metadata in RocksDB beside it).
#include <gtest/gtest.h>

#include "base/env.h"
#include "store/log/log_test_util.h"
#include "store/log/record.h"
#include "store/log/segment_log.h"
#include "store/rados/rados_segment_store.h"
#include "store/rados/rados_test_util.h"
#include "store/store.h"
#include "tests/testing/testing.h"

namespace clonefs::store {
namespace {

using clonefs::testing::Pattern;
using clonefs::testing::TempDir;
using testing::FreshNamespace;
using testing::OpenTestSegments;
using testing::Records;
using testing::SmallOptions;

constexpr uint64_t kMiB = 1 << 20;

// The log over the segments in namespace `ns`, on a connection of its own, as a store opens it.
Result<std::unique_ptr<SegmentLog>> OpenLog(const std::string& ns) {
  CLONEFS_ASSIGN_OR_RETURN(auto segments, OpenTestSegments(ns, SmallOptions().segment_bytes));
  return SegmentLog::Open(std::move(segments), SmallOptions());
}

TEST(RadosSegmentLog, ReopenedLogReplaysEveryRecordAndEndsCleanly) {
  SKIP_WITHOUT_RADOS_CLUSTER();
  const std::string ns = FreshNamespace();
  size_t records = 0;
  {
    auto log = OpenLog(ns);
    ASSERT_TRUE(log.ok()) << log.status().ToString();
    for (int i = 0; i < 200; ++i) {
      ASSERT_TRUE((*log)->Append(Records(i * 10, 2, 777 + i)).ok());
      records += 2;
    }
    ASSERT_OK((*log)->Sync());
    EXPECT_GT((*log)->Segments().size(), 1u);  // it rolled over to new segments
  }
  auto log = OpenLog(ns);
  ASSERT_TRUE(log.ok()) << log.status().ToString();
  size_t seen = 0;
  ASSERT_OK(
      (*log)->Replay(LogPosition{1, kSegmentHeaderSize},
                     [&](const RecordHeader& h, std::string_view payload, const RecordLocation&) {
                       EXPECT_EQ(payload, Pattern(h.seq, payload.size()));
                       ++seen;
                       return Status::OK();
                     }));
  EXPECT_EQ(seen, records);  // the end of each object reads as the clean end of its segment
  for (const auto& [id, size] : (*log)->Segments()) {
    ASSERT_OK((*log)->ScanSegment(id, [](const RecordHeader&, std::string_view,
                                         const RecordLocation&) { return Status::OK(); }));
  }
}

TEST(RadosStore, VolumesSnapshotsAndClonesKeepTheirPagesInTheCluster) {
  SKIP_WITHOUT_RADOS_CLUSTER();
  TempDir dir;
  const std::string ns = FreshNamespace();
  StoreOptions options;
  options.segment_bytes = 1 * kMiB;  // several segments
  options.checkpoint_entries = 64;
  options.background_threads = false;
  std::unique_ptr<Store> store;
  // Each open on a new connection, as a restarted daemon would have.
  auto open = [&] {
    store.reset();
    auto segments = OpenTestSegments(ns, options.segment_bytes);
    ASSERT_TRUE(segments.ok()) << segments.status().ToString();
    options.segment_store = *segments;
    auto s = Store::Open(dir.path() + "/s", options);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store = std::move(s).value();
  };
  auto read = [&](const std::string& name, bool snapshot, size_t n) {
    auto h = snapshot ? store->OpenSnapshot(name) : store->OpenVolume(name);
    EXPECT_TRUE(h.ok()) << h.status().ToString();
    std::string out(n, 'X');
    if (h.ok()) EXPECT_OK((*h)->Read(0, n, out.data()));
    return out;
  };
  {
    auto segments = OpenTestSegments(ns, options.segment_bytes);
    ASSERT_TRUE(segments.ok()) << segments.status().ToString();
    options.segment_store = *segments;
    ASSERT_OK(Store::Create(dir.path() + "/s", "local", options));
  }
  open();

  VolumeOptions vo;
  vo.size_bytes = 8 * kMiB;
  ASSERT_TRUE(store->CreateVolume("db", vo).ok());
  const std::string before = Pattern(1, 3 * kMiB);
  {
    auto v = store->OpenVolume("db");
    ASSERT_TRUE(v.ok());
    ASSERT_OK((*v)->Write(0, before));
    ASSERT_OK((*v)->Sync());
  }
  ASSERT_TRUE(store->CreateSnapshot("db", "db-snap", {}).ok());
  ASSERT_TRUE(store->CloneVolume("db", "db-clone", {}).ok());
  const std::string after = Pattern(2, kMiB), clone_write = Pattern(3, 64 << 10);
  {
    auto v = store->OpenVolume("db");
    ASSERT_TRUE(v.ok());
    ASSERT_OK((*v)->Write(4096, after));
    ASSERT_OK((*v)->Sync());
    auto c = store->OpenVolume("db-clone");
    ASSERT_TRUE(c.ok());
    ASSERT_OK((*c)->Write(2 * kMiB, clone_write));
    ASSERT_OK((*c)->Sync());
  }
  // The pages went to the cluster, not to the store directory.
  EXPECT_FALSE(Env::Default()->FileExists(dir.path() + "/s/segments"));
  auto ids = options.segment_store->List();
  ASSERT_TRUE(ids.ok());
  EXPECT_GE(ids->size(), 4u);

  std::string now = before;
  now.replace(4096, after.size(), after);
  std::string clone = before;
  clone.replace(2 * kMiB, clone_write.size(), clone_write);
  for (int round = 0; round < 2; ++round) {
    SCOPED_TRACE(round == 0 ? "open" : "after reopen");
    EXPECT_EQ(read("db", false, now.size()), now);
    EXPECT_EQ(read("db-snap", true, before.size()), before);
    EXPECT_EQ(read("db-clone", false, clone.size()), clone);
    open();
  }
}

}  // namespace
}  // namespace clonefs::store
