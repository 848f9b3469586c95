// Snapshots, clones and restores: catalog operations only, O(1) in the volume's size.
//
// A snapshot of V records (V, e) where e is V's current epoch and moves V to a fresh epoch, so
// that V's later writes land in new map keys and the snapshot keeps seeing exactly what V held.
// A clone of V does the same and registers a new volume whose ReadView sees V up to e. A
// restore registers a new volume that sees the snapshot's (V, e). No page and no map entry is
// copied. V's io_mu is held exclusively across the epoch switch, so the snapshot holds every
// write acknowledged before the call and none that starts after it returns.
#include <spdlog/spdlog.h>

#include "base/coding.h"
#include "base/error_names.h"
#include "store/engine/handles.h"
#include "store/engine/store_impl.h"
#include "store/meta/catalog_codec.h"

namespace clonefs::store {

void StoreImpl::PurgeUnneededLocked(uint64_t volume_id) {
  std::vector<VolumeInfo> purged = catalog_.ForgetUnneeded(volume_id);
  if (purged.empty()) return;
  std::lock_guard<std::mutex> l(misc_mu_);
  for (const VolumeInfo& info : purged) {
    pending_deletes_.emplace_back(info.id, info.lineage_id);
    if (info.parent_id != 0) lineages_to_scan_.insert(info.lineage_id);
  }
}

SnapshotInfo StoreImpl::SnapshotNow(const VolumeState& vol, const std::string& name, uint64_t id,
                                    const Tags& tags) {
  SnapshotInfo s;
  s.id = id;
  s.name = name;
  s.volume_id = vol.info.id;
  s.volume_name = vol.info.name;
  s.lineage_id = vol.info.lineage_id;
  s.epoch = vol.epoch;
  s.size_bytes = vol.size;
  s.page_size = vol.info.page_size;
  s.compression = vol.info.compression;
  s.create_time_us = env()->NowMicros();
  s.tags = tags;
  s.encrypted = vol.info.encrypted;
  s.kms_key_id = vol.info.kms_key_id;
  return s;
}

Result<SnapshotInfo> StoreImpl::CreateSnapshot(const std::string& volume, const std::string& name,
                                               const Tags& tags) {
  CLONEFS_RETURN_IF_ERROR(ValidateStoreName(name, "snapshot"));
  return TakeSnapshot(volume, name, tags, SnapshotType::kManual);
}

Result<SnapshotInfo> StoreImpl::TakeSnapshot(const std::string& volume, const std::string& name,
                                             const Tags& tags, SnapshotType type) {
  CLONEFS_ASSIGN_OR_RETURN(auto vol, FindVolume(volume));
  std::unique_lock<std::shared_mutex> io(vol->io_mu);  // no write in flight across the switch
  std::lock_guard<std::mutex> l(catalog_mu_);
  if (vol->deleted) return errors::VolumeNotFound(volume);
  if (catalog_.SnapshotNameTaken(name)) return errors::SnapshotAlreadyExists(name);
  Catalog::Reservation ids = catalog_.Reserve();
  // Ids (and so inode numbers) are never reused.
  SnapshotInfo s = SnapshotNow(*vol, name, ids.NewSnapshotId(), tags);
  s.type = type;
  if (type == SnapshotType::kAutomated) s.backup_retention_days = vol->info.backup.retention_days;
  VolumeInfo moved = vol->info;
  moved.epoch = ids.NewEpoch();
  MetaBatch b;
  b.Put(keys::SnapshotKey(s.id), EncodeSnapshot(s));
  b.Put(keys::VolumeKey(moved.id), EncodeVolume(moved));
  ids.PutCounters(&b);
  CLONEFS_RETURN_IF_ERROR(db_->Write(b, /*sync=*/true));
  catalog_.Commit(ids);
  vol->info.epoch = moved.epoch;
  vol->epoch = moved.epoch;
  catalog_.AddSnapshot(std::make_shared<SnapshotState>(s, vol));
  spdlog::info("{} snapshot {} of volume {} created at epoch {}", SnapshotTypeName(type), name,
               volume, s.epoch);
  return s;
}

namespace {

// A snapshot reads with its volume's key ring, so it shows the volume's encryption as it is
// now (a rekey of the volume re-keys its snapshots); and its tags as they are now.
// REQUIRES: catalog_mu_.
SnapshotInfo WithEncryption(const SnapshotState& snap) {
  SnapshotInfo s = snap.info;
  s.tags = snap.tags;
  s.encrypted = snap.vol->info.encrypted;
  s.kms_key_id = snap.vol->info.kms_key_id;
  return s;
}

}  // namespace

Result<SnapshotInfo> StoreImpl::GetSnapshot(const std::string& name) {
  std::lock_guard<std::mutex> l(catalog_mu_);
  std::shared_ptr<SnapshotState> snap = catalog_.Snapshot(name);
  if (snap == nullptr) return errors::SnapshotNotFound(name);
  return WithEncryption(*snap);
}

std::vector<SnapshotInfo> StoreImpl::ListSnapshots() {
  std::lock_guard<std::mutex> l(catalog_mu_);
  std::vector<SnapshotInfo> out;
  for (const auto& [name, s] : catalog_.snapshots()) out.push_back(WithEncryption(*s));
  return out;
}

Status StoreImpl::DeleteSnapshot(const std::string& name) {
  bool purged = false;
  {
    std::lock_guard<std::mutex> l(catalog_mu_);
    std::shared_ptr<SnapshotState> snap = catalog_.Snapshot(name);
    if (snap == nullptr) return errors::SnapshotNotFound(name);
    if (int n = snap->open_handles.load(); n > 0) {
      return errors::InvalidSnapshotState("snapshot '" + name + "' is in use (" +
                                          std::to_string(n) + " open handle" + (n > 1 ? "s" : "") +
                                          ")");
    }
    MetaBatch b;
    b.Delete(keys::SnapshotKey(snap->info.id));
    CLONEFS_RETURN_IF_ERROR(db_->Write(b, /*sync=*/true));
    catalog_.RemoveSnapshot(name);
    // The last automated backup of a deleted volume takes its restore window with it (the
    // volume may stay, hidden, for its clones).
    if (snap->vol->deleted && !HasAutomatedSnapshotsLocked(snap->vol->info.id)) {
      ClearRestorePointsLocked(*snap->vol);
    }
    if (snap->pins > 0) {
      // Durably gone and out of the names; its pages stay for the pins (ReleasePin).
      snap->unlisted = true;
      catalog_.KeepPinned(snap);
      spdlog::info("snapshot {} deleted; its pages stay until {} pinned reader(s) finish", name,
                   snap->pins);
      return Status::OK();
    }
    purged = ForgetSnapshotLocked(*snap);
  }
  spdlog::info("snapshot {} deleted", name);
  return purged ? Checkpoint() : Status::OK();
}

Result<std::shared_ptr<SnapshotState>> StoreImpl::ReadableSnapshot(const std::string& name) {
  std::shared_ptr<SnapshotState> snap;
  {
    std::lock_guard<std::mutex> l(catalog_mu_);
    snap = catalog_.Snapshot(name);
    if (snap == nullptr) return errors::SnapshotNotFound(name);
  }
  Status access = CheckKeyAccess(*snap->vol, "snapshot '" + name + "'");
  if (!access.ok()) {
    spdlog::error("open of snapshot {} refused: {}", name, access.message());
    return access;
  }
  return snap;
}

Result<std::shared_ptr<VolumeHandle>> StoreImpl::OpenSnapshot(const std::string& name) {
  CLONEFS_ASSIGN_OR_RETURN(std::shared_ptr<SnapshotState> snap, ReadableSnapshot(name));
  std::lock_guard<std::mutex> l(catalog_mu_);
  if (snap->deleted || snap->unlisted) return errors::SnapshotNotFound(name);
  return NewSnapshotHandle(this, snap);
}

Result<std::unique_ptr<SnapshotPin>> StoreImpl::PinSnapshot(const std::string& name) {
  CLONEFS_ASSIGN_OR_RETURN(std::shared_ptr<SnapshotState> snap, ReadableSnapshot(name));
  std::lock_guard<std::mutex> l(catalog_mu_);
  if (snap->deleted || snap->unlisted) return errors::SnapshotNotFound(name);
  return NewSnapshotPin(this, snap, WithEncryption(*snap));
}

bool StoreImpl::ForgetSnapshotLocked(SnapshotState& snap) {
  snap.deleted = true;
  {
    std::lock_guard<std::mutex> m(misc_mu_);
    lineages_to_scan_.insert(snap.info.lineage_id);
  }
  const size_t before = catalog_.all_volumes().size();
  PurgeUnneededLocked(snap.info.volume_id);
  return catalog_.all_volumes().size() != before;
}

void StoreImpl::ReleasePin(const std::shared_ptr<SnapshotState>& snap) {
  bool purged = false;
  {
    std::lock_guard<std::mutex> l(catalog_mu_);
    if (--snap->pins > 0 || !snap->unlisted) return;
    catalog_.DropPinned(snap->info.id);
    purged = ForgetSnapshotLocked(*snap);
  }
  spdlog::info("snapshot {}: the last pinned reader finished; its pages can go", snap->info.name);
  if (purged) {
    Status s = Checkpoint();
    if (!s.ok())
      spdlog::warn("checkpoint after the last pin of {}: {}", snap->info.name, s.ToString());
  }
}

Status StoreImpl::CloneQuotaError(const std::string& source_name) {
  return errors::Named(errors::kCloneQuotaExceeded,
                       Status::QuotaExceeded("the lineage of '" + source_name + "' already has " +
                                             std::to_string(kMaxClonesPerLineage) +
                                             " copy-on-write clones; make an independent full "
                                             "copy instead (clonectl volume clone --full-copy)"));
}

Result<VolumeInfo> StoreImpl::AddClone(const std::shared_ptr<VolumeState>& source,
                                       uint64_t parent_epoch, const std::string& name,
                                       const std::string& source_snapshot,
                                       Catalog::Reservation* ids) {
  if (catalog_.Volume(name) != nullptr) return errors::VolumeAlreadyExists(name);
  if (catalog_.ClonesInLineage(source->info.lineage_id) >= kMaxClonesPerLineage) {
    return CloneQuotaError(source->info.name);
  }
  VolumeInfo v;
  v.id = ids->NewVolumeId();
  v.name = name;
  v.size_bytes = source_snapshot.empty() ? source->size.load() : 0;
  v.page_size = source->info.page_size;
  v.compression = source->info.compression;
  v.create_time_us = env()->NowMicros();
  v.epoch = ids->NewEpoch();
  v.lineage_id = source->info.lineage_id;
  v.parent_id = source->info.id;
  v.parent_epoch = parent_epoch;
  v.source_snapshot = source_snapshot;
  v.backup.window = DefaultBackupWindow(v.id);  // its own backups, from its creation
  return v;
}

Result<VolumeInfo> StoreImpl::CloneVolume(const std::string& source, const std::string& name,
                                          const CloneOptions& options) {
  CLONEFS_RETURN_IF_ERROR(ValidateStoreName(name, "volume"));
  CLONEFS_ASSIGN_OR_RETURN(auto src, FindVolume(source));
  std::string kek;  // empty: the source's key, if it is encrypted
  if (!options.kms_key.empty()) {
    CLONEFS_ASSIGN_OR_RETURN(kek, UsableKmsKey(options.kms_key, AccountOf(name)));
  }
  std::unique_lock<std::shared_mutex> io(src->io_mu);  // the clone point is one instant
  std::lock_guard<std::mutex> l(catalog_mu_);
  if (src->deleted) {
    return errors::VolumeNotFound(source);
  }
  Catalog::Reservation ids = catalog_.Reserve();
  CLONEFS_ASSIGN_OR_RETURN(VolumeInfo v, AddClone(src, src->epoch, name, "", &ids));
  v.tags = options.tags;
  // An encrypted source's data keys, re-wrapped for the clone: O(number of data keys).
  CLONEFS_ASSIGN_OR_RETURN(InheritedKeys keys, InheritKeyRing(*src, v.id, kek, AccountOf(name)));
  v.encrypted = keys.encrypted;
  v.kms_key_id = keys.kms_key_id;
  // The source moves to a fresh epoch so its later writes stay invisible to the clone.
  VolumeInfo moved = src->info;
  moved.epoch = ids.NewEpoch();
  auto state = std::make_shared<VolumeState>(v);
  MetaBatch b;
  b.Put(keys::VolumeKey(v.id), EncodeVolume(v));
  if (keys.encrypted) PutKeyRing(v.id, keys, &b);
  b.Put(keys::VolumeKey(moved.id), EncodeVolume(moved));
  ids.PutCounters(&b);
  if (options_.restore_points) StartRestoreWindow(*state, v, v.create_time_us, &b);
  CLONEFS_RETURN_IF_ERROR(db_->Write(b, /*sync=*/true));
  catalog_.Commit(ids);
  src->info.epoch = moved.epoch;
  src->epoch = moved.epoch;
  state->ancestors = catalog_.AncestorsOf(v.parent_id, v.parent_epoch);
  state->ring = MakeKeyRing(v, std::move(keys));
  catalog_.AddVolume(state);
  spdlog::info("volume {} cloned from {} at epoch {}", name, source, v.parent_epoch);
  Notify(v, false);
  return v;
}

Result<VolumeInfo> StoreImpl::AddRestoredVolume(const std::shared_ptr<VolumeState>& source,
                                                uint64_t epoch, uint64_t size_bytes,
                                                const std::string& name,
                                                const std::string& source_snapshot,
                                                const std::string& kek, const Tags& tags) {
  Catalog::Reservation ids = catalog_.Reserve();
  CLONEFS_ASSIGN_OR_RETURN(VolumeInfo v, AddClone(source, epoch, name, source_snapshot, &ids));
  v.size_bytes = size_bytes;
  v.tags = tags;
  CLONEFS_ASSIGN_OR_RETURN(InheritedKeys keys, InheritKeyRing(*source, v.id, kek, AccountOf(name)));
  v.encrypted = keys.encrypted;
  v.kms_key_id = keys.kms_key_id;
  auto state = std::make_shared<VolumeState>(v);
  MetaBatch b;
  b.Put(keys::VolumeKey(v.id), EncodeVolume(v));
  if (keys.encrypted) PutKeyRing(v.id, keys, &b);
  ids.PutCounters(&b);
  if (options_.restore_points) StartRestoreWindow(*state, v, v.create_time_us, &b);
  CLONEFS_RETURN_IF_ERROR(db_->Write(b, /*sync=*/true));
  catalog_.Commit(ids);
  state->ancestors = catalog_.AncestorsOf(v.parent_id, v.parent_epoch);
  state->ring = MakeKeyRing(v, std::move(keys));
  catalog_.AddVolume(state);
  return v;
}

Result<VolumeInfo> StoreImpl::RestoreSnapshot(const std::string& snapshot, const std::string& name,
                                              const CloneOptions& options) {
  CLONEFS_RETURN_IF_ERROR(ValidateStoreName(name, "volume"));
  std::string kek;  // empty: the snapshot's key, if it is encrypted
  if (!options.kms_key.empty()) {
    CLONEFS_ASSIGN_OR_RETURN(kek, UsableKmsKey(options.kms_key, AccountOf(name)));
  }
  std::lock_guard<std::mutex> l(catalog_mu_);
  std::shared_ptr<SnapshotState> snap = catalog_.Snapshot(snapshot);
  if (snap == nullptr) return errors::SnapshotNotFound(snapshot);
  const SnapshotInfo& s = snap->info;
  CLONEFS_ASSIGN_OR_RETURN(VolumeInfo v, AddRestoredVolume(snap->vol, s.epoch, s.size_bytes, name,
                                                           s.name, kek, options.tags));
  spdlog::info("volume {} restored from snapshot {}", name, snapshot);
  Notify(v, false);
  return v;
}

}  // namespace clonefs::store
