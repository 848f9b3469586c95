// Point-in-time restore: restore points, restore windows, and restores to a time.
//
// Every durable sync that follows writes to a volume V is a restore point. The sync ends V's
// epoch e the way a snapshot does (V writes to a fresh epoch from then on, so its later writes
// land in new map keys and never replace what e holds) and records (time, e): V's image then
// is exactly what a read at e sees. Restoring V to time T is an O(1) copy-on-write clone of V
// at the last point at or before T, like a restore from a snapshot; a restore of a clone to a
// time before the clone existed finds no point and is refused.
//
// Durability. The epoch switch is a kRestorePoint record appended to the log before the sync
// that makes it durable, so a point survives exactly when the writes it covers do; replay
// re-applies it. A checkpoint moves the points before its log position into MetaDb (keys 'r'),
// and Catalog::Load reads them back, taking each volume's epoch past its newest point's.
//
// Retention. A volume's points stay for its BackupRetentionPeriod: the last point at or before
// the window's start is kept (it is the image at the start), older ones are dropped. GC keeps
// every version a point in the window reads: versions V wrote after its oldest point's epoch,
// and those the oldest point reads (gc.cc). Dropped points free what only they read at the
// next GC pass. Cost: overwrites of a page between two syncs replace each other as before;
// across syncs each survives until it leaves the window.
#include <spdlog/spdlog.h>

#include "base/coding.h"
#include "base/error_names.h"
#include "store/backup_policy.h"
#include "store/engine/store_impl.h"
#include "store/meta/catalog_codec.h"

