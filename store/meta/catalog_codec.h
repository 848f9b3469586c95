// Catalog encoding: volume records and store state as MetaDb entries (docs/FORMAT.md).
#pragma once

#include <string>

#include "store/log/location.h"
#include "store/meta/keys.h"
#include "store/types.h"

namespace clonefs::store {

// Volume records (keys::VolumeKey).
std::string EncodeVolume(const VolumeInfo& v);
Result<VolumeInfo> DecodeVolume(std::string_view data);

// Snapshot records (keys::SnapshotKey).
std::string EncodeSnapshot(const SnapshotInfo& s);
Result<SnapshotInfo> DecodeSnapshot(std::string_view data);

// Where recovery starts and what it resumes from: written by every checkpoint
// (keys::kCheckpoint).
struct CheckpointState {
  LogPosition position;  // replay starts here
  uint64_t next_seq = 1;
};
std::string EncodeCheckpoint(const CheckpointState& c);
Result<CheckpointState> DecodeCheckpoint(std::string_view data);

// A restore point (keys::RestorePointKey(volume, point.epoch)) and the epoch its volume wrote
// to after it: 24 bytes, BE64 time, BE64 next epoch, BE64 size.
std::string EncodeRestorePoint(const RestorePoint& p, uint64_t next_epoch);
Result<RestorePoint> DecodeRestorePoint(std::string_view data, uint64_t epoch,
                                        uint64_t* next_epoch);

// The store's identity, in the FORMAT file (JSON). Version 2: records carry a data-key id and a
// nonce (80-byte headers) and FORMAT a store uuid. Version 3: checkpointed page-map entries
// are stored as map blocks of 16 pages. Version 4: restore-point records in the log and
// restore points in MetaDb; a version 3 store is upgraded when it is opened (it has neither).
constexpr uint32_t kFormatVersion = 4;
constexpr uint32_t kOldestUpgradableFormat = 3;
std::string EncodeStoreInfo(const StoreInfo& info);
Result<StoreInfo> DecodeStoreInfo(std::string_view data);
// 32 random hex digits: a new store's uuid.
Result<std::string> NewStoreUuid();

}  // namespace clonefs::store
