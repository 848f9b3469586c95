// Volume catalog operations: create, find, list, resize, delete, usage.
#include <spdlog/spdlog.h>

#include <set>

#include "base/coding.h"
#include "base/error_names.h"
#include "store/engine/handles.h"
#include "store/engine/store_impl.h"
#include "store/meta/catalog_codec.h"

namespace clonefs::store {
namespace {

// InvalidVolumeState for volume `name` with `n` open handles; `why` says what it would break.
Status InUse(const std::string& name, int n, const std::string& why) {
  return errors::InvalidVolumeState("volume '" + name + "' is in use (" + std::to_string(n) +
                                    " open handle" + (n > 1 ? "s" : "") + ")" + why);
}

}  // namespace

Result<std::shared_ptr<VolumeState>> StoreImpl::FindVolume(const std::string& name) {
  std::lock_guard<std::mutex> l(catalog_mu_);
  std::shared_ptr<VolumeState> vol = catalog_.Volume(name);
  if (vol == nullptr) return errors::VolumeNotFound(name);
  return vol;
}

std::shared_ptr<VolumeState> StoreImpl::FindVolumeById(uint64_t id) {
  std::lock_guard<std::mutex> l(catalog_mu_);
  return catalog_.VolumeById(id);
}

VolumeInfo StoreImpl::InfoOf(const VolumeState& vol) {
  std::lock_guard<std::mutex> l(catalog_mu_);
  return vol.info;
}

Status StoreImpl::PersistVolume(const VolumeInfo& info) {
  MetaBatch b;
  b.Put(keys::VolumeKey(info.id), EncodeVolume(info));
  return db_->Write(b, /*sync=*/true);
}

Result<VolumeInfo> StoreImpl::EditVolumeRecord(const std::string& name,
                                               const std::function<Status(VolumeInfo*)>& edit) {
  CLONEFS_ASSIGN_OR_RETURN(auto vol, FindVolume(name));
  // Every other writer of the volume's record (resize, growth, snapshot, clone, rekey,
  // delete) holds io_mu exclusively too, so none writes a copy of the old record meanwhile.
  std::unique_lock<std::shared_mutex> io(vol->io_mu);
  std::lock_guard<std::mutex> l(catalog_mu_);
  if (vol->deleted) return errors::VolumeNotFound(name);
  VolumeInfo updated = vol->info;
  CLONEFS_RETURN_IF_ERROR(edit(&updated));
  CLONEFS_RETURN_IF_ERROR(PersistVolume(updated));
  vol->info = updated;
  return updated;
}

void StoreImpl::Notify(const VolumeInfo& v, bool deleted) {
  if (listener_) listener_(v, deleted);
}

Result<std::shared_ptr<VolumeState>> StoreImpl::PersistRootVolume(const std::string& name,
                                                                  const VolumeOptions& opts,
                                                                  const std::string& kek,
                                                                  VolumeStatus status) {
  Catalog::Reservation ids = catalog_.Reserve();
  VolumeInfo v;
  v.id = ids.NewVolumeId();
  v.name = name;
  v.size_bytes = opts.size_bytes;
  v.page_size = opts.page_size;
  v.compression = opts.compression;
  v.create_time_us = env()->NowMicros();
  v.epoch = ids.NewEpoch();
  v.lineage_id = v.id;  // a lineage of its own
  v.status = status;
  v.encrypted = !kek.empty();
  v.kms_key_id = kek;
  v.tags = opts.tags;
  v.backup.retention_days = opts.backup_retention_days;
  v.backup.window = opts.backup_window.value_or(DefaultBackupWindow(v.id));
  auto state = std::make_shared<VolumeState>(v);
  MetaBatch b;
  b.Put(keys::VolumeKey(v.id), EncodeVolume(v));
  ids.PutCounters(&b);
  if (status == VolumeStatus::kAvailable && options_.restore_points) {
    StartRestoreWindow(*state, v, v.create_time_us, &b);
  }
  CLONEFS_RETURN_IF_ERROR(db_->Write(b, /*sync=*/true));
  catalog_.Commit(ids);
  state->ring = MakeKeyRing(v, InheritedKeys{v.encrypted, kek, {}});
  return state;
}

Result<VolumeInfo> StoreImpl::CreateVolume(const std::string& name, const VolumeOptions& opts) {
  CLONEFS_RETURN_IF_ERROR(ValidateStoreName(name, "volume"));
  CLONEFS_RETURN_IF_ERROR(ValidateVolumeSize(opts.size_bytes));
  CLONEFS_RETURN_IF_ERROR(ValidatePageSize(opts.page_size));
  CLONEFS_RETURN_IF_ERROR(ValidateBackupRetention(opts.backup_retention_days));
  if (opts.backup_window && opts.backup_window->minutes() < kMinBackupWindowMinutes) {
    return Status::InvalidArgument("a backup window must be at least 30 minutes long");
  }
  VolumeInfo v;
  std::string kek;  // resolved before the catalog lock: a first default key writes the key store
  if (opts.encrypted || !opts.kms_key.empty()) {
    CLONEFS_ASSIGN_OR_RETURN(kek, UsableKmsKey(opts.kms_key, AccountOf(name)));
  }
  {
    std::lock_guard<std::mutex> l(catalog_mu_);
    if (catalog_.Volume(name) != nullptr) return errors::VolumeAlreadyExists(name);
    CLONEFS_ASSIGN_OR_RETURN(auto state,
                             PersistRootVolume(name, opts, kek, VolumeStatus::kAvailable));
    v = state->info;
    catalog_.AddVolume(state);
  }
  spdlog::info("volume {} (id {}) created: {} bytes, page size {}, compression {}{}", name, v.id,
               v.size_bytes, v.page_size, CompressionName(v.compression),
               v.encrypted ? ", encrypted with KMS key " + kek : "");
  Notify(v, false);
  return v;
}

Result<VolumeInfo> StoreImpl::GetVolume(const std::string& name) {
  CLONEFS_ASSIGN_OR_RETURN(auto vol, FindVolume(name));
  std::lock_guard<std::mutex> l(catalog_mu_);
  return vol->info;
}

Result<VolumeInfo> StoreImpl::GetVolumeById(uint64_t id) {
  std::lock_guard<std::mutex> l(catalog_mu_);
  std::shared_ptr<VolumeState> vol = catalog_.VolumeById(id);
  if (vol == nullptr || vol->deleted || vol->info.status == VolumeStatus::kImporting) {
    return errors::Named(errors::kVolumeNotFound,
                         Status::NotFound("volume id " + std::to_string(id) + " does not exist"));
  }
  return vol->info;
}

std::vector<VolumeInfo> StoreImpl::ListVolumes() {
  std::lock_guard<std::mutex> l(catalog_mu_);
  std::vector<VolumeInfo> out;
  for (const auto& [name, vol] : catalog_.volumes()) out.push_back(vol->info);
  return out;
}

Result<VolumeInfo> StoreImpl::ResizeVolume(const std::string& name, uint64_t new_size,
                                           const ResizeOptions& options) {
  CLONEFS_RETURN_IF_ERROR(ValidateVolumeSize(new_size));
  CLONEFS_ASSIGN_OR_RETURN(auto vol, FindVolume(name));
  VolumeInfo updated;
  {
    std::unique_lock<std::shared_mutex> io(vol->io_mu);
    if (vol->deleted) return errors::VolumeNotFound(name);
    const uint64_t old_size = vol->size;
    if (new_size < old_size) CLONEFS_RETURN_IF_ERROR(CheckShrink(*vol, new_size, options));
    vol->generation++;
    if (new_size < old_size) {
      // Zero the cut-off bytes first, so that growing again later shows zeros, not old data.
      const uint64_t ps = vol->info.page_size;
      const uint64_t first_whole = (new_size + ps - 1) / ps;
      const uint64_t tail = std::min(old_size, first_whole * ps) - new_size;
      if (tail > 0) CLONEFS_RETURN_IF_ERROR(WriteBytes(*vol, new_size, std::string(tail, '\0')));
      CLONEFS_RETURN_IF_ERROR(DiscardPages(*vol, first_whole, (old_size + ps - 1) / ps));
    }
    {
      std::lock_guard<std::mutex> l(catalog_mu_);
      updated = vol->info;
      updated.size_bytes = new_size;
    }
    CLONEFS_RETURN_IF_ERROR(PersistVolume(updated));
    std::lock_guard<std::mutex> l(catalog_mu_);
    vol->info.size_bytes = new_size;
    vol->size = new_size;
  }
  spdlog::info("volume {} resized to {} bytes", name, new_size);
  Notify(updated, false);
  return updated;
}

Status StoreImpl::CheckShrink(const VolumeState& vol, uint64_t new_size,
                              const ResizeOptions& options) {
  const std::string& name = vol.info.name;
  if (!options.allow_shrink) {
    return errors::InvalidParameterCombination(
        "shrinking volume '" + name + "' from " + std::to_string(vol.size.load()) + " to " +
        std::to_string(new_size) + " bytes discards everything past the new end; repeat with " +
        "--allow-shrink to do that");
  }
  if (int n = vol.open_handles.load(); options.refuse_shrink_in_use && n > 0) {
    return InUse(name, n,
                 ": a filesystem on it would lose its end; detach it (umount, losetup -d) before "
                 "shrinking");
  }
  return Status::OK();
}

Status StoreImpl::GrowVolume(VolumeState& vol, uint64_t new_size) {
  new_size = (new_size + 511) / 512 * 512;
  CLONEFS_RETURN_IF_ERROR(ValidateVolumeSize(new_size));
  std::unique_lock<std::shared_mutex> io(vol.io_mu);
  if (vol.deleted) return errors::VolumeNotFound(vol.info.name);
  if (new_size <= vol.size) return Status::OK();
  vol.generation++;
  VolumeInfo updated;
  {
    std::lock_guard<std::mutex> l(catalog_mu_);
    updated = vol.info;
  }
  updated.size_bytes = new_size;
  MetaBatch b;
  b.Put(keys::VolumeKey(updated.id), EncodeVolume(updated));
  CLONEFS_RETURN_IF_ERROR(db_->Write(b, /*sync=*/false));
  catalog_unsynced_ = true;
  std::lock_guard<std::mutex> l(catalog_mu_);
  vol.info.size_bytes = new_size;
  vol.size = new_size;
  return Status::OK();
}

Status StoreImpl::Sync() {
  last_sync_us_ = env()->MonotonicMicros();
  CLONEFS_RETURN_IF_ERROR(MarkRestorePoints());  // durable with the writes they cover, below
  CLONEFS_RETURN_IF_ERROR(log_->Sync());
  if (catalog_unsynced_.exchange(false)) {
    Status s = db_->SyncWal();
    if (!s.ok()) catalog_unsynced_ = true;
    return s;
  }
  return Status::OK();
}

Status StoreImpl::DeleteVolume(const std::string& name) {
  CLONEFS_ASSIGN_OR_RETURN(auto vol, FindVolume(name));
  VolumeInfo info;
  bool hidden = false;
  {
    std::unique_lock<std::shared_mutex> io(vol->io_mu);
    if (vol->deleted) return errors::VolumeNotFound(name);
    if (int n = vol->open_handles.load(); n > 0) {
      return InUse(name, n, "; detach it (losetup -d, umount) first");
    }
    std::lock_guard<std::mutex> l(catalog_mu_);
    info = vol->info;
    if (catalog_.HasDependents(info.id)) {
      // Clones or snapshots still read its pages: hide it, keep its data (Aurora keeps a
      // deleted source's storage while clones use it).
      VolumeInfo hide = info;
      hide.status = VolumeStatus::kDeleted;
      CLONEFS_RETURN_IF_ERROR(PersistVolume(hide));
      vol->info.status = VolumeStatus::kDeleted;
      hidden = true;
      // Its restore window stays only with its retained automated backups (Aurora keeps a
      // deleted cluster's point-in-time restore only then), until their retention ends.
      if (!HasAutomatedSnapshotsLocked(info.id)) ClearRestorePointsLocked(*vol);
    }
    vol->deleted = true;
    catalog_.HideVolume(name);
    if (!hidden) PurgeUnneededLocked(info.id);
  }
  // The checkpoint removes the catalog entry and the page map and frees the pages, atomically.
  Status s = hidden ? Status::OK() : Checkpoint();
  spdlog::info("volume {} (id {}) deleted{}", name, info.id,
               hidden   ? "; kept hidden while clones or snapshots use it"
               : s.ok() ? ""
                        : "; its space is freed at the next checkpoint");
  Notify(info, true);
  return s;
}

Result<VolumeUsage> StoreImpl::GetVolumeUsage(const std::string& name) {
  CLONEFS_ASSIGN_OR_RETURN(auto vol, FindVolume(name));
  // The other live volumes of the lineage, to split the pages of deleted writers among them.
  std::vector<ReadView> others;
  std::set<uint64_t> hidden;
  ReadView self;
  uint64_t ps = 0;
  {
    // The view and page size are copied under the lock: CloneInto may change them.
    std::lock_guard<std::mutex> l(catalog_mu_);
    self = vol->View(vol->epoch);
    ps = vol->info.page_size;
    for (const auto& [id, v] : catalog_.all_volumes()) {
      if (v->info.lineage_id != vol->info.lineage_id) continue;
      if (v->deleted) {
        hidden.insert(id);
      } else if (id != vol->info.id) {
        others.push_back(v->View(v->epoch));
      }
    }
  }
  VolumeUsage u;
  CLONEFS_ASSIGN_OR_RETURN(u.backup_storage_bytes, BackupStorageBytes(*vol));
  u.logical_bytes = vol->size;
  const uint64_t pages = (vol->size + ps - 1) / ps;
  constexpr uint64_t kChunk = 1 << 16;
  for (uint64_t lo = 0; lo < pages; lo += kChunk) {
    const uint64_t hi = std::min(pages, lo + kChunk);
    std::map<uint64_t, PageVersion> mine;
    CLONEFS_RETURN_IF_ERROR(
        map_->VisitRange(self, lo, hi, [&](uint64_t page, const PageVersion& v) {
          if (!v.value.tombstone) mine[page] = v;
          return Status::OK();
        }));
    std::map<uint64_t, int> readers;  // page -> other live volumes reading the same version
    for (const ReadView& view : others) {
      CLONEFS_RETURN_IF_ERROR(
          map_->VisitRange(view, lo, hi, [&](uint64_t page, const PageVersion& v) {
            auto it = mine.find(page);
            if (it != mine.end() && it->second.volume == v.volume && it->second.epoch == v.epoch) {
              readers[page]++;
            }
            return Status::OK();
          }));
    }
    for (const auto& [page, v] : mine) {
      const uint64_t bytes = v.value.loc.length;
      ++u.mapped_pages;
      u.stored_bytes += bytes;
      if (v.volume == vol->info.id) {
        ++u.owned_pages;
        u.owned_bytes += bytes;
        u.attributed_bytes += bytes;
      } else {
        ++u.shared_pages;
        u.shared_bytes += bytes;
        if (hidden.count(v.volume)) u.attributed_bytes += bytes / (1 + readers[page]);
      }
    }
  }
  return u;
}

Result<std::shared_ptr<VolumeHandle>> StoreImpl::OpenVolume(const std::string& name) {
  CLONEFS_ASSIGN_OR_RETURN(auto vol, FindVolume(name));
  Status access = CheckKeyAccess(*vol, "volume '" + name + "'");
  if (!access.ok()) {
    spdlog::error("open of volume {} refused: {}", name, access.message());
    return access;
  }
  return NewVolumeHandle(this, vol);
}

StoreStats StoreImpl::GetStats() {
  StoreStats s;
  s.open_time_us = open_time_us_;
  s.now_us = env()->NowMicros();
  s.reads = io_stats_.reads.Snapshot();
  s.writes = io_stats_.writes.Snapshot();
  s.discards = io_stats_.discards.Snapshot();
  s.syncs = io_stats_.syncs.Snapshot();
  s.usage = GetUsage();
  const MetaDb::CacheCounts cache = db_->CacheStats();
  s.cache_hits = cache.hits;
  s.cache_misses = cache.misses;
  s.gc_passes = io_stats_.gc_passes;
  s.gc_segments_deleted = io_stats_.gc_segments_deleted;
  s.gc_bytes_reclaimed = io_stats_.gc_bytes_reclaimed;
  s.gc_last_pass_us = io_stats_.gc_last_pass_us;
  s.checkpoints = io_stats_.checkpoints;
  std::lock_guard<std::mutex> l(catalog_mu_);
  s.volumes = catalog_.volumes().size();
  s.snapshots = catalog_.snapshots().size();
  return s;
}

StoreUsage StoreImpl::GetUsage() {
  StoreUsage u;
  for (auto& [id, size] : log_->Segments()) {
    ++u.segment_count;
    u.segment_bytes += size;
  }
  std::lock_guard<std::mutex> l(misc_mu_);
  for (auto& [seg, bytes] : live_)
    u.live_bytes += static_cast<uint64_t>(std::max<int64_t>(0, bytes));
  u.garbage_bytes = u.segment_bytes > u.live_bytes ? u.segment_bytes - u.live_bytes : 0;
  return u;
}

}  // namespace clonefs::store
