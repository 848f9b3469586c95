// Catalog: the volumes and snapshots of a store in memory, and the counters that name new
// ones. Volumes are found by name while visible and by id while anything still reads them
// (a deleted volume with clones or snapshots stays, hidden).
//
// Not thread-safe: StoreImpl guards it with catalog_mu_. It changes only after the MetaDb batch
// recording the change is durable: a caller takes ids and epochs from a Reservation, writes
// them (PutCounters) in the batch with the change, and applies both here once the write
// succeeded, so that a failed write takes nothing and ids are never reused.
#pragma once

#include <algorithm>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "store/engine/state.h"
#include "store/meta/meta_db.h"

namespace clonefs::store {

class Catalog {
 public:
  class Reservation {
   public:
    uint64_t NewVolumeId() { return next_volume_id_++; }
    uint64_t NewEpoch() { return next_epoch_++; }
    uint64_t NewSnapshotId() { return next_snapshot_id_++; }
    // The counters after what was taken, for the batch that records the change.
    void PutCounters(MetaBatch* batch) const;

   private:
    friend class Catalog;
    uint64_t next_volume_id_ = 1;
    uint64_t next_epoch_ = 1;
    uint64_t next_snapshot_id_ = 1;
  };
  Reservation Reserve() const { return counters_; }
  // Makes what `r` took the catalog's own. REQUIRES: its batch is durable.
  void Commit(const Reservation& r) { counters_ = r; }
  // An epoch whose durability is a log record's, not a MetaDb batch's (a restore point's:
  // restore_points.cc). After a crash, Load() and replay take the counter past every epoch a
  // surviving record or restore point names, so an epoch lost with its record may be reused.
  uint64_t TakeLoggedEpoch() { return counters_.next_epoch_++; }
  // Replay of such a record: epochs up to `epoch` are taken.
  void EpochUsed(uint64_t epoch) {
    counters_.next_epoch_ = std::max(counters_.next_epoch_, epoch + 1);
  }

  // Reads every volume, snapshot and counter from `db` into an empty catalog.
  Status Load(MetaDb& db);

  std::shared_ptr<VolumeState> Volume(const std::string& name) const;  // visible ones; or null
  std::shared_ptr<VolumeState> VolumeById(uint64_t id) const;          // hidden too; or null
  std::shared_ptr<SnapshotState> Snapshot(const std::string& name) const;

  void AddVolume(std::shared_ptr<VolumeState> vol);
  // A volume found by id only (an import's, until it becomes a snapshot's hidden source).
  void AddHiddenVolume(std::shared_ptr<VolumeState> vol);
  // Takes the name away; the volume stays findable by id until ForgetUnneeded drops it.
  void HideVolume(const std::string& name) { by_name_.erase(name); }
  // Moves visible volume `name` to `new_name` (its info.name is the caller's to change).
  // REQUIRES: `name` is visible and `new_name` is not.
  void RenameVolume(const std::string& name, const std::string& new_name);
  void AddSnapshot(std::shared_ptr<SnapshotState> snap);
  void RemoveSnapshot(const std::string& name) { snapshots_.erase(name); }
  // A snapshot deleted while pinned: out of the names, still a reader until the last pin goes.
  void KeepPinned(std::shared_ptr<SnapshotState> snap) { pinned_[snap->info.id] = std::move(snap); }
  void DropPinned(uint64_t snapshot_id) { pinned_.erase(snapshot_id); }
  const std::map<uint64_t, std::shared_ptr<SnapshotState>>& pinned() const { return pinned_; }
  // Snapshot names held by imports in progress: taken, though no snapshot has them yet.
  bool SnapshotNameTaken(const std::string& name) const {
    return snapshots_.count(name) > 0 || reserved_names_.count(name) > 0;
  }
  void ReserveSnapshotName(const std::string& name) { reserved_names_.insert(name); }
  void ReleaseSnapshotName(const std::string& name) { reserved_names_.erase(name); }
  // Starting at `volume_id` and walking up its parents, drops each deleted volume nothing
  // depends on any more, and returns them (a parent may have waited only for its clone).
  std::vector<VolumeInfo> ForgetUnneeded(uint64_t volume_id);

  // Visible volumes by name; every volume (hidden too) by id; snapshots by name.
  const std::map<std::string, std::shared_ptr<VolumeState>>& volumes() const { return by_name_; }
  const std::map<uint64_t, std::shared_ptr<VolumeState>>& all_volumes() const { return by_id_; }
  const std::map<std::string, std::shared_ptr<SnapshotState>>& snapshots() const {
    return snapshots_;
  }

  // The read chain of a clone of `parent_id` at `parent_epoch`.
  Ancestors AncestorsOf(uint64_t parent_id, uint64_t parent_epoch) const;
  // Whether a clone or a snapshot (pinned ones too) still reads `volume_id`'s pages.
  bool HasDependents(uint64_t volume_id) const;
  // Copy-on-write clones (and restores) in the lineage, hidden ones included.
  int ClonesInLineage(uint64_t lineage_id) const;

 private:
  std::map<std::string, std::shared_ptr<VolumeState>> by_name_;
  std::map<uint64_t, std::shared_ptr<VolumeState>> by_id_;
  std::map<std::string, std::shared_ptr<SnapshotState>> snapshots_;
  std::map<uint64_t, std::shared_ptr<SnapshotState>> pinned_;  // by snapshot id
  std::set<std::string> reserved_names_;
  Reservation counters_;
};

}  // namespace clonefs::store
