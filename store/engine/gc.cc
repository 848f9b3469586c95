// Garbage collection: deletes segments that hold no live record and compacts segments whose
// live share has dropped below half, by copying their live records to the log head.
//
// Safety: a copied record is a kRelocated record with the original's seq; it replaces the map
// entry only while the entry still names that seq (checked under the page's stripe lock, and
// again by replay), so a concurrent or later write always wins. A segment is deleted only after
// a checkpoint past the copies, so recovery never needs it, and under segments_mu_, so that no
// reader is between lookup and pread on it.
#include <spdlog/spdlog.h>

#include "store/engine/store_impl.h"
#include "store/meta/catalog_codec.h"

namespace clonefs::store {
namespace {
// Compact a sealed segment once less than this share of it is live.
constexpr double kCompactBelow = 0.5;
}  // namespace

Status StoreImpl::RelocateLiveRecords(uint32_t segment) {
  return log_->ScanSegment(
      segment,
      [&](const RecordHeader& h, std::string_view payload, const RecordLocation& loc) -> Status {
        if (h.type == RecordType::kDiscard || h.type == RecordType::kRestorePoint) {
          return Status::OK();  // no page image: nothing reads it once it is checkpointed
        }
        std::shared_ptr<VolumeState> vol = FindVolumeById(h.volume_id);
        if (vol == nullptr) return Status::OK();  // deleted: nothing can read it
        StripeGuard guard(this, h.volume_id, h.page_no, h.page_no + 1);
        const MapKey key{vol->info.lineage_id, h.page_no, h.epoch, h.volume_id};
        CLONEFS_ASSIGN_OR_RETURN(auto cur, map_->GetExact(key));
        if (!cur || cur->tombstone || cur->seq != h.seq || !(cur->loc == loc)) return Status::OK();
        std::vector<PendingRecord> copy(1);
        copy[0].header = h;
        copy[0].header.type = RecordType::kRelocated;
        copy[0].payload.assign(payload.data(), payload.size());
        // AppendAndApply assigns a fresh seq; a relocated record must keep the original one.
        std::string buf;
        EncodeRecord(copy[0].header, copy[0].payload, &buf);
        std::shared_lock<std::shared_mutex> ckpt(ckpt_mu_);
        CLONEFS_ASSIGN_OR_RETURN(RecordLocation to, log_->Append(buf));
        return ApplyRecord(*vol, copy[0].header, to);
      });
}

Status StoreImpl::CollectInvisibleVersions(uint64_t lineage_id) {
  // Every reader of the lineage: each live volume now, each snapshot, and each restore window.
  // A window's points read what its oldest point reads, and every version its volume wrote
  // after that point's epoch (each later epoch ended at a point, or is the volume's own now).
  std::vector<ReadView> readers;
  std::map<uint64_t, uint64_t> history_floor;  // volume -> epoch of its oldest restore point
  {
    std::lock_guard<std::mutex> l(catalog_mu_);
    for (const auto& [id, v] : catalog_.all_volumes()) {
      if (v->info.lineage_id != lineage_id) continue;
      if (!v->deleted) readers.push_back(v->View(v->epoch));
      if (!v->points.empty()) {
        readers.push_back(v->View(v->points.front().epoch));
        history_floor[id] = v->points.front().epoch;
      }
    }
    for (const auto& [name, s] : catalog_.snapshots()) {
      if (s->info.lineage_id == lineage_id) readers.push_back(s->vol->View(s->info.epoch));
    }
    for (const auto& [id, s] : catalog_.pinned()) {  // deleted, but a copy still reads them
      if (s->info.lineage_id == lineage_id) readers.push_back(s->vol->View(s->info.epoch));
    }
  }
  // A stored version is needed iff some reader reads it. Versions found dead stay dead: new
  // readers (snapshots, clones, restore points, restores to a time) only see what a live volume
  // or a restore point in a window sees, and that was needed.
  constexpr uint64_t kChunk = 1 << 16;
  uint64_t chunk_end = 0;
  std::set<MapKey, MapKeyLess> needed;
  std::vector<std::pair<MapKey, MapValue>> dead;
  Status inner;
  Status s = map_->ForEachStored(lineage_id, [&](const MapKey& k, const MapValue& v) {
    if (!inner.ok()) return;
    if (k.page >= chunk_end) {
      const uint64_t lo = k.page / kChunk * kChunk;
      chunk_end = lo + kChunk;
      needed.clear();
      for (const ReadView& view : readers) {
        inner = map_->VisitRange(view, lo, chunk_end, [&](uint64_t page, const PageVersion& pv) {
          needed.insert(MapKey{lineage_id, page, pv.epoch, pv.volume});
          return Status::OK();
        });
        if (!inner.ok()) return;
      }
    }
    if (needed.count(k)) return;
    auto floor = history_floor.find(k.volume);
    if (floor != history_floor.end() && k.epoch > floor->second) return;
    dead.emplace_back(k, v);
  });
  CLONEFS_RETURN_IF_ERROR(s);
  CLONEFS_RETURN_IF_ERROR(inner);
  if (!dead.empty()) {
    spdlog::info("gc: lineage {}: {} page versions no longer readable", lineage_id, dead.size());
    std::lock_guard<std::mutex> l(misc_mu_);
    pending_dead_.insert(pending_dead_.end(), dead.begin(), dead.end());
  }
  return Status::OK();
}

Status StoreImpl::DeleteDeadSegment(uint32_t segment) {
  {
    std::unique_lock<std::shared_mutex> readers(segments_mu_);
    CLONEFS_RETURN_IF_ERROR(log_->DeleteSegment(segment));
  }
  {
    std::lock_guard<std::mutex> l(misc_mu_);
    live_.erase(segment);
  }
  MetaBatch b;
  b.Delete(keys::LiveKey(segment));
  return db_->Write(b, /*sync=*/false);
}

Status StoreImpl::CollectGarbage() {
  std::lock_guard<std::mutex> gc(gc_mu_);
  const StoreUsage before = GetUsage();
  std::set<uint64_t> lineages;
  {
    std::lock_guard<std::mutex> l(misc_mu_);
    lineages.swap(lineages_to_scan_);
  }
  CLONEFS_RETURN_IF_ERROR(Checkpoint());  // so that the scans see every version in MetaDb
  for (uint64_t lineage : lineages) {
    Status s = CollectInvisibleVersions(lineage);
    if (!s.ok()) {
      std::lock_guard<std::mutex> l(misc_mu_);
      lineages_to_scan_.insert(lineage);
      return s;
    }
  }
  CLONEFS_RETURN_IF_ERROR(Checkpoint());  // deletes them and frees their bytes
  LogPosition safe;
  {
    std::lock_guard<std::mutex> l(checkpoint_mu_);
    safe = checkpoint_pos_;
  }
  const uint32_t active = log_->active_segment();
  std::vector<uint32_t> dead, compact;
  for (const auto& [id, size] : log_->Segments()) {
    if (id == active || id >= safe.segment) continue;  // still written, or needed by replay
    int64_t live;
    {
      std::lock_guard<std::mutex> l(misc_mu_);
      live = live_.count(id) ? live_[id] : 0;
    }
    if (live <= 0) {
      dead.push_back(id);
    } else if (static_cast<double>(live) < kCompactBelow * static_cast<double>(size)) {
      compact.push_back(id);
    }
  }
  Status compaction;
  std::vector<uint32_t> compacted;
  for (uint32_t id : compact) {
    compaction = RelocateLiveRecords(id);
    if (!compaction.ok()) break;  // e.g. no space to copy into: keep what we have
    compacted.push_back(id);
  }
  if (!compacted.empty()) {
    CLONEFS_RETURN_IF_ERROR(Checkpoint());  // the copies must be durable before the originals go
    for (uint32_t id : compacted) {
      std::lock_guard<std::mutex> l(misc_mu_);
      if (live_[id] != 0) {
        spdlog::warn("gc: segment {} still counts {} live bytes after compaction", id, live_[id]);
      }
    }
    dead.insert(dead.end(), compacted.begin(), compacted.end());
  }
  for (uint32_t id : dead) CLONEFS_RETURN_IF_ERROR(DeleteDeadSegment(id));
  const StoreUsage after = GetUsage();
  io_stats_.gc_passes.fetch_add(1, std::memory_order_relaxed);
  io_stats_.gc_segments_deleted.fetch_add(dead.size(), std::memory_order_relaxed);
  if (before.segment_bytes > after.segment_bytes) {
    io_stats_.gc_bytes_reclaimed.fetch_add(before.segment_bytes - after.segment_bytes,
                                           std::memory_order_relaxed);
  }
  io_stats_.gc_last_pass_us = env()->NowMicros();
  spdlog::info("gc: deleted {} segments ({} compacted), segment bytes {} -> {}", dead.size(),
               compacted.size(), before.segment_bytes, after.segment_bytes);
  return compaction;
}

}  // namespace clonefs::store
