// Store::GetStats: the handles count calls, bytes, failures and latencies; GC and checkpoints
// count their passes.
#include "store/engine/io_stats.h"

#include <gtest/gtest.h>

#include "store/store.h"
#include "tests/testing/store_fixture.h"

namespace clonefs::store {
namespace {

TEST(LatencyHistogram, QuantilesAreBucketUpperBoundsCappedByTheMax) {
  LatencyHistogram h;
  EXPECT_EQ(h.Quantile(0.5), 0u);
  for (int i = 0; i < 98; ++i) h.Record(10);  // bucket [8, 16)
  h.Record(1000);
  h.Record(5000);
  EXPECT_EQ(h.Quantile(0.5), 16u);
  EXPECT_EQ(h.Quantile(0.98), 16u);
  EXPECT_EQ(h.Quantile(0.99), 1024u);
  EXPECT_EQ(h.Quantile(1.0), 5000u);  // 8192 capped by the largest seen
  EXPECT_EQ(h.max(), 5000u);
  LatencyHistogram zero;
  zero.Record(0);
  EXPECT_EQ(zero.Quantile(0.5), 0u);
}

using IoStatsTest = clonefs::testing::StoreTest;

TEST_F(IoStatsTest, HandlesCountWhatTheyDo) {
  VolumeOptions o;
  o.size_bytes = 1 << 20;
  ASSERT_OK(store_->CreateVolume("db", o).status());
  const StoreStats before = store_->GetStats();
  EXPECT_EQ(before.writes.count, 0u);
  EXPECT_EQ(before.volumes, 1u);
  EXPECT_GT(before.open_time_us, 0u);
  Result<std::shared_ptr<VolumeHandle>> h = store_->OpenVolume("db");
  ASSERT_OK(h.status());
  const std::string data(8192, 'x');
  for (int i = 0; i < 3; ++i) ASSERT_OK((*h)->Write(uint64_t(i) * 8192, data));
  std::string buf(4096, '\0');
  ASSERT_OK((*h)->Read(0, buf.size(), buf.data()));
  EXPECT_FALSE((*h)->Read(1 << 20, 1, buf.data()).ok());  // past the end: an error
  ASSERT_OK((*h)->Discard(0, 4096));
  ASSERT_OK((*h)->Sync());
  ASSERT_OK(store_->CreateSnapshot("db", "s", {}).status());
  const StoreStats s = store_->GetStats();
  EXPECT_EQ(s.writes.count, 3u);
  EXPECT_EQ(s.writes.bytes, 3u * 8192);
  EXPECT_EQ(s.writes.errors, 0u);
  EXPECT_EQ(s.reads.count, 2u);
  EXPECT_EQ(s.reads.errors, 1u);
  EXPECT_EQ(s.discards.count, 1u);
  EXPECT_EQ(s.syncs.count, 1u);
  EXPECT_GE(s.writes.max_us, s.writes.p50_us);
  EXPECT_EQ(s.snapshots, 1u);
  EXPECT_GE(s.now_us, s.open_time_us);
  EXPECT_GT(s.usage.segment_bytes, 0u);
  // A GC pass and its checkpoints are counted.
  ASSERT_OK(store_->CollectGarbage());
  const StoreStats g = store_->GetStats();
  EXPECT_EQ(g.gc_passes, 1u);
  EXPECT_GT(g.gc_last_pass_us, 0u);
  EXPECT_GT(g.checkpoints, s.checkpoints);
}

}  // namespace
}  // namespace clonefs::store
