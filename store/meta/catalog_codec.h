// Catalog encoding: volume records and store state as MetaDb entries (docs/FORMAT.md).
#pragma once

#include <string>

#include "store/log/segment_log.h"
#include "store/store.h"

namespace clonefs::store {

// 'v' + BE64(id) -> JSON volume record.
std::string VolumeDbKey(uint64_t id);
std::string VolumeDbPrefix();
std::string EncodeVolume(const VolumeInfo& v);
Result<VolumeInfo> DecodeVolume(std::string_view data);

// 'n' + BE64(id) -> JSON snapshot record.
std::string SnapshotDbKey(uint64_t id);
std::string SnapshotDbPrefix();
std::string EncodeSnapshot(const SnapshotInfo& s);
Result<SnapshotInfo> DecodeSnapshot(std::string_view data);
constexpr char kNextSnapshotIdKey[] = "s/next_snapshot_id";

// Where recovery starts and what it resumes from: written by every checkpoint.
struct CheckpointState {
  LogPosition position;  // replay starts here
  uint64_t next_seq = 1;
};
constexpr char kCheckpointKey[] = "s/checkpoint";
constexpr char kNextVolumeIdKey[] = "s/next_volume_id";
constexpr char kNextEpochKey[] = "s/next_epoch";  // BE64: the store-wide epoch counter
std::string EncodeCheckpoint(const CheckpointState& c);
Result<CheckpointState> DecodeCheckpoint(std::string_view data);

// 'l' + BE32(segment) -> LE64 live bytes of that segment as of the checkpoint.
std::string LiveDbKey(uint32_t segment);
std::string LiveDbPrefix();

// The store's identity, in the FORMAT file (JSON). Version 2: records carry a data-key id and a
// nonce (80-byte headers) and FORMAT a store uuid. Version 3: checkpointed page-map entries
// are stored as map blocks of 16 pages.
constexpr uint32_t kFormatVersion = 3;
std::string EncodeStoreInfo(const StoreInfo& info);
Result<StoreInfo> DecodeStoreInfo(std::string_view data);
// 32 random hex digits: a new store's uuid.
Result<std::string> NewStoreUuid();

}  // namespace clonefs::store
