// inodes: how the mount numbers its inodes.
//
// Inode numbers are derived, never allocated: the fixed directories have small numbers and
// every volume and snapshot gets an inode computed from its catalog id, which the
// store never reuses. So the mount keeps no inode table, FORGET is a no-op, and an inode
// number stays valid (or stays dead) across remounts.
//
//   1          the root directory, holding volumes/ and snapshots/ (and shared/)
//   2          volumes/    one regular file per volume
//   3          snapshots/  one read-only regular file per snapshot
//   4          shared/     what other accounts share (a mount with an AccessPolicy)
//   5..15      reserved for future fixed directories
//   16 + 4*id + kind      an object of `kind`: 0 = volume, 1 = snapshot (id: catalog id);
//                         2 = shared/ACCOUNT, 3 = shared/ACCOUNT/snapshots (id: the account
//                         id's number)
//
// Interleaving the kinds (instead of giving each a fixed range) keeps every id representable
// without any limit on how large ids grow. Header-only constexpr helpers; thread-safe.
#pragma once

#include <cstdint>

namespace clonefs::fs {

using Ino = uint64_t;

inline constexpr Ino kRootIno = 1;
inline constexpr Ino kVolumesDirIno = 2;
inline constexpr Ino kSnapshotsDirIno = 3;
inline constexpr Ino kSharedDirIno = 4;
inline constexpr Ino kFirstObjectIno = 16;
inline constexpr uint64_t kKindSlots = 4;
// Largest catalog id that still maps to an inode without overflowing 64 bits.
inline constexpr uint64_t kMaxObjectId = (~0ull - kFirstObjectIno) / kKindSlots - 1;

enum class InodeKind : uint8_t {
  kInvalid,
  kRoot,
  kVolumesDir,
  kSnapshotsDir,
  kSharedDir,
  kVolume,
  kSnapshot,
  kAccountDir,           // shared/ACCOUNT
  kAccountSnapshotsDir,  // shared/ACCOUNT/snapshots
};

inline constexpr Ino VolumeIno(uint64_t volume_id) {
  return kFirstObjectIno + volume_id * kKindSlots + 0;
}
inline constexpr Ino SnapshotIno(uint64_t snapshot_id) {
  return kFirstObjectIno + snapshot_id * kKindSlots + 1;
}
// `account` is an account id read as a number (12 digits fit any id slot).
inline constexpr Ino AccountDirIno(uint64_t account) {
  return kFirstObjectIno + account * kKindSlots + 2;
}
inline constexpr Ino AccountSnapshotsIno(uint64_t account) {
  return kFirstObjectIno + account * kKindSlots + 3;
}

inline constexpr InodeKind KindOf(Ino ino) {
  switch (ino) {
    case kRootIno:
      return InodeKind::kRoot;
    case kVolumesDirIno:
      return InodeKind::kVolumesDir;
    case kSnapshotsDirIno:
      return InodeKind::kSnapshotsDir;
    case kSharedDirIno:
      return InodeKind::kSharedDir;
    default:
      break;
  }
  if (ino < kFirstObjectIno) return InodeKind::kInvalid;
  switch ((ino - kFirstObjectIno) % kKindSlots) {
    case 0:
      return InodeKind::kVolume;
    case 1:
      return InodeKind::kSnapshot;
    case 2:
      return InodeKind::kAccountDir;
    default:
      return InodeKind::kAccountSnapshotsDir;
  }
}

// The catalog id of a volume or snapshot inode. REQUIRES: ino >= kFirstObjectIno
inline constexpr uint64_t ObjectIdOf(Ino ino) { return (ino - kFirstObjectIno) / kKindSlots; }

inline constexpr bool IsDirectory(Ino ino) {
  InodeKind k = KindOf(ino);
  return k != InodeKind::kInvalid && k != InodeKind::kVolume && k != InodeKind::kSnapshot;
}

}  // namespace clonefs::fs
