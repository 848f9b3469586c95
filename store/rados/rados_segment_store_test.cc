// The SegmentStore contract (store/log/segment_store.h) on RADOS objects, against a real
// cluster: what is written reads back, sizes, truncation, listing, deletion, the errors for a
// missing or existing segment, many segments, and readers running beside a writer.
#include "store/rados/rados_segment_store.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "store/rados/rados_cluster.h"
#include "store/rados/rados_test_util.h"
#include "tests/testing/testing.h"

namespace clonefs::store {
namespace {

using clonefs::testing::Pattern;
using testing::ConnectTestCluster;
using testing::FreshNamespace;
using testing::OpenTestSegments;

class RadosSegmentStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    SKIP_WITHOUT_RADOS_CLUSTER();
    ns_ = FreshNamespace();
    auto s = OpenTestSegments(ns_);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = *s;
  }
  std::string Read(Segment& seg, uint64_t offset, size_t n) {
    std::string out(n, 'X');
    EXPECT_OK(seg.ReadAt(offset, n, out.data(), /*stable=*/false));
    return out;
  }

  std::string ns_;
  std::shared_ptr<RadosSegmentStore> store_;
};

TEST_F(RadosSegmentStoreTest, WritesReadBackAndSizeAndTruncateFollow) {
  auto seg = store_->Create(3);
  ASSERT_TRUE(seg.ok()) << seg.status().ToString();
  EXPECT_EQ(*(*seg)->Size(), 0u);
  const std::string a = Pattern(1, 10000), b = Pattern(2, 777);
  ASSERT_OK((*seg)->WriteAt(0, a));
  ASSERT_OK((*seg)->WriteAt(a.size(), b));
  ASSERT_OK((*seg)->Sync());
  EXPECT_EQ(*(*seg)->Size(), a.size() + b.size());
  EXPECT_EQ(Read(**seg, 0, a.size() + b.size()), a + b);
  EXPECT_EQ(Read(**seg, 5, 3), a.substr(5, 3));  // unaligned ranges are fine: alignment 1
  EXPECT_EQ(store_->write_alignment(), 1u);

  // An overwrite in the middle, then reads past the end: a short read is Corruption.
  ASSERT_OK((*seg)->WriteAt(100, "overwritten"));
  EXPECT_EQ(Read(**seg, 100, 11), "overwritten");
  std::string out(100, '\0');
  EXPECT_TRUE((*seg)->ReadAt(a.size() + b.size() - 10, 100, out.data(), false).IsCorruption());
  EXPECT_TRUE((*seg)->ReadAt(1 << 20, 1, out.data(), true).IsCorruption());
  EXPECT_OK((*seg)->ReadAt(a.size() + b.size(), 0, out.data(), false));  // nothing asked

  ASSERT_OK((*seg)->Truncate(50));
  EXPECT_EQ(*(*seg)->Size(), 50u);
  EXPECT_EQ(Read(**seg, 0, 50), a.substr(0, 50));
  ASSERT_OK((*seg)->Truncate(80));  // extends with zeros
  EXPECT_EQ(Read(**seg, 50, 30), std::string(30, '\0'));

  // Another handle (and another connection) sees the same bytes.
  auto again = OpenTestSegments(ns_);
  ASSERT_TRUE(again.ok());
  auto reopened = (*again)->Open(3);
  ASSERT_TRUE(reopened.ok()) << reopened.status().ToString();
  EXPECT_EQ(*(*reopened)->Size(), 80u);
  EXPECT_EQ(Read(**reopened, 0, 50), a.substr(0, 50));
}

