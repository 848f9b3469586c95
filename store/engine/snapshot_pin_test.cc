// SnapshotPin: a reader of a snapshot that survives the snapshot's deletion (what a copy in
// progress holds), and gives its pages back when it goes.
#include <gtest/gtest.h>

#include <string>

#include "tests/testing/store_fixture.h"

namespace clonefs::store {
namespace {

using clonefs::testing::Pattern;

constexpr uint64_t kPage = 4096;
constexpr uint64_t kPages = 256;  // 1 MiB written

class SnapshotPinTest : public clonefs::testing::StoreTest {
 protected:
  void SetUp() override {
    StoreTest::SetUp();
    VolumeOptions vo;
    vo.size_bytes = 64ull << 20;
    ASSERT_TRUE(store_->CreateVolume("v", vo).ok());
    Fill(1);
    ASSERT_TRUE(store_->CreateSnapshot("v", "s", {}).ok());
  }
  void Fill(uint64_t seed) {
    auto h = store_->OpenVolume("v");
    ASSERT_TRUE(h.ok());
    ASSERT_OK((*h)->Write(0, Pattern(seed, kPages * kPage)));
    ASSERT_OK((*h)->Sync());
  }
  std::string ReadAll(VolumeHandle& h) {
    std::string buf(kPages * kPage, '\0');
    EXPECT_OK(h.Read(0, buf.size(), buf.data()));
    return buf;
  }
};

TEST_F(SnapshotPinTest, ADeletedSnapshotStaysReadableThroughItsPinEvenAfterGc) {
  auto pin = store_->PinSnapshot("s");
  ASSERT_TRUE(pin.ok()) << pin.status().ToString();
  EXPECT_EQ((*pin)->info().name, "s");
  // The delete is not held off, and takes the name at once.
  ASSERT_OK(store_->DeleteSnapshot("s"));
  EXPECT_EQ(store_->GetSnapshot("s").status().ErrorName(), "SnapshotNotFound");
  EXPECT_EQ(store_->PinSnapshot("s").status().ErrorName(), "SnapshotNotFound");
  // Overwrite and delete everything else that reads those pages, then collect garbage.
  Fill(2);
  ASSERT_OK(store_->DeleteVolume("v"));
  ASSERT_OK(store_->CollectGarbage());
  EXPECT_EQ(ReadAll((*pin)->reader()), Pattern(1, kPages * kPage));
  uint64_t data_pages = 0;
  ASSERT_OK(store_->VisitPinnedChanges(**pin, nullptr, [&](const PageRun& r) {
    data_pages += r.count;
    return Status::OK();
  }));
  EXPECT_EQ(data_pages, kPages);
  const uint64_t live_pinned = store_->GetUsage().live_bytes;
  EXPECT_GE(live_pinned, kPages * kPage);
  // The last pin gone, the pages are garbage.
  pin->reset();
  ASSERT_OK(store_->CollectGarbage());
  EXPECT_LT(store_->GetUsage().live_bytes, kPage);
}

TEST_F(SnapshotPinTest, TheNameOfADeletedPinnedSnapshotCanBeTakenAgain) {
  auto pin = store_->PinSnapshot("s");
  ASSERT_TRUE(pin.ok());
  ASSERT_OK(store_->DeleteSnapshot("s"));
  Fill(3);
  ASSERT_TRUE(store_->CreateSnapshot("v", "s", {}).ok());
  auto now = store_->OpenSnapshot("s");
  ASSERT_TRUE(now.ok());
  EXPECT_EQ(ReadAll(**now), Pattern(3, kPages * kPage));
  EXPECT_EQ(ReadAll((*pin)->reader()), Pattern(1, kPages * kPage));
}

TEST_F(SnapshotPinTest, AnOpenHandleStillHoldsOffDeleteAndAPinDoesNot) {
  {
    auto h = store_->OpenSnapshot("s");
    ASSERT_TRUE(h.ok());
    EXPECT_EQ(store_->DeleteSnapshot("s").ErrorName(), "InvalidSnapshotState");
  }
  auto pin = store_->PinSnapshot("s");
  ASSERT_TRUE(pin.ok());
  EXPECT_OK(store_->DeleteSnapshot("s"));
}

TEST_F(SnapshotPinTest, ARestartDropsWhatOnlyAPinHeld) {
  auto pin = store_->PinSnapshot("s");
  ASSERT_TRUE(pin.ok());
  ASSERT_OK(store_->DeleteSnapshot("s"));
  Fill(4);
  ASSERT_OK(store_->DeleteVolume("v"));
  // A crash-like stop while the pin lives: the snapshot is durably gone, and so is the
  // volume that only it kept.
  // The store goes first; the pin is left alive (reachable, never destroyed) as a crash would.
  static SnapshotPin* const kept = pin->release();
  (void)kept;
  Reopen();
  EXPECT_EQ(store_->GetSnapshot("s").status().ErrorName(), "SnapshotNotFound");
  ASSERT_OK(store_->CollectGarbage());
  EXPECT_LT(store_->GetUsage().live_bytes, kPage);
}

TEST_F(SnapshotPinTest, APinShowsTheSnapshotsEncryptionAfterARestart) {
  UseKeyFile();
  VolumeOptions vo;
  vo.size_bytes = 1 << 20;
  vo.encrypted = true;
  ASSERT_TRUE(store_->CreateVolume("e", vo).ok());
  ASSERT_TRUE(store_->CreateSnapshot("e", "es", {}).ok());
  Reopen();  // the snapshot record itself does not say: its volume does
  auto pin = store_->PinSnapshot("es");
  ASSERT_TRUE(pin.ok()) << pin.status().ToString();
  EXPECT_TRUE((*pin)->info().encrypted);
  EXPECT_FALSE((*pin)->info().kms_key_id.empty());
  EXPECT_EQ((*pin)->info().kms_key_id, store_->GetSnapshot("es")->kms_key_id);
}

}  // namespace
}  // namespace clonefs::store
