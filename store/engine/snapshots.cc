// Snapshots, clones and restores: catalog operations only, O(1) in the volume's size.
//
// A snapshot of V records (V, e) where e is V's current epoch and moves V to a fresh epoch, so
// that V's later writes land in new map keys and the snapshot keeps seeing exactly what V held.
// A clone of V does the same and registers a new volume whose ReadView sees V up to e. A
// restore registers a new volume that sees the snapshot's (V, e). No page and no map entry is
// copied. V's io_mu is held exclusively across the epoch switch, so the snapshot holds every
// write acknowledged before the call and none that starts after it returns.
#include <spdlog/spdlog.h>

#include "base/error_names.h"
#include "store/meta/catalog_codec.h"
#include "base/coding.h"
#include "store/engine/store_impl.h"

namespace clonefs::store {
namespace {

class SnapshotHandle final : public VolumeHandle {
 public:
  ~SnapshotHandle() override { snap_->open_handles--; }
  SnapshotHandle(StoreImpl* store, std::shared_ptr<SnapshotState> snap)
      : store_(store), snap_(std::move(snap)) {
    snap_->open_handles++;
    info_ = snap_->vol->info;
    info_.name = snap_->info.name;
    info_.size_bytes = snap_->info.size_bytes;
  }
  Status Read(uint64_t offset, size_t n, char* buf) override {
    if (snap_->deleted) return errors::SnapshotNotFound(snap_->info.name);
    if (offset > snap_->info.size_bytes || n > snap_->info.size_bytes - offset) {
      return Status::InvalidArgument("read goes past the end of snapshot '" + snap_->info.name +
                                     "'");
    }
    return store_->ReadBytes(*snap_->vol, snap_->info.epoch, offset, n, buf);
  }
  Status Write(uint64_t, std::string_view) override { return ReadOnly(); }
  Status Discard(uint64_t, uint64_t) override { return ReadOnly(); }
  Status Sync() override { return Status::OK(); }
  Status Grow(uint64_t) override { return ReadOnly(); }
  uint64_t size() const override { return snap_->info.size_bytes; }
  bool read_only() const override { return true; }
  const VolumeInfo& info() const override { return info_; }
  uint64_t generation() const override { return 0; }  // a snapshot never changes