TEST_F(RadosSegmentStoreTest, ListsOnlyItsOwnSegmentsAscending) {
  for (uint32_t id : {7u, 1u, 300u, 42u, 4000000000u}) ASSERT_TRUE(store_->Create(id).ok());
  // Objects that are not segments, in the same namespace, are not listed.
  auto cluster = ConnectTestCluster(ns_);
  ASSERT_TRUE(cluster.ok());
  librados::bufferlist bl;
  bl.append("x");
  for (const char* oid : {"superblock", "seg.12", "seg.00000000x1", "seg.00000000010"}) {
    ASSERT_EQ((*cluster)->io().write_full(oid, bl), 0) << oid;
  }
  // Nor are the segments of a store in another namespace of the pool.
  auto other = OpenTestSegments(FreshNamespace());
  ASSERT_TRUE(other.ok());
  ASSERT_TRUE((*other)->Create(5).ok());

  auto ids = store_->List();
  ASSERT_TRUE(ids.ok()) << ids.status().ToString();
  EXPECT_EQ(*ids, (std::vector<uint32_t>{1, 7, 42, 300, 4000000000u}));
  EXPECT_EQ(*(*other)->List(), std::vector<uint32_t>{5});
  EXPECT_EQ(RadosSegmentStore::ObjectName(42), "seg.0000000042");
}

TEST_F(RadosSegmentStoreTest, DeleteRemovesAndAMissingSegmentIsNotFound) {
  auto seg = store_->Create(9);
  ASSERT_TRUE(seg.ok());
  ASSERT_OK((*seg)->WriteAt(0, "data"));
  ASSERT_TRUE(store_->Create(10).ok());
  ASSERT_OK(store_->Delete(9));
  EXPECT_EQ(*store_->List(), std::vector<uint32_t>{10});
  EXPECT_TRUE(store_->Open(9).status().IsNotFound());
  EXPECT_TRUE(store_->Delete(9).IsNotFound());  // as unlink of a missing file says ENOENT
  EXPECT_TRUE(store_->Open(12345).status().IsNotFound());
  // A stale handle does not bring the deleted segment back.
  EXPECT_TRUE((*seg)->WriteAt(4, "more").IsNotFound());
  EXPECT_TRUE((*seg)->Truncate(100).IsNotFound());
  EXPECT_TRUE((*seg)->Size().status().IsNotFound());
  EXPECT_TRUE(store_->Open(9).status().IsNotFound());
}

TEST_F(RadosSegmentStoreTest, CreatingAnExistingSegmentFailsAndLeavesItAlone) {
  auto seg = store_->Create(4);
  ASSERT_TRUE(seg.ok());
  ASSERT_OK((*seg)->WriteAt(0, "keep me"));
  auto again = store_->Create(4);
  EXPECT_EQ(again.status().code(), Status::Code::kAlreadyExists) << again.status().ToString();
  EXPECT_EQ(Read(**seg, 0, 7), "keep me");
}

TEST_F(RadosSegmentStoreTest, ManySegments) {
  constexpr uint32_t kSegments = 150;
  for (uint32_t id = 1; id <= kSegments; ++id) {
    auto seg = store_->Create(id);
    ASSERT_TRUE(seg.ok()) << seg.status().ToString();
    ASSERT_OK((*seg)->WriteAt(0, Pattern(id, 4096 + id)));
  }
  auto ids = store_->List();
  ASSERT_TRUE(ids.ok());
  ASSERT_EQ(ids->size(), kSegments);
  for (uint32_t id = 1; id <= kSegments; ++id) {
    EXPECT_EQ((*ids)[id - 1], id);
    auto seg = store_->Open(id);
    ASSERT_TRUE(seg.ok());
    ASSERT_EQ(*(*seg)->Size(), 4096u + id);
    EXPECT_EQ(Read(**seg, 0, 4096 + id), Pattern(id, 4096 + id)) << id;
  }
}

