// Volume rename: the name moves, everything else stays, across reopen and under open handles.
#include <gtest/gtest.h>

#include "base/error_names.h"
#include "store/store.h"
#include "tests/testing/store_fixture.h"

namespace clonefs::store {
namespace {

// StoreTest with byte helpers over a fresh open of a volume.
class RenameTest : public clonefs::testing::StoreTest {
 protected:
  Status Write(const std::string& volume, uint64_t offset, std::string_view data) {
    CLONEFS_ASSIGN_OR_RETURN(std::shared_ptr<VolumeHandle> h, store_->OpenVolume(volume));
    return h->Write(offset, data);
  }
  std::string Read(const std::string& volume, uint64_t offset, size_t n) {
    Result<std::shared_ptr<VolumeHandle>> h = store_->OpenVolume(volume);
    if (!h.ok()) return h.status().ToString();
    std::string buf(n, '\0');
    Status s = (*h)->Read(offset, n, buf.data());
    return s.ok() ? buf : s.ToString();
  }
};

VolumeOptions Small() {
  VolumeOptions o;
  o.size_bytes = 1 << 20;
  o.tags = {{"env", "prod"}};
  return o;
}

TEST_F(RenameTest, RenameMovesTheNameAndKeepsEverythingElseAcrossReopen) {
  Result<VolumeInfo> db = store_->CreateVolume("db", Small());
  ASSERT_OK(db.status());
  ASSERT_OK(Write("db", 8192, "before the rename"));
  ASSERT_OK(store_->CreateSnapshot("db", "s1", {}).status());
  ASSERT_OK(store_->CloneVolume("db", "db-clone").status());

  Result<VolumeInfo> renamed = store_->RenameVolume("db", "db2");
  ASSERT_OK(renamed.status());
  EXPECT_EQ(renamed->name, "db2");
  EXPECT_EQ(renamed->id, db->id);
  Reopen();
  EXPECT_ERROR_NAME(store_->GetVolume("db"), errors::kVolumeNotFound);
  Result<VolumeInfo> back = store_->GetVolume("db2");
  ASSERT_OK(back.status());
  EXPECT_EQ(back->id, db->id);
  EXPECT_EQ(back->tags, db->tags);
  EXPECT_EQ(back->size_bytes, db->size_bytes);
  EXPECT_EQ(Read("db2", 8192, 17), "before the rename");
  // The snapshot keeps the name its volume had when it was taken; the clone keeps its parent.
  EXPECT_EQ(store_->GetSnapshot("s1")->volume_name, "db");
  EXPECT_EQ(store_->GetVolume("db-clone")->parent_id, db->id);
  // The old name is free for a new volume.
  Result<VolumeInfo> again = store_->CreateVolume("db", Small());
  ASSERT_OK(again.status());
  EXPECT_NE(again->id, db->id);
}

TEST_F(RenameTest, RenameUnderAnOpenHandleKeepsItWorking) {
  ASSERT_OK(store_->CreateVolume("db", Small()).status());
  Result<std::shared_ptr<VolumeHandle>> h = store_->OpenVolume("db");
  ASSERT_OK(h.status());
  ASSERT_OK(store_->RenameVolume("db", "db2").status());
  ASSERT_OK((*h)->Write(0, "written through the old open"));
  EXPECT_EQ(Read("db2", 0, 28), "written through the old open");
  EXPECT_EQ((*h)->info().name, "db");  // as of open
}

TEST_F(RenameTest, RenameRefusalsChangeNothing) {
  ASSERT_OK(store_->CreateVolume("db", Small()).status());
  ASSERT_OK(store_->CreateVolume("other", Small()).status());
  EXPECT_ERROR_NAME(store_->RenameVolume("db", "other"), errors::kVolumeAlreadyExists);
  EXPECT_ERROR_NAME(store_->RenameVolume("nope", "fresh"), errors::kVolumeNotFound);
  EXPECT_FALSE(store_->RenameVolume("db", "bad name").ok());
  EXPECT_FALSE(store_->RenameVolume("db", "-x").ok());
  // A rename never moves a volume to another account.
  EXPECT_FALSE(store_->RenameVolume("db", "123456789012.db").ok());
  ASSERT_OK(store_->DeleteVolume("other"));
  EXPECT_ERROR_NAME(store_->RenameVolume("other", "fresh"), errors::kVolumeNotFound);
  Reopen();
  EXPECT_OK(store_->GetVolume("db").status());
  EXPECT_ERROR_NAME(store_->GetVolume("fresh"), errors::kVolumeNotFound);
  EXPECT_EQ(store_->ListVolumes().size(), 1u);
}

TEST_F(RenameTest, RenameToItsOwnNameIsANoOp) {
  ASSERT_OK(store_->CreateVolume("db", Small()).status());
  Result<VolumeInfo> v = store_->RenameVolume("db", "db");
  ASSERT_OK(v.status());
  EXPECT_EQ(v->name, "db");
}

}  // namespace
}  // namespace clonefs::store