namespace clonefs::store {
namespace {

constexpr uint64_t kMicrosPerDay = 86400ull * 1000000;

std::string PointPayload(uint64_t time_us, uint64_t size_bytes) {
  std::string p;
  AppendBE64(&p, time_us);
  AppendBE64(&p, size_bytes);
  return p;
}

// Where `vol`'s restore window starts at `now_us`: its retention before now.
uint64_t RetentionStart(const VolumeState& vol, uint64_t now_us) {
  const uint64_t keep = vol.info.backup.retention_days * kMicrosPerDay;
  return now_us > keep ? now_us - keep : 0;
}

Status InvalidRestoreTime(std::string message) {
  return errors::Named(errors::kInvalidRestoreTime, Status::InvalidArgument(std::move(message)));
}

}  // namespace

void StoreImpl::NoteWritten(VolumeState& vol) {
  if (vol.written_since_point.load(std::memory_order_relaxed) ||
      vol.written_since_point.exchange(true)) {
    return;
  }
  std::lock_guard<std::mutex> l(misc_mu_);
  dirty_volumes_.push_back(vol.info.id);
}

Status StoreImpl::MarkRestorePoints() {
  if (!options_.restore_points) return Status::OK();
  std::lock_guard<std::mutex> marking(marking_mu_);
  std::vector<uint64_t> ids;
  {
    std::lock_guard<std::mutex> l(misc_mu_);
    ids.swap(dirty_volumes_);
  }
  for (size_t i = 0; i < ids.size(); ++i) {
    std::shared_ptr<VolumeState> vol = FindVolumeById(ids[i]);
    if (vol == nullptr) continue;
    Status s = MarkRestorePoint(*vol);
    if (!s.ok()) {
      // The volumes not marked yet are marked by the next sync.
      std::lock_guard<std::mutex> l(misc_mu_);
      dirty_volumes_.insert(dirty_volumes_.end(), ids.begin() + static_cast<ptrdiff_t>(i),
                            ids.end());
      return s;
    }
  }
  return Status::OK();
}

Status StoreImpl::MarkRestorePoint(VolumeState& vol) {
  std::unique_lock<std::shared_mutex> io(vol.io_mu);  // no write in flight across the switch
  if (!vol.written_since_point.exchange(false)) return Status::OK();
  RestorePoint p;
  uint64_t next_epoch = 0;
  {
    std::lock_guard<std::mutex> l(catalog_mu_);
    // Imports (hidden until they are snapshots) and deleted volumes have no window.
    if (vol.deleted || vol.info.status != VolumeStatus::kAvailable) return Status::OK();
    next_epoch = catalog_.TakeLoggedEpoch();
    p.time_us = env()->NowMicros();
    if (!vol.points.empty()) p.time_us = std::max(p.time_us, vol.points.back().time_us);
    p.epoch = vol.epoch;
    p.size_bytes = vol.size;
  }
  RecordHeader h;
  h.type = RecordType::kRestorePoint;
  h.seq = next_seq_.fetch_add(1);
  h.volume_id = vol.info.id;
  h.epoch = p.epoch;
  h.count = next_epoch;
  std::string record;
  EncodeRecord(h, PointPayload(p.time_us, p.size_bytes), &record);
  {
    // With the append, under one hold of ckpt_mu_: a checkpoint whose position is past the
    // record also writes the point into MetaDb.
    std::shared_lock<std::shared_mutex> ckpt(ckpt_mu_);
    Result<RecordLocation> at = log_->Append(record);
    if (!at.ok()) {
      vol.written_since_point = true;
      return at.status();
    }
    std::lock_guard<std::mutex> l(misc_mu_);
    pending_points_.emplace_back(keys::RestorePointKey(vol.info.id, p.epoch),
                                 EncodeRestorePoint(p, next_epoch));
  }
  std::lock_guard<std::mutex> l(catalog_mu_);
  vol.epoch = next_epoch;
  vol.info.epoch = next_epoch;
  vol.points.push_back(p);
  TrimRestorePointsLocked(vol, p.time_us);
  return Status::OK();
}

Status StoreImpl::ReplayRestorePoint(VolumeState& vol, const RecordHeader& h,
                                     std::string_view payload) {
  if (payload.size() != 16 || h.count <= h.epoch) {
    return Status::Corruption("restore point record of volume " + std::to_string(h.volume_id) +
                              " is malformed");
  }
  RestorePoint p{GetBE64(payload.data()), h.epoch, GetBE64(payload.data() + 8)};
  std::lock_guard<std::mutex> l(catalog_mu_);
  catalog_.EpochUsed(h.count);
  if (h.count > vol.epoch) {
    vol.epoch = h.count;
    vol.info.epoch = h.count;
  }
  if (vol.points.empty() || vol.points.back().epoch < p.epoch) {
    vol.points.push_back(p);
    std::lock_guard<std::mutex> m(misc_mu_);
    pending_points_.emplace_back(keys::RestorePointKey(vol.info.id, p.epoch),
                                 EncodeRestorePoint(p, h.count));
  }
  return Status::OK();
}

void StoreImpl::StartRestoreWindow(VolumeState& vol, const VolumeInfo& info, uint64_t time_us,
                                   MetaBatch* batch) {
  RestorePoint p{time_us, 0, info.size_bytes};
  // Points it had before (CloneInto of a volume made earlier) go with the next checkpoint,
  // after their own records; the creation point is never among those, so this Put stays.
  {
    std::lock_guard<std::mutex> l(misc_mu_);
    for (const RestorePoint& old : vol.points) {
      if (old.epoch != 0) {
        pending_points_.emplace_back(keys::RestorePointKey(vol.info.id, old.epoch), std::nullopt);
      }
    }
  }
  batch->Put(keys::RestorePointKey(info.id, 0), EncodeRestorePoint(p, info.epoch));
  vol.points.assign(1, p);
}

bool StoreImpl::TrimRestorePointsLocked(VolumeState& vol, uint64_t now_us) {
  const uint64_t start = RetentionStart(vol, now_us);
  bool trimmed = false;
  while (vol.points.size() >= 2 && vol.points[1].time_us <= start) {
    std::lock_guard<std::mutex> l(misc_mu_);
    pending_points_.emplace_back(keys::RestorePointKey(vol.info.id, vol.points.front().epoch),
                                 std::nullopt);
    vol.points.pop_front();
    trimmed = true;
  }
  if (trimmed) {
    std::lock_guard<std::mutex> l(misc_mu_);
    lineages_to_scan_.insert(vol.info.lineage_id);
    history_gc_wanted_ = true;
  }
  return trimmed;
}

void StoreImpl::TrimAllRestorePoints() {
  std::lock_guard<std::mutex> l(catalog_mu_);
  const uint64_t now = env()->NowMicros();
  for (const auto& [id, v] : catalog_.all_volumes()) TrimRestorePointsLocked(*v, now);
}

void StoreImpl::RequestGc() {
  {
    std::lock_guard<std::mutex> l(bg_mu_);
    gc_requested_ = true;
  }
  gc_cv_.notify_all();
}

void StoreImpl::ClearRestorePointsLocked(VolumeState& vol) {
  if (vol.points.empty()) return;
  std::lock_guard<std::mutex> l(misc_mu_);
  for (const RestorePoint& p : vol.points) {
    pending_points_.emplace_back(keys::RestorePointKey(vol.info.id, p.epoch), std::nullopt);
  }
  vol.points.clear();
  lineages_to_scan_.insert(vol.info.lineage_id);
  history_gc_wanted_ = true;
}

bool StoreImpl::HasAutomatedSnapshotsLocked(uint64_t volume_id) const {
  for (const auto& [name, s] : catalog_.snapshots()) {
    if (s->info.volume_id == volume_id && s->info.type == SnapshotType::kAutomated) return true;
  }
  return false;
}

Result<uint64_t> StoreImpl::BackupStorageBytes(const VolumeState& vol) {
  std::vector<ReadView> others;  // every reader but vol's window
  std::optional<ReadView> window;
  uint64_t floor = 0;
  uint64_t lineage = 0;
  {
    std::lock_guard<std::mutex> l(catalog_mu_);
    if (vol.points.empty()) return 0;
    lineage = vol.info.lineage_id;
    floor = vol.points.front().epoch;
    window = vol.View(floor);
    for (const auto& [id, v] : catalog_.all_volumes()) {
      if (v->info.lineage_id != lineage) continue;
      if (!v->deleted) others.push_back(v->View(v->epoch));
      if (id != vol.info.id && !v->points.empty())
        others.push_back(v->View(v->points.front().epoch));
    }
    for (const auto& [name, s] : catalog_.snapshots()) {
      if (s->info.lineage_id == lineage) others.push_back(s->vol->View(s->info.epoch));
    }
  }
  CLONEFS_RETURN_IF_ERROR(Checkpoint());  // so that the scan below sees every version
  constexpr uint64_t kChunk = 1 << 16;
  uint64_t chunk_end = 0;
  std::set<MapKey, MapKeyLess> read_by_others, read_by_oldest_point;
  uint64_t bytes = 0;
  Status inner;
  const auto collect = [&](const ReadView& view, uint64_t lo, std::set<MapKey, MapKeyLess>* out) {
    return map_->VisitRange(view, lo, lo + kChunk, [&](uint64_t page, const PageVersion& pv) {
      out->insert(MapKey{lineage, page, pv.epoch, pv.volume});
      return Status::OK();
    });
  };
  Status s = map_->ForEachStored(lineage, [&](const MapKey& k, const MapValue& v) {
    if (!inner.ok() || k.volume != vol.info.id || v.tombstone) return;
    if (k.page >= chunk_end) {
      const uint64_t lo = k.page / kChunk * kChunk;
      chunk_end = lo + kChunk;
      read_by_others.clear();
      read_by_oldest_point.clear();
      for (const ReadView& view : others) {
        inner = collect(view, lo, &read_by_others);
        if (!inner.ok()) return;
      }
      inner = collect(*window, lo, &read_by_oldest_point);
      if (!inner.ok()) return;
    }
    if (read_by_others.count(k)) return;
    if (k.epoch > floor || read_by_oldest_point.count(k)) bytes += v.loc.length;
  });
  CLONEFS_RETURN_IF_ERROR(s);
  CLONEFS_RETURN_IF_ERROR(inner);
  return bytes;
}

RestoreWindow StoreImpl::WindowOfLocked(const VolumeState& vol, uint64_t now_us) const {
  RestoreWindow w;
  w.earliest_us = std::max(vol.points.front().time_us, RetentionStart(vol, now_us));
  // Nothing written since the last point: the image now is that point's. A deleted volume's
  // window ends at its last point.
  w.latest_us = vol.points.back().time_us;
  if (!vol.deleted && !vol.written_since_point) w.latest_us = std::max(w.latest_us, now_us);
  w.earliest_us = std::min(w.earliest_us, w.latest_us);
  return w;
}

std::shared_ptr<VolumeState> StoreImpl::RestoreSourceLocked(const std::string& name) {
  if (auto v = catalog_.Volume(name); v != nullptr) return v;
  std::shared_ptr<VolumeState> newest;
  for (const auto& [id, v] : catalog_.all_volumes()) {
    if (v->deleted && v->info.status == VolumeStatus::kDeleted && v->info.name == name &&
        !v->points.empty()) {
      newest = v;  // ids grow: the last one found is the newest
    }
  }
  return newest;
}

Result<RestoreWindow> StoreImpl::GetRestoreWindow(const std::string& name) {
  std::lock_guard<std::mutex> l(catalog_mu_);
  std::shared_ptr<VolumeState> vol = RestoreSourceLocked(name);
  if (vol == nullptr) return errors::VolumeNotFound(name);
  if (vol->points.empty()) {
    return InvalidRestoreTime("volume '" + name + "' has no restore window yet");
  }
  return WindowOfLocked(*vol, env()->NowMicros());
}

Result<RestoreWindow> StoreImpl::GetRestoreWindowById(uint64_t volume_id) {
  std::lock_guard<std::mutex> l(catalog_mu_);
  std::shared_ptr<VolumeState> vol = catalog_.VolumeById(volume_id);
  if (vol == nullptr || vol->points.empty()) {
    return errors::Named(
        errors::kVolumeNotFound,
        Status::NotFound("volume id " + std::to_string(volume_id) + " has no restore window"));
  }
  return WindowOfLocked(*vol, env()->NowMicros());
}

Result<VolumeInfo> StoreImpl::RestoreVolumeToTime(const std::string& source,
                                                  const std::string& name,
                                                  std::optional<uint64_t> time_us,
                                                  const CloneOptions& options) {
  CLONEFS_RETURN_IF_ERROR(ValidateStoreName(name, "volume"));
  std::string kek;  // empty: the source's key, if it is encrypted
  if (!options.kms_key.empty()) {
    CLONEFS_ASSIGN_OR_RETURN(kek, UsableKmsKey(options.kms_key, AccountOf(name)));
  }
  std::lock_guard<std::mutex> l(catalog_mu_);
  std::shared_ptr<VolumeState> src = RestoreSourceLocked(source);
  if (src == nullptr) return errors::VolumeNotFound(source);
  if (src->points.empty()) {
    return InvalidRestoreTime("volume '" + source + "' has no restore window yet");
  }
  const RestoreWindow w = WindowOfLocked(*src, env()->NowMicros());
  const uint64_t t = time_us.value_or(w.latest_us);
  if (t < w.earliest_us || t > w.latest_us) {
    std::string why = t < src->points.front().time_us && src->info.parent_id != 0 &&
                              src->points.front().epoch == 0
                          ? " (a clone's window starts when it was created; restore its source "
                            "for earlier times)"
                          : "";
    return InvalidRestoreTime("restore time " + FormatRfc3339(t) + " is outside the restore " +
                              "window of volume '" + source + "': " + FormatRfc3339(w.earliest_us) +
                              " to " + FormatRfc3339(w.latest_us) + why);
  }
  // The last point at or before t (points are in time order; the first is at or before the
  // window's start, so there is one).
  auto after = std::upper_bound(src->points.begin(), src->points.end(), t,
                                [](uint64_t x, const RestorePoint& p) { return x < p.time_us; });
  const RestorePoint point = after == src->points.begin() ? src->points.front() : *(after - 1);
  CLONEFS_ASSIGN_OR_RETURN(VolumeInfo v, AddRestoredVolume(src, point.epoch, point.size_bytes, name,
                                                           "", kek, options.tags));
  spdlog::info("volume {} restored from volume {} as of {} (restore point at {}, epoch {})", name,
               source, FormatRfc3339(t), FormatRfc3339(point.time_us), point.epoch);
  Notify(v, false);
  return v;
}

}  // namespace clonefs::store
