// Checkpoints. The segment log is the write-ahead log of the page map: a write appends records
// and then puts map entries into the in-memory overlay; nothing else is written. A checkpoint
// (1) freezes the overlay and notes the log tail P, with appenders held off so that every
// record before P is in the frozen layer; (2) syncs the log, so that no map entry can reach
// MetaDb before the bytes it points at are durable; (3) writes the frozen entries, pending
// volume deletions, the live-byte table and P in one synced MetaDb batch. Recovery replays the
// log from the last P; replay is deterministic, so the rebuilt overlay equals the lost one.
#include <spdlog/spdlog.h>

#include "base/coding.h"
#include "store/engine/store_impl.h"
#include "store/meta/catalog_codec.h"

namespace clonefs::store {

// What one checkpoint takes over and writes, filled in step by step.
struct StoreImpl::CheckpointWork {
  // Taken at the freeze.
  LogPosition pos;
  uint64_t next_seq = 0;
  std::map<uint32_t, int64_t> live;                    // live bytes per segment
  std::vector<std::pair<uint64_t, uint64_t>> deletes;  // volumes to purge: (volume, lineage)
  std::vector<std::pair<MapKey, MapValue>> invisible;  // stored versions nobody reads
  // Restore points made or dropped since the last checkpoint, in order (nullopt deletes).
  std::vector<std::pair<std::string, std::optional<std::string>>> points;
  // Gathered from them.
  std::set<uint64_t> deleted;                           // the volume ids of `deletes`
  std::map<uint32_t, int64_t> dead;                     // bytes freed per segment
  std::set<MapKey, MapKeyLess> frozen_keys_of_deleted;  // counted once, from the frozen layer
  std::vector<PageMap::Change> changes;                 // to MetaDb's map blocks; nullopt deletes
  std::vector<std::pair<std::string, std::string>> purged_ranges;  // whole lineages
  MetaBatch batch;
};

Status StoreImpl::LoadCheckpoint() {
  CLONEFS_ASSIGN_OR_RETURN(auto raw, db_->Get(keys::kCheckpoint));
  if (!raw) return Status::Corruption("missing checkpoint record");
  CLONEFS_ASSIGN_OR_RETURN(CheckpointState c, DecodeCheckpoint(*raw));
  checkpoint_pos_ = c.position;
  next_seq_ = c.next_seq;
  std::set<uint32_t> present;
  for (auto& [id, size] : log_->Segments()) present.insert(id);
  return keys::ScanPrefix(*db_, keys::LivePrefix(),
                          [&](std::string_view key, std::string_view value) {
                            if (key.size() != 5 || value.size() != 8)
                              return Status::Corruption("bad live");
                            uint32_t seg = GetBE32(key.data() + 1);
                            // A segment deleted just before a crash may still have its entry: it
                            // holds nothing.
                            if (present.count(seg))
                              live_[seg] = static_cast<int64_t>(GetLE64(value.data()));
                            return Status::OK();
                          });
}

bool StoreImpl::CanDropTombstone(const MapKey& key) {
  // A tombstone is needed only while an older version of the page could show through it.
  std::shared_ptr<VolumeState> vol = FindVolumeById(key.volume);
  if (vol == nullptr) return false;  // being deleted: the purge removes it
  bool older = false;
  Status s = map_->VisitRange(vol->View(key.epoch - 1), key.page, key.page + 1,
                              [&](uint64_t, const PageVersion& v) {
                                older = older || !v.value.tombstone;
                                return Status::OK();
                              });
  return s.ok() && !older;
}

void StoreImpl::FreezeForCheckpoint(CheckpointWork* w) {
  std::unique_lock<std::shared_mutex> freeze(ckpt_mu_);
  map_->Freeze();
  w->pos = log_->Tail();
  w->next_seq = next_seq_.load();
  std::lock_guard<std::mutex> l(misc_mu_);
  w->live = live_;
  w->deletes.swap(pending_deletes_);
  w->invisible.swap(pending_dead_);
  w->points.swap(pending_points_);
  for (auto& [id, lineage] : w->deletes) w->deleted.insert(id);
}

Status StoreImpl::AbandonCheckpoint(CheckpointWork* w, Status why) {
  map_->Thaw();
  std::lock_guard<std::mutex> l(misc_mu_);
  pending_deletes_.insert(pending_deletes_.end(), w->deletes.begin(), w->deletes.end());
  pending_dead_.insert(pending_dead_.end(), w->invisible.begin(), w->invisible.end());
  // Before any made since, which are newer.
  pending_points_.insert(pending_points_.begin(), w->points.begin(), w->points.end());
  spdlog::warn("store {}: checkpoint failed, will retry: {}", dir_, why.ToString());
  return why;
}

void StoreImpl::CollectFrozenChanges(CheckpointWork* w) {
  w->changes.reserve(w->changes.size() + map_->frozen_size());
  map_->ForEachFrozen([&](const MapKey& k, const MapValue& v) {
    if (w->deleted.count(k.volume)) {
      if (!v.tombstone) w->dead[v.loc.segment] += v.loc.length;
      w->frozen_keys_of_deleted.insert(k);
    } else if (v.tombstone && CanDropTombstone(k)) {
      w->changes.emplace_back(k, std::nullopt);
    } else {
      w->changes.emplace_back(k, v);
    }
  });
}

Status StoreImpl::CollectPurges(CheckpointWork* w) {
  // First, so that the purges below also remove the points of the volumes they purge.
  for (auto& [key, value] : w->points) {
    if (value) {
      w->batch.Put(key, *value);
    } else {
      w->batch.Delete(key);
    }
  }
  for (auto& [id, lineage] : w->deletes) {
    const uint64_t volume = id;
    const uint64_t lin = lineage;
    CLONEFS_RETURN_IF_ERROR(map_->ForEachStored(lin, [&](const MapKey& k, const MapValue& v) {
      if (k.volume != volume) return;
      if (!v.tombstone && !w->frozen_keys_of_deleted.count(k)) {
        w->dead[v.loc.segment] += v.loc.length;
      }
      if (lin != volume) w->changes.emplace_back(k, std::nullopt);
    }));
    // A root volume that is deleted has no clone left in its lineage: drop the whole range.
    if (lin == volume) {
      w->purged_ranges.emplace_back(keys::MapPrefix(lin), keys::MapPrefix(lin + 1));
    }
    w->batch.Delete(keys::VolumeKey(id));
    // Its wrapped data keys and restore points.
    w->batch.DeleteRange(keys::KeyRingPrefix(id), keys::KeyRingPrefix(id + 1));
    w->batch.DeleteRange(keys::RestorePointPrefix(id), keys::RestorePointPrefix(id + 1));
  }
  for (auto& [k, v] : w->invisible) {
    if (w->deleted.count(k.volume)) continue;  // purged whole, above
    w->changes.emplace_back(k, std::nullopt);
    if (!v.tombstone) w->dead[v.loc.segment] += v.loc.length;
  }
  return Status::OK();
}

Status StoreImpl::WriteCheckpointBatch(CheckpointWork* w) {
  CLONEFS_RETURN_IF_ERROR(map_->StoreChanges(w->changes, &w->batch));
  // After the block writes, so that nothing of a purged lineage survives them.
  for (auto& [from, to] : w->purged_ranges) w->batch.DeleteRange(from, to);
  for (auto& [seg, bytes] : w->dead) w->live[seg] -= bytes;
  for (auto& [seg, bytes] : w->live) {
    std::string v(8, '\0');
    PutLE64(v.data(), static_cast<uint64_t>(std::max<int64_t>(0, bytes)));
    w->batch.Put(keys::LiveKey(seg), v);
  }
  w->batch.Put(keys::kCheckpoint, EncodeCheckpoint(CheckpointState{w->pos, w->next_seq}));
  return db_->Write(w->batch, /*sync=*/true);
}

Status StoreImpl::CheckpointIfOver(size_t entries) {
  std::lock_guard<std::mutex> run(checkpoint_mu_);
  if (entries > 0 && map_->overlay_size() <= entries) return Status::OK();
  CheckpointWork w;
  FreezeForCheckpoint(&w);
  Status s = log_->Sync();
  if (s.ok()) {
    CollectFrozenChanges(&w);
    s = CollectPurges(&w);
  }
  if (s.ok()) s = WriteCheckpointBatch(&w);
  if (!s.ok()) return AbandonCheckpoint(&w, s);
  map_->DropFrozen();
  checkpoint_pos_ = w.pos;
  io_stats_.checkpoints.fetch_add(1, std::memory_order_relaxed);
  if (!w.dead.empty()) {
    std::lock_guard<std::mutex> l(misc_mu_);
    for (auto& [seg, bytes] : w.dead) live_[seg] -= bytes;
  }
  return Status::OK();
}

void StoreImpl::MaybeCheckpointInline() {
  // Backpressure: if the background thread falls far behind, the writer waits for the running
  // checkpoint or checkpoints itself, so that the overlay (memory) stays bounded.
  const size_t limit = 4 * options_.checkpoint_entries;
  if (map_->overlay_size() > limit) {
    CheckpointIfOver(limit).IgnoreError();  // failure is logged; the write already succeeded
  } else if (map_->overlay_size() > options_.checkpoint_entries &&
             !checkpoint_wanted_.exchange(true)) {
    // Only the writer that raises the flag wakes the thread: the others take no lock. The
    // empty critical section orders the flag before the waiter's next look at it, so the
    // notify cannot fall between its check and its wait.
    { std::lock_guard<std::mutex> l(bg_mu_); }
    bg_cv_.notify_one();
  }
}

}  // namespace clonefs::store
