#include "fs/snapshot_index.h"

#include <gtest/gtest.h>

#include <memory>

#include "tests/testing/store_fixture.h"

namespace clonefs::fs {
namespace {

class SnapshotIndexTest : public clonefs::testing::StoreTest {
 protected:
  void SetUp() override {
    StoreTest::SetUp();
    store::VolumeOptions vo;
    vo.size_bytes = 1 << 20;
    ASSERT_OK(store_->CreateVolume("vol", vo).status());
  }

  store::SnapshotInfo Snap(const std::string& name) {
    auto s = store_->CreateSnapshot("vol", name, {});
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    return s.ok() ? *s : store::SnapshotInfo{};
  }
};

TEST_F(SnapshotIndexTest, FindsASnapshotNeverSeenBefore) {
  store::SnapshotInfo a = Snap("snap-a");
  SnapshotIndex index(store_.get());
  auto found = index.Find(a.id);
  ASSERT_OK(found.status());
  EXPECT_EQ(found->name, "snap-a");
  EXPECT_EQ(found->size_bytes, 1u << 20);
  EXPECT_TRUE(index.Find(a.id + 100).status().IsNotFound());
}

TEST_F(SnapshotIndexTest, SeesSnapshotsMadeAfterAListing) {
  SnapshotIndex index(store_.get());
  store::SnapshotInfo a = Snap("snap-a");
  index.RememberAll(store_->ListSnapshots());
  store::SnapshotInfo b = Snap("snap-b");
  auto found = index.Find(b.id);
  ASSERT_OK(found.status());
  EXPECT_EQ(found->name, "snap-b");
  ASSERT_OK(index.Find(a.id).status());
}

TEST_F(SnapshotIndexTest, ADeletedSnapshotIsGoneEvenIfItsNameIsReused) {
  SnapshotIndex index(store_.get());
  store::SnapshotInfo a = Snap("snap-a");
  index.RememberAll(store_->ListSnapshots());
  ASSERT_OK(store_->DeleteSnapshot("snap-a"));
  store::SnapshotInfo again = Snap("snap-a");
  ASSERT_NE(again.id, a.id);
  EXPECT_TRUE(index.Find(a.id).status().IsNotFound());
  auto found = index.Find(again.id);
  ASSERT_OK(found.status());
  EXPECT_EQ(found->name, "snap-a");
  EXPECT_EQ(index.size(), 1u);
}

TEST_F(SnapshotIndexTest, AListingDropsSnapshotsDeletedSince) {
  SnapshotIndex index(store_.get());
  store::SnapshotInfo a = Snap("snap-a");
  store::SnapshotInfo b = Snap("snap-b");
  index.RememberAll(store_->ListSnapshots());
  EXPECT_EQ(index.size(), 2u);
  ASSERT_OK(store_->DeleteSnapshot("snap-a"));
  index.RememberAll(store_->ListSnapshots());
  EXPECT_EQ(index.size(), 1u);
  EXPECT_TRUE(index.Find(a.id).status().IsNotFound());
  ASSERT_OK(index.Find(b.id).status());
}

}  // namespace
}  // namespace clonefs::fs