 private:
  Status ReadOnly() const {
    return Status::ReadOnly("snapshot '" + snap_->info.name + "' is read-only");
  }
  StoreImpl* const store_;
  const std::shared_ptr<SnapshotState> snap_;
  VolumeInfo info_;
};

}  // namespace

Status StoreImpl::LoadSnapshots() {
  CLONEFS_ASSIGN_OR_RETURN(auto next, db_->Get(keys::kNextSnapshotId));
  if (next && next->size() == 8) next_snapshot_id_ = GetBE64(next->data());
  return keys::ScanPrefix(*db_, keys::SnapshotPrefix(), [&](std::string_view,
                                                           std::string_view value) {
    CLONEFS_ASSIGN_OR_RETURN(SnapshotInfo s, DecodeSnapshot(value));
    auto vol = by_id_.find(s.volume_id);
    if (vol == by_id_.end()) return Status::Corruption("snapshot " + s.name + " lost its volume");
    snapshots_[s.name] = std::make_shared<SnapshotState>(s, vol->second);
    next_snapshot_id_ = std::max(next_snapshot_id_, s.id + 1);
    return Status::OK();
  });
}

std::vector<std::pair<uint64_t, uint64_t>> StoreImpl::AncestorsOf(uint64_t parent_id,
                                                                  uint64_t parent_epoch) {
  std::vector<std::pair<uint64_t, uint64_t>> chain = {{parent_id, parent_epoch}};
  auto it = by_id_.find(parent_id);
  if (it != by_id_.end()) {
    chain.insert(chain.end(), it->second->ancestors.begin(), it->second->ancestors.end());
  }
  return chain;
}

bool StoreImpl::HasDependentsLocked(uint64_t volume_id) {
  for (auto& [id, v] : by_id_) {
    if (v->info.parent_id == volume_id) return true;
  }
  for (auto& [name, s] : snapshots_) {
    if (s->info.volume_id == volume_id) return true;
  }
  return false;
}

int StoreImpl::ClonesInLineageLocked(uint64_t lineage_id) {
  int n = 0;
  for (auto& [id, v] : by_id_) n += v->info.lineage_id == lineage_id && v->info.parent_id != 0;
  return n;
}

void StoreImpl::PurgeUnneededLocked(uint64_t volume_id) {
  while (volume_id != 0) {
    auto it = by_id_.find(volume_id);
    if (it == by_id_.end() || !it->second->deleted || HasDependentsLocked(volume_id)) return;
    const VolumeInfo& info = it->second->info;
    {
      std::lock_guard<std::mutex> l(misc_mu_);
      pending_deletes_.emplace_back(info.id, info.lineage_id);
      if (info.parent_id != 0) lineages_to_scan_.insert(info.lineage_id);
    }
    const uint64_t parent = info.parent_id;
    by_id_.erase(it);
    volume_id = parent;  // its parent may have been waiting only for this clone
  }
}

Result<SnapshotInfo> StoreImpl::CreateSnapshot(const std::string& volume, const std::string& name,
                                               const Tags& tags) {
  CLONEFS_RETURN_IF_ERROR(ValidateName(name, "snapshot"));
  CLONEFS_ASSIGN_OR_RETURN(auto vol, FindVolume(volume));
  std::unique_lock<std::shared_mutex> io(vol->io_mu);  // no write in flight across the switch
  std::lock_guard<std::mutex> l(catalog_mu_);
  if (vol->deleted) return errors::VolumeNotFound(volume);
  if (snapshots_.count(name)) {
    return errors::SnapshotAlreadyExists(name);
  }
  SnapshotInfo s;
  s.id = next_snapshot_id_;
  s.name = name;
  s.volume_id = vol->info.id;
  s.volume_name = vol->info.name;
  s.lineage_id = vol->info.lineage_id;
  s.epoch = vol->epoch;
  s.size_bytes = vol->size;
  s.page_size = vol->info.page_size;
  s.compression = vol->info.compression;
  s.create_time_us = env()->NowMicros();
  s.tags = tags;
  s.encrypted = vol->info.encrypted;
  s.kms_key_id = vol->info.kms_key_id;
  VolumeInfo moved = vol->info;
  moved.epoch = next_epoch_;
  MetaBatch b;
  b.Put(keys::SnapshotKey(s.id), EncodeSnapshot(s));
  b.Put(keys::VolumeKey(moved.id), EncodeVolume(moved));
  std::string next_epoch, next_id;
  AppendBE64(&next_epoch, next_epoch_ + 1);
  AppendBE64(&next_id, s.id + 1);  // ids (and so inode numbers) are never reused
  b.Put(keys::kNextEpoch, next_epoch);
  b.Put(keys::kNextSnapshotId, next_id);
  CLONEFS_RETURN_IF_ERROR(db_->Write(b, /*sync=*/true));
  next_epoch_ += 1;
  next_snapshot_id_ += 1;
  vol->info.epoch = moved.epoch;
  vol->epoch = moved.epoch;
  snapshots_[name] = std::make_shared<SnapshotState>(s, vol);
  spdlog::info("snapshot {} of volume {} created at epoch {}", name, volume, s.epoch);
  return s;
}

namespace {

// A snapshot reads with its volume's key ring, so it shows the volume's encryption as it is
// now (a rekey of the volume re-keys its snapshots). REQUIRES: catalog_mu_.
SnapshotInfo WithEncryption(const SnapshotState& snap) {
  SnapshotInfo s = snap.info;
  s.encrypted = snap.vol->info.encrypted;
  s.kms_key_id = snap.vol->info.kms_key_id;
  return s;
}

}  // namespace

Result<SnapshotInfo> StoreImpl::GetSnapshot(const std::string& name) {
  std::lock_guard<std::mutex> l(catalog_mu_);
  auto it = snapshots_.find(name);
  if (it == snapshots_.end()) return errors::SnapshotNotFound(name);
  return WithEncryption(*it->second);
}

std::vector<SnapshotInfo> StoreImpl::ListSnapshots() {
  std::lock_guard<std::mutex> l(catalog_mu_);
  std::vector<SnapshotInfo> out;
  for (auto& [name, s] : snapshots_) out.push_back(WithEncryption(*s));
  return out;
}

Status StoreImpl::DeleteSnapshot(const std::string& name) {
  bool purged = false;
  {
    std::lock_guard<std::mutex> l(catalog_mu_);
    auto it = snapshots_.find(name);
    if (it == snapshots_.end()) return errors::SnapshotNotFound(name);
    std::shared_ptr<SnapshotState> snap = it->second;
    if (int n = snap->open_handles.load(); n > 0) {
      return errors::InvalidSnapshotState("snapshot '" + name + "' is in use (" +
                                          std::to_string(n) + " open handle" +
                                          (n > 1 ? "s" : "") + ")");
    }
    MetaBatch b;
    b.Delete(keys::SnapshotKey(snap->info.id));
    CLONEFS_RETURN_IF_ERROR(db_->Write(b, /*sync=*/true));
    snap->deleted = true;
    snapshots_.erase(it);
    {
      std::lock_guard<std::mutex> m(misc_mu_);
      lineages_to_scan_.insert(snap->info.lineage_id);
    }
    size_t before = by_id_.size();
    PurgeUnneededLocked(snap->info.volume_id);
    purged = by_id_.size() != before;
  }
  spdlog::info("snapshot {} deleted", name);
  return purged ? Checkpoint() : Status::OK();
}

Result<std::shared_ptr<VolumeHandle>> StoreImpl::OpenSnapshot(const std::string& name) {
  std::shared_ptr<SnapshotState> snap;
  {
    std::lock_guard<std::mutex> l(catalog_mu_);
    auto it = snapshots_.find(name);
    if (it == snapshots_.end()) return errors::SnapshotNotFound(name);
    snap = it->second;
  }
  Status access = CheckKeyAccess(*snap->vol, "snapshot '" + name + "'");
  if (!access.ok()) {
    spdlog::error("open of snapshot {} refused: {}", name, access.message());
    return access;
  }
  std::lock_guard<std::mutex> l(catalog_mu_);
  if (snap->deleted) return errors::SnapshotNotFound(name);
  return std::shared_ptr<VolumeHandle>(std::make_shared<SnapshotHandle>(this, snap));
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
                                       const std::string& source_snapshot) {
  if (volumes_.count(name)) {
    return errors::VolumeAlreadyExists(name);
  }
  if (ClonesInLineageLocked(source->info.lineage_id) >= kMaxClonesPerLineage) {
    return CloneQuotaError(source->info.name);
  }
  VolumeInfo v;
  v.id = next_volume_id_;
  v.name = name;
  v.size_bytes = source_snapshot.empty() ? source->size.load() : 0;
  v.page_size = source->info.page_size;
  v.compression = source->info.compression;
  v.create_time_us = env()->NowMicros();
  v.epoch = next_epoch_;
  v.lineage_id = source->info.lineage_id;
  v.parent_id = source->info.id;
  v.parent_epoch = parent_epoch;
  v.source_snapshot = source_snapshot;
  return v;
}

Result<VolumeInfo> StoreImpl::CloneVolume(const std::string& source, const std::string& name,
                                          const CloneOptions& options) {
  CLONEFS_RETURN_IF_ERROR(ValidateName(name, "volume"));
  CLONEFS_ASSIGN_OR_RETURN(auto src, FindVolume(source));
  std::string kek;  // empty: the source's key, if it is encrypted
  if (!options.kms_key.empty()) {
    CLONEFS_ASSIGN_OR_RETURN(kek, UsableKmsKey(options.kms_key));
  }
  std::unique_lock<std::shared_mutex> io(src->io_mu);  // the clone point is one instant
  std::lock_guard<std::mutex> l(catalog_mu_);
  if (src->deleted) {
    return errors::VolumeNotFound(source);
  }
  CLONEFS_ASSIGN_OR_RETURN(VolumeInfo v, AddClone(src, src->epoch, name, ""));
  // An encrypted source's data keys, re-wrapped for the clone: O(number of data keys).
  CLONEFS_ASSIGN_OR_RETURN(InheritedKeys keys, InheritKeyRing(*src, v.id, kek));
  v.encrypted = keys.encrypted;
  v.kms_key_id = keys.kms_key_id;
  // The source moves to a fresh epoch so its later writes stay invisible to the clone.
  VolumeInfo moved = src->info;
  moved.epoch = next_epoch_ + 1;
  MetaBatch b;
  b.Put(keys::VolumeKey(v.id), EncodeVolume(v));
  if (keys.encrypted) PutKeyRing(v.id, keys, &b);
  b.Put(keys::VolumeKey(moved.id), EncodeVolume(moved));
  std::string next_id, next_epoch;
  AppendBE64(&next_id, v.id + 1);
  AppendBE64(&next_epoch, next_epoch_ + 2);
  b.Put(keys::kNextVolumeId, next_id);
  b.Put(keys::kNextEpoch, next_epoch);
  CLONEFS_RETURN_IF_ERROR(db_->Write(b, /*sync=*/true));
  next_volume_id_ = v.id + 1;
  next_epoch_ += 2;
  src->info.epoch = moved.epoch;
  src->epoch = moved.epoch;
  auto state = std::make_shared<VolumeState>(v);
  state->ancestors = AncestorsOf(v.parent_id, v.parent_epoch);
  state->ring = MakeKeyRing(v, std::move(keys));
  volumes_[name] = state;
  by_id_[v.id] = state;
  spdlog::info("volume {} cloned from {} at epoch {}", name, source, v.parent_epoch);
  Notify(v, false);
  return v;
}

Result<VolumeInfo> StoreImpl::RestoreSnapshot(const std::string& snapshot,
                                              const std::string& name,
                                              const CloneOptions& options) {
  CLONEFS_RETURN_IF_ERROR(ValidateName(name, "volume"));
  std::string kek;  // empty: the snapshot's key, if it is encrypted
  if (!options.kms_key.empty()) {
    CLONEFS_ASSIGN_OR_RETURN(kek, UsableKmsKey(options.kms_key));
  }
  std::lock_guard<std::mutex> l(catalog_mu_);
  auto it = snapshots_.find(snapshot);
  if (it == snapshots_.end()) return errors::SnapshotNotFound(snapshot);
  const SnapshotInfo& s = it->second->info;
  CLONEFS_ASSIGN_OR_RETURN(VolumeInfo v, AddClone(it->second->vol, s.epoch, name, s.name));
  v.size_bytes = s.size_bytes;
  CLONEFS_ASSIGN_OR_RETURN(InheritedKeys keys, InheritKeyRing(*it->second->vol, v.id, kek));
  v.encrypted = keys.encrypted;
  v.kms_key_id = keys.kms_key_id;
  MetaBatch b;
  b.Put(keys::VolumeKey(v.id), EncodeVolume(v));
  if (keys.encrypted) PutKeyRing(v.id, keys, &b);
  std::string next_id, next_epoch;
  AppendBE64(&next_id, v.id + 1);
  AppendBE64(&next_epoch, next_epoch_ + 1);
  b.Put(keys::kNextVolumeId, next_id);
  b.Put(keys::kNextEpoch, next_epoch);
  CLONEFS_RETURN_IF_ERROR(db_->Write(b, /*sync=*/true));
  next_volume_id_ = v.id + 1;
  next_epoch_ += 1;
  auto state = std::make_shared<VolumeState>(v);
  state->ancestors = AncestorsOf(v.parent_id, v.parent_epoch);
  state->ring = MakeKeyRing(v, std::move(keys));
  volumes_[name] = state;
  by_id_[v.id] = state;
  spdlog::info("volume {} restored from snapshot {}", name, snapshot);
  Notify(v, false);
  return v;
}

}  // namespace clonefs::store
