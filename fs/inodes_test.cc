#include "fs/inodes.h"

#include <gtest/gtest.h>

#include <initializer_list>

namespace clonefs::fs {
namespace {

TEST(Inodes, FixedDirectories) {
  EXPECT_EQ(KindOf(kRootIno), InodeKind::kRoot);
  EXPECT_EQ(KindOf(kVolumesDirIno), InodeKind::kVolumesDir);
  EXPECT_EQ(KindOf(kSnapshotsDirIno), InodeKind::kSnapshotsDir);
  EXPECT_EQ(KindOf(0), InodeKind::kInvalid);
  EXPECT_EQ(KindOf(kSharedDirIno), InodeKind::kSharedDir);
  EXPECT_EQ(KindOf(5), InodeKind::kInvalid);
  EXPECT_EQ(KindOf(15), InodeKind::kInvalid);
  EXPECT_TRUE(IsDirectory(kRootIno));
  EXPECT_FALSE(IsDirectory(VolumeIno(1)));
}

TEST(Inodes, VolumesAndSnapshotsNeverCollide) {
  for (uint64_t id : std::initializer_list<uint64_t>{0, 1, 2, 1000, 1ull << 32, kMaxObjectId}) {
    Ino v = VolumeIno(id);
    Ino s = SnapshotIno(id);
    EXPECT_NE(v, s);
    EXPECT_GE(v, kFirstObjectIno);
    EXPECT_EQ(KindOf(v), InodeKind::kVolume) << id;
    EXPECT_EQ(KindOf(s), InodeKind::kSnapshot) << id;
    EXPECT_EQ(ObjectIdOf(v), id);
    EXPECT_EQ(ObjectIdOf(s), id);
  }
  EXPECT_NE(VolumeIno(1), SnapshotIno(0));
}

TEST(Inodes, SharedAccountDirectoriesTakeTheOtherKindSlots) {
  constexpr uint64_t kAccount = 999999999999;  // the largest account id
  EXPECT_EQ(KindOf(AccountDirIno(kAccount)), InodeKind::kAccountDir);
  EXPECT_EQ(KindOf(AccountSnapshotsIno(kAccount)), InodeKind::kAccountSnapshotsDir);
  EXPECT_EQ(ObjectIdOf(AccountDirIno(kAccount)), kAccount);
  EXPECT_EQ(ObjectIdOf(AccountSnapshotsIno(0)), 0u);
  EXPECT_TRUE(IsDirectory(AccountDirIno(1)));
  EXPECT_TRUE(IsDirectory(AccountSnapshotsIno(1)));
  EXPECT_TRUE(IsDirectory(kSharedDirIno));
  EXPECT_FALSE(IsDirectory(SnapshotIno(1)));
  EXPECT_NE(AccountDirIno(3), VolumeIno(3));
  EXPECT_NE(AccountSnapshotsIno(3), SnapshotIno(3));
}

}  // namespace
}  // namespace clonefs::fs
