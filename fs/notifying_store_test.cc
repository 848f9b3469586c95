#include "fs/notifying_store.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "tests/testing/testing.h"

namespace clonefs::fs {
namespace {

class NotifyingStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = tmp_.path() + "/store";
    ASSERT_OK(store::Store::Create(dir_, "us-east-1", Env::Default()));
    store::StoreOptions options;
    options.background_threads = false;
    auto opened = store::Store::Open(dir_, options);
    ASSERT_OK(opened.status());
    base_ = std::move(opened).value();
    store_ = std::make_unique<NotifyingStore>(base_.get());
    store_->SetChangeListener([this](const store::VolumeInfo& v, bool deleted) {
      events_.push_back("volume " + v.name + (deleted ? " deleted" : " changed"));
    });
    store_->SetSnapshotListener([this](const store::SnapshotInfo& s, bool deleted) {
      events_.push_back("snapshot " + s.name + "#" + std::to_string(s.id) +
                        (deleted ? " deleted" : " created"));
    });
  }

  clonefs::testing::TempDir tmp_;
  std::string dir_;
  std::unique_ptr<store::Store> base_;
  std::unique_ptr<NotifyingStore> store_;
  std::vector<std::string> events_;
};

TEST_F(NotifyingStoreTest, ReportsVolumeAndSnapshotChanges) {
  store::VolumeOptions vo;
  vo.size_bytes = 1 << 20;
  ASSERT_OK(store_->CreateVolume("vol", vo).status());
  auto snap = store_->CreateSnapshot("vol", "snap", {});
  ASSERT_OK(snap.status());
  ASSERT_OK(store_->DeleteSnapshot("snap"));
  ASSERT_OK(store_->DeleteVolume("vol"));
  const std::string id = std::to_string(snap->id);
  EXPECT_EQ(events_,
            (std::vector<std::string>{"volume vol changed", "snapshot snap#" + id + " created",
                                      "snapshot snap#" + id + " deleted", "volume vol deleted"}));
}

TEST_F(NotifyingStoreTest, FailuresReportNothing) {
  EXPECT_FALSE(store_->CreateSnapshot("missing", "snap", {}).ok());
  EXPECT_TRUE(store_->DeleteSnapshot("snap").IsNotFound());
  EXPECT_TRUE(events_.empty());
}

TEST_F(NotifyingStoreTest, AnOpenSnapshotCannotBeDeleted) {
  store::VolumeOptions vo;
  vo.size_bytes = 1 << 20;
  ASSERT_OK(store_->CreateVolume("vol", vo).status());
  ASSERT_OK(store_->CreateSnapshot("vol", "snap", {}).status());
  events_.clear();
  {
    auto h = store_->OpenSnapshot("snap");
    ASSERT_OK(h.status());
    EXPECT_TRUE((*h)->read_only());
    EXPECT_EQ(store_->DeleteSnapshot("snap").code(), Status::Code::kInvalidState);
    EXPECT_EQ(store_->DeleteVolume("vol").code(), Status::Code::kOk);  // hidden, kept for snap
  }
  EXPECT_TRUE(events_.size() == 1u && events_[0] == "volume vol deleted");
  ASSERT_OK(store_->DeleteSnapshot("snap"));
  EXPECT_EQ(events_.size(), 2u);
}

TEST_F(NotifyingStoreTest, ForwardsReads) {
  EXPECT_EQ(store_->info().region, "us-east-1");
  EXPECT_TRUE(store_->ListVolumes().empty());
  EXPECT_TRUE(store_->ListSnapshots().empty());
}

}  // namespace
}  // namespace clonefs::fs
