// BeginSnapshotImport: a snapshot filled from outside is invisible until committed, whole
// after it (and after a restart), and leaves nothing when given up or cut short by a stop.
#include <gtest/gtest.h>

#include <vector>

#include "tests/testing/store_fixture.h"

namespace clonefs::store {
namespace {

using clonefs::testing::Pattern;

constexpr uint64_t kMiB = 1 << 20;

SnapshotImportOptions Options(uint64_t size = 8 * kMiB) {
  SnapshotImportOptions o;
  o.volume.size_bytes = size;
  o.volume_name = "db";
  o.tags = {{"origin", "us-west-2"}};
  return o;
}

class ImportTest : public clonefs::testing::StoreTest {
 protected:
  std::string ReadSnapshot(const std::string& name, uint64_t n) {
    auto h = store_->OpenSnapshot(name);
    EXPECT_TRUE(h.ok()) << h.status().ToString();
    std::string out(n, 'X');
    if (h.ok()) EXPECT_OK((*h)->Read(0, n, out.data()));
    return out;
  }
  // Nothing of an import shows: no snapshot, no volume, no space held after a checkpoint.
  void ExpectNothingLeft() {
    EXPECT_TRUE(store_->ListSnapshots().empty());
    EXPECT_TRUE(store_->ListVolumes().empty());
    ASSERT_OK(store_->CollectGarbage());
    EXPECT_EQ(store_->GetUsage().live_bytes, 0u);
  }
};

TEST_F(ImportTest, InvisibleUntilCommittedThenWholeAcrossARestart) {
  auto imp = store_->BeginSnapshotImport("copy-1", Options());
  ASSERT_TRUE(imp.ok()) << imp.status().ToString();
  ASSERT_OK((*imp)->volume().Write(0, Pattern(1, 2 * kMiB)));
  ASSERT_OK((*imp)->volume().Discard(kMiB, 4096));
  EXPECT_TRUE(store_->ListSnapshots().empty());
  EXPECT_TRUE(store_->ListVolumes().empty());
  EXPECT_ERROR_NAME(store_->GetSnapshot("copy-1"), "SnapshotNotFound");
  // The name is taken while the import runs.
  VolumeOptions vo;
  vo.size_bytes = kMiB;
  ASSERT_TRUE(store_->CreateVolume("v", vo).ok());
  EXPECT_ERROR_NAME(store_->CreateSnapshot("v", "copy-1", {}), "SnapshotAlreadyExists");
  EXPECT_ERROR_NAME(store_->BeginSnapshotImport("copy-1", Options()), "SnapshotAlreadyExists");

  auto s = (*imp)->Commit();
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(s->type, SnapshotType::kManual);
  EXPECT_EQ(s->volume_name, "db");
  EXPECT_EQ(s->size_bytes, 8 * kMiB);
  EXPECT_EQ(s->tags, Options().tags);
  EXPECT_FALSE((*imp)->Commit().ok());  // once
  imp->reset();                         // committed: destroying it keeps the snapshot
  std::string want = Pattern(1, 2 * kMiB);
  std::fill(want.begin() + kMiB, want.begin() + kMiB + 4096, '\0');
  EXPECT_EQ(ReadSnapshot("copy-1", 2 * kMiB), want);
  EXPECT_EQ(store_->ListVolumes().size(), 1u);  // only "v": the import's volume stays hidden
  Reopen();
  EXPECT_EQ(ReadSnapshot("copy-1", 2 * kMiB), want);
  EXPECT_EQ(store_->ListVolumes().size(), 1u);
  // Deleting the snapshot frees everything it held.
  ASSERT_OK(store_->DeleteSnapshot("copy-1"));
  ASSERT_OK(store_->DeleteVolume("v"));
  ExpectNothingLeft();
}

TEST_F(ImportTest, AnImportGivenUpLeavesNothingAndFreesItsName) {
  {
    auto imp = store_->BeginSnapshotImport("copy-2", Options());
    ASSERT_TRUE(imp.ok());
    ASSERT_OK((*imp)->volume().Write(0, Pattern(2, 4 * kMiB)));
  }  // destroyed without Commit
  ExpectNothingLeft();
  auto again = store_->BeginSnapshotImport("copy-2", Options());
  ASSERT_TRUE(again.ok()) << again.status().ToString();
}

TEST_F(ImportTest, AnImportCutShortByAStopIsGoneAfterTheNextOpen) {
  // Never finished or given up, as if the process died: the store closes under it. A static
  // keeps it reachable, so that LeakSanitizer takes the leak for the deliberate one it is.
  static SnapshotImport* cut_short = nullptr;
  auto imp = store_->BeginSnapshotImport("copy-3", Options());
  ASSERT_TRUE(imp.ok());
  ASSERT_OK((*imp)->volume().Write(0, Pattern(3, 4 * kMiB)));
  ASSERT_OK((*imp)->volume().Sync());
  cut_short = imp->release();
  ASSERT_NE(cut_short, nullptr);
  Reopen();
  ExpectNothingLeft();
  EXPECT_TRUE(store_->BeginSnapshotImport("copy-3", Options()).ok());
}

TEST_F(ImportTest, BadNamesAndSizesChangeNothing) {
  EXPECT_ERROR_NAME(store_->BeginSnapshotImport("1-bad", Options()), "InvalidParameterValue");
  EXPECT_ERROR_NAME(store_->BeginSnapshotImport("ok", Options(1000)), "InvalidParameterValue");
  EXPECT_TRUE(store_->ListSnapshots().empty());
}

TEST_F(ImportTest, AnEncryptedImportIsSealedUnderItsKey) {
  UseKeyFile();
  SnapshotImportOptions o = Options();
  o.volume.encrypted = true;
  auto imp = store_->BeginSnapshotImport("secret", o);
  ASSERT_TRUE(imp.ok()) << imp.status().ToString();
  ASSERT_OK((*imp)->volume().Write(0, Pattern(4, kMiB)));
  auto s = (*imp)->Commit();
  ASSERT_TRUE(s.ok());
  EXPECT_TRUE(s->encrypted);
  EXPECT_FALSE(s->kms_key_id.empty());
  EXPECT_EQ(ReadSnapshot("secret", kMiB), Pattern(4, kMiB));
}

}  // namespace
}  // namespace clonefs::store
