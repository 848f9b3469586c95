#include "fs/snapshot_index.h"

#include <gtest/gtest.h>

#include <memory>

#include "tests/testing/testing.h"

namespace clonefs::fs {
namespace {

class SnapshotIndexTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = tmp_.path() + "/store";
    ASSERT_OK(store::Store::Create(dir_, "us-east-1", Env::Default()));
    store::StoreOptions options;
    options.background_threads = false;
    auto opened = store::Store::Open(dir_, options);
    ASSERT_OK(opened.status());
    store_ = std::move(opened).value();
    store::VolumeOptions vo;
    vo.size_bytes = 1 << 20;
    ASSERT_OK(store_->CreateVolume("vol", vo).status());
  }

  store::SnapshotInfo Snap(const std::string& name) {
    auto s = store_->CreateSnapshot("vol", name, {});
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    return s.ok() ? *s : store::SnapshotInfo{};
  }

  clonefs::testing::TempDir tmp_;
  std::string dir_;
  std::unique_ptr<store::Store> store_;
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
