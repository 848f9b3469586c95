// The store's side of automated backups: policies persist, automated snapshots are their own
// kind with names no manual snapshot can take.
#include <gtest/gtest.h>

#include "base/error_names.h"
#include "store/store.h"
#include "tests/testing/store_fixture.h"

namespace clonefs::store {
namespace {

using BackupsTest = clonefs::testing::StoreTest;

VolumeOptions Small() {
  VolumeOptions o;
  o.size_bytes = 1 << 20;
  return o;
}

TEST_F(BackupsTest, PoliciesAreSetAtCreateAndChangedAndSurviveReopen) {
  Result<VolumeInfo> plain = store_->CreateVolume("plain", Small());
  ASSERT_OK(plain.status());
  EXPECT_EQ(plain->backup.retention_days, 1u);
  EXPECT_EQ(plain->backup.window, DefaultBackupWindow(plain->id));

  VolumeOptions o = Small();
  o.backup_retention_days = 7;
  o.backup_window = *ParseBackupWindow("23:45-00:30");
  Result<VolumeInfo> db = store_->CreateVolume("db", o);
  ASSERT_OK(db.status());
  EXPECT_EQ(db->backup, (BackupPolicy{7, *o.backup_window}));

  const BackupPolicy next{35, *ParseBackupWindow("04:00-04:30")};
  ASSERT_OK(store_->SetBackupPolicy("db", next).status());
  Reopen();
  EXPECT_EQ(store_->GetVolume("db")->backup, next);
  EXPECT_EQ(store_->GetVolume("plain")->backup, plain->backup);
  // A clone has backups of its own, with the defaults.
  Result<VolumeInfo> clone = store_->CloneVolume("db", "db-clone");
  ASSERT_OK(clone.status());
  EXPECT_EQ(clone->backup, (BackupPolicy{1, DefaultBackupWindow(clone->id)}));
}

TEST_F(BackupsTest, BadPoliciesChangeNothing) {
  VolumeOptions o = Small();
  o.backup_retention_days = 36;
  EXPECT_EQ(store_->CreateVolume("db", o).status().code(), Status::Code::kInvalidArgument);
  EXPECT_ERROR_NAME(store_->GetVolume("db"), errors::kVolumeNotFound);
  ASSERT_OK(store_->CreateVolume("db", Small()).status());
  const BackupPolicy before = store_->GetVolume("db")->backup;
  EXPECT_FALSE(store_->SetBackupPolicy("db", BackupPolicy{0, before.window}).ok());
  EXPECT_FALSE(store_->SetBackupPolicy("db", BackupPolicy{3, BackupWindow{60, 70}}).ok());
  EXPECT_ERROR_NAME(store_->SetBackupPolicy("nope", before), errors::kVolumeNotFound);
  Reopen();
  EXPECT_EQ(store_->GetVolume("db")->backup, before);
}

TEST_F(BackupsTest, AutomatedSnapshotsAreTheirOwnKindAndKeepTheirRetention) {
  VolumeOptions o = Small();
  o.backup_retention_days = 5;
  ASSERT_OK(store_->CreateVolume("db", o).status());
  const std::string name = "auto:db-2026-12-07-03-14";
  Result<SnapshotInfo> s = store_->CreateAutomatedSnapshot("db", name);
  ASSERT_OK(s.status());
  EXPECT_EQ(s->type, SnapshotType::kAutomated);
  EXPECT_EQ(s->backup_retention_days, 5u);
  // Names cross neither way.
  EXPECT_EQ(store_->CreateSnapshot("db", "auto:db-2026-12-07-03-15", {}).status().code(),
            Status::Code::kInvalidArgument);
  EXPECT_EQ(store_->CreateAutomatedSnapshot("db", "manual").status().code(),
            Status::Code::kInvalidArgument);
  EXPECT_ERROR_NAME(store_->CreateAutomatedSnapshot("db", name), errors::kSnapshotAlreadyExists);
  ASSERT_OK(
      store_->CreateAutomatedSnapshot("db", "123456789012.auto:db-2026-12-07-03-14").status());
  Reopen();
  Result<SnapshotInfo> back = store_->GetSnapshot(name);
  ASSERT_OK(back.status());
  EXPECT_EQ(back->type, SnapshotType::kAutomated);
  EXPECT_EQ(back->backup_retention_days, 5u);
}

}  // namespace
}  // namespace clonefs::store
