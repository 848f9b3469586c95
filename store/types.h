// The value types every room of the store speaks: what the catalog records about volumes,
// snapshots and the store itself. Plain values: copies, not live views.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/result.h"
#include "base/tags.h"
#include "store/backup_policy.h"

namespace clonefs::store {

enum class Compression : uint8_t { kNone = 0, kZstd = 1 };
std::string_view CompressionName(Compression c);
Result<Compression> ParseCompression(std::string_view name);  // "none" | "zstd"

// A volume's state. kDeleted: hidden from every name lookup, kept while clones or snapshots
// still read its pages.
// kImporting: the hidden volume a SnapshotImport fills; never visible, removed at the next open
// if the store stopped before the import was committed.
enum class VolumeStatus : uint8_t { kAvailable, kDeleted, kImporting };
std::string_view VolumeStatusName(VolumeStatus s);  // "available" | "deleted" | "importing"
Result<VolumeStatus> ParseVolumeStatus(std::string_view name);

// How a snapshot came to be (Aurora's SnapshotType): taken by a user, or by the backup schedule.
enum class SnapshotType : uint8_t { kManual, kAutomated };
std::string_view SnapshotTypeName(SnapshotType t);  // "manual" | "automated"
Result<SnapshotType> ParseSnapshotType(std::string_view name);

// A snapshot's state. kCreating: a copy still being filled; kDeleted: only in a delete's answer.
enum class SnapshotStatus : uint8_t { kAvailable, kCreating, kDeleted };
std::string_view SnapshotStatusName(SnapshotStatus s);  // "available" | "creating" | "deleted"
Result<SnapshotStatus> ParseSnapshotStatus(std::string_view name);

constexpr uint32_t kDefaultPageSize = 4096;
constexpr uint32_t kMinPageSize = 4096;
constexpr uint32_t kMaxPageSize = 65536;
constexpr uint64_t kMaxVolumeBytes = 1ull << 50;  // 1 PiB: far beyond any test, well inside u64

// Tags in the order first given (base/tags.h has the rules; the store keeps what it is given).
using Tags = tags::TagList;

struct VolumeInfo {
  uint64_t id = 0;  // never reused within a store; stable inode material for fs/
  std::string name;
  uint64_t size_bytes = 0;
  uint32_t page_size = kDefaultPageSize;
  Compression compression = Compression::kNone;
  uint64_t create_time_us = 0;
  uint64_t epoch = 1;           // the epoch new writes go to; from a store-wide counter
  uint64_t lineage_id = 0;      // the root volume of its clone lineage (its own id for a root)
  uint64_t parent_id = 0;       // for a clone: the volume it was cloned from (0 for a root)
  uint64_t parent_epoch = 0;    // for a clone: the parent's epoch it sees
  std::string source_snapshot;  // for a restore: the snapshot's name
  VolumeStatus status = VolumeStatus::kAvailable;
  bool encrypted = false;
  std::string kms_key_id;  // the KMS key ("key-" + 16 hex) wrapping its data keys, if encrypted
  Tags tags;
  // Automated backups; a volume made before these existed reads the defaults (its window
  // DefaultBackupWindow(id)).
  BackupPolicy backup;
};

// A read-only, point-in-time image of a volume.
struct SnapshotInfo {
  uint64_t id = 0;
  std::string name;
  uint64_t volume_id = 0;
  std::string volume_name;  // the source volume's name when the snapshot was taken
  uint64_t lineage_id = 0;
  uint64_t epoch = 0;  // the volume's epoch it shows
  uint64_t size_bytes = 0;
  uint32_t page_size = kDefaultPageSize;
  Compression compression = Compression::kNone;
  uint64_t create_time_us = 0;
  SnapshotType type = SnapshotType::kManual;
  SnapshotStatus status = SnapshotStatus::kAvailable;
  Tags tags;
  bool encrypted = false;  // as its volume: a snapshot reads with the volume's key ring
  std::string kms_key_id;
  // A snapshot copied or imported from elsewhere: the source snapshot's ARN, and its identity
  // as export streams give it (exportfmt::IdentityText), which incremental imports check.
  std::string source_snapshot_arn;
  std::string source_identity;
  // An automated snapshot: its volume's retention when it was taken, which decides its expiry
  // once the volume is gone (while it exists, the volume's current retention does).
  uint32_t backup_retention_days = 0;
};

// A moment a volume can be restored to (point-in-time restore): its image then was what a
// read at `epoch` sees (epoch 0: nothing of its own, the image it was created with), and it
// was `size_bytes` long.
struct RestorePoint {
  uint64_t time_us = 0;  // wall clock (Env::NowMicros), never decreasing along a volume's points
  uint64_t epoch = 0;
  uint64_t size_bytes = 0;
};

// Aurora: at most 15 copy-on-write clones per lineage (clones of clones included).
constexpr int kMaxClonesPerLineage = 15;

struct StoreInfo {
  std::string dir;
  std::string region;
  std::string account_id;  // 12 digits: the store owner's account
  uint32_t format_version = 0;
  std::string store_uuid;  // 32 hex digits, random at creation; bound into every sealed record
};

// Aurora identifier rules: 1-63 letters, digits and hyphens; first a letter; no trailing
// hyphen; no two consecutive hyphens. `kind` ("volume", "snapshot") goes into the message.
Status ValidateName(std::string_view name, std::string_view kind);
// True when `id` is an account id: exactly 12 ASCII digits (leading zeros allowed). The
// messages for anything else are store/access/account_id.h's.
bool IsAccountId(std::string_view id);
// A name as the store keeps it: a typed name (ValidateName) or, for a resource of an account
// other than the store owner's, ACCOUNT.NAME (12 digits, a dot, a typed name; see
// store/access/store_names.h). What the store engine checks; commands check typed names.
Status ValidateStoreName(std::string_view name, std::string_view kind);
// The store name of an automated snapshot: [ACCOUNT.]auto:VOLUME-YYYY-MM-DD-HH-MM.
Status ValidateAutomatedSnapshotStoreName(std::string_view name);
// The account that owns the resource a store name names: ACCOUNT of ACCOUNT.NAME, or empty for
// a plain name (the store owner's). A hidden volume's name (PREFIX:NAME) is that of NAME.
std::string_view AccountOfStoreName(std::string_view name);
// InvalidArgument unless `size` is a multiple of 512 bytes and at most 1 PiB.
Status ValidateVolumeSize(uint64_t size);
// InvalidArgument unless `page_size` is a power of two from 4096 to 65536.
Status ValidatePageSize(uint32_t page_size);

}  // namespace clonefs::store
