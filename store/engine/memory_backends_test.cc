// A whole Store on the in-memory SegmentStore and MetaDb: proof that the engine depends only
// on the two interfaces, and that a second backend plugs in through StoreOptions.
#include <gtest/gtest.h>

#include "base/env.h"
#include "store/log/memory_segment_store.h"
#include "store/meta/memory_meta_db.h"
#include "store/store.h"
#include "tests/testing/testing.h"

namespace clonefs::store {
namespace {

using clonefs::testing::Pattern;
using clonefs::testing::TempDir;

constexpr uint64_t kMiB = 1 << 20;

class MemoryBackendsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    options_.segment_store = segments_;
    options_.meta_db = meta_;
    options_.segment_bytes = 1 * kMiB;  // several segments, so GC has something to do
    options_.checkpoint_entries = 64;
    options_.background_threads = false;
    ASSERT_OK(Store::Create(dir_.path() + "/s", "local", options_));
    Reopen();
  }
  void Reopen() {
    store_.reset();
    auto s = Store::Open(dir_.path() + "/s", options_);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(s).value();
  }
  std::string Read(const std::string& name, bool snapshot, uint64_t off, size_t n) {
    auto h = snapshot ? store_->OpenSnapshot(name) : store_->OpenVolume(name);
    EXPECT_TRUE(h.ok()) << h.status().ToString();
    if (!h.ok()) return {};
    std::string out(n, 'X');
    EXPECT_OK((*h)->Read(off, n, out.data()));
    return out;
  }

  TempDir dir_;
  std::shared_ptr<MemorySegmentStore> segments_ = std::make_shared<MemorySegmentStore>();
  std::shared_ptr<MemoryMetaDb> meta_ = std::make_shared<MemoryMetaDb>();
  StoreOptions options_;
  std::unique_ptr<Store> store_;
};

TEST_F(MemoryBackendsTest, VolumesSnapshotsAndClonesLiveOnlyInTheInjectedBackends) {
  VolumeOptions vo;
  vo.size_bytes = 8 * kMiB;
  ASSERT_TRUE(store_->CreateVolume("db", vo).ok());
  const std::string before = Pattern(1, 2 * kMiB);
  {
    auto v = store_->OpenVolume("db");
    ASSERT_TRUE(v.ok());
    ASSERT_OK((*v)->Write(0, before));
    ASSERT_OK((*v)->Sync());
  }
  ASSERT_TRUE(store_->CreateSnapshot("db", "db-snap", {}).ok());
  ASSERT_TRUE(store_->CloneVolume("db", "db-clone", {}).ok());
  const std::string after = Pattern(2, kMiB);
  {
    auto v = store_->OpenVolume("db");
    ASSERT_TRUE(v.ok());
    ASSERT_OK((*v)->Write(4096, after));
    ASSERT_OK((*v)->Sync());
  }
  EXPECT_GT(segments_->stored_bytes(), 3 * kMiB);
  // Neither backend touched the store directory.
  EXPECT_FALSE(Env::Default()->FileExists(dir_.path() + "/s/segments"));
  EXPECT_FALSE(Env::Default()->FileExists(dir_.path() + "/s/meta"));

  for (int round = 0; round < 2; ++round) {
    SCOPED_TRACE(round == 0 ? "open" : "after reopen");
    std::string now = before;
    now.replace(4096, after.size(), after);
    EXPECT_EQ(Read("db", false, 0, now.size()), now);
    EXPECT_EQ(Read("db-snap", true, 0, before.size()), before);
    EXPECT_EQ(Read("db-clone", false, 0, before.size()), before);
    Reopen();
  }
}

TEST_F(MemoryBackendsTest, GarbageCollectionFreesMemorySegments) {
  VolumeOptions vo;
  vo.size_bytes = 4 * kMiB;
  ASSERT_TRUE(store_->CreateVolume("v", vo).ok());
  {
    auto v = store_->OpenVolume("v");
    ASSERT_TRUE(v.ok());
    for (int i = 0; i < 6; ++i) ASSERT_OK((*v)->Write(0, Pattern(10 + i, kMiB)));
    ASSERT_OK((*v)->Sync());
  }
  const uint64_t stored = segments_->stored_bytes();
  ASSERT_OK(store_->CollectGarbage());
  EXPECT_LT(segments_->stored_bytes(), stored);
  EXPECT_EQ(Read("v", false, 0, kMiB), Pattern(15, kMiB));
  Reopen();
  EXPECT_EQ(Read("v", false, 0, kMiB), Pattern(15, kMiB));
}

}  // namespace
}  // namespace clonefs::store
