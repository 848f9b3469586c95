#include "fs/notifying_store.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "tests/testing/store_fixture.h"

namespace clonefs::fs {
namespace {

class NotifyingStoreTest : public clonefs::testing::StoreTest {
 protected:
  void SetUp() override {
    StoreTest::SetUp();  // the store being wrapped: base_
    base_ = std::move(StoreTest::store_);
    notifying_ = std::make_unique<NotifyingStore>(base_.get());
    notifying_->SetChangeListener([this](const store::VolumeInfo& v, bool deleted) {
      events_.push_back("volume " + v.name + (deleted ? " deleted" : " changed"));
    });
    notifying_->SetSnapshotListener([this](const store::SnapshotInfo& s, bool deleted) {
      events_.push_back("snapshot " + s.name + "#" + std::to_string(s.id) +
                        (deleted ? " deleted" : " created"));
    });
  }

  std::unique_ptr<store::Store> base_;
  std::unique_ptr<NotifyingStore> notifying_;
  std::vector<std::string> events_;
};

TEST_F(NotifyingStoreTest, ReportsVolumeAndSnapshotChanges) {
  store::VolumeOptions vo;
  vo.size_bytes = 1 << 20;
  ASSERT_OK(notifying_->CreateVolume("vol", vo).status());
  auto snap = notifying_->CreateSnapshot("vol", "snap", {});
  ASSERT_OK(snap.status());
  ASSERT_OK(notifying_->DeleteSnapshot("snap"));
  ASSERT_OK(notifying_->DeleteVolume("vol"));
  const std::string id = std::to_string(snap->id);
  EXPECT_EQ(events_,
            (std::vector<std::string>{"volume vol changed", "snapshot snap#" + id + " created",
                                      "snapshot snap#" + id + " deleted", "volume vol deleted"}));
}

TEST_F(NotifyingStoreTest, FailuresReportNothing) {
  EXPECT_FALSE(notifying_->CreateSnapshot("missing", "snap", {}).ok());
  EXPECT_TRUE(notifying_->DeleteSnapshot("snap").IsNotFound());
  EXPECT_TRUE(events_.empty());
}

TEST_F(NotifyingStoreTest, AnOpenSnapshotCannotBeDeleted) {
  store::VolumeOptions vo;
  vo.size_bytes = 1 << 20;
  ASSERT_OK(notifying_->CreateVolume("vol", vo).status());
  ASSERT_OK(notifying_->CreateSnapshot("vol", "snap", {}).status());
  events_.clear();
  {
    auto h = notifying_->OpenSnapshot("snap");
    ASSERT_OK(h.status());
    EXPECT_TRUE((*h)->read_only());
    EXPECT_EQ(notifying_->DeleteSnapshot("snap").code(), Status::Code::kInvalidState);
    EXPECT_EQ(notifying_->DeleteVolume("vol").code(), Status::Code::kOk);  // hidden, kept for snap
  }
  EXPECT_TRUE(events_.size() == 1u && events_[0] == "volume vol deleted");
  ASSERT_OK(notifying_->DeleteSnapshot("snap"));
  EXPECT_EQ(events_.size(), 2u);
}

TEST_F(NotifyingStoreTest, ForwardsReads) {
  EXPECT_EQ(notifying_->info().region, "us-east-1");
  EXPECT_TRUE(notifying_->ListVolumes().empty());
  EXPECT_TRUE(notifying_->ListSnapshots().empty());
}

}  // namespace
}  // namespace clonefs::fs