// The log's pattern: one thread appends, many read what was appended before, at once.
TEST_F(RadosSegmentStoreTest, ReadersRunBesideAWriter) {
  constexpr size_t kPiece = 64 << 10, kPieces = 96;  // 6 MiB
  const std::string all = Pattern(77, kPiece * kPieces);
  auto seg = store_->Create(1);
  ASSERT_TRUE(seg.ok());
  std::atomic<size_t> written{0};
  std::atomic<int> reads{0}, mismatches{0}, errors{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 4; ++t) {
    readers.emplace_back([&, t] {
      uint64_t x = 12345 + t;
      while (true) {
        const size_t have = written.load();
        if (have > 0) {
          x = x * 6364136223846793005ull + 1442695040888963407ull;
          const size_t off = (x >> 20) % have;
          const size_t n = std::min<size_t>(1 + (x >> 40) % (128 << 10), have - off);
          std::string out(n, '\0');
          Status s = (*seg)->ReadAt(off, n, out.data(), /*stable=*/true);
          if (!s.ok()) ++errors;
          if (s.ok() && out != all.substr(off, n)) ++mismatches;
          ++reads;
        }
        if (have == all.size()) break;
      }
    });
  }
  for (size_t i = 0; i < kPieces; ++i) {
    ASSERT_OK((*seg)->WriteAt(i * kPiece, std::string_view(all).substr(i * kPiece, kPiece)));
    written.store((i + 1) * kPiece);
  }
  for (auto& r : readers) r.join();
  EXPECT_EQ(errors.load(), 0);
  EXPECT_EQ(mismatches.load(), 0);
  EXPECT_GT(reads.load(), 4 * 10);
  EXPECT_EQ(Read(**seg, 0, all.size()), all);
}

TEST_F(RadosSegmentStoreTest, RefusesSegmentsLargerThanAnObject) {
  const uint64_t max = store_->max_object_bytes();
  EXPECT_EQ(max, RadosSegmentStore::kDefaultMaxObjectBytes);  // as the test cluster has it
  auto big = OpenTestSegments(ns_, max + 1);
  EXPECT_EQ(big.status().code(), Status::Code::kInvalidArgument) << big.status().ToString();
  EXPECT_NE(big.status().message().find("osd_max_object_size"), std::string::npos);
  EXPECT_TRUE(OpenTestSegments(ns_, max).ok());

  auto seg = store_->Create(1);
  ASSERT_TRUE(seg.ok());
  Status past = (*seg)->WriteAt(max - 2, "abc");
  EXPECT_EQ(past.code(), Status::Code::kInvalidArgument) << past.ToString();
  EXPECT_NE(past.message().find("seg.0000000001"), std::string::npos) << past.ToString();
  EXPECT_EQ((*seg)->Truncate(max + 1).code(), Status::Code::kInvalidArgument);
  ASSERT_OK((*seg)->WriteAt(max - 3, "abc"));  // the last bytes an object can hold
  EXPECT_EQ(*(*seg)->Size(), max);
  ASSERT_OK(store_->Delete(1));
}

TEST_F(RadosSegmentStoreTest, DescriptionFreeSpaceAndTheNoOpSyncs) {
  EXPECT_EQ(store_->description(), "rados://" + testing::EnvOr("CLONEFS_RADOS_POOL") + "/" + ns_);
  auto free = store_->FreeSpace();
  ASSERT_TRUE(free.ok()) << free.status().ToString();
  // The test cluster has no mgr, so no usage figures: the free space is unknown (unlimited).
  EXPECT_EQ(*free, UINT64_MAX);
  EXPECT_OK(store_->SyncNames());
}

TEST(RadosCluster, AMissingPoolIsNotFoundAndNamesIt) {
  SKIP_WITHOUT_RADOS_CLUSTER();
  RadosCluster::Options o;
  o.conf_path = testing::EnvOr("CLONEFS_RADOS_CONF");
  o.pool = "no-such-pool";
  auto c = RadosCluster::Connect(o);
  EXPECT_TRUE(c.status().IsNotFound()) << c.status().ToString();
  EXPECT_NE(c.status().message().find("no-such-pool"), std::string::npos);
}

}  // namespace
}  // namespace clonefs::store
