// The MetaDb key space: every key prefix the store writes, in one place (docs/FORMAT.md,
// "Metadata"). Numbers in keys are big-endian, so that bytewise order is numeric order.
//
//   v + BE64(volume id)                      volume record (JSON, catalog_codec.h)
//   n + BE64(snapshot id)                    snapshot record (JSON)
//   k + BE64(volume id) + BE64(data key id)  a volume's wrapped data key
//   l + BE32(segment)                        live record bytes of a segment (LE64)
//   m + BE64(lineage) + BE64(block) + BE64(~epoch) + BE64(volume)   page-map block (page_map.h)
//   r + BE64(volume id) + BE64(epoch)        a restore point (restore_points.cc)
//   s/<name>                                 store state: checkpoint, id and epoch counters
//   d/<name>                                 a document kept for the layers above
//   (Store::SaveDocument)
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "base/coding.h"
#include "store/meta/meta_db.h"

namespace clonefs::store::keys {

inline constexpr char kVolume = 'v';
inline constexpr char kSnapshot = 'n';
inline constexpr char kKeyRing = 'k';
inline constexpr char kLive = 'l';
inline constexpr char kMap = 'm';
inline constexpr char kRestorePoint = 'r';

inline constexpr char kCheckpoint[] = "s/checkpoint";
inline constexpr char kNextVolumeId[] = "s/next_volume_id";
inline constexpr char kNextEpoch[] = "s/next_epoch";  // BE64: the store-wide epoch counter
inline constexpr char kNextSnapshotId[] = "s/next_snapshot_id";

inline constexpr char kDocumentPrefix[] = "d/";
inline std::string DocumentKey(std::string_view name) {
  return kDocumentPrefix + std::string(name);
}

// The key of one object, or the prefix of every key of a kind ("...Prefix").
inline std::string Tagged(char tag, uint64_t id) {
  std::string k(1, tag);
  AppendBE64(&k, id);
  return k;
}
inline std::string VolumePrefix() { return std::string(1, kVolume); }
inline std::string VolumeKey(uint64_t id) { return Tagged(kVolume, id); }
inline std::string SnapshotPrefix() { return std::string(1, kSnapshot); }
inline std::string SnapshotKey(uint64_t id) { return Tagged(kSnapshot, id); }
inline std::string KeyRingPrefix() { return std::string(1, kKeyRing); }
inline std::string KeyRingPrefix(uint64_t volume_id) { return Tagged(kKeyRing, volume_id); }
inline std::string KeyRingKey(uint64_t volume_id, uint64_t dek_id) {
  std::string k = KeyRingPrefix(volume_id);
  AppendBE64(&k, dek_id);
  return k;
}
inline std::string LivePrefix() { return std::string(1, kLive); }
inline std::string LiveKey(uint32_t segment) {
  std::string k(1, kLive);
  AppendBE32(&k, segment);
  return k;
}
inline std::string RestorePointPrefix() { return std::string(1, kRestorePoint); }
inline std::string RestorePointPrefix(uint64_t volume_id) {
  return Tagged(kRestorePoint, volume_id);
}
inline std::string RestorePointKey(uint64_t volume_id, uint64_t epoch) {
  std::string k = RestorePointPrefix(volume_id);
  AppendBE64(&k, epoch);
  return k;
}
// All map blocks of one lineage; the whole key is built by page_map.h (MapDbKey).
inline std::string MapPrefix(uint64_t lineage) { return Tagged(kMap, lineage); }

// The first key after every key that starts with `prefix` (empty: there is none).
std::string PrefixEnd(std::string_view prefix);

// Calls `fn(key, value)` for every key of `db` that starts with `prefix`, in key order, until
// it returns an error (returned) or the keys run out.
using KeyVisitor = std::function<Status(std::string_view key, std::string_view value)>;
Status ScanPrefix(MetaDb& db, std::string_view prefix, const KeyVisitor& fn);

}  // namespace clonefs::store::keys
